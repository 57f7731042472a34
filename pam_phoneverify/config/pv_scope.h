/* pv_scope.h - who is subject to the check: `groups` and
 * `trusted_rhosts`.  Pure functions over explicit inputs. */
#ifndef PV_SCOPE_H
#define PV_SCOPE_H

#include <stddef.h>
#include <sys/types.h>
#include "base/pv_err.h"

/* Validate a `groups` value (space-separated names, optional '!').
 * 0 ok, -1 with err. */
int pv_groups_validate(const char *spec, pv_err *err);

/* 1: the user (member of the n groups named in user_groups) must be
 * checked; 0: exempt.  Empty spec: everyone checked.  "!g" exempts members
 * of g even when another listed group matches; a list of only "!" entries
 * checks everyone else. */
int pv_groups_require_check(const char *spec, const char *const *user_groups,
                            size_t n);

/* Collect the names of the groups user belongs to (primary gid included)
 * into a malloc'd array of malloc'd strings.  0 ok, -1 error. */
int pv_user_groups(const char *user, gid_t primary, char ***names, size_t *n);
void pv_user_groups_free(char **names, size_t n);

/* Validate a `trusted_rhosts` value: addresses and CIDRs, IPv4 and IPv6.
 * 0 ok, -1 with err. */
int pv_rhosts_validate(const char *spec, pv_err *err);

/* 1 when rhost is a literal IPv4/IPv6 address inside one entry of spec.
 * Host names never match (no DNS lookups: the resolver is not trusted).
 * An IPv4-mapped IPv6 address matches IPv4 entries. */
int pv_rhost_trusted(const char *spec, const char *rhost);

#endif
