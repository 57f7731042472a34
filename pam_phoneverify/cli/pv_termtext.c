/* pv_termtext.c - escaping text from outside before the CLI prints it.
 *
 * A C1 control reaches an xterm-like terminal either as one raw byte
 * (0x9b is CSI in 8-bit mode) or as its UTF-8 form (\xc2\x9b), so both
 * are escaped; anything that is not well-formed UTF-8 is escaped byte by
 * byte, which also covers overlong encodings of controls. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cli/pv_termtext.h"

/* Length of the well-formed UTF-8 sequence at s (2..4) and its code
 * point, or 0 when s does not start one.  s[0] >= 0x80. */
static size_t utf8_sequence(const unsigned char *s, uint32_t *cp)
{
    size_t n, i;
    uint32_t v, min;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2, v = s[0] & 0x1fu, min = 0x80;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3, v = s[0] & 0x0fu, min = 0x800;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4, v = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
            return 0;
        v = (v << 6) | (s[i] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/* Append the n bytes of text to dst at *o, whole or not at all. */
static int put(char *dst, size_t size, size_t *o, const char *text, size_t n)
{
    if (*o + n >= size)
        return -1;
    memcpy(dst + *o, text, n);
    *o += n;
    return 0;
}

static int put_hex(char *dst, size_t size, size_t *o, unsigned char b)
{
    static const char hex[] = "0123456789abcdef";
    char esc[4] = { '\\', 'x', hex[b >> 4], hex[b & 15] };

    return put(dst, size, o, esc, sizeof(esc));
}

int pv_term_escape(char *dst, size_t size, const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, n, i;
    uint32_t cp;
    int rc = 0;

    if (size == 0)
        return -1;
    while (*s != '\0' && rc == 0) {
        if (*s < 0x20 || *s == 0x7f) {
            rc = put_hex(dst, size, &o, *s++);
        } else if (*s == '\\') {
            rc = put(dst, size, &o, "\\\\", 2);
            s++;
        } else if (*s < 0x80) {
            rc = put(dst, size, &o, (const char *)s++, 1);
        } else if ((n = utf8_sequence(s, &cp)) == 0) {
            rc = put_hex(dst, size, &o, *s++);
        } else if (cp <= 0x9f) { /* a C1 control, UTF-8 encoded */
            for (i = 0; i < n && rc == 0; i++)
                rc = put_hex(dst, size, &o, s[i]);
            s += n;
        } else {
            rc = put(dst, size, &o, (const char *)s, n);
            s += n;
        }
    }
    dst[o] = '\0';
    return rc;
}

char *pv_term_escape_dup(const char *src)
{
    size_t size = strlen(src) * PV_TERM_ESCAPE_RATIO + 1;
    char *out = malloc(size);

    if (out != NULL)
        (void)pv_term_escape(out, size, src);
    return out;
}
