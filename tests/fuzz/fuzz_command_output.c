/* fuzz_command_output.c - libFuzzer harness for pv_command_output_parse()
 * (the first output line of `lookup_command`: "PHONE [NAME...]").
 *
 * Input: the raw output bytes, as read from the command's pipe (not
 * NUL-terminated: reading past the end is caught).
 *
 * Checked: FOUND carries a phone that pv_phone_parse() accepts again and a
 * bounded name; a NUL byte in the output is ERROR, never FOUND. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/pv_lookup.h"
#include "identity/pv_phone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_identity id;
    pv_phone again;
    enum pv_lookup_result r;

    r = pv_command_output_parse((const char *)data, size, &id);
    switch (r) {
    case PV_LOOKUP_FOUND:
        if (!id.has_phone || memchr(data, '\0', size) != NULL ||
            memchr(id.name, '\0', sizeof id.name) == NULL ||
            pv_phone_parse(id.phone.e164, &again) != 0 ||
            strcmp(again.e164, id.phone.e164) != 0)
            abort();
        break;
    case PV_LOOKUP_NOT_FOUND:
    case PV_LOOKUP_ERROR:
        break;
    default:
        abort();
    }
    return 0;
}
