/* pv_scope.c - who is subject to the check: `groups` and
 * `trusted_rhosts`.
 *
 * Both decide whether a login may skip the second factor, so every doubt
 * (a spec that does not parse, a group database that fails) resolves
 * towards checking the user. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/pv_scope.h"

#define GROUP_NAME_MAX 256
#define USER_GROUPS_MAX 65536 /* NGROUPS_MAX on Linux */
#define NSS_BUF_MAX (1u << 20)
#define ERR_TOKEN_MAX 64 /* how much of a bad token to quote */

/* One space-separated word of a spec. */
struct tok {
    const char *p;
    size_t n;
};

static int is_sep(char c)
{
    return c == ' ' || c == '\t';
}

/* The next word of *s (n == 0 at the end); *s moves past it. */
static struct tok next_tok(const char **s)
{
    const char *p = *s, *start;

    while (is_sep(*p))
        p++;
    start = p;
    while (*p && !is_sep(*p))
        p++;
    *s = p;
    return (struct tok){ start, (size_t)(p - start) };
}

static int quote_len(struct tok t)
{
    return t.n > ERR_TOKEN_MAX ? ERR_TOKEN_MAX : (int)t.n;
}

/* ---- groups -------------------------------------------------------- */

/* "name" or "!name"; a name has no '!', ':', ',' or control bytes. */
static int group_tok_ok(struct tok t)
{
    size_t i = t.p[0] == '!' ? 1 : 0;

    if (t.n - i == 0 || t.n - i > GROUP_NAME_MAX)
        return 0;
    for (; i < t.n; i++) {
        unsigned char c = (unsigned char)t.p[i];
        if (c < 0x20 || c == 0x7f || c == '!' || c == ':' || c == ',')
            return 0;
    }
    return 1;
}

int pv_groups_validate(const char *spec, pv_err *err)
{
    const char *s = spec ? spec : "";

    for (struct tok t = next_tok(&s); t.n > 0; t = next_tok(&s)) {
        if (!group_tok_ok(t)) {
            pv_err_set(err, "groups: '%.*s' is not a group name or '!group'",
                       quote_len(t), t.p);
            return -1;
        }
    }
    return 0;
}

static int in_groups(struct tok name, const char *const *groups, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (groups[i] && strlen(groups[i]) == name.n &&
            memcmp(groups[i], name.p, name.n) == 0)
            return 1;
    return 0;
}

int pv_groups_require_check(const char *spec, const char *const *user_groups,
                            size_t n)
{
    const char *s = spec;
    int positive = 0, matched = 0;

    /* A spec that does not parse exempts nobody. */
    if (!spec || pv_groups_validate(spec, NULL) != 0)
        return 1;
    for (struct tok t = next_tok(&s); t.n > 0; t = next_tok(&s)) {
        int neg = t.p[0] == '!';
        struct tok name = { t.p + neg, t.n - (size_t)neg };
        int member = in_groups(name, user_groups, n);

        if (neg && member)
            return 0; /* an exemption beats any inclusion */
        if (!neg) {
            positive = 1;
            matched |= member;
        }
    }
    return positive ? matched : 1;
}

/* All gids of user, growing the buffer until getgrouplist fits. */
static int user_gids(const char *user, gid_t primary, gid_t **out, int *count)
{
    gid_t *gids = NULL;
    int size = 32;

    for (;;) {
        gid_t *grown = realloc(gids, (size_t)size * sizeof *grown);
        int got = size;

        if (!grown)
            break;
        gids = grown;
        if (getgrouplist(user, primary, gids, &got) >= 0) {
            *out = gids;
            *count = got;
            return 0;
        }
        if (size >= USER_GROUPS_MAX)
            break;
        /* glibc reports the count it needs; grow at least twofold anyway. */
        size = got > size ? got : size * 2;
        if (size > USER_GROUPS_MAX)
            size = USER_GROUPS_MAX;
    }
    free(gids);
    return -1;
}

/* 1 with *name malloc'd, 0 when gid has no group entry, -1 on error.
 * buf/size are reused across calls. */
static int group_name(gid_t gid, char **buf, size_t *size, char **name)
{
    struct group gr, *res = NULL;
    int rc;

    for (;;) {
        rc = getgrgid_r(gid, &gr, *buf, *size, &res);
        if (rc != ERANGE)
            break;
        if (*size >= NSS_BUF_MAX)
            return -1;
        char *grown = realloc(*buf, *size * 2);
        if (!grown)
            return -1;
        *buf = grown;
        *size *= 2;
    }
    if (rc == ENOENT || (rc == 0 && !res))
        return 0;
    if (rc != 0)
        return -1; /* a failing database must not shrink the list */
    *name = strdup(gr.gr_name);
    return *name ? 1 : -1;
}

static int gids_to_names(const gid_t *gids, int count, char ***names,
                         size_t *n)
{
    long hint = sysconf(_SC_GETGR_R_SIZE_MAX);
    size_t size = hint > 0 ? (size_t)hint : 1024;
    char *buf = malloc(size);
    char **arr = calloc(count > 0 ? (size_t)count : 1, sizeof *arr);
    size_t k = 0;

    if (!buf || !arr)
        goto fail;
    for (int i = 0; i < count; i++) {
        int r = group_name(gids[i], &buf, &size, &arr[k]);
        if (r < 0)
            goto fail;
        k += (size_t)r;
    }
    free(buf);
    *names = arr;
    *n = k;
    return 0;
fail:
    free(buf);
    pv_user_groups_free(arr, k);
    return -1;
}

int pv_user_groups(const char *user, gid_t primary, char ***names, size_t *n)
{
    gid_t *gids = NULL;
    int count = 0, rc;

    *names = NULL;
    *n = 0;
    if (!user || user_gids(user, primary, &gids, &count) != 0)
        return -1;
    rc = gids_to_names(gids, count, names, n);
    free(gids);
    return rc;
}

void pv_user_groups_free(char **names, size_t n)
{
    if (!names)
        return;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* ---- trusted_rhosts ------------------------------------------------ */

struct net {
    int family;             /* AF_INET or AF_INET6 */
    unsigned char addr[16]; /* AF_INET: the first 4 bytes */
    unsigned prefix;
};

static int addr_parse(const char *text, struct net *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, out->addr) == 1) {
        out->family = AF_INET;
        out->prefix = 32;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->addr) == 1) {
        out->family = AF_INET6;
        out->prefix = 128;
        return 0;
    }
    return -1;
}

/* Strict decimal 0..max: no sign, no leading zero (some tools read those
 * as octal), at most three digits. */
static int prefix_parse(const char *s, unsigned max, unsigned *out)
{
    size_t n = strlen(s);
    unsigned v = 0;

    if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

/* ::ffff:a.b.c.d is an IPv4 peer on a dual-stack socket: compare it (and
 * such entries) as IPv4. */
static void unmap_v4(struct net *a)
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0,    0,
                                              0, 0, 0, 0, 0xff, 0xff };

    if (a->family != AF_INET6 || a->prefix < 96 ||
        memcmp(a->addr, mapped, sizeof mapped) != 0)
        return;
    memmove(a->addr, a->addr + 12, 4);
    memset(a->addr + 4, 0, 12);
    a->family = AF_INET;
    a->prefix -= 96;
}

/* "addr" or "addr/len". */
static int net_parse(struct tok t, struct net *out)
{
    char buf[INET6_ADDRSTRLEN + sizeof "/128"];
    char *slash;
    unsigned max;

    if (t.n >= sizeof buf)
        return -1;
    memcpy(buf, t.p, t.n);
    buf[t.n] = '\0';
    slash = strchr(buf, '/');
    if (slash)
        *slash++ = '\0';
    if (addr_parse(buf, out) != 0)
        return -1;
    max = out->prefix;
    if (slash && prefix_parse(slash, max, &out->prefix) != 0)
        return -1;
    unmap_v4(out);
    return 0;
}

/* Bit mask of the first `bits` (0..8) bits of a byte. */
static unsigned char lead_mask(unsigned bits)
{
    return (unsigned char)(0xff00u >> bits);
}

static int host_bits_clear(const struct net *a)
{
    unsigned len = a->family == AF_INET ? 4 : 16;

    for (unsigned i = a->prefix / 8; i < len; i++) {
        unsigned keep = i == a->prefix / 8 ? a->prefix % 8 : 0;
        if (a->addr[i] & (unsigned char)~lead_mask(keep))
            return 0;
    }
    return 1;
}

static int net_contains(const struct net *net, const struct net *host)
{
    unsigned whole = net->prefix / 8, rest = net->prefix % 8;

    if (net->family != host->family ||
        memcmp(net->addr, host->addr, whole) != 0)
        return 0;
    return rest == 0 ||
           ((net->addr[whole] ^ host->addr[whole]) & lead_mask(rest)) == 0;
}

int pv_rhosts_validate(const char *spec, pv_err *err)
{
    const char *s = spec ? spec : "";
    struct net net;

    for (struct tok t = next_tok(&s); t.n > 0; t = next_tok(&s)) {
        if (net_parse(t, &net) != 0) {
            pv_err_set(err,
                       "trusted_rhosts: '%.*s' is not an address or "
                       "CIDR",
                       quote_len(t), t.p);
            return -1;
        }
        /* 10.1.2.3/8 is most likely a typo for a narrower trust. */
        if (!host_bits_clear(&net)) {
            pv_err_set(err,
                       "trusted_rhosts: '%.*s' has bits set after its "
                       "prefix length",
                       quote_len(t), t.p);
            return -1;
        }
    }
    return 0;
}

int pv_rhost_trusted(const char *spec, const char *rhost)
{
    const char *s = spec;
    struct net host, net;

    /* Only a literal address: a host name would mean trusting DNS. */
    if (!spec || !rhost || strlen(rhost) >= INET6_ADDRSTRLEN ||
        addr_parse(rhost, &host) != 0)
        return 0;
    unmap_v4(&host);
    for (struct tok t = next_tok(&s); t.n > 0; t = next_tok(&s))
        if (net_parse(t, &net) == 0 && net_contains(&net, &host))
            return 1;
    return 0;
}
