/* pv_users_edit.h - writing the users file (`phoneverify enroll`).
 * Reading it is pv_lookup.c's job; this file only validates and replaces
 * one user's line atomically. */
#ifndef PV_USERS_EDIT_H
#define PV_USERS_EDIT_H

#include "pv_err.h"

/* Validate the fields (user name as pv_user_name_valid and not starting
 * with '#', phone E.164, name without ':' or control characters, e-mail
 * plausible or empty), then write `user:+E164[:name[:email]]` (trailing
 * empty fields left out) in place of user's first existing line, dropping
 * any later ones, or append it; every other line is kept as it is.
 * Temporary file in the same directory, fsync, rename, fsync of the
 * directory; mode 0644.  0 ok, -1 with err. */
int pv_users_set(const char *path, const char *user, const char *phone,
                 const char *name, const char *email, pv_err *err);

#endif
