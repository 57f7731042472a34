/* pv_helper_proto.h - the framing spoken over the socket between the module
 * (pv_http.c) and the helper (phoneverify_http.c).
 *
 * A message is a sequence of fields, ended by an END field:
 *     u8  tag     (PV_F_*)
 *     u32 length  (network byte order, at most PV_PROTO_MAX_FIELD)
 *     length bytes of value
 * Integers travel as decimal text.
 *
 * Profiles.  One helper serves every user of the transport in a login (the
 * provider clients and the etcd state backend, pv_http.h); each user is a
 * profile, numbered 1..PV_PROTO_MAX_PROFILES, with settings of its own.
 * The module sends a "setup" message naming a PROFILE (its timeouts, CA,
 * pinned key, client certificate and key, proxy) before the first request
 * of that profile, at any point in the conversation; a profile is set up
 * at most once per helper, and the helper refuses a second setup of it.
 * The helper gives each profile its own libcurl easy handle, so its
 * connections and TLS sessions are its own: a request is performed ONLY
 * with the settings of the profile it names, never with another's CA or
 * client certificate.  A setup gets no answer.  Then any number of
 * "request" messages, each naming its PROFILE (one already set up) and
 * answered by one "response" message that echoes it.  Closing the socket
 * ends the helper.
 *
 * Every request carries a SEQ number (1, 2, ... per helper, over all
 * profiles) that the answer must echo with the PROFILE; the module treats
 * an answer with another number or profile, a second answer, bytes after
 * an answer, or a duplicate or unexpected field as a broken helper.  The
 * helper treats a request of a profile not set up, a second setup of one,
 * a profile number out of range or written otherwise than in canonical
 * decimal as a protocol violation and exits.  The CA bundle, client
 * certificate and key travel as data (the helper runs unprivileged and
 * opens no file).
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
#define PV_PROTO_MAX_PROFILES 4 /* profiles 1..4 per helper */

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
    PV_F_SEQ,     /* SEQ: request number, echoed in the answer */
    PV_F_PROFILE, /* setup, request, response: the profile (1..MAX) */
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
/* The message's profile: exactly one PROFILE field holding a number
 * 1..PV_PROTO_MAX_PROFILES in canonical decimal ("1", never "01" or
 * "+1").  0 and *out set, or -1.  Both ends check with this. */
int pv_proto_profile(const pv_proto_msg *m, long *out);
/* Wipe and free every value. */
void pv_proto_clear(pv_proto_msg *m);

/* Write a whole message to fd (MSG_NOSIGNAL on sockets, so a dead peer is
 * an error, never a SIGPIPE).  deadline_ms is a pv_monotonic_ms() instant
 * or -1 for none.  0 ok, -1 error/timeout. */
int pv_proto_send(int fd, const pv_proto_msg *m, int64_t deadline_ms);
/* Read a whole message.  0 ok, -1 EOF/error/timeout/malformed. */
int pv_proto_recv(int fd, pv_proto_msg *m, int64_t deadline_ms);

#endif
