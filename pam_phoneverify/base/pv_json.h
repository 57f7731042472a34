/* pv_json.h - strict JSON for provider answers, over cJSON.
 *
 * Refused: embedded NUL bytes, trailing garbage, nesting deeper than
 * PV_JSON_MAX_DEPTH, a top level that is not an object, duplicate keys.
 * Lookups are case-sensitive and typed. */
#ifndef PV_JSON_H
#define PV_JSON_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define PV_JSON_MAX_DEPTH 16

/* Parse body[0..len) into an object; NULL when refused. */
cJSON *pv_json_parse_object(const char *body, size_t len);
/* Free a tree, wiping every string it holds (answers carry ids/tokens). */
void pv_json_free(cJSON *root);

/* Typed, case-sensitive member access: NULL/-1 when absent or mistyped. */
const char *pv_json_string(const cJSON *obj, const char *key);
int pv_json_bool(const cJSON *obj, const char *key, int *out);
/* A JSON number that is an integer in [min,max]. */
int pv_json_long(const cJSON *obj, const char *key, long min, long max,
                 long *out);

/* Build a JSON object text from n key/value string pairs; malloc'd. */
char *pv_json_build_strings(const char *const *keys, const char *const *values,
                            size_t n);

#endif
