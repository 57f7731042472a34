/* pv_state.c - backend dispatch, the record text format, SHA-256.
 *
 * Record format (every line ends in '\n', nothing after "end"):
 *
 *   pv-state 1
 *   fail <epoch>                      0..PV_STATE_MAX_FAILURES times
 *   sent <epoch> <count>              0..PV_STATE_MAX_SENDS times
 *   locked_until <epoch>              at most once
 *   pending <id> <expires> <to> [<entry>]  at most once (entry: >0)
 *   precheck <64 hex> <until>         at most once
 *   last_sent <epoch>                 at most once
 *   grant <64 hex> <until> <earned>   0..PV_STATE_MAX_GRANTS times
 *   grants_void <epoch>               at most once
 *   endpoint <64 hex> <until>         0..PV_STATE_MAX_ENDPOINTS times
 *   bgused <64 hex>                   0..PV_STATE_MAX_BG_USED times
 *   end
 *
 * The trailing "end" line makes a record cut at a line boundary detectable.
 * A "grant <64 hex> <until>" line of an older version (no earning time)
 * reads as a grant earned at 0, which has ended: it is never honoured.
 * Parsing is strict: anything else is corrupt and the record reads empty. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pv_sha256.h"
#include "state/pv_state.h"
#include "base/pv_util.h"

void pv_state_close(pv_state *st)
{
    if (st == NULL)
        return;
    if (st->ops != NULL && st->ops->close != NULL)
        st->ops->close(st);
    free(st);
}

struct list_filter {
    pv_state_list_fn fn;
    void *ctx;
};

/* A name a user can have: not empty, not too long, no ':' and no control
 * byte (pv_user_name_valid is stricter still). */
static int listable(const char *user)
{
    size_t n = strnlen(user, PV_STATE_USER_MAX + 1), i;

    if (n == 0 || n > PV_STATE_USER_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)user[i];

        if (ch < 0x20 || ch == 0x7f || ch == ':')
            return 0;
    }
    return 1;
}

static int list_one(const char *user, void *ctx)
{
    const struct list_filter *f = ctx;

    return listable(user) ? f->fn(user, f->ctx) : 0;
}

int pv_state_list(pv_state *st, pv_state_list_fn fn, void *ctx,
                  size_t *unnamed, pv_err *err)
{
    struct list_filter f = { fn, ctx };
    size_t ignored = 0;

    if (unnamed == NULL)
        unnamed = &ignored;
    *unnamed = 0;
    if (st == NULL || st->ops == NULL || st->ops->list == NULL || fn == NULL) {
        pv_err_set(err, "state: invalid arguments");
        return -1;
    }
    return st->ops->list(st, list_one, &f, unnamed, err);
}

/* ---- provider entry health ------------------------------------------- */

static void health_from(pv_state_health *h, const pv_state_record *rec)
{
    memset(h, 0, sizeof *h);
    h->n = rec->n_endpoints;
    memcpy(h->key, rec->endpoint_key, sizeof h->key);
    memcpy(h->until, rec->endpoint_until, sizeof h->until);
}

int pv_state_health_read(pv_state *st, pv_state_health *h, pv_err *err)
{
    pv_state_record rec;
    int rc;

    if (h == NULL) {
        pv_err_set(err, "state: invalid arguments");
        return -1;
    }
    rc = pv_state_read(st, PV_STATE_HEALTH_NAME, &rec, err);
    health_from(h, &rec);
    pv_state_record_clear(&rec);
    return rc;
}

struct health_update {
    pv_state_health_fn fn;
    void *ctx;
};

/* fn over the marks; whatever else the record held is dropped, so the
 * health record stays "endpoint" lines only. */
static int health_cb(pv_state_record *rec, void *ctx)
{
    const struct health_update *u = ctx;
    pv_state_health h;
    int r;

    health_from(&h, rec);
    r = u->fn(&h, u->ctx);
    if (r != 0)
        return r;
    if (h.n > PV_STATE_MAX_ENDPOINTS)
        return -1;
    pv_state_record_clear(rec);
    rec->n_endpoints = h.n;
    memcpy(rec->endpoint_key, h.key, sizeof h.key);
    memcpy(rec->endpoint_until, h.until, sizeof h.until);
    return 0;
}

int pv_state_health_update(pv_state *st, pv_state_health_fn fn, void *ctx,
                           pv_err *err)
{
    struct health_update u = { fn, ctx };

    if (fn == NULL) {
        pv_err_set(err, "state: invalid arguments");
        return -1;
    }
    return pv_state_update(st, PV_STATE_HEALTH_NAME, health_cb, &u, err);
}

int pv_state_read(pv_state *st, const char *user, pv_state_record *rec,
                  pv_err *err)
{
    if (rec == NULL) {
        pv_err_set(err, "state: invalid arguments");
        return -1;
    }
    pv_state_record_clear(rec);
    if (st == NULL || st->ops == NULL || user == NULL) {
        pv_err_set(err, "state: invalid arguments");
        return -1;
    }
    if (st->ops->read(st, user, rec, err) != 0) {
        /* never hand back half-read content */
        pv_state_record_clear(rec);
        return -1;
    }
    return 0;
}

struct voiding_update {
    pv_state_update_fn fn;
    void *ctx;
};

/* Runs the caller's callback; a lock it starts or extends voids every
 * grant earned before the lock ends (no grant is earned while locked), so
 * a grant earned before a lockout does not work again when it ends.  Here
 * rather than in each caller: every path that locks goes through it. */
static int voiding_cb(pv_state_record *rec, void *ctx)
{
    const struct voiding_update *u = ctx;
    time_t before = rec->locked_until;
    int r = u->fn(rec, u->ctx);

    if (r == 0 && rec->locked_until > before &&
        rec->locked_until > rec->grants_void)
        pv_state_grants_void(rec, rec->locked_until);
    return r;
}

int pv_state_update(pv_state *st, const char *user, pv_state_update_fn fn,
                    void *ctx, pv_err *err)
{
    struct voiding_update u = { fn, ctx };

    if (st == NULL || st->ops == NULL || user == NULL || fn == NULL) {
        pv_err_set(err, "state: invalid arguments");
        return -1;
    }
    /* cleared so that a message the callback leaves through ctx shows */
    pv_err_clear(err);
    return st->ops->update(st, user, voiding_cb, &u, err);
}

/* ---- record parsing ---------------------------------------------------- */

#define MAX_FIELDS 5
#define TIME_DIGITS_MAX 12 /* digits of PV_STATE_TIME_MAX */

/* the "at most once" keys */
#define SEEN_LOCKED 1u
#define SEEN_PENDING 2u
#define SEEN_PRECHECK 4u
#define SEEN_LAST_SENT 8u
#define SEEN_GRANTS_VOID 16u

struct field {
    const char *p;
    size_t n;
};

static int field_is(const struct field *f, const char *word)
{
    size_t n = strlen(word);

    return f->n == n && memcmp(f->p, word, n) == 0;
}

/* Split on single spaces; an empty field (double, leading or trailing
 * space) or more than max fields is corrupt. */
static int split_fields(const char *line, size_t n, struct field *f,
                        size_t max)
{
    size_t count = 0, start = 0, i;

    for (i = 0; i <= n; i++) {
        if (i < n && line[i] != ' ')
            continue;
        if (i == start || count == max)
            return -1;
        f[count].p = line + start;
        f[count].n = i - start;
        count++;
        start = i + 1;
    }
    return (int)count;
}

/* Canonical decimal in [0, PV_STATE_TIME_MAX]: no sign, no leading zero. */
static int parse_time(const struct field *f, time_t *out)
{
    long long v = 0;
    size_t i;

    if (f->n == 0 || f->n > TIME_DIGITS_MAX || (f->n > 1 && f->p[0] == '0'))
        return -1;
    for (i = 0; i < f->n; i++) {
        if (f->p[i] < '0' || f->p[i] > '9')
            return -1;
        v = v * 10 + (f->p[i] - '0');
    }
    if (v > (long long)PV_STATE_TIME_MAX)
        return -1;
    *out = (time_t)v;
    return 0;
}

/* Printable ASCII without space: what ids and addresses may hold here. */
static int token_ok(const char *p, size_t n)
{
    size_t i;

    if (n == 0)
        return 0;
    for (i = 0; i < n; i++) {
        if ((unsigned char)p[i] <= 0x20 || (unsigned char)p[i] >= 0x7f)
            return 0;
    }
    return 1;
}

static int copy_token(const struct field *f, char *dst, size_t size)
{
    if (f->n >= size || !token_ok(f->p, f->n))
        return -1;
    memcpy(dst, f->p, f->n);
    dst[f->n] = '\0';
    return 0;
}

static int hex64_ok(const char *p, size_t n)
{
    size_t i;

    if (n != 64)
        return 0;
    for (i = 0; i < n; i++) {
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
            return 0;
    }
    return 1;
}

static int once(unsigned *seen, unsigned bit)
{
    if (*seen & bit)
        return -1;
    *seen |= bit;
    return 0;
}

static int parse_pending(pv_state_record *rec, const struct field *f)
{
    if (copy_token(&f[1], rec->pending_id, sizeof rec->pending_id) != 0 ||
        parse_time(&f[2], &rec->pending_expires) != 0 ||
        copy_token(&f[3], rec->pending_to, sizeof rec->pending_to) != 0)
        return -1;
    return 0;
}

/* "pending ... <entry>": canonical decimal 1..PV_STATE_MAX_ENTRY (entry 0
 * is written without the field). */
static int parse_pending_entry(pv_state_record *rec, const struct field *f)
{
    time_t e;

    if (parse_pending(rec, f) != 0 || parse_time(&f[4], &e) != 0 || e < 1 ||
        e > PV_STATE_MAX_ENTRY)
        return -1;
    rec->pending_entry = (unsigned)e;
    return 0;
}

static int parse_endpoint(pv_state_record *rec, const struct field *f)
{
    size_t i = rec->n_endpoints;

    if (i >= PV_STATE_MAX_ENDPOINTS || !hex64_ok(f[1].p, f[1].n) ||
        parse_time(&f[2], &rec->endpoint_until[i]) != 0)
        return -1;
    memcpy(rec->endpoint_key[i], f[1].p, 64);
    rec->endpoint_key[i][64] = '\0';
    rec->n_endpoints++;
    return 0;
}

static int parse_bgused(pv_state_record *rec, const struct field *f)
{
    size_t i = rec->n_bg_used;

    if (i >= PV_STATE_MAX_BG_USED || !hex64_ok(f[1].p, f[1].n))
        return -1;
    memcpy(rec->bg_used[i], f[1].p, 64);
    rec->bg_used[i][64] = '\0';
    rec->n_bg_used++;
    return 0;
}

/* "sent <epoch> <count>": count in 1..PV_STATE_SEND_COUNT_MAX, canonical
 * decimal like the times. */
static int parse_sent(pv_state_record *rec, const struct field *f)
{
    time_t count;

    if (rec->n_sends >= PV_STATE_MAX_SENDS ||
        parse_time(&f[1], &rec->sends[rec->n_sends]) != 0 ||
        parse_time(&f[2], &count) != 0 || count < 1 ||
        count > PV_STATE_SEND_COUNT_MAX)
        return -1;
    rec->send_counts[rec->n_sends++] = (unsigned)count;
    return 0;
}

static int parse_precheck(pv_state_record *rec, const struct field *f)
{
    if (!hex64_ok(f[1].p, f[1].n) ||
        parse_time(&f[2], &rec->precheck_until) != 0)
        return -1;
    memcpy(rec->precheck_key, f[1].p, 64);
    rec->precheck_key[64] = '\0';
    return 0;
}

/* "grant <key> <until> [<earned>]": without the earning time (an older
 * version's line) it counts as earned at 0, i.e. long ended. */
static int parse_grant(pv_state_record *rec, const struct field *f, int nf)
{
    size_t i = rec->n_grants;

    if (i >= PV_STATE_MAX_GRANTS || !hex64_ok(f[1].p, f[1].n) ||
        parse_time(&f[2], &rec->grant_until[i]) != 0 ||
        (nf == 4 && parse_time(&f[3], &rec->grant_at[i]) != 0))
        return -1;
    memcpy(rec->grant_keys[i], f[1].p, 64);
    rec->grant_keys[i][64] = '\0';
    rec->n_grants++;
    return 0;
}

static int parse_line(pv_state_record *rec, const char *line, size_t n,
                      unsigned *seen)
{
    struct field f[MAX_FIELDS];
    int nf = split_fields(line, n, f, MAX_FIELDS);

    if (nf == 2 && field_is(&f[0], "fail")) {
        if (rec->n_failures >= PV_STATE_MAX_FAILURES)
            return -1;
        return parse_time(&f[1], &rec->failures[rec->n_failures++]);
    }
    if (nf == 3 && field_is(&f[0], "sent"))
        return parse_sent(rec, f);
    if (nf == 2 && field_is(&f[0], "locked_until"))
        return once(seen, SEEN_LOCKED) != 0
                   ? -1
                   : parse_time(&f[1], &rec->locked_until);
    if (nf == 4 && field_is(&f[0], "pending"))
        return once(seen, SEEN_PENDING) != 0 ? -1 : parse_pending(rec, f);
    if (nf == 5 && field_is(&f[0], "pending"))
        return once(seen, SEEN_PENDING) != 0 ? -1
                                             : parse_pending_entry(rec, f);
    if (nf == 3 && field_is(&f[0], "endpoint"))
        return parse_endpoint(rec, f);
    if (nf == 2 && field_is(&f[0], "bgused"))
        return parse_bgused(rec, f);
    if (nf == 3 && field_is(&f[0], "precheck"))
        return once(seen, SEEN_PRECHECK) != 0 ? -1 : parse_precheck(rec, f);
    if (nf == 2 && field_is(&f[0], "last_sent"))
        return once(seen, SEEN_LAST_SENT) != 0
                   ? -1
                   : parse_time(&f[1], &rec->last_sent);
    if ((nf == 3 || nf == 4) && field_is(&f[0], "grant"))
        return parse_grant(rec, f, nf);
    if (nf == 2 && field_is(&f[0], "grants_void"))
        return once(seen, SEEN_GRANTS_VOID) != 0
                   ? -1
                   : parse_time(&f[1], &rec->grants_void);
    return -1;
}

static int line_is(const char *line, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(line, word, n) == 0;
}

static int parse_all(const char *text, size_t len, pv_state_record *rec)
{
    size_t pos = 0, lineno = 0;
    unsigned seen = 0;
    int ended = 0;

    if (text == NULL || len == 0 || len > PV_STATE_MAX_SIZE ||
        memchr(text, '\0', len) != NULL || text[len - 1] != '\n')
        return -1;
    while (pos < len) {
        /* found: the text ends in '\n' */
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = (size_t)(nl - (text + pos));

        if (ended)
            return -1; /* data after "end" */
        if (lineno == 0) {
            if (!line_is(text + pos, n, "pv-state 1"))
                return -1;
        } else if (line_is(text + pos, n, "end")) {
            ended = 1;
        } else if (parse_line(rec, text + pos, n, &seen) != 0) {
            return -1;
        }
        pos += n + 1;
        lineno++;
    }
    return ended ? 0 : -1;
}

int pv_state_record_parse(const char *text, size_t len, pv_state_record *rec)
{
    if (rec == NULL)
        return -1;
    pv_state_record_clear(rec);
    if (parse_all(text, len, rec) != 0) {
        pv_state_record_clear(rec);
        return -1;
    }
    return 0;
}

void pv_state_record_clear(pv_state_record *rec)
{
    if (rec == NULL)
        return;
    /* pv_wipe for the id it may hold; memset because callers rely on the
     * record being all zero afterwards, whatever pattern pv_wipe uses */
    pv_wipe(rec, sizeof *rec);
    memset(rec, 0, sizeof *rec);
}

/* ---- record formatting ------------------------------------------------- */

/* Upper bound of a formatted record: the buffer is allocated once. */
#define LINE_TIME (TIME_DIGITS_MAX + 1)
#define FORMAT_MAX                                                            \
    (sizeof "pv-state 1\n" +                                                  \
     PV_STATE_MAX_FAILURES * (sizeof "fail " + LINE_TIME) +                   \
     PV_STATE_MAX_SENDS * (sizeof "sent " + 2 * LINE_TIME) +                  \
     sizeof "locked_until " + LINE_TIME + sizeof "pending " +                 \
     PV_STATE_ID_MAX + 1 + LINE_TIME + PV_STATE_TO_MAX + 1 +                  \
     sizeof "precheck " + 64 + 1 + LINE_TIME + sizeof "last_sent " +          \
     LINE_TIME +                                                              \
     PV_STATE_MAX_GRANTS * (sizeof "grant " + 64 + 1 + 2 * LINE_TIME) +       \
     sizeof "grants_void " + LINE_TIME +                                      \
     PV_STATE_MAX_ENDPOINTS * (sizeof "endpoint " + 64 + 1 + LINE_TIME) +     \
     PV_STATE_MAX_BG_USED * (sizeof "bgused " + 64 + 1) + sizeof "pending " + \
     LINE_TIME + sizeof "end\n")
_Static_assert(FORMAT_MAX < PV_STATE_MAX_SIZE, "record bound too large");

struct outbuf {
    char *p;
    size_t len;
};

__attribute__((format(printf, 2, 3))) static int put(struct outbuf *b,
                                                     const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, FORMAT_MAX - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= FORMAT_MAX - b->len)
        return -1;
    b->len += (size_t)n;
    return 0;
}

static int time_ok(time_t t)
{
    return t >= 0 && t <= PV_STATE_TIME_MAX;
}

/* NUL-terminated within size and a valid token. */
static int str_token_ok(const char *s, size_t size)
{
    size_t n = strnlen(s, size);

    return n < size && token_ok(s, n);
}

static int record_valid(const pv_state_record *rec)
{
    size_t i;

    if (rec->n_failures > PV_STATE_MAX_FAILURES || !time_ok(rec->locked_until))
        return 0;
    for (i = 0; i < rec->n_failures; i++) {
        if (!time_ok(rec->failures[i]))
            return 0;
    }
    if (rec->n_sends > PV_STATE_MAX_SENDS)
        return 0;
    for (i = 0; i < rec->n_sends; i++) {
        if (!time_ok(rec->sends[i]) || rec->send_counts[i] < 1 ||
            rec->send_counts[i] > PV_STATE_SEND_COUNT_MAX)
            return 0;
    }
    if (rec->pending_id[0] != '\0' &&
        (!str_token_ok(rec->pending_id, sizeof rec->pending_id) ||
         !str_token_ok(rec->pending_to, sizeof rec->pending_to) ||
         !time_ok(rec->pending_expires)))
        return 0;
    if (rec->precheck_key[0] != '\0' &&
        (strnlen(rec->precheck_key, sizeof rec->precheck_key) != 64 ||
         !hex64_ok(rec->precheck_key, 64) || !time_ok(rec->precheck_until)))
        return 0;
    if (!time_ok(rec->last_sent) || rec->n_grants > PV_STATE_MAX_GRANTS)
        return 0;
    for (i = 0; i < rec->n_grants; i++) {
        if (strnlen(rec->grant_keys[i], 65) != 64 ||
            !hex64_ok(rec->grant_keys[i], 64) ||
            !time_ok(rec->grant_until[i]) || !time_ok(rec->grant_at[i]))
            return 0;
    }
    if (!time_ok(rec->grants_void))
        return 0;
    if (rec->pending_entry > PV_STATE_MAX_ENTRY ||
        rec->n_endpoints > PV_STATE_MAX_ENDPOINTS ||
        rec->n_bg_used > PV_STATE_MAX_BG_USED)
        return 0;
    for (i = 0; i < rec->n_endpoints; i++) {
        if (strnlen(rec->endpoint_key[i], 65) != 64 ||
            !hex64_ok(rec->endpoint_key[i], 64) ||
            !time_ok(rec->endpoint_until[i]))
            return 0;
    }
    for (i = 0; i < rec->n_bg_used; i++) {
        if (strnlen(rec->bg_used[i], 65) != 64 ||
            !hex64_ok(rec->bg_used[i], 64))
            return 0;
    }
    return 1;
}

static int format_body(const pv_state_record *rec, struct outbuf *b)
{
    size_t i;
    int rc = put(b, "pv-state 1\n");

    for (i = 0; rc == 0 && i < rec->n_failures; i++)
        rc = put(b, "fail %lld\n", (long long)rec->failures[i]);
    for (i = 0; rc == 0 && i < rec->n_sends; i++)
        rc = put(b, "sent %lld %u\n", (long long)rec->sends[i],
                 rec->send_counts[i]);
    if (rc == 0 && rec->locked_until != 0)
        rc = put(b, "locked_until %lld\n", (long long)rec->locked_until);
    if (rc == 0 && rec->pending_id[0] != '\0' && rec->pending_entry == 0)
        rc = put(b, "pending %s %lld %s\n", rec->pending_id,
                 (long long)rec->pending_expires, rec->pending_to);
    else if (rc == 0 && rec->pending_id[0] != '\0')
        rc = put(b, "pending %s %lld %s %u\n", rec->pending_id,
                 (long long)rec->pending_expires, rec->pending_to,
                 rec->pending_entry);
    if (rc == 0 && rec->precheck_key[0] != '\0')
        rc = put(b, "precheck %s %lld\n", rec->precheck_key,
                 (long long)rec->precheck_until);
    if (rc == 0 && rec->last_sent != 0)
        rc = put(b, "last_sent %lld\n", (long long)rec->last_sent);
    for (i = 0; rc == 0 && i < rec->n_grants; i++)
        rc = put(b, "grant %s %lld %lld\n", rec->grant_keys[i],
                 (long long)rec->grant_until[i], (long long)rec->grant_at[i]);
    if (rc == 0 && rec->grants_void != 0)
        rc = put(b, "grants_void %lld\n", (long long)rec->grants_void);
    for (i = 0; rc == 0 && i < rec->n_endpoints; i++)
        rc = put(b, "endpoint %s %lld\n", rec->endpoint_key[i],
                 (long long)rec->endpoint_until[i]);
    for (i = 0; rc == 0 && i < rec->n_bg_used; i++)
        rc = put(b, "bgused %s\n", rec->bg_used[i]);
    if (rc == 0)
        rc = put(b, "end\n");
    return rc;
}

int pv_state_record_format(const pv_state_record *rec, char **out, size_t *len)
{
    struct outbuf b;

    if (rec == NULL || out == NULL || len == NULL)
        return -1;
    *out = NULL;
    *len = 0;
    if (!record_valid(rec))
        return -1;
    b.p = malloc(FORMAT_MAX);
    b.len = 0;
    if (b.p == NULL)
        return -1;
    if (format_body(rec, &b) != 0) {
        pv_wipe(b.p, FORMAT_MAX);
        free(b.p);
        return -1;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

/* ---- hashes for keys and file names ----------------------------------- */

void pv_state_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char digest[32];
    pv_sha256 c;

    pv_sha256_init(&c);
    pv_sha256_update(&c, data, len);
    pv_sha256_final(&c, digest);
    pv_sha256_hex(digest, out);
}

void pv_state_precheck_key(const char *user, const char *name,
                           const char *number, char out[65])
{
    unsigned char digest[32];
    pv_sha256 c;

    pv_sha256_init(&c);
    pv_sha256_update(&c, "pv-precheck 1\n", 14);
    pv_sha256_netstring(&c, user);
    pv_sha256_netstring(&c, name);
    pv_sha256_netstring(&c, number);
    pv_sha256_final(&c, digest);
    pv_sha256_hex(digest, out);
}

/* ---- grace grants ------------------------------------------------------ */

/* An item that may be unset: "-" for unset, "+" and the netstring when set,
 * so that unset and "" differ. */
static void sha256_item(pv_sha256 *c, const char *s)
{
    pv_sha256_update(c, s != NULL ? "+" : "-", 1);
    if (s != NULL)
        pv_sha256_netstring(c, s);
}

/* Eight bytes, most significant first. */
static void sha256_u64(pv_sha256 *c, unsigned long long v)
{
    unsigned char b[8];
    int i;

    for (i = 7; i >= 0; i--) {
        b[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
    pv_sha256_update(c, b, sizeof(b));
}

void pv_state_grant_key(const char *user, const char *rhost, const char *ruser,
                        const pv_tty_session *session, const char *group,
                        char out[65])
{
    unsigned char digest[32];
    pv_sha256 c;

    pv_sha256_init(&c);
    pv_sha256_update(&c, "pv-grace 2\n", 11);
    pv_sha256_netstring(&c, user);
    sha256_item(&c, rhost);
    sha256_item(&c, ruser);
    pv_sha256_update(&c, session != NULL ? "+" : "-", 1);
    if (session != NULL) {
        sha256_u64(&c, session->tty);
        sha256_u64(&c, (unsigned long long)session->sid);
        sha256_u64(&c, session->leader_start);
    }
    pv_sha256_netstring(&c, group);
    pv_sha256_final(&c, digest);
    pv_sha256_hex(digest, out);
}

static void grant_remove(pv_state_record *rec, size_t i)
{
    for (; i + 1 < rec->n_grants; i++) {
        memcpy(rec->grant_keys[i], rec->grant_keys[i + 1], 65);
        rec->grant_until[i] = rec->grant_until[i + 1];
        rec->grant_at[i] = rec->grant_at[i + 1];
    }
    rec->n_grants--;
    memset(rec->grant_keys[rec->n_grants], 0, 65);
    rec->grant_until[rec->n_grants] = 0;
    rec->grant_at[rec->n_grants] = 0;
}

void pv_state_grant_add(pv_state_record *rec, const char *key, time_t at,
                        time_t until)
{
    size_t i = 0;

    while (i < rec->n_grants) {
        if (rec->grant_until[i] <= at || strcmp(rec->grant_keys[i], key) == 0)
            grant_remove(rec, i);
        else
            i++;
    }
    if (rec->n_grants == PV_STATE_MAX_GRANTS)
        grant_remove(rec, 0);
    if (until > PV_STATE_TIME_MAX)
        until = PV_STATE_TIME_MAX;
    pv_strlcpy(rec->grant_keys[rec->n_grants], key, 65);
    rec->grant_at[rec->n_grants] = at < 0 ? 0 : at;
    rec->grant_until[rec->n_grants++] = until;
}

time_t pv_state_grant_end(const pv_state_record *rec, size_t i, long grace)
{
    time_t at, end;

    if (i >= rec->n_grants || grace <= 0)
        return 0;
    at = rec->grant_at[i];
    end = rec->grant_until[i];
    /* at 0: an older line, or nothing known about when it was earned */
    if (at <= 0 || at <= rec->grants_void)
        return 0;
    if (at > PV_STATE_TIME_MAX - grace)
        return 0;
    return end < at + grace ? end : at + grace;
}

int pv_state_grant_active(const pv_state_record *rec, const char *key,
                          time_t now, long grace, time_t grants_void)
{
    size_t i;

    for (i = 0; i < rec->n_grants; i++) {
        /* earned in the future: not a grant this host gave */
        if (strcmp(rec->grant_keys[i], key) != 0 || rec->grant_at[i] > now ||
            rec->grant_at[i] <= grants_void)
            continue;
        if (pv_state_grant_end(rec, i, grace) > now)
            return 1;
    }
    return 0;
}

void pv_state_grants_drop(pv_state_record *rec)
{
    memset(rec->grant_keys, 0, sizeof(rec->grant_keys));
    memset(rec->grant_until, 0, sizeof(rec->grant_until));
    memset(rec->grant_at, 0, sizeof(rec->grant_at));
    rec->n_grants = 0;
}

void pv_state_grants_void(pv_state_record *rec, time_t at)
{
    if (at > PV_STATE_TIME_MAX)
        at = PV_STATE_TIME_MAX;
    if (at > rec->grants_void)
        rec->grants_void = at;
    pv_state_grants_drop(rec);
}
