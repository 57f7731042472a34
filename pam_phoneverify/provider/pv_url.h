/* pv_url.h - checking a link that came from a provider before the user
 * sees it (the numVerify operator link, doc/providers.md and doc/security.md). */
#ifndef PV_URL_H
#define PV_URL_H

#include <stddef.h>

/* Whether url may be shown to the user and put into a QR code: at most
 * max bytes of printable ASCII without blanks or backslashes; scheme
 * https, or http to an exact loopback host (127.0.0.0/8 written as a
 * plain dotted quad, or [::1]); an authority that is only a host and an
 * optional port (1..65535, no leading zero): a DNS name of letters,
 * digits, underscores and inner hyphens, a plain dotted quad, or an IPv6
 * literal in its canonical text.  No user, password, login options, zone or
 * percent-encoding, so a browser reads the same host.  1 yes, 0 no. */
int pv_url_link_ok(const char *url, size_t max);

#endif
