/* Break-glass codes across hosts (SPEC 8): the use of a matched code is
 * claimed (recorded elsewhere) before it is accepted; a hash already
 * claimed is refused even where its line is still listed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "policy/pv_breakglass.h"
#include "base/pv_util.h"

#define MAX_CLAIMS 4

/* A stand-in for the shared store: the hashes claimed so far. */
typedef struct claims {
    char hash[MAX_CLAIMS][256];
    size_t n;
    int fail; /* the store is unusable */
} claims;

static int claim(void *ctx, const char *hash)
{
    claims *c = ctx;
    size_t i;

    if (c->fail)
        return -1;
    for (i = 0; i < c->n; i++)
        if (strcmp(c->hash[i], hash) == 0)
            return 1;
    if (c->n == MAX_CLAIMS || pv_strlcpy(c->hash[c->n], hash, 256) != 0)
        return -1;
    c->n++;
    return 0;
}

static void copy_file(const char *from, const char *to)
{
    char buf[8192];
    FILE *in = fopen(from, "r"), *out = fopen(to, "w");
    size_t n;

    assert_non_null(in);
    assert_non_null(out);
    n = fread(buf, 1, sizeof(buf), in);
    assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
}

static void test_claimed_once_across_files(void **state)
{
    char dir[] = "/tmp/pv-bgc-XXXXXX", a[64], b[64];
    char **codes = NULL;
    claims c;
    pv_err err;

    (void)state;
    memset(&c, 0, sizeof(c));
    assert_non_null(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/host-a", dir);
    snprintf(b, sizeof(b), "%s/host-b", dir);
    assert_int_equal(pv_breakglass_issue(a, "alice", 1, 10, &codes, &err), 0);
    copy_file(a, b); /* the same hash on both hosts */
    assert_int_equal(chmod(b, 0600), 0);

    /* the store is down: not accepted, the line stays */
    c.fail = 1;
    assert_int_equal(
        pv_breakglass_consume_claimed(a, "alice", codes[0], claim, &c, &err),
        PV_BREAKGLASS_ERROR);
    c.fail = 0;
    assert_int_equal(
        pv_breakglass_consume_claimed(a, "alice", codes[0], claim, &c, &err),
        PV_BREAKGLASS_ACCEPTED);
    assert_int_equal(c.n, 1);
    assert_int_equal(strncmp(c.hash[0], "$y$", 3), 0);
    /* host B still lists it: refused, and its line removed */
    assert_int_equal(
        pv_breakglass_consume_claimed(b, "alice", codes[0], claim, &c, &err),
        PV_BREAKGLASS_REJECTED);
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        pv_breakglass_consume_claimed(b, "alice", codes[0], claim, &c, &err),
        PV_BREAKGLASS_REJECTED);
    assert_int_equal(c.n, 0); /* no match any more: no claim */
    pv_free_secret(codes[0]);
    free(codes);
    unlink(a);
    unlink(b);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claimed_once_across_files),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
