/* pv_qr.c - QR code rendering with libqrencode. */
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>
#include "base/pv_qr.h"

#define QUIET 2 /* modules of quiet zone on each side */

/* Cell glyphs indexed by (top light) << 1 | (bottom light). */
static const char *const glyph[4] = { " ", "\xe2\x96\x84", "\xe2\x96\x80",
                                      "\xe2\x96\x88" };

/* 1 when the module at (x, y) of the padded square is light. */
static int light(const QRcode *qr, int x, int y)
{
    int w = qr->width;

    x -= QUIET;
    y -= QUIET;
    if (x < 0 || y < 0 || x >= w || y >= w)
        return 1;
    return !(qr->data[y * w + x] & 1);
}

int pv_qr_render(const char *text, char **out, size_t *width)
{
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
    size_t size, o = 0;
    int side, x, y;
    char *buf;

    if (qr == NULL)
        return -1;
    side = qr->width + 2 * QUIET;
    /* at most 3 bytes per cell, a newline per row, the NUL */
    size = (size_t)((side + 1) / 2) * ((size_t)side * 3 + 1) + 1;
    buf = malloc(size);
    if (buf == NULL) {
        QRcode_free(qr);
        return -1;
    }
    for (y = 0; y < side; y += 2) {
        for (x = 0; x < side; x++) {
            int g = light(qr, x, y) << 1 |
                    (y + 1 < side ? light(qr, x, y + 1) : 0);
            size_t n = strlen(glyph[g]);

            memcpy(buf + o, glyph[g], n);
            o += n;
        }
        buf[o++] = '\n';
    }
    buf[o] = '\0';
    if (width != NULL)
        *width = (size_t)side;
    QRcode_free(qr);
    *out = buf;
    return 0;
}
