/* fuzz_users.c - libFuzzer harness for the users-file parser
 * pv_users_find() (lines `user:phone[:name[:email]]`).
 *
 * Input layout: the first line is the user name to look up (without its
 * '\n'; longer than 64 bytes: cut), the rest is the users-file text.  An
 * input without '\n' is a whole users file searched for "alice".  The
 * name is copied into its own malloc'd string and the file text stays in
 * libFuzzer's exactly-sized buffer, so reading past either is caught.
 *
 * Checked besides memory safety: the result is one of the three documented
 * values; FOUND carries a phone that pv_phone_parse() accepts again and/or
 * an e-mail that pv_email_valid() accepts, bounded name/email strings;
 * ERROR names a line (bad_line > 0); NOT_FOUND leaves no line. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/pv_lookup.h"
#include "identity/pv_phone.h"

#define USER_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_identity(const pv_identity *id)
{
    pv_phone again;
    char buf[64];

    if (memchr(id->name, '\0', sizeof id->name) == NULL ||
        memchr(id->email, '\0', sizeof id->email) == NULL)
        abort();
    if (!id->has_phone && id->email[0] == '\0')
        abort(); /* found, but nothing to send to */
    if (id->has_phone) {
        if (pv_phone_parse(id->phone.e164, &again) != 0 ||
            strcmp(again.e164, id->phone.e164) != 0)
            abort();
        if (pv_phone_format(&id->phone, PV_PHONE_SPACED, buf, sizeof buf) !=
                0 ||
            pv_phone_format(&id->phone, PV_PHONE_E164, buf, sizeof buf) != 0)
            abort();
        pv_phone_mask(&id->phone, " ", buf, sizeof buf);
    }
    if (id->email[0] != '\0') {
        if (!pv_email_valid(id->email))
            abort();
        pv_email_mask(id->email, buf, sizeof buf);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    const char *text = (const char *)data;
    size_t len = size, ulen;
    char *user;
    pv_identity id;
    unsigned bad_line = 12345;
    enum pv_lookup_result r;

    if (nl != NULL) {
        ulen = (size_t)(nl - data);
        if (ulen > USER_MAX)
            ulen = USER_MAX;
        user = malloc(ulen + 1);
        if (user == NULL)
            return 0;
        memcpy(user, data, ulen);
        user[ulen] = '\0';
        text = (const char *)nl + 1;
        len = size - (size_t)(nl - data) - 1;
    } else {
        user = malloc(sizeof "alice");
        if (user == NULL)
            return 0;
        memcpy(user, "alice", sizeof "alice");
    }

    r = pv_users_find(text, len, user, &id, &bad_line);
    switch (r) {
    case PV_LOOKUP_FOUND:
        if (bad_line != 0)
            abort();
        check_identity(&id);
        break;
    case PV_LOOKUP_NOT_FOUND:
        if (bad_line != 0)
            abort();
        break;
    case PV_LOOKUP_ERROR:
        if (bad_line == 0)
            abort();
        break;
    default:
        abort();
    }
    /* the NULL bad_line form must work too */
    (void)pv_users_find(text, len, user, &id, NULL);
    free(user);
    return 0;
}
