/* pv_pamd.h - find the pam_phoneverify.so rules of a PAM service file
 * (for `phoneverify check-config --service NAME`). */
#ifndef PV_PAMD_H
#define PV_PAMD_H

#include "base/pv_err.h"

#define PV_PAMD_MAX_ARGS 64
#define PV_PAMD_DEPTH 8

/* Called for each pam_phoneverify.so rule: file and line of the rule, its
 * type ("auth"; a leading '-' removed) and its module arguments as libpam
 * hands them to pam_sm_authenticate.  Return 0 to go on, -1 to stop. */
typedef int (*pv_pamd_rule_fn)(void *ctx, const char *file, unsigned line,
                               const char *type, int argc, const char **argv);

/* Read DIR/SERVICE (following @include, include and substack in DIR),
 * calling fn for every pam_phoneverify.so rule.  Returns the number of
 * such rules, or -1 with err (unreadable or unsafe file, syntax error,
 * include loop, or fn returned -1). */
int pv_pamd_rules(const char *dir, const char *service, pv_pamd_rule_fn fn,
                  void *ctx, pv_err *err);

#endif
