/* pv_url.h - checking a link that came from a provider before the user
 * sees it (the numVerify operator link, doc/providers.md and doc/security.md). */
#ifndef PV_URL_H
#define PV_URL_H

#include <stddef.h>

/* Whether url may be shown to the user and put into a QR code: at most
 * max bytes of printable ASCII without blanks, backslashes, '@' or '#'
 * (anywhere); scheme https, or http to an exact loopback host (127.0.0.0/8
 * written as a plain dotted quad, or [::1]); an authority that is only a
 * host and an optional port (1..65535, no leading zero): a DNS name of
 * letters, digits, underscores and inner hyphens with no IDNA ("xn--",
 * any case) label, a plain dotted quad, or an IPv6 literal in its
 * canonical text.  No user, password, login options, zone or
 * percent-encoding, so a browser reads the same host.  1 yes, 0 no. */
int pv_url_link_ok(const char *url, size_t max);

/* numverify_link_hosts (pam_phoneverify.conf(5)): whether url passes
 * pv_url_link_ok (with max) and its host (port aside) matches one of the space- or
 * tab-separated patterns in hosts: a host equal to it (ASCII case aside),
 * or "*.domain", any host one or more labels under domain (not domain
 * itself).  NULL or blank hosts: every link pv_url_link_ok takes.
 * 1 yes, 0 no. */
int pv_url_host_listed(const char *url, size_t max, const char *hosts);

/* Whether [p, p + len) may be listed in numverify_link_hosts: a host as
 * pv_url_link_ok takes it (DNS name, dotted quad, canonical [IPv6]), or
 * "*." and a DNS name of at least two labels.  1 yes, 0 no. */
int pv_url_host_pattern_ok(const char *p, size_t len);

/* The one reading of "is this host text a loopback address", shared by
 * the three checks that ask it, from the most trusted text to the least:
 * configuration URLs (config/pv_config_values.c), the helper's last check
 * on the host libcurl parsed (helper/pv_curl_url.c), the operator link from
 * a provider (pv_url_link_ok).  A later check may refuse more, never
 * accept what an earlier one refuses (tests/unit/test_url.c holds the
 * order).  Accepted: [host, host + len) is 127.0.0.0/8 as a plain dotted
 * quad (no 127.1, 0x7f.0.0.1, 2130706433 or leading zeros), or "[...]"
 * holding ::1 in any spelling inet_pton(3) reads.  Never a name
 * (localhost included): a name can resolve anywhere.
 * PV_LOOPBACK_CANONICAL also refuses every IPv6 spelling but "[::1]"
 * (what a browser shows is what is checked).  1 yes, 0 no. */
#define PV_LOOPBACK_CANONICAL 1u
int pv_url_loopback_host(const char *host, size_t len, unsigned flags);

#endif
