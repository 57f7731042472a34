/* pv_helper_proto.c - framing between the module and phoneverify-http.
 *
 * Both ends are distrustful: every length is checked against the limits
 * before anything is allocated, unknown tags are refused, and every wait
 * is bounded by a monotonic deadline.  On failure pv_proto_recv leaves
 * errno as: 0 clean EOF before the first byte of a message, ETIMEDOUT
 * deadline passed, EPROTO truncated or malformed, EMSGSIZE over a limit,
 * or whatever read/poll reported. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "transport/pv_helper_proto.h"
#include "base/pv_util.h"

#define HDR_LEN 5 /* u8 tag + u32 length */

/* The tag set is closed: anything else means the peer is not speaking our
 * protocol (or is a different version), and guessing would be unsafe. */
static int tag_known(uint8_t tag)
{
    return (tag >= PV_F_MSG && tag <= PV_F_MSG) ||
           (tag >= PV_F_TIMEOUT && tag <= PV_F_CA_BLOB) ||
           (tag >= PV_F_PINNED && tag <= PV_F_PROXY) ||
           (tag >= PV_F_URL && tag <= PV_F_AUTHORIZATION) ||
           (tag >= PV_F_BODY && tag <= PV_F_PROFILE) ||
           (tag >= PV_F_FORM_NAME && tag <= PV_F_HEADER_VALUE) ||
           (tag >= PV_F_STATUS && tag <= PV_F_ERROR);
}

int pv_proto_add(pv_proto_msg *m, uint8_t tag, const char *value, size_t len)
{
    pv_proto_field *f;
    char *copy;

    if (m->n >= PV_PROTO_MAX_FIELDS || len > PV_PROTO_MAX_FIELD ||
        tag == PV_F_END || !tag_known(tag) || (value == NULL && len > 0))
        return -1;
    copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    if (len > 0)
        memcpy(copy, value, len);
    copy[len] = '\0';
    f = &m->fields[m->n++];
    f->tag = tag;
    f->len = (uint32_t)len;
    f->value = copy;
    return 0;
}

int pv_proto_add_str(pv_proto_msg *m, uint8_t tag, const char *value)
{
    if (value == NULL)
        return -1;
    return pv_proto_add(m, tag, value, strlen(value));
}

int pv_proto_add_long(pv_proto_msg *m, uint8_t tag, long value)
{
    char buf[32];
    int n = pv_snprintf(buf, sizeof(buf), "%ld", value);

    if (n < 0)
        return -1;
    return pv_proto_add(m, tag, buf, (size_t)n);
}

const pv_proto_field *pv_proto_get(const pv_proto_msg *m, uint8_t tag)
{
    size_t i;

    for (i = 0; i < m->n; i++)
        if (m->fields[i].tag == tag)
            return &m->fields[i];
    return NULL;
}

/* One digit is enough for PV_PROTO_MAX_PROFILES (< 10): a single
 * canonical spelling per profile, so no two strings name the same one. */
_Static_assert(PV_PROTO_MAX_PROFILES >= 1 && PV_PROTO_MAX_PROFILES < 10,
               "a profile is one decimal digit");
int pv_proto_profile(const pv_proto_msg *m, long *out)
{
    const pv_proto_field *f = NULL;
    size_t i;

    for (i = 0; i < m->n; i++) {
        if (m->fields[i].tag != PV_F_PROFILE)
            continue;
        if (f != NULL)
            return -1; /* named twice */
        f = &m->fields[i];
    }
    if (f == NULL || f->len != 1 || f->value[0] < '1' ||
        f->value[0] > '0' + PV_PROTO_MAX_PROFILES)
        return -1;
    *out = f->value[0] - '0';
    return 0;
}

void pv_proto_clear(pv_proto_msg *m)
{
    size_t i;

    for (i = 0; i < m->n && i < PV_PROTO_MAX_FIELDS; i++) {
        if (m->fields[i].value != NULL) {
            pv_wipe(m->fields[i].value, m->fields[i].len);
            free(m->fields[i].value);
        }
        m->fields[i].value = NULL;
        m->fields[i].len = 0;
        m->fields[i].tag = 0;
    }
    m->n = 0;
}

/* Wait until fd is ready for events or the deadline passes.
 * 0 ready, -1 with errno ETIMEDOUT or poll's error. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        struct pollfd p = { .fd = fd, .events = events, .revents = 0 };
        int timeout = -1, r;

        if (deadline_ms >= 0) {
            int64_t left = deadline_ms - pv_monotonic_ms();

            if (left <= 0) {
                errno = ETIMEDOUT;
                return -1;
            }
            timeout = left > INT_MAX ? INT_MAX : (int)left;
        }
        r = poll(&p, 1, timeout);
        if (r > 0)
            return 0; /* POLLHUP/POLLERR: let read/send report it */
        if (r < 0 && errno != EINTR)
            return -1;
    }
}

/* Non-blocking send, so a peer that stops reading cannot hold us past the
 * deadline.  MSG_NOSIGNAL turns a dead peer into EPIPE instead of a
 * SIGPIPE that would kill sshd.  For a non-socket (pipes, in tests or
 * fuzzing) fall back to write in chunks of PIPE_BUF, which cannot block
 * once poll has reported POLLOUT. */
static ssize_t send_some(int fd, const char *p, size_t n, int *not_sock)
{
    ssize_t w;

    if (!*not_sock) {
        w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w >= 0 || errno != ENOTSOCK)
            return w;
        *not_sock = 1;
    }
    return write(fd, p, n > PIPE_BUF ? PIPE_BUF : n);
}

static int write_all(int fd, const char *p, size_t n, int64_t deadline_ms)
{
    int not_sock = 0;

    while (n > 0) {
        ssize_t w;

        if (wait_fd(fd, POLLOUT, deadline_ms) < 0)
            return -1;
        w = send_some(fd, p, n, &not_sock);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read exactly n bytes.  Returns 0, or -1 with *got = bytes read before
 * the failure (so the caller can tell a clean EOF from a truncation). */
static int read_all(int fd, char *p, size_t n, int64_t deadline_ms,
                    size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r;

        if (wait_fd(fd, POLLIN, deadline_ms) < 0)
            return -1;
        r = read(fd, p + *got, n - *got);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                continue;
            return -1;
        }
        if (r == 0) {
            errno = 0; /* EOF */
            return -1;
        }
        *got += (size_t)r;
    }
    return 0;
}

static void put_hdr(unsigned char *b, uint8_t tag, uint32_t len)
{
    b[0] = tag;
    b[1] = (unsigned char)(len >> 24);
    b[2] = (unsigned char)(len >> 16);
    b[3] = (unsigned char)(len >> 8);
    b[4] = (unsigned char)len;
}

/* Serialise into one buffer so the whole message goes out in as few
 * system calls as possible; the buffer holds secrets, the caller wipes. */
static char *serialise(const pv_proto_msg *m, size_t *out_len)
{
    size_t total = HDR_LEN, i, o = 0;
    char *buf;

    if (m->n > PV_PROTO_MAX_FIELDS)
        return NULL;
    for (i = 0; i < m->n; i++) {
        if (m->fields[i].len > PV_PROTO_MAX_FIELD)
            return NULL;
        total += HDR_LEN + m->fields[i].len;
    }
    buf = malloc(total);
    if (buf == NULL)
        return NULL;
    for (i = 0; i < m->n; i++) {
        put_hdr((unsigned char *)buf + o, m->fields[i].tag, m->fields[i].len);
        o += HDR_LEN;
        if (m->fields[i].len > 0)
            memcpy(buf + o, m->fields[i].value, m->fields[i].len);
        o += m->fields[i].len;
    }
    put_hdr((unsigned char *)buf + o, PV_F_END, 0);
    *out_len = total;
    return buf;
}

int pv_proto_send(int fd, const pv_proto_msg *m, int64_t deadline_ms)
{
    size_t len = 0;
    char *buf = serialise(m, &len);
    int rc, saved;

    if (buf == NULL) {
        errno = EMSGSIZE;
        return -1;
    }
    rc = write_all(fd, buf, len, deadline_ms);
    saved = errno;
    pv_wipe(buf, len);
    free(buf);
    errno = saved;
    return rc;
}

/* Read one field header; *first says whether nothing of this message has
 * been read yet (a clean EOF there is not a protocol error). */
static int recv_hdr(int fd, uint8_t *tag, uint32_t *len, int first,
                    int64_t deadline_ms)
{
    unsigned char b[HDR_LEN];
    size_t got = 0;

    if (read_all(fd, (char *)b, sizeof(b), deadline_ms, &got) < 0) {
        if (errno == 0 && (got > 0 || !first))
            errno = EPROTO;
        return -1;
    }
    *tag = b[0];
    *len = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 |
           (uint32_t)b[4];
    return 0;
}

static int recv_value(int fd, pv_proto_field *f, uint8_t tag, uint32_t len,
                      int64_t deadline_ms)
{
    size_t got = 0;
    char *v = malloc((size_t)len + 1);

    if (v == NULL)
        return -1;
    if (read_all(fd, v, len, deadline_ms, &got) < 0) {
        int saved = errno == 0 ? EPROTO : errno;

        pv_wipe(v, got);
        free(v);
        errno = saved;
        return -1;
    }
    v[len] = '\0';
    f->tag = tag;
    f->len = len;
    f->value = v;
    return 0;
}

static int recv_fields(int fd, pv_proto_msg *m, int64_t deadline_ms)
{
    size_t total = 0;

    for (;;) {
        uint8_t tag;
        uint32_t len;

        if (recv_hdr(fd, &tag, &len, m->n == 0, deadline_ms) < 0)
            return -1;
        if (tag == PV_F_END) {
            if (len != 0) {
                errno = EPROTO;
                return -1;
            }
            return 0;
        }
        if (!tag_known(tag)) {
            errno = EPROTO;
            return -1;
        }
        if (len > PV_PROTO_MAX_FIELD || m->n >= PV_PROTO_MAX_FIELDS ||
            len > PV_PROTO_MAX_MSG - total) {
            errno = EMSGSIZE;
            return -1;
        }
        total += len;
        if (recv_value(fd, &m->fields[m->n], tag, len, deadline_ms) < 0)
            return -1;
        m->n++;
    }
}

int pv_proto_recv(int fd, pv_proto_msg *m, int64_t deadline_ms)
{
    int saved;

    memset(m, 0, sizeof(*m));
    if (recv_fields(fd, m, deadline_ms) == 0) {
        if (m->n > 0)
            return 0;
        errno = EPROTO; /* a bare END is not a message */
    }
    saved = errno;
    pv_proto_clear(m);
    errno = saved;
    return -1;
}
