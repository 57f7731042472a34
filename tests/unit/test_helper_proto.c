/* test_helper_proto.c - framing between the module and phoneverify-http. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "transport/pv_helper_proto.h"
#include "base/pv_util.h"

static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
}

static void put_hdr(unsigned char *b, uint8_t tag, uint32_t len)
{
    b[0] = tag;
    b[1] = (unsigned char)(len >> 24);
    b[2] = (unsigned char)(len >> 16);
    b[3] = (unsigned char)(len >> 8);
    b[4] = (unsigned char)len;
}

static void write_raw(int fd, const void *p, size_t n)
{
    assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void write_hdr(int fd, uint8_t tag, uint32_t len)
{
    unsigned char b[5];

    put_hdr(b, tag, len);
    write_raw(fd, b, sizeof(b));
}

static int64_t soon(void)
{
    return pv_monotonic_ms() + 2000;
}

static void test_round_trip(void **state)
{
    static const char bin[] = { 'a', '\0', 'b', '\n', (char)0xff };
    pv_proto_msg out, in;
    const pv_proto_field *f;
    int sv[2];

    (void)state;
    memset(&out, 0, sizeof(out));
    pair(sv);
    assert_int_equal(pv_proto_add_str(&out, PV_F_MSG, "request"), 0);
    assert_int_equal(pv_proto_add_str(&out, PV_F_URL, "https://x/"), 0);
    assert_int_equal(pv_proto_add(&out, PV_F_BODY, bin, sizeof(bin)), 0);
    assert_int_equal(pv_proto_add_long(&out, PV_F_TIMEOUT, -42), 0);
    assert_int_equal(pv_proto_add(&out, PV_F_HEADER_VALUE, "", 0), 0);
    assert_int_equal(pv_proto_send(sv[0], &out, soon()), 0);
    assert_int_equal(pv_proto_recv(sv[1], &in, soon()), 0);
    assert_int_equal(in.n, 5);
    assert_string_equal(pv_proto_get(&in, PV_F_MSG)->value, "request");
    assert_string_equal(pv_proto_get(&in, PV_F_URL)->value, "https://x/");
    f = pv_proto_get(&in, PV_F_BODY);
    assert_non_null(f);
    assert_int_equal(f->len, sizeof(bin));
    assert_memory_equal(f->value, bin, sizeof(bin));
    assert_int_equal(f->value[f->len], '\0');
    assert_string_equal(pv_proto_get(&in, PV_F_TIMEOUT)->value, "-42");
    assert_int_equal(pv_proto_get(&in, PV_F_HEADER_VALUE)->len, 0);
    assert_null(pv_proto_get(&in, PV_F_PROXY));
    pv_proto_clear(&in);
    assert_int_equal(in.n, 0);
    /* two messages back to back stay separate */
    assert_int_equal(pv_proto_send(sv[0], &out, soon()), 0);
    assert_int_equal(pv_proto_send(sv[0], &out, soon()), 0);
    assert_int_equal(pv_proto_recv(sv[1], &in, soon()), 0);
    assert_int_equal(in.n, 5);
    pv_proto_clear(&in);
    assert_int_equal(pv_proto_recv(sv[1], &in, soon()), 0);
    assert_int_equal(in.n, 5);
    pv_proto_clear(&in);
    pv_proto_clear(&out);
    close(sv[0]);
    close(sv[1]);
}

/* The largest field and the most fields cross intact (a writer process,
 * since that is more than a socket buffer holds). */
static void test_limits_exact(void **state)
{
    pv_proto_msg out, in;
    char *big = malloc(PV_PROTO_MAX_FIELD);
    int sv[2], st;
    size_t i;
    pid_t pid;

    (void)state;
    assert_non_null(big);
    memset(big, 'z', PV_PROTO_MAX_FIELD);
    memset(&out, 0, sizeof(out));
    assert_int_equal(pv_proto_add(&out, PV_F_BODY, big, PV_PROTO_MAX_FIELD),
                     0);
    for (i = 1; i < PV_PROTO_MAX_FIELDS; i++)
        assert_int_equal(pv_proto_add_long(&out, PV_F_FORM_NAME, (long)i), 0);
    pair(sv);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* free before _exit: valgrind checks the child for leaks too */
        int rc = pv_proto_send(sv[0], &out, soon()) == 0 ? 0 : 1;

        pv_proto_clear(&out);
        free(big);
        _exit(rc);
    }
    assert_int_equal(pv_proto_recv(sv[1], &in, soon()), 0);
    assert_int_equal(in.n, PV_PROTO_MAX_FIELDS);
    assert_int_equal(in.fields[0].len, PV_PROTO_MAX_FIELD);
    assert_memory_equal(in.fields[0].value, big, PV_PROTO_MAX_FIELD);
    assert_string_equal(in.fields[63].value, "63");
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pv_proto_clear(&in);
    pv_proto_clear(&out);
    free(big);
    close(sv[0]);
    close(sv[1]);
}

static void test_add_limits(void **state)
{
    pv_proto_msg m;
    char *big = calloc(1, PV_PROTO_MAX_FIELD + 1);
    size_t i;

    (void)state;
    assert_non_null(big);
    memset(&m, 0, sizeof(m));
    assert_int_equal(pv_proto_add(&m, PV_F_BODY, big, PV_PROTO_MAX_FIELD + 1),
                     -1);
    assert_int_equal(pv_proto_add(&m, 99, "x", 1), -1); /* unknown */
    assert_int_equal(pv_proto_add(&m, PV_F_END, "x", 1), -1);
    assert_int_equal(pv_proto_add_str(&m, PV_F_URL, NULL), -1);
    assert_int_equal(pv_proto_add(&m, PV_F_URL, NULL, 3), -1);
    for (i = 0; i < PV_PROTO_MAX_FIELDS; i++)
        assert_int_equal(pv_proto_add_str(&m, PV_F_FORM_NAME, "n"), 0);
    assert_int_equal(pv_proto_add_str(&m, PV_F_FORM_NAME, "n"), -1);
    assert_int_equal(m.n, PV_PROTO_MAX_FIELDS);
    pv_proto_clear(&m);
    free(big);
}

/* Receive what fd_w got written, after closing the writer. */
static int recv_after(int sv[2], pv_proto_msg *in)
{
    int rc;

    close(sv[0]);
    rc = pv_proto_recv(sv[1], in, soon());
    close(sv[1]);
    return rc;
}

static void test_oversized_field(void **state)
{
    pv_proto_msg in;
    int sv[2];

    (void)state;
    pair(sv);
    write_hdr(sv[0], PV_F_BODY, PV_PROTO_MAX_FIELD + 1);
    write_raw(sv[0], "abc", 3);
    assert_int_equal(recv_after(sv, &in), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_int_equal(in.n, 0);
}

static void test_too_many_fields(void **state)
{
    pv_proto_msg in;
    int sv[2], i;

    (void)state;
    pair(sv);
    for (i = 0; i <= PV_PROTO_MAX_FIELDS; i++) {
        write_hdr(sv[0], PV_F_FORM_NAME, 1);
        write_raw(sv[0], "n", 1);
    }
    write_hdr(sv[0], PV_F_END, 0);
    assert_int_equal(recv_after(sv, &in), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_int_equal(in.n, 0);
}

/* The fields of one message together stay within PV_PROTO_MAX_MSG, so a
 * hostile peer cannot make the other side hold 64 maximal fields. */
static void test_message_total_limit(void **state)
{
    pv_proto_msg in;
    int sv[2], st;
    pid_t pid;

    (void)state;
    pair(sv);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        static char chunk[64 * 1024];
        size_t sent = 0;
        unsigned char b[5];

        signal(SIGPIPE, SIG_IGN); /* the reader gives up early */
        close(sv[1]);
        memset(chunk, 'q', sizeof(chunk));
        for (int f = 0; f < 3; f++) {
            put_hdr(b, PV_F_BODY, PV_PROTO_MAX_FIELD);
            if (write(sv[0], b, sizeof(b)) != (ssize_t)sizeof(b))
                _exit(0);
            for (sent = 0; sent < PV_PROTO_MAX_FIELD; sent += sizeof(chunk))
                if (write(sv[0], chunk, sizeof(chunk)) < 0)
                    _exit(0);
        }
        _exit(0);
    }
    close(sv[0]);
    assert_true(PV_PROTO_MAX_MSG < 3 * PV_PROTO_MAX_FIELD);
    assert_int_equal(pv_proto_recv(sv[1], &in, pv_monotonic_ms() + 10000), -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_int_equal(in.n, 0);
    close(sv[1]);
    assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* The request number and the TLS material are known tags; the retired
 * capath slot (13) is not. */
static void test_tags(void **state)
{
    pv_proto_msg m;

    (void)state;
    memset(&m, 0, sizeof(m));
    assert_int_equal(pv_proto_add_long(&m, PV_F_SEQ, 7), 0);
    assert_int_equal(pv_proto_add(&m, PV_F_CA_BLOB, "-----BEGIN", 10), 0);
    assert_int_equal(pv_proto_add(&m, PV_F_CERT_BLOB, "c", 1), 0);
    assert_int_equal(pv_proto_add(&m, PV_F_KEY_BLOB, "k", 1), 0);
    assert_int_equal(pv_proto_add(&m, 13, "/etc/ssl/certs", 14), -1);
    assert_string_equal(pv_proto_get(&m, PV_F_SEQ)->value, "7");
    pv_proto_clear(&m);
}

/* The profile of a message: one field, one canonical digit in range. */
static void test_profile(void **state)
{
    static const char *const bad[] = { "0",  "5",  "9", "01", "+1", "-1",
                                       " 1", "1 ", "",  "12", "a" };
    pv_proto_msg m;
    long n = -7;

    (void)state;
    memset(&m, 0, sizeof(m));
    assert_int_equal(pv_proto_profile(&m, &n), -1); /* none */
    assert_int_equal(n, -7);
    for (int i = 1; i <= PV_PROTO_MAX_PROFILES; i++) {
        char v[2] = { (char)('0' + i), '\0' };

        assert_int_equal(pv_proto_add_str(&m, PV_F_PROFILE, v), 0);
        assert_int_equal(pv_proto_profile(&m, &n), 0);
        assert_int_equal(n, i);
        /* named twice, even the same: refused */
        assert_int_equal(pv_proto_add_str(&m, PV_F_PROFILE, v), 0);
        assert_int_equal(pv_proto_profile(&m, &n), -1);
        pv_proto_clear(&m);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pv_proto_add_str(&m, PV_F_PROFILE, bad[i]), 0);
        if (pv_proto_profile(&m, &n) != -1)
            fail_msg("profile \"%s\" accepted", bad[i]);
        pv_proto_clear(&m);
    }
    assert_int_equal(pv_proto_add(&m, PV_F_PROFILE, "1\0", 2), 0); /* NUL */
    assert_int_equal(pv_proto_profile(&m, &n), -1);
    pv_proto_clear(&m);
}

static void test_unknown_tag(void **state)
{
    pv_proto_msg in;
    int sv[2];

    (void)state;
    pair(sv);
    write_hdr(sv[0], PV_F_MSG, 1);
    write_raw(sv[0], "x", 1);
    write_hdr(sv[0], 200, 1);
    write_raw(sv[0], "y", 1);
    write_hdr(sv[0], PV_F_END, 0);
    assert_int_equal(recv_after(sv, &in), -1);
    assert_int_equal(errno, EPROTO);
}

static void test_bad_end(void **state)
{
    pv_proto_msg in;
    int sv[2];

    (void)state;
    pair(sv); /* END with a length */
    write_hdr(sv[0], PV_F_MSG, 1);
    write_raw(sv[0], "x", 1);
    write_hdr(sv[0], PV_F_END, 1);
    write_raw(sv[0], "z", 1);
    assert_int_equal(recv_after(sv, &in), -1);
    assert_int_equal(errno, EPROTO);
    pair(sv); /* an empty message */
    write_hdr(sv[0], PV_F_END, 0);
    assert_int_equal(recv_after(sv, &in), -1);
    assert_int_equal(errno, EPROTO);
}

static void test_truncated_value(void **state)
{
    pv_proto_msg in;
    int sv[2];

    (void)state;
    pair(sv);
    write_hdr(sv[0], PV_F_MSG, 10);
    write_raw(sv[0], "abc", 3);
    assert_int_equal(recv_after(sv, &in), -1);
    assert_int_equal(errno, EPROTO);
    assert_int_equal(in.n, 0);
}

static void test_eof_mid_message(void **state)
{
    pv_proto_msg in;
    int sv[2];

    (void)state;
    pair(sv); /* no END */
    write_hdr(sv[0], PV_F_MSG, 1);
    write_raw(sv[0], "x", 1);
    assert_int_equal(recv_after(sv, &in), -1);
    assert_int_equal(errno, EPROTO);
    pair(sv); /* half a header */
    write_raw(sv[0], "\x01\x00", 2);
    assert_int_equal(recv_after(sv, &in), -1);
    assert_int_equal(errno, EPROTO);
    pair(sv); /* clean EOF: errno 0 */
    assert_int_equal(recv_after(sv, &in), -1);
    assert_int_equal(errno, 0);
}

static void test_recv_deadline(void **state)
{
    pv_proto_msg in;
    int sv[2];
    int64_t t0;

    (void)state;
    pair(sv);
    write_hdr(sv[0], PV_F_MSG, 5); /* then silence */
    t0 = pv_monotonic_ms();
    assert_int_equal(pv_proto_recv(sv[1], &in, t0 + 200), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_true(pv_monotonic_ms() - t0 >= 190);
    assert_true(pv_monotonic_ms() - t0 < 1500);
    /* an instant already past fails at once */
    assert_int_equal(pv_proto_recv(sv[1], &in, pv_monotonic_ms() - 1), -1);
    assert_int_equal(errno, ETIMEDOUT);
    close(sv[0]);
    close(sv[1]);
}

/* A peer that never reads cannot hold the sender past its deadline. */
static void test_send_deadline(void **state)
{
    pv_proto_msg out;
    char *big = calloc(1, PV_PROTO_MAX_FIELD);
    int sv[2], i;
    int64_t t0;

    (void)state;
    assert_non_null(big);
    memset(&out, 0, sizeof(out));
    for (i = 0; i < 32; i++)
        assert_int_equal(
            pv_proto_add(&out, PV_F_BODY, big, PV_PROTO_MAX_FIELD), 0);
    pair(sv);
    t0 = pv_monotonic_ms();
    assert_int_equal(pv_proto_send(sv[0], &out, t0 + 200), -1);
    assert_int_equal(errno, ETIMEDOUT);
    assert_true(pv_monotonic_ms() - t0 < 1500);
    pv_proto_clear(&out);
    free(big);
    close(sv[0]);
    close(sv[1]);
}

/* A closed peer is EPIPE, not a SIGPIPE that would kill the process. */
static void test_send_closed_peer(void **state)
{
    pv_proto_msg out;
    int sv[2];

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(pv_proto_add_str(&out, PV_F_MSG, "x"), 0);
    pair(sv);
    close(sv[1]);
    assert_int_equal(pv_proto_send(sv[0], &out, soon()), -1);
    assert_int_equal(errno, EPIPE);
    pv_proto_clear(&out);
    close(sv[0]);
}

/* Not a socket (ENOTSOCK): plain write still works. */
static void test_pipe_fallback(void **state)
{
    pv_proto_msg out, in;
    int p[2];

    (void)state;
    memset(&out, 0, sizeof(out));
    assert_int_equal(pipe(p), 0);
    assert_int_equal(pv_proto_add_str(&out, PV_F_MSG, "setup"), 0);
    assert_int_equal(pv_proto_add_long(&out, PV_F_TIMEOUT, 10), 0);
    assert_int_equal(pv_proto_send(p[1], &out, soon()), 0);
    assert_int_equal(pv_proto_recv(p[0], &in, -1), 0);
    assert_string_equal(pv_proto_get(&in, PV_F_TIMEOUT)->value, "10");
    pv_proto_clear(&in);
    pv_proto_clear(&out);
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_limits_exact),
        cmocka_unit_test(test_add_limits),
        cmocka_unit_test(test_oversized_field),
        cmocka_unit_test(test_too_many_fields),
        cmocka_unit_test(test_unknown_tag),
        cmocka_unit_test(test_message_total_limit),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_profile),
        cmocka_unit_test(test_bad_end),
        cmocka_unit_test(test_truncated_value),
        cmocka_unit_test(test_eof_mid_message),
        cmocka_unit_test(test_recv_deadline),
        cmocka_unit_test(test_send_deadline),
        cmocka_unit_test(test_send_closed_peer),
        cmocka_unit_test(test_pipe_fallback),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
