/* pv_url.h - checking a link that came from a provider before the user
 * sees it (the numVerify operator link, doc/providers.md and doc/security.md). */
#ifndef PV_URL_H
#define PV_URL_H

#include <stddef.h>

/* Whether url may be shown to the user and put into a QR code: at most
 * max bytes of printable ASCII without blanks, parsed by libcurl's URL API
 * (no network), scheme https, or http to an exact loopback host
 * (127.0.0.0/8 written as a plain dotted quad, or [::1]); no user,
 * password or login options; and the authority libcurl found is the text
 * of the link itself (no '@', '%' or '\\' in it, no numeric host form
 * libcurl would rewrite), so a browser reads the same host.  1 yes, 0 no. */
int pv_url_link_ok(const char *url, size_t max);

#endif
