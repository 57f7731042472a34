/* pv_breakglass.h - one-time emergency codes, used only while the
 * provider is unavailable.  The file holds `user:HASH` lines (crypt(3)
 * hashes); a code that matches is consumed (its line removed atomically)
 * so it works once. */
#ifndef PV_BREAKGLASS_H
#define PV_BREAKGLASS_H

#include <stddef.h>
#include "base/pv_err.h"

enum pv_breakglass_result {
    PV_BREAKGLASS_ACCEPTED = 0,
    PV_BREAKGLASS_REJECTED = 1, /* no matching unused code */
    PV_BREAKGLASS_ERROR = -1,   /* unsafe/unreadable file: err */
};

/* Check code against user's lines in path (only yescrypt/scrypt hashes
 * can match), without any lock; on a match take the file's lock (10 s at
 * most), re-read, and remove that line if it is still there (temporary
 * file, owner and mode kept, fsync, rename).  A code used by a parallel
 * login meanwhile is REJECTED. */
enum pv_breakglass_result pv_breakglass_consume(const char *path,
                                                const char *user,
                                                const char *code, pv_err *err);

/* Record the use of a matched code elsewhere before it is accepted (the
 * state store, so that a hash listed on several hosts works once
 * fleet-wide): hash is the line's crypt(3) hash.  Return 0 when the use
 * was recorded now, 1 when it had been used already, -1 on error.  It
 * must be atomic (compare-and-swap): two hosts never both get 0. */
typedef int (*pv_breakglass_claim_fn)(void *ctx, const char *hash);

/* pv_breakglass_consume with a claim between the match and the removal:
 * a code whose claim says "used" is REJECTED (its line removed all the
 * same); a claim error is ERROR (err set), the line kept. */
enum pv_breakglass_result
pv_breakglass_consume_claimed(const char *path, const char *user,
                              const char *code, pv_breakglass_claim_fn claim,
                              void *ctx, pv_err *err);

/* Whether a crypt(3) hash is of a scheme break-glass codes accept:
 * yescrypt ($y$, $gy$) or scrypt ($7$).  1 yes, 0 never matches. */
int pv_breakglass_hash_accepted(const char *hash);

typedef void (*pv_breakglass_report_fn)(void *ctx, const char *msg);

/* For `phoneverify check-config`: report(ctx, "PATH:LINE: problem") for
 * every line of path that can never match (a refused hash scheme such as
 * DES, MD5 or SHA-crypt, or not `user:HASH`).  Returns the number of such
 * lines (0 also when the file does not exist yet), or -1 when the file
 * is unsafe or unreadable (reported too). */
int pv_breakglass_check(const char *path, pv_breakglass_report_fn report,
                        void *ctx);

/* Generate n fresh codes for user (a valid user name: pv_user_name_valid;
 * digits, code_len long), append their hashes to path (created 0600 when
 * missing; under the same lock as consume, on the file the path names
 * once the lock is held), and return the clear codes in a malloc'd array the
 * caller prints once and wipes.  0 ok, -1 err. */
int pv_breakglass_issue(const char *path, const char *user, size_t n,
                        size_t code_len, char ***codes, pv_err *err);

#endif
