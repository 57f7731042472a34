/* pv_i18n.c - the messages a user sees, in the configured `language`.
 *
 * Catalogues are GNU gettext .mo files (po/LANG.po in the source tree,
 * compiled by msgfmt, installed as LOCALEDIR/LANG/LC_MESSAGES/
 * pam_phoneverify.mo).  The module does not call gettext(3) itself:
 * gettext picks the language from the process locale and from LANGUAGE,
 * which under sudo and su are the calling user's, and bindtextdomain and
 * setlocale change process-wide state inside sshd.  So the module reads
 * the catalogue the configuration names into a per-login object and looks
 * messages up there; nothing global, nothing from the environment.
 *
 * A catalogue is checked as it is read (it is a parser of a file, fuzzed
 * in tests/fuzz/fuzz_catalog.c): every offset and length inside the file,
 * originals sorted (for the binary search), no control characters but
 * newline in a translation, and the printf conversions of a translation
 * the same as its original's: a translation that differs there is not
 * used, because the flow formats translated text with the original's
 * arguments. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/pv_i18n.h"
#include "base/pv_safefile.h"
#include "base/pv_util.h"

#define MO_MAGIC 0x950412deU
#define MO_MAGIC_SWAPPED 0xde120495U
#define MO_HEADER_SIZE 28

struct pv_catalog {
    size_t n;
    const char **orig;  /* sorted, point into data */
    const char **trans; /* NULL where the translation is unusable */
    char *data;         /* the whole file, NUL-terminated */
    size_t len;
};

static uint32_t read_u32(const unsigned char *p, int swapped)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;

    if (swapped)
        v = (v >> 24) | ((v >> 8) & 0xff00U) | ((v << 8) & 0xff0000U) |
            (v << 24);
    return v;
}

/* The string of table entry i (length, offset) if it lies inside the file
 * and ends with its NUL; NULL otherwise.  *len receives its length. */
static const char *table_string(const char *data, size_t size, uint32_t table,
                                size_t i, int swapped, size_t *len)
{
    const unsigned char *u = (const unsigned char *)data;
    uint64_t at = (uint64_t)table + (uint64_t)i * 8;
    uint32_t l, off;

    if (at + 8 > size)
        return NULL;
    l = read_u32(u + at, swapped);
    off = read_u32(u + at + 4, swapped);
    if ((uint64_t)off + l >= size || data[off + l] != '\0')
        return NULL;
    *len = l;
    return data + off;
}

/* The printf conversions of s, in order ("%ld %s" -> "lds"); "%%" is no
 * conversion.  -1 when s holds more than fit or a malformed one. */
static int conversions(const char *s, char *out, size_t size)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        if (*s != '%')
            continue;
        s++;
        if (*s == '%')
            continue;
        while (*s != '\0' && strchr("0123456789.-+ #lhzjt", *s) != NULL) {
            if (n + 1 >= size)
                return -1;
            out[n++] = *s++;
        }
        if (*s == '\0' || strchr("diouxXscp", *s) == NULL || n + 2 >= size)
            return -1;
        out[n++] = *s;
        out[n++] = '|';
    }
    out[n] = '\0';
    return 0;
}

/* A translation is used only when it is text a terminal shows safely and
 * formats with exactly the original's arguments. */
static int usable(const char *orig, const char *trans, size_t tlen)
{
    char a[64], b[64];
    size_t i;

    if (tlen == 0)
        return 0; /* untranslated */
    for (i = 0; i < tlen; i++) {
        unsigned char c = (unsigned char)trans[i];

        if ((c < 0x20 && c != '\n') || c == 0x7f)
            return 0;
    }
    return conversions(orig, a, sizeof a) == 0 &&
           conversions(trans, b, sizeof b) == 0 && strcmp(a, b) == 0;
}

static int parse_tables(pv_catalog *c, int swapped, pv_err *err)
{
    const unsigned char *u = (const unsigned char *)c->data;
    uint32_t n = read_u32(u + 8, swapped);
    uint32_t otab = read_u32(u + 12, swapped);
    uint32_t ttab = read_u32(u + 16, swapped);
    size_t i;

    if ((uint64_t)n * 16 > c->len) {
        pv_err_set(err, "catalogue: %u strings cannot fit", n);
        return -1;
    }
    c->orig = calloc(n ? n : 1, sizeof(*c->orig));
    c->trans = calloc(n ? n : 1, sizeof(*c->trans));
    if (c->orig == NULL || c->trans == NULL) {
        pv_err_set(err, "catalogue: out of memory");
        return -1;
    }
    for (i = 0; i < n; i++) {
        size_t olen, tlen;
        const char *o = table_string(c->data, c->len, otab, i, swapped, &olen);
        const char *t = table_string(c->data, c->len, ttab, i, swapped, &tlen);

        if (o == NULL || t == NULL) {
            pv_err_set(err, "catalogue: string %zu lies outside the file", i);
            return -1;
        }
        if (i > 0 && strcmp(c->orig[i - 1], o) >= 0) {
            pv_err_set(err, "catalogue: strings not sorted at %zu", i);
            return -1;
        }
        c->orig[i] = o;
        /* a plural entry ("one\0many") or a bad translation: not used */
        c->trans[i] =
            (strlen(o) == olen && strlen(t) == tlen && usable(o, t, tlen))
                ? t
                : NULL;
    }
    c->n = n;
    return 0;
}

int pv_catalog_parse(const void *data, size_t len, pv_catalog **out,
                     pv_err *err)
{
    pv_catalog *c = NULL;
    uint32_t magic;
    int swapped;

    *out = NULL;
    if (len < MO_HEADER_SIZE || len > PV_CATALOG_MAX_SIZE) {
        pv_err_set(err, "catalogue: size %zu is not that of a catalogue", len);
        return -1;
    }
    magic = read_u32(data, 0);
    if (magic != MO_MAGIC && magic != MO_MAGIC_SWAPPED) {
        pv_err_set(err, "catalogue: not a .mo file");
        return -1;
    }
    swapped = magic == MO_MAGIC_SWAPPED;
    if ((read_u32((const unsigned char *)data + 4, swapped) >> 16) > 1) {
        pv_err_set(err, "catalogue: unknown .mo revision");
        return -1;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL ||
        (c->data = malloc(len + 1)) == NULL) {
        pv_err_set(err, "catalogue: out of memory");
        goto err;
    }
    memcpy(c->data, data, len);
    c->data[len] = '\0';
    c->len = len;
    if (parse_tables(c, swapped, err) < 0)
        goto err;
    *out = c;
    return 0;
err:
    pv_catalog_free(c);
    return -1;
}

/* Read a checked catalogue file (binary: NUL bytes are data). */
static int read_file(const char *path, char **data, size_t *len, pv_err *err)
{
    struct stat st;
    int fd = pv_safe_open(path, PV_FILE_PUBLIC, &st, err), r;

    *data = NULL;
    if (fd < 0)
        return -1;
    r = pv_safe_read_fd(fd, path, PV_CATALOG_MAX_SIZE, PV_READ_BINARY, data,
                        len, err);
    close(fd);
    return r;
}

int pv_catalog_load(const char *dir, const char *language, pv_catalog **out,
                    pv_err *err)
{
    char path[4096];
    char *data = NULL;
    size_t len = 0;
    int r;

    *out = NULL;
    if (!pv_language_name_valid(language)) {
        pv_err_set(err, "language: not a language name");
        return -1;
    }
    if (strcmp(language, "en") == 0)
        return 0; /* the messages as written */
    if (pv_snprintf(path, sizeof(path), "%s/%s/LC_MESSAGES/%s.mo", dir,
                    language, PV_TEXT_DOMAIN) < 0) {
        pv_err_set(err, "language: catalogue path too long");
        return -1;
    }
    if (read_file(path, &data, &len, err) < 0)
        return -1;
    r = pv_catalog_parse(data, len, out, err);
    free(data);
    return r;
}

int pv_language_name_valid(const char *s)
{
    size_t n = 0;

    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
              (n > 0 && (s[n] == '_' || s[n] == '@'))))
            return 0;
    return n >= 2 && n <= 32;
}

const char *pv_tr(const pv_catalog *c, const char *msgid)
{
    size_t lo = 0, hi;

    if (c == NULL || msgid == NULL || msgid[0] == '\0')
        return msgid;
    hi = c->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(msgid, c->orig[mid]);

        if (cmp == 0)
            return c->trans[mid] != NULL ? c->trans[mid] : msgid;
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return msgid;
}

/* The compiler checks the arguments against msgid (the format attribute
 * in pv_i18n.h); the translation is used only when its conversions are
 * msgid's (usable() above), so formatting it with the same arguments is
 * as safe as formatting msgid. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
int pv_vtrf(const pv_catalog *c, char *buf, size_t size, const char *msgid,
            va_list ap)
{
    int n = vsnprintf(buf, size, pv_tr(c, msgid), ap);

    if (n < 0 && size > 0)
        buf[0] = '\0';
    return n;
}

int pv_trf(const pv_catalog *c, char *buf, size_t size, const char *msgid, ...)
{
    va_list ap;
    int n;

    va_start(ap, msgid);
    n = pv_vtrf(c, buf, size, msgid, ap);
    va_end(ap);
    return n;
}
#pragma GCC diagnostic pop

size_t pv_catalog_count(const pv_catalog *c)
{
    size_t i, n = 0;

    for (i = 0; c != NULL && i < c->n; i++)
        n += c->trans[i] != NULL && c->orig[i][0] != '\0';
    return n;
}

void pv_catalog_free(pv_catalog *c)
{
    if (c == NULL)
        return;
    free(c->orig);
    free(c->trans);
    free(c->data);
    free(c);
}
