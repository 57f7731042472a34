/* pv_origin.c - where a login comes from (pv_origin.h).
 *
 * Every fact errs towards "local": a file that cannot be read, a name
 * where an address was expected, an interface list that cannot be had.
 * Being wrong that way costs an administrator a break-glass code during
 * an outage; being wrong the other way opens the door to a local user. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "identity/pv_origin.h"
#include "base/pv_util.h"

#define UNSET_LOGINUID "4294967295"

/* Read a small /proc file into buf (NUL-terminated).  0 ok, -1 error. */
static int read_proc(const char *path, char *buf, size_t size)
{
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

    if (fd < 0)
        return -1;
    while (got + 1 < size) {
        ssize_t n = read(fd, buf + got, size - 1 - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    (void)close(fd);
    buf[got] = '\0';
    return got > 0 ? 0 : -1;
}

static int loginuid_set(void)
{
    char buf[32];
    size_t n;

    if (read_proc("/proc/self/loginuid", buf, sizeof(buf)) != 0)
        return 1;
    n = strcspn(buf, "\n");
    buf[n] = '\0';
    return strcmp(buf, UNSET_LOGINUID) != 0;
}

/* ---- addresses ----------------------------------------------------------- */

typedef struct addr {
    int family; /* AF_INET or AF_INET6 (never a v4-mapped v6) */
    unsigned char b[16];
} addr;

static int addr_from_text(const char *text, addr *a)
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0,    0,
                                              0, 0, 0, 0, 0xff, 0xff };

    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, text, a->b) == 1) {
        a->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, a->b) != 1)
        return -1;
    a->family = AF_INET6;
    if (memcmp(a->b, mapped, sizeof(mapped)) == 0) {
        memmove(a->b, a->b + 12, 4);
        memset(a->b + 4, 0, 12);
        a->family = AF_INET;
    }
    return 0;
}

static int addr_is_loopback_or_any(const addr *a)
{
    static const unsigned char zero[16];

    if (a->family == AF_INET)
        return a->b[0] == 127 || memcmp(a->b, zero, 4) == 0;
    return memcmp(a->b, &in6addr_loopback, 16) == 0 ||
           memcmp(a->b, zero, 16) == 0;
}

static int addr_from_sockaddr(const struct sockaddr *sa, addr *a)
{
    memset(a, 0, sizeof(*a));
    if (sa == NULL)
        return -1;
    if (sa->sa_family == AF_INET) {
        a->family = AF_INET;
        memcpy(a->b, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
               4);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        char text[INET6_ADDRSTRLEN];
        const struct sockaddr_in6 *s6 = (const void *)sa;

        if (inet_ntop(AF_INET6, &s6->sin6_addr, text, sizeof(text)) == NULL)
            return -1;
        return addr_from_text(text, a);
    }
    return -1;
}

/* 1 when a is one of this host's interface addresses, or when the list
 * cannot be had (local resources: count it as ours). */
static int addr_is_own(const addr *a)
{
    struct ifaddrs *list = NULL, *i;
    int own = 0;

    if (getifaddrs(&list) != 0)
        return 1;
    for (i = list; i != NULL && !own; i = i->ifa_next) {
        addr mine;

        if (addr_from_sockaddr(i->ifa_addr, &mine) == 0 &&
            mine.family == a->family &&
            memcmp(mine.b, a->b, a->family == AF_INET ? 4 : 16) == 0)
            own = 1;
    }
    freeifaddrs(list);
    return own;
}

int pv_rhost_is_local(const char *rhost)
{
    addr a;

    if (rhost == NULL || rhost[0] == '\0')
        return 0;
    if (addr_from_text(rhost, &a) != 0)
        return 1; /* a name (or a zone): nothing proves it remote */
    return addr_is_loopback_or_any(&a) || addr_is_own(&a);
}

/* ---- terminal session ----------------------------------------------------- */

int pv_proc_stat_parse(const char *line, long *session,
                       unsigned long long *tty_nr,
                       unsigned long long *starttime)
{
    const char *p = strrchr(line, ')'); /* comm may hold ')' and spaces */
    long long tty = 0;
    int field;

    if (p == NULL || p[1] != ' ')
        return -1;
    p += 2;
    /* after "(comm) ": state ppid pgrp session tty_nr ... starttime is
     * the 20th (proc(5): fields 3..22) */
    for (field = 0; field < 20; field++) {
        char *end;

        if (*p == '\0')
            return -1;
        if (field == 3 || field == 4 || field == 19) {
            long long v;

            errno = 0;
            v = strtoll(p, &end, 10);
            if (end == p || errno != 0 ||
                (*end != ' ' && *end != '\n' && *end != '\0'))
                return -1;
            if (field == 3)
                *session = (long)v;
            else if (field == 4)
                tty = v;
            else if (v < 0)
                return -1;
            else
                *starttime = (unsigned long long)v;
            p = end;
        } else {
            p += strcspn(p, " ");
        }
        while (*p == ' ')
            p++;
    }
    /* tty_nr is an int holding the encoded device number */
    *tty_nr = (unsigned long long)(unsigned int)(int)tty;
    return 0;
}

static void read_session(pv_tty_session *s)
{
    char line[1024], path[64];
    long sid = 0, leader_sid = 0;
    unsigned long long tty = 0, start = 0, leader_tty = 0, leader_start = 0;

    memset(s, 0, sizeof(*s));
    if (read_proc("/proc/self/stat", line, sizeof(line)) != 0 ||
        pv_proc_stat_parse(line, &sid, &tty, &start) != 0 || tty == 0 ||
        sid <= 0)
        return;
    if (pv_snprintf(path, sizeof(path), "/proc/%ld/stat", sid) < 0 ||
        read_proc(path, line, sizeof(line)) != 0 ||
        pv_proc_stat_parse(line, &leader_sid, &leader_tty, &leader_start) !=
            0 ||
        leader_sid != sid)
        return; /* the leader is gone: no session to bind to */
    s->valid = 1;
    s->tty = tty;
    s->sid = sid;
    s->leader_start = leader_start;
}

void pv_origin_read(const char *rhost, const char *ruser, pv_origin *o)
{
    memset(o, 0, sizeof(*o));
    o->loginuid_set = loginuid_set();
    o->ruid_not_root = getuid() != 0;
    o->ruser_set = ruser != NULL && ruser[0] != '\0';
    o->rhost_local = pv_rhost_is_local(rhost);
    read_session(&o->session);
}

int pv_origin_is_local(const pv_origin *o)
{
    if (o == NULL)
        return 1;
    return o->loginuid_set || o->ruid_not_root || o->ruser_set ||
           o->rhost_local;
}
