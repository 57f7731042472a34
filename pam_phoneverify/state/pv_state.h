/* pv_state.h - per-user state shared between logins: recent failures and
 * lockout, the pending code (for reuse_code), the pre-check cache.
 *
 * The flow sees only this interface.  A backend implements read and
 * atomic update of one user's record; `state = file` is pv_state_file.c
 * (one file per user under state_dir, flock + write-temp/fsync/rename);
 * `state = etcd` is pv_state_etcd.c (compare-and-swap, shared by a fleet). */
#ifndef PV_STATE_H
#define PV_STATE_H

#include <stddef.h>
#include <time.h>
#include "config/pv_config.h"
#include "base/pv_err.h"
#include "base/pv_log.h"
#include "identity/pv_origin.h"
#include "identity/pv_phone.h"

#define PV_STATE_MAX_FAILURES PV_MAX_FAILURES
#define PV_STATE_MAX_SENDS 64 /* seconds with sends kept (buckets) */
#define PV_STATE_SEND_COUNT_MAX 100000
#define PV_STATE_ID_MAX 512
#define PV_STATE_MAX_SIZE (16 * 1024)
#define PV_STATE_TO_MAX 254
#define PV_STATE_MAX_GRANTS 16 /* grace grants kept per user */
/* Latest instant a record holds (9999-12-31T23:59:59Z); larger or negative
 * times are refused as corrupt, so writers clamp to this. */
#define PV_STATE_TIME_MAX ((time_t)253402300799LL)
/* Longest user name the state accepts (LOGIN_NAME_MAX); longer: error. */
#define PV_STATE_USER_MAX 256
#define PV_STATE_MAX_ENDPOINTS 16 /* endpoint health entries kept */
#define PV_STATE_MAX_BG_USED 32   /* used break-glass codes kept */
#define PV_STATE_MAX_ENTRY 99     /* highest provider entry index */
/* The name the backends keep provider entry health under, each at a key
 * of its own that no user record takes (the file `health` in state_dir,
 * <state_prefix>health in etcd); no user name has ':'
 * (pv_user_name_valid).  Only pv_state_health_* use it.  The record of
 * the old fake user ":endpoints" is no longer read. */
#define PV_STATE_HEALTH_NAME ":health"

typedef struct pv_state_record {
    /* failure instants (oldest first), at most PV_STATE_MAX_FAILURES */
    time_t failures[PV_STATE_MAX_FAILURES];
    size_t n_failures;
    time_t locked_until; /* 0: not locked */

    /* pending code sent by this host (reuse_code) */
    char pending_id[PV_STATE_ID_MAX + 1]; /* "" when none */
    char pending_to[PV_STATE_TO_MAX + 1];
    time_t pending_expires;
    unsigned pending_entry; /* provider entry that sent it (0..) */

    /* codes requested for this user (send_limit), oldest first: how many
     * (send_counts[i] >= 1) at which second (sends[i]) */
    time_t sends[PV_STATE_MAX_SENDS];
    unsigned send_counts[PV_STATE_MAX_SENDS];
    size_t n_sends;
    time_t last_sent; /* last code the provider sent; 0 none */

    /* grace grants (only in this host's local store, never read from
     * etcd): hash of what the grant is bound to (pv_state_grant_key),
     * when it was earned and its end; oldest first.  Honoured only
     * within `grace` of grant_at (pv_state_grant_active). */
    char grant_keys[PV_STATE_MAX_GRANTS][65];
    time_t grant_until[PV_STATE_MAX_GRANTS];
    time_t grant_at[PV_STATE_MAX_GRANTS];
    size_t n_grants;
    /* Grants earned at or before this instant are void: set by a lockout
     * (to its end) and by `phoneverify unlock` (to its time); shared with
     * etcd, where it can only take grants away. */
    time_t grants_void;

    /* pre-check cache: hash of user+name+number, consistent until */
    char precheck_key[65]; /* hex SHA-256, "" when none */
    time_t precheck_until;

    /* provider entry health: carried only by the health record
     * (pv_state_health_*, which write nothing else there) */
    char endpoint_key[PV_STATE_MAX_ENDPOINTS][65];
    time_t endpoint_until[PV_STATE_MAX_ENDPOINTS];
    size_t n_endpoints;

    /* break-glass codes used by this user anywhere: hex SHA-256 of the
     * hash line's hash, so a hash listed on several hosts works once */
    char bg_used[PV_STATE_MAX_BG_USED][65];
    size_t n_bg_used;
} pv_state_record;

typedef struct pv_state pv_state;

/* Callback run with the record locked; return 0 to write it back, 1 to
 * leave it unchanged, -1 to abort.  The etcd backend runs it again on a
 * fresh copy when another host changed the record first: it must compute
 * from rec alone and only overwrite what it reports through ctx.  It also
 * skips a write that changes nothing, and keeps back one that changes only
 * the pending code, last_sent or the pre-check cache until the next write
 * of the handle or its close (doc/fleet.md): those fields are a
 * convenience, everything that counts is written at once. */
typedef int (*pv_state_update_fn)(pv_state_record *rec, void *ctx);

/* Called by list once per user with a record; 0 goes on, -1 stops the
 * listing (which then returns -1 with err as set by the caller). */
typedef int (*pv_state_list_fn)(const char *user, void *ctx);

struct pv_state_ops {
    int (*read)(pv_state *st, const char *user, pv_state_record *rec,
                pv_err *err);
    int (*update)(pv_state *st, const char *user, pv_state_update_fn fn,
                  void *ctx, pv_err *err);
    /* Every name with a record, each once, in no set order; *unnamed
     * counts records kept under a name that cannot be given back (the
     * file backend's hashed over-long names). */
    int (*list)(pv_state *st, pv_state_list_fn fn, void *ctx, size_t *unnamed,
                pv_err *err);
    void (*close)(pv_state *st);
};

struct pv_state {
    const struct pv_state_ops *ops;
    void *backend;
    pv_logger logger; /* corrupt records */
    /* How long an update waits for another login's lock on the same user
     * before giving up (PV_STATE_LOCK_WAIT_MS after pv_state_open). */
    long lock_wait_ms;
};

#define PV_STATE_LOCK_WAIT_MS 30000

/* Releases the backend (ops->close frees st->backend only) and st. */
void pv_state_close(pv_state *st);

/* A missing record reads as empty.  A corrupt one reads as empty and is
 * logged through st->logger.  0 ok, -1 err (I/O, unsafe directory).
 * Under etcd the first read of a handle may be a member's own copy, which
 * can be behind; it is taken only when it shows no failures, lock or
 * voided grants (so it can hide a lock, never invent one), and every
 * update after it is a compare-and-swap on the current record: decide
 * nothing that opens a login on that first read alone (pv_state_etcd.c). */
int pv_state_read(pv_state *st, const char *user, pv_state_record *rec,
                  pv_err *err);
/* A lockout ends every grace grant of the user: an update that moves
 * locked_until later also sets grants_void to it, whatever fn it runs. */
int pv_state_update(pv_state *st, const char *user, pv_state_update_fn fn,
                    void *ctx, pv_err *err);

/* Provider entry health (pam_phoneverify.conf(5), PROVIDER FAILOVER),
 * shared by every login, fleet-wide under etcd: entry key (hex SHA-256 of
 * its URLs, policy/pv_failover.c) marked out until.  Its own small record
 * ("endpoint KEY UNTIL" lines), apart from every user's. */
typedef struct pv_state_health {
    char key[PV_STATE_MAX_ENDPOINTS][65];
    time_t until[PV_STATE_MAX_ENDPOINTS];
    size_t n;
} pv_state_health;

/* As pv_state_update_fn, over the health marks. */
typedef int (*pv_state_health_fn)(pv_state_health *h, void *ctx);

/* A missing or corrupt health record reads as no marks.  0 ok, -1 err. */
int pv_state_health_read(pv_state *st, pv_state_health *h, pv_err *err);
/* Read -> fn -> write of the health record, atomic as pv_state_update
 * (compare-and-swap under etcd); only the marks are stored. */
int pv_state_health_update(pv_state *st, pv_state_health_fn fn, void *ctx,
                           pv_err *err);

/* Run fn for every user with a record (`phoneverify status`), in no set
 * order.  Names no user can have are skipped: a control character, or a
 * ':' (pv_user_name_valid refuses it; the old health record ":endpoints"
 * was one), so a name from an etcd writer never reaches a terminal raw.
 * *unnamed (may be NULL) counts records that cannot be named.  0 ok, -1
 * with err (the store cannot be listed, or fn stopped it). */
int pv_state_list(pv_state *st, pv_state_list_fn fn, void *ctx,
                  size_t *unnamed, pv_err *err);

/* Record text format (one "key value" per line), used by the file backend
 * and fuzzed: parse returns 0 ok, -1 corrupt (rec then empty). */
int pv_state_record_parse(const char *text, size_t len, pv_state_record *rec);
/* Serialise into a malloc'd buffer (holds the pending id: the caller wipes
 * it); 0 ok, -1 ENOMEM or a field that would not parse back. */
int pv_state_record_format(const pv_state_record *rec, char **out,
                           size_t *len);
void pv_state_record_clear(pv_state_record *rec);

/* SHA-256 of len bytes as 64 lowercase hex digits and a NUL. */
void pv_state_sha256_hex(const void *data, size_t len, char out[65]);
/* precheck_key for user + name + national number: SHA-256 of the three,
 * length-prefixed so that no two different triples share a key.  NULL
 * counts as "". */
void pv_state_precheck_key(const char *user, const char *name,
                           const char *number, char out[65]);

/* The grace grant key of a login: SHA-256 over user, rhost, ruser (each
 * NULL or set, so unset matches only unset), the terminal session (NULL
 * for a remote login; else its device number, session id and leader start
 * time) and the service group, length-prefixed.  The raw values never
 * reach the record. */
void pv_state_grant_key(const char *user, const char *rhost, const char *ruser,
                        const pv_tty_session *session, const char *group,
                        char out[65]);
/* Keep the grant for key, earned at `at`, until `until` (replacing one for
 * the same key; those ended at `at` dropped, the oldest dropped when
 * full). */
void pv_state_grant_add(pv_state_record *rec, const char *key, time_t at,
                        time_t until);
/* When the grant at index i ends, as read back: never later than its
 * grant_at + grace, whatever end it stores; 0 (ended) when it was earned
 * in the future or at or before rec->grants_void. */
time_t pv_state_grant_end(const pv_state_record *rec, size_t i, long grace);
/* 1 when rec holds a grant for key that has not ended at now (see
 * pv_state_grant_end); grants_void is the user's (from the shared record
 * under etcd, else rec's own). */
int pv_state_grant_active(const pv_state_record *rec, const char *key,
                          time_t now, long grace, time_t grants_void);
/* End every grant of the user: those earned at or before `at` are void
 * from now on, and the record's grants are dropped. */
void pv_state_grants_void(pv_state_record *rec, time_t at);
/* Forget the grants a record holds (a record read from etcd: grants live
 * on the host that granted them, and an etcd writer must not forge one). */
void pv_state_grants_drop(pv_state_record *rec);

#endif
