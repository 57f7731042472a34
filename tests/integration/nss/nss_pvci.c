/* nss_pvci.c - a case-insensitive passwd source for the tests, as SSSD with
 * Active Directory or winbind behave: getpwnam_r("ALICE") answers the
 * account "alice".  Loaded by nss_wrapper (NSS_WRAPPER_MODULE_SO_PATH,
 * NSS_WRAPPER_MODULE_FN_PREFIX=pvci); reads the passwd-format file named
 * by PV_NSS_CI_PASSWD.  Test code only: never installed. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum nss_status _nss_pvci_getpwnam_r(const char *name, struct passwd *pw,
                                     char *buf, size_t len, int *errnop);
enum nss_status _nss_pvci_getpwuid_r(uid_t uid, struct passwd *pw, char *buf,
                                     size_t len, int *errnop);
enum nss_status _nss_pvci_setpwent(void);
enum nss_status _nss_pvci_endpwent(void);
enum nss_status _nss_pvci_getpwent_r(struct passwd *pw, char *buf, size_t len,
                                     int *errnop);
enum nss_status _nss_pvci_getgrnam_r(const char *name, struct group *gr,
                                     char *buf, size_t len, int *errnop);
enum nss_status _nss_pvci_getgrgid_r(gid_t gid, struct group *gr, char *buf,
                                     size_t len, int *errnop);
enum nss_status _nss_pvci_setgrent(void);
enum nss_status _nss_pvci_endgrent(void);
enum nss_status _nss_pvci_getgrent_r(struct group *gr, char *buf, size_t len,
                                     int *errnop);
enum nss_status _nss_pvci_initgroups_dyn(const char *user, gid_t group,
                                         long *start, long *size,
                                         gid_t **groups, long limit,
                                         int *errnop);

/* Find a line whose name matches (case-insensitively) or whose uid is
 * uid (name NULL); fill pw with strings copied into buf. */
static enum nss_status lookup(const char *name, uid_t uid, struct passwd *pw,
                              char *buf, size_t len, int *errnop)
{
    const char *path = getenv("PV_NSS_CI_PASSWD");
    FILE *fp;
    struct passwd ent, *e = NULL;
    char line[1024];
    enum nss_status st = NSS_STATUS_NOTFOUND;

    if (path == NULL || (fp = fopen(path, "re")) == NULL)
        return NSS_STATUS_UNAVAIL;
    while (fgetpwent_r(fp, &ent, line, sizeof(line), &e) == 0 && e != NULL) {
        if (name != NULL ? strcasecmp(e->pw_name, name) != 0
                         : e->pw_uid != uid)
            continue;
        size_t n1 = strlen(e->pw_name) + 1, n2 = strlen(e->pw_gecos) + 1;
        size_t n3 = strlen(e->pw_dir) + 1, n4 = strlen(e->pw_shell) + 1;

        if (n1 + n2 + n3 + n4 + 2 > len) {
            *errnop = ERANGE;
            st = NSS_STATUS_TRYAGAIN;
            break;
        }
        *pw = *e;
        pw->pw_name = memcpy(buf, e->pw_name, n1);
        pw->pw_gecos = memcpy(buf + n1, e->pw_gecos, n2);
        pw->pw_dir = memcpy(buf + n1 + n2, e->pw_dir, n3);
        pw->pw_shell = memcpy(buf + n1 + n2 + n3, e->pw_shell, n4);
        pw->pw_passwd = memcpy(buf + n1 + n2 + n3 + n4, "x", 2);
        st = NSS_STATUS_SUCCESS;
        break;
    }
    fclose(fp);
    return st;
}

enum nss_status _nss_pvci_getpwnam_r(const char *name, struct passwd *pw,
                                     char *buf, size_t len, int *errnop)
{
    return lookup(name, 0, pw, buf, len, errnop);
}

enum nss_status _nss_pvci_getpwuid_r(uid_t uid, struct passwd *pw, char *buf,
                                     size_t len, int *errnop)
{
    return lookup(NULL, uid, pw, buf, len, errnop);
}

/* Enumeration and groups come from nss_wrapper's files. */
enum nss_status _nss_pvci_setpwent(void) { return NSS_STATUS_SUCCESS; }
enum nss_status _nss_pvci_endpwent(void) { return NSS_STATUS_SUCCESS; }
enum nss_status _nss_pvci_getpwent_r(struct passwd *pw, char *buf, size_t len,
                                     int *errnop)
{
    (void)pw; (void)buf; (void)len; (void)errnop;
    return NSS_STATUS_NOTFOUND;
}
enum nss_status _nss_pvci_getgrnam_r(const char *name, struct group *gr,
                                     char *buf, size_t len, int *errnop)
{
    (void)name; (void)gr; (void)buf; (void)len; (void)errnop;
    return NSS_STATUS_NOTFOUND;
}
enum nss_status _nss_pvci_getgrgid_r(gid_t gid, struct group *gr, char *buf,
                                     size_t len, int *errnop)
{
    (void)gid; (void)gr; (void)buf; (void)len; (void)errnop;
    return NSS_STATUS_NOTFOUND;
}
enum nss_status _nss_pvci_setgrent(void) { return NSS_STATUS_SUCCESS; }
enum nss_status _nss_pvci_endgrent(void) { return NSS_STATUS_SUCCESS; }
enum nss_status _nss_pvci_getgrent_r(struct group *gr, char *buf, size_t len,
                                     int *errnop)
{
    (void)gr; (void)buf; (void)len; (void)errnop;
    return NSS_STATUS_NOTFOUND;
}
enum nss_status _nss_pvci_initgroups_dyn(const char *user, gid_t group,
                                         long *start, long *size,
                                         gid_t **groups, long limit,
                                         int *errnop)
{
    (void)user; (void)group; (void)start; (void)size; (void)groups;
    (void)limit; (void)errnop;
    return NSS_STATUS_NOTFOUND;
}
