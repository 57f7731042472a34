/* pv_failover.c - provider entry lists and their shared health record. */
#include <string.h>

#include "policy/pv_failover.h"
#include "base/pv_sha256.h"
#include "base/pv_util.h"

size_t pv_entry_pick(const time_t *out_until, const unsigned char *failed,
                     size_t n, time_t now)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!failed[i] && out_until[i] <= now)
            return i;
    /* A mark orders the entries, it does not remove them: when every
     * unmarked entry failed in this login, the marked ones are tried too,
     * in order (pam_phoneverify.conf(5), PROVIDER FAILOVER). */
    for (i = 0; i < n; i++)
        if (!failed[i])
            return i;
    return n;
}

int pv_entries_left(const pv_entries *e)
{
    return pv_entry_pick(e->out_until, e->failed, e->n, 0) < e->n;
}

static void entry_key(const char *send, const char *verify, char out[65])
{
    unsigned char digest[32];
    pv_sha256 c;

    pv_sha256_init(&c);
    pv_sha256_update(&c, "pv-entry 1\n", 11);
    pv_sha256_netstring(&c, send);
    pv_sha256_netstring(&c, verify);
    pv_sha256_final(&c, digest);
    pv_sha256_hex(digest, out);
}

void pv_entries_init(pv_entries *e, const pv_config *cfg)
{
    char send[PV_URL_ENTRY_MAX], verify[PV_URL_ENTRY_MAX];
    size_t i, n = pv_url_list_count(cfg->send_url);

    memset(e, 0, sizeof(*e));
    if (n > PV_MAX_ENTRIES)
        n = PV_MAX_ENTRIES;
    for (i = 0; i < n; i++) {
        if (pv_url_list_item(cfg->send_url, i, send, sizeof(send)) != 0 ||
            pv_url_list_item(cfg->verify_url, i, verify, sizeof(verify)) != 0)
            break;
        entry_key(send, verify, e->key[i]);
    }
    e->n = i;
}

void pv_entries_load(pv_entries *e, pv_state *st)
{
    pv_state_health h;
    pv_err err;
    size_t i, k;

    if (e->n < 2)
        return; /* one entry: health changes nothing */
    pv_err_clear(&err);
    if (pv_state_health_read(st, &h, &err) != 0)
        return;
    for (i = 0; i < e->n; i++)
        for (k = 0; k < h.n; k++)
            if (strcmp(h.key[k], e->key[i]) == 0)
                e->out_until[i] = h.until[k];
}

typedef struct mark_ctx {
    const char *key;
    time_t now;
    time_t until;
} mark_ctx;

static void drop_mark(pv_state_health *h, size_t k)
{
    size_t rest = h->n - k - 1;

    memmove(h->key[k], h->key[k + 1], rest * sizeof(h->key[0]));
    memmove(&h->until[k], &h->until[k + 1], rest * sizeof(h->until[0]));
    h->n--;
}

/* Prune expired marks and this key's old mark; when still full, the mark
 * that ends first makes room. */
static int mark_cb(pv_state_health *h, void *ctx)
{
    const mark_ctx *m = ctx;
    size_t k = 0, first = 0;

    while (k < h->n) {
        if (h->until[k] <= m->now || strcmp(h->key[k], m->key) == 0)
            drop_mark(h, k);
        else
            k++;
    }
    if (h->n == PV_STATE_MAX_ENDPOINTS) {
        for (k = 1; k < h->n; k++)
            if (h->until[k] < h->until[first])
                first = k;
        drop_mark(h, first);
    }
    k = h->n++;
    memcpy(h->key[k], m->key, 65);
    h->until[k] = m->until;
    return 0;
}

int pv_entries_mark_out(pv_entries *e, pv_state *st, size_t i, time_t now)
{
    mark_ctx m;
    pv_err err;

    if (i >= e->n)
        return -1;
    e->failed[i] = 1;
    e->out_until[i] = now + PV_ENTRY_OUT_SECONDS;
    if (e->n < 2)
        return 0; /* nowhere else to go: nothing to share */
    m.key = e->key[i];
    m.now = now;
    m.until = e->out_until[i];
    pv_err_clear(&err);
    return pv_state_health_update(st, mark_cb, &m, &err);
}
