/* pv_breakglass.h - one-time emergency codes, used only while the
 * provider is unavailable.  The file holds `user:HASH` lines (crypt(3)
 * hashes); a code that matches is consumed (its line removed atomically)
 * so it works once. */
#ifndef PV_BREAKGLASS_H
#define PV_BREAKGLASS_H

#include <stddef.h>
#include "pv_err.h"

enum pv_breakglass_result {
    PV_BREAKGLASS_ACCEPTED = 0,
    PV_BREAKGLASS_REJECTED = 1,     /* no matching unused code */
    PV_BREAKGLASS_ERROR = -1,       /* unsafe/unreadable file: err */
};

/* Check code against user's lines in path; on a match remove that line
 * (write-temp, fsync, rename under flock).  Constant work per line. */
enum pv_breakglass_result pv_breakglass_consume(const char *path,
                                                const char *user,
                                                const char *code,
                                                pv_err *err);

/* Generate n fresh codes for user (a valid user name: pv_user_name_valid;
 * digits, code_len long), append their hashes to path (created 0600 when
 * missing; under the same lock as consume, on the file the path names
 * once the lock is held), and return the clear codes in a malloc'd array the
 * caller prints once and wipes.  0 ok, -1 err. */
int pv_breakglass_issue(const char *path, const char *user, size_t n,
                        size_t code_len, char ***codes, pv_err *err);

#endif
