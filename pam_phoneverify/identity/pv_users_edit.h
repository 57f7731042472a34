/* pv_users_edit.h - editing the files the CLI and the module rewrite:
 * the users file (`phoneverify enroll`) and, through the same locked
 * replace, the break-glass file.  Reading the users file for a login is
 * pv_lookup.c's job.
 *
 * An edit locks the file itself (flock on the file the path names, then a
 * check that the path still names it: a writer that replaced it meanwhile
 * makes the waiter start again), re-reads it under the lock, and replaces
 * it by rename with the owner, group and mode of the file it replaces, so
 * N parallel edits are N edits and a 0640 root:nogroup file stays so. */
#ifndef PV_USERS_EDIT_H
#define PV_USERS_EDIT_H

#include <stddef.h>
#include <sys/stat.h>
#include "base/pv_err.h"
#include "base/pv_safefile.h"

/* Open path through pv_safe_open (rule), take an exclusive flock on it,
 * waiting at most wait_ms, and make sure the path still names the locked
 * file.  Returns the fd (lock held until it is closed; *st its fstat) or
 * -1 with err (errno ENOENT when the file does not exist, ETIMEDOUT when
 * the lock was not had in time). */
int pv_edit_lock(const char *path, enum pv_file_rule rule, long wait_ms,
                 struct stat *st, pv_err *err);

/* The locked file is read with pv_safe_read_fd (base/pv_safefile.h). */

/* Replace path with text[0..len): a temporary file in the same directory
 * given the owner, group and mode of like (the file being replaced),
 * fsync, rename, fsync of the directory.  Call with the lock held.  0 ok,
 * -1 with err (no temporary file left behind). */
int pv_edit_replace(const char *path, const char *text, size_t len,
                    const struct stat *like, pv_err *err);

/* Create a missing file empty with mode (whatever the umask), never over
 * an existing file or through a symlink; the edit then locks it with
 * pv_edit_lock, whose checks it must pass.  0 ok or already there, -1
 * with err. */
int pv_edit_create(const char *path, mode_t mode, pv_err *err);

/* Validate the fields (user name as pv_user_name_valid and not starting
 * with '#', phone E.164, name without ':' or control characters, e-mail
 * plausible or empty), then write `user:+E164[:name[:email]]` (trailing
 * empty fields left out) in place of user's first existing line, dropping
 * any later ones, or append it; every other line is kept as it is.
 * Under the lock of pv_edit_lock (30 s at most), re-read there, replaced
 * by pv_edit_replace (owner, group and mode kept); a missing file is
 * created 0644 first.  0 ok, -1 with err. */
int pv_users_set(const char *path, const char *user, const char *phone,
                 const char *name, const char *email, pv_err *err);

#endif
