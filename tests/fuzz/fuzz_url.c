/* fuzz_url.c - libFuzzer harness for pv_url_link_ok() (the numVerify
 * operator link check, SPEC 5) and pv_term_escape() (text from outside
 * printed by the CLI).
 *
 * Input: the link, copied into a NUL-terminated buffer of its length
 * (the link reaches the check as a C string from the JSON layer).
 *
 * Checked, for an accepted link: at most PV_NV_URL_MAX bytes of printable
 * ASCII without blanks, backslashes, '@' or '#' (anywhere); "https://"
 * with a non-empty authority, or "http://" with an authority that is a
 * loopback dotted quad 127.x.y.z or [::1], optionally with ":port"; the
 * authority made only of letters, digits, '-', '_', '.', ':' and the
 * brackets of an IPv6 literal (so no '%' or ';'), no host label starting
 * with "xn--" in any case, and a port, when given, 1..65535; and libcurl's
 * URL API (SPEC 5's reference) reads it with the same scheme, host and
 * port and no userinfo (tests/lib/curl_reads_as.h).  numverify_link_hosts
 * (pv_url_host_listed) against a fixed list agrees with a plain reading of
 * the host, and never takes a link pv_url_link_ok refuses.  For the escape
 * of the same bytes: the output fits PV_TERM_ESCAPE_RATIO times the input
 * and is well-formed UTF-8 without any C0 control, DEL or C1 control
 * (U+0080-U+009F). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "provider/pv_provider.h"
#include "cli/pv_termtext.h"
#include "base/pv_url.h"
#include "../lib/curl_reads_as.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const char *input)
{
    fprintf(stderr, "fuzz_url: %s: %s\n", what, input);
    abort();
}

/* 127.a.b.c with decimal octets, or [::1]. */
static int loopback(const char *host, size_t n)
{
    unsigned a, b, c;
    char tail;
    char buf[64];

    if (n == 5 && memcmp(host, "[::1]", 5) == 0)
        return 1;
    if (n >= sizeof(buf))
        return 0;
    memcpy(buf, host, n);
    buf[n] = '\0';
    return sscanf(buf, "127.%u.%u.%u%c", &a, &b, &c, &tail) == 3 && a < 256 &&
           b < 256 && c < 256;
}

/* A label of [host, host + n) starts with "xn--" (any case). */
static int has_idna_label(const char *host, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((i == 0 || host[i - 1] == '.') && n - i >= 4 &&
            strncasecmp(host + i, "xn--", 4) == 0)
            return 1;
    return 0;
}

/* The fixed numverify_link_hosts the harness holds links against, and
 * the plain reading of it: host equal to an exact entry, or ending in
 * ".op.example.net" with something before it (case aside). */
#define LINK_HOSTS "operator.example.com *.op.example.net 127.0.0.1 [::1]"

static int listed_reference(const char *host, size_t n)
{
    static const char *const exact[] = { "operator.example.com", "127.0.0.1",
                                         "[::1]" };
    static const char suffix[] = ".op.example.net";
    size_t i, sn = sizeof(suffix) - 1;

    for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (n == strlen(exact[i]) && strncasecmp(host, exact[i], n) == 0)
            return 1;
    return n > sn && strncasecmp(host + n - sn, suffix, sn) == 0;
}

static void check_accepted(const char *url)
{
    size_t len = strlen(url), i, alen, hlen;
    const char *auth, *colon;
    int https = strncmp(url, "https://", 8) == 0;

    if (len == 0 || len > PV_NV_URL_MAX)
        fail("accepted length", url);
    for (i = 0; i < len; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f ||
            url[i] == '\\' || url[i] == '@' || url[i] == '#')
            fail("accepted a byte outside printable ASCII, '@' or '#'", url);
    if (!https && strncmp(url, "http://", 7) != 0)
        fail("accepted another scheme", url);
    auth = url + (https ? 8 : 7);
    alen = strcspn(auth, "/?#");
    if (alen == 0 || strspn(auth, "abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789-_.:[]") < alen)
        fail("accepted authority", url);
    /* host: up to the port's colon (after a closing ']' for IPv6) */
    colon = auth[0] == '[' ? memchr(auth, ']', alen) : auth;
    if (colon == NULL)
        fail("accepted an unclosed IPv6 host", url);
    colon = memchr(colon, ':', alen - (size_t)(colon - auth));
    hlen = colon ? (size_t)(colon - auth) : alen;
    if (hlen == 0)
        fail("accepted an empty host", url);
    if (has_idna_label(auth, hlen))
        fail("accepted an IDNA (xn--) label", url);
    if (pv_url_host_listed(url, PV_NV_URL_MAX, LINK_HOSTS) !=
        listed_reference(auth, hlen))
        fail("numverify_link_hosts read the host otherwise", url);
    if (!pv_url_host_listed(url, PV_NV_URL_MAX, NULL) ||
        !pv_url_host_listed(url, PV_NV_URL_MAX, " "))
        fail("an empty numverify_link_hosts refused a good link", url);
    if (colon != NULL) {
        char *end;
        unsigned long port = strtoul(colon + 1, &end, 10);

        if (end != auth + alen || port == 0 || port > 65535 || colon[1] == '0')
            fail("accepted a port", url);
    }
    if (!curl_reads_as_link(url))
        fail("accepted a link libcurl reads otherwise", url);
    if (https)
        return;
    if (!loopback(auth, hlen))
        fail("accepted http to a host that is not loopback", url);
}

/* Length of the well-formed UTF-8 character at o (1..4) and its code
 * point, or 0 when malformed. */
static size_t utf8_char(const unsigned char *o, unsigned long *cp)
{
    size_t n = o[0] < 0x80 ? 1 : o[0] >= 0xf0 ? 4 : o[0] >= 0xe0 ? 3 : 2, i;
    unsigned long v = o[0] < 0x80 ? o[0] : o[0] & (0x3fu >> (n - 1));

    if (o[0] >= 0x80 && (o[0] < 0xc2 || o[0] > 0xf4))
        return 0;
    for (i = 1; i < n; i++) {
        if ((o[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (o[i] & 0x3fu);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || v > 0x10ffff ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

static void check_escape(const char *in, size_t len)
{
    size_t cap = len * PV_TERM_ESCAPE_RATIO + 1, i, n;
    char *out = malloc(cap);
    const unsigned char *o;
    unsigned long cp;

    if (out == NULL)
        return;
    if (pv_term_escape(out, cap, in) != 0)
        fail("escape did not fit the worst-case size", in);
    o = (const unsigned char *)out;
    for (i = 0; o[i] != '\0'; i += n) {
        n = utf8_char(o + i, &cp);
        if (n == 0)
            fail("malformed UTF-8 left in escaped text", in);
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            fail("control character left in escaped text", in);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (pv_url_link_ok(s, PV_NV_URL_MAX))
        check_accepted(s);
    else if (pv_url_host_listed(s, PV_NV_URL_MAX, LINK_HOSTS) ||
             pv_url_host_listed(s, PV_NV_URL_MAX, NULL))
        fail("numverify_link_hosts took a link the grammar refuses", s);
    check_escape(s, strlen(s));
    free(s);
    return 0;
}
