/* pv_base64.c - base64 encoding and strict decoding. */
#include "base/pv_base64.h"

#include <stdint.h>

int pv_base64(const unsigned char *in, size_t len, char *out, size_t outsize)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = (len + 2) / 3 * 4 + 1;
    size_t i, o = 0;

    if (len > (SIZE_MAX - 1) / 4 * 3 - 3 || outsize < need)
        return -1;
    for (i = 0; i + 2 < len; i += 3) {
        unsigned v =
            (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return 0;
}

/* 0..63 for an alphabet character, -1 otherwise. */
static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Padding characters at the end of one 4-character group: 0, 1 or 2;
 * -1 when '=' appears anywhere else. */
static int group_padding(const char *g, int last)
{
    int pad = 0;

    if (g[3] == '=')
        pad = g[2] == '=' ? 2 : 1;
    if (pad > 0 && !last)
        return -1;
    if (g[0] == '=' || g[1] == '=' || (pad < 2 && g[2] == '='))
        return -1;
    return pad;
}

/* Decode one group into out; returns the number of bytes (1..3) or -1. */
static int decode_group(const char *g, int pad, unsigned char *out)
{
    int v[4] = { 0, 0, 0, 0 };
    int i;

    for (i = 0; i < 4 - pad; i++) {
        if ((v[i] = sextet(g[i])) < 0)
            return -1;
    }
    /* bits that fall outside the decoded bytes must be zero */
    if ((pad == 2 && (v[1] & 0x0f) != 0) || (pad == 1 && (v[2] & 0x03) != 0))
        return -1;
    out[0] = (unsigned char)((v[0] << 2) | (v[1] >> 4));
    out[1] = (unsigned char)(((v[1] & 0x0f) << 4) | (v[2] >> 2));
    out[2] = (unsigned char)(((v[2] & 0x03) << 6) | v[3]);
    return 3 - pad;
}

int pv_base64_decode(const char *in, size_t len, unsigned char *out,
                     size_t size, size_t *outlen)
{
    size_t pos, o = 0;

    if (outlen != NULL)
        *outlen = 0;
    if (in == NULL || out == NULL || outlen == NULL || len % 4 != 0)
        return -1;
    for (pos = 0; pos < len; pos += 4) {
        unsigned char buf[3];
        int pad = group_padding(in + pos, pos + 4 == len);
        int n = pad < 0 ? -1 : decode_group(in + pos, pad, buf);

        if (n < 0 || o + (size_t)n > size)
            return -1;
        for (int i = 0; i < n; i++)
            out[o++] = buf[i];
    }
    *outlen = o;
    return 0;
}
