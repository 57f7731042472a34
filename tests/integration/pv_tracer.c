/* pv_tracer.c - the attacker of test_helper_privilege.py: a process of
 * the helper's (or the lookup command's) own user that tries to take over
 * every new process of that user from the moment it exists.
 *
 *   pv_tracer UID SECONDS
 *
 * Drops to UID (all ids, no groups), then for SECONDS (or until its
 * stdin is closed) spins over the next
 * pids the kernel will hand out (/proc/sys/kernel/ns_last_pid), trying on
 * each PTRACE_ATTACH, PTRACE_SEIZE and open(/proc/PID/mem): a process
 * that is dumpable for even a moment after its exec is caught.  Prints one
 * line per success ("attach PID", "seize PID", "mem PID") and, at the end,
 * "seen N": how many distinct processes of UID it saw.  Built by the test
 * with cc; not part of the product. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SPAN 64
#define MAX_SEEN 4096

static long seen[MAX_SEEN];
static int n_seen;
static long checked[1 << 16];   /* pid looked at once (by pid mod 2^16) */
static long caught[3][1 << 16]; /* reported once per kind and pid */

static void report(int kind, long pid)
{
    static const char *const name[] = { "attach", "seize", "mem" };

    if (caught[kind][pid & 0xffff] == pid)
        return;
    caught[kind][pid & 0xffff] = pid;
    printf("%s %ld\n", name[kind], pid);
    fflush(stdout);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long last_pid(void)
{
    char buf[32] = "";
    int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY);
    ssize_t n;

    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    return n > 0 ? atol(buf) : -1;
}

/* A process of ours (real uid) that we have not counted yet. */
static void note(long pid, uid_t uid)
{
    char path[64];
    struct stat st;

    if (checked[pid & 0xffff] == pid)
        return;
    snprintf(path, sizeof(path), "/proc/%ld", pid);
    if (stat(path, &st) != 0)
        return;
    /* /proc/PID is owned by the process's euid when dumpable, root when
     * not; count by the status file's Uid line */
    {
        char line[256];
        FILE *f;
        unsigned r = 0;
        int ours = 0;

        snprintf(path, sizeof(path), "/proc/%ld/status", pid);
        f = fopen(path, "re");
        if (f == NULL)
            return;
        while (fgets(line, sizeof(line), f) != NULL)
            if (sscanf(line, "Uid: %u", &r) == 1)
                ours = r == uid;
        fclose(f);
        if (ours && n_seen < MAX_SEEN && pid != getpid()) {
            seen[n_seen++] = pid;
            checked[pid & 0xffff] = pid;
        }
    }
}

static void try_pid(long pid, uid_t uid)
{
    char path[64];
    int fd;

    if (pid == getpid())
        return;
    if (ptrace(PTRACE_ATTACH, (pid_t)pid, NULL, NULL) == 0) {
        report(0, pid);
        (void)waitpid((pid_t)pid, NULL, __WALL);
        (void)ptrace(PTRACE_DETACH, (pid_t)pid, NULL, NULL);
    }
    if (ptrace(PTRACE_SEIZE, (pid_t)pid, NULL, NULL) == 0) {
        report(1, pid);
        (void)ptrace(PTRACE_DETACH, (pid_t)pid, NULL, NULL);
    }
    snprintf(path, sizeof(path), "/proc/%ld/mem", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        report(2, pid);
        close(fd);
    }
    note(pid, uid);
}

int main(int argc, char **argv)
{
    uid_t uid;
    double end;

    if (argc != 3)
        return 2;
    uid = (uid_t)atol(argv[1]);
    end = now() + atof(argv[2]);
    if (setgroups(0, NULL) != 0 || setresgid(uid, uid, uid) != 0 ||
        setresuid(uid, uid, uid) != 0)
        return 3;
    printf("ready\n");
    fflush(stdout);
    for (unsigned long round = 0; now() < end; round++) {
        long base = last_pid();

        struct pollfd in = { .fd = 0, .events = POLLIN };

        if (round % 64 == 0 && poll(&in, 1, 0) > 0)
            break; /* EOF (or anything) on stdin: stop */

        if (base < 0)
            return 4;
        for (long p = base - 8; p <= base + SPAN; p++)
            if (p > 1)
                try_pid(p, uid);
    }
    printf("seen %d\n", n_seen);
    return 0;
}
