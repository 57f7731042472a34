/* pv_state_etcd.c - `state = etcd` over etcd's v3 JSON gateway.
 *
 * See pv_state_etcd.h for the contract.  Integers of the gateway (int64)
 * arrive as JSON strings and are absent when zero (proto3 JSON), so
 * "succeeded" missing from a txn answer means the compare failed.
 *
 * A txn whose answer was lost (timeout, reset, 5xx) may still have been
 * applied.  Re-running the callback then would count one failure twice, so
 * every value written carries a random nonce (getrandom(2)), and after
 * such an attempt the current value (the failure branch of the next txn)
 * is checked for exactly what this attempt wrote, nonce included: no
 * other writer produces that value.  The nonce is written as a grace
 * grant that has ended ("grant <64 hex> 0 0" before "end"): every version
 * of the record parser reads that line, and none honours it (a grant read
 * from etcd is dropped, an ended one never counts), so hosts of an older
 * version in the same fleet read these records as before.
 *
 * Leases (doc/fleet.md): a host reuses one lease for every write in a
 * time bucket; its id and bucket are kept in <state_dir>/:etcd-lease
 * (root's, 0600, under flock), and a new one is granted when the bucket
 * turns or etcd says the lease is gone.  Its TTL is the bucket plus the
 * longest window a record serves plus a margin, so a record written at
 * any moment of the bucket lives as long as it must; live leases are a
 * few per host, whatever the number of logins.
 *
 * Round trips (doc/fleet.md): the first read of a handle is serializable
 * (one member's copy: every later write is a compare-and-swap, which a
 * stale copy only makes fail); a record it shows with failures or a lock
 * is read again linearizably before anyone decides on it.  A txn whose
 * compare fails returns the key's current value in its failure branch, so
 * a conflict costs one round trip.  A write that only keeps the pending
 * code id, the last send or the pre-check cache is kept back and goes out
 * with the next write of the login (the guess), or when the handle is
 * closed.
 *
 * Over 800 lines on purpose: the compare-and-swap loop, the degraded
 * fallback and the probe share one private handle (endpoints, lease,
 * cached revisions) that no other file may see; split, that handle would
 * have to become an interface of its own. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/pv_base64.h"
#include "transport/pv_http.h"
#include "transport/pv_transport.h"
#include "base/pv_json.h"
#include "state/pv_state_etcd.h"
#include "state/pv_state_file.h"
#include "base/pv_log.h"
#include "base/pv_safefile.h"
#include "base/pv_util.h"

#define LEASE_ID_MAX 24 /* decimal int64 and NUL */
#define INT64_DIGITS_MAX 19
#define EMPTY_RECORD "pv-state 1\nend\n"
#define PROBE_LEASE_TTL 60L
#define BACKOFF_FIRST_MS 4L /* after the first conflict, doubling */
#define BACKOFF_MAX_MS 128L
#define NONCE_BYTES 32
/* "grant <64 hex> 0 0\n" before the final "end\n" */
#define NONCE_LINE \
    (sizeof "grant " - 1 + 2 * NONCE_BYTES + sizeof " 0 0\n" - 1)
#define LEASE_FILE ":etcd-lease" /* no user name has ':' */
#define LEASE_FILE_MAX 512
#define LEASE_FILE_LINES 4 /* configurations sharing one state dir */
#define LEASE_TAG_HEX 16
/* Deferrable fields of a record (a write changing only these waits). */
#define DEF_PENDING 1u
#define DEF_LAST_SENT 2u
#define DEF_PRECHECK 4u
#define DEF_ALL (DEF_PENDING | DEF_LAST_SENT | DEF_PRECHECK)

/* One key as a range answer showed it. */
struct etcd_kv {
    int exists;
    long long mod_revision;
    char lease[LEASE_ID_MAX]; /* "" when none */
    char *value;              /* decoded, NUL-terminated, wiped */
    size_t value_len;
};

struct etcd_backend {
    pv_transport *http;
    char *endpoints[PV_STATE_ETCD_MAX_ENDPOINTS];
    size_t n_endpoints;
    size_t good; /* endpoint that answered last */
    char *prefix;
    char *state_dir;
    long lease_ttl;
    char lease_id[LEASE_ID_MAX]; /* "" until granted */
    pv_state *local;             /* file store once degraded */
    int degraded;
    int pinned;     /* probe: only endpoint `good` */
    int lease_gone; /* etcd said: requested lease not found */
    /* A request failed for want of this host's resources (ports,
     * descriptors, threads, memory; pv_http_status_is_local): no etcd
     * outage, so no degraded store (a local user could cause it, and the
     * local store would lose fleet-wide counts and break-glass claims). */
    int local_failure;
    long requests;
    long failed_calls; /* requests without a usable answer */
    /* The key as this handle last read or wrote it: an update right after
     * (the usual case within one login) compares against it without a
     * range first; a stale copy only costs a failed compare and a read. */
    char *cache_key; /* NULL: nothing cached */
    struct etcd_kv cache;
    long bucket_len;                   /* seconds of one lease bucket */
    char lease_tag[LEASE_TAG_HEX + 1]; /* the cluster the lease is of */
    char gone_lease[LEASE_ID_MAX];     /* a lease etcd said is gone */
    long lease_lock_ms;                /* wait for the lease file lock */
    int read_done;                     /* later reads: linearizable */
    /* A write kept back (only deferrable fields): of user ov_user, the
     * fields ov_fields of ov. */
    char *ov_user;
    pv_state_record ov;
    unsigned ov_fields;
};

/* What the last write of an update put, to recognise it after a lost
 * answer. */
struct last_write {
    int ambiguous;          /* an attempt may have been applied */
    long long old_revision; /* what that attempt compared against */
    char *value;            /* as written: the nonce line included */
    size_t value_len;
    int force;   /* write even a change of deferrable fields only */
    int written; /* an attempt wrote (what was kept back went with it) */
};

static const struct pv_state_ops etcd_ops;

static struct etcd_backend *backend(pv_state *st)
{
    return st->backend;
}

static void kv_clear(struct etcd_kv *kv)
{
    if (kv->value != NULL) {
        pv_wipe(kv->value, kv->value_len);
        free(kv->value);
    }
    memset(kv, 0, sizeof *kv);
}

static void last_write_clear(struct last_write *lw)
{
    if (lw->value != NULL) {
        pv_wipe(lw->value, lw->value_len);
        free(lw->value);
    }
    memset(lw, 0, sizeof *lw);
}

/* Forget the last attempt's value (a new attempt), keeping the flags of
 * the whole update. */
static void last_write_clear_value(struct last_write *lw)
{
    int force = lw->force, written = lw->written;

    last_write_clear(lw);
    lw->force = force;
    lw->written = written;
}

static void cache_drop(struct etcd_backend *b)
{
    free(b->cache_key);
    b->cache_key = NULL;
    kv_clear(&b->cache);
}

/* Remember key as holding value (NULL: absent) at mod_revision; on ENOMEM
 * nothing is remembered, which is always safe. */
static void cache_store(struct etcd_backend *b, const char *key,
                        const char *value, size_t len, long long revision)
{
    cache_drop(b);
    if (value != NULL && revision <= 0)
        return; /* revision unknown: a read will do */
    b->cache_key = pv_strdup(key);
    if (b->cache_key == NULL)
        return;
    b->cache.exists = value != NULL;
    b->cache.mod_revision = value != NULL ? revision : 0;
    if (value == NULL)
        return;
    b->cache.value = malloc(len + 1);
    if (b->cache.value == NULL) {
        cache_drop(b);
        return;
    }
    memcpy(b->cache.value, value, len);
    b->cache.value[len] = '\0';
    b->cache.value_len = len;
}

/* kv as cached for key; 0 when there is no usable copy. */
static int cache_get(struct etcd_backend *b, const char *key,
                     struct etcd_kv *kv)
{
    memset(kv, 0, sizeof *kv);
    if (b->cache_key == NULL || strcmp(b->cache_key, key) != 0)
        return 0;
    if (!b->cache.exists)
        return 1;
    kv->value = malloc(b->cache.value_len + 1);
    if (kv->value == NULL)
        return 0;
    memcpy(kv->value, b->cache.value, b->cache.value_len + 1);
    kv->value_len = b->cache.value_len;
    kv->mod_revision = b->cache.mod_revision;
    kv->exists = 1;
    return 1;
}

/* ---- base64 and JSON helpers ----------------------------------------- */

/* malloc'd base64 of len bytes; NULL on ENOMEM. */
static char *b64(const void *data, size_t len)
{
    size_t size = (len + 2) / 3 * 4 + 1;
    char *out = malloc(size);

    if (out != NULL && pv_base64(data, len, out, size) != 0) {
        free(out);
        out = NULL;
    }
    return out;
}

/* Add key: base64(data) to obj.  0 ok, -1 ENOMEM. */
static int add_b64(cJSON *obj, const char *key, const void *data, size_t len)
{
    char *v = b64(data, len);
    int rc = -1;

    if (v != NULL && cJSON_AddStringToObject(obj, key, v) != NULL)
        rc = 0;
    pv_free_secret(v);
    return rc;
}

/* Canonical non-negative decimal of at most 19 digits. */
static int parse_int64_text(const char *s, long long *out)
{
    size_t n = strlen(s), i;
    long long v = 0;

    if (n == 0 || n > INT64_DIGITS_MAX || (n > 1 && s[0] == '0'))
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (0x7fffffffffffffffLL - (s[i] - '0')) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* An int64 member: a string of digits (how the gateway writes int64), or
 * absent, which proto3 JSON means as 0.  0 ok, -1 mistyped. */
static int json_int64(const cJSON *obj, const char *key, long long *out)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

    *out = 0;
    if (it == NULL)
        return 0;
    if (cJSON_IsString(it))
        return parse_int64_text(it->valuestring, out);
    if (cJSON_IsNumber(it) && it->valuedouble >= 0 &&
        it->valuedouble < 9007199254740992.0 &&
        it->valuedouble == (double)(long long)it->valuedouble) {
        *out = (long long)it->valuedouble;
        return 0;
    }
    return -1;
}

/* ---- one request, endpoints in order ---------------------------------- */

/* Fills err; returns 1 when etcd said the lease is gone (revoked, or
 * expired under a long login), 0 otherwise. */
static int describe_failure(const pv_http_response *resp, const char *url,
                            pv_err *err)
{
    char detail[160] = "";
    int lease_gone = 0;

    switch (resp->status) {
    case PV_HTTP_OK:
        break;
    case PV_HTTP_E_TLS:
        pv_err_set(err,
                   "etcd %s: TLS failure (does the server certificate "
                   "verify against state_cafile, and does etcd accept "
                   "state_client_cert?)",
                   url);
        return 0;
    case PV_HTTP_E_CONNECT:
        pv_err_set(err,
                   "etcd %s: connection failed or closed (etcd not "
                   "running there, or it refused the client certificate: "
                   "check state_client_cert/state_client_key)",
                   url);
        return 0;
    case PV_HTTP_E_TIMEOUT:
        pv_err_set(err, "etcd %s: no answer within state_timeout", url);
        return 0;
    case PV_HTTP_E_OTHER:
        pv_err_set(err,
                   "etcd %s: transfer failed (a TLS alert from etcd: "
                   "does it accept state_client_cert?)",
                   url);
        return 0;
    default:
        pv_err_set(err, "etcd %s: %s", url, pv_http_status_name(resp->status));
        return 0;
    }
    if (resp->body != NULL) {
        cJSON *root = pv_json_parse_object(resp->body, resp->body_len);
        const char *m = root != NULL ? pv_json_string(root, "message") : NULL;

        if (m == NULL && root != NULL)
            m = pv_json_string(root, "error");
        if (m != NULL) {
            lease_gone = strstr(m, "lease not found") != NULL;
            pv_sanitize(detail, sizeof detail, m);
        }
        pv_json_free(root);
    }
    pv_err_set(err, "etcd %s: HTTP %ld%s%s", url, resp->http_code,
               detail[0] != '\0' ? ": " : "", detail);
    return lease_gone;
}

/* POST body to endpoint i + path.  0 with *answer (a JSON object of a 200
 * answer), -1 with err. */
static int call_endpoint(struct etcd_backend *b, size_t i, const char *path,
                         const char *body, cJSON **answer, pv_err *err)
{
    char url[1024];
    pv_http_request req;
    pv_http_response resp;
    int rc = -1;

    *answer = NULL;
    if (pv_snprintf(url, sizeof url, "%s%s", b->endpoints[i], path) < 0) {
        pv_err_set(err, "etcd: endpoint URL too long");
        return -1;
    }
    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    req.url = url;
    req.content_type = "application/json";
    req.body = body;
    req.body_len = strlen(body);
    b->requests++;
    (void)pv_transport_post(b->http, &req, &resp);
    if (resp.status == PV_HTTP_OK && resp.http_code == 200) {
        *answer = pv_json_parse_object(resp.body, resp.body_len);
        if (*answer != NULL)
            rc = 0;
        else
            pv_err_set(err, "etcd %s: answer to %s is not a JSON object",
                       b->endpoints[i], path);
    } else if (describe_failure(&resp, b->endpoints[i], err)) {
        b->lease_gone = 1;
    }
    if (pv_http_status_is_local(resp.status)) {
        b->local_failure = 1;
        pv_err_set(err,
                   "etcd %s: local failure on this host (%s): not an etcd "
                   "outage",
                   b->endpoints[i], pv_http_status_name(resp.status));
    }
    if (rc != 0)
        b->failed_calls++;
    pv_http_response_clear(&resp);
    return rc;
}

/* Try the endpoint that answered last, then the others in order. */
static int etcd_call(struct etcd_backend *b, const char *path,
                     const char *body, cJSON **answer, pv_err *err)
{
    size_t k, n = b->pinned ? 1 : b->n_endpoints;

    for (k = 0; k < n; k++) {
        size_t i = (b->good + k) % b->n_endpoints;

        if (call_endpoint(b, i, path, body, answer, err) == 0) {
            b->good = i;
            return 0;
        }
        if (b->local_failure)
            break; /* the next endpoint would fail the same way */
    }
    return -1;
}

/* Print req (then freed, wiping what it held) and call path. */
static int etcd_call_json(struct etcd_backend *b, const char *path, cJSON *req,
                          cJSON **answer, pv_err *err)
{
    char *body = req != NULL ? cJSON_PrintUnformatted(req) : NULL;
    int rc;

    pv_json_free(req);
    if (body == NULL) {
        pv_err_set(err, "etcd: out of memory");
        return -1;
    }
    rc = etcd_call(b, path, body, answer, err);
    pv_free_secret(body);
    return rc;
}

/* ---- keys, range, lease, txn ------------------------------------------ */

/* malloc'd state_prefix + "user/" + user, or state_prefix + "health" for
 * provider entry health (PV_STATE_HEALTH_NAME: outside "user/", so no
 * listing of users sees it). */
static char *user_key(const struct etcd_backend *b, const char *user,
                      pv_err *err)
{
    size_t n = strnlen(user, PV_STATE_USER_MAX + 1);
    size_t size = strlen(b->prefix) + sizeof "user/" + n;
    char *key;

    if (strcmp(user, PV_STATE_HEALTH_NAME) == 0) {
        size = strlen(b->prefix) + sizeof "health";
        key = malloc(size);
        if (key == NULL || pv_snprintf(key, size, "%shealth", b->prefix) < 0) {
            free(key);
            pv_err_set(err, "state: out of memory");
            return NULL;
        }
        return key;
    }

    if (n == 0 || n > PV_STATE_USER_MAX) {
        pv_err_set(err, "state: user name is empty or longer than %d bytes",
                   PV_STATE_USER_MAX);
        return NULL;
    }
    key = malloc(size);
    if (key == NULL ||
        pv_snprintf(key, size, "%suser/%s", b->prefix, user) < 0) {
        free(key);
        pv_err_set(err, "state: out of memory");
        return NULL;
    }
    return key;
}

static int decode_value(const cJSON *item, struct etcd_kv *kv)
{
    const char *v = cJSON_IsString(item) ? item->valuestring : "";
    size_t len = strlen(v);

    if (item != NULL && !cJSON_IsString(item))
        return -1;
    kv->value = malloc(PV_BASE64_DECODED_MAX(len) + 1);
    if (kv->value == NULL ||
        pv_base64_decode(v, len, (unsigned char *)kv->value,
                         PV_BASE64_DECODED_MAX(len), &kv->value_len) != 0)
        return -1;
    kv->value[kv->value_len] = '\0';
    return 0;
}

/* Fill kv from a range answer for one key. */
static int parse_range(const cJSON *answer, struct etcd_kv *kv)
{
    const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(answer, "kvs");
    const cJSON *item, *lease;
    long long lease_id;

    memset(kv, 0, sizeof *kv);
    if (kvs == NULL || (cJSON_IsArray(kvs) && cJSON_GetArraySize(kvs) == 0))
        return 0;
    if (!cJSON_IsArray(kvs) || cJSON_GetArraySize(kvs) != 1)
        return -1;
    item = cJSON_GetArrayItem(kvs, 0);
    lease = cJSON_GetObjectItemCaseSensitive(item, "lease");
    if (!cJSON_IsObject(item) ||
        json_int64(item, "mod_revision", &kv->mod_revision) != 0 ||
        kv->mod_revision <= 0 || json_int64(item, "lease", &lease_id) != 0 ||
        decode_value(cJSON_GetObjectItemCaseSensitive(item, "value"), kv) != 0)
        return -1;
    if (lease != NULL && lease_id != 0)
        (void)pv_snprintf(kv->lease, sizeof kv->lease, "%lld", lease_id);
    kv->exists = 1;
    return 0;
}

/* A range of key: linearizable, or with serializable set from the
 * member's own copy (may be behind; no round of the leader). */
static int range_key(struct etcd_backend *b, const char *key,
                     struct etcd_kv *kv, int serializable, pv_err *err)
{
    cJSON *req = cJSON_CreateObject(), *answer = NULL;
    int rc;

    if (req != NULL && (add_b64(req, "key", key, strlen(key)) != 0 ||
                        (serializable && cJSON_AddTrueToObject(
                                             req, "serializable") == NULL))) {
        pv_json_free(req);
        req = NULL;
    }
    if (etcd_call_json(b, "/v3/kv/range", req, &answer, err) != 0)
        return -1;
    rc = parse_range(answer, kv);
    pv_json_free(answer);
    if (rc != 0) {
        kv_clear(kv);
        cache_drop(b);
        pv_err_set(err, "etcd: unusable range answer");
        return -1;
    }
    cache_store(b, key, kv->exists ? kv->value : NULL, kv->value_len,
                kv->mod_revision);
    return 0;
}

static int grant_lease(struct etcd_backend *b, long ttl, char *id, size_t size,
                       pv_err *err)
{
    cJSON *req = cJSON_CreateObject(), *answer = NULL;
    long long v = 0;
    int rc = -1;

    if (req != NULL &&
        cJSON_AddNumberToObject(req, "TTL", (double)ttl) == NULL) {
        pv_json_free(req);
        req = NULL;
    }
    if (etcd_call_json(b, "/v3/lease/grant", req, &answer, err) != 0)
        return -1;
    if (json_int64(answer, "ID", &v) == 0 && v > 0 &&
        pv_snprintf(id, size, "%lld", v) >= 0)
        rc = 0;
    else
        pv_err_set(err, "etcd: unusable lease grant answer");
    pv_json_free(answer);
    return rc;
}

/* ---- the host's lease of this time bucket ------------------------------- */

/* state_dir (created 0700 when missing), checked up to "/" like every
 * directory the module trusts.  fd or -1 with err. */
static int lease_dir(const char *state_dir, pv_err *err)
{
    int made = mkdir(state_dir, 0700) == 0, fd;
    uid_t uid = geteuid();

    if (!made && errno != EEXIST) {
        pv_err_set(err, "state_dir %s: cannot create", state_dir);
        return -1;
    }
    if (pv_safe_check_dir(state_dir, err) != 0)
        return -1;
    fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        pv_err_set(err, "state_dir %s: cannot open", state_dir);
        return -1;
    }
    /* root:root and 0700 whatever the caller's group and umask */
    if (made && (fchown(fd, uid, uid == 0 ? 0 : getegid()) != 0 ||
                 fchmod(fd, 0700) != 0)) {
        pv_err_set(err, "state_dir %s: cannot set owner and mode", state_dir);
        close(fd);
        return -1;
    }
    return fd;
}

/* <state_dir>/:etcd-lease opened and locked (flock, shared by every
 * login of the host): a private regular file of this user, or refused
 * (a lease id planted by someone else could make records expire early).
 * fd or -1 with err. */
static int lease_file_open(const struct etcd_backend *b, pv_err *err)
{
    int dfd = lease_dir(b->state_dir, err), fd;
    struct stat sb;

    if (dfd < 0)
        return -1;
    fd = openat(dfd, LEASE_FILE,
                O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
                    O_NONBLOCK,
                0600);
    close(dfd);
    if (fd < 0) {
        pv_err_set(err, "%s/%s: cannot open", b->state_dir, LEASE_FILE);
        return -1;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
        sb.st_uid != geteuid() || (sb.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        pv_err_set(err,
                   "%s/%s: not a private regular file owned by this "
                   "user; not used",
                   b->state_dir, LEASE_FILE);
        close(fd);
        return -1;
    }
    /* root:root even when created under su or sudo with the caller's
     * group (the group has no access: only tidiness) */
    if (geteuid() == 0 && sb.st_gid != 0 && fchown(fd, 0, 0) != 0)
        sb.st_gid = 0;
    if (pv_flock_until(fd, pv_monotonic_ms() + b->lease_lock_ms, 16) != 0) {
        pv_err_set(err, "%s/%s: lock not taken", b->state_dir, LEASE_FILE);
        close(fd);
        return -1;
    }
    return fd;
}

/* The line the lease file holds for this cluster, bucket and TTL, up to
 * the lease id: "pv-etcd-lease 1 <tag> <bucket> <ttl> ". */
static int lease_line_head(const struct etcd_backend *b, long long bucket,
                           char *out, size_t size)
{
    return pv_snprintf(out, size, "pv-etcd-lease 1 %s %lld %ld ", b->lease_tag,
                       bucket, b->lease_ttl);
}

/* 1 when the line (n bytes, no '\n') is a lease of this cluster and
 * TTL, of any bucket: the one line put replaces.  Other configurations
 * sharing the state dir (another cluster, other windows) keep theirs, so
 * that logins alternating between them do not grant a lease each. */
static int lease_line_mine(const struct etcd_backend *b, const char *line,
                           size_t n)
{
    char head[64], ttl[32];
    size_t hl, tl, d;

    if (pv_snprintf(head, sizeof head, "pv-etcd-lease 1 %s ", b->lease_tag) <
            0 ||
        pv_snprintf(ttl, sizeof ttl, " %ld ", b->lease_ttl) < 0)
        return 0;
    hl = strlen(head);
    tl = strlen(ttl);
    if (n < hl || memcmp(line, head, hl) != 0)
        return 0;
    for (d = hl; d < n && line[d] >= '0' && line[d] <= '9'; d++)
        ;
    return n - d >= tl && memcmp(line + d, ttl, tl) == 0;
}

/* The lease id kept for this bucket into id: 1, else 0 (none, another
 * bucket, TTL or cluster, or unreadable). */
static int lease_file_get(int fd, const struct etcd_backend *b,
                          long long bucket, char *id, size_t size)
{
    char head[128], *text = NULL, *line, *nl;
    size_t len = 0, hl;
    long long v;
    pv_err e;
    int rc = 0;

    if (lease_line_head(b, bucket, head, sizeof head) < 0 ||
        pv_safe_read_fd(fd, LEASE_FILE, LEASE_FILE_MAX, 0, &text, &len, &e) !=
            0)
        return 0;
    hl = strlen(head);
    for (line = text; rc == 0 && (nl = strchr(line, '\n')) != NULL;
         line = nl + 1) {
        *nl = '\0';
        if ((size_t)(nl - line) > hl && memcmp(line, head, hl) == 0 &&
            parse_int64_text(line + hl, &v) == 0 && v > 0 &&
            pv_snprintf(id, size, "%lld", v) >= 0)
            rc = 1;
    }
    free(text);
    return rc;
}

/* Keep id as the lease of this bucket, with the lines of other
 * configurations (LEASE_FILE_LINES in all), rewritten in place under the
 * lock: a torn file only costs a new grant. */
static void lease_file_put(int fd, const struct etcd_backend *b,
                           long long bucket, const char *id)
{
    char out[LEASE_FILE_MAX], *text = NULL, *line, *nl;
    size_t len = 0, o, kept = 1;
    int n = lease_line_head(b, bucket, out, sizeof out);
    pv_err e;

    if (n < 0 || pv_snprintf(out + n, sizeof out - (size_t)n, "%s\n", id) < 0)
        return;
    o = strlen(out);
    if (pv_safe_read_fd(fd, LEASE_FILE, LEASE_FILE_MAX, 0, &text, &len, &e) ==
        0) {
        for (line = text; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
            size_t ln = (size_t)(nl - line) + 1;

            if (kept == LEASE_FILE_LINES || o + ln >= sizeof out)
                break;
            if (lease_line_mine(b, line, ln - 1) ||
                strncmp(line, "pv-etcd-lease 1 ", 16) != 0)
                continue;
            memcpy(out + o, line, ln);
            o += ln;
            kept++;
        }
        free(text);
    }
    if (ftruncate(fd, 0) == 0)
        (void)!pwrite(fd, out, o, 0);
}

/* The lease every write of this handle carries: the host's lease of the
 * current bucket from the lease file, else a new one (kept there for the
 * host's other logins).  Without a usable lease file the handle takes a
 * lease of its own (logged): records still expire, only the bound on
 * live leases is lost. */
static int ensure_lease(pv_state *st, struct etcd_backend *b, pv_err *err)
{
    long long bucket = (long long)time(NULL) / b->bucket_len;
    pv_err why;
    int fd, rc;

    if (b->lease_id[0] != '\0')
        return 0;
    pv_err_clear(&why);
    fd = lease_file_open(b, &why);
    if (fd >= 0 &&
        lease_file_get(fd, b, bucket, b->lease_id, sizeof b->lease_id) &&
        strcmp(b->lease_id, b->gone_lease) != 0) {
        close(fd);
        return 0;
    }
    b->lease_id[0] = '\0';
    if (fd < 0)
        pv_logf(&st->logger, LOG_WARNING,
                "state: etcd lease file: %s; this login takes a lease of "
                "its own",
                why.msg);
    rc = grant_lease(b, b->lease_ttl, b->lease_id, sizeof b->lease_id, err);
    if (rc == 0 && fd >= 0)
        lease_file_put(fd, b, bucket, b->lease_id);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* {"key": k, "target": "MOD", "mod_revision": rev} or, for a key that
 * does not exist yet, "CREATE" with create_revision 0. */
static cJSON *compare_item(const char *key, long long revision)
{
    cJSON *c = cJSON_CreateObject();
    char rev[LEASE_ID_MAX];

    if (c == NULL || add_b64(c, "key", key, strlen(key)) != 0 ||
        pv_snprintf(rev, sizeof rev, "%lld", revision) < 0 ||
        cJSON_AddStringToObject(c, "result", "EQUAL") == NULL ||
        cJSON_AddStringToObject(c, "target",
                                revision > 0 ? "MOD" : "CREATE") == NULL ||
        cJSON_AddStringToObject(
            c, revision > 0 ? "mod_revision" : "create_revision", rev) ==
            NULL) {
        pv_json_free(c);
        return NULL;
    }
    return c;
}

/* request_put of value with lease (none when lease is NULL: a key that
 * never expires), or request_delete_range when value is NULL (an empty
 * record is not kept). */
static cJSON *write_op(const char *key, const char *value, size_t len,
                       const char *lease)
{
    cJSON *op = cJSON_CreateObject();
    cJSON *inner = cJSON_CreateObject();

    if (op == NULL || inner == NULL)
        goto err;
    if (!cJSON_AddItemToObject(
            op, value != NULL ? "request_put" : "request_delete_range",
            inner)) {
        goto err;
    }
    if (add_b64(inner, "key", key, strlen(key)) != 0)
        goto err_attached;
    if (value != NULL && add_b64(inner, "value", value, len) != 0)
        goto err_attached;
    if (value != NULL && lease != NULL &&
        cJSON_AddStringToObject(inner, "lease", lease) == NULL)
        goto err_attached;
    return op;
err:
    pv_json_free(inner);
err_attached:
    pv_json_free(op);
    return NULL;
}

/* {"request_range": {"key": key}}: the failure branch of a txn, so a
 * failed compare brings the current value back in the same answer. */
static cJSON *range_op(const char *key)
{
    cJSON *op = cJSON_CreateObject();
    cJSON *inner = cJSON_CreateObject();

    if (op == NULL || inner == NULL ||
        !cJSON_AddItemToObject(op, "request_range", inner)) {
        pv_json_free(inner);
        pv_json_free(op);
        return NULL;
    }
    if (add_b64(inner, "key", key, strlen(key)) != 0) {
        pv_json_free(op);
        return NULL;
    }
    return op;
}

/* The key as the failure branch of a txn showed it (responses[0]
 * .response_range): 0 with *cur, -1 when the answer does not show it
 * (then the next attempt reads). */
static int parse_failure(const cJSON *answer, struct etcd_kv *cur)
{
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(answer, "responses");
    const cJSON *range;

    memset(cur, 0, sizeof *cur);
    if (!cJSON_IsArray(resp) || cJSON_GetArraySize(resp) != 1)
        return -1;
    range = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(resp, 0),
                                             "response_range");
    if (!cJSON_IsObject(range) || parse_range(range, cur) != 0) {
        kv_clear(cur);
        return -1;
    }
    return 0;
}

/* The compare-and-swap: put value with lease (NULL: none) if key is still
 * at revision, else read it.  1 applied (*new_rev: the store's revision
 * after it, 0 if not shown), 0 compare failed (*cur: the key now, when
 * cur is set and the answer showed it; cur->mod_revision 0 and !exists
 * when absent), -1 err (no answer). */
static int txn_put(struct etcd_backend *b, const char *key, long long revision,
                   const char *value, size_t len, const char *lease,
                   long long *new_rev, struct etcd_kv *cur, int *have_cur,
                   pv_err *err)
{
    cJSON *req = cJSON_CreateObject(), *answer = NULL;
    cJSON *compare = cJSON_AddArrayToObject(req, "compare");
    cJSON *success = cJSON_AddArrayToObject(req, "success");
    cJSON *failure = cJSON_AddArrayToObject(req, "failure");
    cJSON *c = compare_item(key, revision);
    cJSON *op = write_op(key, value, len, lease);
    cJSON *rd = range_op(key);
    int ok = 0;

    *have_cur = 0;
    if (compare == NULL || success == NULL || failure == NULL || c == NULL ||
        op == NULL || rd == NULL) {
        pv_json_free(c);
        pv_json_free(op);
        pv_json_free(rd);
        pv_json_free(req);
        pv_err_set(err, "etcd: out of memory");
        return -1;
    }
    cJSON_AddItemToArray(compare, c);
    cJSON_AddItemToArray(success, op);
    cJSON_AddItemToArray(failure, rd);
    if (etcd_call_json(b, "/v3/kv/txn", req, &answer, err) != 0)
        return -1;
    if (cJSON_GetObjectItemCaseSensitive(answer, "succeeded") != NULL &&
        pv_json_bool(answer, "succeeded", &ok) != 0) {
        pv_json_free(answer);
        pv_err_set(err, "etcd: unusable txn answer");
        return -1;
    }
    if (json_int64(cJSON_GetObjectItemCaseSensitive(answer, "header"),
                   "revision", new_rev) != 0)
        *new_rev = 0;
    if (!ok && cur != NULL && parse_failure(answer, cur) == 0)
        *have_cur = 1;
    pv_json_free(answer);
    return ok ? 1 : 0;
}

/* txn_put with the handle's lease. */
static int txn_write(struct etcd_backend *b, const char *key,
                     long long revision, const char *value, size_t len,
                     long long *new_rev, struct etcd_kv *cur, int *have_cur,
                     pv_err *err)
{
    return txn_put(b, key, revision, value, len, b->lease_id, new_rev, cur,
                   have_cur, err);
}

/* ---- degraded mode ---------------------------------------------------- */

/* Go over to the local file store for the rest of this handle. */
static int degrade(pv_state *st, const pv_err *why, pv_err *err)
{
    struct etcd_backend *b = backend(st);

    if (b->degraded)
        return 0;
    if (b->local_failure) {
        pv_logf(&st->logger, LOG_ERR, "state: %s", why->msg);
        pv_err_set(err, "%s", why->msg);
        return -1;
    }
    if (pv_state_file_open(b->state_dir, &b->local, err) != 0) {
        pv_logf(&st->logger, LOG_ERR,
                "state=degraded local store unusable: %s", err->msg);
        return -1;
    }
    b->local->logger = st->logger;
    b->local->lock_wait_ms = st->lock_wait_ms;
    b->degraded = 1;
    pv_logf(&st->logger, LOG_WARNING,
            "state=degraded store=file reason=\"%s\"", why->msg);
    return 0;
}

/* ---- ops ---------------------------------------------------------------- */

/* Parse kv into rec; a corrupt record reads as empty, logged.  Grace
 * grants live on the host that granted them: one in etcd is forged. */
static void kv_record(pv_state *st, const char *user, const struct etcd_kv *kv,
                      pv_state_record *rec)
{
    char safe[96];

    pv_state_record_clear(rec);
    if (!kv->exists || kv->value_len == 0)
        return;
    if (pv_state_record_parse(kv->value, kv->value_len, rec) != 0) {
        pv_sanitize(safe, sizeof safe, user);
        pv_logf(&st->logger, LOG_WARNING,
                "state record of %s in etcd is corrupt; "
                "ignored (treated as empty)",
                safe);
    }
    pv_state_grants_drop(rec); /* the nonce line among them */
}

/* ---- writes kept back -------------------------------------------------- */

/* Copy the deferrable fields named in f from src to dst; with at_least,
 * last_sent only ever moves later (as pv_flow_code.c's pending write). */
static void def_copy(pv_state_record *dst, const pv_state_record *src,
                     unsigned f, int at_least)
{
    if (f & DEF_PENDING) {
        memcpy(dst->pending_id, src->pending_id, sizeof dst->pending_id);
        memcpy(dst->pending_to, src->pending_to, sizeof dst->pending_to);
        dst->pending_expires = src->pending_expires;
        dst->pending_entry = src->pending_entry;
    }
    if ((f & DEF_LAST_SENT) && (!at_least || src->last_sent > dst->last_sent))
        dst->last_sent = src->last_sent;
    if (f & DEF_PRECHECK) {
        memcpy(dst->precheck_key, src->precheck_key, sizeof dst->precheck_key);
        dst->precheck_until = src->precheck_until;
    }
}

/* 1 when a and b format to the same text (-1: cannot tell). */
static int same_record(const pv_state_record *a, const pv_state_record *b)
{
    char *ta = NULL, *tb = NULL;
    size_t la = 0, lb = 0;
    int rc = -1;

    if (pv_state_record_format(a, &ta, &la) == 0 &&
        pv_state_record_format(b, &tb, &lb) == 0)
        rc = la == lb && memcmp(ta, tb, la) == 0;
    if (ta != NULL)
        pv_wipe(ta, la);
    if (tb != NULL)
        pv_wipe(tb, lb);
    free(ta);
    free(tb);
    return rc;
}

/* The deferrable fields after changed from before, when nothing else
 * did; 0 when anything else changed (or nothing at all). */
static unsigned deferrable_change(const pv_state_record *before,
                                  const pv_state_record *after)
{
    pv_state_record *tmp = malloc(sizeof *tmp);
    unsigned f = 0, bit;

    if (tmp == NULL)
        return 0;
    *tmp = *after;
    def_copy(tmp, before, DEF_ALL, 0);
    if (same_record(tmp, before) == 1) {
        for (bit = DEF_PENDING; bit <= DEF_PRECHECK; bit <<= 1) {
            *tmp = *before;
            def_copy(tmp, after, bit, 0);
            if (same_record(tmp, before) == 0)
                f |= bit;
        }
    }
    pv_state_record_clear(tmp);
    free(tmp);
    return f;
}

/* Put what this handle kept back for user onto rec (read or about to be
 * written). */
static void overlay_apply(const struct etcd_backend *b, const char *user,
                          pv_state_record *rec)
{
    if (b->ov_user != NULL && strcmp(b->ov_user, user) == 0)
        def_copy(rec, &b->ov, b->ov_fields, 1);
}

static void overlay_clear(struct etcd_backend *b)
{
    free(b->ov_user);
    b->ov_user = NULL;
    pv_state_record_clear(&b->ov);
    b->ov_fields = 0;
}

/* ---- reads ---------------------------------------------------------------- */

/* A record no decision to refuse can rest on: no failures, no lock, no
 * voided grants.  Only such a record is taken from a serializable read. */
static int record_clean(const pv_state_record *rec)
{
    return rec->n_failures == 0 && rec->locked_until == 0 &&
           rec->grants_void == 0;
}

static int etcd_read(pv_state *st, const char *user, pv_state_record *rec,
                     pv_err *err)
{
    struct etcd_backend *b = backend(st);
    struct etcd_kv kv;
    int serializable = !b->read_done;
    char *key;
    pv_err why;

    if (b->degraded)
        return pv_state_read(b->local, user, rec, err);
    if ((key = user_key(b, user, err)) == NULL)
        return -1;
    pv_err_clear(&why);
    for (;;) {
        if (range_key(b, key, &kv, serializable, &why) != 0) {
            free(key);
            if (degrade(st, &why, err) != 0)
                return -1;
            return pv_state_read(b->local, user, rec, err);
        }
        kv_record(st, user, &kv, rec);
        kv_clear(&kv);
        if (!serializable || record_clean(rec))
            break;
        /* perhaps behind: a lock an unlock has ended; ask the leader */
        serializable = 0;
    }
    b->read_done = 1;
    overlay_apply(b, user, rec);
    free(key);
    return 0;
}

/* ---- the compare-and-swap loop ------------------------------------------ */

/* The key holds what an earlier, unanswered attempt of this update wrote
 * (its nonce included), so that attempt was applied. */
static int own_write_landed(const struct last_write *lw,
                            const struct etcd_kv *kv)
{
    if (!lw->ambiguous)
        return 0;
    if (lw->value == NULL) /* a delete */
        return !kv->exists && lw->old_revision > 0;
    return kv->exists && kv->mod_revision != lw->old_revision &&
           kv->value_len == lw->value_len &&
           memcmp(kv->value, lw->value, lw->value_len) == 0;
}

/* rec's text with a fresh nonce line before "end" into lw->value (NULL
 * for an empty record: delete).  rec holds no grants (kv_record dropped
 * them): the nonce is the one grant line. */
static int prepare_write(const pv_state_record *rec, struct last_write *lw,
                         pv_err *err)
{
    unsigned char nonce[NONCE_BYTES];
    char *text, *out;
    size_t len, i;

    last_write_clear_value(lw);
    if (pv_state_record_format(rec, &text, &len) != 0) {
        pv_err_set(err, "state: record cannot be stored");
        return -1;
    }
    if (len == strlen(EMPTY_RECORD) && memcmp(text, EMPTY_RECORD, len) == 0) {
        free(text);
        return 0;
    }
    out = malloc(len + NONCE_LINE + 1);
    if (out == NULL ||
        getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce) {
        pv_err_set(err, "state: no nonce for the record");
        pv_wipe(text, len);
        free(text);
        free(out);
        return -1;
    }
    memcpy(out, text, len - 4);
    memcpy(out + len - 4, "grant ", 6);
    for (i = 0; i < NONCE_BYTES; i++)
        (void)pv_snprintf(out + len + 2 + 2 * i, 3, "%02x", nonce[i]);
    memcpy(out + len + 2 + 2 * NONCE_BYTES, " 0 0\nend\n", 10);
    pv_wipe(text, len);
    free(text);
    lw->value = out;
    lw->value_len = len + NONCE_LINE;
    return 0;
}

enum attempt {
    ATTEMPT_DONE,
    ATTEMPT_CONFLICT,
    ATTEMPT_ABORT,
    ATTEMPT_DOWN
};

/* After a compare that failed: remember what the failure branch showed
 * (the next attempt starts from it without a read), else nothing. */
static void after_conflict(struct etcd_backend *b, const char *key,
                           struct etcd_kv *cur, int have_cur)
{
    if (have_cur)
        cache_store(b, key, cur->exists ? cur->value : NULL, cur->value_len,
                    cur->mod_revision);
    else
        cache_drop(b);
    kv_clear(cur);
}

/* Send lw's write (compare against revision) and sort out the answer. */
static enum attempt write_once(pv_state *st, const char *key,
                               long long revision, struct last_write *lw,
                               pv_err *why)
{
    struct etcd_backend *b = backend(st);
    struct etcd_kv cur;
    long long new_rev = 0;
    long failed_before;
    int r, have_cur = 0;

    if (ensure_lease(st, b, why) != 0)
        return ATTEMPT_DOWN;
    lw->old_revision = revision;
    b->lease_gone = 0;
    failed_before = b->failed_calls;
    r = txn_write(b, key, revision, lw->value, lw->value_len, &new_rev, &cur,
                  &have_cur, why);
    /* an endpoint that gave no answer may have applied it before the next
     * one answered (then with a failed compare) */
    if (b->failed_calls != failed_before)
        lw->ambiguous = 1;
    if (r < 0 && b->lease_gone) {
        /* revoked or expired: etcd applied nothing; a new one, again */
        (void)pv_strlcpy(b->gone_lease, b->lease_id, sizeof b->gone_lease);
        b->lease_id[0] = '\0';
        return ATTEMPT_CONFLICT;
    }
    if (r < 0) {
        cache_drop(b);
        return ATTEMPT_DOWN;
    }
    if (r == 0) {
        after_conflict(b, key, &cur, have_cur);
        return ATTEMPT_CONFLICT;
    }
    cache_store(b, key, lw->value, lw->value_len, new_rev);
    return ATTEMPT_DONE;
}

/* Run fn on the key's record as this handle knows it (its cached copy, or
 * a linearizable read) with what it kept back.  1 to write rec (what fn
 * made), 0 done (nothing to write, or kept back), -1 aborted. */
static int run_fn(pv_state *st, const char *user, pv_state_update_fn fn,
                  void *ctx, struct last_write *lw, pv_state_record *rec,
                  pv_err *err)
{
    struct etcd_backend *b = backend(st);
    pv_state_record *before = malloc(sizeof *before);
    unsigned deferred;
    int r, same;

    if (before == NULL) {
        pv_err_set(err, "state: out of memory");
        return -1;
    }
    overlay_apply(b, user, rec);
    *before = *rec;
    r = fn(rec, ctx);
    deferred = r == 0 && !lw->force ? deferrable_change(before, rec) : 0;
    same = r == 0 && deferred == 0 ? same_record(before, rec) : 0;
    pv_state_record_clear(before);
    free(before);
    if (r < 0) {
        if (err != NULL && err->msg[0] == '\0')
            pv_err_set(err, "state update of %s aborted", user);
        return -1;
    }
    if (deferred != 0 &&
        (b->ov_user == NULL || strcmp(b->ov_user, user) == 0)) {
        if (b->ov_user == NULL && (b->ov_user = pv_strdup(user)) == NULL)
            return 1; /* no memory to keep it back: written now */
        def_copy(&b->ov, rec, deferred, 0);
        b->ov_fields |= deferred;
        return 0;
    }
    if (r == 1 || (same == 1 && !lw->force))
        return 0; /* unchanged: what was kept back waits on */
    return 1;
}

/* One read -> fn -> compare-and-swap round. */
static enum attempt update_once(pv_state *st, const char *user,
                                const char *key, pv_state_update_fn fn,
                                void *ctx, struct last_write *lw, pv_err *why,
                                pv_err *err)
{
    struct etcd_backend *b = backend(st);
    struct etcd_kv kv;
    pv_state_record rec;
    long long revision;
    int r;

    if (!cache_get(b, key, &kv) && range_key(b, key, &kv, 0, why) != 0)
        return ATTEMPT_DOWN;
    if (own_write_landed(lw, &kv)) {
        kv_clear(&kv);
        return ATTEMPT_DONE;
    }
    revision = kv.exists ? kv.mod_revision : 0;
    kv_record(st, user, &kv, &rec);
    kv_clear(&kv);
    r = run_fn(st, user, fn, ctx, lw, &rec, err);
    pv_state_grants_drop(&rec); /* grants stay on their host */
    if (r == 1 && prepare_write(&rec, lw, err) != 0)
        r = -1;
    pv_state_record_clear(&rec);
    if (r < 0)
        return ATTEMPT_ABORT;
    if (r == 0)
        return ATTEMPT_DONE;
    lw->written = 1;
    if (lw->value == NULL && revision == 0)
        return ATTEMPT_DONE; /* nothing to delete */
    return write_once(st, key, revision, lw, why);
}

/* Wait a random time in [0, bound) before the next attempt, the bound
 * doubling per conflict: hosts that collided do not collide again in
 * lockstep (many logins of one user at once all write one key). */
static void conflict_backoff(int tries)
{
    long bound = BACKOFF_FIRST_MS << (tries < 6 ? tries : 6);
    unsigned int r = 0;
    struct timespec ts;

    if (bound > BACKOFF_MAX_MS)
        bound = BACKOFF_MAX_MS;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (unsigned int)getpid();
    ts.tv_sec = 0;
    ts.tv_nsec = (long)(r % (unsigned long)(bound * 1000)) * 1000L;
    while (nanosleep(&ts, &ts) != 0)
        ; /* interrupted: sleep the rest */
}

/* The compare-and-swap loop over etcd.  force: write even a change of
 * deferrable fields only (the flush). */
static enum attempt cas_loop(pv_state *st, const char *user, const char *key,
                             pv_state_update_fn fn, void *ctx, int force,
                             pv_err *why, pv_err *err)
{
    struct etcd_backend *b = backend(st);
    struct last_write lw;
    enum attempt a = ATTEMPT_CONFLICT;
    int tries;

    memset(&lw, 0, sizeof lw);
    lw.force = force;
    for (tries = 0; tries < PV_STATE_ETCD_CAS_TRIES; tries++) {
        a = update_once(st, user, key, fn, ctx, &lw, why, err);
        if (a != ATTEMPT_CONFLICT)
            break;
        /* The first conflict retries at once from the value the failure
         * branch brought (one round trip: two hosts racing).  Later ones
         * mean many writers of the key: a random pause, then a fresh read
         * (the value brought is stale after the pause, and a compare
         * against it would only fail again, a proposal each). */
        if (tries > 0) {
            conflict_backoff(tries);
            cache_drop(b);
        }
    }
    /* what was kept back for user went out with this write */
    if (a == ATTEMPT_DONE && lw.written && b->ov_user != NULL &&
        strcmp(b->ov_user, user) == 0)
        overlay_clear(b);
    last_write_clear(&lw);
    return a;
}

static int etcd_update(pv_state *st, const char *user, pv_state_update_fn fn,
                       void *ctx, pv_err *err)
{
    struct etcd_backend *b = backend(st);
    enum attempt a;
    char *key;
    pv_err why;

    if (b->degraded)
        return pv_state_update(b->local, user, fn, ctx, err);
    if ((key = user_key(b, user, err)) == NULL)
        return -1;
    pv_err_clear(&why);
    a = cas_loop(st, user, key, fn, ctx, 0, &why, err);
    free(key);
    switch (a) {
    case ATTEMPT_DONE:
        return 0;
    case ATTEMPT_ABORT:
        return -1;
    case ATTEMPT_DOWN:
        overlay_clear(b); /* the pending id and such: a convenience */
        if (degrade(st, &why, err) != 0)
            return -1;
        return pv_state_update(b->local, user, fn, ctx, err);
    case ATTEMPT_CONFLICT:
        break;
    }
    pv_err_set(err, "state: etcd update kept conflicting (%d tries)",
               PV_STATE_ETCD_CAS_TRIES);
    return -1;
}

static int keep_cb(pv_state_record *rec, void *ctx)
{
    (void)rec;
    (void)ctx;
    return 0;
}

/* Write what was kept back (the login ended before another write).  A
 * failure only loses the convenience it was (pending code, pre-check
 * cache): never degrades. */
static void flush_kept(pv_state *st)
{
    struct etcd_backend *b = backend(st);
    pv_err why, err;
    char *user = b->ov_user, *key;

    if (user == NULL || b->degraded)
        return;
    pv_err_clear(&why);
    pv_err_clear(&err);
    if ((key = user_key(b, user, &err)) != NULL)
        (void)cas_loop(st, user, key, keep_cb, NULL, 1, &why, &err);
    free(key);
    overlay_clear(b);
}

/* ---- list --------------------------------------------------------------- */

#define LIST_PAGE 256 /* keys per range answer: far below its size bound */

/* The range request for one page of user keys: from `from` (len bytes)
 * up to <prefix>user0 ('/' + 1), keys only. */
static cJSON *list_request(const struct etcd_backend *b, const char *from,
                           size_t len)
{
    char to[PV_ERR_MAX];
    int n = pv_snprintf(to, sizeof to, "%suser0", b->prefix);
    cJSON *req = cJSON_CreateObject();

    if (n < 0 || req == NULL || add_b64(req, "key", from, len) != 0 ||
        add_b64(req, "range_end", to, (size_t)n) != 0 ||
        cJSON_AddTrueToObject(req, "keys_only") == NULL ||
        cJSON_AddNumberToObject(req, "limit", LIST_PAGE) == NULL) {
        pv_json_free(req);
        return NULL;
    }
    return req;
}

/* Where a listing stands: the key to read from next (malloc'd, any
 * bytes), whether etcd has more. */
struct list_pos {
    char *from;
    size_t len;
    int more;
};

/* The page goes on just after key: key + NUL.  0 ok, -1 ENOMEM. */
static int list_after(struct list_pos *pos, const char *key, size_t len)
{
    char *next = malloc(len + 1);

    if (next == NULL)
        return -1;
    memcpy(next, key, len);
    next[len] = '\0';
    free(pos->from);
    pos->from = next;
    pos->len = len + 1;
    return 0;
}

/* One key of a page: its user to fn.  A key that names no user (the
 * prefix alone, a NUL inside: an etcd writer's) is passed over.  0 go on,
 * -1 unusable, -2 fn stopped. */
static int list_key(const struct etcd_backend *b, const cJSON *item,
                    pv_state_list_fn fn, void *ctx, struct list_pos *pos)
{
    size_t plen = strlen(b->prefix) + strlen("user/");
    struct etcd_kv kv;
    int rc = -1;

    memset(&kv, 0, sizeof kv);
    if (decode_value(cJSON_GetObjectItemCaseSensitive(item, "key"), &kv) !=
            0 ||
        kv.value_len < plen || memcmp(kv.value, b->prefix, plen - 5) != 0 ||
        memcmp(kv.value + plen - 5, "user/", 5) != 0 ||
        list_after(pos, kv.value, kv.value_len) != 0)
        goto out;
    rc = 0;
    if (kv.value_len > plen && strlen(kv.value) == kv.value_len)
        rc = fn(kv.value + plen, ctx) != 0 ? -2 : 0;
out:
    kv_clear(&kv);
    return rc;
}

/* Give fn the user of each key of one page.  The number of keys, -1
 * unusable answer, -2 fn stopped. */
static int list_page(const struct etcd_backend *b, const cJSON *answer,
                     pv_state_list_fn fn, void *ctx, struct list_pos *pos)
{
    const cJSON *kvs = cJSON_GetObjectItemCaseSensitive(answer, "kvs");
    const cJSON *item;
    int n = 0;

    if (cJSON_GetObjectItemCaseSensitive(answer, "more") == NULL)
        pos->more = 0;
    else if (pv_json_bool(answer, "more", &pos->more) != 0)
        return -1;
    if (kvs != NULL && !cJSON_IsArray(kvs))
        return -1;
    cJSON_ArrayForEach(item, kvs)
    {
        int rc = n++ == LIST_PAGE ? -1 : list_key(b, item, fn, ctx, pos);

        if (rc != 0)
            return rc;
    }
    return n;
}

/* Every key under <prefix>user/, a page at a time.  Never degrades: a
 * listing of this host's local store would pass for the fleet's. */
static int etcd_list(pv_state *st, pv_state_list_fn fn, void *ctx,
                     size_t *unnamed, pv_err *err)
{
    struct etcd_backend *b = backend(st);
    struct list_pos pos = { NULL, 0, 1 };
    int rc = 0;

    if (b->degraded)
        return pv_state_list(b->local, fn, ctx, unnamed, err);
    pos.len = strlen(b->prefix) + strlen("user/");
    if ((pos.from = malloc(pos.len + 1)) == NULL ||
        pv_snprintf(pos.from, pos.len + 1, "%suser/", b->prefix) < 0) {
        free(pos.from);
        pv_err_set(err, "state: out of memory");
        return -1;
    }
    while (rc == 0 && pos.more) {
        cJSON *answer = NULL, *req = list_request(b, pos.from, pos.len);
        int n;

        if (req == NULL) {
            pv_err_set(err, "state: out of memory");
            rc = -1;
        } else if (etcd_call_json(b, "/v3/kv/range", req, &answer, err) != 0) {
            rc = -1;
        } else if ((n = list_page(b, answer, fn, ctx, &pos)) == -2) {
            pv_err_set(err, "state: listing stopped");
            rc = -1;
        } else if (n < 0 || (pos.more && n == 0)) {
            /* unusable, or more but nothing to go on from */
            pv_err_set(err, "etcd: unusable range answer");
            rc = -1;
        }
        pv_json_free(answer);
    }
    free(pos.from);
    return rc;
}

static void backend_free(struct etcd_backend *b)
{
    size_t i;

    if (b == NULL)
        return;
    pv_transport_free(b->http);
    for (i = 0; i < b->n_endpoints; i++)
        free(b->endpoints[i]);
    free(b->prefix);
    free(b->state_dir);
    pv_state_close(b->local);
    cache_drop(b);
    overlay_clear(b);
    free(b);
}

static void etcd_close(pv_state *st)
{
    flush_kept(st);
    backend_free(st->backend);
    st->backend = NULL;
}

static const struct pv_state_ops etcd_ops = {
    .read = etcd_read,
    .update = etcd_update,
    .list = etcd_list,
    .close = etcd_close,
};

/* ---- opening ---------------------------------------------------------- */

static long max_long(long a, long b)
{
    return a > b ? a : b;
}

/* Longest window a record serves after its last write: the lockout
 * windows, the send budget's, the pre-check cache (only when the
 * pre-check is on: else nothing is cached), grace (grants_void outlives
 * what it voids). */
static long record_window(const pv_config *cfg)
{
    long t = max_long(cfg->lockout_window, cfg->lockout_time);

    if (cfg->precheck_url != NULL && cfg->precheck_url[0] != '\0')
        t = max_long(t, cfg->precheck_cache);
    t = max_long(t, cfg->send_window);
    t = max_long(t, cfg->grace);
    return max_long(t, 0);
}

/* One lease serves a host's writes for a bucket this long: at least the
 * record window, so that at most (bucket + window + margin) / bucket + 1
 * of a host's leases live at once (3 with the margin <= the bucket). */
static long bucket_len(const pv_config *cfg)
{
    return max_long(record_window(cfg), PV_STATE_ETCD_BUCKET_MIN);
}

/* A record written at any moment of the bucket (the lease granted at its
 * start at the earliest) still serves its window and one login's length
 * when the lease ends. */
static long lease_ttl(const pv_config *cfg)
{
    return bucket_len(cfg) + record_window(cfg) + PV_STATE_ETCD_LEASE_MARGIN;
}

/* Which cluster a kept lease id belongs to: a hash of state_endpoints. */
static void lease_tag(const pv_config *cfg, char out[LEASE_TAG_HEX + 1])
{
    char hex[65];
    const char *e = cfg->state_endpoints != NULL ? cfg->state_endpoints : "";

    pv_state_sha256_hex(e, strlen(e), hex);
    memcpy(out, hex, LEASE_TAG_HEX);
    out[LEASE_TAG_HEX] = '\0';
}

/* Split state_endpoints on spaces; a trailing '/' is dropped so that
 * "/v3/..." appends cleanly. */
static int parse_endpoints(struct etcd_backend *b, const char *list,
                           pv_err *err)
{
    const char *p = list;

    while (p != NULL && *p != '\0') {
        size_t n;

        while (*p == ' ' || *p == '\t')
            p++;
        n = strcspn(p, " \t");
        if (n == 0)
            break;
        if (b->n_endpoints == PV_STATE_ETCD_MAX_ENDPOINTS) {
            pv_err_set(err, "state_endpoints: more than %d endpoints",
                       PV_STATE_ETCD_MAX_ENDPOINTS);
            return -1;
        }
        while (n > 0 && p[n - 1] == '/')
            n--;
        if ((b->endpoints[b->n_endpoints] = strndup(p, n)) == NULL) {
            pv_err_set(err, "state: out of memory");
            return -1;
        }
        b->n_endpoints++;
        p += strcspn(p, " \t");
    }
    if (b->n_endpoints == 0) {
        pv_err_set(err, "state = etcd needs state_endpoints");
        return -1;
    }
    return 0;
}

static pv_transport *state_http(const pv_config *cfg)
{
    pv_http_opts o = pv_http_opts_make(
        cfg->helper, cfg->helper_user, cfg->state_timeout, cfg->state_timeout,
        cfg->state_cafile, cfg->state_client_cert, cfg->state_client_key);

    return pv_http_transport_new(&o);
}

/* t (owned from here on: freed with the backend or on error) or, when
 * NULL, the helper transport built from cfg. */
static struct etcd_backend *backend_new(const pv_config *cfg, pv_transport *t,
                                        pv_err *err)
{
    struct etcd_backend *b = calloc(1, sizeof *b);
    const char *prefix =
        cfg->state_prefix != NULL ? cfg->state_prefix : "/pam_phoneverify/";

    if (b == NULL) {
        pv_transport_free(t);
        pv_err_set(err, "state: out of memory");
        return NULL;
    }
    b->http = t;
    if (parse_endpoints(b, cfg->state_endpoints, err) != 0)
        goto err;
    b->prefix = pv_strdup(prefix);
    b->state_dir = cfg->state_dir != NULL ? pv_strdup(cfg->state_dir) : NULL;
    if (b->http == NULL)
        b->http = state_http(cfg);
    if (b->prefix == NULL || b->http == NULL ||
        (cfg->state_dir != NULL && b->state_dir == NULL)) {
        pv_err_set(err, "state: out of memory");
        goto err;
    }
    b->lease_ttl = lease_ttl(cfg);
    b->bucket_len = bucket_len(cfg);
    lease_tag(cfg, b->lease_tag);
    /* the holder grants at most one lease: every endpoint, once */
    b->lease_lock_ms =
        (max_long(cfg->state_timeout, 1) + 1) * 1000L * (long)b->n_endpoints;
    return b;
err:
    backend_free(b);
    return NULL;
}

int pv_state_etcd_open_with(const pv_config *cfg, pv_transport *t,
                            pv_state **out, pv_err *err)
{
    struct etcd_backend *b;
    pv_state *st;

    *out = NULL;
    if (cfg->state_dir == NULL || cfg->state_dir[0] != '/') {
        /* degraded mode needs the local store */
        pv_transport_free(t);
        pv_err_set(err, "state = etcd needs an absolute state_dir");
        return -1;
    }
    if ((b = backend_new(cfg, t, err)) == NULL)
        return -1;
    if ((st = calloc(1, sizeof *st)) == NULL) {
        backend_free(b);
        pv_err_set(err, "state: out of memory");
        return -1;
    }
    st->ops = &etcd_ops;
    st->backend = b;
    *out = st;
    return 0;
}

int pv_state_etcd_open(const pv_config *cfg, pv_state **out, pv_err *err)
{
    return pv_state_etcd_open_with(cfg, NULL, out, err);
}

/* ---- used break-glass codes ------------------------------------------ */

/* malloc'd state_prefix + "bgused/" + digest (a key no user record
 * takes: those are under "user/"). */
static char *claim_key(const struct etcd_backend *b, const char *digest,
                       pv_err *err)
{
    size_t size = strlen(b->prefix) + sizeof "bgused/" + 64;
    char *key = malloc(size);

    if (strlen(digest) != 64 || strspn(digest, "0123456789abcdef") != 64) {
        free(key);
        pv_err_set(err, "state: a break-glass claim is not a SHA-256");
        return NULL;
    }
    if (key == NULL ||
        pv_snprintf(key, size, "%sbgused/%s", b->prefix, digest) < 0) {
        free(key);
        pv_err_set(err, "state: out of memory");
        return NULL;
    }
    return key;
}

/* The claim's text: who used it and when (for an admin reading the
 * prefix), and a nonce that tells this handle's own write apart from
 * another host's after a lost answer. */
static int claim_value(const char *user, char *out, size_t size)
{
    unsigned char nonce[16];
    char hex[33];
    size_t i;

    if (getrandom(nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
        return -1;
    for (i = 0; i < sizeof nonce; i++)
        (void)pv_snprintf(hex + 2 * i, 3, "%02x", nonce[i]);
    return pv_snprintf(out, size, "pv-bgused 1\nuser %s\nat %lld\nnonce %s\n",
                       user, (long long)time(NULL), hex) < 0
               ? -1
               : 0;
}

/* The compare failed after an attempt without an answer: the key may
 * hold this very claim (applied by the endpoint that did not answer).
 * cur: the key as the failure branch showed it (have_cur), else read.
 * 0 it is ours, 1 another's, -1 unknown. */
static int claim_owner(struct etcd_backend *b, const char *key,
                       const char *value, struct etcd_kv *cur, int have_cur,
                       pv_err *err)
{
    struct etcd_kv kv;
    int rc;

    if (have_cur) {
        kv = *cur;
        memset(cur, 0, sizeof *cur);
    } else if (range_key(b, key, &kv, 0, err) != 0) {
        return -1;
    }
    rc = kv.exists && kv.value_len == strlen(value) &&
                 memcmp(kv.value, value, kv.value_len) == 0
             ? 0
             : 1;
    kv_clear(&kv);
    cache_drop(b);
    return rc;
}

int pv_state_etcd_claim(pv_state *st, const char *user, const char *digest,
                        pv_err *err)
{
    struct etcd_backend *b;
    char value[PV_STATE_USER_MAX + 128];
    struct etcd_kv cur;
    long long rev = 0;
    long failed_before;
    char *key;
    int rc, have_cur = 0;

    if (st == NULL || st->ops != &etcd_ops || user == NULL) {
        pv_err_set(err, "state: not an etcd store");
        return -1;
    }
    b = backend(st);
    if (b->degraded) {
        pv_err_set(err, "state=degraded: the single use of a break-glass "
                        "code cannot be proven fleet-wide");
        return -1;
    }
    if (strnlen(user, PV_STATE_USER_MAX + 1) > PV_STATE_USER_MAX ||
        claim_value(user, value, sizeof value) != 0) {
        pv_err_set(err, "state: break-glass claim cannot be made");
        return -1;
    }
    if ((key = claim_key(b, digest, err)) == NULL)
        return -1;
    failed_before = b->failed_calls;
    /* created only where no key is (create_revision 0), with no lease:
     * the claim lasts as long as the code could be listed anywhere */
    memset(&cur, 0, sizeof cur);
    rc = txn_put(b, key, 0, value, strlen(value), NULL, &rev, &cur, &have_cur,
                 err);
    if (rc == 0)
        rc = b->failed_calls != failed_before
                 ? claim_owner(b, key, value, &cur, have_cur, err)
                 : 1;
    else if (rc == 1)
        rc = 0;
    kv_clear(&cur);
    if (rc < 0 && err != NULL && err->msg[0] == '\0')
        pv_err_set(err, "break-glass claim not recorded in etcd "
                        "(no proof of single use)");
    free(key);
    pv_wipe(value, sizeof value);
    return rc;
}

long pv_state_etcd_requests(const pv_state *st)
{
    if (st == NULL || st->ops != &etcd_ops)
        return 0;
    return ((const struct etcd_backend *)st->backend)->requests;
}

int pv_state_etcd_is(const pv_state *st)
{
    return st != NULL && st->ops == &etcd_ops;
}

int pv_state_etcd_degraded(const pv_state *st)
{
    if (st == NULL || st->ops != &etcd_ops)
        return 0;
    return ((const struct etcd_backend *)st->backend)->degraded;
}

/* ---- probe -------------------------------------------------------------- */

/* POST req (then freed) to endpoint i only. */
static int call_endpoint_json(struct etcd_backend *b, size_t i,
                              const char *path, cJSON *req, cJSON **answer,
                              pv_err *err)
{
    char *body = req != NULL ? cJSON_PrintUnformatted(req) : NULL;
    int rc;

    pv_json_free(req);
    *answer = NULL;
    if (body == NULL) {
        pv_err_set(err, "etcd: out of memory");
        return -1;
    }
    rc = call_endpoint(b, i, path, body, answer, err);
    pv_free_secret(body);
    return rc;
}

/* Number of user records under the prefix: a read of the whole range
 * <prefix>user/ .. <prefix>user0 ('/' + 1), counted by etcd. */
static int probe_count(struct etcd_backend *b, size_t i, long long *count,
                       pv_err *err)
{
    char from[PV_ERR_MAX], to[PV_ERR_MAX];
    cJSON *req = cJSON_CreateObject(), *answer = NULL;
    int n = pv_snprintf(from, sizeof from, "%suser/", b->prefix);
    int rc;

    if (n < 0 || pv_snprintf(to, sizeof to, "%suser0", b->prefix) < 0 ||
        req == NULL || add_b64(req, "key", from, (size_t)n) != 0 ||
        add_b64(req, "range_end", to, (size_t)n) != 0 ||
        cJSON_AddTrueToObject(req, "count_only") == NULL) {
        pv_json_free(req);
        pv_err_set(err, "state: state_prefix too long or out of memory");
        return -1;
    }
    rc = call_endpoint_json(b, i, "/v3/kv/range", req, &answer, err);
    if (rc == 0 && json_int64(answer, "count", count) != 0) {
        pv_err_set(err, "etcd %s: unusable range answer", b->endpoints[i]);
        rc = -1;
    }
    pv_json_free(answer);
    return rc;
}

/* Write and delete <prefix>probe/<host> with a short lease. */
static int probe_write(struct etcd_backend *b, size_t i, pv_err *err)
{
    char host[256] = "host", key[PV_ERR_MAX];
    cJSON *del = cJSON_CreateObject(), *answer = NULL;
    long long rev;
    int rc, have;

    (void)gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    if (del == NULL ||
        pv_snprintf(key, sizeof key, "%sprobe/%s", b->prefix, host) < 0 ||
        add_b64(del, "key", key, strlen(key)) != 0) {
        pv_json_free(del);
        pv_err_set(err, "state: state_prefix too long or out of memory");
        return -1;
    }
    b->good = i;
    b->pinned = 1;
    b->lease_id[0] = '\0';
    if (grant_lease(b, PROBE_LEASE_TTL, b->lease_id, sizeof b->lease_id,
                    err) != 0 ||
        txn_write(b, key, 0, "probe\n", 6, &rev, NULL, &have, err) < 0) {
        pv_json_free(del);
        return -1;
    }
    rc = call_endpoint_json(b, i, "/v3/kv/deleterange", del, &answer, err);
    pv_json_free(answer);
    return rc;
}

int pv_state_etcd_probe(const pv_config *cfg, char *msg, size_t size)
{
    struct etcd_backend *b;
    long long count = 0;
    pv_err err;
    size_t i;

    pv_err_clear(&err);
    if (msg == NULL || size == 0)
        return -1;
    msg[0] = '\0';
    if (cfg == NULL || (b = backend_new(cfg, NULL, &err)) == NULL) {
        (void)pv_snprintf(msg, size, "%s",
                          cfg != NULL ? err.msg : "state: no config");
        return -1;
    }
    for (i = 0; i < b->n_endpoints; i++) {
        if (probe_count(b, i, &count, &err) != 0 ||
            probe_write(b, i, &err) != 0) {
            (void)pv_snprintf(msg, size, "state: %s%s", err.msg,
                              cfg->state_client_cert == NULL
                                  ? " [state_client_cert is not set]"
                                  : "");
            backend_free(b);
            return -1;
        }
    }
    (void)pv_snprintf(msg, size,
                      "state: etcd ok on %zu endpoint%s (%lld "
                      "user records under %suser/)",
                      b->n_endpoints, b->n_endpoints == 1 ? "" : "s", count,
                      b->prefix);
    backend_free(b);
    return 0;
}
