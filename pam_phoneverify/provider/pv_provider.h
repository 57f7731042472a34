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
#include "config/pv_config.h"
#include "transport/pv_transport.h"

#define PV_VERIFICATION_ID_MAX 512
#define PV_PROVIDER_MSG_MAX 160

/* Why a provider call gave no usable answer (pam_phoneverify(8)).  The
 * clients classify; only pv_flow.c decides what each class means for the
 * login (fail-open is decided there, for PV_FAILURE_OUTAGE alone). */
enum pv_failure {
    PV_FAILURE_NONE = 0,    /* a usable answer */
    PV_FAILURE_OUTAGE,      /* seen on the network: DNS, connect or TLS
                                failure, curl's timeout, HTTP 5xx,
                                malformed or oversized answer */
    PV_FAILURE_CREDENTIALS, /* the provider rejects our credentials */
    PV_FAILURE_REJECTED,    /* a redirect or a 4xx we do not know: our
                                request is wrong, not the provider down */
    PV_FAILURE_LOCAL,       /* this host: the helper could not start or
                                run, was stopped or killed, missed the
                                module's deadline; it ran out of threads,
                                processes, descriptors, memory, local
                                ports (pv_http_status_is_local) */
    PV_FAILURE_CONFIG,      /* URL the transport refuses to use */
    PV_FAILURE_USER,        /* a refusal the user can provoke (rate and
                                daily limits, expired operator token) */
};

/* What a transport status says about the provider.  A status this code
 * does not know is a local failure (closed). */
enum pv_failure pv_provider_transport_failure(enum pv_http_status st);

/* One JSON POST: n string members, the endpoint and its credential. */
typedef struct pv_json_call {
    const char *url;
    const char *authorization;     /* header value or NULL */
    const pv_http_header *headers; /* the provider's own, or NULL */
    size_t n_headers;
    const char *const *keys;
    const char *const *values;
    size_t n;
} pv_json_call;

/* Build the body, POST it, wipe the body.  0 when an HTTP answer arrived
 * (resp filled; the caller clears it), -1 otherwise with detail set to a
 * short reason ("transport_timeout") and *failure to its class. */
int pv_provider_post_json(pv_transport *http, const pv_json_call *call,
                          pv_http_response *resp, char *detail, size_t size,
                          enum pv_failure *failure);

/* ---- 2.1 send code ---------------------------------------------------- */
enum pv_send_result {
    PV_SEND_OK = 0,         /* id and expires_in filled */
    PV_SEND_RATE_LIMITED,   /* rate_limit_exceeded / 4029 */
    PV_SEND_CAPTCHA,        /* captcha_required / 4028 */
    PV_SEND_USER_NOT_FOUND, /* user_not_found / 4004 */
    PV_SEND_INVALID_NUMBER, /* invalid_phone_number / 4001 */
    PV_SEND_UNAVAILABLE,    /* transport, 5xx, 3xx, malformed, other:
                                    failure says which */
};

#define PV_SEND_DESC_MAX 100 /* the provider's text shown, with its NUL */

typedef struct pv_send_reply {
    char id[PV_VERIFICATION_ID_MAX + 1];
    long expires_in;
    enum pv_failure failure;          /* set with PV_SEND_UNAVAILABLE */
    char detail[PV_PROVIDER_MSG_MAX]; /* sanitised reason for syslog */
    /* PV_SEND_RATE_LIMITED: whether error_description names the
     * per-number minute ("send frequency too high, please try again in N
     * seconds", or no description at all), and that description as the
     * user may see it (printable ASCII, bounded; "" when there was none) */
    int per_number;
    char description[PV_SEND_DESC_MAX];
} pv_send_reply;

/* Parse an answer of the send API (http_code + body). */
enum pv_send_result pv_send_parse(long http_code, const char *body, size_t len,
                                  pv_send_reply *out);

/* Send a code to a phone (formatted per cfg->phone_format) or an e-mail
 * (exactly one of phone/email non-NULL) through url, one entry of
 * cfg->send_url (pv_failover.h). */
enum pv_send_result pv_send_code(const pv_config *cfg, pv_transport *http,
                                 const char *url, const char *phone,
                                 const char *email, pv_send_reply *out);

/* ---- 2.2 OTP verify --------------------------------------------------- */
enum pv_verify_result {
    PV_VERIFY_OK = 0,      /* verified: true */
    PV_VERIFY_WRONG,       /* verified: false */
    PV_VERIFY_EXPIRED,     /* 3003, 3011, 4001: a new code is needed */
    PV_VERIFY_UNAVAILABLE, /* 1000, 2001/2002/2004, 3001/3002, 5xx,
                                    transport, malformed: failure says
                                    which */
};

typedef struct pv_verify_reply {
    enum pv_failure failure; /* set with PV_VERIFY_UNAVAILABLE */
    char detail[PV_PROVIDER_MSG_MAX];
} pv_verify_reply;

/* Parse an answer; expect_id is the message_id sent (a 200 echoing another
 * id is malformed). */
enum pv_verify_result pv_verify_parse(long http_code, const char *body,
                                      size_t len, const char *expect_id,
                                      pv_verify_reply *out);

/* url: the entry of cfg->verify_url matching the send that issued id. */
enum pv_verify_result pv_verify_code(const pv_config *cfg, pv_transport *http,
                                     const char *url, const char *id,
                                     const char *code, pv_verify_reply *out);

/* ---- 2.3 name + mobile consistency pre-check --------------------------- */
enum pv_precheck_result {
    PV_PRECHECK_CONSISTENT = 0, /* result 0 (charged) */
    PV_PRECHECK_INCONSISTENT,   /* result 1 (charged) */
    PV_PRECHECK_NO_RECORD,      /* result -1 */
    PV_PRECHECK_NAME_FAILED,    /* result -4 */
    PV_PRECHECK_INVALID_MOBILE, /* result -5 */
    PV_PRECHECK_UNAVAILABLE,    /* -2, -3, -6, HTTP errors, malformed:
                                        failure says which (-6 and HTTP
                                        429 are PV_FAILURE_USER) */
};

typedef struct pv_precheck_reply {
    enum pv_failure failure; /* set with PV_PRECHECK_UNAVAILABLE */
    long code;               /* the `result` value, or 99 */
    int charged;             /* 1 for results 0 and 1 */
    char detail[PV_PROVIDER_MSG_MAX];
} pv_precheck_reply;

/* `result` may arrive as a JSON string ("0") or a number (0). */
enum pv_precheck_result pv_precheck_parse(long http_code, const char *body,
                                          size_t len, pv_precheck_reply *out);

/* name and the national number (doc/providers.md: the pre-check always gets the
 * national number); cfg->precheck_encryption is passed when set. */
enum pv_precheck_result pv_precheck_call(const pv_config *cfg,
                                         pv_transport *http, const char *name,
                                         const char *mobile,
                                         pv_precheck_reply *out);

/* ---- 2.4 mobile network number verification (DQE numVerify) ---------- */
#define PV_NV_TOKEN_MAX 512
#define PV_NV_URL_MAX 1024

enum pv_nv_result {
    PV_NV_OK = 0,      /* AUTH: token; IDMOBILE: operator link */
    PV_NV_PENDING,     /* GET: operator has not answered yet */
    PV_NV_VERIFIED,    /* GET: numVerify true */
    PV_NV_REFUSED,     /* numVerify false, errors 12, 20, 21 */
    PV_NV_INELIGIBLE,  /* 09, 10, 13-17: try the next method */
    PV_NV_UNAVAILABLE, /* 01, 02, 04-07, 11, 18, 30, 99, transport,
                                malformed: failure says which (02 is the
                                licence, 30 the token's end: the user's) */
};

typedef struct pv_nv_reply {
    char token[PV_NV_TOKEN_MAX + 1];
    char url[PV_NV_URL_MAX + 1]; /* operator link (https, or http to
                                        loopback for the simulator) */
    char operator_name[64];
    char detail[PV_PROVIDER_MSG_MAX];
    enum pv_failure failure; /* set with PV_NV_UNAVAILABLE */
} pv_nv_reply;

enum pv_nv_step {
    PV_NV_STEP_AUTH,
    PV_NV_STEP_START,
    PV_NV_STEP_RESULT
};

/* Parse the answer of one step (strict: types, keys, error ids). */
enum pv_nv_result pv_nv_parse(enum pv_nv_step step, long http_code,
                              const char *body, size_t len, pv_nv_reply *out);

/* Session token (POST {numverify_url}/AUTH/ with licence). */
enum pv_nv_result pv_nv_auth(const pv_config *cfg, pv_transport *http,
                             pv_nv_reply *out);
/* Step 1 (IDMOBILE): digits is the E.164 number without '+'. */
enum pv_nv_result pv_nv_start(const pv_config *cfg, pv_transport *http,
                              const char *token, const char *digits,
                              pv_nv_reply *out);
/* Step 2 (GET): pending, verified, refused... */
enum pv_nv_result pv_nv_result_poll(const pv_config *cfg, pv_transport *http,
                                    const char *token, pv_nv_reply *out);

#endif
