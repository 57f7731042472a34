/* test_http.c - pv_http driving the real build/phoneverify-http against a
 * tiny HTTP/1.1 server forked by the test (keep-alive, canned answers).
 * PV_BUILD names the build directory (default ./build). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <sys/resource.h>
#include <cmocka.h>
#include "pvt.h"
#include "helper/pv_curl_class.h"
#include "transport/pv_helper_proto.h"
#include "transport/pv_http.h"
#include "base/pv_util.h"

static char g_helper[PATH_MAX];
static pid_t g_server = -1;
static int g_port;
static char g_url[128];
static pv_http *g_h;  /* freed by the teardown when a test fails early */
static pv_http *g_h2; /* a second view, likewise */

/* ---- the toy server (runs in forked children) ------------------------ */

static void say(int c, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(c, s, n);

        if (w <= 0)
            _exit(0);
        s += w;
        n -= (size_t)w;
    }
}

static void answer(int c, const char *status, const char *extra,
                   const char *body, size_t len)
{
    char h[512];
    int n = snprintf(h, sizeof(h),
                     "HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
                     "Content-Type: application/json\r\n%s\r\n",
                     status, len, extra);

    say(c, h, (size_t)n);
    say(c, body, len);
}

static void answer_filled(int c, size_t len, int chunked)
{
    char *b = malloc(len);
    char h[64];
    size_t off;

    memset(b, 'a', len);
    if (!chunked) {
        answer(c, "200 OK", "", b, len);
        free(b);
        return;
    }
    say(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 47);
    for (off = 0; off < len; off += 8192) {
        size_t k = len - off < 8192 ? len - off : 8192;
        int n = snprintf(h, sizeof(h), "%zx\r\n", k);

        say(c, h, (size_t)n);
        say(c, b + off, k);
        say(c, "\r\n", 2);
    }
    say(c, "0\r\n\r\n", 5);
    free(b);
}

/* Read one request (headers + Content-Length body) into buf. */
static size_t read_request(int c, char *buf, size_t size)
{
    size_t len = 0, need = 0;
    char *end = NULL;

    for (;;) {
        ssize_t r;

        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            char *cl = strcasestr(buf, "\r\ncontent-length:");

            need = (size_t)(end + 4 - buf) +
                   (cl != NULL && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
        }
        if (end != NULL && len >= need)
            return len;
        if (len + 1 >= size)
            _exit(0);
        r = read(c, buf + len, size - 1 - len);
        if (r <= 0)
            _exit(0);
        len += (size_t)r;
        buf[len] = '\0';
    }
}

static void serve_one(int c, const char *req, size_t len)
{
    char loc[160];

    if (strncmp(req, "POST /echo ", 11) == 0) {
        answer(c, "200 OK", "", req, len);
    } else if (strncmp(req, "POST /ok ", 9) == 0) {
        answer(c, "200 OK", "", "{\"ok\":true}", 11);
    } else if (strncmp(req, "POST /redirect ", 15) == 0) {
        snprintf(loc, sizeof(loc), "Location: %s/ok\r\n", g_url);
        answer(c, "302 Found", loc, "", 0);
    } else if (strncmp(req, "POST /big ", 10) == 0) {
        answer_filled(c, PV_HTTP_MAX_RESPONSE + 4000, 0);
    } else if (strncmp(req, "POST /bigchunked ", 17) == 0) {
        answer_filled(c, PV_HTTP_MAX_RESPONSE + 4000, 1);
    } else if (strncmp(req, "POST /exact ", 12) == 0) {
        answer_filled(c, PV_HTTP_MAX_RESPONSE, 1);
    } else if (strncmp(req, "POST /hang ", 11) == 0) {
        char b[256];

        while (read(c, b, sizeof(b)) > 0)
            ; /* never answer; end when the client gives up */
        _exit(0);
    } else {
        answer(c, "404 Not Found", "", "{}", 2);
    }
}

static void serve_conn(int c)
{
    static char buf[256 * 1024];

    alarm(20); /* a safety net: never outlive the test */
    for (;;) {
        size_t len;

        memset(buf, 0, sizeof(buf));
        len = read_request(c, buf, sizeof(buf));
        serve_one(c, buf, len);
    }
}

static void server_main(int ls)
{
    signal(SIGCHLD, SIG_IGN); /* connection children reap themselves */
    alarm(60);
    for (;;) {
        int c = accept(ls, NULL, NULL);

        if (c < 0)
            continue;
        if (fork() == 0) {
            close(ls);
            serve_conn(c);
        }
        close(c);
    }
}

static int group_setup(void **state)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    const char *b = getenv("PV_BUILD");
    char path[PATH_MAX];
    int ls;

    (void)state;
    snprintf(path, sizeof(path), "%s/phoneverify-http", b ? b : "./build");
    if (realpath(path, g_helper) == NULL) {
        fprintf(stderr, "helper %s not found\n", path);
        return -1;
    }
    ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(ls, 16) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    g_port = ntohs(a.sin_port);
    snprintf(g_url, sizeof(g_url), "http://127.0.0.1:%d", g_port);
    g_server = fork();
    if (g_server == 0)
        server_main(ls);
    close(ls);
    return g_server < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g_server > 0) {
        kill(g_server, SIGKILL);
        waitpid(g_server, NULL, 0);
    }
    return 0;
}

/* ---- process bookkeeping ---------------------------------------------- */

/* Children of this process other than the test server, or -1 if none;
 * *count gets how many there are (zombies included). */
static pid_t other_child(int *count)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = -1;

    assert_non_null(d);
    *count = 0;
    while ((e = readdir(d)) != NULL) {
        char p[64], st[512], *rp;
        long pid = strtol(e->d_name, NULL, 10), ppid;
        FILE *f;

        if (pid <= 0 || pid == g_server)
            continue;
        snprintf(p, sizeof(p), "/proc/%ld/stat", pid);
        f = fopen(p, "re");
        if (f == NULL)
            continue;
        if (fgets(st, sizeof(st), f) != NULL &&
            (rp = strrchr(st, ')')) != NULL &&
            sscanf(rp + 1, " %*c %ld", &ppid) == 1 && ppid == getpid()) {
            (*count)++;
            found = (pid_t)pid;
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

static void assert_no_child(void)
{
    int n;

    (void)other_child(&n);
    assert_int_equal(n, 0);
}

/* ---- helpers for the tests --------------------------------------------- */

/* The user the real helper runs as: nobody, any existing unprivileged
 * user; root in the valgrind pass (mk/sanitize.mk), where valgrind opens
 * the program to exec by path as the new user, and an execute-only
 * helper cannot be read by nobody. */
static const char *real_helper_user(void)
{
    const char *u = getenv("PV_TEST_HELPER_USER");

    return u != NULL && u[0] != '\0' ? u : "nobody";
}

static pv_http *new_http(long timeout, const char *helper)
{
    pv_http_opts o;
    pv_http *h;

    memset(&o, 0, sizeof(o));
    o.helper = helper != NULL ? helper : g_helper;
    /* The real helper as any existing unprivileged user (the module's
     * default, _phoneverify, need not exist on a build host); a fake one
     * is a script, which must be readable to run, so it runs as root:
     * these tests are about the protocol, not the privilege drop. */
    o.helper_user = helper != NULL ? "root" : real_helper_user();
    o.timeout = timeout;
    o.connect_timeout = timeout < 5 ? timeout : 5;
    h = pv_http_new(&o);
    assert_non_null(h);
    g_h = h;
    return h;
}

static void done(pv_http *h)
{
    pv_http_free(h);
    g_h = NULL;
}

static int test_teardown(void **state)
{
    (void)state;
    done(g_h);
    pv_http_free(g_h2);
    g_h2 = NULL;
    return 0;
}

static void url_for(char *buf, size_t size, const char *path)
{
    snprintf(buf, size, "%s%s", g_url, path);
}

static enum pv_http_status post(pv_http *h, const char *path,
                                pv_http_response *resp)
{
    char url[256];
    pv_http_request req;

    memset(&req, 0, sizeof(req));
    url_for(url, sizeof(url), path);
    req.url = url;
    req.content_type = "application/json";
    req.body = "{}";
    req.body_len = 2;
    (void)pv_http_post(h, &req, resp);
    return resp->status;
}

/* ---- tests ------------------------------------------------------------ */

static void test_round_trip_headers(void **state)
{
    int fds = pvt_count_fds();
    pv_http *h = new_http(5, NULL);
    pv_http_request req;
    pv_http_response r;
    char url[256];
    static const char body[] = "{\"phone_number\": \"+86 13800138000\"}";
    static const pv_http_header captcha = { "X-Captcha-Token", "cap-9" };

    (void)state;
    memset(&req, 0, sizeof(req));
    url_for(url, sizeof(url), "/echo");
    req.url = url;
    req.content_type = "application/json";
    req.authorization = "Bearer tok-123";
    req.headers = &captcha;
    req.n_headers = 1;
    req.body = body;
    req.body_len = sizeof(body) - 1;
    assert_int_equal(pv_http_post(h, &req, &r), 0);
    assert_int_equal(r.status, PV_HTTP_OK);
    assert_int_equal(r.http_code, 200);
    assert_non_null(r.body);
    assert_int_equal(strlen(r.body), r.body_len);
    assert_non_null(strstr(r.body, "POST /echo HTTP/1.1\r\n"));
    assert_non_null(strstr(r.body, "\r\nContent-Type: application/json\r\n"));
    assert_non_null(strstr(r.body, "\r\nAccept: application/json\r\n"));
    assert_non_null(strstr(r.body, "\r\nAuthorization: Bearer tok-123\r\n"));
    assert_non_null(strstr(r.body, "\r\nX-Captcha-Token: cap-9\r\n"));
    assert_null(strcasestr(r.body, "\r\nExpect:"));
    assert_null(strcasestr(r.body, "\r\nAccept-Encoding:"));
    assert_non_null(strstr(r.body, body));
    assert_true(r.elapsed_ms >= 0 && r.elapsed_ms < 5000);
    pv_http_response_clear(&r);
    assert_null(r.body);
    done(h);
    assert_int_equal(pvt_count_fds(), fds);
    assert_no_child();
}

/* Extra headers come from the module, but the helper holds the line on
 * its own: a name that is not a plain token (a CR LF smuggling a second
 * header), a header the helper sets itself (Host, Authorization,
 * Content-Length) or a value with a line break never reaches the wire. */
static void test_extra_header_refused(void **state)
{
    static const pv_http_header bad[] = {
        { "X-A\r\nX-Injected", "1" },         { "Host", "evil.example" },
        { "authorization", "Bearer stolen" }, { "Content-Length", "0" },
        { "X-Ok", "v\r\nX-Injected: 1" },     { "", "v" },
    };
    pv_http *h = new_http(5, NULL);
    pv_http_request req;
    pv_http_response r;
    char url[256];
    size_t i;

    (void)state;
    url_for(url, sizeof(url), "/echo");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&req, 0, sizeof(req));
        req.url = url;
        req.headers = &bad[i];
        req.n_headers = 1;
        assert_int_equal(pv_http_post(h, &req, &r), -1);
        /* as a value with a line break (test_header_injection) */
        assert_int_equal(r.status, PV_HTTP_E_OTHER);
        assert_int_equal(pv_http_connects(h), 0);
        pv_http_response_clear(&r);
    }
    done(h);
    assert_no_child();
}

/* Header values cannot smuggle extra headers. */
static void test_header_injection(void **state)
{
    pv_http *h = new_http(5, NULL);
    pv_http_request req;
    pv_http_response r;
    char url[256];

    (void)state;
    memset(&req, 0, sizeof(req));
    url_for(url, sizeof(url), "/echo");
    req.url = url;
    req.authorization = "Bearer x\r\nX-Evil: 1";
    assert_int_equal(pv_http_post(h, &req, &r), -1);
    assert_int_equal(r.status, PV_HTTP_E_OTHER);
    assert_int_equal(pv_http_connects(h), 0);
    pv_http_response_clear(&r);
    done(h);
    assert_no_child();
}

static void test_form(void **state)
{
    static const char *const names[] = { "licence", "number", "scope" };
    static const char *const values[] = { "a b&c=d", "33612345678",
                                          "numVerify" };
    pv_http *h = new_http(5, NULL);
    pv_http_request req;
    pv_http_response r;
    char url[256];

    (void)state;
    memset(&req, 0, sizeof(req));
    url_for(url, sizeof(url), "/echo");
    req.url = url;
    req.content_type = "application/json"; /* forced to the form type */
    req.body = "ignored";
    req.body_len = 7;
    req.form_names = names;
    req.form_values = values;
    req.n_form = 3;
    assert_int_equal(pv_http_post(h, &req, &r), 0);
    assert_non_null(strstr(r.body, "\r\nContent-Type: "
                                   "application/x-www-form-urlencoded\r\n"));
    assert_non_null(strstr(r.body, "\r\n\r\nlicence=a%20b%26c%3Dd&"
                                   "number=33612345678&scope=numVerify"));
    assert_null(strstr(r.body, "ignored"));
    pv_http_response_clear(&r);
    done(h);
}

static void test_connection_reuse(void **state)
{
    pv_http *h = new_http(5, NULL);
    pv_http_response r;

    (void)state;
    assert_int_equal(pv_http_connects(h), 0);
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_OK);
    assert_string_equal(r.body, "{\"ok\":true}");
    pv_http_response_clear(&r);
    assert_int_equal(post(h, "/echo", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    assert_int_equal(pv_http_connects(h), 1);
    done(h);
    assert_no_child();
}

static void test_redirect_not_followed(void **state)
{
    pv_http *h = new_http(5, NULL);
    pv_http_response r;

    (void)state;
    assert_int_equal(post(h, "/redirect", &r), PV_HTTP_OK);
    assert_int_equal(r.http_code, 302);
    assert_int_equal(r.body_len, 0); /* not /ok's body */
    pv_http_response_clear(&r);
    done(h);
}

static void test_too_big(void **state)
{
    pv_http *h = new_http(5, NULL);
    pv_http_response r;

    (void)state;
    assert_int_equal(post(h, "/big", &r), PV_HTTP_E_TOOBIG);
    assert_null(r.body);
    pv_http_response_clear(&r);
    assert_int_equal(post(h, "/bigchunked", &r), PV_HTTP_E_TOOBIG);
    assert_null(r.body);
    pv_http_response_clear(&r);
    assert_int_equal(post(h, "/exact", &r), PV_HTTP_OK); /* the limit */
    assert_int_equal(r.body_len, PV_HTTP_MAX_RESPONSE);
    pv_http_response_clear(&r);
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_OK); /* still usable */
    pv_http_response_clear(&r);
    done(h);
    assert_no_child();
}

static void test_timeout(void **state)
{
    pv_http *h = new_http(1, NULL);
    pv_http_response r;
    int64_t t0 = pv_monotonic_ms();

    (void)state;
    assert_int_equal(post(h, "/hang", &r), PV_HTTP_E_TIMEOUT);
    assert_true(pv_monotonic_ms() - t0 < 3000); /* timeout + 2 s */
    pv_http_response_clear(&r);
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    done(h);
    assert_no_child();
}

static void test_url_refused(void **state)
{
    static const char *const bad[] = {
        "http://192.0.2.1/",
        "http://example.com/",
        "ftp://127.0.0.1/",
        "file:///etc/passwd",
        "http://127.0.0.1.example.com/",
        "http://[::ffff:127.0.0.1]/",
        "127.0.0.1/ok",
        "//127.0.0.1/",
        "gopher://127.0.0.1/",
        /* names and spellings the configuration refuses
         * (base/pv_url.h, pv_url_loopback_host) */
        "http://localhost/",
        "http://LOCALHOST:8080/",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://2130706433/",
        "http://user@127.0.0.1/",
        "",
    };
    pv_http *h = new_http(5, NULL);
    pv_http_request req;
    pv_http_response r;
    int64_t t0 = pv_monotonic_ms();
    size_t i;

    (void)state;
    memset(&req, 0, sizeof(req));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        req.url = bad[i];
        assert_int_equal(pv_http_post(h, &req, &r), -1);
        if (r.status != PV_HTTP_E_URL)
            fail_msg("%s: %s", bad[i], pv_http_status_name(r.status));
        pv_http_response_clear(&r);
    }
    assert_true(pv_monotonic_ms() - t0 < 1000); /* nothing was tried */
    assert_int_equal(pv_http_connects(h), 0);
    done(h);
}

static void test_loopback_forms_allowed(void **state)
{
    pv_http *h = new_http(2, NULL);
    pv_http_request req;
    pv_http_response r;
    char url[128];

    (void)state;
    memset(&req, 0, sizeof(req));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/ok", g_port);
    req.url = url;
    assert_int_equal(pv_http_post(h, &req, &r), 0);
    pv_http_response_clear(&r);
    req.url = "http://127.0.0.1:1/"; /* allowed, nothing listens */
    assert_int_equal(pv_http_post(h, &req, &r), -1);
    assert_int_equal(r.status, PV_HTTP_E_CONNECT);
    pv_http_response_clear(&r);
    req.url = "http://[::1]:1/";
    assert_int_equal(pv_http_post(h, &req, &r), -1);
    assert_int_equal(r.status, PV_HTTP_E_CONNECT);
    pv_http_response_clear(&r);
    done(h);
}

static void test_helper_missing(void **state)
{
    static const char *const paths[] = {
        "/nonexistent/phoneverify-http",
        "build/phoneverify-http",
        "/dev/null",
        "/",
    };
    int fds = pvt_count_fds();
    pv_http_response r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        pv_http *h = new_http(2, paths[i]);

        assert_int_equal(post(h, "/ok", &r), PV_HTTP_E_HELPER);
        pv_http_response_clear(&r);
        assert_int_equal(post(h, "/ok", &r), PV_HTTP_E_HELPER); /* again */
        pv_http_response_clear(&r);
        done(h);
    }
    assert_int_equal(pvt_count_fds(), fds);
    assert_no_child();
}

/* The configured proxy is the only proxy and is used for every request,
 * loopback included (SPEC 3). */
static void test_configured_proxy(void **state)
{
    pv_http_opts o;
    pv_http *h;
    pv_http_request req;
    pv_http_response r;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.helper = g_helper;
    o.helper_user = real_helper_user();
    o.timeout = 3;
    o.connect_timeout = 3;
    o.proxy = g_url; /* our toy server: answers CONNECT 404 */
    h = g_h = pv_http_new(&o);
    assert_non_null(h);
    memset(&req, 0, sizeof(req));
    req.url = "https://pv-test.invalid/"; /* unresolvable if direct */
    assert_int_equal(pv_http_post(h, &req, &r), -1);
    assert_int_equal(pv_http_connects(h), 1); /* reached the proxy */
    pv_http_response_clear(&r);
    done(h);

    o.proxy = "http://127.0.0.1:1"; /* dead: even loopback goes through it */
    h = g_h = pv_http_new(&o);
    assert_non_null(h);
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_E_CONNECT);
    pv_http_response_clear(&r);
    done(h);
    assert_no_child();
}

/* A "helper" that echoes our own messages back is speaking nonsense. */
static void test_helper_nonsense(void **state)
{
    pv_http *h = new_http(2, "/bin/cat");
    pv_http_response r;

    (void)state;
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_E_HELPER);
    pv_http_response_clear(&r);
    assert_no_child(); /* killed and reaped at once */
    done(h);
}

static char *write_script(const char *text)
{
    char *path = strdup("/tmp/pv-test-helper-XXXXXX");
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, 0755), 0); /* the helper user runs it */
    close(fd);
    return path;
}

/* A helper that never answers is killed at the module's own deadline:
 * a local failure (E_HELPER), never mistaken for a network timeout. */
static void test_helper_silent(void **state)
{
    char *script = write_script("#!/bin/sh\nexec /bin/sleep 30\n");
    pv_http *h = new_http(1, script);
    pv_http_response r;
    int64_t t0 = pv_monotonic_ms();

    (void)state;
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_E_HELPER);
    assert_true(pv_monotonic_ms() - t0 < 1000 * (1 + 1 + 2) + 1500);
    pv_http_response_clear(&r);
    assert_no_child();
    done(h);
    unlink(script);
    free(script);
}

/* The caller's environment, signal mask and open descriptors do not
 * reach the helper. */
static void test_environment_ignored(void **state)
{
    char dead[64], p[64], buf[4096], link[PATH_MAX], keylog[64];
    int fds = pvt_count_fds(), marker, n, fd;
    pv_http *h = new_http(3, NULL);
    pv_http_response r;
    sigset_t blk, old;
    pid_t pid;
    FILE *f;
    ssize_t len;
    DIR *d;
    struct dirent *e;
    static const char *const vars[] = {
        "http_proxy",  "https_proxy", "HTTP_PROXY",
        "HTTPS_PROXY", "ALL_PROXY",   "all_proxy",
    };
    size_t i;

    (void)state;
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", 1);
    for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        setenv(vars[i], dead, 1);
    /* libcurl+OpenSSL would create this file at start-up if it saw it */
    snprintf(keylog, sizeof(keylog), "/tmp/pv-test-keylog-%d", (int)getpid());
    unlink(keylog);
    setenv("SSLKEYLOGFILE", keylog, 1);
    marker = open("/dev/zero", O_RDONLY); /* deliberately not CLOEXEC */
    assert_true(marker >= 0);
    sigemptyset(&blk);
    sigaddset(&blk, SIGTERM);
    sigprocmask(SIG_BLOCK, &blk, &old);
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_OK); /* went direct */
    pv_http_response_clear(&r);
    sigprocmask(SIG_SETMASK, &old, NULL);

    pid = other_child(&n);
    assert_int_equal(n, 1);
    snprintf(p, sizeof(p), "/proc/%d/environ", (int)pid);
    f = fopen(p, "re");
    assert_non_null(f);
    assert_int_equal(fread(buf, 1, sizeof(buf), f), 0); /* empty */
    fclose(f);
    snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
    f = fopen(p, "re");
    assert_non_null(f);
    n = 0;
    while (fgets(buf, sizeof(buf), f) != NULL)
        if (strcmp(buf, "SigBlk:\t0000000000000000\n") == 0)
            n = 1;
    fclose(f);
    assert_int_equal(n, 1);
    snprintf(p, sizeof(p), "/proc/%d/fd", (int)pid);
    d = opendir(p);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char lp[PATH_MAX];

        if (e->d_name[0] == '.')
            continue;
        fd = atoi(e->d_name);
        snprintf(lp, sizeof(lp), "%s/%s", p, e->d_name);
        len = readlink(lp, link, sizeof(link) - 1);
        assert_true(len > 0);
        link[len] = '\0';
        if (fd == 2)
            assert_string_equal(link, "/dev/null");
        if (strcmp(link, "/dev/zero") == 0)
            fail_msg("descriptor %d leaked into the helper", fd);
    }
    closedir(d);
    if (access(keylog, F_OK) == 0) {
        unlink(keylog);
        fail_msg("the helper saw SSLKEYLOGFILE");
    }

    done(h);
    close(marker);
    for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        unsetenv(vars[i]);
    unsetenv("SSLKEYLOGFILE");
    assert_int_equal(pvt_count_fds(), fds);
    assert_no_child();
}

/* Applications that ignore SIGCHLD get children reaped by the kernel:
 * waitpid then fails with ECHILD, which must not hang or confuse us. */
static void test_sigchld_ignored(void **state)
{
    struct sigaction ign, old;
    pv_http *h = new_http(3, NULL);
    pv_http_response r;
    int64_t t0;

    (void)state;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    sigaction(SIGCHLD, &ign, &old);
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    t0 = pv_monotonic_ms();
    done(h);
    assert_true(pv_monotonic_ms() - t0 < 1500);
    sigaction(SIGCHLD, &old, NULL);
    assert_no_child();
}

/* ---- the helper on its own: garbage makes it exit non-zero ------------ */

static pid_t run_helper(int *fd)
{
    int sv[2];
    pid_t pid;

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                     0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char *const argv[] = { (char *)"phoneverify-http", NULL };
        char *const envp[] = { NULL };

        dup2(sv[1], 0);
        dup2(sv[1], 1);
        execve(g_helper, argv, envp);
        _exit(127);
    }
    close(sv[1]);
    *fd = sv[0];
    return pid;
}

static int helper_exit(pid_t pid, int fd)
{
    int st = -1;

    close(fd);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void send_setup(int fd)
{
    pv_proto_msg m;

    memset(&m, 0, sizeof(m));
    assert_int_equal(pv_proto_add_str(&m, PV_F_MSG, "setup"), 0);
    assert_int_equal(pv_proto_add_str(&m, PV_F_PROFILE, "1"), 0);
    assert_int_equal(pv_proto_add_long(&m, PV_F_TIMEOUT, 2), 0);
    assert_int_equal(pv_proto_add_long(&m, PV_F_CONNECT_TIMEOUT, 2), 0);
    assert_int_equal(pv_proto_send(fd, &m, pv_monotonic_ms() + 2000), 0);
    pv_proto_clear(&m);
}

static void send_garbage(int fd, const char *g, size_t n)
{
    assert_int_equal(send(fd, g, n, MSG_NOSIGNAL), (ssize_t)n);
    shutdown(fd, SHUT_WR);
}

static void test_helper_garbage(void **state)
{
    pv_proto_msg m;
    int fd;
    pid_t pid;

    (void)state;
    pid = run_helper(&fd); /* clean close: status 0 */
    assert_int_equal(helper_exit(pid, fd), 0);
    pid = run_helper(&fd); /* garbage instead of setup */
    send_garbage(fd, "\xffGET / HTTP/1.1\r\n\r\n", 19);
    assert_int_not_equal(helper_exit(pid, fd), 0);
    pid = run_helper(&fd); /* setup, then garbage */
    send_setup(fd);
    send_garbage(fd, "\x1e\x00\x00\x00\x05http", 9);
    assert_int_not_equal(helper_exit(pid, fd), 0);
    pid = run_helper(&fd); /* a setup without limits */
    memset(&m, 0, sizeof(m));
    assert_int_equal(pv_proto_add_str(&m, PV_F_MSG, "setup"), 0);
    assert_int_equal(pv_proto_send(fd, &m, pv_monotonic_ms() + 2000), 0);
    pv_proto_clear(&m);
    assert_int_not_equal(helper_exit(pid, fd), 0);
    pid = run_helper(&fd); /* a response where a */
    send_setup(fd);        /* request belongs */
    assert_int_equal(pv_proto_add_str(&m, PV_F_MSG, "response"), 0);
    assert_int_equal(pv_proto_send(fd, &m, pv_monotonic_ms() + 2000), 0);
    pv_proto_clear(&m);
    assert_int_not_equal(helper_exit(pid, fd), 0);
}

/* Drive the helper by hand (its stderr is ours here, so a sanitizer
 * report or a leak shows, and a leak makes the exit status non-zero). */
static void direct(int fd, const char *path, const char *form_value,
                   long want_status, size_t want_len)
{
    static long seq;
    pv_proto_msg m;
    char url[256];
    long st, echoed;

    memset(&m, 0, sizeof(m));
    url_for(url, sizeof(url), path);
    assert_int_equal(pv_proto_add_str(&m, PV_F_MSG, "request"), 0);
    assert_int_equal(pv_proto_add_long(&m, PV_F_SEQ, ++seq), 0);
    assert_int_equal(pv_proto_add_str(&m, PV_F_PROFILE, "1"), 0);
    assert_int_equal(pv_proto_add_str(&m, PV_F_URL, url), 0);
    assert_int_equal(pv_proto_add_str(&m, PV_F_AUTHORIZATION, "Basic eA=="),
                     0);
    if (form_value != NULL) {
        assert_int_equal(pv_proto_add_str(&m, PV_F_FORM_NAME, "k"), 0);
        assert_int_equal(pv_proto_add_str(&m, PV_F_FORM_VALUE, form_value), 0);
    } else {
        assert_int_equal(pv_proto_add_str(&m, PV_F_BODY, "{}"), 0);
    }
    assert_int_equal(pv_proto_send(fd, &m, pv_monotonic_ms() + 2000), 0);
    pv_proto_clear(&m);
    assert_int_equal(pv_proto_recv(fd, &m, pv_monotonic_ms() + 5000), 0);
    assert_string_equal(pv_proto_get(&m, PV_F_MSG)->value, "response");
    assert_int_equal(
        pv_parse_long(pv_proto_get(&m, PV_F_STATUS)->value, 0, 99, &st), 0);
    assert_int_equal(st, want_status);
    assert_int_equal(
        pv_parse_long(pv_proto_get(&m, PV_F_SEQ)->value, 1, LONG_MAX, &echoed),
        0);
    assert_int_equal(echoed, seq); /* the answer names its request */
    if (want_status == PV_HTTP_OK && want_len != SIZE_MAX)
        assert_int_equal(pv_proto_get(&m, PV_F_RESP_BODY)->len, want_len);
    else if (want_status == PV_HTTP_OK)
        assert_non_null(strstr(pv_proto_get(&m, PV_F_RESP_BODY)->value,
                               "\r\n\r\nk=v%26%3D"));
    else
        assert_null(pv_proto_get(&m, PV_F_RESP_BODY));
    assert_non_null(pv_proto_get(&m, PV_F_CONNECTS));
    pv_proto_clear(&m);
}

static void test_helper_direct(void **state)
{
    int fd;
    pid_t pid = run_helper(&fd);

    (void)state;
    send_setup(fd);
    direct(fd, "/ok", NULL, PV_HTTP_OK, 11);
    direct(fd, "/echo", "v&=", PV_HTTP_OK, SIZE_MAX);
    direct(fd, "/big", NULL, PV_HTTP_E_TOOBIG, 0);
    direct(fd, "/bigchunked", NULL, PV_HTTP_E_TOOBIG, 0);
    direct(fd, "/exact", NULL, PV_HTTP_OK, PV_HTTP_MAX_RESPONSE);
    direct(fd, "/redirect", NULL, PV_HTTP_OK, 0);
    assert_int_equal(helper_exit(pid, fd), 0);
}

/* ---- profiles, spoken to the helper by hand ----------------------------- */

static void send_setup_of(int fd, const char *profile, int twice)
{
    pv_proto_msg m;

    memset(&m, 0, sizeof(m));
    assert_int_equal(pv_proto_add_str(&m, PV_F_MSG, "setup"), 0);
    if (profile != NULL)
        assert_int_equal(pv_proto_add_str(&m, PV_F_PROFILE, profile), 0);
    if (twice)
        assert_int_equal(pv_proto_add_str(&m, PV_F_PROFILE, profile), 0);
    assert_int_equal(pv_proto_add_long(&m, PV_F_TIMEOUT, 2), 0);
    assert_int_equal(pv_proto_add_long(&m, PV_F_CONNECT_TIMEOUT, 2), 0);
    assert_int_equal(pv_proto_send(fd, &m, pv_monotonic_ms() + 2000), 0);
    pv_proto_clear(&m);
}

/* Send a request of profile to /ok; with answer, read the answer and
 * return its CONNECTS (it must echo seq and profile). */
static long request_of(int fd, const char *profile, long seq, int answer)
{
    pv_proto_msg m;
    char url[256];
    long echoed, conns;

    memset(&m, 0, sizeof(m));
    url_for(url, sizeof(url), "/ok");
    assert_int_equal(pv_proto_add_str(&m, PV_F_MSG, "request"), 0);
    assert_int_equal(pv_proto_add_long(&m, PV_F_SEQ, seq), 0);
    assert_int_equal(pv_proto_add_str(&m, PV_F_PROFILE, profile), 0);
    assert_int_equal(pv_proto_add_str(&m, PV_F_URL, url), 0);
    assert_int_equal(pv_proto_send(fd, &m, pv_monotonic_ms() + 2000), 0);
    pv_proto_clear(&m);
    if (!answer)
        return 0;
    assert_int_equal(pv_proto_recv(fd, &m, pv_monotonic_ms() + 5000), 0);
    assert_string_equal(pv_proto_get(&m, PV_F_STATUS)->value, "0");
    assert_string_equal(pv_proto_get(&m, PV_F_PROFILE)->value, profile);
    assert_int_equal(
        pv_parse_long(pv_proto_get(&m, PV_F_SEQ)->value, 1, LONG_MAX, &echoed),
        0);
    assert_int_equal(echoed, seq);
    assert_int_equal(pv_parse_long(pv_proto_get(&m, PV_F_CONNECTS)->value, 0,
                                   LONG_MAX, &conns),
                     0);
    pv_proto_clear(&m);
    return conns;
}

/* Two profiles set up at different points of the conversation; each
 * request is answered for its own profile, on its own connection. */
static void test_helper_profiles_direct(void **state)
{
    int fd;
    pid_t pid = run_helper(&fd);

    (void)state;
    send_setup_of(fd, "2", 0);
    assert_int_equal(request_of(fd, "2", 1, 1), 1);
    send_setup_of(fd, "1", 0); /* later, between requests */
    assert_int_equal(request_of(fd, "1", 2, 1), 1);
    assert_int_equal(request_of(fd, "2", 3, 1), 1); /* kept alive */
    assert_int_equal(request_of(fd, "1", 4, 1), 1);
    assert_int_equal(helper_exit(pid, fd), 0);
}

/* A request of a profile not set up, a profile set up twice, a profile
 * number out of range or not in canonical decimal: the helper exits
 * non-zero, without answering. */
static void test_helper_profile_violations(void **state)
{
    static const char *const bad[] = { "0", "5", "01", "+1", " 1", "1 ", "" };
    int fd;
    pid_t pid;

    (void)state;
    pid = run_helper(&fd); /* a request before any setup */
    request_of(fd, "1", 1, 0);
    assert_int_not_equal(helper_exit(pid, fd), 0);
    pid = run_helper(&fd); /* a request of another profile */
    send_setup_of(fd, "1", 0);
    request_of(fd, "2", 1, 0);
    assert_int_not_equal(helper_exit(pid, fd), 0);
    pid = run_helper(&fd); /* profile 1 set up again */
    send_setup_of(fd, "1", 0);
    assert_int_equal(request_of(fd, "1", 1, 1), 1);
    send_setup_of(fd, "1", 0);
    assert_int_not_equal(helper_exit(pid, fd), 0);
    pid = run_helper(&fd); /* a setup naming no profile */
    send_setup_of(fd, NULL, 0);
    assert_int_not_equal(helper_exit(pid, fd), 0);
    pid = run_helper(&fd); /* a setup naming it twice */
    send_setup_of(fd, "1", 1);
    assert_int_not_equal(helper_exit(pid, fd), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pid = run_helper(&fd);
        send_setup_of(fd, bad[i], 0);
        if (helper_exit(pid, fd) == 0)
            fail_msg("setup of profile \"%s\" accepted", bad[i]);
    }
}

/* ---- fake helpers speaking the protocol (item 5 of issue 9) ----------- */

struct wire {
    char b[2048];
    size_t n;
};

static void wire_field(struct wire *w, uint8_t tag, const char *v)
{
    size_t len = strlen(v);

    assert_true(w->n + 5 + len < sizeof(w->b));
    w->b[w->n++] = (char)tag;
    w->b[w->n++] = (char)(len >> 24);
    w->b[w->n++] = (char)(len >> 16);
    w->b[w->n++] = (char)(len >> 8);
    w->b[w->n++] = (char)len;
    memcpy(w->b + w->n, v, len);
    w->n += len;
}

static void wire_end(struct wire *w)
{
    wire_field(w, PV_F_END, "");
}

/* A well-formed answer: status 0, HTTP 200, body, request number seq. */
static void wire_answer(struct wire *w, const char *seq, const char *body)
{
    wire_field(w, PV_F_MSG, "response");
    wire_field(w, PV_F_SEQ, seq);
    wire_field(w, PV_F_PROFILE, "1");
    wire_field(w, PV_F_STATUS, "0");
    wire_field(w, PV_F_HTTP_CODE, "200");
    wire_field(w, PV_F_ELAPSED_MS, "1");
    wire_field(w, PV_F_CONNECTS, "1");
    wire_field(w, PV_F_RESP_BODY, body);
}

/* A shell line printing w's bytes (every byte as an octal escape). */
static void printf_line(char *out, size_t size, const struct wire *w)
{
    size_t o = 0;

    o += (size_t)snprintf(out + o, size - o, "printf '");
    for (size_t i = 0; i < w->n; i++)
        o += (size_t)snprintf(out + o, size - o, "\\%03o",
                              (unsigned char)w->b[i]);
    assert_true(o + 3 < size);
    snprintf(out + o, size - o, "'\n");
}

/* A fake helper: waits `wait1` (the setup and request arrive), prints
 * first, waits `wait2`, prints second (may be empty), then idles. */
static char *fake_helper(const struct wire *first, const char *wait2,
                         const struct wire *second)
{
    static char text[20000];
    char l1[9000], l2[9000] = "";

    printf_line(l1, sizeof(l1), first);
    if (second != NULL)
        printf_line(l2, sizeof(l2), second);
    snprintf(text, sizeof(text),
             "#!/bin/sh\n/bin/sleep 0.3\n%s"
             "/bin/sleep %s\n%sexec /bin/sleep 30\n",
             l1, wait2, l2);
    return write_script(text);
}

static enum pv_http_status post_with(const char *helper, pv_http_response *r)
{
    pv_http *h = new_http(3, helper);
    enum pv_http_status st = post(h, "/ok", r);

    done(h);
    return st;
}

/* The fake's answer format is right: one proper answer is accepted. */
static void test_fake_helper_baseline(void **state)
{
    struct wire w = { .n = 0 };
    pv_http_response r;
    char *script;

    (void)state;
    wire_answer(&w, "1", "{\"code\":0}");
    wire_end(&w);
    script = fake_helper(&w, "0", NULL);
    assert_int_equal(post_with(script, &r), PV_HTTP_OK);
    assert_string_equal(r.body, "{\"code\":0}");
    pv_http_response_clear(&r);
    unlink(script);
    free(script);
    assert_no_child();
}

/* Every way an answer can be not-the-answer is a local failure. */
static void test_fake_helper_violations(void **state)
{
    enum {
        WRONG_SEQ,
        TWO_ANSWERS,
        EXTRA_BYTES,
        DUP_FIELD,
        ODD_FIELD,
        NO_SEQ,
        WRONG_PROFILE,
        NO_PROFILE,
        N_CASES
    };
    pv_http_response r;

    (void)state;
    for (int c = 0; c < N_CASES; c++) {
        struct wire w = { .n = 0 };
        char *script;

        wire_answer(&w,
                    c == WRONG_SEQ ? "2"
                    : c == NO_SEQ  ? ""
                                   : "1",
                    "{\"code\":0}");
        if (c == DUP_FIELD)
            wire_field(&w, PV_F_STATUS, "0");
        if (c == ODD_FIELD)
            wire_field(&w, PV_F_URL, "https://x/");
        wire_end(&w);
        if (c == NO_SEQ) { /* drop the SEQ field: rebuild without it */
            w.n = 0;
            wire_field(&w, PV_F_MSG, "response");
            wire_field(&w, PV_F_STATUS, "0");
            wire_field(&w, PV_F_HTTP_CODE, "200");
            wire_field(&w, PV_F_ELAPSED_MS, "1");
            wire_field(&w, PV_F_CONNECTS, "1");
            wire_end(&w);
        }
        if (c == WRONG_PROFILE || c == NO_PROFILE) {
            /* the answer to request 1, but of another profile or none */
            w.n = 0;
            wire_field(&w, PV_F_MSG, "response");
            wire_field(&w, PV_F_SEQ, "1");
            if (c == WRONG_PROFILE)
                wire_field(&w, PV_F_PROFILE, "2");
            wire_field(&w, PV_F_STATUS, "0");
            wire_field(&w, PV_F_HTTP_CODE, "200");
            wire_field(&w, PV_F_ELAPSED_MS, "1");
            wire_field(&w, PV_F_CONNECTS, "1");
            wire_end(&w);
        }
        if (c == TWO_ANSWERS) {
            wire_answer(&w, "2", "{\"code\":0}");
            wire_end(&w);
        }
        if (c == EXTRA_BYTES)
            wire_field(&w, PV_F_MSG, "x");
        script = fake_helper(&w, "0", NULL);
        if (post_with(script, &r) != PV_HTTP_E_HELPER)
            fail_msg("case %d accepted", c);
        assert_null(r.body);
        pv_http_response_clear(&r);
        unlink(script);
        free(script);
    }
    assert_no_child();
}

/* The reported attack: the helper answers request 1 properly, then slips
 * in an unasked-for "success" before request 2 (the code check) is even
 * sent.  Request 2 must never see it: a wrong code never succeeds. */
static void test_unasked_answer_never_used(void **state)
{
    struct wire first = { .n = 0 }, smuggled = { .n = 0 };
    pv_http_response r;
    pv_http *h;
    char *script;

    (void)state;
    wire_answer(&first, "1", "{\"code\":0,\"sent\":true}");
    wire_end(&first);
    wire_answer(&smuggled, "2", "{\"code\":0,\"verified\":true}");
    wire_end(&smuggled);
    script = fake_helper(&first, "0.2", &smuggled);
    h = new_http(3, script);
    assert_int_equal(post(h, "/send", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    usleep(700 * 1000); /* the smuggled answer is waiting now */
    assert_int_equal(post(h, "/verify", &r), PV_HTTP_E_HELPER);
    assert_null(r.body);
    pv_http_response_clear(&r);
    done(h);
    unlink(script);
    free(script);
    assert_no_child();
}

/* ---- where the helper lives (item 1 of issue 9) ------------------------ */

static void copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ssize_t n;

    assert_true(in >= 0 && out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    assert_int_equal(fchmod(out, mode), 0);
    close(in);
    close(out);
}

/* A root-owned 0755 helper in a directory group or others may write is
 * refused before it is run, and so is one below such a directory. */
static void test_helper_in_writable_dir_refused(void **state)
{
    char dir[] = "/tmp/pv-test-gw-XXXXXX", sub[64], helper[96];
    pv_http_response r;
    static const mode_t modes[] = { 0775, 0757, 0777 };

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(helper, sizeof(helper), "%s/phoneverify-http", sub);
    copy_file(g_helper, helper, 0755);
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(post_with(helper, &r), PV_HTTP_OK); /* control */
    pv_http_response_clear(&r);
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        assert_int_equal(chmod(sub, modes[i]), 0);
        assert_int_equal(post_with(helper, &r), PV_HTTP_E_HELPER);
        pv_http_response_clear(&r);
        assert_int_equal(chmod(sub, 0755), 0);
        assert_int_equal(chmod(dir, modes[i]), 0);
        assert_int_equal(post_with(helper, &r), PV_HTTP_E_HELPER);
        pv_http_response_clear(&r);
        assert_int_equal(chmod(dir, 0755), 0);
    }
    unlink(helper);
    rmdir(sub);
    rmdir(dir);
    assert_no_child();
}

/* The reported exploit: an ordinary user owns the helper's directory and
 * swaps the (root-owned, 0755) helper with a program of their choosing
 * between check and exec, over and over (renameat2 RENAME_EXCHANGE).
 * Their program must never run. */
static void test_racing_swapper_never_runs(void **state)
{
    char dir[] = "/tmp/pv-test-race-XXXXXX", helper[96], evil[96];
    char mark[96], text[256];
    pv_http_response r;
    pid_t swapper;
    int ok = 0;

    (void)state;
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0777), 0); /* "the user's directory" */
    snprintf(helper, sizeof(helper), "%s/phoneverify-http", dir);
    snprintf(evil, sizeof(evil), "%s/evil", dir);
    snprintf(mark, sizeof(mark), "%s/pwned", dir);
    copy_file(g_helper, helper, 0755);
    snprintf(text, sizeof(text), "#!/bin/sh\n: > %s\n/bin/id > %s\n", mark,
             mark);
    {
        int fd = open(evil, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(fchmod(fd, 0755), 0);
        close(fd);
    }
    swapper = fork();
    assert_true(swapper >= 0);
    if (swapper == 0) {
        int64_t end = pv_monotonic_ms() + 20000; /* bounded */

        while (pv_monotonic_ms() < end)
            (void)syscall(SYS_renameat2, AT_FDCWD, helper, AT_FDCWD, evil,
                          RENAME_EXCHANGE);
        _exit(0);
    }
    for (int i = 0; i < 40; i++) {
        ok += post_with(helper, &r) == PV_HTTP_OK;
        pv_http_response_clear(&r);
    }
    kill(swapper, SIGKILL);
    assert_int_equal(waitpid(swapper, NULL, 0), swapper);
    assert_int_equal(ok, 0); /* the unsafe directory is always refused */
    if (access(mark, F_OK) == 0)
        fail_msg("the swapped-in program ran");
    unlink(helper);
    unlink(evil);
    rmdir(dir);
    assert_no_child();
}

/* DNS failure and a refused connection are told apart (issue 12). */
static void test_dns_distinct(void **state)
{
    pv_http *h = new_http(3, NULL);
    pv_http_request req;
    pv_http_response r;

    (void)state;
    memset(&req, 0, sizeof(req));
    req.url = "https://pv-test-nonexistent.invalid/";
    assert_int_equal(pv_http_post(h, &req, &r), -1);
    assert_int_equal(r.status, PV_HTTP_E_DNS);
    assert_string_equal(pv_http_status_name(r.status), "dns");
    pv_http_response_clear(&r);
    req.url = "http://127.0.0.1:1/";
    assert_int_equal(pv_http_post(h, &req, &r), -1);
    assert_int_equal(r.status, PV_HTTP_E_CONNECT);
    pv_http_response_clear(&r);
    done(h);
}

/* A CA directory cannot be handed to the unprivileged helper as data:
 * refused (a local failure), never silently replaced by the system CAs. */
static void test_capath_refused(void **state)
{
    pv_http_opts o;
    pv_http_response r;
    pv_http *h;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.helper = g_helper;
    o.timeout = 2;
    o.connect_timeout = 2;
    o.capath = "/etc/ssl/certs";
    h = g_h = pv_http_new(&o);
    assert_non_null(h);
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_E_HELPER);
    pv_http_response_clear(&r);
    done(h);
    assert_no_child();
}

static void test_misc(void **state)
{
    pv_http_response r;

    (void)state;
    pv_http_free(NULL);
    pv_http_response_clear(NULL);
    assert_int_equal(pv_http_connects(NULL), 0);
    assert_int_equal(pv_http_post(NULL, NULL, &r), -1);
    assert_int_equal(r.status, PV_HTTP_E_HELPER);
    assert_string_equal(pv_http_status_name(PV_HTTP_E_TOOBIG), "toobig");
    assert_string_equal(pv_http_status_name(PV_HTTP_OK), "ok");
}

/* ---- where a failure happened (helper/pv_curl_class.c) ----------------- */

/* The table row by row: only what the remote end or the network did is a
 * network status; every resource this host can run out of is local,
 * whichever curl code carries it (issue 17: EADDRNOTAVAIL from a port hog,
 * a resolver thread that RLIMIT_NPROC stopped). */
static void test_failure_table(void **state)
{
    static const struct {
        CURLcode rc;
        long os_errno;
        int toobig;
        enum pv_dns_check dns;
        enum pv_http_status want;
    } rows[] = {
        { CURLE_OK, 0, 0, PV_DNS_UNCHECKED, PV_HTTP_OK },
        /* the network */
        { CURLE_COULDNT_CONNECT, ECONNREFUSED, 0, 0, PV_HTTP_E_CONNECT },
        { CURLE_COULDNT_CONNECT, EHOSTUNREACH, 0, 0, PV_HTTP_E_CONNECT },
        { CURLE_COULDNT_CONNECT, ENETUNREACH, 0, 0, PV_HTTP_E_CONNECT },
        { CURLE_COULDNT_CONNECT, ETIMEDOUT, 0, 0, PV_HTTP_E_CONNECT },
        { CURLE_RECV_ERROR, ECONNRESET, 0, 0, PV_HTTP_E_CONNECT },
        { CURLE_RECV_ERROR, 0, 0, 0, PV_HTTP_E_CONNECT },
        { CURLE_SEND_ERROR, EPIPE, 0, 0, PV_HTTP_E_CONNECT },
        { CURLE_GOT_NOTHING, 0, 0, 0, PV_HTTP_E_CONNECT },
        { CURLE_OPERATION_TIMEDOUT, 0, 0, 0, PV_HTTP_E_TIMEOUT },
        { CURLE_COULDNT_RESOLVE_HOST, 0, 0, PV_DNS_NO_NAME, PV_HTTP_E_DNS },
        { CURLE_COULDNT_RESOLVE_PROXY, 0, 0, PV_DNS_NO_NAME, PV_HTTP_E_DNS },
        { CURLE_PEER_FAILED_VERIFICATION, 0, 0, 0, PV_HTTP_E_TLS },
        { CURLE_SSL_CONNECT_ERROR, 0, 0, 0, PV_HTTP_E_TLS },
        { CURLE_SSL_PINNEDPUBKEYNOTMATCH, 0, 0, 0, PV_HTTP_E_TLS },
        { CURLE_WRITE_ERROR, 0, 1, 0, PV_HTTP_E_TOOBIG },
        { CURLE_FILESIZE_EXCEEDED, 0, 0, 0, PV_HTTP_E_TOOBIG },
        { CURLE_WEIRD_SERVER_REPLY, 0, 0, 0, PV_HTTP_E_OTHER },
        { CURLE_PARTIAL_FILE, 0, 0, 0, PV_HTTP_E_OTHER },
        { CURLE_URL_MALFORMAT, 0, 0, 0, PV_HTTP_E_URL },
        /* this host: out of ports, buffers, memory, descriptors, threads */
        { CURLE_COULDNT_CONNECT, EADDRNOTAVAIL, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_CONNECT, EADDRINUSE, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_CONNECT, ENOBUFS, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_CONNECT, ENOMEM, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_CONNECT, EMFILE, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_CONNECT, ENFILE, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_CONNECT, EAGAIN, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_CONNECT, EPERM, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_CONNECT, 0, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_SEND_ERROR, ENOBUFS, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_RECV_ERROR, ENOMEM, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_OPERATION_TIMEDOUT, EMFILE, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_SSL_CONNECT_ERROR, ENOMEM, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_OUT_OF_MEMORY, 0, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_FAILED_INIT, 0, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_WRITE_ERROR, 0, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_SSL_CERTPROBLEM, 0, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_SSL_CACERT_BADFILE, 0, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_SSL_ENGINE_INITFAILED, 0, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_INTERFACE_FAILED, 0, 0, 0, PV_HTTP_E_LOCAL },
        { CURLE_ABORTED_BY_CALLBACK, 0, 0, 0, PV_HTTP_E_LOCAL },
        { (CURLcode)9999, 0, 0, 0, PV_HTTP_E_LOCAL }, /* unknown: closed */
        /* a name that did not resolve: only a DNS answer is the network */
        { CURLE_COULDNT_RESOLVE_HOST, 0, 0, PV_DNS_UNCHECKED,
          PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_RESOLVE_HOST, 0, 0, PV_DNS_RESOLVES, PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_RESOLVE_HOST, 0, 0, PV_DNS_LOCAL, PV_HTTP_E_LOCAL },
        { CURLE_COULDNT_RESOLVE_HOST, EAGAIN, 0, PV_DNS_NO_NAME,
          PV_HTTP_E_LOCAL },
    };
    static const struct {
        int gai;
        enum pv_dns_check want;
    } gai[] = {
        { 0, PV_DNS_RESOLVES },        { EAI_NONAME, PV_DNS_NO_NAME },
        { EAI_FAIL, PV_DNS_NO_NAME },  { EAI_AGAIN, PV_DNS_LOCAL },
        { EAI_SYSTEM, PV_DNS_LOCAL },  { EAI_MEMORY, PV_DNS_LOCAL },
        { EAI_SERVICE, PV_DNS_LOCAL }, { 12345, PV_DNS_LOCAL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        enum pv_http_status got = pv_curl_classify(
            rows[i].rc, rows[i].os_errno, rows[i].toobig, rows[i].dns);

        if (got != rows[i].want)
            fail_msg("row %zu: curl %d errno %ld: %s, want %s", i,
                     (int)rows[i].rc, rows[i].os_errno,
                     pv_http_status_name(got),
                     pv_http_status_name(rows[i].want));
    }
    for (size_t i = 0; i < sizeof(gai) / sizeof(gai[0]); i++)
        assert_int_equal(pv_dns_check_of(gai[i].gai), gai[i].want);
    /* what the rest of the module reads as local */
    assert_true(pv_http_status_is_local(PV_HTTP_E_LOCAL));
    assert_true(pv_http_status_is_local(PV_HTTP_E_HELPER));
    assert_true(pv_http_status_is_local((enum pv_http_status)99));
    assert_false(pv_http_status_is_local(PV_HTTP_OK));
    assert_false(pv_http_status_is_local(PV_HTTP_E_DNS));
    assert_false(pv_http_status_is_local(PV_HTTP_E_CONNECT));
    assert_false(pv_http_status_is_local(PV_HTTP_E_TIMEOUT));
    assert_false(pv_http_status_is_local(PV_HTTP_E_TLS));
    assert_string_equal(pv_http_status_name(PV_HTTP_E_LOCAL), "local");
}

/* The pid of our one helper (a direct child running it). */
static pid_t helper_child(void)
{
    char path[64], buf[4096];
    pid_t found = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)getpid(),
             (int)getpid());
    f = fopen(path, "re");
    if (f == NULL)
        return -1;
    if (fgets(buf, sizeof(buf), f) != NULL) {
        for (char *p = strtok(buf, " \n"); p != NULL;
             p = strtok(NULL, " \n")) {
            char exe[PATH_MAX], link[64];
            ssize_t n;

            snprintf(link, sizeof(link), "/proc/%s/exe", p);
            n = readlink(link, exe, sizeof(exe) - 1);
            if (n > 0) {
                exe[n] = '\0';
                if (strstr(exe, "phoneverify-http") != NULL)
                    found = (pid_t)atoi(p);
            }
        }
    }
    fclose(f);
    return found;
}

/* A process of the helper's user (here root, the test) stops the helper
 * while the server is slow and lets it go on after libcurl's timeout:
 * the helper then says "timeout", which it never saw on the network.  Any
 * stop of the helper makes the answer local. */
static void test_stopped_helper_is_local(void **state)
{
    pv_http *h = new_http(1, NULL);
    pv_http_response r;
    pid_t helper, pid;
    int st;

    (void)state;
    assert_int_equal(post(h, "/ok", &r), PV_HTTP_OK); /* helper running */
    pv_http_response_clear(&r);
    helper = helper_child();
    assert_true(helper > 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        usleep(200000); /* the request is out, libcurl waits */
        kill(helper, SIGSTOP);
        usleep(1500000); /* past the 1 s timeout */
        kill(helper, SIGCONT);
        _exit(0);
    }
    assert_int_equal(post(h, "/hang", &r), PV_HTTP_E_LOCAL);
    pv_http_response_clear(&r);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_int_equal(post(h, "/hang", &r), PV_HTTP_E_TIMEOUT); /* no stop */
    pv_http_response_clear(&r);
    done(h);
    assert_no_child();
}

/* ---- one helper, two views (issue 20 item 3) --------------------------- */

/* The etcd backend's view next to the provider's, as pv_state_open_shared
 * makes it: other timeouts, same helper program and user. */
static pv_http *second_view(pv_http *base, long timeout)
{
    pv_http_opts o;

    memset(&o, 0, sizeof(o));
    o.helper = g_helper;
    o.helper_user = real_helper_user();
    o.timeout = timeout;
    o.connect_timeout = timeout;
    g_h2 = pv_http_view_new(base, &o);
    assert_non_null(g_h2);
    return g_h2;
}

/* Until pid (our child, not reaped) is a zombie: bounded. */
static void wait_dead(pid_t pid)
{
    siginfo_t si;

    for (int i = 0; i < 500; i++) {
        memset(&si, 0, sizeof(si));
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT | WNOHANG) == 0 &&
            si.si_pid == pid)
            return;
        usleep(10000);
    }
    fail_msg("helper %d did not die", (int)pid);
}

static int children(void)
{
    int n;

    (void)other_child(&n);
    return n;
}

/* Requests of both views, interleaved, go through ONE helper process, and
 * each view keeps its own connection (its own easy handle in the helper:
 * the second view's first request to the same host opens a connection
 * of its own instead of reusing the first view's). */
static void test_two_views_one_helper(void **state)
{
    pv_http *p = new_http(5, NULL), *e = second_view(p, 2);
    pv_http_response r;

    (void)state;
    assert_true(pv_http_shares_helper(p, e));
    assert_int_equal(pv_http_helper_starts(p), 0); /* lazily */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(post(e, "/ok", &r), PV_HTTP_OK);
        assert_string_equal(r.body, "{\"ok\":true}");
        pv_http_response_clear(&r);
        assert_int_equal(post(p, "/echo", &r), PV_HTTP_OK);
        assert_non_null(strstr(r.body, "POST /echo "));
        pv_http_response_clear(&r);
        assert_int_equal(children(), 1);
    }
    assert_int_equal(pv_http_helper_starts(p), 1);
    assert_int_equal(pv_http_helper_starts(e), 1);
    assert_int_equal(pv_http_connects(p), 1);
    assert_int_equal(pv_http_connects(e), 1);
    /* freed in either order: the helper ends with the last view */
    done(p);
    assert_int_equal(children(), 1);
    assert_int_equal(post(e, "/ok", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    pv_http_free(e);
    g_h2 = NULL;
    assert_no_child();
}

/* Another helper program or helper user cannot share: two helpers, as
 * before (each must run as what its own settings say). */
static void test_views_that_cannot_share(void **state)
{
    pv_http *p = new_http(5, NULL);
    pv_http_opts o;
    pv_http *v;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.helper = g_helper;
    /* a user other than the one p's helper runs as (root under valgrind) */
    o.helper_user =
        strcmp(real_helper_user(), "root") == 0 ? "daemon" : "root";
    o.timeout = 2;
    v = pv_http_view_new(p, &o);
    assert_non_null(v);
    assert_false(pv_http_shares_helper(p, v));
    pv_http_free(v);
    o.helper_user = real_helper_user();
    o.helper = "/bin/cat";
    v = pv_http_view_new(p, &o);
    assert_false(pv_http_shares_helper(p, v));
    pv_http_free(v);
    v = pv_http_view_new(NULL, &o); /* no base: a helper of its own */
    assert_non_null(v);
    assert_false(pv_http_shares_helper(p, v));
    pv_http_free(v);
    done(p);
}

/* The helper is killed for one view (stopped past that view's deadline:
 * E_HELPER, local).  The other view's next request neither hangs nor
 * reads anything of the killed helper: it starts a new one, sets it up
 * and gets its own answer; so does the first view.  A helper that died
 * between requests likewise. */
static void test_killed_for_one_view_other_view_goes_on(void **state)
{
    pv_http *p = new_http(5, NULL), *e = second_view(p, 1);
    pv_http_response r;
    pid_t helper;

    (void)state;
    assert_int_equal(post(p, "/ok", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    assert_int_equal(post(e, "/ok", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    helper = helper_child();
    assert_true(helper > 0);
    assert_int_equal(kill(helper, SIGSTOP), 0); /* stuck for good */
    /* returns (at the view's deadline), never waits for the helper */
    assert_int_equal(post(e, "/ok", &r), PV_HTTP_E_HELPER);
    assert_null(r.body);
    pv_http_response_clear(&r);
    assert_no_child(); /* killed and reaped, for both views */
    assert_int_equal(post(p, "/echo", &r), PV_HTTP_OK);
    assert_non_null(strstr(r.body, "POST /echo ")); /* its own answer */
    pv_http_response_clear(&r);
    assert_int_equal(pv_http_helper_starts(p), 2);
    assert_int_equal(post(e, "/ok", &r), PV_HTTP_OK);
    assert_string_equal(r.body, "{\"ok\":true}");
    pv_http_response_clear(&r);
    assert_int_equal(pv_http_helper_starts(e), 2);
    /* died between requests (OOM killer, idle limit) */
    helper = helper_child();
    assert_true(helper > 0);
    assert_int_equal(kill(helper, SIGKILL), 0);
    wait_dead(helper);
    assert_int_equal(post(e, "/ok", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    assert_int_equal(post(p, "/ok", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    assert_int_equal(pv_http_helper_starts(p), 3);
    assert_int_equal(children(), 1);
    /* each view counted its connections over the three helpers */
    assert_int_equal(pv_http_connects(p), 3);
    assert_int_equal(pv_http_connects(e), 3);
    done(p);
    pv_http_free(e);
    g_h2 = NULL;
    assert_no_child();
}

/* A view with a setting refused on this side (capath) fails locally
 * without touching the helper the other view uses. */
static void test_refused_view_leaves_the_other_alone(void **state)
{
    pv_http *p = new_http(5, NULL);
    pv_http_opts o;
    pv_http_response r;

    (void)state;
    memset(&o, 0, sizeof(o));
    o.helper = g_helper;
    o.helper_user = real_helper_user();
    o.timeout = 2;
    o.capath = "/etc/ssl/certs";
    g_h2 = pv_http_view_new(p, &o);
    assert_true(pv_http_shares_helper(p, g_h2));
    assert_int_equal(post(p, "/ok", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    assert_int_equal(post(g_h2, "/ok", &r), PV_HTTP_E_HELPER);
    pv_http_response_clear(&r);
    assert_int_equal(post(p, "/ok", &r), PV_HTTP_OK);
    pv_http_response_clear(&r);
    assert_int_equal(pv_http_helper_starts(p), 1);
    assert_int_equal(pv_http_connects(p), 1);
    done(p);
    pv_http_free(g_h2);
    g_h2 = NULL;
    assert_no_child();
}

/* Another process of the helper's user changes the helper's limits or
 * priority during a request (prlimit(2), setpriority(2) need only the
 * same uid): whatever libcurl then says is local. */
/* The valgrind pass (pvt_under_valgrind): valgrind runs a child's exec
 * itself, opening the program by path as the new user (an execute-only
 * file cannot be read) and keeping its own view of the limits, so what
 * the kernel does at exec (dumpability, limits, threads under the child's
 * own uid) is checked in the plain and ASan passes. */

static void test_changed_limits_are_local(void **state)
{
    (void)state;
    if (pvt_under_valgrind())
        skip(); /* plain and ASan passes: see pvt_under_valgrind() */
    if (geteuid() != 0) {
        print_message("root needed: the helper runs as nobody\n");
        skip();
    }
    for (int how = 0; how < 2; how++) {
        pv_http *h = new_http(1, NULL);
        pv_http_response r;
        pid_t helper, pid;
        int st;

        assert_int_equal(post(h, "/ok", &r), PV_HTTP_OK);
        pv_http_response_clear(&r);
        helper = helper_child();
        assert_true(helper > 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            struct passwd *pw = getpwnam("nobody");
            struct rlimit rl = { 63, 63 };

            if (pw == NULL || setgroups(0, NULL) != 0 ||
                setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
                setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
                _exit(2);
            usleep(200000); /* the request is out */
            if (how == 0 ? prlimit(helper, RLIMIT_NOFILE, &rl, NULL) != 0
                         : setpriority(PRIO_PROCESS, (id_t)helper, 5) != 0)
                _exit(3);
            _exit(0);
        }
        assert_int_equal(post(h, "/hang", &r), PV_HTTP_E_LOCAL);
        pv_http_response_clear(&r);
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
        done(h);
    }
    assert_no_child();
}

/* A name this host resolves through its files (not libcurl's built-in
 * "localhost"): libcurl starts its resolver thread for it.  NULL: none. */
static const char *resolvable_name(char *buf, size_t size)
{
    struct addrinfo *res = NULL;

    if (gethostname(buf, size) != 0 || buf[0] == '\0' ||
        strchr(buf, '.') != NULL || getaddrinfo(buf, NULL, NULL, &res) != 0)
        return NULL;
    freeaddrinfo(res);
    return buf;
}

/* issue 17, item 1: `ulimit -u 1` before su.  With RLIMIT_NPROC used up
 * (a hard limit that root without CAP_SYS_RESOURCE cannot raise, or an
 * earlier helper's fork bomb) libcurl cannot start its resolver thread;
 * that is this host, not a DNS outage.  Run as a uid of its own that has
 * no other process (as an unprivileged module would: the helper runs as
 * ourselves), with room for us and the helper and not one thread more. */
static void test_resolver_thread_refused_is_local(void **state)
{
    char name[256], url[400];
    pid_t pid;
    int st;

    (void)state;
    if (pvt_under_valgrind())
        skip(); /* plain and ASan passes: see pvt_under_valgrind() */
    if (geteuid() != 0 || resolvable_name(name, sizeof(name)) == NULL) {
        print_message("root and a host name in /etc/hosts needed\n");
        skip();
    }
    snprintf(url, sizeof(url), "https://%s:1/", name);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit two = { 2, 2 };
        uid_t lone = 54321;
        pv_http_opts o;
        pv_http_request req;
        pv_http_response r;
        pv_http *h;

        memset(&o, 0, sizeof(o));
        o.helper = g_helper; /* 0711: others may run it */
        o.timeout = 3;
        o.connect_timeout = 3;
        memset(&req, 0, sizeof(req));
        req.url = url;
        if (setgroups(0, NULL) != 0 || setresgid(lone, lone, lone) != 0 ||
            setresuid(lone, lone, lone) != 0 ||
            setrlimit(RLIMIT_NPROC, &two) != 0 ||
            (h = pv_http_new(&o)) == NULL)
            _exit(2);
        (void)pv_http_post(h, &req, &r);
        pv_http_free(h);
        if (r.status != PV_HTTP_E_LOCAL)
            fprintf(stderr, "status %s\n", pv_http_status_name(r.status));
        _exit(r.status == PV_HTTP_E_LOCAL ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_round_trip_headers, test_teardown),
        cmocka_unit_test_teardown(test_extra_header_refused, test_teardown),
        cmocka_unit_test_teardown(test_header_injection, test_teardown),
        cmocka_unit_test_teardown(test_form, test_teardown),
        cmocka_unit_test_teardown(test_connection_reuse, test_teardown),
        cmocka_unit_test_teardown(test_redirect_not_followed, test_teardown),
        cmocka_unit_test_teardown(test_too_big, test_teardown),
        cmocka_unit_test_teardown(test_timeout, test_teardown),
        cmocka_unit_test_teardown(test_url_refused, test_teardown),
        cmocka_unit_test_teardown(test_loopback_forms_allowed, test_teardown),
        cmocka_unit_test_teardown(test_helper_missing, test_teardown),
        cmocka_unit_test_teardown(test_configured_proxy, test_teardown),
        cmocka_unit_test_teardown(test_helper_nonsense, test_teardown),
        cmocka_unit_test_teardown(test_helper_silent, test_teardown),
        cmocka_unit_test_teardown(test_environment_ignored, test_teardown),
        cmocka_unit_test_teardown(test_sigchld_ignored, test_teardown),
        cmocka_unit_test_teardown(test_helper_garbage, test_teardown),
        cmocka_unit_test_teardown(test_helper_direct, test_teardown),
        cmocka_unit_test_teardown(test_helper_profiles_direct, test_teardown),
        cmocka_unit_test_teardown(test_helper_profile_violations,
                                  test_teardown),
        cmocka_unit_test_teardown(test_fake_helper_baseline, test_teardown),
        cmocka_unit_test_teardown(test_fake_helper_violations, test_teardown),
        cmocka_unit_test_teardown(test_unasked_answer_never_used,
                                  test_teardown),
        cmocka_unit_test_teardown(test_helper_in_writable_dir_refused,
                                  test_teardown),
        cmocka_unit_test_teardown(test_racing_swapper_never_runs,
                                  test_teardown),
        cmocka_unit_test_teardown(test_dns_distinct, test_teardown),
        cmocka_unit_test_teardown(test_capath_refused, test_teardown),
        cmocka_unit_test_teardown(test_misc, test_teardown),
        cmocka_unit_test(test_failure_table),
        cmocka_unit_test_teardown(test_stopped_helper_is_local, test_teardown),
        cmocka_unit_test_teardown(test_two_views_one_helper, test_teardown),
        cmocka_unit_test_teardown(test_views_that_cannot_share, test_teardown),
        cmocka_unit_test_teardown(test_killed_for_one_view_other_view_goes_on,
                                  test_teardown),
        cmocka_unit_test_teardown(test_refused_view_leaves_the_other_alone,
                                  test_teardown),
        cmocka_unit_test_teardown(test_changed_limits_are_local,
                                  test_teardown),
        cmocka_unit_test(test_resolver_thread_refused_is_local),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
