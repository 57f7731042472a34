/* test_spawn.c - pv_spawn: the one place that starts a child.
 *
 * Identity, session, limits and the not-dumpable helper need root (CI runs
 * as root); those tests skip with a message otherwise.  PV_BUILD names the
 * build directory (default ./build) for the real helper. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "base/pv_safefile.h"
#include "base/pv_spawn.h"
#include "base/pv_util.h"

static char g_helper[PATH_MAX];

static void skip_unless_root(void)
{
    if (geteuid() != 0) {
        print_message("not root: identity, session and limits untested\n");
        skip();
    }
}

static int exec_fd(const char *path)
{
    pv_err err;
    int fd = pv_safe_open_exec(path, &err);

    if (fd < 0)
        fail_msg("%s", err.msg);
    return fd;
}

/* Start argv[0] (an absolute path) with stdin /dev/null and stdout the
 * write end of a pipe whose read end goes to *out_r. */
static void start(pv_spawn *s, pv_child *c, char *const *argv, int *out_r)
{
    int p[2], nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    pv_err err;

    assert_true(nul >= 0);
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    s->exec_fd = exec_fd(argv[0]);
    s->argv = argv;
    s->fd_in = nul;
    s->fd_out = p[1];
    if (pv_spawn_start(s, c, &err) != 0)
        fail_msg("spawn: %s", err.msg);
    close(s->exec_fd);
    close(nul);
    close(p[1]);
    *out_r = p[0];
}

/* Value of "Key:" in /proc/PID/status, tabs turned into spaces. */
static int status_line(pid_t pid, const char *key, char *out, size_t size)
{
    char path[64], line[512];
    size_t klen = strlen(key);
    FILE *f;
    int found = 0;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "re");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            char *v = line + klen + 1;

            while (*v == '\t' || *v == ' ')
                v++;
            v[strcspn(v, "\n")] = '\0';
            for (char *q = v; *q; q++)
                if (*q == '\t')
                    *q = ' ';
            snprintf(out, size, "%s", v);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* Field n (1-based, after the command name) of /proc/PID/stat. */
/* 1 when /proc/PID/comm is name: the child has exec'd it. */
static int exec_done(pid_t pid, const char *name)
{
    char path[64], comm[32] = "";
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
    f = fopen(path, "r");
    if (f == NULL)
        return 0;
    if (fgets(comm, sizeof(comm), f) == NULL)
        comm[0] = '\0';
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    return strcmp(comm, name) == 0;
}

static long stat_field(pid_t pid, int n)
{
    char path[64], buf[1024], *p;
    FILE *f;
    long v = -1;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    p = strrchr(buf, ')');
    assert_non_null(p);
    p += 2; /* field 3, the state */
    for (int i = 3; i < n; i++) {
        p = strchr(p, ' ');
        assert_non_null(p);
        p++;
    }
    v = strtol(p, NULL, 10);
    return v;
}

/* The soft limit is the one a program runs under.  (Hard limits are set
 * as well, except where the host refuses: valgrind keeps the hard
 * descriptor limit to itself.) */
static int limit_is(pid_t pid, const char *name, const char *soft)
{
    char path[64], line[256];
    FILE *f;
    int ok = 0;

    snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
    f = fopen(path, "re");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, name, strlen(name)) == 0) {
            char a[32] = "";

            if (sscanf(line + 26, "%31s", a) == 1)
                ok = strcmp(a, soft) == 0;
        }
    }
    fclose(f);
    return ok;
}

/* valgrind applies a descriptor limit only to its own bookkeeping: the
 * program it starts never gets it (a valgrind artefact, not ours). */
static int under_valgrind(void)
{
    char line[512];
    FILE *f = fopen("/proc/self/maps", "re");
    int found = 0;

    if (f == NULL)
        return 0;
    while (!found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, "vgpreload") != NULL;
    fclose(f);
    return found;
}

static int nofile_is(pid_t pid, const char *soft)
{
    return under_valgrind() || limit_is(pid, "Max open files", soft);
}

static void assert_no_child(void)
{
    assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

/* ---- identity, session, limits --------------------------------------- */

static void test_identity_session_limits(void **state)
{
    static char *const argv[] = { (char *)"/bin/sleep", (char *)"30", NULL };
    struct passwd *pw;
    pv_spawn s;
    pv_child c;
    pv_err err;
    char want[64], got[256];
    int r;

    (void)state;
    skip_unless_root();
    pw = getpwnam("nobody");
    assert_non_null(pw);
    memset(&s, 0, sizeof(s));
    assert_int_equal(pv_spawn_resolve_user("nobody", &s.id, &err), 0);
    s.cpu_seconds = 7;
    s.nofile = 33;
    s.nproc = 50;
    s.mem_mib = 300;
    start(&s, &c, argv, &r);
    for (int i = 0; i < 200; i++) { /* until it has exec'd */
        if (status_line(c.pid, "Name", got, sizeof(got)) &&
            strcmp(got, "sleep") == 0)
            break;
        usleep(10000);
    }
    snprintf(want, sizeof(want), "%u %u %u %u", (unsigned)pw->pw_uid,
             (unsigned)pw->pw_uid, (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
    assert_true(status_line(c.pid, "Uid", got, sizeof(got)));
    assert_string_equal(got, want);
    snprintf(want, sizeof(want), "%u %u %u %u", (unsigned)pw->pw_gid,
             (unsigned)pw->pw_gid, (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
    assert_true(status_line(c.pid, "Gid", got, sizeof(got)));
    assert_string_equal(got, want);
    assert_true(status_line(c.pid, "Groups", got, sizeof(got)));
    assert_string_equal(got, "");
    assert_true(status_line(c.pid, "SigBlk", got, sizeof(got)));
    assert_string_equal(got, "0000000000000000");
    assert_int_equal(stat_field(c.pid, 6), c.pid); /* session */
    assert_int_equal(stat_field(c.pid, 19), 0);    /* nice */
    assert_true(limit_is(c.pid, "Max cpu time", "7"));
    assert_true(nofile_is(c.pid, "33"));
    assert_true(limit_is(c.pid, "Max processes", "50"));
    assert_true(limit_is(c.pid, "Max core file size", "0"));
    pv_child_kill(&c);
    close(r);
    assert_int_equal(c.pid, -1);
    assert_no_child();
}

/* The caller's nice value, scheduling policy and limits are not the
 * child's. */
static void test_caller_settings_not_inherited(void **state)
{
    pid_t pid;
    int st;

    (void)state;
    skip_unless_root();
    pid = fork(); /* change our own settings in a throwaway process */
    assert_true(pid >= 0);
    if (pid == 0) {
        static char *const argv[] = { (char *)"/bin/sleep", (char *)"30",
                                      NULL };
        struct rlimit low = { 0, 0 };
        pv_spawn s;
        pv_child c;
        int r, ok, naps;

        struct sched_param none = { .sched_priority = 0 };

        if (nice(15) < 0 || sched_setscheduler(0, SCHED_IDLE, &none) != 0 ||
            setrlimit(RLIMIT_CPU, &(struct rlimit){ 1, RLIM_INFINITY }))
            _exit(2);
        (void)setrlimit(RLIMIT_CORE, &low);
        memset(&s, 0, sizeof(s));
        s.cpu_seconds = 9;
        start(&s, &c, argv, &r);
        /* until the child has exec'd (its settings are made before):
         * SCHED_IDLE gets no CPU while anything else runs (make -j,
         * scripts/run-unit), so no fixed sleep is long enough */
        for (naps = 0; naps < 400 && !exec_done(c.pid, "sleep"); naps++)
            usleep(50000);
        ok = (stat_field(c.pid, 19) == 0 &&
              stat_field(c.pid, 41) == SCHED_OTHER) |
             limit_is(c.pid, "Max cpu time", "9") << 1 |
             nofile_is(c.pid, "64") << 2;
        if (ok != 7)
            fprintf(stderr, "caller settings leaked: %d\n", ok);
        ok = ok == 7;
        pv_child_kill(&c);
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* The real helper makes itself not dumpable (exec makes a process
 * dumpable again): its /proc files then belong to root although it
 * runs as nobody, so the user who started sudo cannot trace it. */
static void test_helper_not_dumpable(void **state)
{
    char *argv[2] = { g_helper, NULL };
    struct passwd *pw;
    pv_spawn s;
    pv_child c;
    pv_err err;
    int sv[2], owned_by_root = 0;
    char path[64], got[256], want[PATH_MAX];
    struct stat st;
    if (under_valgrind())
        skip(); /* plain and ASan passes: see under_valgrind() */

    (void)state;
    skip_unless_root();
    pw = getpwnam("nobody");
    assert_non_null(pw);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(pv_spawn_resolve_user("nobody", &s.id, &err), 0);
    s.exec_fd = exec_fd(g_helper);
    s.argv = argv;
    s.fd_in = sv[1];
    s.fd_out = sv[1];
    s.no_new_privs = 1;
    assert_int_equal(pv_spawn_start(&s, &c, &err), 0);
    close(s.exec_fd);
    close(sv[1]);
    /* Files under /proc/PID belong to root when PID is not dumpable. */
    snprintf(path, sizeof(path), "/proc/%d/status", (int)c.pid);
    assert_non_null(realpath(g_helper, want));
    /* Until it runs the helper (exec makes it dumpable again) and the
     * helper has made itself not dumpable. */
    for (int i = 0; i < 300 && !owned_by_root; i++) {
        char exe[PATH_MAX] = "", link[64];
        ssize_t n;

        snprintf(link, sizeof(link), "/proc/%d/exe", (int)c.pid);
        n = readlink(link, exe, sizeof(exe) - 1);
        if (n > 0)
            exe[n] = '\0';
        if (n > 0 && strcmp(exe, want) == 0 && stat(path, &st) == 0 &&
            st.st_uid == 0)
            owned_by_root = 1;
        else
            usleep(10000);
    }
    assert_true(owned_by_root);
    assert_true(status_line(c.pid, "Uid", got, sizeof(got)));
    assert_int_equal(strtoul(got, NULL, 10), pw->pw_uid);
    assert_true(status_line(c.pid, "NoNewPrivs", got, sizeof(got)));
    assert_string_equal(got, "1");
    close(sv[0]); /* EOF: the helper exits 0 */
    assert_int_equal(pv_child_wait(&c, -1, NULL), PV_CHILD_EXITED);
    assert_no_child();
}

static void test_resolve_user(void **state)
{
    struct passwd *me = getpwuid(geteuid());
    pv_spawn_id id;
    pv_err err;

    (void)state;
    assert_non_null(me);
    assert_int_equal(pv_spawn_resolve_user(me->pw_name, &id, &err), 0);
    assert_int_equal(id.uid, geteuid());
    /* no fallback user, as root or not: a missing user is an error */
    assert_int_equal(pv_spawn_resolve_user("pv-no-such-user", &id, &err), -1);
    assert_non_null(strstr(err.msg, "does not exist"));
    if (geteuid() != 0)
        assert_int_equal(pv_spawn_resolve_user("root", &id, &err), -1);
}

/* ---- every resource limit, none inherited ------------------------------ */

/* Resource r of pid from /proc/PID/limits (one line per resource, in
 * resource order after the header; prlimit(2) on another user's process
 * would need CAP_SYS_RESOURCE, which some hosts' root lacks). */
static int proc_limit(pid_t pid, int r, struct rlimit *out)
{
    char path[64], line[256], a[32], b[32];
    FILE *f;
    int n = -1, ok = -1;

    snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
    f = fopen(path, "re");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (n++ == r && strlen(line) > 26 &&
            sscanf(line + 26, "%31s %31s", a, b) == 2) {
            out->rlim_cur = strcmp(a, "unlimited") == 0
                                ? RLIM_INFINITY
                                : (rlim_t)strtoull(a, NULL, 10);
            out->rlim_max = strcmp(b, "unlimited") == 0
                                ? RLIM_INFINITY
                                : (rlim_t)strtoull(b, NULL, 10);
            ok = 0;
        }
    fclose(f);
    return ok;
}

/* The table: every RLIMIT_* the kernel has gets a value of ours. */
static void test_limit_table(void **state)
{
    pv_spawn s;
    struct rlimit rl;

    (void)state;
    memset(&s, 0, sizeof(s));
    for (int r = 0; r < RLIM_NLIMITS; r++) {
        assert_int_equal(pv_spawn_limit(&s, r, &rl), 0);
        assert_true(rl.rlim_cur == rl.rlim_max);
    }
    assert_int_equal(pv_spawn_limit(&s, RLIM_NLIMITS, &rl), -1);
    assert_int_equal(pv_spawn_limit(&s, -1, &rl), -1);
#define LIM(r) (pv_spawn_limit(&s, (r), &rl) == 0 ? rl.rlim_cur : 12345)
    assert_true(LIM(RLIMIT_CORE) == 0);
    assert_true(LIM(RLIMIT_FSIZE) == 0);
    assert_true(LIM(RLIMIT_MSGQUEUE) == 0);
    assert_true(LIM(RLIMIT_NICE) == 0);
    assert_true(LIM(RLIMIT_RTPRIO) == 0);
    assert_true(LIM(RLIMIT_CPU) == 60);
    assert_true(LIM(RLIMIT_RTTIME) == 60000000);
    assert_true(LIM(RLIMIT_NOFILE) == 64);
    assert_true(LIM(RLIMIT_STACK) == (rlim_t)8 << 20);
    assert_true(LIM(RLIMIT_MEMLOCK) == (rlim_t)64 << 10);
    assert_true(LIM(RLIMIT_SIGPENDING) == 1024);
    assert_true(LIM(RLIMIT_LOCKS) == 64);
    /* as ourselves the count is every process of the caller */
    assert_true(LIM(RLIMIT_NPROC) == RLIM_INFINITY);
    s.id.change = 1;
    s.id.uid = 65534;
    assert_true(LIM(RLIMIT_NPROC) == 1024);
    s.nproc = 7;
    s.cpu_seconds = 3;
    s.nofile = 20;
    s.fsize = 4096;
    s.mem_mib = 100;
    assert_true(LIM(RLIMIT_NPROC) == 7);
    assert_true(LIM(RLIMIT_CPU) == 3);
    assert_true(LIM(RLIMIT_NOFILE) == 20);
    assert_true(LIM(RLIMIT_FSIZE) == 4096);
    assert_true(LIM(RLIMIT_DATA) == LIM(RLIMIT_AS));
#undef LIM
}

/* What the caller set is what the attacker set (su and sudo keep the
 * caller's limits): set every soft limit far from the table (lower or
 * higher, within the hard limit) and the child still runs under exactly
 * the table's values.  Only a hard limit below the table's value bounds
 * the child (root without CAP_SYS_RESOURCE cannot raise it; a setuid su
 * can): the child then gets that hard limit, never the soft one. */
static void test_caller_limits_never_reach_child(void **state)
{
    pid_t pid;
    int st;
    if (under_valgrind())
        skip(); /* plain and ASan passes: see under_valgrind() */

    (void)state;
    skip_unless_root();
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static char *const argv[] = { (char *)"/bin/sleep", (char *)"30",
                                      NULL };
        /* far from the table, yet enough for this process to go on */
        static const rlim_t hostile[RLIM_NLIMITS] = {
            [RLIMIT_CPU] = 100,           [RLIMIT_FSIZE] = 12345678,
            [RLIMIT_DATA] = 2000UL << 20, [RLIMIT_STACK] = 4UL << 20,
            [RLIMIT_CORE] = 1UL << 20,    [RLIMIT_RSS] = 5000,
            [RLIMIT_NPROC] = 1,           [RLIMIT_NOFILE] = 40,
            [RLIMIT_MEMLOCK] = 0,         [RLIMIT_AS] = RLIM_INFINITY,
            [RLIMIT_LOCKS] = 1,           [RLIMIT_SIGPENDING] = 1,
            [RLIMIT_MSGQUEUE] = 7,        [RLIMIT_NICE] = 30,
            [RLIMIT_RTPRIO] = 50,         [RLIMIT_RTTIME] = 5,
        };
        pv_spawn s;
        pv_child c;
        pv_err err;
        int r, bad = 0;

        memset(&s, 0, sizeof(s));
        if (pv_spawn_resolve_user("nobody", &s.id, &err) != 0)
            _exit(3);
        s.cpu_seconds = 9;
        s.nofile = 33;
        s.nproc = 50;
        s.mem_mib = 300;
        struct rlimit hard[RLIM_NLIMITS];

        for (int i = 0; i < RLIM_NLIMITS; i++) {
            struct rlimit h;

            if (getrlimit(i, &h) != 0)
                _exit(2);
            hard[i] = h;
            h.rlim_cur = hostile[i];
            if (h.rlim_max != RLIM_INFINITY && h.rlim_cur > h.rlim_max)
                h.rlim_cur = h.rlim_max;
            if (setrlimit(i, &h) != 0)
                _exit(2);
        }
        start(&s, &c, argv, &r);
        usleep(200000);
        for (int i = 0; i < RLIM_NLIMITS; i++) {
            struct rlimit want, got;

            if (i == RLIMIT_NOFILE && under_valgrind())
                continue;
            if (pv_spawn_limit(&s, i, &want) != 0) {
                bad++;
                continue;
            }
            if (hard[i].rlim_max != RLIM_INFINITY &&
                (want.rlim_max == RLIM_INFINITY ||
                 want.rlim_max > hard[i].rlim_max))
                want.rlim_cur = want.rlim_max = hard[i].rlim_max;
            if (proc_limit(c.pid, i, &got) != 0 ||
                got.rlim_cur != want.rlim_cur ||
                got.rlim_max != want.rlim_max) {
                fprintf(stderr, "limit %d inherited or wrong\n", i);
                bad++;
            }
        }
        pv_child_kill(&c);
        _exit(bad == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- execute-only: not dumpable from the exec on ---------------------- */

/* A copy of /bin/sleep (which never touches PR_SET_DUMPABLE) installed
 * with mode; run as nobody, is it dumpable right after exec?  1 yes (its
 * /proc files belong to nobody), 0 no (root's). */
static int dumpable_after_exec(const char *dir, mode_t mode)
{
    static char *const argv[] = { (char *)"sleep", (char *)"30", NULL };
    char path[PATH_MAX], got[64], buf[65536], proc[64];
    int in, out, r, tries;
    ssize_t n;
    pv_spawn s;
    pv_child c;
    pv_err err;
    struct stat st;

    snprintf(path, sizeof(path), "%s/sleep-%o", dir, (unsigned)mode);
    in = open("/bin/sleep", O_RDONLY | O_CLOEXEC);
    out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
    assert_true(in >= 0 && out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
    assert_int_equal(chmod(path, mode), 0);
    memset(&s, 0, sizeof(s));
    assert_int_equal(pv_spawn_resolve_user("nobody", &s.id, &err), 0);
    s.exec_fd = exec_fd(path);
    assert_int_equal(pv_spawn_readable_by(s.exec_fd, &s.id, &err),
                     (mode & 044) != 0);
    close(s.exec_fd);
    {
        char *const *a = argv;
        char *full[3] = { path, a[1], NULL };

        start(&s, &c, full, &r);
    }
    for (tries = 0; tries < 200; tries++) { /* until it has exec'd */
        if (status_line(c.pid, "Name", got, sizeof(got)) &&
            strncmp(got, "sleep", 5) == 0)
            break;
        usleep(10000);
    }
    snprintf(proc, sizeof(proc), "/proc/%d/status", (int)c.pid);
    assert_int_equal(stat(proc, &st), 0);
    pv_child_kill(&c);
    close(r);
    unlink(path);
    return st.st_uid != 0;
}

static void test_execute_only_not_dumpable(void **state)
{
    char dir[] = "/tmp/pvspawn.XXXXXX";
    pv_spawn_id self = { 0, 0, 0 };
    pv_err err;
    int fd;
    if (under_valgrind())
        skip(); /* plain and ASan passes: see under_valgrind() */

    (void)state;
    skip_unless_root();
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(dumpable_after_exec(dir, 0755), 1); /* the old way */
    assert_int_equal(dumpable_after_exec(dir, 0711), 0);
    assert_int_equal(dumpable_after_exec(dir, 0701), 0);
    /* as ourselves or as root there is nobody else to keep out */
    fd = exec_fd("/bin/sleep");
    assert_int_equal(pv_spawn_readable_by(fd, &self, &err), 0);
    close(fd);
    rmdir(dir);
    assert_no_child();
}

/* ---- waiting: blocking and bounded, never a sleep loop ------------------ */

static void test_wait_blocks_and_is_bounded(void **state)
{
    static char *const short_argv[] = { (char *)"/bin/sleep", (char *)"0.3",
                                        NULL };
    static char *const long_argv[] = { (char *)"/bin/sleep", (char *)"30",
                                       NULL };
    pv_spawn s;
    pv_child c;
    int r, st = -1;
    int64_t t0, took;

    (void)state;
    memset(&s, 0, sizeof(s));
    start(&s, &c, short_argv, &r);
    t0 = pv_monotonic_ms();
    /* No deadline: only a real blocking wait can return "exited" here. */
    assert_int_equal(pv_child_wait(&c, -1, &st), PV_CHILD_EXITED);
    took = pv_monotonic_ms() - t0;
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(took >= 200);
    assert_int_equal(c.pid, -1);
    close(r);

    memset(&s, 0, sizeof(s));
    start(&s, &c, long_argv, &r);
    t0 = pv_monotonic_ms();
    assert_int_equal(pv_child_wait(&c, t0 + 200, &st), PV_CHILD_RUNNING);
    took = pv_monotonic_ms() - t0;
    /* With a pidfd the wait lasts until the deadline; without one (old
     * kernels, valgrind) it returns at once and the caller kills. */
    assert_true((c.pidfd < 0 || took >= 190) && took < 3000);
    pv_child_kill(&c);
    close(r);
    assert_no_child();
}

/* An application that ignores SIGCHLD has its children reaped by the
 * kernel: waiting must neither hang nor report a success. */
static void test_wait_with_sigchld_ignored(void **state)
{
    static char *const argv[] = { (char *)"/bin/true", NULL };
    struct sigaction ign, old;
    pv_spawn s;
    pv_child c;
    enum pv_child_end end;
    int r;

    (void)state;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigaction(SIGCHLD, &ign, &old);
    memset(&s, 0, sizeof(s));
    start(&s, &c, argv, &r);
    end = pv_child_wait(&c, pv_monotonic_ms() + 5000, NULL);
    sigaction(SIGCHLD, &old, NULL);
    /* Gone (reaped by the kernel) or, where no pidfd lets us wait (valgrind
     * emulates the disposition), still there and then killed. */
    assert_true(end == PV_CHILD_LOST || end == PV_CHILD_EXITED ||
                (end == PV_CHILD_RUNNING && c.pidfd < 0));
    close(r);
    pv_child_kill(&c);
}

/* ---- containment --------------------------------------------------------- */

static int gone(pid_t pid)
{
    char path[64], buf[256], *p;
    FILE *f;
    int g = 1;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    f = fopen(path, "re");
    if (f == NULL)
        return 1;
    if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) != NULL)
        g = p[2] == 'Z' || p[2] == 'X';
    fclose(f);
    return g;
}

static pid_t read_escapee(int r)
{
    char buf[64];
    size_t n = 0;

    while (n < sizeof(buf) - 1) {
        ssize_t k = read(r, buf + n, 1);

        if (k <= 0 || buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = '\0';
    return (pid_t)atoi(buf);
}

/* A descendant that calls setsid (and so leaves any process group kill)
 * dies at the time limit, and when the module stops the command early. */
static void test_contain_kills_setsid_descendant(void **state)
{
    static char *const argv[] = {
        (char *)"/bin/dash",
        (char *)"-c",
        (char *)"/usr/bin/setsid /bin/sh -c 'echo $$; exec /bin/sleep 60' & "
                "wait; /bin/sleep 60",
        NULL,
    };
    pv_spawn s;
    pv_child c;
    int r, st;
    pid_t escapee;
    int64_t t0;

    (void)state;
    for (int stop_now = 0; stop_now < 2; stop_now++) {
        memset(&s, 0, sizeof(s));
        s.contain = 1;
        s.deadline_ms = pv_monotonic_ms() + (stop_now ? 20000 : 1000);
        start(&s, &c, argv, &r);
        escapee = read_escapee(r);
        assert_true(escapee > 0);
        assert_false(gone(escapee));
        t0 = pv_monotonic_ms();
        if (stop_now)
            assert_int_equal(pv_child_finish(&c, s.deadline_ms, &st, 1),
                             PV_CHILD_LOST);
        else
            assert_int_equal(pv_child_finish(&c, s.deadline_ms, &st, 0),
                             PV_CHILD_TIMED_OUT);
        assert_true(pv_monotonic_ms() - t0 < 5000);
        for (int i = 0; i < 200 && !gone(escapee); i++)
            usleep(10000);
        assert_true(gone(escapee));
        close(r);
        assert_int_equal(c.pid, -1);
    }
    assert_no_child();
}

/* A command that ends in time reports its own status through the
 * intermediate; what it left running is killed all the same. */
static void test_contain_reports_status(void **state)
{
    static char *const argv[] = {
        (char *)"/bin/dash",
        (char *)"-c",
        (char *)"/usr/bin/setsid /bin/sh -c 'echo $$; exec /bin/sleep 60' "
                "</dev/null & /bin/sleep 0.2; exit 3",
        NULL,
    };
    pv_spawn s;
    pv_child c;
    int r, st = -1;
    pid_t escapee;

    (void)state;
    memset(&s, 0, sizeof(s));
    s.contain = 1;
    s.deadline_ms = pv_monotonic_ms() + 10000;
    start(&s, &c, argv, &r);
    escapee = read_escapee(r);
    assert_true(escapee > 0);
    assert_int_equal(pv_child_finish(&c, s.deadline_ms, &st, 0),
                     PV_CHILD_EXITED);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3);
    for (int i = 0; i < 200 && !gone(escapee); i++)
        usleep(10000);
    assert_true(gone(escapee));
    close(r);
    assert_no_child();
}

static int group_setup(void **state)
{
    const char *b = getenv("PV_BUILD");

    (void)state;
    snprintf(g_helper, sizeof(g_helper), "%s/phoneverify-http",
             b != NULL && b[0] != '\0' ? b : "build");
    if (g_helper[0] != '/') {
        char cwd[PATH_MAX / 2];

        if (getcwd(cwd, sizeof(cwd)) == NULL)
            return -1;
        snprintf(g_helper, sizeof(g_helper), "%s/%s/phoneverify-http", cwd,
                 b != NULL && b[0] != '\0' ? b : "build");
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_session_limits),
        cmocka_unit_test(test_caller_settings_not_inherited),
        cmocka_unit_test(test_helper_not_dumpable),
        cmocka_unit_test(test_resolve_user),
        cmocka_unit_test(test_limit_table),
        cmocka_unit_test(test_caller_limits_never_reach_child),
        cmocka_unit_test(test_execute_only_not_dumpable),
        cmocka_unit_test(test_wait_blocks_and_is_bounded),
        cmocka_unit_test(test_wait_with_sigchld_ignored),
        cmocka_unit_test(test_contain_kills_setsid_descendant),
        cmocka_unit_test(test_contain_reports_status),
    };

    return cmocka_run_group_tests(tests, group_setup, NULL);
}
