/* pv_spawn.h - the one place that starts a child process.
 *
 * Used for the helper (pv_http.c) and the lookup command (pv_lookup.c).
 * The program is run through a descriptor that pv_safe_open_exec checked
 * (execveat AT_EMPTY_PATH): nothing is looked up by name after the check.
 * The child gets: the given descriptors as stdin/stdout, /dev/null as
 * stderr and nothing else open; an empty environment; default signal
 * dispositions and an empty mask; nice 0; resource limits chosen here, not
 * inherited from the caller; a session of its own; with a user to run as,
 * every uid and gid set and no supplementary groups; not dumpable.
 *
 * With `contain`, an intermediate process (a child subreaper in its own
 * session, running as root when the module does) runs the program and, at
 * the deadline, when the program ends, or when the module goes away, kills
 * every descendant it ever had, setsid or not.  The module never kills the
 * intermediate before it had its chance to do that.
 *
 * Waiting uses a pidfd with poll (Linux 5.3+); where there is none, a
 * SIGKILL and a blocking waitpid.  No signal handler is installed. */
#ifndef PV_SPAWN_H
#define PV_SPAWN_H

#include <stdint.h>
#include <sys/types.h>
#include "base/pv_err.h"

typedef struct pv_spawn_id {
    int change; /* 0: keep our identity (not root) */
    uid_t uid;
    gid_t gid;
} pv_spawn_id;

typedef struct pv_spawn {
    int exec_fd;       /* from pv_safe_open_exec */
    char *const *argv; /* argv[0] is only a label */
    int fd_in, fd_out; /* become 0 and 1 */
    pv_spawn_id id;
    /* Resource limits: every RLIMIT_* is set (pv_spawn_limit), none is
     * inherited from the caller; 0 picks the default noted. */
    long cpu_seconds;    /* RLIMIT_CPU (60); RLIMIT_RTTIME follows it */
    long mem_mib;        /* RLIMIT_AS, _DATA, _RSS (1024; unlimited in
                            sanitizer builds) */
    long nofile;         /* RLIMIT_NOFILE (64) */
    long nproc;          /* RLIMIT_NPROC (1024): counts every process and
                            thread of the user, libcurl's resolver thread
                            included */
    long fsize;          /* RLIMIT_FSIZE in bytes (0: no regular file may
                            be written) */
    int no_new_privs;    /* PR_SET_NO_NEW_PRIVS for the program */
    int contain;         /* run under a killing subreaper */
    int64_t deadline_ms; /* contain: pv_monotonic_ms() instant */
} pv_spawn;

typedef struct pv_child {
    pid_t pid;     /* the program, or the intermediate */
    int pidfd;     /* -1 when the kernel has none */
    int report_fd; /* contain: the program's wait status */
} pv_child;

enum pv_child_end {
    PV_CHILD_EXITED = 0,    /* *status is a waitpid status */
    PV_CHILD_RUNNING = 1,   /* deadline passed (pv_child_wait only) */
    PV_CHILD_TIMED_OUT = 2, /* contain: killed at the deadline */
    PV_CHILD_LOST = -1,     /* reaped elsewhere / cannot tell */
};

/* Resolve who to run as.  Not root: our own identity (change = 0), and a
 * named user other than ourselves is an error.  Root: name, which must
 * exist (there is no fallback user: `nobody` is shared with other
 * daemons, pam_phoneverify.conf(5)).  0 ok, -1 with err. */
int pv_spawn_resolve_user(const char *name, pv_spawn_id *id, pv_err *err);

/* Whether the program behind exec_fd, run as id, may read its own file.
 * When it may not, the kernel makes it not dumpable from the exec itself
 * (execve(2): a file that is not readable), so no other process of the
 * same user can trace it or read its memory even before its first
 * instruction.  1 when id is another user than root and ourselves and
 * may read it (group or others may, or id owns it and may), 0 otherwise
 * (with root or ourselves there is nobody else to keep out), -1 cannot
 * tell (err). */
int pv_spawn_readable_by(int exec_fd, const pv_spawn_id *id, pv_err *err);

/* The limit the program gets for resource (0 .. RLIM_NLIMITS-1) under s,
 * before the fallback for a host that refuses to raise a hard limit
 * (pv_spawn.c).  0 ok, -1 for a resource this code does not know. */
struct rlimit;
int pv_spawn_limit(const pv_spawn *s, int resource, struct rlimit *out);

/* Start the program.  0 with *c filled, -1 with err (nothing left over). */
int pv_spawn_start(const pv_spawn *s, pv_child *c, pv_err *err);

/* Wait for the child until deadline_ms (-1: none); reaps it.
 * PV_CHILD_EXITED (*status set), PV_CHILD_RUNNING or PV_CHILD_LOST. */
enum pv_child_end pv_child_wait(pv_child *c, int64_t deadline_ms, int *status);

/* SIGKILL the child (not a containing intermediate: see below) and reap
 * it; afterwards *c is empty.  Safe on an already reaped child. */
void pv_child_kill(pv_child *c);

/* contain: tell the intermediate to end everything now (closes the report
 * pipe), wait for it (bounded by deadline_ms plus a margin, then SIGKILL)
 * and return how the program ended.  Always leaves *c empty. */
enum pv_child_end pv_child_finish(pv_child *c, int64_t deadline_ms,
                                  int *status, int stop_now);

#endif
