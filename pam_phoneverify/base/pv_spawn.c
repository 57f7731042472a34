/* pv_spawn.c - the one place that starts a child process (pv_spawn.h).
 *
 * Between fork and exec only async-signal-safe calls are made: the PAM
 * application may be multithreaded, so everything (user ids, limits,
 * descriptor bound) is prepared before fork. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/pv_spawn.h"
#include "base/pv_util.h"

#define FD_LOOP_MAX (1 << 20) /* close loop bound without close_range */
#define FINISH_MARGIN_MS 2000 /* the intermediate's own kill + reap */
#define KILL_REAP_MS 5000     /* a SIGKILLed child stuck in the kernel */
#define CHILD_FAIL 127

#if defined(__SANITIZE_ADDRESS__)
#define PV_NO_MEM_LIMIT 1 /* ASan reserves terabytes of shadow */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PV_NO_MEM_LIMIT 1
#endif
#endif

/* ---- identity --------------------------------------------------------- */

static int lookup_user(const char *name, uid_t *uid, gid_t *gid, int *found)
{
    struct passwd pw, *res = NULL;
    size_t size = 1024;
    char *buf = NULL;
    int rc = ERANGE;

    while (rc == ERANGE && size <= (1u << 20)) {
        char *nbuf = realloc(buf, size);

        if (nbuf == NULL)
            break;
        buf = nbuf;
        rc = getpwnam_r(name, &pw, buf, size, &res);
        size *= 2;
    }
    *found = rc == 0 && res != NULL;
    if (*found) {
        *uid = pw.pw_uid;
        *gid = pw.pw_gid;
    }
    free(buf);
    /* getpwnam_r(3): these also mean "no such user" in some backends */
    return rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM
               ? 0
               : -1;
}

int pv_spawn_resolve_user(const char *name, pv_spawn_id *id, pv_err *err)
{
    int found = 0;

    memset(id, 0, sizeof(*id));
    if (name == NULL || name[0] == '\0' ||
        lookup_user(name, &id->uid, &id->gid, &found) < 0) {
        pv_err_set(err, "user '%.64s' cannot be looked up",
                   name != NULL ? name : "");
        return -1;
    }
    if (!found) {
        pv_err_set(err, "user '%.64s' does not exist", name);
        return -1;
    }
    if (geteuid() == 0) {
        id->change = 1;
        return 0;
    }
    /* Without root the only possible identity is our own. */
    if (id->uid == geteuid() && id->gid == getegid())
        return 0;
    pv_err_set(err, "cannot run as '%.64s' without root", name);
    return -1;
}

int pv_spawn_readable_by(int exec_fd, const pv_spawn_id *id, pv_err *err)
{
    struct stat st;

    if (fstat(exec_fd, &st) != 0) {
        pv_err_set(err, "fstat: %s", pv_strerror(errno));
        return -1;
    }
    if (!id->change || id->uid == 0 || id->uid == geteuid())
        return 0; /* nobody else to keep out */
    /* Group bits are also the mask of any ACL (acl(5)): clear them and no
     * named ACL entry can grant reading either. */
    return (st.st_mode & (S_IRGRP | S_IROTH)) != 0 ||
           (st.st_uid == id->uid && (st.st_mode & S_IRUSR) != 0);
}

/* ---- prepared before fork -------------------------------------------- */

struct limit {
    int resource;
    struct rlimit rl;     /* what we want */
    struct rlimit within; /* the same, within today's hard limit */
    struct rlimit soft;   /* only the soft limit (valgrind keeps the
                                  * hard NOFILE limit to itself) */
};

struct prepared {
    const pv_spawn *s;
    struct limit lim[RLIM_NLIMITS];
    int n_lim;
    int fd_max;
    int nul;      /* /dev/null, O_RDWR|O_CLOEXEC */
    int report_w; /* contain: write end, else -1 */
};

#define MIB(n) ((rlim_t)(n) << 20)
#define OR_DEFAULT(v, d) ((rlim_t)((v) > 0 ? (v) : (d)))

/* Every resource limit the kernel has (getrlimit(2)), none left as the
 * caller set it: su and sudo start with the caller's limits, and a
 * caller who lowers one must not make the helper fail in a way that looks
 * like the network's doing, nor raise one to starve this host. */
int pv_spawn_limit(const pv_spawn *s, int resource, struct rlimit *out)
{
    rlim_t mem = OR_DEFAULT(s->mem_mib, 1024) << 20;
    rlim_t v;

#ifdef PV_NO_MEM_LIMIT
    mem = RLIM_INFINITY; /* ASan reserves terabytes of shadow */
#endif
    switch (resource) {
    case RLIMIT_CPU: /* seconds of CPU, SIGKILL at the hard limit */
        v = OR_DEFAULT(s->cpu_seconds, 60);
        break;
    case RLIMIT_FSIZE: /* neither program writes regular files */
        v = s->fsize > 0 ? (rlim_t)s->fsize : 0;
        break;
    case RLIMIT_DATA: /* heap and private mappings: libcurl, TLS, threads */
    case RLIMIT_AS:
    case RLIMIT_RSS: /* no effect since Linux 2.6; set all the same */
        v = mem;
        break;
    case RLIMIT_STACK: /* also each thread's default stack (pthreads) */
        v = MIB(8);
        break;
    case RLIMIT_CORE: /* no core file can hold a secret */
        v = 0;
        break;
    case RLIMIT_NPROC: /* the user's processes and threads, all of them */
        /* Run as the caller (no root), the count includes everything the
         * caller runs: only its own hard limit bounds it. */
        v = s->id.change ? OR_DEFAULT(s->nproc, 1024) : RLIM_INFINITY;
        break;
    case RLIMIT_NOFILE:
        v = OR_DEFAULT(s->nofile, 64);
        break;
    case RLIMIT_MEMLOCK: /* the traditional 64 KiB; nothing here mlocks */
        v = (rlim_t)64 << 10;
        break;
    case RLIMIT_LOCKS: /* not enforced by Linux; a bound all the same */
        v = 64;
        break;
    case RLIMIT_SIGPENDING: /* counted per user across all its processes */
        v = 1024;
        break;
    case RLIMIT_MSGQUEUE: /* no POSIX message queues */
        v = 0;
        break;
    case RLIMIT_NICE:   /* may not raise its priority (ceiling 20 - 0) */
    case RLIMIT_RTPRIO: /* no real-time scheduling */
        v = 0;
        break;
    case RLIMIT_RTTIME: /* microseconds; moot under SCHED_OTHER */
        v = OR_DEFAULT(s->cpu_seconds, 60) * 1000000;
        break;
    default:
        return -1;
    }
    out->rlim_cur = v;
    out->rlim_max = v;
    return 0;
}

/* Root normally may set any limit; without CAP_SYS_RESOURCE (some
 * containers) or as an ordinary user the hard limit cannot be raised, so
 * the child falls back to the most it can have.  A caller who lowered a
 * hard limit before running the module unprivileged can then only make
 * its own login fail. */
static void add_limit(struct prepared *p, int resource, struct rlimit want)
{
    struct rlimit cur;
    struct limit *l = &p->lim[p->n_lim++];
    rlim_t within = want.rlim_max;

    if (getrlimit(resource, &cur) != 0)
        cur.rlim_max = within;
    if (cur.rlim_max != RLIM_INFINITY &&
        (within == RLIM_INFINITY || within > cur.rlim_max))
        within = cur.rlim_max;
    l->resource = resource;
    l->rl = want;
    l->within.rlim_cur = within;
    l->within.rlim_max = within;
    l->soft.rlim_cur = within;
    l->soft.rlim_max = cur.rlim_max;
}

/* -1 when a resource has no value here (a newer kernel than this code):
 * nothing is started rather than leave one as the caller set it. */
static int prepare_limits(struct prepared *p)
{
    struct rlimit rl;

    p->n_lim = 0;
    for (int r = 0; r < RLIM_NLIMITS; r++) {
        if (pv_spawn_limit(p->s, r, &rl) != 0)
            return -1;
        add_limit(p, r, rl);
    }
    p->fd_max = FD_LOOP_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < FD_LOOP_MAX)
        p->fd_max = (int)rl.rlim_cur;
    return 0;
}

/* ---- in the child ------------------------------------------------------ */

static void close_from(int lowfd, int fd_max)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
        return;
#endif
    for (int fd = lowfd; fd < fd_max; fd++)
        (void)close(fd);
}

static void reset_signals(void)
{
    struct sigaction dfl;
    sigset_t none;

    /* Ignored dispositions and the mask survive execve: start clean. */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        (void)sigaction(sig, &dfl, NULL); /* KILL/STOP fail: fine */
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
}

/* stdin, stdout, /dev/null as stderr, the program as fd 3; nothing else.
 * Every descriptor is first lifted above 3 so no dup2 clobbers another. */
static int child_fds(const struct prepared *p)
{
    int in = fcntl(p->s->fd_in, F_DUPFD_CLOEXEC, 4);
    int out = fcntl(p->s->fd_out, F_DUPFD_CLOEXEC, 4);
    int nul = fcntl(p->nul, F_DUPFD_CLOEXEC, 4);
    int prog = fcntl(p->s->exec_fd, F_DUPFD_CLOEXEC, 4);

    if (in < 0 || out < 0 || nul < 0 || prog < 0 || dup2(in, 0) < 0 ||
        dup2(out, 1) < 0 || dup2(nul, 2) < 0 || dup3(prog, 3, O_CLOEXEC) < 0)
        return -1;
    close_from(4, p->fd_max);
    return 0;
}

static int child_identity(const pv_spawn_id *id)
{
    uid_t r, e, s;

    if (!id->change)
        return 0;
    if (setgroups(0, NULL) != 0 || setresgid(id->gid, id->gid, id->gid) != 0 ||
        setresuid(id->uid, id->uid, id->uid) != 0)
        return -1;
    if (getresuid(&r, &e, &s) != 0 || r != id->uid || e != id->uid ||
        s != id->uid)
        return -1;
    /* The drop must be irreversible. */
    if (id->uid != 0 && setresuid(0, 0, 0) != -1)
        return -1;
    return 0;
}

static int child_limits(const struct prepared *p)
{
    for (int i = 0; i < p->n_lim; i++)
        if (setrlimit(p->lim[i].resource, &p->lim[i].rl) != 0 &&
            setrlimit(p->lim[i].resource, &p->lim[i].within) != 0 &&
            setrlimit(p->lim[i].resource, &p->lim[i].soft) != 0)
            return -1;
    return 0;
}

/* Run the program behind fd 3 (the checked descriptor).  execveat on a
 * close-on-exec descriptor cannot run a script (the interpreter opens
 * /dev/fd/3 after exec): retry with it inheritable, so only a script sees
 * its own descriptor.  Where execveat is missing (valgrind 3.19, old
 * kernels) /proc/self/fd/3 names the same checked file. */
static void exec_fd3(char *const *argv, char *const *envp, int use_proc)
{
    if (use_proc)
        execve("/proc/self/fd/3", argv, envp);
    else
        syscall(SYS_execveat, 3, "", argv, envp, AT_EMPTY_PATH);
}

static void child_exec(const pv_spawn *s)
{
    static char *const envp[] = { NULL };
    int use_proc = 0;

    exec_fd3(s->argv, envp, use_proc);
    if (errno == ENOSYS) {
        use_proc = 1;
        exec_fd3(s->argv, envp, use_proc);
    }
    if (errno == ENOENT && fcntl(3, F_SETFD, 0) == 0)
        exec_fd3(s->argv, envp, use_proc);
}

/* A caller's nice 19, SCHED_IDLE (chrt -i) or idle I/O class (ionice -c3)
 * must not starve the child; only root can undo the first two, so these
 * are best effort as an ordinary user. */
static void reset_scheduling(void)
{
    struct sched_param none = { .sched_priority = 0 };

    (void)sched_setscheduler(0, SCHED_OTHER, &none);
    (void)setpriority(PRIO_PROCESS, 0, 0);
#ifdef SYS_ioprio_set
    (void)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0,
                  0 /* IOPRIO_CLASS_NONE: follow the CPU priority */);
#endif
}

static _Noreturn void run_program(const struct prepared *p)
{
    const pv_spawn *s = p->s;

    reset_signals();
    if (child_fds(p) < 0 || setsid() < 0)
        _exit(CHILD_FAIL);
    reset_scheduling();
    if (child_limits(p) < 0 || child_identity(&s->id) < 0 ||
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
        (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ||
        chdir("/") != 0)
        _exit(CHILD_FAIL);
    child_exec(s);
    _exit(CHILD_FAIL);
}

/* ---- the containing intermediate -------------------------------------- */

static long parse_pid(const char **pp)
{
    const char *q = *pp;
    long v = 0;

    while (*q == ' ')
        q++;
    if (*q < '0' || *q > '9')
        return -1;
    while (*q >= '0' && *q <= '9' && v < INT_MAX / 10)
        v = v * 10 + (*q++ - '0');
    *pp = q;
    return v;
}

/* SIGKILL every current child (descendants whose parent died were
 * reparented to us, the subreaper).  Returns how many were signalled. */
static int kill_children(void)
{
    char buf[4096];
    const char *p;
    ssize_t n;
    int fd, count = 0;

    /* our only thread's children (no formatting: async-signal-safe) */
    fd = open("/proc/thread-self/children", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    for (p = buf;;) {
        long pid = parse_pid(&p);

        if (pid <= 0)
            break;
        (void)kill((pid_t)pid, SIGKILL);
        count++;
    }
    return count;
}

/* Kill and reap until we have no child left.  Orphans are reparented to
 * us before their parent becomes reapable, so once waitpid says ECHILD
 * nothing the program started is left.  Without /proc only the program's
 * process group can be named (a degraded fallback). */
static void kill_all(pid_t prog)
{
    for (;;) {
        int n = kill_children();

        if (n < 0)
            (void)kill(-prog, SIGKILL); /* no /proc: its process group */
        if (n == 0) {
            pid_t r = waitpid(-1, NULL, WNOHANG);

            if (r < 0 && errno == ECHILD)
                return;
            continue; /* one just arrived: list again */
        }
        if (waitpid(-1, NULL, 0) < 0 && errno == ECHILD)
            return;
    }
}

/* Reap whatever ended; 1 when prog was among them (*status set). */
static int reap_ended(pid_t prog, int *status)
{
    int got = 0, st;
    pid_t r;

    while ((r = waitpid(-1, &st, WNOHANG)) > 0) {
        if (r == prog) {
            *status = st;
            got = 1;
        }
    }
    return got;
}

/* Wait for the program to end, the deadline, or the module to go away
 * (the report pipe's reader closed: POLLERR on our end). */
static int watch(const struct prepared *p, int sfd, pid_t prog, int *status)
{
    for (;;) {
        struct pollfd fds[2] = {
            { .fd = sfd, .events = POLLIN },
            { .fd = p->report_w, .events = 0 },
        };
        int64_t left = p->s->deadline_ms - pv_monotonic_ms();
        struct signalfd_siginfo si;

        if (left <= 0)
            return 0;
        if (poll(fds, 2, left > INT_MAX ? INT_MAX : (int)left) < 0 &&
            errno != EINTR)
            return 0;
        if (fds[1].revents & (POLLERR | POLLHUP))
            return 0;
        if (fds[0].revents & POLLIN) {
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ;
            if (reap_ended(prog, status))
                return 1;
        }
    }
}

/* The intermediate keeps only what it needs, at fixed numbers: the
 * program's stdin and stdout (0, 1), /dev/null (2), the program (3) and
 * the report pipe (4).  Everything else the application had open, the
 * module's end of the report pipe included, is closed, so the module
 * closing its end is seen here as POLLERR. */
static int intermediate_fds(const struct prepared *p, struct prepared *q,
                            pv_spawn *s2)
{
    int in = fcntl(p->s->fd_in, F_DUPFD_CLOEXEC, 5);
    int out = fcntl(p->s->fd_out, F_DUPFD_CLOEXEC, 5);
    int nul = fcntl(p->nul, F_DUPFD_CLOEXEC, 5);
    int prog = fcntl(p->s->exec_fd, F_DUPFD_CLOEXEC, 5);
    int rep = fcntl(p->report_w, F_DUPFD_CLOEXEC, 5);

    if (in < 0 || out < 0 || nul < 0 || prog < 0 || rep < 0 ||
        dup3(in, 0, O_CLOEXEC) < 0 || dup3(out, 1, O_CLOEXEC) < 0 ||
        dup3(nul, 2, O_CLOEXEC) < 0 || dup3(prog, 3, O_CLOEXEC) < 0 ||
        dup3(rep, 4, O_CLOEXEC) < 0)
        return -1;
    close_from(5, p->fd_max);
    *q = *p;
    *s2 = *p->s;
    s2->fd_in = 0;
    s2->fd_out = 1;
    s2->exec_fd = 3;
    q->nul = 2;
    q->report_w = 4;
    q->s = s2;
    return 0;
}

static _Noreturn void run_intermediate(const struct prepared *orig)
{
    pid_t prog;
    sigset_t chld;
    int sfd, status = 0, ended;
    struct prepared fixed;
    const struct prepared *p = &fixed;
    pv_spawn s2;

    reset_signals(); /* the application's handlers are not ours */
    if (child_limits(orig) < 0 || intermediate_fds(orig, &fixed, &s2) < 0)
        _exit(CHILD_FAIL);

    /* Out of the caller's terminal and reach: a session of our own, all
     * ids root when we are (a su caller keeps its real uid otherwise). */
    if (setsid() < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
        (geteuid() == 0 &&
         (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)))
        _exit(CHILD_FAIL);
    reset_scheduling();
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_SETMASK, &chld, NULL) != 0 ||
        (sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
        _exit(CHILD_FAIL);
    prog = fork();
    if (prog < 0)
        _exit(CHILD_FAIL);
    if (prog == 0)
        run_program(p);
    ended = watch(p, sfd, prog, &status);
    kill_all(prog);
    if (ended && write(p->report_w, &status, sizeof(status)) < 0)
        _exit(CHILD_FAIL);
    _exit(0);
}

/* ---- the module side -------------------------------------------------- */

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);

    if (fd >= 0) {
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
        return fd;
    }
#endif
    (void)pid;
    return -1;
}

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        int e = errno;

        close(*fd);
        errno = e;
    }
    *fd = -1;
}

int pv_spawn_start(const pv_spawn *s, pv_child *c, pv_err *err)
{
    struct prepared p;
    int rep[2] = { -1, -1 };
    pid_t pid;

    memset(&p, 0, sizeof(p));
    c->pid = -1;
    c->pidfd = -1;
    c->report_fd = -1;
    p.s = s;
    p.report_w = -1;
    if (s->exec_fd < 0 || s->argv == NULL || s->argv[0] == NULL) {
        pv_err_set(err, "nothing to run");
        return -1;
    }
    if (prepare_limits(&p) != 0) {
        pv_err_set(err, "a resource limit this build does not know");
        return -1;
    }
    p.nul = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (p.nul < 0 || (s->contain && pipe2(rep, O_CLOEXEC) != 0)) {
        pv_err_set(err, "cannot set up a child: %s", pv_strerror(errno));
        goto err;
    }
    p.report_w = rep[1];
    pid = fork();
    if (pid < 0) {
        pv_err_set(err, "fork: %s", pv_strerror(errno));
        goto err;
    }
    if (pid == 0) {
        if (s->contain)
            run_intermediate(&p);
        run_program(&p);
    }
    close_fd(&p.nul);
    close_fd(&rep[1]);
    c->pid = pid;
    c->pidfd = open_pidfd(pid);
    c->report_fd = rep[0];
    return 0;
err:
    close_fd(&p.nul);
    close_fd(&rep[0]);
    close_fd(&rep[1]);
    return -1;
}

/* Reap without blocking: 1 reaped or gone (an application's SIGCHLD
 * handler or SIG_IGN may have reaped it first), 0 still there. */
static int reap_now(pid_t pid, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);

        if (r == pid)
            return 1;
        if (r == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* Block until pid can be reaped (it was SIGKILLed or has ended). */
static int reap_blocking(pid_t pid, int *status)
{
    while (waitpid(pid, status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return 1;
}

enum pv_child_end pv_child_wait(pv_child *c, int64_t deadline_ms, int *status)
{
    int st = 0, r;

    if (c->pid <= 0)
        return PV_CHILD_LOST;
    for (;;) {
        struct pollfd pfd = { .fd = c->pidfd, .events = POLLIN };
        int64_t left = deadline_ms < 0 ? -1 : deadline_ms - pv_monotonic_ms();

        r = reap_now(c->pid, &st);
        if (r != 0)
            break;
        if (c->pidfd < 0 && deadline_ms < 0) {
            r = reap_blocking(c->pid, &st); /* told it is ending */
            break;
        }
        if (c->pidfd < 0 || (deadline_ms >= 0 && left <= 0))
            return PV_CHILD_RUNNING; /* without a pidfd: caller kills */
        if (poll(&pfd, 1,
                 left < 0         ? -1
                 : left > INT_MAX ? INT_MAX
                                  : (int)left) < 0 &&
            errno != EINTR)
            return PV_CHILD_RUNNING;
    }
    close_fd(&c->pidfd);
    c->pid = -1;
    if (r < 0)
        return PV_CHILD_LOST;
    if (status != NULL)
        *status = st;
    return PV_CHILD_EXITED;
}

void pv_child_kill(pv_child *c)
{
    if (c->pid > 0) {
        /* The pidfd (when we have one) names exactly our child even if an
         * application handler reaped it and the pid was reused. */
#ifdef SYS_pidfd_send_signal
        if (c->pidfd < 0 ||
            syscall(SYS_pidfd_send_signal, c->pidfd, SIGKILL, NULL, 0) != 0)
#endif
            if (reap_now(c->pid, NULL) == 0)
                (void)kill(c->pid, SIGKILL);
        if (c->pidfd >= 0)
            (void)pv_child_wait(c, pv_monotonic_ms() + KILL_REAP_MS, NULL);
        else
            (void)reap_blocking(c->pid, NULL);
    }
    close_fd(&c->pidfd);
    close_fd(&c->report_fd);
    c->pid = -1;
}

/* Read the intermediate's report: 1 the program's status, 0 none (it was
 * killed at the deadline), -1 nothing in time. */
static int read_report(int fd, int64_t deadline_ms, int *status)
{
    char buf[sizeof(int)];
    size_t got = 0;

    while (got < sizeof(buf)) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int64_t left = deadline_ms - pv_monotonic_ms();
        ssize_t n;

        if (left <= 0)
            return -1;
        if (poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left) < 0 &&
            errno != EINTR)
            return -1;
        n = read(fd, buf + got, sizeof(buf) - got);
        if (n == 0)
            return got == 0 ? 0 : -1;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return -1;
        if (n > 0)
            got += (size_t)n;
    }
    memcpy(status, buf, sizeof(buf));
    return 1;
}

enum pv_child_end pv_child_finish(pv_child *c, int64_t deadline_ms,
                                  int *status, int stop_now)
{
    int64_t limit = deadline_ms + FINISH_MARGIN_MS;
    enum pv_child_end end = PV_CHILD_LOST;
    int r = -1, st = 0;

    if (c->pid <= 0)
        return PV_CHILD_LOST;
    if (stop_now)
        close_fd(&c->report_fd); /* the intermediate kills everything */
    else
        r = read_report(c->report_fd, limit, &st);
    if (r > 0) {
        end = PV_CHILD_EXITED;
        if (status != NULL)
            *status = st;
    } else if (r == 0) {
        end = PV_CHILD_TIMED_OUT;
    }
    /* After its report (or EOF), or told to stop, the intermediate (our
     * own code, root's) is ending: wait for it, blocking where there is
     * no pidfd.  When it did not report in time, kill it: the last
     * resort. */
    if (pv_child_wait(c, (r >= 0 || stop_now) && c->pidfd < 0 ? -1 : limit,
                      NULL) == PV_CHILD_RUNNING)
        pv_child_kill(c);
    close_fd(&c->pidfd);
    close_fd(&c->report_fd);
    c->pid = -1;
    return end;
}
