/* pv_safefile.h - opening files the module trusts.
 *
 * Every file the module reads or runs (configuration, users file, CA file,
 * lookup command, break-glass file, helper) goes through here: opened with
 * O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC|O_NOCTTY (a symlink, FIFO or device can
 * neither redirect nor hang a login), then fstat'ed: a regular file, owned
 * by root or the effective user, not writable by group or others, and no
 * larger than the caller's limit.
 *
 * The path is resolved from "/" one directory at a time through
 * descriptors (openat), and every directory on the way must pass the same
 * owner and not-writable rules (a root-owned sticky directory such as /tmp
 * is accepted, since only an entry's owner can rename it there; the entry
 * must then be root's or the effective user's).  The file is opened inside
 * its checked parent, so a rename race anywhere on the path cannot swap
 * what is checked and what is used. */
#ifndef PV_SAFEFILE_H
#define PV_SAFEFILE_H

#include <stddef.h>
#include <sys/stat.h>
#include "base/pv_err.h"

enum pv_file_rule {
    PV_FILE_PUBLIC = 0, /* may be readable by others (users file, CA) */
    PV_FILE_SECRET = 1, /* must not be readable by others either      */
};

/* Open path for reading after the checks above; returns an fd (O_CLOEXEC)
 * or -1 with err set.  st receives the fstat result when non-NULL. */
int pv_safe_open(const char *path, enum pv_file_rule rule, struct stat *st,
                 pv_err *err);

/* Check a file the module names but does not read itself (CA file, client
 * key, lookup command, helper): same ownership and mode rules, and for
 * executables also "is executable".  0 ok, -1 with err set. */
int pv_safe_check(const char *path, enum pv_file_rule rule, int executable,
                  pv_err *err);

/* Open an executable (helper, lookup command) as an O_PATH|O_CLOEXEC
 * descriptor after the checks above plus "is executable"; run it through
 * that descriptor (pv_spawn, execveat AT_EMPTY_PATH).  fd or -1 with err. */
int pv_safe_open_exec(const char *path, pv_err *err);

/* Check a directory: owner root or euid, not group/other writable, not a
 * symlink.  0 ok, -1 with err set. */
int pv_safe_check_dir(const char *path, pv_err *err);

/* The one whole-file reader: the whole of the file open on fd, from its
 * start, into a malloc'd buffer with a NUL after the last byte (read(2),
 * no stdio buffering, so secrets are not copied around).  Fails when the
 * file is, or grows while read to, more than max bytes, or (unless flags
 * has PV_READ_BINARY) holds a NUL byte.  path names it in err.  The
 * caller keeps fd (and any lock on it), wipes and frees *out.  0 ok, -1
 * with err set. */
#define PV_READ_BINARY 1u /* NUL bytes are data (message catalogues) */
int pv_safe_read_fd(int fd, const char *path, size_t max, unsigned flags,
                    char **out, size_t *len, pv_err *err);

/* Read the whole of a checked file (pv_safe_open, then pv_safe_read_fd
 * without flags).  The caller
 * wipes and frees *out.  0 ok, -1 with err set. */
int pv_safe_read(const char *path, enum pv_file_rule rule, size_t max,
                 char **out, size_t *len, pv_err *err);

#endif
