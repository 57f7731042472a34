/* pv_i18n.h - translated user messages without process-wide state.
 *
 * pv_catalog_load reads LOCALEDIR/LANG/LC_MESSAGES/pam_phoneverify.mo (a
 * GNU gettext catalogue built from po/LANG.po) into a per-login object;
 * pv_tr looks a message up there and falls back to the English original.
 * The flow translates a message before it formats it, so a translation is
 * used only when its printf conversions are those of the original.  Syslog
 * records are never translated. */
#ifndef PV_I18N_H
#define PV_I18N_H

#include <stdarg.h>
#include <stddef.h>
#include "base/pv_err.h"

#define PV_TEXT_DOMAIN "pam_phoneverify"
#define PV_CATALOG_MAX_SIZE (1024 * 1024)
#ifndef PV_LOCALEDIR
#define PV_LOCALEDIR "/usr/share/locale"
#endif

/* Marks a message for xgettext (po/Makefile rules) without translating it
 * where it is defined. */
#define N_(s) s

typedef struct pv_catalog pv_catalog;

/* "en" gives *out == NULL (the messages as written) and 0.  Otherwise the
 * catalogue is opened with the safe-file rules and checked; -1 with err
 * when it is missing, unsafe or malformed. */
int pv_catalog_load(const char *dir, const char *language, pv_catalog **out,
                    pv_err *err);

/* Parse a catalogue already in memory (the fuzzed entry point). */
int pv_catalog_parse(const void *data, size_t len, pv_catalog **out,
                     pv_err *err);

/* The translation of msgid, or msgid itself (c NULL, no entry, or an
 * unusable translation).  Valid while c lives. */
const char *pv_tr(const pv_catalog *c, const char *msgid);

/* snprintf of the translation of msgid with msgid's arguments (checked
 * at compile time against msgid, at load time against the translation). */
int pv_trf(const pv_catalog *c, char *buf, size_t size, const char *msgid, ...)
    __attribute__((format(printf, 4, 5)));

int pv_vtrf(const pv_catalog *c, char *buf, size_t size, const char *msgid,
            va_list ap) __attribute__((format(printf, 4, 0)));

/* Usable translations in c (tests: "the catalogue is complete"). */
size_t pv_catalog_count(const pv_catalog *c);

/* [A-Za-z][A-Za-z_@]{1,31}: a name that cannot leave LOCALEDIR. */
int pv_language_name_valid(const char *s);

void pv_catalog_free(pv_catalog *c);

#endif
