/* fuzz_state.c - libFuzzer harness for the state record format
 * (pv_state_record_parse / pv_state_record_format).
 *
 * Input: the bytes of a state file, exactly as the file backend reads them.
 *
 * Properties checked besides memory safety:
 *  - a refused record reads as empty (all zero), as pv_state.h promises;
 *  - round trip: a record that parses can be formatted (the parser accepts
 *    nothing the writer refuses), its text is within PV_STATE_MAX_SIZE,
 *    parses again to the same record, and formatting that is a fixed
 *    point (format(parse(format(r))) == format(r), byte for byte). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/pv_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i;

    for (i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_state: %s\n", what);
    abort();
}

static void same_record(const pv_state_record *a, const pv_state_record *b)
{
    size_t i;

    if (a->n_failures != b->n_failures)
        fail("round trip: n_failures differ");
    for (i = 0; i < a->n_failures && i < PV_STATE_MAX_FAILURES; i++)
        if (a->failures[i] != b->failures[i])
            fail("round trip: a failure instant differs");
    if (a->locked_until != b->locked_until)
        fail("round trip: locked_until differs");
    if (strcmp(a->pending_id, b->pending_id) != 0 ||
        strcmp(a->pending_to, b->pending_to) != 0 ||
        a->pending_expires != b->pending_expires)
        fail("round trip: pending differs");
    if (strcmp(a->precheck_key, b->precheck_key) != 0 ||
        a->precheck_until != b->precheck_until)
        fail("round trip: precheck differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_state_record *r1, *r2;
    char *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;

    /* heap, so ASan sees overflows of the fixed-size fields */
    r1 = malloc(sizeof *r1);
    r2 = malloc(sizeof *r2);
    if (r1 == NULL || r2 == NULL)
        goto out;
    memset(r1, 0xa5, sizeof *r1);
    if (pv_state_record_parse((const char *)data, size, r1) != 0) {
        if (!all_zero(r1, sizeof *r1))
            fail("a refused record is not empty");
        goto out;
    }
    if (r1->n_failures > PV_STATE_MAX_FAILURES)
        fail("n_failures over the limit");

    if (pv_state_record_format(r1, &t1, &l1) != 0 || t1 == NULL)
        fail("a parsed record does not format");
    if (l1 == 0 || l1 > PV_STATE_MAX_SIZE || strlen(t1) != l1)
        fail("formatted length wrong");
    if (pv_state_record_parse(t1, l1, r2) != 0)
        fail("formatted record does not parse");
    same_record(r1, r2);
    if (pv_state_record_format(r2, &t2, &l2) != 0 || t2 == NULL)
        fail("re-parsed record does not format");
    if (l1 != l2 || memcmp(t1, t2, l1) != 0)
        fail("format is not a fixed point");
out:
    free(t1);
    free(t2);
    free(r1);
    free(r2);
    return 0;
}
