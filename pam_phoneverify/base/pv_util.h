/* pv_util.h - small helpers with no knowledge of PAM, HTTP or JSON. */
#ifndef PV_UTIL_H
#define PV_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Wipe memory the compiler may not optimise away (codes, tokens). */
void pv_wipe(void *p, size_t n);
/* Wipe then free a NUL-terminated string; NULL is fine. */
void pv_free_secret(char *s);
/* strdup that returns NULL on NULL input. */
char *pv_strdup(const char *s);

/* Bounded copy: always NUL-terminates; returns -1 when truncated. */
int pv_strlcpy(char *dst, const char *src, size_t size);
/* snprintf returning -1 on truncation or error, else the length. */
int pv_snprintf(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Strict decimal parse of a whole string into [min, max]; 0 ok, -1 bad. */
int pv_parse_long(const char *s, long min, long max, long *out);
/* yes/no/true/false/on/off/1/0 (case-insensitive); 0 ok, -1 bad. */
int pv_parse_bool(const char *s, int *out);

/* Copy src into dst replacing every byte < 0x20, 0x7f and any byte of a
 * non-printable sequence with '?', and spaces/quotes/'=' with '_', so a
 * value from outside can stand in a key=value log line.  Truncates. */
void pv_sanitize(char *dst, size_t size, const char *src);

/* Millisecond monotonic clock, for deadlines inside one process. */
int64_t pv_monotonic_ms(void);

/* The text of errno value e (thread-safe, constant). */
const char *pv_strerror(int e);

/* flock(fd, LOCK_EX) polled until the monotonic deadline_ms (see
 * pv_monotonic_ms).  0 locked, -1 errno set (ETIMEDOUT at the deadline). */
int pv_flock_until(int fd, int64_t deadline_ms, long max_pause_ms);

/* 1 when s is 1..max bytes of printable ASCII without blanks (tokens,
 * URLs, links shown in a terminal), else 0. */
int pv_printable_word(const char *s, size_t max);

#endif
