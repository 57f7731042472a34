/* pv_phone.h - phone numbers and e-mail addresses: parsing, formatting,
 * masking.  Numbers are kept in E.164 ("+8613800138000"); the country
 * calling code is found with the ITU country code table in pv_phone.c. */
#ifndef PV_PHONE_H
#define PV_PHONE_H

#include <stddef.h>
#include "config/pv_config.h"

#define PV_PHONE_MAX 16 /* '+' and at most 15 digits */

typedef struct pv_phone {
    char e164[PV_PHONE_MAX + 1]; /* "+8613800138000" */
    unsigned cc_len;             /* digits in the country code */
} pv_phone;

/* Accept "+CC NATIONAL" (one space after the country code) or
 * "+CCNATIONAL"; the country code must be assigned and the national part
 * 4..14 digits with the whole at most 15 digits.  0 ok, -1 invalid. */
int pv_phone_parse(const char *text, pv_phone *out);

/* Format for the send API: "+86 13800138000" (spaced) or "+8613800138000".
 * 0 ok, -1 buffer too small. */
int pv_phone_format(const pv_phone *p, enum pv_phone_format fmt, char *buf,
                    size_t size);

/* The national number ("13800138000"), a pointer into p. */
const char *pv_phone_national(const pv_phone *p);
/* The E.164 digits without '+' ("8613800138000"), a pointer into p. */
const char *pv_phone_digits(const pv_phone *p);

/* "+86 *******8000" (sep " ") or "+86*******8000" (sep ""): country code,
 * then the national number with all but its last 4 digits starred. */
void pv_phone_mask(const pv_phone *p, const char *sep, char *buf, size_t size);

/* A plausible address: one '@', non-empty local part and domain, no
 * spaces or control characters, at most 254 bytes.  1 valid, 0 not. */
int pv_email_valid(const char *email);
/* "a***@example.org": first character of the local part, then "***". */
void pv_email_mask(const char *email, char *buf, size_t size);

#endif
