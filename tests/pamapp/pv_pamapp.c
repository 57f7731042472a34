/* pv_pamapp.c - a tiny PAM application for the hardening tests.
 *
 *   pv_pamapp SERVICE USER N [RHOST]
 *
 * Runs pam_start / pam_authenticate / pam_end N times in one process, so
 * the module is loaded and unloaded N times (libpam dlcloses its modules
 * in pam_end).  Every prompt is answered with $PV_PAMAPP_ANSWER (default
 * "000000"); messages are printed only when $PV_PAMAPP_VERBOSE is set.
 * With $PV_PAMAPP_SWITCH_USER set, every prompt also replaces PAM_USER,
 * PAM_RHOST, PAM_RUSER and PAM_TTY with other values (libpam frees the old
 * strings): a module that kept libpam's pointers reads freed memory.
 * Prints one line per iteration: "<i> <PAM result name>".  With
 * $PV_PAMAPP_MODULE set (a substring of the module's path) it also checks
 * /proc/self/maps after every pam_end and prints "UNLOADED <k>": after how
 * many of the N logins the module was really gone from the process.
 *
 * Afterwards it checks what the module must not leave behind (SPEC 5):
 *   exit 3  a descriptor open that was not open before the first login,
 *           or one of ours closed (listed on stderr)
 *   exit 4  a zombie child: a process the module started and never reaped
 *   exit 5  a child process still running after pam_end
 *   exit 6  a signal disposition or the signal mask changed
 *   exit 2  usage or pam_start failure;  0 all clean.
 * Run it under pam_wrapper (LD_PRELOAD, PAM_WRAPPER_SERVICE_DIR) and
 * nss_wrapper like pamtester.  Build: cc -o pv_pamapp pv_pamapp.c -lpam */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <security/pam_appl.h>

#define MAX_FD 4096

static const char *answer = "000000";
static const char *switch_user;
static int verbose;

/* The application changes the items while the module converses. */
static void switch_items(pam_handle_t *pamh)
{
    if (switch_user == NULL || pamh == NULL)
        return;
    (void)pam_set_item(pamh, PAM_USER, switch_user);
    (void)pam_set_item(pamh, PAM_RHOST, "198.51.100.77");
    (void)pam_set_item(pamh, PAM_RUSER, switch_user);
    (void)pam_set_item(pamh, PAM_TTY, "/dev/pts/99");
}

static int conv(int n, const struct pam_message **msg,
                struct pam_response **resp, void *appdata)
{
    struct pam_response *r;
    int i;

    if (n <= 0 || n > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    r = calloc((size_t)n, sizeof(*r));
    if (r == NULL)
        return PAM_BUF_ERR;
    for (i = 0; i < n; i++) {
        switch (msg[i]->msg_style) {
        case PAM_PROMPT_ECHO_ON:
        case PAM_PROMPT_ECHO_OFF:
            if (verbose)
                fprintf(stderr, "PROMPT %s\n", msg[i]->msg);
            switch_items(*(pam_handle_t **)appdata);
            r[i].resp = strdup(answer);
            if (r[i].resp == NULL) {
                while (i-- > 0)
                    free(r[i].resp);
                free(r);
                return PAM_BUF_ERR;
            }
            break;
        case PAM_TEXT_INFO:
        case PAM_ERROR_MSG:
            if (verbose)
                fprintf(stderr, "%s %s\n",
                        msg[i]->msg_style == PAM_TEXT_INFO ? "INFO" : "ERROR",
                        msg[i]->msg);
            break;
        default:
            break;
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

static const char *result_name(int rc)
{
    static char buf[32];

    switch (rc) {
    case PAM_SUCCESS:
        return "PAM_SUCCESS";
    case PAM_AUTH_ERR:
        return "PAM_AUTH_ERR";
    case PAM_MAXTRIES:
        return "PAM_MAXTRIES";
    case PAM_PERM_DENIED:
        return "PAM_PERM_DENIED";
    case PAM_AUTHINFO_UNAVAIL:
        return "PAM_AUTHINFO_UNAVAIL";
    case PAM_SERVICE_ERR:
        return "PAM_SERVICE_ERR";
    case PAM_CONV_ERR:
        return "PAM_CONV_ERR";
    case PAM_USER_UNKNOWN:
        return "PAM_USER_UNKNOWN";
    case PAM_IGNORE:
        return "PAM_IGNORE";
    case PAM_ABORT:
        return "PAM_ABORT";
    case PAM_SYSTEM_ERR:
        return "PAM_SYSTEM_ERR";
    case PAM_BUF_ERR:
        return "PAM_BUF_ERR";
    case PAM_CRED_INSUFFICIENT:
        return "PAM_CRED_INSUFFICIENT";
    default:
        snprintf(buf, sizeof(buf), "PAM_%d", rc);
        return buf;
    }
}

/* isopen[fd] = 1 for every descriptor in /proc/self/fd (but the DIR's). */
static int snapshot_fds(unsigned char isopen[MAX_FD])
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;

    if (d == NULL) {
        perror("pv_pamapp: /proc/self/fd");
        return -1;
    }
    memset(isopen, 0, MAX_FD);
    while ((e = readdir(d)) != NULL) {
        long fd;
        char *end;

        if (e->d_name[0] == '.')
            continue;
        fd = strtol(e->d_name, &end, 10);
        if (*end != '\0' || fd < 0 || fd >= MAX_FD || fd == dirfd(d))
            continue;
        isopen[fd] = 1;
    }
    closedir(d);
    return 0;
}

static void describe_fd(int fd, char *out, size_t size)
{
    char p[64];
    ssize_t n;

    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    n = readlink(p, out, size - 1);
    if (n < 0)
        n = 0;
    out[n] = '\0';
}

static int compare_fds(const unsigned char before[MAX_FD])
{
    unsigned char after[MAX_FD];
    char what[PATH_MAX];
    int fd, bad = 0;

    if (snapshot_fds(after) != 0)
        return 1;
    for (fd = 0; fd < MAX_FD; fd++) {
        if (after[fd] && !before[fd]) {
            describe_fd(fd, what, sizeof(what));
            fprintf(stderr, "pv_pamapp: LEAKED fd %d -> %s\n", fd, what);
            bad = 1;
        } else if (before[fd] && !after[fd]) {
            fprintf(stderr,
                    "pv_pamapp: fd %d of the application was "
                    "closed\n",
                    fd);
            bad = 1;
        }
    }
    return bad;
}

/* 0 no child at all, 4 a zombie was found, 5 a child still runs. */
static int check_children(void)
{
    int i, st;

    for (i = 0; i < 40; i++) {
        pid_t p = waitpid(-1, &st, WNOHANG);

        if (p > 0) {
            fprintf(stderr, "pv_pamapp: ZOMBIE child %d left unreaped\n",
                    (int)p);
            return 4;
        }
        if (p < 0 && errno == ECHILD)
            return 0;
        if (p < 0 && errno == EINTR)
            continue;
        /* 0: a child exists and is still running; give it 2 s to end */
        {
            struct timespec ts = { 0, 50 * 1000000L };

            nanosleep(&ts, NULL);
        }
    }
    fprintf(stderr, "pv_pamapp: a child process is still running\n");
    return 5;
}

/* 1 when a mapping of this process has `name` in its path. */
static int mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "re");
    char line[4096];
    int found = 0;

    if (f == NULL)
        return 1;
    while (!found && fgets(line, sizeof(line), f) != NULL)
        found = strstr(line, name) != NULL;
    fclose(f);
    return found;
}

struct sigsnap {
    struct sigaction act[NSIG];
    sigset_t mask;
};

static void snapshot_signals(struct sigsnap *s)
{
    int sig;

    memset(s, 0, sizeof(*s));
    for (sig = 1; sig < NSIG; sig++)
        (void)sigaction(sig, NULL, &s->act[sig]);
    sigprocmask(SIG_SETMASK, NULL, &s->mask);
}

static int compare_signals(const struct sigsnap *a)
{
    struct sigsnap b;
    int sig, bad = 0;

    snapshot_signals(&b);
    for (sig = 1; sig < NSIG; sig++) {
        if (a->act[sig].sa_handler != b.act[sig].sa_handler ||
            a->act[sig].sa_flags != b.act[sig].sa_flags) {
            fprintf(stderr,
                    "pv_pamapp: disposition of signal %d (%s) "
                    "changed\n",
                    sig, strsignal(sig));
            bad = 1;
        }
        if (sigismember(&a->mask, sig) != sigismember(&b.mask, sig)) {
            fprintf(stderr, "pv_pamapp: signal %d (%s) %s in the mask\n", sig,
                    strsignal(sig),
                    sigismember(&b.mask, sig) ? "newly blocked" : "unblocked");
            bad = 1;
        }
    }
    return bad;
}

int main(int argc, char **argv)
{
    static unsigned char fds_before[MAX_FD];
    struct sigsnap sig_before;
    static pam_handle_t *current;
    struct pam_conv pc = { conv, &current };
    const char *service, *user, *rhost = NULL, *env, *module;
    long n, i, unloaded = 0;
    char *end;
    int rc, fd_bad, child, sig_bad;

    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: pv_pamapp SERVICE USER N [RHOST]\n");
        return 2;
    }
    service = argv[1];
    user = argv[2];
    n = strtol(argv[3], &end, 10);
    if (*end != '\0' || n < 1 || n > 100000) {
        fprintf(stderr, "pv_pamapp: bad N '%s'\n", argv[3]);
        return 2;
    }
    if (argc == 5 && argv[4][0] != '\0')
        rhost = argv[4];
    env = getenv("PV_PAMAPP_ANSWER");
    if (env != NULL)
        answer = env;
    verbose = getenv("PV_PAMAPP_VERBOSE") != NULL;
    switch_user = getenv("PV_PAMAPP_SWITCH_USER");
    module = getenv("PV_PAMAPP_MODULE");
    if (module != NULL && module[0] == '\0')
        module = NULL;
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* NSS (here nss_wrapper) may keep its files open after the first
     * lookup: that is the application's NSS, not the module.  Do the
     * lookups the module will do once before taking the baseline. */
    {
        struct passwd *pw = getpwnam(user);
        gid_t groups[64];
        int ng = 64;

        if (pw != NULL)
            (void)getgrouplist(user, pw->pw_gid, groups, &ng);
        (void)getpwnam("root");
        (void)getgrnam("root");
        endpwent();
        endgrent();
    }
    if (snapshot_fds(fds_before) != 0)
        return 2;
    snapshot_signals(&sig_before);

    for (i = 1; i <= n; i++) {
        pam_handle_t *pamh = NULL;

        rc = pam_start(service, user, &pc, &pamh);
        if (rc != PAM_SUCCESS) {
            fprintf(stderr, "pv_pamapp: pam_start: %d\n", rc);
            return 2;
        }
        if (rhost != NULL)
            (void)pam_set_item(pamh, PAM_RHOST, rhost);
        current = pamh;
        rc = pam_authenticate(pamh, 0);
        current = NULL;
        printf("%ld %s\n", i, result_name(rc));
        pam_end(pamh, rc);
        if (module != NULL && !mapped(module))
            unloaded++;
    }
    if (module != NULL)
        printf("UNLOADED %ld\n", unloaded);

    fd_bad = compare_fds(fds_before);
    child = check_children();
    sig_bad = compare_signals(&sig_before);
    if (fd_bad)
        return 3;
    if (child)
        return child;
    if (sig_bad)
        return 6;
    printf("CLEAN\n");
    return 0;
}
