/* pv_state_mem.c - the in-memory state backend (pv_state_mem.h). */
#include <stdlib.h>
#include <string.h>
#include "state/pv_state_mem.h"
#include "base/pv_util.h"

typedef struct mem_entry {
    char *user;
    char *text; /* pv_state_record_format output */
    size_t len;
    char *stale; /* the text when stale reads began; NULL: none then */
    size_t stale_len;
    struct mem_entry *next;
} mem_entry;

typedef struct mem_backend {
    mem_entry *entries;
    int broken;
    int stale; /* reads answer from the snapshot (set_stale) */
} mem_backend;

static mem_entry *find_entry(mem_backend *mb, const char *user)
{
    mem_entry *e;

    for (e = mb->entries; e != NULL; e = e->next)
        if (strcmp(e->user, user) == 0)
            return e;
    return NULL;
}

/* The record as of now (stale 0) or as of the snapshot (stale 1). */
static int read_record(mem_backend *mb, const char *user, int stale,
                       pv_state_record *rec, pv_err *err)
{
    mem_entry *e;
    const char *text;
    size_t len;

    if (mb->broken) {
        pv_err_set(err, "state: unavailable (in-memory store broken)");
        return -1;
    }
    e = find_entry(mb, user);
    text = e == NULL ? NULL : stale ? e->stale : e->text;
    len = e == NULL ? 0 : stale ? e->stale_len : e->len;
    if (text == NULL || pv_state_record_parse(text, len, rec) != 0)
        pv_state_record_clear(rec); /* missing or corrupt: empty */
    return 0;
}

static int mem_read(pv_state *st, const char *user, pv_state_record *rec,
                    pv_err *err)
{
    mem_backend *mb = st->backend;

    return read_record(mb, user, mb->stale, rec, err);
}

/* Store text as user's record (taking ownership), creating the entry. */
static int store(mem_backend *mb, const char *user, char *text, size_t len)
{
    mem_entry *e = find_entry(mb, user);

    if (e == NULL) {
        e = calloc(1, sizeof(*e));
        if (e == NULL || (e->user = pv_strdup(user)) == NULL) {
            free(e);
            return -1;
        }
        e->next = mb->entries;
        mb->entries = e;
    }
    pv_free_secret(e->text); /* it held a pending id */
    e->text = text;
    e->len = len;
    return 0;
}

static int mem_update(pv_state *st, const char *user, pv_state_update_fn fn,
                      void *ctx, pv_err *err)
{
    pv_state_record rec;
    char *text = NULL;
    size_t len = 0;
    int rc;

    /* an update always sees the current record (a compare-and-swap) */
    if (read_record(st->backend, user, 0, &rec, err) != 0)
        return -1;
    rc = fn(&rec, ctx);
    if (rc == 0 && (pv_state_record_format(&rec, &text, &len) != 0 ||
                    store(st->backend, user, text, len) != 0)) {
        pv_free_secret(text);
        pv_err_set(err, "state: out of memory");
        rc = -1;
    }
    pv_state_record_clear(&rec);
    if (rc < 0) {
        if (err != NULL && err->msg[0] == '\0')
            pv_err_set(err, "state update aborted");
        return -1;
    }
    return 0;
}

static int mem_list(pv_state *st, pv_state_list_fn fn, void *ctx,
                    size_t *unnamed, pv_err *err)
{
    mem_backend *mb = st->backend;
    mem_entry *e;

    (void)unnamed;
    if (mb->broken) {
        pv_err_set(err, "state: unavailable (in-memory store broken)");
        return -1;
    }
    for (e = mb->entries; e != NULL; e = e->next)
        if (fn(e->user, ctx) != 0)
            return -1;
    return 0;
}

static void mem_close(pv_state *st)
{
    mem_backend *mb = st->backend;
    mem_entry *e, *next;

    if (mb == NULL)
        return;
    for (e = mb->entries; e != NULL; e = next) {
        next = e->next;
        pv_free_secret(e->stale);
        pv_free_secret(e->text);
        free(e->user);
        free(e);
    }
    free(mb);
    st->backend = NULL;
}

static const struct pv_state_ops mem_ops = {
    .read = mem_read,
    .update = mem_update,
    .list = mem_list,
    .close = mem_close,
};

int pv_state_mem_open(pv_state **out, pv_err *err)
{
    pv_state *st = calloc(1, sizeof(*st));
    mem_backend *mb = calloc(1, sizeof(*mb));

    *out = NULL;
    if (st == NULL || mb == NULL) {
        free(st);
        free(mb);
        pv_err_set(err, "state: out of memory");
        return -1;
    }
    st->ops = &mem_ops;
    st->backend = mb;
    st->lock_wait_ms = PV_STATE_LOCK_WAIT_MS;
    *out = st;
    return 0;
}

void pv_state_mem_set_broken(pv_state *st, int broken)
{
    mem_backend *mb = st != NULL ? st->backend : NULL;

    if (mb != NULL)
        mb->broken = broken;
}

int pv_state_mem_set_stale(pv_state *st, int stale)
{
    mem_backend *mb = st->backend;
    mem_entry *e;

    for (e = mb->entries; e != NULL; e = e->next) {
        pv_free_secret(e->stale);
        e->stale = NULL;
        e->stale_len = 0;
        if (!stale)
            continue;
        if ((e->stale = malloc(e->len + 1)) == NULL)
            return -1;
        memcpy(e->stale, e->text, e->len);
        e->stale[e->len] = '\0';
        e->stale_len = e->len;
    }
    mb->stale = stale;
    return 0;
}
