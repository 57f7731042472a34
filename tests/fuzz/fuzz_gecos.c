/* fuzz_gecos.c - libFuzzer harness for pv_gecos_find() (the phone in a
 * GECOS field, "Name,room,work phone,home phone,other").
 *
 * Input layout: byte 0 selects the field number, (byte % 8) - 1, so -1..6
 * (valid configurations use 1..5; the others test the bounds); the rest
 * is the GECOS string, copied into a malloc'd NUL-terminated buffer of
 * exactly its length (GECOS comes from getpwnam, always a C string).
 *
 * Checked: FOUND carries a phone pv_phone_parse() accepts again and a
 * bounded name; NOT_FOUND is the only other answer (GECOS is free text,
 * a bad phone there is "not here", never an error). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/pv_lookup.h"
#include "identity/pv_phone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long field;
    char *gecos;
    pv_identity id;
    pv_phone again;
    enum pv_lookup_result r;

    if (size < 1)
        return 0;
    field = (long)(data[0] % 8) - 1;
    gecos = malloc(size);
    if (gecos == NULL)
        return 0;
    memcpy(gecos, data + 1, size - 1);
    gecos[size - 1] = '\0';

    r = pv_gecos_find(gecos, field, &id);
    if (r == PV_LOOKUP_FOUND) {
        if (field < 1 || !id.has_phone ||
            memchr(id.name, '\0', sizeof id.name) == NULL ||
            pv_phone_parse(id.phone.e164, &again) != 0 ||
            strcmp(again.e164, id.phone.e164) != 0)
            abort();
    } else if (r != PV_LOOKUP_NOT_FOUND) {
        abort();
    }
    free(gecos);
    return 0;
}
