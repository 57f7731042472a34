/* Break-glass codes: issued once, hashed on disk, each accepted once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "pv_breakglass.h"
#include "pv_util.h"

typedef struct fixture {
    char dir[64];
    char path[128];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));

    strcpy(f->dir, "/tmp/pv-bg-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/breakglass", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void free_codes(char **codes, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        pv_free_secret(codes[i]);
    free(codes);
}

static void test_issue_and_consume_once(void **state)
{
    fixture *f = *state;
    char **codes = NULL;
    pv_err err;
    char text[4096] = "";
    FILE *fp;
    struct stat st;

    assert_int_equal(pv_breakglass_issue(f->path, "alice", 3, 10, &codes, &err), 0);
    assert_int_equal(strlen(codes[0]), 10);
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* only hashes on disk */
    fp = fopen(f->path, "r");
    assert_non_null(fp);
    assert_true(fread(text, 1, sizeof(text) - 1, fp) > 0);
    fclose(fp);
    assert_null(strstr(text, codes[0]));
    assert_non_null(strstr(text, "alice:$y$"));

    assert_int_equal(pv_breakglass_consume(f->path, "bob", codes[1], &err),
                     PV_BREAKGLASS_REJECTED);
    assert_int_equal(pv_breakglass_consume(f->path, "alice", "0000000000", &err),
                     PV_BREAKGLASS_REJECTED);
    assert_int_equal(pv_breakglass_consume(f->path, "alice", codes[1], &err),
                     PV_BREAKGLASS_ACCEPTED);
    assert_int_equal(pv_breakglass_consume(f->path, "alice", codes[1], &err),
                     PV_BREAKGLASS_REJECTED);
    /* typed with a dash, as the CLI prints it */
    {
        char typed[16];

        snprintf(typed, sizeof(typed), "%.5s-%s", codes[2], codes[2] + 5);
        assert_int_equal(pv_breakglass_consume(f->path, "alice", typed, &err),
                         PV_BREAKGLASS_ACCEPTED);
    }
    assert_int_equal(pv_breakglass_consume(f->path, "alice", codes[0], &err),
                     PV_BREAKGLASS_ACCEPTED);
    assert_int_equal(pv_breakglass_consume(f->path, "alice", codes[0], &err),
                     PV_BREAKGLASS_REJECTED);
    free_codes(codes, 3);
}

static void test_unsafe_file_refused(void **state)
{
    fixture *f = *state;
    char **codes = NULL;
    pv_err err;

    assert_int_equal(pv_breakglass_issue(f->path, "alice", 1, 10, &codes, &err), 0);
    assert_int_equal(chmod(f->path, 0620), 0);
    assert_int_equal(pv_breakglass_consume(f->path, "alice", codes[0], &err),
                     PV_BREAKGLASS_ERROR);
    assert_int_equal(chmod(f->path, 0604), 0);   /* readable by others */
    assert_int_equal(pv_breakglass_consume(f->path, "alice", codes[0], &err),
                     PV_BREAKGLASS_ERROR);
    free_codes(codes, 1);
}

static void test_garbage_entries(void **state)
{
    fixture *f = *state;
    pv_err err;
    FILE *fp = fopen(f->path, "w");

    assert_non_null(fp);
    fputs("alice\nalice:\nalice:notahash\n:$y$x\nalice:*\n", fp);
    fclose(fp);
    assert_int_equal(chmod(f->path, 0600), 0);
    assert_int_equal(pv_breakglass_consume(f->path, "alice", "1234567890", &err),
                     PV_BREAKGLASS_REJECTED);
    assert_int_equal(pv_breakglass_consume(f->path, "alice", "", &err),
                     PV_BREAKGLASS_REJECTED);
    assert_int_equal(pv_breakglass_consume(f->path, "alice", "abc", &err),
                     PV_BREAKGLASS_REJECTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_issue_and_consume_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsafe_file_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_entries, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
