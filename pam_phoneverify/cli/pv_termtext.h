/* pv_termtext.h - text from outside made safe for the admin's terminal
 * (doc/security.md: text from outside printed by the CLI has C0 and C1 control
 * characters escaped). */
#ifndef PV_TERMTEXT_H
#define PV_TERMTEXT_H

#include <stddef.h>

/* Bytes one input byte can take in the output ("\xHH"). */
#define PV_TERM_ESCAPE_RATIO 4

/* Copy src into dst (size bytes, always NUL-terminated) so that nothing in
 * it can drive a terminal: C0 controls and DEL (0x00-0x1f, 0x7f), C1
 * controls as raw bytes (0x80-0x9f) or UTF-8 encoded (U+0080-U+009F, e.g.
 * "\xc2\x9b"), and every byte that is not part of well-formed UTF-8
 * (overlong forms, surrogates, stray continuation bytes) are written as
 * the four characters "\xHH"; a backslash is doubled so that the escapes
 * cannot be forged.  Other well-formed UTF-8 (names in any script) is
 * kept.  Returns 0, or -1 when dst was too small (the output then ends at
 * a whole character or escape). */
int pv_term_escape(char *dst, size_t size, const char *src);

/* The same into a malloc'd string; NULL when out of memory. */
char *pv_term_escape_dup(const char *src);

#endif
