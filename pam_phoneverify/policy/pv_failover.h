/* pv_failover.h - provider entries (pam_phoneverify.conf(5), PROVIDER
 * FAILOVER): `send_url` and `verify_url` list the same number of URLs;
 * entry i is send URL i with verify URL i (one provider account: a code
 * is verified where it was sent).  An entry with a network-observed
 * outage is skipped by every login for PV_ENTRY_OUT_SECONDS, through the
 * state store (fleet-wide with etcd). */
#ifndef PV_FAILOVER_H
#define PV_FAILOVER_H

#include <stddef.h>
#include <time.h>
#include "config/pv_config.h"
#include "base/pv_err.h"
#include "state/pv_state.h"

#define PV_ENTRY_OUT_SECONDS 60 /* fixed, not a setting */
#define PV_MAX_ENTRIES PV_MAX_ENDPOINTS
#define PV_URL_ENTRY_MAX 8193 /* one URL of a list (VALUE_MAX + 1) */

/* The entry a login uses next: the first one that has not failed in this
 * login (failed[i] set) and is not marked out at now; when every such
 * entry is marked, the first one that has not failed in this login
 * (marks order the entries, they do not remove them).  n when every entry
 * failed in this login: only then does failmode apply. */
size_t pv_entry_pick(const time_t *out_until, const unsigned char *failed,
                     size_t n, time_t now);

/* The entries of one configuration and what the store says of them. */
typedef struct pv_entries {
    size_t n;
    char key[PV_MAX_ENTRIES][65];         /* hex SHA-256 of both URLs */
    time_t out_until[PV_MAX_ENTRIES];     /* 0: not marked out */
    unsigned char failed[PV_MAX_ENTRIES]; /* an outage in this login */
} pv_entries;

/* Count the entries and key them (send_url/verify_url checked already). */
void pv_entries_init(pv_entries *e, const pv_config *cfg);
/* Read the health record; an unreadable one leaves every entry usable. */
void pv_entries_load(pv_entries *e, pv_state *st);
/* Entry i had a network-observed outage (never call it for a local
 * failure): failed in this login, and marked out until now +
 * PV_ENTRY_OUT_SECONDS here and in the store (expired marks pruned).
 * 0 ok, -1 not stored (still marked here). */
int pv_entries_mark_out(pv_entries *e, pv_state *st, size_t i, time_t now);
/* 1 while some entry has not failed in this login. */
int pv_entries_left(const pv_entries *e);

#endif
