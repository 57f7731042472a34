/* pv_json.c - strict JSON for provider answers, over cJSON.
 *
 * cJSON alone is lenient where an authentication module must not be: it
 * stops at the first complete value (so "{...}garbage" parses), it reads up
 * to a NUL, it decodes \u0000 into a C string it thereby truncates, and it
 * accepts duplicate keys (whichever one a lookup finds first "wins").
 * These checks run around it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/pv_json.h"
#include "base/pv_util.h"

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}

/* A string escape at s[i] (the byte after the backslash): one of the JSON
 * escapes, and \u with exactly four hex digits that are not 0000 - cJSON
 * would turn \u0000 into a NUL that silently cuts the C string short
 * ("id\u0000evil" compared equal to "id").  Returns the escape's length
 * after the backslash, or 0 when refused. */
static size_t escape_len(const char *s, size_t i, size_t len)
{
    if (i >= len)
        return 0;
    if (strchr("\"\\/bfnrt", s[i]) != NULL && s[i] != '\0')
        return 1;
    if (s[i] != 'u' || i + 4 >= len || !is_hex(s[i + 1]) ||
        !is_hex(s[i + 2]) || !is_hex(s[i + 3]) || !is_hex(s[i + 4]))
        return 0;
    if (strncmp(s + i + 1, "0000", 4) == 0)
        return 0;
    return 5;
}

/* One linear scan before cJSON sees the text: nesting depth (so 100k
 * nested brackets cost no recursion) and string escapes. */
static int scan_ok(const char *s, size_t len)
{
    int depth = 0, in_string = 0;
    size_t i, n;

    for (i = 0; i < len; i++) {
        char c = s[i];

        if (in_string) {
            if (c == '\\') {
                if ((n = escape_len(s, i + 1, len)) == 0)
                    return 0;
                i += n;
            } else if (c == '"') {
                in_string = 0;
            }
            continue;
        }
        if (c == '"')
            in_string = 1;
        else if (c == '{' || c == '[') {
            if (++depth > PV_JSON_MAX_DEPTH)
                return 0;
        } else if (c == '}' || c == ']')
            depth--;
    }
    return 1;
}

static int only_space(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

static int has_duplicate_keys(const cJSON *node)
{
    const cJSON *a, *b;

    for (a = node ? node->child : NULL; a != NULL; a = a->next) {
        if (cJSON_IsObject(node))
            for (b = a->next; b != NULL; b = b->next)
                if (a->string && b->string &&
                    strcmp(a->string, b->string) == 0)
                    return 1;
        if (has_duplicate_keys(a))
            return 1;
    }
    return 0;
}

cJSON *pv_json_parse_object(const char *body, size_t len)
{
    const char *end = NULL;
    cJSON *root;

    if (body == NULL || len == 0 || memchr(body, '\0', len) != NULL)
        return NULL;
    if (!scan_ok(body, len))
        return NULL;
    root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (root == NULL)
        return NULL;
    if (end == NULL || end < body || (size_t)(end - body) > len ||
        !only_space(end, len - (size_t)(end - body)) ||
        !cJSON_IsObject(root) || has_duplicate_keys(root)) {
        pv_json_free(root);
        return NULL;
    }
    return root;
}

static void wipe_tree(cJSON *node)
{
    for (; node != NULL; node = node->next) {
        if (node->valuestring)
            pv_wipe(node->valuestring, strlen(node->valuestring));
        if (node->string)
            pv_wipe(node->string, strlen(node->string));
        wipe_tree(node->child);
    }
}

void pv_json_free(cJSON *root)
{
    if (root == NULL)
        return;
    wipe_tree(root->child);
    if (root->valuestring)
        pv_wipe(root->valuestring, strlen(root->valuestring));
    cJSON_Delete(root);
}

const char *pv_json_string(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(item) ? item->valuestring : NULL;
}

int pv_json_bool(const cJSON *obj, const char *key, int *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (!cJSON_IsBool(item))
        return -1;
    *out = cJSON_IsTrue(item) ? 1 : 0;
    return 0;
}

int pv_json_long(const cJSON *obj, const char *key, long min, long max,
                 long *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    double v;

    if (!cJSON_IsNumber(item))
        return -1;
    v = item->valuedouble;
    if (!isfinite(v) || v != floor(v) || v < (double)min || v > (double)max)
        return -1;
    *out = (long)v;
    return 0;
}

char *pv_json_build_strings(const char *const *keys, const char *const *values,
                            size_t n)
{
    cJSON *obj = cJSON_CreateObject();
    char *text = NULL;
    size_t i;

    if (obj == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if (cJSON_AddStringToObject(obj, keys[i], values[i]) == NULL)
            goto out;
    text = cJSON_PrintUnformatted(obj);
out:
    pv_json_free(obj);
    return text;
}
