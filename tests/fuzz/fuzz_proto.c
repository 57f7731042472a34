/* fuzz_proto.c - libFuzzer harness for the helper protocol framing,
 * pv_proto_recv() (pv_helper_proto.h).
 *
 * Input: the byte stream one side of the module<->helper socket receives.
 * It is written into one end of an AF_UNIX socketpair, that end is closed,
 * and pv_proto_recv() reads messages from the other end until it fails
 * (EOF, truncation, malformed framing, limits).  Inputs above 64 KiB are
 * skipped so the whole input always fits in the socket buffer.
 *
 * Properties checked besides memory safety and leaks:
 *  - a received message has 1..PV_PROTO_MAX_FIELDS fields, each with a
 *    non-END tag, a length within PV_PROTO_MAX_FIELD and a value that is
 *    NUL-terminated at value[len], all lengths together within
 *    PV_PROTO_MAX_MSG;
 *  - a failed receive leaves the message empty (n == 0) and errno one of
 *    0 (clean EOF), EPROTO or EMSGSIZE - never a timeout here, since the
 *    peer has closed;
 *  - round trip: every message received is sent again with pv_proto_send()
 *    (alternately over a socketpair and over a pipe, the two transports
 *    pv_proto_send supports) and received back identical;
 *  - profiles (a setup, request or response names the profile it belongs
 *    to): pv_proto_profile() accepts a message exactly when it has ONE
 *    PROFILE field holding one digit 1..PV_PROTO_MAX_PROFILES, and then
 *    returns that digit, so no spelling can name a profile but the one it
 *    reads as, and no message can name two. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/pv_helper_proto.h"
#include "base/pv_util.h"

#define INPUT_MAX (64 * 1024)
#define MSGS_MAX 64
#define DEADLINE_MS 10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_proto: %s\n", what);
    abort();
}

static void check_msg(const pv_proto_msg *m)
{
    size_t i, total = 0;

    if (m->n == 0 || m->n > PV_PROTO_MAX_FIELDS)
        fail("field count out of range");
    for (i = 0; i < m->n; i++) {
        const pv_proto_field *f = &m->fields[i];

        if (f->tag == PV_F_END || f->len > PV_PROTO_MAX_FIELD ||
            f->value == NULL || f->value[f->len] != '\0')
            fail("bad field");
        if (pv_proto_get(m, f->tag) == NULL)
            fail("pv_proto_get misses a present tag");
        total += f->len;
    }
    if (total > PV_PROTO_MAX_MSG)
        fail("message larger than PV_PROTO_MAX_MSG");
}

/* The profile rule written out plainly, checked against pv_proto_profile. */
static void check_profile(const pv_proto_msg *m)
{
    const pv_proto_field *only = NULL;
    size_t i, count = 0;
    long n = -1;
    int want, got = pv_proto_profile(m, &n);

    for (i = 0; i < m->n; i++)
        if (m->fields[i].tag == PV_F_PROFILE) {
            only = &m->fields[i];
            count++;
        }
    want = count == 1 && only->len == 1 && only->value[0] >= '1' &&
           only->value[0] <= '0' + PV_PROTO_MAX_PROFILES;
    if (got != (want ? 0 : -1))
        fail("pv_proto_profile disagrees with the rule");
    if (want && n != only->value[0] - '0')
        fail("pv_proto_profile returned another profile");
}

static void same_msg(const pv_proto_msg *a, const pv_proto_msg *b)
{
    size_t i;

    if (a->n != b->n)
        fail("round trip: field count differs");
    for (i = 0; i < a->n; i++)
        if (a->fields[i].tag != b->fields[i].tag ||
            a->fields[i].len != b->fields[i].len ||
            memcmp(a->fields[i].value, b->fields[i].value, a->fields[i].len) !=
                0)
            fail("round trip: a field differs");
}

/* Send m through a fresh socketpair (use_pipe 0) or pipe (1) and receive
 * it back into *back. */
static void round_trip(const pv_proto_msg *m, int use_pipe, pv_proto_msg *back)
{
    int fd[2], rd, wr;

    if (use_pipe) {
        if (pipe2(fd, O_CLOEXEC) != 0)
            fail("pipe2");
        (void)fcntl(fd[1], F_SETPIPE_SZ, 256 * 1024);
        rd = fd[0];
        wr = fd[1];
    } else {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) != 0)
            fail("socketpair");
        rd = fd[0];
        wr = fd[1];
    }
    if (pv_proto_send(wr, m, pv_monotonic_ms() + DEADLINE_MS) != 0)
        fail("round trip: pv_proto_send refused a received message");
    close(wr);
    if (pv_proto_recv(rd, back, pv_monotonic_ms() + DEADLINE_MS) != 0)
        fail("round trip: sent message not received");
    close(rd);
    same_msg(m, back);
    pv_proto_clear(back);
}

static int feed(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t w = write(fd, data, size);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        size -= (size_t)w;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pv_proto_msg *m, *back;
    int sv[2], i, sndbuf = 4 * INPUT_MAX;

    if (size > INPUT_MAX)
        return 0;
    m = malloc(sizeof *m);
    back = malloc(sizeof *back);
    if (m == NULL || back == NULL)
        goto out;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        fail("socketpair");
    (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    if (feed(sv[1], data, size) != 0)
        fail("could not write the input into the socket");
    close(sv[1]);

    for (i = 0; i < MSGS_MAX; i++) {
        memset(m, 0x5a, sizeof *m);
        errno = 12345;
        if (pv_proto_recv(sv[0], m, pv_monotonic_ms() + DEADLINE_MS) != 0) {
            if (m->n != 0)
                fail("a failed receive left fields behind");
            if (errno != 0 && errno != EPROTO && errno != EMSGSIZE) {
                fprintf(stderr, "fuzz_proto: errno %d\n", errno);
                fail("unexpected errno after a failed receive");
            }
            break;
        }
        check_msg(m);
        check_profile(m);
        round_trip(m, i & 1, back);
        pv_proto_clear(m);
    }
    close(sv[0]);
out:
    free(m);
    free(back);
    return 0;
}
