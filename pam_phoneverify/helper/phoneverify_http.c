/* phoneverify_http.c - the network helper run by pam_phoneverify.
 *
 * Started by the module (pv_http.c, through pv_spawn) with an empty
 * environment and one AF_UNIX socket as fd 0 and fd 1; when the module
 * runs as root, as the unprivileged helper_user, in a session of its own,
 * with the module's resource limits.  It makes itself not dumpable (exec
 * undid the module's setting) and opens no file the module trusts: the CA
 * bundle and client certificate and key arrive as data in the setup.
 *
 * One helper serves every user of the transport in a login (the provider
 * clients and the etcd state backend): each is a profile (1..
 * PV_PROTO_MAX_PROFILES, pv_helper_proto.h), defined once by a "setup"
 * message naming it, at any point.  Each profile has its OWN libcurl easy
 * handle, set up from its own setup message and never changed afterwards:
 * its connection cache and TLS session cache are the handle's, so the
 * send and verify calls to the provider share one TCP connection and one
 * TLS handshake, the etcd requests another, and a request is never
 * performed with another profile's CA, pinned key, client certificate or
 * proxy.  "request" messages name their profile and are answered one at a
 * time, echoing the request's number and profile.
 *
 * Exit status: 0 socket closed or idle limit, 1 start-up failure,
 * 2 protocol violation from the socket, 3 cannot answer. */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include "helper/pv_curl_class.h"
#include "helper/pv_curl_url.h"
#include "transport/pv_helper_proto.h"
#include "transport/pv_http.h"
#include "base/pv_util.h"

#define SETUP_WAIT_MS 10000L /* the module sends a setup right away */
#define IDLE_MS \
    600000L                   /* a code lives 600 s; the module simply
                                  * starts a new helper if we are gone */
#define ANSWER_WAIT_MS 10000L /* the module is waiting for us */
#define MAX_SECONDS 3600L
#define FORM_TYPE "application/x-www-form-urlencoded"

enum {
    EXIT_PROTO = 2,
    EXIT_ANSWER = 3
};

struct body_buf {
    char *data; /* PV_HTTP_MAX_RESPONSE + 1 bytes */
    size_t len;
    int toobig; /* our cap, not a libcurl failure */
};

/* One profile: a handle of its own, set up once. */
struct profile {
    CURL *curl;    /* NULL: not set up yet */
    char *proxy;   /* the configured proxy, for a failed proxy lookup */
    long connects; /* running CURLINFO_NUM_CONNECTS sum of this handle */
};

struct session {
    struct profile prof[PV_PROTO_MAX_PROFILES + 1]; /* [0] unused */
    struct body_buf body; /* one transfer at a time: shared */
};

struct result {
    enum pv_http_status status;
    long http_code;
    long elapsed_ms;
    const char *error; /* static text, never secrets */
};

/* ---- small checks ---------------------------------------------------- */

/* A field that will be used as a C string must not hide a NUL. */
static const char *field_str(const pv_proto_msg *m, uint8_t tag)
{
    const pv_proto_field *f = pv_proto_get(m, tag);

    if (f == NULL || strlen(f->value) != f->len)
        return NULL;
    return f->value;
}

static int is_msg(const pv_proto_msg *m, const char *name)
{
    const char *v = field_str(m, PV_F_MSG);

    return v != NULL && strcmp(v, name) == 0;
}

static int tags_within(const pv_proto_msg *m, const uint8_t *allowed,
                       size_t n_allowed)
{
    size_t i, j;

    for (i = 0; i < m->n; i++) {
        for (j = 0; j < n_allowed; j++)
            if (m->fields[i].tag == allowed[j])
                break;
        if (j == n_allowed)
            return 0;
    }
    return 1;
}

/* A header value must not smuggle CR/LF (header injection) or other
 * control bytes into the request. */
static int header_value_ok(const pv_proto_field *f)
{
    uint32_t i;

    for (i = 0; i < f->len; i++) {
        unsigned char c = (unsigned char)f->value[i];

        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* ---- session set-up --------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct body_buf *b = ud;
    size_t n = size * nmemb;

    /* Abort the transfer past the cap (bodies without Content-Length,
     * or a server lying about it): returning short is a write error. */
    if (n > PV_HTTP_MAX_RESPONSE - b->len) {
        b->toobig = 1;
        return 0;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return n;
}

#define SET(c, opt, val)                                     \
    do {                                                     \
        if (curl_easy_setopt((c), (opt), (val)) != CURLE_OK) \
            return -1;                                       \
    } while (0)

/* Options that hold for every request of the session.  Any refusal is
 * fatal: running with a security option silently missing is worse. */
static int set_fixed(CURL *c, struct body_buf *b)
{
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(c, CURLOPT_PROTOCOLS_STR, "https,http");
    /* "" is refused by libcurl; redirects are never followed anyway. */
    SET(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
    SET(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTPS | CURLPROTO_HTTP));
    SET(c, CURLOPT_REDIR_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    SET(c, CURLOPT_FOLLOWLOCATION, 0L);
    SET(c, CURLOPT_NOSIGNAL, 1L);
    SET(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(c, CURLOPT_SSL_VERIFYPEER, 1L);
    SET(c, CURLOPT_SSL_VERIFYHOST, 2L);
    SET(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    SET(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PV_HTTP_MAX_RESPONSE);
    SET(c, CURLOPT_WRITEFUNCTION, on_body);
    SET(c, CURLOPT_WRITEDATA, b);
    SET(c, CURLOPT_USERAGENT, "pam_phoneverify");
    SET(c, CURLOPT_POST, 1L);
    return 0;
}

static int set_limits(CURL *c, const pv_proto_msg *m)
{
    long t, ct;

    if (pv_parse_long(field_str(m, PV_F_TIMEOUT), 1, MAX_SECONDS, &t) < 0 ||
        pv_parse_long(field_str(m, PV_F_CONNECT_TIMEOUT), 1, MAX_SECONDS,
                      &ct) < 0)
        return -1;
    SET(c, CURLOPT_TIMEOUT, t);
    SET(c, CURLOPT_CONNECTTIMEOUT, ct);
    /* A trickling server must not stretch a request: the whole transfer
     * ends within `timeout`, and a stall ends sooner. */
    SET(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    SET(c, CURLOPT_LOW_SPEED_TIME, t < 5 ? t : 5L);
    return 0;
}

/* Set a string option from a setup field when present; an embedded NUL
 * is a protocol violation. */
static int set_opt_field(CURL *c, CURLoption opt, const pv_proto_msg *m,
                         uint8_t tag)
{
    const pv_proto_field *f = pv_proto_get(m, tag);
    const char *v = field_str(m, tag);

    if (f == NULL)
        return 0;
    if (v == NULL || curl_easy_setopt(c, opt, v) != CURLE_OK)
        return -1;
    return 0;
}

/* With the environment empty libcurl would not see proxy variables
 * anyway; "" and NOPROXY "*" make "no proxy" explicit regardless. */
static int set_proxy(CURL *c, const pv_proto_msg *m)
{
    if (pv_proto_get(m, PV_F_PROXY) == NULL) {
        SET(c, CURLOPT_PROXY, "");
        SET(c, CURLOPT_NOPROXY, "*");
        return 0;
    }
    if (set_opt_field(c, CURLOPT_PROXY, m, PV_F_PROXY) < 0)
        return -1;
    /* pam_phoneverify.conf(5): the configured proxy is the only proxy ever used, and for
     * every request: no exceptions, not even loopback. */
    SET(c, CURLOPT_NOPROXY, "");
    return 0;
}

static int count_tag(const pv_proto_msg *m, uint8_t tag)
{
    size_t i;
    int n = 0;

    for (i = 0; i < m->n; i++)
        n += m->fields[i].tag == tag;
    return n;
}

static int tags_at_most_once(const pv_proto_msg *m, const uint8_t *tags,
                             size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (count_tag(m, tags[i]) > 1)
            return 0;
    return 1;
}

/* CA bundle, client certificate and key arrive as data: this process runs
 * unprivileged and opens no file the module trusts.  libcurl copies the
 * blob; the caller wipes the message. */
static int set_blob(CURL *c, CURLoption opt, const pv_proto_msg *m,
                    uint8_t tag)
{
    const pv_proto_field *f = pv_proto_get(m, tag);
    struct curl_blob b;

    if (f == NULL)
        return 0;
    b.data = f->value;
    b.len = f->len;
    b.flags = CURL_BLOB_COPY;
    return curl_easy_setopt(c, opt, &b) == CURLE_OK ? 0 : -1;
}

/* A configured CA replaces the system store, as CURLOPT_CAINFO did. */
static int set_ca(CURL *c, const pv_proto_msg *m)
{
    if (pv_proto_get(m, PV_F_CA_BLOB) == NULL)
        return 0;
    SET(c, CURLOPT_CAINFO, (char *)NULL);
    SET(c, CURLOPT_CAPATH, (char *)NULL);
    return set_blob(c, CURLOPT_CAINFO_BLOB, m, PV_F_CA_BLOB);
}

/* Define the profile a setup message names, on a handle of its own.
 * 0 ready, EXIT_PROTO not a well-formed setup or the profile is already
 * set up (its handle, connections and TLS sessions are never changed), 1
 * libcurl refused an option (or no memory). */
static int profile_setup(struct session *s, const pv_proto_msg *m)
{
    static const uint8_t allowed[] = {
        PV_F_MSG,     PV_F_PROFILE, PV_F_TIMEOUT,   PV_F_CONNECT_TIMEOUT,
        PV_F_CA_BLOB, PV_F_PINNED,  PV_F_CERT_BLOB, PV_F_KEY_BLOB,
        PV_F_PROXY,
    };
    struct profile *p;
    long n;

    if (!is_msg(m, "setup") || !tags_within(m, allowed, sizeof(allowed)) ||
        !tags_at_most_once(m, allowed, sizeof(allowed)) ||
        pv_proto_profile(m, &n) < 0 || s->prof[n].curl != NULL)
        return EXIT_PROTO;
    p = &s->prof[n];
    p->curl = curl_easy_init();
    if (p->curl == NULL || set_fixed(p->curl, &s->body) < 0 ||
        set_limits(p->curl, m) < 0 || set_ca(p->curl, m) < 0 ||
        set_opt_field(p->curl, CURLOPT_PINNEDPUBLICKEY, m, PV_F_PINNED) < 0 ||
        set_blob(p->curl, CURLOPT_SSLCERT_BLOB, m, PV_F_CERT_BLOB) < 0 ||
        set_blob(p->curl, CURLOPT_SSLKEY_BLOB, m, PV_F_KEY_BLOB) < 0 ||
        set_proxy(p->curl, m) < 0)
        return 1;
    if (field_str(m, PV_F_PROXY) != NULL &&
        (p->proxy = strdup(field_str(m, PV_F_PROXY))) == NULL)
        return 1;
    return 0;
}

/* ---- one request ------------------------------------------------------ */

/* Wipe and free a curl_slist (it holds the authorization header). */
static void free_headers(struct curl_slist *l)
{
    struct curl_slist *p;

    for (p = l; p != NULL; p = p->next)
        pv_wipe(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

static int add_header(struct curl_slist **l, const char *name,
                      const pv_proto_field *f, const char *dflt)
{
    const char *v = f != NULL ? f->value : dflt;
    size_t n;
    char *line;
    struct curl_slist *nl;

    if (v == NULL)
        return 0;
    if (f != NULL && (!header_value_ok(f) || strlen(v) != f->len))
        return -1;
    n = strlen(name) + 2 + strlen(v) + 1;
    line = malloc(n);
    if (line == NULL || pv_snprintf(line, n, "%s: %s", name, v) < 0) {
        free(line);
        return -1;
    }
    nl = curl_slist_append(*l, line); /* copies */
    pv_free_secret(line);
    if (nl == NULL)
        return -1;
    *l = nl;
    return 0;
}

/* A header name the module may add (a provider's own, X-Captcha-Token):
 * 1..64 letters, digits and '-', and none that this helper sets itself or
 * that shapes the request (framing, target, credentials, connection). */
static int extra_name_ok(const pv_proto_field *f)
{
    static const char *const reserved[] = {
        "content-type",
        "content-length",
        "transfer-encoding",
        "accept",
        "accept-encoding",
        "authorization",
        "proxy-authorization",
        "expect",
        "host",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "keep-alive",
        "proxy-connection",
        "cookie",
    };
    uint32_t i;

    if (f->len == 0 || f->len > 64 || strlen(f->value) != f->len)
        return 0;
    for (i = 0; i < f->len; i++) {
        unsigned char c = (unsigned char)f->value[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcasecmp(f->value, reserved[i]) == 0)
            return 0;
    return 1;
}

/* The pairs must arrive strictly as NAME, VALUE, NAME, VALUE... */
static int add_extra_headers(struct curl_slist **l, const pv_proto_msg *m)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        const pv_proto_field *f = &m->fields[i];

        if (f->tag != PV_F_HEADER_NAME)
            continue;
        if (i + 1 >= m->n || m->fields[i + 1].tag != PV_F_HEADER_VALUE ||
            !extra_name_ok(f) ||
            add_header(l, f->value, &m->fields[i + 1], NULL) < 0)
            return -1;
    }
    return 0;
}

static struct curl_slist *build_headers(const pv_proto_msg *m, int form)
{
    struct curl_slist *l = NULL;
    const pv_proto_field *ct =
        form ? NULL : pv_proto_get(m, PV_F_CONTENT_TYPE);

    if (add_header(&l, "Content-Type", ct,
                   form ? FORM_TYPE : "application/json") < 0 ||
        add_header(&l, "Accept", NULL, "application/json") < 0 ||
        add_header(&l, "Authorization", pv_proto_get(m, PV_F_AUTHORIZATION),
                   NULL) < 0 ||
        add_extra_headers(&l, m) < 0 ||
        (l = curl_slist_append(l, "Expect:")) == NULL) {
        free_headers(l);
        return NULL;
    }
    return l;
}

/* Append src (n bytes) to the growing body; -1 on ENOMEM. */
static int append(char **buf, size_t *len, const char *src, size_t n)
{
    char *nb = malloc(*len + n + 1);

    if (nb == NULL)
        return -1;
    if (*len > 0)
        memcpy(nb, *buf, *len);
    memcpy(nb + *len, src, n);
    nb[*len + n] = '\0';
    if (*buf != NULL) {
        pv_wipe(*buf, *len); /* old copies held the licence/token */
        free(*buf);
    }
    *buf = nb;
    *len += n;
    return 0;
}

static int append_escaped(CURL *c, char **buf, size_t *len,
                          const pv_proto_field *f)
{
    char *e = curl_easy_escape(c, f->value, (int)f->len);
    int rc;

    if (e == NULL)
        return -1;
    rc = append(buf, len, e, strlen(e));
    pv_wipe(e, strlen(e));
    curl_free(e);
    return rc;
}

/* name=value&name=value with libcurl's escaping; the pairs must arrive
 * strictly as NAME, VALUE, NAME, VALUE... */
static int build_form(CURL *c, const pv_proto_msg *m, char **buf, size_t *len)
{
    size_t i;
    int pairs = 0;

    for (i = 0; i < m->n; i++) {
        const pv_proto_field *f = &m->fields[i];

        if (f->tag != PV_F_FORM_NAME)
            continue;
        if (i + 1 >= m->n || m->fields[i + 1].tag != PV_F_FORM_VALUE)
            return -1;
        if ((pairs++ > 0 && append(buf, len, "&", 1) < 0) ||
            append_escaped(c, buf, len, f) < 0 ||
            append(buf, len, "=", 1) < 0 ||
            append_escaped(c, buf, len, &m->fields[i + 1]) < 0)
            return -1;
    }
    return 0;
}

/* The request body: either BODY as is, or the form.  An empty body is
 * still a POST. */
static int build_body(CURL *c, const pv_proto_msg *m, char **buf, size_t *len)
{
    const pv_proto_field *b = pv_proto_get(m, PV_F_BODY);

    *buf = NULL;
    *len = 0;
    if (count_tag(m, PV_F_FORM_NAME) > 0)
        return build_form(c, m, buf, len);
    if (b != NULL)
        return append(buf, len, b->value, b->len);
    return append(buf, len, "", 0);
}

/* ---- where a failure happened ------------------------------------------ */

/* Our limits and scheduling as the module set them before exec.  Another
 * process of the helper user may change them (prlimit(2), setpriority(2),
 * sched_setscheduler(2) SCHED_IDLE need only the same uid) to make a
 * transfer fail or miss its timeout: a request during which they changed
 * is a local failure, whatever libcurl said.  (It cannot change them back:
 * raising a hard limit or a priority needs a privilege it lacks.) */
static struct rlimit g_limits[RLIM_NLIMITS];
static int g_nice, g_policy;

static void limits_note(void)
{
    for (int r = 0; r < RLIM_NLIMITS; r++)
        if (getrlimit(r, &g_limits[r]) != 0)
            memset(&g_limits[r], 0, sizeof(g_limits[r]));
    errno = 0;
    g_nice = getpriority(PRIO_PROCESS, 0);
    g_policy = sched_getscheduler(0);
}

static int limits_changed(void)
{
    struct rlimit now;
    int nice_now;

    for (int r = 0; r < RLIM_NLIMITS; r++)
        if (getrlimit(r, &now) != 0 || now.rlim_cur != g_limits[r].rlim_cur ||
            now.rlim_max != g_limits[r].rlim_max)
            return 1;
    errno = 0;
    nice_now = getpriority(PRIO_PROCESS, 0);
    return nice_now != g_nice || sched_getscheduler(0) != g_policy;
}

/* libcurl says the name did not resolve but not why: its resolver thread
 * may not have started (no thread, no memory), which is ours.  Ask once
 * more, here in this thread (getaddrinfo(3) starts none), and count only
 * a DNS answer that the name has no address as the network's. */
static enum pv_dns_check dns_check(const char *host)
{
    struct addrinfo hints, *res = NULL;
    int rc;

    if (host == NULL || host[0] == '\0')
        return PV_DNS_UNCHECKED;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, NULL, &hints, &res);
    if (res != NULL)
        freeaddrinfo(res);
    return pv_dns_check_of(rc);
}

/* The host of a URL, or of the proxy (which may lack a scheme). */
static enum pv_dns_check dns_check_url(const char *url, CURLU *parsed)
{
    CURLU *u = parsed != NULL ? parsed : curl_url();
    char *host = NULL;
    enum pv_dns_check r = PV_DNS_UNCHECKED;

    if (u != NULL &&
        (parsed != NULL ||
         curl_url_set(u, CURLUPART_URL, url,
                      CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
             CURLUE_OK) &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        r = dns_check(host);
    curl_free(host);
    if (parsed == NULL)
        curl_url_cleanup(u);
    return r;
}

static enum pv_http_status classify(const struct session *s,
                                    const struct profile *p, CURLcode rc,
                                    CURLU *u)
{
    long os_errno = 0;
    enum pv_dns_check dns = PV_DNS_UNCHECKED;

    if (limits_changed())
        return PV_HTTP_E_LOCAL;
    if (rc == CURLE_OK)
        return PV_HTTP_OK;
    if (curl_easy_getinfo(p->curl, CURLINFO_OS_ERRNO, &os_errno) != CURLE_OK)
        os_errno = 0;
    if (rc == CURLE_COULDNT_RESOLVE_HOST)
        dns = dns_check_url(NULL, u);
    else if (rc == CURLE_COULDNT_RESOLVE_PROXY && p->proxy != NULL)
        dns = dns_check_url(p->proxy, NULL);
    return pv_curl_classify(rc, os_errno, s->body.toobig, dns);
}

/* Run the transfer with the per-request options in place, then detach
 * them so the handle never points at freed (wiped) memory. */
static void perform(struct session *s, struct profile *p, CURLU *u,
                    struct curl_slist *hdrs, const char *body, size_t body_len,
                    struct result *r)
{
    CURL *c = p->curl;
    int64_t t0 = pv_monotonic_ms();
    long code = 0, conns = 0;
    CURLcode rc;

    s->body.len = 0;
    s->body.toobig = 0;
    if (curl_easy_setopt(c, CURLOPT_CURLU, u) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)body_len) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK)
        rc = CURLE_FAILED_INIT;
    else
        rc = curl_easy_perform(c);
    r->elapsed_ms = (long)(pv_monotonic_ms() - t0);
    r->status = classify(s, p, rc, u);
    r->error = rc == CURLE_OK ? NULL : curl_easy_strerror(rc);
    if (r->status == PV_HTTP_E_LOCAL && rc == CURLE_OK)
        r->error = "limits or priority changed during the request";
    if (curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &conns) == CURLE_OK &&
        conns > 0)
        p->connects += conns;
    if (rc == CURLE_OK &&
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
        r->http_code = code;
    (void)curl_easy_setopt(c, CURLOPT_CURLU, NULL);
    (void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    (void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
}

/* 1 a well-formed request message, 0 a protocol violation. */
static int request_shape_ok(const pv_proto_msg *m)
{
    static const uint8_t allowed[] = {
        PV_F_MSG,          PV_F_SEQ,           PV_F_URL,
        PV_F_CONTENT_TYPE, PV_F_AUTHORIZATION, PV_F_BODY,
        PV_F_FORM_NAME,    PV_F_FORM_VALUE,    PV_F_HEADER_NAME,
        PV_F_HEADER_VALUE, PV_F_PROFILE,
    };
    static const uint8_t once[] = {
        PV_F_MSG,          PV_F_SEQ,           PV_F_URL,
        PV_F_CONTENT_TYPE, PV_F_AUTHORIZATION, PV_F_BODY,
    };
    size_t i;

    if (!is_msg(m, "request") || !tags_within(m, allowed, sizeof(allowed)) ||
        pv_proto_get(m, PV_F_URL) == NULL || field_str(m, PV_F_SEQ) == NULL ||
        count_tag(m, PV_F_FORM_NAME) != count_tag(m, PV_F_FORM_VALUE) ||
        count_tag(m, PV_F_HEADER_NAME) != count_tag(m, PV_F_HEADER_VALUE) ||
        (count_tag(m, PV_F_FORM_NAME) > 0 && pv_proto_get(m, PV_F_BODY)))
        return 0;
    for (i = 0; i < sizeof(once); i++)
        if (count_tag(m, once[i]) > 1)
            return 0;
    return 1;
}

static void handle_request(struct session *s, struct profile *p,
                           const pv_proto_msg *m, struct result *r)
{
    CURLU *u = pv_curl_url_checked(field_str(m, PV_F_URL));
    struct curl_slist *hdrs = NULL;
    char *body = NULL;
    size_t body_len = 0;
    int form = count_tag(m, PV_F_FORM_NAME) > 0;

    memset(r, 0, sizeof(*r));
    r->status = PV_HTTP_E_OTHER;
    if (u == NULL) {
        r->status = PV_HTTP_E_URL; /* refused before any connection */
        r->error = "URL refused (https only; http only to loopback)";
        return;
    }
    hdrs = build_headers(m, form);
    if (hdrs == NULL || build_body(p->curl, m, &body, &body_len) < 0)
        r->error = "bad request headers or body";
    else
        perform(s, p, u, hdrs, body, body_len, r);
    free_headers(hdrs);
    if (body != NULL) {
        pv_wipe(body, body_len);
        free(body);
    }
    curl_url_cleanup(u);
}

/* ---- main loop -------------------------------------------------------- */

static int send_answer(struct session *s, const struct profile *p,
                       const char *seq, const char *profile,
                       const struct result *r)
{
    pv_proto_msg a;
    int rc = -1;

    memset(&a, 0, sizeof(a));
    if (pv_proto_add_str(&a, PV_F_MSG, "response") == 0 &&
        pv_proto_add_str(&a, PV_F_SEQ, seq) == 0 &&
        pv_proto_add_str(&a, PV_F_PROFILE, profile) == 0 &&
        pv_proto_add_long(&a, PV_F_STATUS, (long)r->status) == 0 &&
        pv_proto_add_long(&a, PV_F_HTTP_CODE, r->http_code) == 0 &&
        pv_proto_add_long(&a, PV_F_ELAPSED_MS, r->elapsed_ms) == 0 &&
        pv_proto_add_long(&a, PV_F_CONNECTS, p->connects) == 0 &&
        (r->status != PV_HTTP_OK ||
         pv_proto_add(&a, PV_F_RESP_BODY, s->body.data, s->body.len) == 0) &&
        (r->error == NULL || pv_proto_add_str(&a, PV_F_ERROR, r->error) == 0))
        rc = pv_proto_send(1, &a, pv_monotonic_ms() + ANSWER_WAIT_MS);
    pv_proto_clear(&a);
    pv_wipe(s->body.data, s->body.len); /* tokens, verification ids */
    s->body.len = 0;
    return rc;
}

/* Answer one request with the handle of the profile it names (one that
 * was set up: anything else is a protocol violation).  0 answered,
 * EXIT_PROTO, EXIT_ANSWER. */
static int serve_request(struct session *s, pv_proto_msg *m)
{
    struct profile *p;
    struct result r;
    char seq[32], profile[2];
    long n;

    if (!request_shape_ok(m) || pv_proto_profile(m, &n) < 0 ||
        s->prof[n].curl == NULL ||
        pv_strlcpy(seq, field_str(m, PV_F_SEQ), sizeof(seq)) < 0)
        return EXIT_PROTO;
    p = &s->prof[n];
    profile[0] = (char)('0' + n);
    profile[1] = '\0';
    handle_request(s, p, m, &r);
    pv_proto_clear(m); /* wipes authorization and body */
    return send_answer(s, p, seq, profile, &r) < 0 ? EXIT_ANSWER : 0;
}

/* The first message comes right after the start (a setup: a request
 * needs a profile); then each wait is the idle limit. */
static int serve(struct session *s)
{
    int64_t wait = SETUP_WAIT_MS;

    for (;;) {
        pv_proto_msg m;
        int rc;

        if (pv_proto_recv(0, &m, pv_monotonic_ms() + wait) < 0)
            return errno == 0 || (errno == ETIMEDOUT && wait == IDLE_MS)
                       ? 0
                       : EXIT_PROTO;
        wait = IDLE_MS;
        rc = is_msg(&m, "setup") ? profile_setup(s, &m) : serve_request(s, &m);
        pv_proto_clear(&m); /* wipes the key, authorization and body */
        if (rc != 0)
            return rc;
    }
}

static void session_free(struct session *s)
{
    for (int i = 1; i <= PV_PROTO_MAX_PROFILES; i++) {
        struct profile *p = &s->prof[i];

        if (p->curl != NULL)
            curl_easy_cleanup(p->curl);
        if (p->proxy != NULL) {
            pv_wipe(p->proxy, strlen(p->proxy)); /* may hold user:password */
            free(p->proxy);
        }
    }
    if (s->body.data != NULL) {
        pv_wipe(s->body.data, PV_HTTP_MAX_RESPONSE + 1);
        free(s->body.data);
    }
}

int main(void)
{
    struct session s;
    int rc = 1;

    /* Not dumpable: exec made us dumpable again, and this process holds
     * the client keys and the answers.  The module set everything else
     * (ids, session, limits) before exec. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return 1;
    limits_note();
    /* Our own process: a peer that vanished must be an error return from
     * send, not a death by SIGPIPE (libcurl writes to sockets too). */
    signal(SIGPIPE, SIG_IGN);
    memset(&s, 0, sizeof(s));
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    s.body.data = malloc(PV_HTTP_MAX_RESPONSE + 1);
    if (s.body.data != NULL)
        rc = serve(&s);
    session_free(&s);
    curl_global_cleanup();
    return rc;
}
