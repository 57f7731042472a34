/* pv_http.c - module side of the HTTP transport: runs phoneverify-http.
 *
 * The helper is started with fork + execve and an EMPTY environment, so
 * nothing the calling user put in the environment (proxy variables,
 * SSLKEYLOGFILE, CURL_CA_BUNDLE, OPENSSL_CONF, HOME/.netrc, ...) reaches
 * libcurl or the TLS library: sudo and su run PAM with the caller's
 * environment.  It also keeps libcurl's threads, SIGPIPEs and memory out
 * of the PAM application.
 *
 * No signal handler is installed here; waits use poll and waitpid with
 * WNOHANG, every one bounded. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "pv_helper_proto.h"
#include "pv_http.h"
#include "pv_util.h"

#define MAX_SECONDS 3600L          /* clamp for timeouts from the config */
#define MARGIN_SECONDS 2L          /* slack on top of libcurl's limits */
#define REAP_WAIT_MS 1000          /* grace for a helper told to stop */
#define KILL_WAIT_MS 5000          /* bound on reaping after SIGKILL */

struct pv_http {
    pv_http_opts o;                /* strings owned, wiped on free */
    int fd;                        /* parent end of the socketpair, or -1 */
    pid_t pid;                     /* running helper, or -1 */
    long connects_done;            /* from helpers that already ended */
    long connects_cur;             /* running count of the current one */
};

static long clamp_seconds(long v, long dflt)
{
    if (v <= 0)
        return dflt;
    return v > MAX_SECONDS ? MAX_SECONDS : v;
}

/* An empty value means "not set" (proxy "" is no proxy, cafile "" the
 * system CAs), as for a key absent from the configuration. */
static int copy_opt(const char **dst, const char *src)
{
    *dst = NULL;
    if (src == NULL || src[0] == '\0')
        return 0;
    *dst = pv_strdup(src);
    return *dst == NULL ? -1 : 0;
}

static void free_opts(pv_http_opts *o)
{
    pv_free_secret((char *)o->helper);
    pv_free_secret((char *)o->cafile);
    pv_free_secret((char *)o->capath);
    pv_free_secret((char *)o->pinned_pubkey);
    pv_free_secret((char *)o->client_cert);
    pv_free_secret((char *)o->client_key);
    pv_free_secret((char *)o->proxy);   /* may carry user:password */
    memset(o, 0, sizeof(*o));
}

pv_http *pv_http_new(const pv_http_opts *opts)
{
    pv_http *h;

    if (opts == NULL || (h = calloc(1, sizeof(*h))) == NULL)
        return NULL;
    h->fd = -1;
    h->pid = -1;
    /* A zero or negative timeout would mean "no limit" to libcurl; the
     * config validates ranges, this is only a backstop. */
    h->o.timeout = clamp_seconds(opts->timeout, 10);
    h->o.connect_timeout = clamp_seconds(opts->connect_timeout, 5);
    if (copy_opt(&h->o.helper, opts->helper) < 0 ||
        copy_opt(&h->o.cafile, opts->cafile) < 0 ||
        copy_opt(&h->o.capath, opts->capath) < 0 ||
        copy_opt(&h->o.pinned_pubkey, opts->pinned_pubkey) < 0 ||
        copy_opt(&h->o.client_cert, opts->client_cert) < 0 ||
        copy_opt(&h->o.client_key, opts->client_key) < 0 ||
        copy_opt(&h->o.proxy, opts->proxy) < 0) {
        free_opts(&h->o);
        free(h);
        return NULL;
    }
    return h;
}

/* ---- helper process lifecycle ---------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Reap pid, waiting at most wait_ms.  1 reaped (or gone: an application
 * SIGCHLD handler may have reaped it first), 0 still running. */
static int reap(pid_t pid, long wait_ms)
{
    long waited = 0;

    for (;;) {
        pid_t r = waitpid(pid, NULL, WNOHANG);

        if (r == pid || (r < 0 && errno == ECHILD))
            return 1;
        if (r < 0 && errno != EINTR)
            return 1;   /* cannot wait for it: nothing more we can do */
        if (r < 0)
            continue;
        if (waited >= wait_ms)
            return 0;
        sleep_ms(10);
        waited += 10;
    }
}

/* End the helper: close its socket (it exits on EOF), give it grace_ms,
 * then SIGKILL.  Never leaves a zombie or a descriptor behind. */
static void stop_helper(pv_http *h, long grace_ms)
{
    if (h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
    if (h->pid > 0) {
        if (!reap(h->pid, grace_ms)) {
            kill(h->pid, SIGKILL);
            /* SIGKILL cannot be ignored, so this ends promptly; the bound
             * only matters for a process stuck in the kernel. */
            (void)reap(h->pid, KILL_WAIT_MS);
        }
    }
    h->pid = -1;
    h->connects_done += h->connects_cur;
    h->connects_cur = 0;
}

/* Highest descriptor number that could be open, for kernels without
 * close_range (before 5.9).  Read before fork: in the child only
 * async-signal-safe calls are allowed. */
static int fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > (1u << 20))
        return 1 << 20;
    return (int)rl.rlim_cur;
}

static void close_from(int lowfd, int maxfd)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowfd, ~0U, 0) == 0)
        return;
#endif
    for (int fd = lowfd; fd < maxfd; fd++)
        (void)close(fd);
}

/* In the child between fork and execve: only async-signal-safe calls,
 * since the PAM application may be multithreaded. */
static void child_exec(int sock, const char *path, int maxfd)
{
    static char *const argv[] = { (char *)"phoneverify-http", NULL };
    static char *const envp[] = { NULL };
    struct sigaction sa;
    sigset_t none;
    int nul;

    /* Move the socket above 2 first, so the dup2s below cannot clobber it
     * and always clear close-on-exec on 0 and 1. */
    if (sock < 3 && (sock = fcntl(sock, F_DUPFD, 3)) < 0)
        _exit(127);
    if (dup2(sock, 0) < 0 || dup2(sock, 1) < 0)
        _exit(127);
    nul = open("/dev/null", O_WRONLY);
    if (nul < 0 || (nul != 2 && dup2(nul, 2) < 0))
        _exit(127);
    close_from(3, maxfd);
    /* PAM applications may block or ignore signals; an ignored disposition
     * and the mask survive execve, so give the helper a clean slate. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        (void)sigaction(sig, &sa, NULL);   /* KILL/STOP/RT-internal fail */
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, NULL);
    execve(path, argv, envp);
    _exit(127);
}

static int send_setup(pv_http *h, int64_t deadline)
{
    const pv_http_opts *o = &h->o;
    pv_proto_msg m;
    int rc = -1;

    memset(&m, 0, sizeof(m));
    if (pv_proto_add_str(&m, PV_F_MSG, "setup") < 0 ||
        pv_proto_add_long(&m, PV_F_TIMEOUT, o->timeout) < 0 ||
        pv_proto_add_long(&m, PV_F_CONNECT_TIMEOUT, o->connect_timeout) < 0 ||
        (o->cafile && pv_proto_add_str(&m, PV_F_CAFILE, o->cafile) < 0) ||
        (o->capath && pv_proto_add_str(&m, PV_F_CAPATH, o->capath) < 0) ||
        (o->pinned_pubkey &&
         pv_proto_add_str(&m, PV_F_PINNED, o->pinned_pubkey) < 0) ||
        (o->client_cert &&
         pv_proto_add_str(&m, PV_F_CLIENT_CERT, o->client_cert) < 0) ||
        (o->client_key &&
         pv_proto_add_str(&m, PV_F_CLIENT_KEY, o->client_key) < 0) ||
        (o->proxy && pv_proto_add_str(&m, PV_F_PROXY, o->proxy) < 0))
        goto out;
    rc = pv_proto_send(h->fd, &m, deadline);
out:
    pv_proto_clear(&m);
    return rc;
}

static int start_helper(pv_http *h, int64_t deadline)
{
    int sv[2], maxfd = fd_limit();
    pid_t pid;

    if (h->o.helper == NULL || h->o.helper[0] != '/')
        return -1;   /* never a PATH search */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    if (pid == 0)
        child_exec(sv[1], h->o.helper, maxfd);
    close(sv[1]);
    h->fd = sv[0];
    h->pid = pid;
    h->connects_cur = 0;
    /* A helper that could not be executed shows up as EPIPE here or EOF
     * at the first response; either way PV_HTTP_E_HELPER. */
    if (send_setup(h, deadline) < 0) {
        stop_helper(h, 0);
        return -1;
    }
    return 0;
}

/* A helper may have ended between requests (idle limit, OOM killer):
 * reap it so the next request starts a fresh one. */
static void drop_if_exited(pv_http *h)
{
    if (h->pid > 0 && reap(h->pid, 0)) {
        h->pid = -1;
        stop_helper(h, 0);
    }
}

/* ---- requests -------------------------------------------------------- */

static int add_opt_str(pv_proto_msg *m, uint8_t tag, const char *v)
{
    return v == NULL ? 0 : pv_proto_add_str(m, tag, v);
}

static int build_request(pv_proto_msg *m, const pv_http_request *req)
{
    size_t i;

    if (req->url == NULL || pv_proto_add_str(m, PV_F_MSG, "request") < 0 ||
        pv_proto_add_str(m, PV_F_URL, req->url) < 0 ||
        add_opt_str(m, PV_F_CONTENT_TYPE, req->content_type) < 0 ||
        add_opt_str(m, PV_F_AUTHORIZATION, req->authorization) < 0 ||
        add_opt_str(m, PV_F_CAPTCHA, req->captcha_token) < 0)
        return -1;
    if (req->n_form == 0)
        return req->body == NULL ? 0 :
               pv_proto_add(m, PV_F_BODY, req->body, req->body_len);
    if (req->form_names == NULL || req->form_values == NULL)
        return -1;
    for (i = 0; i < req->n_form; i++) {
        if (req->form_names[i] == NULL || req->form_values[i] == NULL ||
            pv_proto_add_str(m, PV_F_FORM_NAME, req->form_names[i]) < 0 ||
            pv_proto_add_str(m, PV_F_FORM_VALUE, req->form_values[i]) < 0)
            return -1;
    }
    return 0;
}

static pv_proto_field *find_field(pv_proto_msg *m, uint8_t tag)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        if (m->fields[i].tag == tag)
            return &m->fields[i];
    return NULL;
}

static int field_long(const pv_proto_msg *m, uint8_t tag, long min, long max,
                      long *out)
{
    const pv_proto_field *f = pv_proto_get(m, tag);

    return f == NULL ? -1 : pv_parse_long(f->value, min, max, out);
}

/* Check the helper's answer field by field; anything off means the helper
 * is broken or not ours, and the caller kills it. */
static int parse_response(pv_http *h, pv_proto_msg *m, pv_http_response *resp)
{
    const pv_proto_field *msg = pv_proto_get(m, PV_F_MSG);
    pv_proto_field *body = find_field(m, PV_F_RESP_BODY);
    long st, code, ms, conns;

    if (msg == NULL || strcmp(msg->value, "response") != 0 ||
        field_long(m, PV_F_STATUS, PV_HTTP_OK, PV_HTTP_E_OTHER, &st) < 0 ||
        field_long(m, PV_F_HTTP_CODE, 0, 999, &code) < 0 ||
        field_long(m, PV_F_ELAPSED_MS, 0, 86400000L, &ms) < 0 ||
        field_long(m, PV_F_CONNECTS, h->connects_cur, 1000000L, &conns) < 0 ||
        st == PV_HTTP_E_HELPER ||
        (body != NULL && body->len > PV_HTTP_MAX_RESPONSE))
        return -1;
    resp->status = (enum pv_http_status)st;
    resp->http_code = st == PV_HTTP_OK ? code : 0;
    resp->elapsed_ms = ms;
    h->connects_cur = conns;
    if (body != NULL && st == PV_HTTP_OK) {
        resp->body = body->value;   /* take ownership */
        resp->body_len = body->len;
        body->value = NULL;
        body->len = 0;
    }
    return 0;
}

/* One request/response exchange with a running helper.  0 answered,
 * -1 the helper failed us (it is then killed by the caller). */
static int exchange(pv_http *h, const pv_http_request *req,
                    pv_http_response *resp, int64_t deadline)
{
    pv_proto_msg m;
    int rc;

    memset(&m, 0, sizeof(m));
    rc = build_request(&m, req);
    if (rc < 0) {
        pv_proto_clear(&m);
        resp->status = PV_HTTP_E_OTHER;   /* our request, not the helper */
        return 0;
    }
    rc = pv_proto_send(h->fd, &m, deadline);
    pv_proto_clear(&m);   /* wipes authorization and body */
    if (rc < 0 || pv_proto_recv(h->fd, &m, deadline) < 0)
        return -1;
    rc = parse_response(h, &m, resp);
    pv_proto_clear(&m);
    return rc;
}

int pv_http_post(pv_http *h, const pv_http_request *req,
                 pv_http_response *resp)
{
    int64_t deadline;

    memset(resp, 0, sizeof(*resp));
    resp->status = PV_HTTP_E_HELPER;   /* fail closed until proven */
    if (h == NULL || req == NULL)
        return -1;
    deadline = pv_monotonic_ms() +
               (h->o.timeout + h->o.connect_timeout + MARGIN_SECONDS) * 1000;
    drop_if_exited(h);
    if (h->pid < 0 && start_helper(h, deadline) < 0)
        return -1;
    if (exchange(h, req, resp, deadline) < 0) {
        pv_http_response_clear(resp);
        /* Missing the module's own deadline is local (the caller may
         * have stopped the helper): never a network timeout. */
        resp->status = PV_HTTP_E_HELPER;
        stop_helper(h, 0);   /* SIGKILL now: it is stuck or lying */
        return -1;
    }
    return resp->status == PV_HTTP_OK ? 0 : -1;
}

void pv_http_response_clear(pv_http_response *resp)
{
    if (resp == NULL)
        return;
    if (resp->body != NULL) {
        pv_wipe(resp->body, resp->body_len);
        free(resp->body);
    }
    memset(resp, 0, sizeof(*resp));
}

void pv_http_free(pv_http *h)
{
    if (h == NULL)
        return;
    stop_helper(h, REAP_WAIT_MS);
    free_opts(&h->o);
    free(h);
}

long pv_http_connects(const pv_http *h)
{
    return h == NULL ? 0 : h->connects_done + h->connects_cur;
}

const char *pv_http_status_name(enum pv_http_status st)
{
    switch (st) {
    case PV_HTTP_OK: return "ok";
    case PV_HTTP_E_CONNECT: return "connect";
    case PV_HTTP_E_TIMEOUT: return "timeout";
    case PV_HTTP_E_TOOBIG: return "toobig";
    case PV_HTTP_E_TLS: return "tls";
    case PV_HTTP_E_URL: return "url";
    case PV_HTTP_E_HELPER: return "helper";
    case PV_HTTP_E_OTHER: return "other";
    }
    return "unknown";
}
