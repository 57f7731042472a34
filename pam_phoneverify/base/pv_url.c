/* pv_url.c - the operator link check (doc/security.md: "The numVerify
 * operator link must read as https://, or http:// to an exact loopback
 * host, with no user or password part").
 *
 * The check is a whitelist grammar, not a general URL parser: a link is
 * shown only when its host can be read one way.  Two parsers that
 * disagree about where the host is are how `http://127.0.0.1@evil.example/`
 * or `http://127.0.0.1.evil/` style links get past a check, so anything a
 * browser might read differently (userinfo, percent-encoding, backslashes,
 * numeric host forms a browser rewrites, IPv6 text that is not in its
 * canonical form) is refused rather than interpreted.
 *
 * The module does not link libcurl for this: its URL parser would bring
 * libcurl's whole dependency tree (TLS, Kerberos, LDAP, ...) into every
 * sshd and sudo process that loads the module. */
#include <arpa/inet.h>
#include <string.h>
#include <strings.h>
#include "base/pv_url.h"
#include "base/pv_util.h"

#define HOST_MAX 255 /* a DNS name's text */
#define LABEL_MAX 63
#define IPV6_TEXT_MAX 64

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* One decimal octet 0..255 without a leading zero; advances *p. */
static int octet(const char **p, const char *end, unsigned *value)
{
    const char *s = *p;
    unsigned v = 0;
    size_t n = 0;

    while (s + n < end && is_digit(s[n]) && n < 4) {
        v = v * 10 + (unsigned)(s[n] - '0');
        n++;
    }
    if (n == 0 || n > 3 || v > 255 || (n > 1 && s[0] == '0'))
        return 0;
    *p = s + n;
    *value = v;
    return 1;
}

/* [host, end) is a plain dotted quad (not 0x7f.1, 2130706433, 127.1 or
 * 127.000.0.1); *first gets its first octet. */
static int dotted_quad(const char *host, const char *end, unsigned *first)
{
    unsigned v;
    int i;

    for (i = 0; i < 4; i++) {
        if (!octet(&host, end, &v))
            return 0;
        if (i == 0)
            *first = v;
        if (i < 3 && (host >= end || *host++ != '.'))
            return 0;
    }
    return host == end;
}

/* A label in IDNA form ("xn--", any case, RFC 5890 section 2.3.2.1): a
 * browser shows it as Unicode, where look-alike letters pass for the
 * operator's name, so such a host is never shown. */
static int idna_label(const char *label, size_t n)
{
    return n >= 4 && strncasecmp(label, "xn--", 4) == 0;
}

/* [host, end) is a DNS name: labels of letters, digits, underscores and
 * inner hyphens, 1..63 bytes each, no empty label (so no trailing dot),
 * none in IDNA form.
 * Underscores are not valid in host names but appear in real DNS names,
 * and every parser reads them alike.  A name whose
 * last label starts with a digit is one a browser may read as an IPv4
 * number (WHATWG's "ends in a number"): only a plain dotted quad is
 * taken then. */
static int dns_name(const char *host, const char *end)
{
    const char *label = host, *p;
    unsigned first;

    if (end - host > HOST_MAX)
        return 0;
    for (p = host; p <= end; p++) {
        if (p == end || *p == '.') {
            size_t n = (size_t)(p - label);

            if (n == 0 || n > LABEL_MAX || label[0] == '-' || p[-1] == '-' ||
                idna_label(label, n))
                return 0;
            if (p == end && is_digit(label[0]))
                return dotted_quad(host, end, &first);
            label = p + 1;
        } else if (!is_alnum(*p) && *p != '-' && *p != '_') {
            return 0;
        }
    }
    return 1;
}

/* "[...]" holding an IPv6 address written exactly as inet_ntop writes it
 * (lower case, longest zero run compressed, no zone): a browser shows
 * and uses the same text.  Addresses with an IPv4 tail (v4-mapped and
 * the like) are refused: glibc and browsers write them differently. */
static int ipv6_literal(const char *host, const char *end)
{
    char text[IPV6_TEXT_MAX], canon[INET6_ADDRSTRLEN];
    struct in6_addr a;
    size_t n = (size_t)(end - host);

    if (n < 3 || n - 2 >= sizeof(text) || host[0] != '[' || end[-1] != ']')
        return 0;
    memcpy(text, host + 1, n - 2);
    text[n - 2] = '\0';
    if (inet_pton(AF_INET6, text, &a) != 1 ||
        inet_ntop(AF_INET6, &a, canon, sizeof(canon)) == NULL)
        return 0;
    return strcmp(text, canon) == 0 && strchr(canon, '.') == NULL;
}

/* [p, end) is a port: 1..65535 in decimal without a leading zero. */
static int port_ok(const char *p, const char *end)
{
    unsigned long v = 0;
    const char *s;

    if (p == end || end - p > 5 || *p == '0')
        return 0;
    for (s = p; s < end; s++) {
        if (!is_digit(*s))
            return 0;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    return v <= 65535;
}

/* "[...]" whose inside inet_pton(3) reads as ::1, in any spelling. */
static int ipv6_loopback_any(const char *host, size_t n)
{
    char text[IPV6_TEXT_MAX];
    struct in6_addr a;

    if (n < 3 || n - 2 >= sizeof(text) || host[0] != '[' || host[n - 1] != ']')
        return 0;
    memcpy(text, host + 1, n - 2);
    text[n - 2] = '\0';
    return inet_pton(AF_INET6, text, &a) == 1 &&
           memcmp(&a, &in6addr_loopback, sizeof(a)) == 0;
}

int pv_url_loopback_host(const char *host, size_t len, unsigned flags)
{
    unsigned first = 0;

    if (host == NULL || len == 0)
        return 0;
    if (host[0] == '[') {
        if (flags & PV_LOOPBACK_CANONICAL)
            return len == 5 && memcmp(host, "[::1]", 5) == 0;
        return ipv6_loopback_any(host, len);
    }
    /* a plain dotted quad, which is also all inet_pton(3) takes for
     * AF_INET; never a name: a name can resolve anywhere */
    return dotted_quad(host, host + len, &first) && first == 127;
}

/* Where the host of the authority [a, end) ends: after the ']' of an
 * IPv6 literal, else at the port's ':' or the end.  NULL: no closing ']'. */
static const char *host_end_of(const char *a, const char *end)
{
    const char *p;

    if (a < end && *a == '[') {
        p = memchr(a, ']', (size_t)(end - a));
        return p != NULL ? p + 1 : NULL;
    }
    p = memchr(a, ':', (size_t)(end - a));
    return p != NULL ? p : end;
}

/* [a, end) is a host as a link may carry it: a DNS name, a plain dotted
 * quad or a canonical IPv6 literal. */
static int host_ok(const char *a, const char *end)
{
    if (a < end && *a == '[')
        return ipv6_literal(a, end);
    return dns_name(a, end);
}

/* The authority [a, end): host [":" port], nothing else. */
static int authority_ok(const char *a, const char *end, int https)
{
    const char *host_end = host_end_of(a, end);

    if (host_end == NULL || !host_ok(a, host_end))
        return 0;
    if (host_end != end && (*host_end != ':' || !port_ok(host_end + 1, end)))
        return 0;
    return https || pv_url_loopback_host(a, (size_t)(host_end - a),
                                         PV_LOOPBACK_CANONICAL);
}

/* The authority of a link that starts with http:// or https://: *end is
 * where it ends (the first '/' or '?', or the end of the text). */
static const char *authority_of(const char *url, const char **end)
{
    const char *rest = url + (strncmp(url, "https://", 8) == 0 ? 8 : 7);

    *end = rest + strcspn(rest, "/?");
    return rest;
}

int pv_url_link_ok(const char *url, size_t max)
{
    const char *auth, *end;
    int https;

    /* '@' and '#' are refused anywhere, not only in the authority: in
     * "https://evil.example#@operator.example.com" (or with "/@", "?@")
     * the host is evil.example, but a reader (and a QR scanner's preview)
     * sees the operator's name at the end. */
    if (url == NULL || !pv_printable_word(url, max) ||
        strpbrk(url, "\\@#") != NULL)
        return 0;
    if (strncmp(url, "https://", 8) == 0)
        https = 1;
    else if (strncmp(url, "http://", 7) == 0)
        https = 0;
    else
        return 0;
    /* the authority ends at the first '/', '?' or the end; what follows
     * is the link's own business */
    auth = authority_of(url, &end);
    return authority_ok(auth, end, https);
}

/* The host [h, hend) of a link (already checked) matches the pattern
 * [p, pend): equal, ASCII case aside; or, for "*.domain", one or more
 * labels followed by ".domain". */
static int host_matches(const char *h, const char *hend, const char *p,
                        const char *pend)
{
    size_t hn = (size_t)(hend - h), pn = (size_t)(pend - p);

    if (pn > 2 && p[0] == '*' && p[1] == '.') {
        /* the '.' is part of the suffix compared, so the label before it
         * is whole and not empty (the host has no empty labels) */
        p++;
        pn--;
        return hn > pn && strncasecmp(hend - pn, p, pn) == 0;
    }
    return hn == pn && strncasecmp(h, p, pn) == 0;
}

int pv_url_host_listed(const char *url, size_t max, const char *hosts)
{
    const char *auth, *end, *host_end, *p;

    if (!pv_url_link_ok(url, max))
        return 0;
    if (hosts == NULL || hosts[strspn(hosts, " \t")] == '\0')
        return 1;
    auth = authority_of(url, &end);
    host_end = host_end_of(auth, end);
    for (p = hosts;;) {
        size_t n;

        p += strspn(p, " \t");
        if (*p == '\0')
            return 0;
        n = strcspn(p, " \t");
        if (host_matches(auth, host_end, p, p + n))
            return 1;
        p += n;
    }
}

/* The domain of a wildcard: a DNS name of at least two labels, so that
 * "*.com" (every name under a top-level domain) is refused. */
static int wildcard_domain_ok(const char *d, const char *end)
{
    return dns_name(d, end) && memchr(d, '.', (size_t)(end - d)) != NULL;
}

int pv_url_host_pattern_ok(const char *p, size_t len)
{
    const char *end = p + len;

    if (len > 2 && p[0] == '*' && p[1] == '.')
        return wildcard_domain_ok(p + 2, end);
    return len > 0 && host_ok(p, end);
}
