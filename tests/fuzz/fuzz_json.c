/* fuzz_json.c - libFuzzer harness for pv_json_parse_object(), the strict
 * wrapper over cJSON that every provider answer goes through.
 *
 * Input: a response body (not NUL-terminated).
 *
 * Properties checked besides memory safety:
 *  - an accepted body is a JSON object, holds no NUL byte - neither raw
 *    nor escaped (\u0000, or a malformed \u escape, which cJSON also
 *    decodes as NUL) - and has no duplicate key among its members;
 *  - the typed accessors (pv_json_string/bool/long) work on every member
 *    and agree with the member's type;
 *  - round trip: cJSON's own rendering of an accepted tree is accepted
 *    again (strictness refuses nothing cJSON itself would write).
 * Trees are released with pv_json_free (the wiping free the library uses). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pv_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_json: %s\n", what);
    abort();
}

/* 1 if a string in the body holds an escape that cJSON decodes to a NUL
 * byte: \u0000, or a \u not followed by four hex digits (cJSON's
 * parse_hex4 yields 0 for those).  Either silently cuts the decoded key or
 * value at that point ("verified\u0000x" is looked up as "verified"), which
 * the "embedded NUL bytes refused" rule (SPEC 5, pv_json.h) excludes. */
static int has_nul_escape(const char *s, size_t len)
{
    int in_string = 0;
    size_t i, k;

    for (i = 0; i < len; i++) {
        if (!in_string) {
            in_string = s[i] == '"';
            continue;
        }
        if (s[i] == '"') {
            in_string = 0;
            continue;
        }
        if (s[i] != '\\' || ++i >= len || s[i] != 'u')
            continue;
        if (len - i <= 4)
            return 1;
        for (k = 1; k <= 4; k++)
            if (!strchr("0123456789abcdefABCDEF", s[i + k]) ||
                s[i + k] == '\0')
                return 1;
        if (memcmp(s + i + 1, "0000", 4) == 0)
            return 1;
        i += 4;
    }
    return 0;
}

static void check_members(const cJSON *obj)
{
    const cJSON *m, *o;

    for (m = obj->child; m != NULL; m = m->next) {
        const char *s;
        int b;
        long l;

        if (m->string == NULL)
            fail("object member without a key");
        for (o = m->next; o != NULL; o = o->next)
            if (o->string != NULL && strcmp(o->string, m->string) == 0)
                fail("duplicate key accepted");
        /* the lookup finds this member (keys are unique) */
        if (cJSON_GetObjectItemCaseSensitive(obj, m->string) != m)
            fail("lookup does not find the member");
        s = pv_json_string(obj, m->string);
        if ((s != NULL) != (cJSON_IsString(m) && m->valuestring != NULL))
            fail("pv_json_string disagrees with the type");
        if ((pv_json_bool(obj, m->string, &b) == 0) != cJSON_IsBool(m))
            fail("pv_json_bool disagrees with the type");
        if (pv_json_long(obj, m->string, -100000, 100000, &l) == 0 &&
            (!cJSON_IsNumber(m) || l < -100000 || l > 100000))
            fail("pv_json_long accepted a non-number or out of range");
        (void)pv_json_long(obj, m->string, 0, 86400, &l);
        if (cJSON_IsObject(m))
            check_members(m);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *root, *again;
    char *text;

    root = pv_json_parse_object((const char *)data, size);
    if (root == NULL)
        return 0;
    if (!cJSON_IsObject(root))
        fail("accepted a non-object");
    if (memchr(data, '\0', size) != NULL)
        fail("accepted a body with a NUL byte");
    if (has_nul_escape((const char *)data, size))
        fail("accepted a body whose string escapes decode to a NUL byte");
    check_members(root);

    text = cJSON_PrintUnformatted(root);
    if (text != NULL) {
        again = pv_json_parse_object(text, strlen(text));
        if (again == NULL) {
            fprintf(stderr, "fuzz_json: rendering refused: %s\n", text);
            abort();
        }
        pv_json_free(again);
        cJSON_free(text);
    }
    pv_json_free(root);
    return 0;
}
