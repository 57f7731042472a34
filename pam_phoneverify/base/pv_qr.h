/* pv_qr.h - a QR code for the operator link, drawn with UTF-8 half blocks
 * (two modules per character cell vertically) so a typical link fits an
 * 80x24 terminal. */
#ifndef PV_QR_H
#define PV_QR_H

#include <stddef.h>

/* Render text as lines of UTF-8 ('\n'-separated, malloc'd).  Light modules
 * and the quiet zone are drawn as blocks, dark ones as spaces, which reads
 * correctly on the usual light-on-dark terminal.  0 ok, -1 when the text
 * does not fit a QR code or on ENOMEM. */
int pv_qr_render(const char *text, char **out, size_t *width);

#endif
