/* pv_lookup.h - finding the phone (and name and e-mail) of a user.
 *
 * Sources are tried in the configured `lookup` order: users file, GECOS,
 * lookup command.  The first source that knows the user wins. */
#ifndef PV_LOOKUP_H
#define PV_LOOKUP_H

#include <stddef.h>
#include <sys/types.h>
#include "config/pv_config.h"
#include "base/pv_err.h"
#include "identity/pv_phone.h"

/* Only `phoneverify enroll` (pv_users_edit.c) reads the users file whole
 * to rewrite it, up to this size (several million lines: the CLI, not a
 * login, pays for it); a login streams it without a limit. */
#define PV_USERS_MAX_SIZE (512L * 1024 * 1024)
#define PV_NAME_MAX 128
#define PV_EMAIL_MAX 254

typedef struct pv_identity {
    int has_phone;
    pv_phone phone;
    char name[PV_NAME_MAX + 1];   /* "" when unknown */
    char email[PV_EMAIL_MAX + 1]; /* "" when unknown */
} pv_identity;

enum pv_lookup_result {
    PV_LOOKUP_FOUND = 0,     /* *id filled (phone and/or email) */
    PV_LOOKUP_NOT_FOUND = 1, /* no source knows this user */
    PV_LOOKUP_ERROR = -1,    /* unreadable/unsafe source: err */
};

/* One source.  pw is the user's passwd entry (for GECOS).  A malformed
 * phone in a source is an error naming the source and line. */
enum pv_lookup_result pv_lookup_source(const pv_config *cfg,
                                       enum pv_lookup_source src,
                                       const char *user, const char *gecos,
                                       pv_identity *id, pv_err *err);

/* All configured sources in order. */
enum pv_lookup_result pv_lookup_user(const pv_config *cfg, const char *user,
                                     const char *gecos, pv_identity *id,
                                     pv_err *err);

/* Pure parsers (unit-tested and fuzzed). */
/* Find user in users-file text.  Lines `user:phone[:name[:email]]`, '#'
 * comments, blank lines.  *bad_line gets the line of a malformed entry for
 * this user. */
enum pv_lookup_result pv_users_find(const char *text, size_t len,
                                    const char *user, pv_identity *id,
                                    unsigned *bad_line);
/* The same, and *why (when why is not NULL) says what is wrong with a
 * malformed line, e.g. "phone must start with + and a country code". */
enum pv_lookup_result pv_users_find_why(const char *text, size_t len,
                                        const char *user, pv_identity *id,
                                        unsigned *bad_line, const char **why);
/* The users file open on fd (checked by the caller), read in chunks up to
 * the user's line: no size limit, one fixed buffer, wiped.  An error sets
 * *why, and *bad_line (1-based) when a line is at fault. */
enum pv_lookup_result pv_users_read(int fd, const char *user, pv_identity *id,
                                    unsigned *bad_line, const char **why);
/* GECOS "Name,room,work phone,home phone,other": field n (1-based). */
enum pv_lookup_result pv_gecos_find(const char *gecos, long field,
                                    pv_identity *id);
/* First line of a lookup command's output: "PHONE [NAME...]". */
enum pv_lookup_result pv_command_output_parse(const char *out, size_t len,
                                              pv_identity *id);

const char *pv_lookup_source_name(enum pv_lookup_source src);

/* 1 when user is a name some account could have: 1..256 bytes, no control
 * characters, no ':' or '/', no leading '-'.  Anything else is never
 * looked up, never reaches a path, a header or a command line. */
int pv_user_name_valid(const char *user);

#endif
