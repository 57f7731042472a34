/* pv_users_edit.h - writing the users file (`phoneverify enroll`).
 * Reading it is pv_lookup.c's job; this file only validates and replaces
 * one user's line atomically. */
#ifndef PV_USERS_EDIT_H
#define PV_USERS_EDIT_H

#include "pv_err.h"

/* Validate the fields (phone E.164, name without ':' or control
 * characters, e-mail plausible or empty), then write `user:phone:name:email`
 * in place of user's existing line (or append it): temporary file in the
 * same directory, fsync, rename; mode 0644.  0 ok, -1 with err. */
int pv_users_set(const char *path, const char *user, const char *phone,
                 const char *name, const char *email, pv_err *err);

#endif
