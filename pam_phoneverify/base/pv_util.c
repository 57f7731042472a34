/* pv_util.c - small helpers with no knowledge of PAM, HTTP or JSON. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <strings.h>
#include <time.h>
#include "base/pv_util.h"

void pv_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        explicit_bzero(p, n);
}

void pv_free_secret(char *s)
{
    if (s == NULL)
        return;
    pv_wipe(s, strlen(s));
    free(s);
}

char *pv_strdup(const char *s)
{
    return s == NULL ? NULL : strdup(s);
}

int pv_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n;

    if (size == 0)
        return -1;
    n = strnlen(src, size);
    if (n == size) {
        memcpy(dst, src, size - 1);
        dst[size - 1] = '\0';
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

int pv_snprintf(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(dst, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        return -1;
    return n;
}

int pv_parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v;

    if (s == NULL || *s == '\0')
        return -1;
    /* strtol accepts leading spaces and signs we do not want: digits only,
     * with an optional '-' when negatives are allowed. */
    if (!(s[0] >= '0' && s[0] <= '9') && !(s[0] == '-' && min < 0))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int pv_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };
    size_t i;

    if (s == NULL)
        return -1;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

void pv_sanitize(char *dst, size_t size, const char *src)
{
    size_t o = 0;

    if (size == 0)
        return;
    for (; src != NULL && *src != '\0' && o + 1 < size; src++) {
        unsigned char c = (unsigned char)*src;

        if (c < 0x20 || c >= 0x7f)
            dst[o++] = '?'; /* control bytes and non-ASCII */
        else if (c == ' ' || c == '"' || c == '\'' || c == '=' || c == '\\')
            dst[o++] = '_'; /* would break key=value parsing */
        else
            dst[o++] = (char)c;
    }
    dst[o] = '\0';
}

int64_t pv_monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* strerror(3) may format into a buffer shared by the process (unknown
 * values); glibc's strerrordesc_np returns the constant description and
 * touches nothing shared. */
const char *pv_strerror(int e)
{
    const char *d = strerrordesc_np(e);

    return d != NULL ? d : "unknown error";
}

static void pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    /* an interrupted sleep only shortens one poll interval */
    (void)nanosleep(&ts, NULL);
}

/* A blocking flock has no deadline, and the module installs no signal
 * handler to give it one: poll LOCK_NB, pausing 1 ms and doubling up to
 * max_pause_ms, until the monotonic deadline_ms. */
int pv_flock_until(int fd, int64_t deadline_ms, long max_pause_ms)
{
    long pause = 1;

    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return -1;
        if (pv_monotonic_ms() >= deadline_ms) {
            errno = ETIMEDOUT;
            return -1;
        }
        pause_ms(pause);
        if (pause < max_pause_ms)
            pause = pause * 2 < max_pause_ms ? pause * 2 : max_pause_ms;
    }
}

int pv_printable_word(const char *s, size_t max)
{
    size_t n, i;

    if (s == NULL)
        return 0;
    n = strnlen(s, max);
    if (n == 0 || s[n] != '\0')
        return 0; /* empty, or longer than max */
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}
