/* pv_provider.h - the provider clients: one file per API family
 * (pv_send.c 2.1, pv_verify.c 2.2, pv_precheck.c 2.3, pv_numverify.c 2.4).
 *
 * Each client builds its request, hands it to the transport, and turns the
 * answer into a documented result enum.  Response parsing is a separate
 * pure function per API (unit-tested on stored samples and fuzzed).  No
 * client knows PAM; none knows libcurl. */
#ifndef PV_PROVIDER_H
#define PV_PROVIDER_H

#include <stddef.h>
#include "pv_config.h"
#include "pv_http.h"

#define PV_VERIFICATION_ID_MAX 512
#define PV_PROVIDER_MSG_MAX 160

/* One JSON POST: n string members, the endpoint and its credential. */
typedef struct pv_json_call {
    const char *url;
    const char *authorization;       /* header value or NULL */
    const char *captcha_token;       /* x-captcha-token or NULL */
    const char *const *keys;
    const char *const *values;
    size_t n;
} pv_json_call;

/* Build the body, POST it, wipe the body.  0 when an HTTP answer arrived
 * (resp filled; the caller clears it), -1 otherwise with detail set to a
 * short reason ("transport_timeout"). */
int pv_provider_post_json(pv_http *http, const pv_json_call *call,
                          pv_http_response *resp, char *detail, size_t size);

/* ---- 2.1 send code ---------------------------------------------------- */
enum pv_send_result {
    PV_SEND_OK = 0,              /* id and expires_in filled */
    PV_SEND_RATE_LIMITED,        /* rate_limit_exceeded / 4029 */
    PV_SEND_CAPTCHA,             /* captcha_required / 4028 */
    PV_SEND_USER_NOT_FOUND,      /* user_not_found / 4004 */
    PV_SEND_INVALID_NUMBER,      /* invalid_phone_number / 4001 */
    PV_SEND_UNAVAILABLE,         /* transport, 5xx, 3xx, malformed, other */
};

typedef struct pv_send_reply {
    char id[PV_VERIFICATION_ID_MAX + 1];
    long expires_in;
    char detail[PV_PROVIDER_MSG_MAX];    /* sanitised reason for syslog */
} pv_send_reply;

/* Parse an answer of the send API (http_code + body). */
enum pv_send_result pv_send_parse(long http_code, const char *body,
                                  size_t len, pv_send_reply *out);

/* Send a code to a phone (formatted per cfg->phone_format) or an e-mail
 * (exactly one of phone/email non-NULL). */
enum pv_send_result pv_send_code(const pv_config *cfg, pv_http *http,
                                 const char *phone, const char *email,
                                 pv_send_reply *out);

/* ---- 2.2 OTP verify --------------------------------------------------- */
enum pv_verify_result {
    PV_VERIFY_OK = 0,            /* verified: true */
    PV_VERIFY_WRONG,             /* verified: false */
    PV_VERIFY_EXPIRED,           /* 3003, 3011, 4001: a new code is needed */
    PV_VERIFY_UNAVAILABLE,       /* 1000, 2001/2002/2004, 3001/3002, 5xx,
                                    transport, malformed */
};

typedef struct pv_verify_reply {
    char detail[PV_PROVIDER_MSG_MAX];
} pv_verify_reply;

/* Parse an answer; expect_id is the message_id sent (a 200 echoing another
 * id is malformed). */
enum pv_verify_result pv_verify_parse(long http_code, const char *body,
                                      size_t len, const char *expect_id,
                                      pv_verify_reply *out);

enum pv_verify_result pv_verify_code(const pv_config *cfg, pv_http *http,
                                     const char *id, const char *code,
                                     pv_verify_reply *out);

#endif
