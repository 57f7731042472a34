/* test_state_etcd.c - `state = etcd` against a real etcd member.
 *
 * Each test group starts one etcd (Debian's etcd-server, installed by
 * scripts/install-deps) on free loopback ports with a data dir under
 * /tmp, plain http (loopback http is allowed for state_endpoints), and
 * stops it at the end.  The TLS and client-certificate cases and the
 * 3-member cluster are in tests/fleet.  PV_BUILD names the build
 * directory holding phoneverify-http (default ./build). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "pvt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/pv_base64.h"
#include "state/pv_state.h"
#include "state/pv_state_file.h"
#include "state/pv_state_open.h"
#include "state/pv_state_etcd.h"
#include "base/pv_util.h"

/* ---- one etcd member for the whole run --------------------------------- */

struct etcd_proc {
    pid_t pid;
    int client_port;
    char base[64]; /* mkdtemp: data dir, log, state dirs */
    char endpoint[64];
    char helper[512];
};

static struct etcd_proc etcd;

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void exec_etcd(int peer_port)
{
    char data[128], curl[64], purl[64], cluster[96], logf[128];
    int fd;

    snprintf(data, sizeof data, "%s/data", etcd.base);
    snprintf(curl, sizeof curl, "http://127.0.0.1:%d", etcd.client_port);
    snprintf(purl, sizeof purl, "http://127.0.0.1:%d", peer_port);
    snprintf(cluster, sizeof cluster, "unit=%s", purl);
    snprintf(logf, sizeof logf, "%s/etcd.log", etcd.base);
    /* dies with the test even when the test crashes before teardown */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        _exit(126);
    fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
        _exit(126);
    execlp("etcd", "etcd", "--name", "unit", "--data-dir", data,
           "--listen-client-urls", curl, "--advertise-client-urls", curl,
           "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
           "--initial-cluster", cluster, "--initial-cluster-state", "new",
           "--log-level", "warn", (char *)NULL);
    _exit(127);
}

static pv_config *config_for(const char *endpoints, const char *state_dir)
{
    pv_config *cfg = pv_config_new();

    assert_non_null(cfg);
    free(cfg->state);
    free(cfg->state_dir);
    free(cfg->helper);
    free(cfg->state_endpoints);
    free(cfg->state_prefix);
    cfg->state = pv_strdup("etcd");
    cfg->state_dir = pv_strdup(state_dir);
    cfg->helper = pv_strdup(etcd.helper);
    /* any existing unprivileged user: _phoneverify, the default, need not
     * exist on a build host, and there is no fallback */
    free(cfg->helper_user);
    cfg->helper_user = pv_strdup("nobody");
    cfg->state_endpoints = pv_strdup(endpoints);
    cfg->state_prefix = pv_strdup("/pvtest/");
    cfg->state_timeout = 2;
    assert_non_null(cfg->state_endpoints);
    return cfg;
}

static int start_etcd(void **state)
{
    const char *b = getenv("PV_BUILD");
    char msg[512];
    int peer, i;

    (void)state;
    snprintf(etcd.helper, sizeof etcd.helper, "%s/phoneverify-http",
             b != NULL ? b : "build");
    strcpy(etcd.base, "/tmp/pv-test-etcd.XXXXXX");
    if (mkdtemp(etcd.base) == NULL)
        return -1;
    etcd.client_port = free_port();
    peer = free_port();
    snprintf(etcd.endpoint, sizeof etcd.endpoint, "http://127.0.0.1:%d",
             etcd.client_port);
    etcd.pid = fork();
    if (etcd.pid == 0)
        exec_etcd(peer);
    /* up when the probe passes: at most 20 s on a loaded machine */
    for (i = 0; i < 200; i++) {
        pv_config *cfg = config_for(etcd.endpoint, "/tmp");
        int rc = pv_state_etcd_probe(cfg, msg, sizeof msg);
        int st;

        pv_config_free(cfg);
        if (rc == 0)
            return 0;
        if (waitpid(etcd.pid, &st, WNOHANG) == etcd.pid) {
            fprintf(stderr,
                    "etcd exited (status %d; 127: not installed, "
                    "run scripts/install-deps); see %s/etcd.log\n",
                    WEXITSTATUS(st), etcd.base);
            return -1;
        }
        usleep(100 * 1000);
    }
    fprintf(stderr, "etcd did not come up: %s\n", msg);
    return -1;
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int stop_etcd(void **state)
{
    (void)state;
    if (etcd.pid > 0) {
        kill(etcd.pid, SIGTERM);
        waitpid(etcd.pid, NULL, 0);
    }
    nftw(etcd.base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static pv_state *open_etcd(const char *endpoints, const char *state_dir,
                           pvt_logcap *lc)
{
    pv_config *cfg = config_for(endpoints, state_dir);
    pv_state *st = NULL;
    pv_err err = { "" };

    if (pv_state_open(cfg, &st, &err) != 0)
        fail_msg("pv_state_open: %s", err.msg);
    pv_config_free(cfg);
    if (lc != NULL) {
        st->logger.log = pvt_capture_log;
        st->logger.ctx = lc;
    }
    return st;
}

static void state_dir(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", etcd.base, name);
}

static int append_cb(pv_state_record *rec, void *ctx)
{
    const time_t *t = ctx;

    if (rec->n_failures >= PV_STATE_MAX_FAILURES)
        return -1;
    rec->failures[rec->n_failures++] = *t;
    return 0;
}

static int clear_cb(pv_state_record *rec, void *ctx)
{
    (void)ctx;
    pv_state_record_clear(rec);
    return 0;
}

static int unchanged_cb(pv_state_record *rec, void *ctx)
{
    (void)rec;
    (void)ctx;
    return 1;
}

static size_t failures_of(pv_state *st, const char *user)
{
    pv_state_record rec;
    pv_err err = { "" };

    assert_int_equal(pv_state_read(st, user, &rec, &err), 0);
    return rec.n_failures;
}

/* Output of an etcdctl command against the member (first 4 KiB). */
static void etcdctl(const char *args, char *out, size_t size)
{
    char cmd[512];
    FILE *p;
    size_t n;

    snprintf(cmd, sizeof cmd, "ETCDCTL_API=3 etcdctl --endpoints=%s %s",
             etcd.endpoint, args);
    p = popen(cmd, "r");
    assert_non_null(p);
    n = fread(out, 1, size - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
}

/* ---- base64 ------------------------------------------------------------ */

static void test_base64_decode(void **state)
{
    unsigned char out[16];
    size_t n;

    (void)state;
    assert_int_equal(pv_base64_decode("", 0, out, sizeof out, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(pv_base64_decode("YWJj", 4, out, sizeof out, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "abc", 3);
    assert_int_equal(pv_base64_decode("YQ==", 4, out, sizeof out, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 'a');
    assert_int_equal(pv_base64_decode("YWI=", 4, out, sizeof out, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(pv_base64_decode("//8=", 4, out, sizeof out, &n), 0);
    assert_int_equal(out[0], 0xff);
    /* refused: bad length, padding in the middle, stray bits, alphabet,
     * whitespace, too small an output */
    assert_int_equal(pv_base64_decode("YWJ", 3, out, sizeof out, &n), -1);
    assert_int_equal(pv_base64_decode("YQ==YWJj", 8, out, sizeof out, &n), -1);
    assert_int_equal(pv_base64_decode("YR==", 4, out, sizeof out, &n), -1);
    assert_int_equal(pv_base64_decode("YWJ=", 4, out, sizeof out, &n), -1);
    assert_int_equal(pv_base64_decode("Y=Jj", 4, out, sizeof out, &n), -1);
    assert_int_equal(pv_base64_decode("YW-j", 4, out, sizeof out, &n), -1);
    assert_int_equal(pv_base64_decode("YW j", 4, out, sizeof out, &n), -1);
    assert_int_equal(pv_base64_decode("YWJj", 4, out, 2, &n), -1);
}

static void test_base64_round_trip(void **state)
{
    unsigned char in[256], out[256];
    char text[400];
    size_t len, n;

    (void)state;
    for (len = 0; len < sizeof in; len++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (unsigned char)(i * 37 + len);
        assert_int_equal(pv_base64(in, len, text, sizeof text), 0);
        assert_int_equal(
            pv_base64_decode(text, strlen(text), out, sizeof out, &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(in, out, len);
    }
}

/* ---- the backend ------------------------------------------------------- */

static void test_read_update_round_trip(void **state)
{
    char dir[128], out[4096];
    pv_state *st;
    pv_state_record rec;
    pv_err err = { "" };
    time_t t = 1700000000;

    (void)state;
    state_dir(dir, sizeof dir, "rt");
    st = open_etcd(etcd.endpoint, dir, NULL);
    assert_int_equal(failures_of(st, "rt-alice"), 0);
    assert_int_equal(pv_state_update(st, "rt-alice", append_cb, &t, &err), 0);
    t++;
    assert_int_equal(pv_state_update(st, "rt-alice", append_cb, &t, &err), 0);
    assert_int_equal(pv_state_read(st, "rt-alice", &rec, &err), 0);
    assert_int_equal(rec.n_failures, 2);
    assert_int_equal(rec.failures[1], 1700000001);
    assert_false(pv_state_etcd_degraded(st));
    /* a range per read; an update right after compares against what
     * the handle read or wrote last (txn only); one lease grant (the
     * host's, kept in state_dir/:etcd-lease) */
    assert_int_equal(pv_state_etcd_requests(st), 1 + 2 + 1 + 1);
    pv_state_close(st);

    /* the key is prefix + "user/" + name, the value the record text with
     * a random nonce (an ended grant line) before "end", and a lease */
    etcdctl("get /pvtest/user/rt-alice --print-value-only", out, sizeof out);
    assert_non_null(strstr(out, "pv-state 1\nfail 1700000000\n"
                                "fail 1700000001\ngrant "));
    etcdctl("get /pvtest/user/rt-alice -w json", out, sizeof out);
    assert_non_null(strstr(out, "\"lease\":"));
    /* nothing went to the local store: the lease file alone is there */
    snprintf(out, sizeof out, "%s/:etcd-lease", dir);
    assert_int_equal(access(out, F_OK), 0);
    snprintf(out, sizeof out, "%s/rt-alice", dir);
    assert_int_equal(access(out, F_OK), -1);
}

static void test_other_handle_sees_updates(void **state)
{
    char dir_a[128], dir_b[128];
    pv_state *a, *b;
    pv_err err = { "" };
    time_t t = 1700000100;

    (void)state;
    state_dir(dir_a, sizeof dir_a, "host-a");
    state_dir(dir_b, sizeof dir_b, "host-b");
    a = open_etcd(etcd.endpoint, dir_a, NULL);
    b = open_etcd(etcd.endpoint, dir_b, NULL);
    /* each handle's remembered copy of the key goes stale in turn: the
     * compare fails, the handle reads again, nothing is lost */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pv_state_update(a, "share", append_cb, &t, &err), 0);
        assert_int_equal(pv_state_update(b, "share", append_cb, &t, &err), 0);
    }
    assert_int_equal(failures_of(a, "share"), 6);
    assert_int_equal(failures_of(b, "share"), 6);
    assert_false(pv_state_etcd_degraded(a) || pv_state_etcd_degraded(b));
    pv_state_close(a);
    pv_state_close(b);
}

static int grant_cb(pv_state_record *rec, void *ctx)
{
    const char *key = ctx;

    /* computed from rec alone: safe to run again after a conflict */
    pv_state_grant_add(rec, key, 1700000000, 1700000300);
    rec->last_sent = 1700000000;
    return 0;
}

static int lock_cb(pv_state_record *rec, void *ctx)
{
    (void)ctx;
    rec->locked_until = 1700000900;
    return 0;
}

/* The last send written on one host is seen by another (resend_wait across
 * a fleet); a grace grant in etcd is not: grants live on the host that
 * granted them, and one found in etcd (an older version's, or a forged
 * one) reads as none.  A lock voids grants on every host: grants_void is
 * shared. */
static void test_grant_not_read_from_etcd(void **state)
{
    char dir_a[128], dir_b[128], key[65];
    pv_state *a, *b;
    pv_state_record rec;
    pv_err err = { "" };

    (void)state;
    state_dir(dir_a, sizeof dir_a, "grant-a");
    state_dir(dir_b, sizeof dir_b, "grant-b");
    a = open_etcd(etcd.endpoint, dir_a, NULL);
    b = open_etcd(etcd.endpoint, dir_b, NULL);
    pv_state_grant_key("gr-alice", "203.0.113.9", NULL, NULL, "list sshd sudo",
                       key);
    assert_int_equal(pv_state_update(a, "gr-alice", grant_cb, key, &err), 0);
    assert_int_equal(pv_state_read(b, "gr-alice", &rec, &err), 0);
    assert_int_equal(rec.n_grants, 0);
    assert_int_equal(rec.last_sent, 1700000000);
    assert_int_equal(pv_state_update(a, "gr-alice", lock_cb, NULL, &err), 0);
    assert_int_equal(pv_state_read(b, "gr-alice", &rec, &err), 0);
    assert_int_equal(rec.grants_void, 1700000900);
    pv_state_close(a);
    pv_state_close(b);
}

static void test_unchanged_and_empty_record(void **state)
{
    char dir[128], out[4096];
    pv_state *st;
    pv_err err = { "" };
    time_t t = 1700000200;
    long before;

    (void)state;
    state_dir(dir, sizeof dir, "empty");
    st = open_etcd(etcd.endpoint, dir, NULL);
    assert_int_equal(pv_state_update(st, "gone", append_cb, &t, &err), 0);
    before = pv_state_etcd_requests(st);
    /* callback 1: read only, nothing written */
    assert_int_equal(pv_state_update(st, "gone", unchanged_cb, NULL, &err), 0);
    assert_int_equal(pv_state_etcd_requests(st), before);
    /* an empty record is deleted, not stored */
    assert_int_equal(pv_state_update(st, "gone", clear_cb, NULL, &err), 0);
    etcdctl("get /pvtest/user/gone -w json", out, sizeof out);
    assert_non_null(strstr(out, "\"header\""));
    assert_null(strstr(out, "\"kvs\""));
    /* clearing a record that does not exist writes nothing */
    before = pv_state_etcd_requests(st);
    assert_int_equal(pv_state_update(st, "never", clear_cb, NULL, &err), 0);
    assert_int_equal(pv_state_etcd_requests(st), before + 1);
    pv_state_close(st);
}

static int abort_cb(pv_state_record *rec, void *ctx)
{
    (void)rec;
    (void)ctx;
    return -1;
}

static void test_abort_and_bad_user(void **state)
{
    char dir[128], longname[PV_STATE_USER_MAX + 2];
    pv_state *st;
    pv_err err = { "" };

    (void)state;
    state_dir(dir, sizeof dir, "abort");
    st = open_etcd(etcd.endpoint, dir, NULL);
    assert_int_equal(pv_state_update(st, "ab", abort_cb, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "aborted"));
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(pv_state_update(st, longname, clear_cb, NULL, &err), -1);
    assert_non_null(strstr(err.msg, "longer than"));
    assert_false(pv_state_etcd_degraded(st));
    pv_state_close(st);
}

static void test_corrupt_value_reads_empty(void **state)
{
    char dir[128], out[256];
    pvt_logcap lc;
    pv_state *st;
    pv_err err = { "" };
    time_t t = 1700000300;

    (void)state;
    memset(&lc, 0, sizeof lc);
    etcdctl("put /pvtest/user/mallory 'fail 1'", out, sizeof out);
    state_dir(dir, sizeof dir, "corrupt");
    st = open_etcd(etcd.endpoint, dir, &lc);
    assert_int_equal(failures_of(st, "mallory"), 0);
    assert_non_null(strstr(lc.all, "corrupt"));
    /* an update replaces it with a good record */
    assert_int_equal(pv_state_update(st, "mallory", append_cb, &t, &err), 0);
    assert_int_equal(failures_of(st, "mallory"), 1);
    pv_state_close(st);
}

/* N processes x M updates at once on one key: every update counts. */
static void test_concurrent_updates_count_exactly(void **state)
{
    enum {
        PROCS = 6,
        EACH = 5
    };
    char dir[128];
    pv_state *st;
    pid_t pids[PROCS];
    int i;

    (void)state;
    state_dir(dir, sizeof dir, "race");
    for (i = 0; i < PROCS; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            pv_state *c = open_etcd(etcd.endpoint, dir, NULL);
            pv_err err = { "" };
            time_t t = 1700001000 + i;
            int ok = 1;

            for (int k = 0; k < EACH; k++)
                ok &= pv_state_update(c, "racer", append_cb, &t, &err) == 0;
            ok &= !pv_state_etcd_degraded(c);
            pv_state_close(c);
            _exit(ok ? 0 : 1);
        }
    }
    for (i = 0; i < PROCS; i++) {
        int ws;

        assert_int_equal(waitpid(pids[i], &ws, 0), pids[i]);
        assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    }
    st = open_etcd(etcd.endpoint, dir, NULL);
    assert_int_equal(failures_of(st, "racer"), PROCS * EACH);
    pv_state_close(st);
}

/* A lease revoked (or expired) under a running handle: the next write
 * takes a new lease instead of failing or degrading. */
static void test_revoked_lease_is_replaced(void **state)
{
    char dir[128], out[4096], cmd[96];
    const char *p;
    pv_state *st;
    pv_err err = { "" };
    time_t t = 1700000600;
    long long lease;
    pvt_logcap lc;

    (void)state;
    state_dir(dir, sizeof dir, "lease");
    memset(&lc, 0, sizeof lc);
    st = open_etcd(etcd.endpoint, dir, &lc);
    assert_int_equal(pv_state_update(st, "ls", append_cb, &t, &err), 0);
    etcdctl("get /pvtest/user/ls -w json", out, sizeof out);
    p = strstr(out, "\"lease\":");
    assert_non_null(p);
    lease = strtoll(p + strlen("\"lease\":"), NULL, 10);
    assert_true(lease > 0);
    snprintf(cmd, sizeof cmd, "lease revoke %llx", lease);
    etcdctl(cmd, out, sizeof out);
    /* revoking deleted the key; the handle still holds the old lease */
    assert_int_equal(pv_state_update(st, "ls", append_cb, &t, &err), 0);
    assert_int_equal(lc.count, 0);
    assert_false(pv_state_etcd_degraded(st));
    assert_int_equal(failures_of(st, "ls"), 1);
    pv_state_close(st);
    etcdctl("get /pvtest/user/ls -w json", out, sizeof out);
    p = strstr(out, "\"lease\":");
    assert_non_null(p);
    assert_true(strtoll(p + strlen("\"lease\":"), NULL, 10) != lease);
}

/* The lease id on key (0: none). */
static long long lease_of(const char *key)
{
    char out[4096], cmd[160];
    const char *p;

    snprintf(cmd, sizeof cmd, "get %s -w json", key);
    etcdctl(cmd, out, sizeof out);
    p = strstr(out, "\"lease\":");
    return p != NULL ? strtoll(p + strlen("\"lease\":"), NULL, 10) : 0;
}

/* Leases bounded by hosts, not logins: every login (handle) of one host
 * (state_dir) writes under the host's one lease of the time bucket; a
 * second host takes a lease of its own.  Three logins, two leases. */
static void test_logins_of_a_host_share_one_lease(void **state)
{
    char dir_a[128], dir_b[128];
    static const char *const users[] = { "sh-x", "sh-y", "sh-z" };
    pv_err err = { "" };
    time_t t = 1700000650;
    pv_state *st;
    size_t i;

    (void)state;
    state_dir(dir_a, sizeof dir_a, "share-a");
    state_dir(dir_b, sizeof dir_b, "share-b");
    for (i = 0; i < 3; i++) {
        st = open_etcd(etcd.endpoint, i < 2 ? dir_a : dir_b, NULL);
        assert_int_equal(pv_state_update(st, users[i], append_cb, &t, &err),
                         0);
        /* a login of a host that has its lease: one write, no grant */
        assert_int_equal(pv_state_etcd_requests(st), i == 1 ? 2 : 3);
        pv_state_close(st);
    }
    assert_true(lease_of("/pvtest/user/sh-x") > 0);
    assert_true(lease_of("/pvtest/user/sh-x") ==
                lease_of("/pvtest/user/sh-y"));
    assert_true(lease_of("/pvtest/user/sh-z") > 0);
    assert_true(lease_of("/pvtest/user/sh-z") !=
                lease_of("/pvtest/user/sh-x"));
}

/* ---- hostile or broken answers: a fake etcd ---------------------------- */

struct canned {
    const char *path; /* request path it answers */
    int status;
    const char *body;
};

/* Read one request (headers and Content-Length body); the path into
 * path.  0 ok, -1 on EOF or junk. */
static int read_request(int fd, char *path, size_t size)
{
    char buf[65536];
    size_t n = 0;
    char *end, *cl;
    long body = 0;

    while ((end = memmem(buf, n, "\r\n\r\n", 4)) == NULL) {
        ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);

        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
    }
    if (sscanf(buf, "POST %255s ", path) != 1 || size < 256)
        return -1;
    cl = strcasestr(buf, "content-length:");
    if (cl != NULL)
        body = strtol(cl + 15, NULL, 10);
    body -= (long)(n - (size_t)(end + 4 - buf));
    while (body > 0) {
        ssize_t r = read(fd, buf, sizeof buf);

        if (r <= 0)
            return -1;
        body -= r;
    }
    return 0;
}

static void serve_one(int fd, const struct canned *c, size_t nc)
{
    char path[256], head[256];
    const struct canned *hit = NULL;
    size_t i;

    if (read_request(fd, path, sizeof path) != 0)
        return;
    for (i = 0; i < nc; i++) {
        if (strcmp(c[i].path, path) == 0)
            hit = &c[i];
    }
    if (hit == NULL) {
        static const struct canned missing = { "", 404, "{}" };

        hit = &missing;
    }
    snprintf(head, sizeof head,
             "HTTP/1.1 %d X\r\nContent-Type: "
             "application/json\r\nContent-Length: %zu\r\nConnection: "
             "close\r\n\r\n",
             hit->status, strlen(hit->body));
    if (write(fd, head, strlen(head)) < 0 ||
        write(fd, hit->body, strlen(hit->body)) < 0)
        return;
}

/* A process answering every request with the canned answer for its
 * path; killed with fake_stop. */
static pid_t fake_start(const struct canned *c, size_t nc, char *url,
                        size_t size)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
    pid_t pid;

    assert_true(ls >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &len), 0);
    assert_int_equal(listen(ls, 16), 0);
    snprintf(url, size, "http://127.0.0.1:%d", ntohs(a.sin_port));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
            _exit(1);
        for (;;) {
            int fd = accept(ls, NULL, NULL);

            if (fd < 0)
                _exit(0);
            serve_one(fd, c, nc);
            close(fd);
        }
    }
    close(ls);
    return pid;
}

static void fake_stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

#define OK_LEASE                                                     \
    {                                                                \
        "/v3/lease/grant", 200, "{\"ID\":\"7587\",\"TTL\":\"4500\"}" \
    }
#define OK_EMPTY_RANGE                                           \
    {                                                            \
        "/v3/kv/range", 200, "{\"header\":{\"revision\":\"3\"}}" \
    }
#define OK_TXN                                  \
    {                                           \
        "/v3/kv/txn", 200,                      \
            "{\"header\":{\"revision\":\"4\"}," \
            "\"succeeded\":true}"               \
    }

/* Each answer below must make the handle go over to the local store
 * (never crash, never read a half-parsed record, never pass). */
static void check_degrades(const struct canned *c, size_t nc, const char *name,
                           const char *why)
{
    char url[64], dir[128];
    pvt_logcap lc;
    pv_state *st;
    pv_err err = { "" };
    time_t t = 1700000700;
    pid_t pid = fake_start(c, nc, url, sizeof url);

    memset(&lc, 0, sizeof lc);
    state_dir(dir, sizeof dir, name);
    st = open_etcd(url, dir, &lc);
    assert_int_equal(pv_state_update(st, "h", append_cb, &t, &err), 0);
    assert_int_equal(failures_of(st, "h"), 1);
    if (!pv_state_etcd_degraded(st))
        fail_msg("%s: not degraded", name);
    if (strstr(lc.all, why) == NULL)
        fail_msg("%s: log has no '%s': %s", name, why, lc.all);
    pv_state_close(st);
    fake_stop(pid);
}

static void test_broken_answers_degrade(void **state)
{
    static const char big_body[] = "{\"header\":{},\"x\":\"";
    char *big = malloc(80 * 1024);

    (void)state;
    assert_non_null(big);
    {
        const struct canned two_kvs[] = {
            { "/v3/kv/range", 200,
              "{\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":"
              "\"2\",\"value\":\"\"},{\"key\":\"Yg==\",\"mod_revision\":\"3\"}"
              "]}" },
        };
        const struct canned bad_b64[] = {
            { "/v3/kv/range", 200,
              "{\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":"
              "\"2\",\"value\":\"!!!!\"}]}" },
        };
        const struct canned bad_rev[] = {
            { "/v3/kv/range", 200,
              "{\"kvs\":[{\"key\":\"YQ==\",\"mod_revision\":"
              "\"-5\",\"value\":\"\"}]}" },
        };
        const struct canned zero_rev[] = {
            { "/v3/kv/range", 200, "{\"kvs\":[{\"key\":\"YQ==\"}]}" },
        };
        const struct canned http500[] = {
            { "/v3/kv/range", 500,
              "{\"error\":\"boom\",\"message\":\"boom\"}" },
        };
        const struct canned not_json[] = {
            { "/v3/kv/range", 200, "<html>proxy</html>" },
        };
        const struct canned bad_succeeded[] = {
            OK_EMPTY_RANGE,
            OK_LEASE,
            { "/v3/kv/txn", 200, "{\"succeeded\":\"yes\"}" },
        };
        const struct canned bad_lease[] = {
            OK_EMPTY_RANGE,
            OK_TXN,
            { "/v3/lease/grant", 200, "{\"ID\":\"0\"}" },
        };
        const struct canned too_big[] = {
            { "/v3/kv/range", 200, big },
        };

        check_degrades(two_kvs, 1, "two_kvs", "unusable range answer");
        check_degrades(bad_b64, 1, "bad_b64", "unusable range answer");
        check_degrades(bad_rev, 1, "bad_rev", "unusable range answer");
        check_degrades(zero_rev, 1, "zero_rev", "unusable range answer");
        check_degrades(http500, 1, "http500", "HTTP 500: boom");
        check_degrades(not_json, 1, "not_json", "not a JSON object");
        check_degrades(bad_succeeded, 3, "bad_succeeded",
                       "unusable txn answer");
        check_degrades(bad_lease, 3, "bad_lease", "unusable lease grant");
        memset(big, 'a', 80 * 1024 - 3);
        memcpy(big, big_body, strlen(big_body));
        memcpy(big + 80 * 1024 - 3, "\"}", 3);
        check_degrades(too_big, 1, "too_big", "state=degraded");
    }
    free(big);
}

/* A well-formed fake etcd that always refuses the compare: the update
 * gives up after PV_STATE_ETCD_CAS_TRIES attempts with an error (it does
 * not degrade: etcd answers, another writer keeps winning). */
static void test_endless_conflict_is_an_error(void **state)
{
    const struct canned c[] = {
        OK_EMPTY_RANGE,
        OK_LEASE,
        { "/v3/kv/txn", 200, "{\"header\":{\"revision\":\"9\"}}" },
    };
    char url[64], dir[128];
    pv_state *st;
    pv_err err = { "" };
    time_t t = 1700000800;
    pid_t pid = fake_start(c, 3, url, sizeof url);

    (void)state;
    state_dir(dir, sizeof dir, "conflict");
    st = open_etcd(url, dir, NULL);
    assert_int_equal(pv_state_update(st, "c", append_cb, &t, &err), -1);
    assert_non_null(strstr(err.msg, "kept conflicting"));
    assert_false(pv_state_etcd_degraded(st));
    /* every try: a range (the cache is dropped on conflict) and a txn */
    assert_int_equal(pv_state_etcd_requests(st),
                     2 * PV_STATE_ETCD_CAS_TRIES + 1);
    pv_state_close(st);
    fake_stop(pid);
}

/* ---- endpoints, degraded mode, probe ----------------------------------- */

static void test_next_endpoint_on_failure(void **state)
{
    char dir[128], eps[160];
    pv_state *st;
    pv_err err = { "" };
    time_t t = 1700000400;

    (void)state;
    snprintf(eps, sizeof eps, "http://127.0.0.1:%d/ %s", free_port(),
             etcd.endpoint);
    state_dir(dir, sizeof dir, "failover");
    st = open_etcd(eps, dir, NULL);
    assert_int_equal(pv_state_update(st, "fo", append_cb, &t, &err), 0);
    assert_int_equal(failures_of(st, "fo"), 1);
    assert_false(pv_state_etcd_degraded(st));
    /* the dead one is tried once, then the live one is kept; the first
     * read (serializable) shows a failure, so it is read again
     * linearizably before anyone decides on it */
    assert_int_equal(pv_state_etcd_requests(st), 2 + 1 + 1 + 2);
    pv_state_close(st);
}

static void test_unreachable_is_degraded_to_file(void **state)
{
    char dir[128], eps[128];
    pvt_logcap lc;
    pv_state *st, *file;
    pv_config *cfg;
    pv_err err = { "" };
    time_t t = 1700000500;

    (void)state;
    memset(&lc, 0, sizeof lc);
    snprintf(eps, sizeof eps, "http://127.0.0.1:%d http://127.0.0.1:%d",
             free_port(), free_port());
    state_dir(dir, sizeof dir, "degraded");
    st = open_etcd(eps, dir, &lc);
    assert_int_equal(failures_of(st, "dg"), 0);
    assert_true(pv_state_etcd_degraded(st));
    assert_int_equal(lc.count, 1);
    assert_non_null(strstr(lc.all, "state=degraded"));
    assert_int_equal(pv_state_update(st, "dg", append_cb, &t, &err), 0);
    assert_int_equal(pv_state_update(st, "dg", append_cb, &t, &err), 0);
    assert_int_equal(failures_of(st, "dg"), 2);
    /* logged once per handle; no further request once degraded */
    assert_int_equal(lc.count, 1);
    assert_int_equal(pv_state_etcd_requests(st), 2);
    pv_state_close(st);

    /* the failures are in the local file store under state_dir */
    cfg = pv_config_new();
    assert_non_null(cfg);
    free(cfg->state_dir);
    cfg->state_dir = pv_strdup(dir);
    assert_int_equal(pv_state_open(cfg, &file, &err), 0);
    assert_int_equal(failures_of(file, "dg"), 2);
    pv_state_close(file);
    pv_config_free(cfg);
}

/* A request that fails for want of this host's resources (here: a helper
 * that exits at once, as one that cannot start its threads would) is a
 * local failure, not an etcd outage: the handle does not go over to the
 * local file store, where fleet-wide counts and break-glass claims would
 * be lost, and the error says so. */
static void test_local_failure_is_not_degraded(void **state)
{
    char dir[128];
    pvt_logcap lc;
    pv_state *st = NULL;
    pv_state_record rec;
    pv_config *cfg;
    pv_err err = { "" };
    time_t t = 1700000600;

    (void)state;
    memset(&lc, 0, sizeof lc);
    state_dir(dir, sizeof dir, "localfail");
    cfg = config_for(etcd.endpoint, dir);
    free(cfg->helper);
    cfg->helper = pv_strdup("/bin/true");
    free(cfg->helper_user);
    cfg->helper_user = pv_strdup("root");
    assert_int_equal(pv_state_open(cfg, &st, &err), 0);
    pv_config_free(cfg);
    st->logger.log = pvt_capture_log;
    st->logger.ctx = &lc;
    assert_int_equal(pv_state_read(st, "lf", &rec, &err), -1);
    assert_non_null(strstr(err.msg, "local failure on this host"));
    assert_false(pv_state_etcd_degraded(st));
    assert_int_equal(pv_state_update(st, "lf", append_cb, &t, &err), -1);
    assert_false(pv_state_etcd_degraded(st));
    assert_null(strstr(lc.all, "state=degraded"));
    pv_state_close(st);
}

static void test_open_errors(void **state)
{
    pv_config *cfg;
    pv_state *st = NULL;
    pv_err err = { "" };

    (void)state;
    cfg = config_for("", "/tmp/x");
    assert_int_equal(pv_state_open(cfg, &st, &err), -1);
    assert_null(st);
    assert_non_null(strstr(err.msg, "state_endpoints"));
    pv_config_free(cfg);
    cfg = config_for(etcd.endpoint, "relative");
    assert_int_equal(pv_state_open(cfg, &st, &err), -1);
    assert_non_null(strstr(err.msg, "absolute state_dir"));
    pv_config_free(cfg);
    cfg = config_for("http://a http://b http://c http://d http://e "
                     "http://f http://g http://h http://i",
                     "/tmp/x");
    assert_int_equal(pv_state_open(cfg, &st, &err), -1);
    assert_non_null(strstr(err.msg, "more than 8"));
    pv_config_free(cfg);
}

static int list_cb(const char *user, void *ctx)
{
    char *all = ctx;
    size_t n = strlen(all);

    /* only this test's users: others share the member */
    if (strncmp(user, "ls-", 3) == 0)
        snprintf(all + n, 256 - n, "%s,", user);
    return 0;
}

/* pv_state_list over a real member: every user written (etcd gives keys
 * in order), none twice, the break-glass claims and a name with ':' not
 * among them. */
static void test_list_users(void **state)
{
    char dir[128], all[256] = "";
    pv_state *st;
    pv_err err = { "" };
    time_t t = 1700000700;

    (void)state;
    state_dir(dir, sizeof dir, "list");
    st = open_etcd(etcd.endpoint, dir, NULL);
    assert_int_equal(pv_state_update(st, "ls-b", append_cb, &t, &err), 0);
    assert_int_equal(pv_state_update(st, "ls-a", append_cb, &t, &err), 0);
    assert_int_equal(pv_state_update(st, "ls-:x", append_cb, &t, &err), 0);
    assert_int_equal(pv_state_list(st, list_cb, all, NULL, &err), 0);
    assert_string_equal(all, "ls-a,ls-b,");
    assert_false(pv_state_etcd_degraded(st));
    pv_state_close(st);
}

static void test_probe(void **state)
{
    char msg[512], eps[160];
    pv_config *cfg;

    (void)state;
    cfg = config_for(etcd.endpoint, "/tmp");
    assert_int_equal(pv_state_etcd_probe(cfg, msg, sizeof msg), 0);
    assert_non_null(strstr(msg, "etcd ok on 1 endpoint"));
    assert_non_null(strstr(msg, "/pvtest/user/"));
    pv_config_free(cfg);

    /* one dead endpoint among live ones is reported, by URL */
    snprintf(eps, sizeof eps, "%s http://127.0.0.1:%d", etcd.endpoint,
             free_port());
    cfg = config_for(eps, "/tmp");
    assert_int_equal(pv_state_etcd_probe(cfg, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "connection failed"));
    assert_null(strstr(msg, etcd.endpoint));
    pv_config_free(cfg);

    /* http to a non-loopback host never leaves the machine */
    cfg = config_for("http://192.0.2.1:2379", "/tmp");
    assert_int_equal(pv_state_etcd_probe(cfg, msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "192.0.2.1"));
    pv_config_free(cfg);
}

/* ---- used break-glass codes (issue 17, item 8) ------------------------ */

#define DIGEST_A \
    "aa00000000000000000000000000000000000000000000000000000000000001"
#define DIGEST_B \
    "bb00000000000000000000000000000000000000000000000000000000000002"
#define DIGEST_C \
    "cc00000000000000000000000000000000000000000000000000000000000003"

/* A claim is a key of its own, created once fleet-wide, with no lease:
 * revoking the user record's lease (its expiry) or deleting the record
 * leaves it, so another host still refuses the code. */
static void test_breakglass_claim_never_expires(void **state)
{
    char dir_a[128], dir_b[128], out[4096], cmd[128];
    pv_state *a, *b;
    pv_err err = { "" };
    time_t t = 1700000700;
    const char *p;
    long long lease;

    (void)state;
    state_dir(dir_a, sizeof dir_a, "bg-a");
    state_dir(dir_b, sizeof dir_b, "bg-b");
    a = open_etcd(etcd.endpoint, dir_a, NULL);
    b = open_etcd(etcd.endpoint, dir_b, NULL);
    assert_true(pv_state_etcd_is(a));
    assert_int_equal(pv_state_update(a, "bg", append_cb, &t, &err), 0);
    assert_int_equal(pv_state_etcd_claim(a, "bg", DIGEST_A, &err), 0);
    assert_int_equal(pv_state_etcd_claim(a, "bg", DIGEST_A, &err), 1);
    assert_int_equal(pv_state_etcd_claim(b, "bg", DIGEST_A, &err), 1);

    /* the user record expires (its lease revoked): the claim stays */
    etcdctl("get /pvtest/user/bg -w json", out, sizeof out);
    p = strstr(out, "\"lease\":");
    assert_non_null(p);
    lease = strtoll(p + strlen("\"lease\":"), NULL, 10);
    snprintf(cmd, sizeof cmd, "lease revoke %llx", lease);
    etcdctl(cmd, out, sizeof out);
    etcdctl("get /pvtest/user/bg --print-value-only", out, sizeof out);
    assert_string_equal(out, "");
    assert_int_equal(pv_state_etcd_claim(b, "bg", DIGEST_A, &err), 1);
    etcdctl("get /pvtest/bgused/" DIGEST_A " -w json", out, sizeof out);
    assert_non_null(strstr(out, "\"create_revision\""));
    assert_null(strstr(out, "\"lease\""));
    etcdctl("get /pvtest/bgused/" DIGEST_A " --print-value-only", out,
            sizeof out);
    assert_non_null(strstr(out, "pv-bgused 1\nuser bg\n"));

    /* another code is another claim; a malformed digest is refused */
    assert_int_equal(pv_state_etcd_claim(b, "bg", DIGEST_B, &err), 0);
    assert_int_equal(pv_state_etcd_claim(b, "bg", "../user/bg", &err), -1);
    assert_int_equal(pv_state_etcd_claim(b, "bg", DIGEST_B "0", &err), -1);
    assert_false(pv_state_etcd_degraded(a) || pv_state_etcd_degraded(b));
    pv_state_close(a);
    pv_state_close(b);
}

/* Degraded (or etcd unreachable): single use cannot be proven, so no
 * claim; the local file store is never asked. */
static void test_breakglass_claim_refused_when_degraded(void **state)
{
    char dir[128], eps[128];
    pvt_logcap lc;
    pv_state *st;
    pv_err err = { "" };

    (void)state;
    memset(&lc, 0, sizeof lc);
    snprintf(eps, sizeof eps, "http://127.0.0.1:%d", free_port());
    state_dir(dir, sizeof dir, "bg-degraded");
    st = open_etcd(eps, dir, &lc);
    /* no answer at all: refused, and the handle does not degrade for it */
    assert_int_equal(pv_state_etcd_claim(st, "bgd", DIGEST_A, &err), -1);
    assert_false(pv_state_etcd_degraded(st));
    assert_int_equal(failures_of(st, "bgd"), 0);
    assert_true(pv_state_etcd_degraded(st));
    err.msg[0] = '\0';
    assert_int_equal(pv_state_etcd_claim(st, "bgd", DIGEST_B, &err), -1);
    assert_non_null(strstr(err.msg, "state=degraded"));
    pv_state_close(st);
    /* not an etcd store: refused */
    assert_int_equal(pv_state_etcd_claim(NULL, "bgd", DIGEST_A, &err), -1);
}

/* A proxy to the real member that passes each request on and drops its
 * answer (an endpoint that applied a txn and then failed to answer). */
static int read_http(int fd, char *buf, size_t size, size_t *len)
{
    size_t n = 0;
    char *end, *cl;
    long want;

    while ((end = memmem(buf, n, "\r\n\r\n", 4)) == NULL) {
        ssize_t r = read(fd, buf + n, size - 1 - n);

        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
    }
    cl = strcasestr(buf, "content-length:");
    want =
        (long)(end + 4 - buf) + (cl != NULL ? strtol(cl + 15, NULL, 10) : 0);
    while ((long)n < want && n < size - 1) {
        ssize_t r = read(fd, buf + n, size - 1 - n);

        if (r <= 0)
            return -1;
        n += (size_t)r;
    }
    *len = n;
    return 0;
}

static void lossy_serve(int fd)
{
    static char req[65536], resp[65536];
    struct sockaddr_in a;
    size_t n, m;
    int up;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((unsigned short)etcd.client_port);
    if (read_http(fd, req, sizeof req, &n) != 0)
        return;
    up = socket(AF_INET, SOCK_STREAM, 0);
    if (up < 0 || connect(up, (struct sockaddr *)&a, sizeof a) != 0 ||
        write(up, req, n) != (ssize_t)n) {
        if (up >= 0)
            close(up);
        return;
    }
    (void)read_http(up, resp, sizeof resp, &m); /* applied; answer dropped */
    close(up);
}

static pid_t lossy_start(char *url, size_t size)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    pid_t pid;

    assert_true(ls >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &len), 0);
    assert_int_equal(listen(ls, 16), 0);
    snprintf(url, size, "http://127.0.0.1:%d", ntohs(a.sin_port));
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
            _exit(1);
        for (;;) {
            int fd = accept(ls, NULL, NULL);

            if (fd < 0)
                _exit(0);
            lossy_serve(fd);
            close(fd);
        }
    }
    close(ls);
    return pid;
}

/* The claim was applied by an endpoint whose answer was lost; the next
 * endpoint's compare then fails on the key this very handle created:
 * recognised as this claim (its nonce), not as a use elsewhere. */
static void test_breakglass_claim_lost_answer(void **state)
{
    char url[64], eps[160], dir[128];
    pv_state *st;
    pv_err err = { "" };
    pid_t pid = lossy_start(url, sizeof url);

    (void)state;
    snprintf(eps, sizeof eps, "%s %s", url, etcd.endpoint);
    state_dir(dir, sizeof dir, "bg-lost");
    st = open_etcd(eps, dir, NULL);
    assert_int_equal(pv_state_etcd_claim(st, "bgl", DIGEST_C, &err), 0);
    assert_int_equal(pv_state_etcd_claim(st, "bgl", DIGEST_C, &err), 1);
    assert_false(pv_state_etcd_degraded(st));
    /* the proxy took the first request, the member the rest */
    assert_true(pv_state_etcd_requests(st) >= 3);
    pv_state_close(st);
    fake_stop(pid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_decode),
        cmocka_unit_test(test_base64_round_trip),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_read_update_round_trip),
        cmocka_unit_test(test_other_handle_sees_updates),
        cmocka_unit_test(test_grant_not_read_from_etcd),
        cmocka_unit_test(test_unchanged_and_empty_record),
        cmocka_unit_test(test_abort_and_bad_user),
        cmocka_unit_test(test_corrupt_value_reads_empty),
        cmocka_unit_test(test_concurrent_updates_count_exactly),
        cmocka_unit_test(test_revoked_lease_is_replaced),
        cmocka_unit_test(test_logins_of_a_host_share_one_lease),
        cmocka_unit_test(test_broken_answers_degrade),
        cmocka_unit_test(test_endless_conflict_is_an_error),
        cmocka_unit_test(test_next_endpoint_on_failure),
        cmocka_unit_test(test_unreachable_is_degraded_to_file),
        cmocka_unit_test(test_local_failure_is_not_degraded),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_list_users),
        cmocka_unit_test(test_breakglass_claim_never_expires),
        cmocka_unit_test(test_breakglass_claim_refused_when_degraded),
        cmocka_unit_test(test_breakglass_claim_lost_answer),
    };

    return cmocka_run_group_tests(tests, start_etcd, stop_etcd);
}
