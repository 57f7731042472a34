/* pv_phone.c - E.164 numbers and e-mail addresses.
 *
 * A number is accepted only in the two spellings the users file and the
 * send API use ("+CC NATIONAL" and "+CCNATIONAL"); anything looser (dashes,
 * brackets, a leading 00) is refused rather than guessed at, because a
 * wrong guess sends a login code to somebody else's phone. */
#include <string.h>

#include "identity/pv_phone.h"
#include "base/pv_util.h"

#define NATIONAL_MIN 4
#define NATIONAL_MAX 14
#define DIGITS_MAX 15
#define MASK_KEEP 4 /* trailing national digits left visible */

/* Assigned geographic ITU-T E.164 country calling codes, sorted.  The
 * codes form a prefix-free set, so at most one prefix of a number can
 * match.  Left out on purpose: spare and reserved codes, and the
 * non-geographic services that cannot receive an SMS (800/808 freephone
 * and shared cost, 870 Inmarsat, 878 UPT, 881-883 satellite and
 * international networks, 888 OCHA, 979 premium rate, 991 ITPCS). */
static const unsigned short country_codes[] = {
    1,   7,   20,  27,  30,  31,  32,  33,  34,  36,  39,  40,  41,  43,  44,
    45,  46,  47,  48,  49,  51,  52,  53,  54,  55,  56,  57,  58,  60,  61,
    62,  63,  64,  65,  66,  81,  82,  84,  86,  90,  91,  92,  93,  94,  95,
    98,  211, 212, 213, 216, 218, 220, 221, 222, 223, 224, 225, 226, 227, 228,
    229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243,
    244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258,
    260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290, 291, 297, 298, 299,
    350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374,
    375, 376, 377, 378, 379, 380, 381, 382, 383, 385, 386, 387, 389, 420, 421,
    423, 500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 590, 591, 592, 593,
    594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675, 676, 677, 678, 679,
    680, 681, 682, 683, 685, 686, 687, 688, 689, 690, 691, 692, 850, 852, 853,
    855, 856, 880, 886, 960, 961, 962, 963, 964, 965, 966, 967, 968, 970, 971,
    972, 973, 974, 975, 976, 977, 992, 993, 994, 995, 996, 997, 998,
};

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int cc_assigned(unsigned cc)
{
    size_t lo = 0, hi = sizeof country_codes / sizeof country_codes[0];

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (country_codes[mid] == cc)
            return 1;
        if (country_codes[mid] < cc)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static unsigned digits_value(const char *s, size_t n)
{
    unsigned v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (unsigned)(s[i] - '0');
    return v;
}

static size_t digit_run(const char *s)
{
    size_t n = 0;

    while (is_digit(s[n]))
        n++;
    return n;
}

/* Length (1..3) of the assigned country code starting the digits s[0..n),
 * or 0.  Prefix-freeness makes the first hit the only one. */
static unsigned find_cc(const char *s, size_t n)
{
    for (unsigned len = 1; len <= 3 && len <= n; len++)
        if (cc_assigned(digits_value(s, len)))
            return len;
    return 0;
}

/* Fill out from cc digits and national digits, checking the lengths. */
static int phone_build(const char *cc, size_t cc_len, const char *nat,
                       size_t nat_len, pv_phone *out)
{
    if (nat_len < NATIONAL_MIN || nat_len > NATIONAL_MAX ||
        cc_len + nat_len > DIGITS_MAX)
        return -1;
    out->e164[0] = '+';
    memcpy(out->e164 + 1, cc, cc_len);
    memcpy(out->e164 + 1 + cc_len, nat, nat_len);
    out->e164[1 + cc_len + nat_len] = '\0';
    out->cc_len = (unsigned)cc_len;
    return 0;
}

int pv_phone_parse(const char *text, pv_phone *out)
{
    size_t run, cc_len;
    const char *nat;

    if (!out)
        return -1;
    memset(out, 0, sizeof *out);
    if (!text || text[0] != '+')
        return -1;
    run = digit_run(text + 1);
    if (run > DIGITS_MAX)
        return -1;
    if (text[1 + run] == ' ') {
        /* Spaced form: the digits before the space are the whole code. */
        if (run < 1 || run > 3 || !cc_assigned(digits_value(text + 1, run)))
            return -1;
        cc_len = run;
        nat = text + 1 + run + 1;
        run = digit_run(nat);
    } else {
        cc_len = find_cc(text + 1, run);
        if (cc_len == 0)
            return -1;
        nat = text + 1 + cc_len;
        run -= cc_len;
    }
    if (nat[run] != '\0')
        return -1;
    return phone_build(text + 1, cc_len, nat, run, out);
}

int pv_phone_format(const pv_phone *p, enum pv_phone_format fmt, char *buf,
                    size_t size)
{
    int r;

    if (fmt == PV_PHONE_E164)
        r = pv_snprintf(buf, size, "%s", p->e164);
    else
        r = pv_snprintf(buf, size, "+%.*s %s", (int)p->cc_len, p->e164 + 1,
                        pv_phone_national(p));
    /* A cut-off number is somebody else's number: leave nothing. */
    if (r < 0 && size > 0)
        buf[0] = '\0';
    return r < 0 ? -1 : 0;
}

const char *pv_phone_national(const pv_phone *p)
{
    return p->e164 + 1 + p->cc_len;
}

const char *pv_phone_digits(const pv_phone *p)
{
    return p->e164 + 1;
}

void pv_phone_mask(const pv_phone *p, const char *sep, char *buf, size_t size)
{
    const char *nat = pv_phone_national(p);
    size_t nat_len = strlen(nat);
    size_t hide = nat_len > MASK_KEEP ? nat_len - MASK_KEEP : 0;
    char stars[NATIONAL_MAX + 1];

    memset(stars, '*', hide);
    stars[hide] = '\0';
    /* Never a partial mask: an empty string when it does not fit. */
    if (pv_snprintf(buf, size, "+%.*s%s%s%s", (int)p->cc_len, p->e164 + 1,
                    sep ? sep : "", stars, nat + hide) < 0 &&
        size > 0)
        buf[0] = '\0';
}

int pv_email_valid(const char *email)
{
    const char *at;
    size_t len;

    if (!email)
        return 0;
    len = strlen(email);
    at = strchr(email, '@');
    if (len > 254 || !at || at == email || at[1] == '\0' ||
        strchr(at + 1, '@'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)email[i];
        if (c <= ' ' || c == 0x7f)
            return 0;
    }
    return 1;
}

void pv_email_mask(const char *email, char *buf, size_t size)
{
    const char *at = email ? strchr(email, '@') : NULL;
    int r;

    if (!at || at == email) {
        r = pv_snprintf(buf, size, "***");
    } else {
        /* Only a printable ASCII first character is shown as is; half a
         * UTF-8 sequence or a control byte would garble a prompt. */
        char first = email[0] > ' ' && email[0] < 0x7f ? email[0] : '*';
        r = pv_snprintf(buf, size, "%c***%s", first, at);
    }
    if (r < 0 && size > 0)
        buf[0] = '\0';
}
