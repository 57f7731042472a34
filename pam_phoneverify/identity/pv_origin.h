/* pv_origin.h - where a login comes from, as the kernel and PAM say it.
 *
 * Two questions depend on it (pam_phoneverify(8) FAILMODE and GRACE,
 * doc/security.md):
 *   - does a local user start this login?  failmode=safe never opens for
 *     one: a local user controls this host's resources (limits, ports,
 *     descriptors) and can make any provider request fail;
 *   - which terminal session does it run in?  A local grace grant is bound
 *     to it as sudo binds its timestamps: the terminal's device number, the
 *     session id and the session leader's start time, never the terminal's
 *     name, which the next login reuses.
 *
 * pv_origin_read gathers the facts (the PAM glue and the CLI call it);
 * pv_origin_is_local is the one decision over them. */
#ifndef PV_ORIGIN_H
#define PV_ORIGIN_H

#include <sys/types.h>

typedef struct pv_tty_session {
    int valid;                       /* 0: no controlling terminal */
    unsigned long long tty;          /* device number (tty_nr) */
    long sid;                        /* session id */
    unsigned long long leader_start; /* leader's start, ticks since boot */
} pv_tty_session;

typedef struct pv_origin {
    int loginuid_set;  /* /proc/self/loginuid holds a uid (or unreadable) */
    int ruid_not_root; /* the calling process's real uid is not 0 */
    int ruser_set;     /* PAM_RUSER is set */
    int rhost_local;   /* PAM_RHOST is loopback, this host's own address,
                           or not a numeric address */
    pv_tty_session session;
} pv_origin;

/* Fill *o for the calling process and the PAM items rhost and ruser (NULL
 * or "" when unset).  A fact that cannot be read counts as local: the
 * answer errs towards "a local user", never towards "remote". */
void pv_origin_read(const char *rhost, const char *ruser, pv_origin *o);

/* 1 when the login comes from a local user (any one fact suffices), or
 * when o is NULL (nothing known: local). */
int pv_origin_is_local(const pv_origin *o);

/* Parts of pv_origin_read, over explicit inputs (tests). */
/* 1 when rhost is loopback, one of this host's addresses, or no numeric
 * address at all (a name cannot be proven remote: nothing is resolved). */
int pv_rhost_is_local(const char *rhost);
/* The fields of a /proc/PID/stat line: 0 with session, tty_nr and
 * starttime filled, -1 malformed. */
int pv_proc_stat_parse(const char *line, long *session,
                       unsigned long long *tty_nr,
                       unsigned long long *starttime);

#endif
