"""Helpers of test_hardening.py (kept apart from pvtest.py/conftest.py).

- PAM clients started outside pexpect: many pamtester processes at once,
  and tests/pamapp/pv_pamapp.c (one process, many logins);
- the per-user state record (`phoneverify status`, the record file);
- the environment those clients get: Login.env() plus the sanitizer
  contract of mk/sanitize.mk (PV_TEST_PRELOAD first in LD_PRELOAD, the
  *SAN_OPTIONS and PAM_WRAPPER_DISABLE_DEEPBIND passed through).
"""

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from pvtest import BUILD, REPO, STARTED_PIDS, TIME_SCALE, parse_records, \
    parse_syslog

CLI = BUILD / "phoneverify"
PAMAPP_SRC = REPO / "tests" / "pamapp" / "pv_pamapp.c"

# copied from the test's environment into the PAM client's (sanitize.mk)
PASS_THROUGH = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                "PYTHONMALLOC", "PAM_WRAPPER_DISABLE_DEEPBIND")

STATUS_RE = re.compile(r"^(?P<user>.*): (?P<locked>LOCKED|not locked), "
                       r"(?P<n>\d+) recent failure\(s\)", re.M)


def client_env(login, extra=None, debuglevel=2):
    """The environment of a PAM client for this world.  PV_TEST_PRELOAD
    (e.g. the ASan runtime) goes first in LD_PRELOAD, once."""
    env = login.env(debuglevel)
    pre = os.environ.get("PV_TEST_PRELOAD", "").split()
    libs = env.get("LD_PRELOAD", "").split()
    env["LD_PRELOAD"] = " ".join([p for p in pre if p not in libs] + libs)
    for k in PASS_THROUGH:
        if k in os.environ and k not in env:
            env[k] = os.environ[k]
    if extra:
        env.update(extra)
    return env


def wrapper():
    return shlex.split(os.environ.get("PV_TEST_WRAPPER", ""))


def write_world(login, service="sshd", stack="single"):
    login.write_conf()
    login.write_service(service, stack)


# ---------------------------------------------------------------------------
# many pamtester processes at once
# ---------------------------------------------------------------------------

# pam_wrapper copies the service directory to /tmp/pam.X (/tmp/pNm.X in
# xdist worker N, tests/lib/pwrap.py), X a character it picks at random
# and moves on from when taken.  A batch keeps at most this many of its
# clients alive together, starting the next as one ends: still many logins
# racing on one state record, and few names in use at once.  A client
# whose directory could not be set up (every name it tried was taken, or a
# stale-copy check of a neighbour removed it under it) never reached the
# module: pam_wrapper says "Failed to create", or never says it
# initialised, and there is no record.  It is run again.
MAX_CONCURRENT = 10
NO_PAM_DIR = "Failed to create pam_wrapper config dir"
PAM_DIR_OK = "Successfully initialized pam_wrapper"
MAX_RERUNS = 50


class Batch:
    """pamtester processes for the same world, MAX_CONCURRENT at a time;
    stdin holds the answers (a pipe: misc_conv reads it like a terminal
    line)."""

    def __init__(self, login, users, answers, service="sshd",
                 rhost="203.0.113.9", max_concurrent=MAX_CONCURRENT):
        write_world(login, service)
        self.env = client_env(login)
        self.argvs = [wrapper() + ["pamtester", "-v", "-I", "rhost=%s" % rhost,
                                   service, user, "authenticate"]
                      for user in users]
        self.answers = "".join(a + "\n" for a in answers).encode()
        self.max_concurrent = max(1, max_concurrent)
        self.peak = 0                   # most clients alive at once
        self.reruns = 0                 # clients pam_wrapper could not set up

    def _start(self, argv):
        p = subprocess.Popen(argv, env=self.env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        STARTED_PIDS.add(p.pid)
        try:
            p.stdin.write(self.answers)
            p.stdin.close()
        except BrokenPipeError:
            pass
        p.stdin = None                  # communicate() must not touch it
        return p

    @staticmethod
    def _collect(p, deadline):
        try:
            data, _ = p.communicate(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            data, _ = p.communicate()
            data += b"\n<killed: timeout>"
        return (p.returncode, data.decode("utf-8", "replace"))

    def finish(self, timeout):
        """[(rc, output)] in the order of users."""
        deadline = time.monotonic() + timeout
        results = [None] * len(self.argvs)
        running = {}                    # index -> Popen
        queue = list(enumerate(self.argvs))
        while queue or running:
            while queue and len(running) < self.max_concurrent:
                i, argv = queue.pop(0)
                running[i] = self._start(argv)
            self.peak = max(self.peak, len(running))
            done = [i for i, p in running.items() if p.poll() is not None]
            if not done and time.monotonic() >= deadline:
                done = list(running)    # _collect kills what is left
            for i in done:
                results[i] = self._collect(running.pop(i), deadline)
                # again only when the module never ran (no record): a
                # client that logged in and then lost its directory to a
                # neighbour's cleanup has sent its code already
                out = results[i][1]
                if ((NO_PAM_DIR in out or PAM_DIR_OK not in out)
                        and self.reruns < MAX_RERUNS
                        and not records_of(out)):
                    self.reruns += 1
                    queue.append((i, self.argvs[i]))
            if not done:
                time.sleep(0.01)
        return results


def records_of(text):
    return parse_records(parse_syslog(text.replace("\r\n", "\n")))


# ---------------------------------------------------------------------------
# the state record
# ---------------------------------------------------------------------------

def record_path(login, user):
    """pv_state_file.c: "u-" + the name ([A-Za-z0-9_-] kept)."""
    assert re.fullmatch(r"[A-Za-z0-9_-]+", user), user
    return Path(login.state_dir) / ("u-" + user)


def file_failures(login, user):
    """`fail <epoch>` lines in the user's record (0 when none)."""
    p = record_path(login, user)
    if not p.exists():
        return 0
    return sum(1 for line in p.read_text().split("\n")
               if line.startswith("fail "))


def cli_status(login, user):
    """(locked, failures) as `phoneverify --conf CONF status USER` says."""
    if not CLI.exists():
        raise AssertionError("%s not built: run `make all`" % CLI)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C", "LC_ALL": "C"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if k in os.environ:
            env[k] = os.environ[k]
    # the test world's passwd (nss_wrapper): helper_user must exist there
    env.update({k: v for k, v in login.env().items()
                if k.startswith("NSS_WRAPPER") or k == "LD_PRELOAD"})
    r = subprocess.run([str(CLI), "--conf", str(login.conf_path), "status",
                        user], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30 * TIME_SCALE)
    text = r.stdout.decode("utf-8", "replace")
    m = STATUS_RE.search(text)
    assert r.returncode == 0 and m, "phoneverify status: rc=%d\n%s" % (
        r.returncode, text)
    return m.group("locked") == "LOCKED", int(m.group("n"))


# ---------------------------------------------------------------------------
# tests/pamapp/pv_pamapp.c
# ---------------------------------------------------------------------------

def build_pamapp(dest):
    """$PV_PAMAPP when set, else BUILD/pv_pamapp when newer than its source,
    else compile the source into dest."""
    given = os.environ.get("PV_PAMAPP")
    if given:
        return Path(given)
    built = BUILD / "pv_pamapp"
    if built.exists() and built.stat().st_mtime >= PAMAPP_SRC.stat().st_mtime:
        return built
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise AssertionError("no C compiler (%s) to build %s" % (cc, PAMAPP_SRC))
    out = Path(dest) / "pv_pamapp"
    r = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra",
                        "-Werror", "-O1", "-g", "-o", str(out),
                        str(PAMAPP_SRC), "-lpam"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert r.returncode == 0, "building pv_pamapp failed:\n%s" % r.stdout.decode()
    return out


class PamappResult:
    def __init__(self, rc, stdout, stderr, elapsed):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.results = [line.split(" ", 1)[1] for line in stdout.split("\n")
                        if re.fullmatch(r"\d+ PAM_\w+", line)]

    def __str__(self):
        return ("rc=%r elapsed=%.1fs results=%r\n---- stdout ----\n%s\n"
                "---- stderr (last 4000 chars) ----\n%s" % (
                    self.rc, self.elapsed, sorted(set(self.results)),
                    self.stdout[-2000:], self.stderr[-4000:]))

    __repr__ = __str__


def run_pamapp(app, login, n, user="alice", answer="000000", extra_env=None,
               debuglevel=1, timeout=120):
    write_world(login)
    env = client_env(login, extra_env, debuglevel=debuglevel)
    env["PV_PAMAPP_ANSWER"] = answer
    t0 = time.monotonic()
    p = subprocess.Popen([str(app), "sshd", user, str(n), "203.0.113.9"],
                         env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    STARTED_PIDS.add(p.pid)
    try:
        out, err = p.communicate(timeout=timeout * TIME_SCALE)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        err += b"\n<killed: timeout>"
    return PamappResult(p.returncode, out.decode("utf-8", "replace"),
                        err.decode("utf-8", "replace"),
                        time.monotonic() - t0)
