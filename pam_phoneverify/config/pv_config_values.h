/* pv_config_values.h - checks of single configuration values, shared by
 * pv_config.c's key table (private to the library).  Each returns 0 when
 * v is acceptable for key `name`, -1 with why set (never echoing a value
 * that may be secret). */
#ifndef PV_CONFIG_VALUES_H
#define PV_CONFIG_VALUES_H

#include <stddef.h>
#include "base/pv_err.h"

/* Copy at most len bytes of src into dst for quoting in a message:
 * non-printable bytes become '?', long text is cut with "...". */
void pv_cfgval_quote(char *dst, size_t size, const char *src, size_t len);

/* The key table as the parser sees it (pv_config.c owns the table). */
#define PV_CONFIG_MAX_KEYS 96
int pv_config_key_id(const char *name); /* -1: unknown key */
const char *pv_config_key_name(int id);
int pv_config_key_file_only(int id); /* refused on the PAM line */

int pv_cfgval_is_word(const char *s); /* printable ASCII, no spaces */
int pv_cfgval_is_text(const char *s); /* no control characters */

int pv_cfgval_url(const char *name, const char *v, pv_err *why);
int pv_cfgval_url_list(const char *name, const char *v, pv_err *why);
int pv_cfgval_prefix(const char *name, const char *v, pv_err *why);
int pv_cfgval_path(const char *name, const char *v, pv_err *why);
int pv_cfgval_capath(const char *name, const char *v, pv_err *why);
int pv_cfgval_word(const char *name, const char *v, pv_err *why);
int pv_cfgval_text(const char *name, const char *v, pv_err *why);
int pv_cfgval_user(const char *name, const char *v, pv_err *why);
int pv_cfgval_groups(const char *name, const char *v, pv_err *why);
int pv_cfgval_rhosts(const char *name, const char *v, pv_err *why);
int pv_cfgval_state(const char *name, const char *v, pv_err *why);
int pv_cfgval_pin(const char *name, const char *v, pv_err *why);
int pv_cfgval_proxy(const char *name, const char *v, pv_err *why);
int pv_cfgval_language(const char *name, const char *v, pv_err *why);
int pv_cfgval_link_hosts(const char *name, const char *v, pv_err *why);

#define PV_MAX_ENDPOINTS 8 /* state_endpoints entries */

/* URLs in a space/tab-separated list (0 for NULL or empty). */
size_t pv_url_list_count(const char *list);
/* Copy URL i of list into buf: 0 ok, -1 no such URL or too long. */
int pv_url_list_item(const char *list, size_t i, char *buf, size_t size);

/* A provider credential -> the Authorization header value (*header NULL
 * for `none`; the caller wipes and frees it). */
int pv_cfgval_auth(const char *name, const char *v, char **header,
                   pv_err *why);

#endif
