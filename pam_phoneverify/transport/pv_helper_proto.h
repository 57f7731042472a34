/* pv_helper_proto.h - the framing spoken over the socket between the module
 * (pv_http.c) and the helper (phoneverify_http.c).
 *
 * A message is a sequence of fields, ended by an END field:
 *     u8  tag     (PV_F_*)
 *     u32 length  (network byte order, at most PV_PROTO_MAX_FIELD)
 *     length bytes of value
 * Integers travel as decimal text.  The module sends one MSG_SETUP message,
 * then any number of "request" messages, each answered by one
 * message from the helper.  Closing the socket ends the helper.
 * Every request carries a SEQ number (1, 2, ... per helper) that the
 * answer must echo; the module treats an answer with another number, a
 * second answer, bytes after an answer, or a duplicate or unexpected
 * field as a broken helper.  The CA bundle, client certificate and key
 * travel as data (the helper runs unprivileged and opens no file).
 *
 * Both sides use pv_proto_* for reading and writing, so the framing rules
 * (limits, unknown tags refused) live in one place. */
#ifndef PV_HELPER_PROTO_H
#define PV_HELPER_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PV_PROTO_MAX_FIELD (1024 * 1024)   /* a CA bundle fits */
#define PV_PROTO_MAX_MSG (2 * 1024 * 1024) /* all fields of one message */
#define PV_PROTO_MAX_FIELDS 64

enum pv_proto_tag {
    PV_F_END = 0,
    PV_F_MSG = 1, /* "setup", "request", "response" */
    /* setup */
    PV_F_TIMEOUT = 10,
    PV_F_CONNECT_TIMEOUT,
    PV_F_CA_BLOB,
    PV_F_UNUSED_13,
    PV_F_PINNED,
    PV_F_CERT_BLOB,
    PV_F_KEY_BLOB,
    PV_F_PROXY,
    /* request */
    PV_F_URL = 30,
    PV_F_CONTENT_TYPE,
    PV_F_AUTHORIZATION,
    PV_F_UNUSED_33, /* was a provider's own header: now HEADER_NAME/VALUE */
    PV_F_BODY,
    PV_F_SEQ, /* SEQ: request number, echoed in the answer */
    /* request, form variant: repeated NAME, VALUE pairs instead of BODY */
    PV_F_FORM_NAME = 40,
    PV_F_FORM_VALUE,
    /* request: repeated HEADER_NAME, HEADER_VALUE pairs (extra headers) */
    PV_F_HEADER_NAME,
    PV_F_HEADER_VALUE,
    /* response */
    PV_F_STATUS = 50, /* enum pv_http_status as decimal */
    PV_F_HTTP_CODE,
    PV_F_RESP_BODY,
    PV_F_ELAPSED_MS,
    PV_F_CONNECTS,
    PV_F_ERROR, /* human text, no secrets */
};

typedef struct pv_proto_field {
    uint8_t tag;
    uint32_t len;
    char *value; /* malloc'd, NUL-terminated (len excludes it) */
} pv_proto_field;

typedef struct pv_proto_msg {
    pv_proto_field fields[PV_PROTO_MAX_FIELDS];
    size_t n;
} pv_proto_msg;

/* Append a field (value copied); 0 ok, -1 too many/too long/ENOMEM. */
int pv_proto_add(pv_proto_msg *m, uint8_t tag, const char *value, size_t len);
int pv_proto_add_str(pv_proto_msg *m, uint8_t tag, const char *value);
int pv_proto_add_long(pv_proto_msg *m, uint8_t tag, long value);
/* First field with tag, or NULL. */
const pv_proto_field *pv_proto_get(const pv_proto_msg *m, uint8_t tag);
/* Wipe and free every value. */
void pv_proto_clear(pv_proto_msg *m);

/* Write a whole message to fd (MSG_NOSIGNAL on sockets, so a dead peer is
 * an error, never a SIGPIPE).  deadline_ms is a pv_monotonic_ms() instant
 * or -1 for none.  0 ok, -1 error/timeout. */
int pv_proto_send(int fd, const pv_proto_msg *m, int64_t deadline_ms);
/* Read a whole message.  0 ok, -1 EOF/error/timeout/malformed. */
int pv_proto_recv(int fd, pv_proto_msg *m, int64_t deadline_ms);

#endif
