/* pv_log.c - the one-line key=value decision record. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "pv_log.h"
#include "pv_util.h"

/* Sanitised value, or "-" when absent. */
static const char *field(char *buf, size_t size, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return "-";
    pv_sanitize(buf, size, value);
    return buf;
}

int pv_log_format_outcome(const pv_login *login, const pv_outcome *out,
                          const char *pam_name, char *buf, size_t size)
{
    char user[96], service[64], rhost[80], to[80], id[96], reason[96];
    char precheck[24] = "";
    int n;

    if (out->precheck_charged >= 0)
        (void)pv_snprintf(precheck, sizeof(precheck), " precheck_charged=%d",
                          out->precheck_charged);
    /* The verification id is not a secret on its own (the code is), but
     * it is bounded here so a hostile provider cannot flood the log. */
    n = snprintf(buf, size,
                 "user=%s service=%s rhost=%s method=%s %s=%s outcome=%s "
                 "pam=%s reason=%s id=%s tries=%d sends=%d%s ms=%ld",
                 field(user, sizeof(user), login->user),
                 field(service, sizeof(service), login->service),
                 field(rhost, sizeof(rhost), login->rhost),
                 out->method ? out->method : "-",
                 out->to_kind ? out->to_kind : "to",
                 field(to, sizeof(to), out->to_masked),
                 pv_result_name(out->result), pam_name,
                 field(reason, sizeof(reason), out->reason),
                 field(id, sizeof(id), out->id), out->tries, out->sends,
                 precheck, out->elapsed_ms);
    if (n < 0)
        return 0;
    return (size_t)n >= size ? (int)size - 1 : n;
}

void pv_logf(const pv_logger *lg, int prio, const char *fmt, ...)
{
    char buf[768];
    va_list ap;

    if (lg == NULL || lg->log == NULL)
        return;
    va_start(ap, fmt);
    (void)vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    lg->log(lg->ctx, prio, buf);
}
