/* pv_http.c - module side of the HTTP transport: runs phoneverify-http.
 *
 * The helper is started through pv_spawn (execveat on a descriptor that
 * pv_safe_open_exec checked, parents included) with an EMPTY environment,
 * so nothing the calling user put in the environment (proxy variables,
 * SSLKEYLOGFILE, CURL_CA_BUNDLE, OPENSSL_CONF, HOME/.netrc, ...) reaches
 * libcurl or the TLS library: sudo and su run PAM with the caller's
 * environment.  When we are root it runs as helper_user, so the one
 * process that parses hostile network input holds no privilege; the CA
 * bundle and client certificate/key are read here and sent as data.
 *
 * No signal handler is installed here; every wait (socket, child) is a
 * bounded poll, the child's through its pidfd. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>
#include "transport/pv_helper_proto.h"
#include "transport/pv_http.h"
#include "transport/pv_transport.h"
#include "base/pv_safefile.h"
#include "base/pv_spawn.h"
#include "base/pv_util.h"

#define MAX_SECONDS 3600L /* clamp for timeouts from the config */
#define MARGIN_SECONDS 2L /* slack on top of libcurl's limits */
#define REAP_WAIT_MS 1000 /* grace for a helper told to stop */
#define DEFAULT_HELPER_USER "_phoneverify"
#define TLS_FILE_MAX (1024 * 1024) /* CA bundle, certificate, key */
#define HELPER_CPU_SECONDS 60      /* a login's helper does little work */
#define HELPER_MEM_MIB 1024        /* address space: libcurl, TLS, threads */
#define HELPER_NOFILE 64
#define HELPER_NPROC 1024 /* all helpers of all logins share the user */

struct pv_http {
    pv_http_opts o;     /* strings owned, wiped on free */
    int fd;             /* parent end of the socketpair, or -1 */
    pv_child child;     /* running helper (pid -1 when none) */
    long seq;           /* number of the last request sent */
    long connects_done; /* from helpers that already ended */
    long connects_cur;  /* running count of the current one */
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
    pv_free_secret((char *)o->helper_user);
    pv_free_secret((char *)o->cafile);
    pv_free_secret((char *)o->capath);
    pv_free_secret((char *)o->pinned_pubkey);
    pv_free_secret((char *)o->client_cert);
    pv_free_secret((char *)o->client_key);
    pv_free_secret((char *)o->proxy); /* may carry user:password */
    memset(o, 0, sizeof(*o));
}

pv_http_opts pv_http_opts_make(const char *helper, const char *helper_user,
                               long timeout, long connect_timeout,
                               const char *cafile, const char *client_cert,
                               const char *client_key)
{
    /* the fields not named here are zero: NULL, none */
    pv_http_opts o = {
        .helper = helper,
        .helper_user = helper_user,
        .timeout = timeout,
        .connect_timeout = connect_timeout,
        .cafile = cafile,
        .client_cert = client_cert,
        .client_key = client_key,
    };

    return o;
}

pv_http *pv_http_new(const pv_http_opts *opts)
{
    pv_http *h;

    if (opts == NULL || (h = calloc(1, sizeof(*h))) == NULL)
        return NULL;
    h->fd = -1;
    h->child.pid = -1;
    h->child.pidfd = -1;
    h->child.report_fd = -1;
    /* A zero or negative timeout would mean "no limit" to libcurl; the
     * config validates ranges, this is only a backstop. */
    h->o.timeout = clamp_seconds(opts->timeout, 10);
    h->o.connect_timeout = clamp_seconds(opts->connect_timeout, 5);
    if (copy_opt(&h->o.helper, opts->helper) < 0 ||
        copy_opt(&h->o.helper_user, opts->helper_user) < 0 ||
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

/* End the helper: close its socket (it exits on EOF), wait for it at most
 * grace_ms through its pidfd, then SIGKILL whatever is left and reap it.
 * Never leaves a zombie or a descriptor behind. */
static void stop_helper(pv_http *h, long grace_ms)
{
    if (h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
    if (h->child.pid > 0 && grace_ms > 0)
        (void)pv_child_wait(&h->child, pv_monotonic_ms() + grace_ms, NULL);
    pv_child_kill(&h->child); /* only closes the pidfd when reaped */
    h->connects_done += h->connects_cur;
    h->connects_cur = 0;
}

/* Read a TLS file the module trusts (checked with its parents) and add it
 * to the setup message as data. */
static int add_file_blob(pv_proto_msg *m, uint8_t tag, const char *path,
                         enum pv_file_rule rule)
{
    char *data = NULL;
    size_t len = 0;
    pv_err err;
    int rc;

    if (path == NULL)
        return 0;
    if (pv_safe_read(path, rule, TLS_FILE_MAX, &data, &len, &err) < 0) {
        syslog(LOG_AUTHPRIV | LOG_ERR, "pam_phoneverify: %s", err.msg);
        return -1;
    }
    rc = pv_proto_add(m, tag, data, len);
    pv_wipe(data, len);
    free(data);
    return rc;
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
        add_file_blob(&m, PV_F_CA_BLOB, o->cafile, PV_FILE_PUBLIC) < 0 ||
        (o->pinned_pubkey &&
         pv_proto_add_str(&m, PV_F_PINNED, o->pinned_pubkey) < 0) ||
        add_file_blob(&m, PV_F_CERT_BLOB, o->client_cert, PV_FILE_PUBLIC) <
            0 ||
        add_file_blob(&m, PV_F_KEY_BLOB, o->client_key, PV_FILE_SECRET) < 0 ||
        (o->proxy && pv_proto_add_str(&m, PV_F_PROXY, o->proxy) < 0))
        goto out;
    rc = pv_proto_send(h->fd, &m, deadline);
out:
    pv_proto_clear(&m); /* wipes the key */
    return rc;
}

/* Who the helper runs as: helper_user (it must exist: there is no
 * fallback user, pam_phoneverify.conf(5)); ourselves when we are not
 * root. */
static int helper_identity(const pv_http *h, pv_spawn_id *id)
{
    const char *name =
        h->o.helper_user ? h->o.helper_user : DEFAULT_HELPER_USER;
    pv_err err;

    if (geteuid() != 0) {
        memset(id, 0, sizeof(*id)); /* cannot change: run as ourselves */
        return 0;
    }
    if (pv_spawn_resolve_user(name, id, &err) < 0) {
        syslog(LOG_AUTHPRIV | LOG_ERR, "pam_phoneverify: helper_user: %s",
               err.msg);
        return -1;
    }
    return 0;
}

/* doc/security.md: the helper user must not be able to read the helper,
 * so the kernel keeps every helper not dumpable from its exec on and no
 * other process of that user (an earlier helper that hostile input took
 * over) can trace it.  check-config refuses such a file; this is the same
 * rule on the descriptor that is about to run. */
static int helper_execute_only(int exec_fd, const pv_spawn_id *id)
{
    pv_err err;
    int r = pv_spawn_readable_by(exec_fd, id, &err);

    if (r == 0)
        return 0;
    if (r < 0)
        syslog(LOG_AUTHPRIV | LOG_ERR, "pam_phoneverify: helper: %s", err.msg);
    else
        syslog(LOG_AUTHPRIV | LOG_ERR,
               "pam_phoneverify: helper: readable by group or others "
               "(install it 0711, root-owned)");
    return -1;
}

static int spawn_helper(pv_http *h, int sock)
{
    static char *const argv[] = { (char *)"phoneverify-http", NULL };
    pv_spawn s;
    pv_err err;
    int rc;

    memset(&s, 0, sizeof(s));
    if (helper_identity(h, &s.id) < 0)
        return -1;
    s.exec_fd = pv_safe_open_exec(h->o.helper, &err);
    if (s.exec_fd < 0) {
        syslog(LOG_AUTHPRIV | LOG_ERR, "pam_phoneverify: helper: %s", err.msg);
        return -1;
    }
    if (helper_execute_only(s.exec_fd, &s.id) < 0) {
        close(s.exec_fd);
        return -1;
    }
    s.argv = argv;
    s.fd_in = sock;
    s.fd_out = sock;
    s.cpu_seconds = HELPER_CPU_SECONDS;
    s.mem_mib = HELPER_MEM_MIB;
    s.nofile = HELPER_NOFILE;
    s.nproc = HELPER_NPROC;
    s.fsize = 0;
    s.no_new_privs = 1;
    rc = pv_spawn_start(&s, &h->child, &err);
    close(s.exec_fd);
    return rc;
}

static int start_helper(pv_http *h, int64_t deadline)
{
    int sv[2];

    if (h->o.helper == NULL || h->o.helper[0] != '/')
        return -1; /* never a PATH search */
    if (h->o.capath != NULL) {
        /* The helper runs unprivileged and opens no file we trust; a CA
         * directory cannot be handed over as one checked blob. */
        syslog(LOG_AUTHPRIV | LOG_ERR,
               "pam_phoneverify: capath is not "
               "supported (the helper gets its CAs as data): use cafile");
        return -1;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    if (spawn_helper(h, sv[1]) < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    close(sv[1]);
    h->fd = sv[0];
    h->seq = 0;
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
    if (h->child.pid > 0 &&
        pv_child_wait(&h->child, 0, NULL) != PV_CHILD_RUNNING)
        stop_helper(h, 0);
}

/* ---- requests -------------------------------------------------------- */

static int add_opt_str(pv_proto_msg *m, uint8_t tag, const char *v)
{
    return v == NULL ? 0 : pv_proto_add_str(m, tag, v);
}

static int add_headers(pv_proto_msg *m, const pv_http_request *req)
{
    size_t i;

    if (req->n_headers > 0 && req->headers == NULL)
        return -1;
    for (i = 0; i < req->n_headers; i++) {
        const pv_http_header *h = &req->headers[i];

        if (h->name == NULL || h->value == NULL ||
            pv_proto_add_str(m, PV_F_HEADER_NAME, h->name) < 0 ||
            pv_proto_add_str(m, PV_F_HEADER_VALUE, h->value) < 0)
            return -1;
    }
    return 0;
}

static int build_request(pv_proto_msg *m, const pv_http_request *req, long seq)
{
    size_t i;

    if (req->url == NULL || pv_proto_add_str(m, PV_F_MSG, "request") < 0 ||
        pv_proto_add_long(m, PV_F_SEQ, seq) < 0 ||
        pv_proto_add_str(m, PV_F_URL, req->url) < 0 ||
        add_opt_str(m, PV_F_CONTENT_TYPE, req->content_type) < 0 ||
        add_opt_str(m, PV_F_AUTHORIZATION, req->authorization) < 0 ||
        add_headers(m, req) < 0)
        return -1;
    if (req->n_form == 0)
        return req->body == NULL
                   ? 0
                   : pv_proto_add(m, PV_F_BODY, req->body, req->body_len);
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

/* 1 when every field of the answer is one we expect, each at most once,
 * and the required ones are there. */
static int response_shape_ok(const pv_proto_msg *m)
{
    static const uint8_t allowed[] = {
        PV_F_MSG,       PV_F_SEQ,        PV_F_STATUS,   PV_F_HTTP_CODE,
        PV_F_RESP_BODY, PV_F_ELAPSED_MS, PV_F_CONNECTS, PV_F_ERROR,
    };
    unsigned seen[sizeof(allowed)] = { 0 };
    size_t i, j;

    for (i = 0; i < m->n; i++) {
        for (j = 0; j < sizeof(allowed); j++)
            if (m->fields[i].tag == allowed[j])
                break;
        if (j == sizeof(allowed) || seen[j]++ > 0)
            return 0;
    }
    return seen[0] && seen[1] && seen[2] && seen[3] && seen[5] && seen[6];
}

static int field_long(const pv_proto_msg *m, uint8_t tag, long min, long max,
                      long *out)
{
    const pv_proto_field *f = pv_proto_get(m, tag);

    if (f == NULL || strlen(f->value) != f->len)
        return -1;
    return pv_parse_long(f->value, min, max, out);
}

static pv_proto_field *find_field(pv_proto_msg *m, uint8_t tag)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        if (m->fields[i].tag == tag)
            return &m->fields[i];
    return NULL;
}

/* Check the helper's answer field by field; anything off means the helper
 * is broken or not ours, and the caller kills it.  The answer must carry
 * the number of the request it answers. */
static int parse_response(pv_http *h, pv_proto_msg *m, pv_http_response *resp)
{
    const pv_proto_field *msg = pv_proto_get(m, PV_F_MSG);
    pv_proto_field *body = find_field(m, PV_F_RESP_BODY);
    long st, code, ms, conns, seq;

    if (!response_shape_ok(m) || strcmp(msg->value, "response") != 0 ||
        field_long(m, PV_F_SEQ, 1, LONG_MAX, &seq) < 0 || seq != h->seq ||
        field_long(m, PV_F_STATUS, PV_HTTP_OK, PV_HTTP_E_LOCAL, &st) < 0 ||
        field_long(m, PV_F_HTTP_CODE, 0, 999, &code) < 0 ||
        field_long(m, PV_F_ELAPSED_MS, 0, 86400000L, &ms) < 0 ||
        field_long(m, PV_F_CONNECTS, h->connects_cur, 1000000L, &conns) < 0 ||
        st == PV_HTTP_E_HELPER ||
        (body != NULL &&
         (st != PV_HTTP_OK || body->len > PV_HTTP_MAX_RESPONSE)))
        return -1;
    resp->status = (enum pv_http_status)st;
    resp->http_code = st == PV_HTTP_OK ? code : 0;
    resp->elapsed_ms = ms;
    h->connects_cur = conns;
    if (body != NULL) {
        resp->body = body->value; /* take ownership */
        resp->body_len = body->len;
        body->value = NULL;
        body->len = 0;
    }
    return 0;
}

/* 1 when the helper has sent something nobody asked for (an answer
 * before the request, or bytes after the answer), or hung up. */
static int unasked_bytes(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

    return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
}

/* 1 when the helper was stopped (or stopped and continued) since we last
 * looked.  Only root and processes of the helper user may stop it; a
 * helper held stopped past libcurl's timeout and then continued would
 * report a network timeout it never saw, so any stop makes the answer a
 * local failure.  waitid(2) without WEXITED never reaps it. */
static int helper_was_stopped(const pv_http *h)
{
    int stopped = 0;

    for (int i = 0; i < 4 && h->child.pid > 0; i++) {
        siginfo_t si;

        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)h->child.pid, &si,
                   WSTOPPED | WCONTINUED | WNOHANG) != 0 ||
            si.si_pid == 0)
            break;
        stopped = 1;
    }
    return stopped;
}

/* One request/response exchange with a running helper.  0 answered,
 * -1 the helper failed us (it is then killed by the caller). */
static int exchange(pv_http *h, const pv_http_request *req,
                    pv_http_response *resp, int64_t deadline)
{
    pv_proto_msg m;
    int rc;

    memset(&m, 0, sizeof(m));
    if (unasked_bytes(h->fd))
        return -1;
    rc = build_request(&m, req, ++h->seq);
    if (rc < 0) {
        pv_proto_clear(&m);
        return -1; /* no memory, or a request we cannot express */
    }
    rc = pv_proto_send(h->fd, &m, deadline);
    pv_proto_clear(&m); /* wipes authorization and body */
    if (rc < 0 || pv_proto_recv(h->fd, &m, deadline) < 0)
        return -1;
    rc = parse_response(h, &m, resp);
    pv_proto_clear(&m);
    if (rc == 0 && unasked_bytes(h->fd)) {
        pv_http_response_clear(resp);
        return -1; /* a second answer already waiting: not ours */
    }
    if (rc == 0 && helper_was_stopped(h)) {
        pv_http_response_clear(resp);
        resp->status = PV_HTTP_E_LOCAL;
    }
    return rc;
}

int pv_http_post(pv_http *h, const pv_http_request *req,
                 pv_http_response *resp)
{
    int64_t deadline;

    memset(resp, 0, sizeof(*resp));
    resp->status = PV_HTTP_E_HELPER; /* fail closed until proven */
    if (h == NULL || req == NULL)
        return -1;
    deadline = pv_monotonic_ms() +
               (h->o.timeout + h->o.connect_timeout + MARGIN_SECONDS) * 1000;
    drop_if_exited(h);
    if (h->child.pid < 0 && start_helper(h, deadline) < 0)
        return -1;
    if (exchange(h, req, resp, deadline) < 0) {
        /* Whatever went wrong here is local, the module-side deadline
         * included: libcurl's own limits end well before it. */
        pv_http_response_clear(resp);
        resp->status = PV_HTTP_E_HELPER;
        stop_helper(h, 0); /* SIGKILL now: it is stuck or lying */
        return -1;
    }
    return resp->status == PV_HTTP_OK ? 0 : -1;
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

/* ---- the ops table (pv_transport.h) -------------------------------------- */

static int transport_post(pv_transport *t, const pv_http_request *req,
                          pv_http_response *resp)
{
    return pv_http_post(t->impl, req, resp);
}

static long transport_connects(const pv_transport *t)
{
    return pv_http_connects(t->impl);
}

static void transport_free(pv_transport *t)
{
    pv_http_free(t->impl);
    free(t);
}

static const struct pv_transport_ops http_transport_ops = {
    transport_post,
    transport_connects,
    transport_free,
};

pv_transport *pv_http_transport_new(const pv_http_opts *opts)
{
    pv_transport *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->impl = pv_http_new(opts);
    if (t->impl == NULL) {
        free(t);
        return NULL;
    }
    t->ops = &http_transport_ops;
    return t;
}
