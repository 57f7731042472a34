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
 * One helper process per login serves every view made on it (the
 * provider transport and the etcd backend's, pv_http_view_new): struct
 * helper is that process, shared and counted; struct pv_http is a view,
 * with its own settings, its own profile number in the helper (given when
 * the view is made, never chosen per request) and its own deadlines.  A
 * view sends its settings before its first request to each helper
 * process it meets (the generation tells a restarted helper from the one
 * it set up), so a helper that died or was killed for one view is simply
 * started again, lazily, by the next request of any view.
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

/* The helper process shared by the views of one login. */
struct helper {
    char *path, *user; /* helper, helper_user (NULL: the default) */
    unsigned refs;     /* views holding it */
    int profiles;      /* profile numbers handed out (1..profiles) */
    int fd;            /* parent end of the socketpair, or -1 */
    pv_child child;    /* running helper (pid -1 when none) */
    unsigned long gen; /* helper processes started so far */
    long seq;          /* number of the last request sent to this one */
};

struct pv_http {
    pv_http_opts o;        /* strings owned, wiped on free */
    struct helper *hp;     /* shared */
    int profile;           /* ours in hp, 1..PV_PROTO_MAX_PROFILES */
    unsigned long set_gen; /* hp->gen our setup went to; 0 none */
    long connects_done;    /* from helpers that already ended */
    long connects_cur;     /* running count in the current one */
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

static void helper_release(struct helper *hp);

/* A helper record for path/user, no process yet. */
static struct helper *helper_new(const char *path, const char *user)
{
    struct helper *hp = calloc(1, sizeof(*hp));

    if (hp == NULL)
        return NULL;
    hp->fd = -1;
    hp->child.pid = -1;
    hp->child.pidfd = -1;
    hp->child.report_fd = -1;
    hp->refs = 1;
    if (copy_opt((const char **)&hp->path, path) < 0 ||
        copy_opt((const char **)&hp->user, user) < 0) {
        helper_release(hp);
        return NULL;
    }
    return hp;
}

static int same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Whether a view of o may join hp: the same program as the same user
 * (doc/architecture.md: otherwise two helpers, as before), and a profile
 * number left. */
static int helper_fits(const struct helper *hp, const pv_http_opts *o)
{
    return same_str(hp->path, o->helper) &&
           same_str(hp->user, o->helper_user) &&
           hp->profiles < PV_PROTO_MAX_PROFILES;
}

static pv_http *view_new(const pv_http_opts *opts, struct helper *share)
{
    pv_http *h;

    if (opts == NULL || (h = calloc(1, sizeof(*h))) == NULL)
        return NULL;
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
        copy_opt(&h->o.proxy, opts->proxy) < 0)
        goto err;
    if (share != NULL && helper_fits(share, &h->o)) {
        share->refs++;
        h->hp = share;
    } else if ((h->hp = helper_new(h->o.helper, h->o.helper_user)) == NULL) {
        goto err;
    }
    h->profile = ++h->hp->profiles;
    return h;
err:
    free_opts(&h->o);
    free(h);
    return NULL;
}

pv_http *pv_http_new(const pv_http_opts *opts)
{
    return view_new(opts, NULL);
}

pv_http *pv_http_view_new(pv_http *base, const pv_http_opts *opts)
{
    return view_new(opts, base != NULL ? base->hp : NULL);
}

/* ---- helper process lifecycle ---------------------------------------- */

/* End the helper: close its socket (it exits on EOF), wait for it at most
 * grace_ms through its pidfd, then SIGKILL whatever is left and reap it.
 * Never leaves a zombie or a descriptor behind.  Every view loses its
 * setup with it (the generation moves on at the next start), and nothing
 * the process wrote can be read any more: its socket is gone. */
static void stop_helper(struct helper *hp, long grace_ms)
{
    if (hp->fd >= 0) {
        close(hp->fd);
        hp->fd = -1;
    }
    if (hp->child.pid > 0 && grace_ms > 0)
        (void)pv_child_wait(&hp->child, pv_monotonic_ms() + grace_ms, NULL);
    pv_child_kill(&hp->child); /* only closes the pidfd when reaped */
}

/* Drop one view's hold; the last one stops the process and frees it. */
static void helper_release(struct helper *hp)
{
    if (hp == NULL || --hp->refs > 0)
        return;
    stop_helper(hp, REAP_WAIT_MS);
    pv_free_secret(hp->path);
    pv_free_secret(hp->user);
    free(hp);
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

/* This view's settings, as its profile, to the running helper. */
static int send_setup(pv_http *h, int64_t deadline)
{
    const pv_http_opts *o = &h->o;
    pv_proto_msg m;
    int rc = -1;

    memset(&m, 0, sizeof(m));
    if (pv_proto_add_str(&m, PV_F_MSG, "setup") < 0 ||
        pv_proto_add_long(&m, PV_F_PROFILE, h->profile) < 0 ||
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
    rc = pv_proto_send(h->hp->fd, &m, deadline);
out:
    pv_proto_clear(&m); /* wipes the key */
    return rc;
}

/* Who the helper runs as: helper_user (it must exist: there is no
 * fallback user, pam_phoneverify.conf(5)); ourselves when we are not
 * root. */
static int helper_identity(const struct helper *hp, pv_spawn_id *id)
{
    const char *name = hp->user ? hp->user : DEFAULT_HELPER_USER;
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

static int spawn_helper(struct helper *hp, int sock)
{
    static char *const argv[] = { (char *)"phoneverify-http", NULL };
    pv_spawn s;
    pv_err err;
    int rc;

    memset(&s, 0, sizeof(s));
    if (helper_identity(hp, &s.id) < 0)
        return -1;
    s.exec_fd = pv_safe_open_exec(hp->path, &err);
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
    rc = pv_spawn_start(&s, &hp->child, &err);
    close(s.exec_fd);
    return rc;
}

/* Start the shared helper process; no setup yet (each view sends its
 * own). */
static int start_helper(struct helper *hp)
{
    int sv[2];

    if (hp->path == NULL || hp->path[0] != '/')
        return -1; /* never a PATH search */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    if (spawn_helper(hp, sv[1]) < 0) {
        close(sv[0]);
        close(sv[1]);
        return -1;
    }
    close(sv[1]);
    hp->fd = sv[0];
    hp->seq = 0;
    hp->gen++;
    return 0;
}

/* A helper may have ended between requests (idle limit, OOM killer, or
 * killed for another view): reap it so the next request starts a fresh
 * one. */
static void drop_if_exited(struct helper *hp)
{
    if (hp->child.pid > 0 &&
        pv_child_wait(&hp->child, 0, NULL) != PV_CHILD_RUNNING)
        stop_helper(hp, 0);
}

/* The running helper has this view's settings after this: sent now when
 * it is a process the view has not set up yet.  A helper that could not
 * be executed shows up as EPIPE here or EOF at the first response;
 * either way PV_HTTP_E_HELPER. */
static int ensure_setup(pv_http *h, int64_t deadline)
{
    if (h->set_gen == h->hp->gen)
        return 0;
    h->connects_done += h->connects_cur; /* counted by an ended helper */
    h->connects_cur = 0;
    if (send_setup(h, deadline) < 0)
        return -1;
    h->set_gen = h->hp->gen;
    return 0;
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

static int build_request(pv_proto_msg *m, const pv_http_request *req, long seq,
                         int profile)
{
    size_t i;

    if (req->url == NULL || pv_proto_add_str(m, PV_F_MSG, "request") < 0 ||
        pv_proto_add_long(m, PV_F_SEQ, seq) < 0 ||
        pv_proto_add_long(m, PV_F_PROFILE, profile) < 0 ||
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
        PV_F_MSG,       PV_F_SEQ,       PV_F_STATUS,
        PV_F_HTTP_CODE, PV_F_RESP_BODY, PV_F_ELAPSED_MS,
        PV_F_CONNECTS,  PV_F_ERROR,     PV_F_PROFILE,
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
    return seen[0] && seen[1] && seen[2] && seen[3] && seen[5] && seen[6] &&
           seen[8];
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
 * the number and the profile of the request it answers. */
static int parse_response(pv_http *h, pv_proto_msg *m, pv_http_response *resp)
{
    const pv_proto_field *msg = pv_proto_get(m, PV_F_MSG);
    pv_proto_field *body = find_field(m, PV_F_RESP_BODY);
    long st, code, ms, conns, seq, profile;

    if (!response_shape_ok(m) || strcmp(msg->value, "response") != 0 ||
        field_long(m, PV_F_SEQ, 1, LONG_MAX, &seq) < 0 || seq != h->hp->seq ||
        pv_proto_profile(m, &profile) < 0 || profile != h->profile ||
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
static int helper_was_stopped(const struct helper *hp)
{
    int stopped = 0;

    for (int i = 0; i < 4 && hp->child.pid > 0; i++) {
        siginfo_t si;

        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)hp->child.pid, &si,
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
    if (unasked_bytes(h->hp->fd))
        return -1;
    rc = build_request(&m, req, ++h->hp->seq, h->profile);
    if (rc < 0) {
        pv_proto_clear(&m);
        return -1; /* no memory, or a request we cannot express */
    }
    rc = pv_proto_send(h->hp->fd, &m, deadline);
    pv_proto_clear(&m); /* wipes authorization and body */
    if (rc < 0 || pv_proto_recv(h->hp->fd, &m, deadline) < 0)
        return -1;
    rc = parse_response(h, &m, resp);
    pv_proto_clear(&m);
    if (rc == 0 && unasked_bytes(h->hp->fd)) {
        pv_http_response_clear(resp);
        return -1; /* a second answer already waiting: not ours */
    }
    if (rc == 0 && helper_was_stopped(h->hp)) {
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
    if (h->o.capath != NULL) {
        /* The helper runs unprivileged and opens no file we trust; a CA
         * directory cannot be handed over as one checked blob. */
        syslog(LOG_AUTHPRIV | LOG_ERR,
               "pam_phoneverify: capath is not "
               "supported (the helper gets its CAs as data): use cafile");
        return -1;
    }
    deadline = pv_monotonic_ms() +
               (h->o.timeout + h->o.connect_timeout + MARGIN_SECONDS) * 1000;
    drop_if_exited(h->hp);
    if (h->hp->child.pid < 0 && start_helper(h->hp) < 0)
        return -1;
    if (ensure_setup(h, deadline) < 0 ||
        exchange(h, req, resp, deadline) < 0) {
        /* Whatever went wrong here is local, the module-side deadline
         * included: libcurl's own limits end well before it.  The other
         * views lose the process too; their next request starts a new
         * one and sets it up again (never an answer of this one). */
        pv_http_response_clear(resp);
        resp->status = PV_HTTP_E_HELPER;
        stop_helper(h->hp, 0); /* SIGKILL now: it is stuck or lying */
        return -1;
    }
    return resp->status == PV_HTTP_OK ? 0 : -1;
}

void pv_http_free(pv_http *h)
{
    if (h == NULL)
        return;
    helper_release(h->hp);
    free_opts(&h->o);
    free(h);
}

long pv_http_connects(const pv_http *h)
{
    return h == NULL ? 0 : h->connects_done + h->connects_cur;
}

unsigned long pv_http_helper_starts(const pv_http *h)
{
    return h == NULL ? 0 : h->hp->gen;
}

int pv_http_shares_helper(const pv_http *a, const pv_http *b)
{
    return a != NULL && b != NULL && a->hp == b->hp;
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

static pv_transport *transport_of(pv_http *h)
{
    pv_transport *t;

    if (h == NULL)
        return NULL;
    if ((t = calloc(1, sizeof(*t))) == NULL) {
        pv_http_free(h);
        return NULL;
    }
    t->impl = h;
    t->ops = &http_transport_ops;
    return t;
}

pv_transport *pv_http_transport_new(const pv_http_opts *opts)
{
    return transport_of(pv_http_new(opts));
}

pv_http *pv_http_of(pv_transport *t)
{
    return t != NULL && t->ops == &http_transport_ops ? t->impl : NULL;
}

pv_transport *pv_http_transport_view(pv_transport *base,
                                     const pv_http_opts *opts)
{
    return transport_of(pv_http_view_new(pv_http_of(base), opts));
}
