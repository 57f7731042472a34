"""Helpers of the pam_phoneverify integration harness (see conftest.py).

Runs the real module (build/pam_phoneverify.so) and its helper
(build/phoneverify-http) through pamtester under pam_wrapper + nss_wrapper,
against the local provider simulator (scripts/phoneverify-sim), without
touching /etc or the system's PAM configuration.  See README.md.

Over HTTP by default; `--pv-tls` (or PV_TEST_TLS=1) switches the whole suite
to HTTPS with a CA and server certificate generated at test time.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pexpect
import pytest

# The simulator plumbing shared with tests/cli and tests/e2e
# (tests/lib/pvsim.py, importable through tests/conftest.py), re-exported
# from here.

from pvsim import (NO_LIMITS, PYTHON, SIM, Sim,  # noqa: E402,F401
                   SimServer, _openssl, closed_port, free_port, fresh_client,
                   make_ca, make_server_cert, second_sim, serve, wrong_code)
import pwrap  # noqa: E402  (tests/lib: pam_wrapper per xdist worker)

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PV_BUILD") or (REPO / "build")).resolve()
MODULE = BUILD / "pam_phoneverify.so"
HELPER = BUILD / "phoneverify-http"
PAMCONV = Path(__file__).resolve().parent / "pamconv.py"

SEND_AUTH = "bearer:sim-send-token"
VERIFY_AUTH = "basic:sim-user:sim-secret"
PRECHECK_AUTH = "bearer:sim-precheck-token"
NV_LICENCE = "SIM-LICENCE"

# Every test uses these short network limits so that fault tests are fast.
TIMEOUT = 2
CONNECT_TIMEOUT = 1
# Optional command prefix for the PAM client (e.g. valgrind), and a factor
# for the time bounds when running under such a tool.
RUNNER = shlex.split(os.environ.get("PV_TEST_WRAPPER")
                     or os.environ.get("PV_TEST_RUNNER", ""))
# Extra libraries (the ASan runtime) preloaded before the wrappers, and the
# sanitizer settings passed through to the PAM client (mk/sanitize.mk).
PRELOAD_EXTRA = os.environ.get("PV_TEST_PRELOAD", "").split()
# this process's pam_wrapper (a copy of its own in each xdist worker)
PAM_WRAPPER_LIB = pwrap.preload(BUILD)
PASSENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "PYTHONMALLOC",
           "PAM_WRAPPER_DISABLE_DEEPBIND")
TIME_SCALE = float(os.environ.get("PV_TEST_TIME_SCALE", "1"))
# SPEC: a fault must end in its failmode outcome within timeout + 2 s.
FAULT_BOUND = (TIMEOUT + 2.0) * TIME_SCALE

DEFAULT_PROMPT = "Verification code sent to %p: "

# ---------------------------------------------------------------------------
# The users of the test world (nss_wrapper passwd/group + users file).
# ---------------------------------------------------------------------------

# name -> (uid, primary gid, gecos, phone in the users file or None, name,
#          email)
USERS = {
    "root":   (0, 0, "root", None, None, None),
    "nobody": (65534, 65534, "nobody", None, None, None),
    # the helper's and the lookup command's users of their own, as
    # `make install` and the package create them (uids no other process on
    # the test host has)
    "_phoneverify": (64990, 64990, "pam_phoneverify network helper", None,
                     None, None),
    "_phoneverify-lookup": (64991, 64991, "pam_phoneverify lookup command",
                            None, None, None),
    "alice":  (1001, 1001, "Alice Liddell,Room 1,,,+8613800138000",
               "+86 13800138000", "Alice Liddell", "alice@example.org"),
    # bob's users-file number has no space after the country code
    "bob":    (1002, 1002, "Bob Builder,Room 2,,,+8613900139000",
               "+8613900139000", "Bob Builder", None),
    "carol":  (1003, 1003, "Carol Danvers,Room 3,,,+8613700137000",
               "+86 13700137000", "Carol Danvers", None),
    # in passwd, but neither the users file nor GECOS has a phone for dave
    "dave":   (1004, 1004, "Dave Nophone,Room 4,,,", None, None, None),
    # phone only in GECOS (field 5, "other"), not in the users file
    "erin":   (1005, 1005, "Erin Gecos,Room 5,,,+8613600136000", None, None,
               None),
    # in wheel only through his primary gid (not listed as a member)
    "frank":  (1006, 10, "Frank Primary,Room 6,,,", "+86 13300133000",
               "Frank Primary", None),
}
# mallory is in the users file but NOT in passwd (cannot be resolved);
# "ghost" is nowhere at all.
EXTRA_USERS_FILE_LINES = ["mallory:+86 13500135000:Mallory Unknown"]

GROUPS = {  # name -> (gid, listed members)
    "root": (0, []),
    "wheel": (10, ["alice", "carol"]),
    "staff": (50, ["alice", "bob", "dave", "erin"]),
    "nomfa": (60, ["carol"]),
    "nogroup": (65534, []),
}

PHONES = {  # user -> (spaced form the send API sees, national number)
    "alice": ("+86 13800138000", "13800138000"),
    "bob": ("+86 13900139000", "13900139000"),
    "carol": ("+86 13700137000", "13700137000"),
    "erin": ("+86 13600136000", "13600136000"),
    "frank": ("+86 13300133000", "13300133000"),
    "mallory": ("+86 13500135000", "13500135000"),
}


def masked_prompt(user):
    """`+86 *******8000` as shown in the prompt."""
    spaced, national = PHONES[user]
    cc = spaced.split(" ")[0]
    return "%s %s%s" % (cc, "*" * (len(national) - 4), national[-4:])


def masked_log(user):
    """`+86*******8000` as shown in the log record."""
    return masked_prompt(user).replace(" ", "")


def snapshot_artifacts(dest):
    """Copy the module and the helper out of the build directory so that a
    rebuild while the suite runs cannot hand a test a half-written file.
    The helper is execute-only (0711), as installed (doc/security.md).
    Returns (module, helper)."""
    for f in (MODULE, HELPER):
        if not f.exists():
            pytest.fail("%s not built: run `make all` (or set PV_BUILD)" % f)
    out = []
    for f in (MODULE, HELPER):
        tmp = dest / (f.name + ".tmp")
        shutil.copyfile(f, tmp)
        os.chmod(tmp, 0o711 if f == HELPER else 0o755)
        os.rename(tmp, dest / f.name)
        out.append(dest / f.name)
    return tuple(out)


# ---------------------------------------------------------------------------
# Running the module
# ---------------------------------------------------------------------------

SYSLOG_RE = re.compile(r"PWRAP_(\w+)\[[^\]]*\] - SYSLOG\((\d+)\): ?(.*)$")
KV_RE = re.compile(r"(?:^|\s)([a-z_]+)=(\S*)")
PAMTESTER_RE = re.compile(r"^pamtester: (.*)$", re.M)


def parse_syslog(text):
    """[(priority, message)] of every pam_syslog line pam_wrapper printed."""
    out = []
    for line in text.split("\n"):
        m = SYSLOG_RE.search(line)
        if m:
            out.append((int(m.group(2)), m.group(3).rstrip("\r")))
    return out


def parse_records(syslog):
    """The module's decision records: lines with both outcome= and pam=,
    parsed into dicts (plus '_prio')."""
    recs = []
    for prio, msg in syslog:
        if " outcome=" in " " + msg and " pam=" in " " + msg:
            d = {k: v for k, v in KV_RE.findall(msg)}
            d["_prio"] = prio
            d["_line"] = msg
            recs.append(d)
    return recs


class Result:
    def __init__(self, rc, transcript, elapsed, since_answer, prompts, events):
        self.rc = rc
        self.transcript = transcript
        self.elapsed = elapsed            # whole pamtester run, seconds
        self.since_answer = since_answer  # from the last answer to exit
        self.prompts = prompts            # prompt texts seen
        self.events = events              # what the test typed, for debugging
        self.syslog = parse_syslog(transcript)
        self.records = parse_records(self.syslog)
        msgs = PAMTESTER_RE.findall(transcript)
        self.pam_message = msgs[-1].strip() if msgs else None

    @property
    def record(self):
        assert len(self.records) == 1, \
            "expected exactly one decision record, got %d:\n%s" % (
                len(self.records), self)
        return self.records[0]

    def __str__(self):
        return ("rc=%r pam_message=%r elapsed=%.2fs prompts=%r typed=%r\n"
                "---- transcript ----\n%s\n--------------------"
                % (self.rc, self.pam_message, self.elapsed, self.prompts,
                   self.events, self.transcript))

    __repr__ = __str__


# pamtester's last line for each PAM result
PAM_MESSAGES = {
    "PAM_SUCCESS": "successfully authenticated",
    "PAM_AUTH_ERR": "Authentication failure",
    "PAM_MAXTRIES": "Have exhausted maximum number of retries for service",
    "PAM_PERM_DENIED": "Permission denied",
    "PAM_AUTHINFO_UNAVAIL": "Authentication service cannot retrieve authentication info",
    "PAM_SERVICE_ERR": "Error in service module",
    "PAM_CONV_ERR": "Conversation error",
}

# outcome= values the module may log with each pam= value
OUTCOMES = {
    "PAM_SUCCESS": ("success", "failopen", "breakglass", "grace"),
    "PAM_IGNORE": ("ignore",),
    "PAM_AUTH_ERR": ("denied",),
    "PAM_MAXTRIES": ("maxtries",),
    "PAM_PERM_DENIED": ("locked",),
    "PAM_AUTHINFO_UNAVAIL": ("unavailable",),
    "PAM_SERVICE_ERR": ("config_error",),
    "PAM_CONV_ERR": ("conv_error",),
}


def assert_pam(res, pam, outcome=None, via_permit=False):
    """Exact PAM result (pamtester's message and exit code) and the module's
    one decision record (`pam=` and `outcome=`)."""
    if pam == "PAM_IGNORE":
        assert via_permit, "PAM_IGNORE rows must run through the permit stack"
        seen, rc = PAM_MESSAGES["PAM_SUCCESS"], 0
    else:
        seen, rc = PAM_MESSAGES[pam], (0 if pam == "PAM_SUCCESS" else 1)
    assert res.pam_message == seen, "expected %s (%r)\n%s" % (pam, seen, res)
    assert res.rc == rc, str(res)
    rec = res.record
    assert rec.get("pam") == pam, "log record says %r, expected %s\n%s" % (
        rec.get("pam"), pam, res)
    allowed = (outcome,) if outcome else OUTCOMES[pam]
    assert rec.get("outcome") in allowed, "outcome=%r, expected %r\n%s" % (
        rec.get("outcome"), allowed, res)
    return rec


# SPEC section 4: what a provider that gives no usable answer means for the
# login, by failure class.  Only a network-observed outage follows failmode;
# every other class fails closed whatever failmode says.
FAILURE_CLASSES = ("outage", "credentials", "rejected", "local", "config",
                   "user")


def failure_expectation(cls, failmode):
    """(pam, outcome) for a failure of class cls under failmode."""
    assert cls in FAILURE_CLASSES, cls
    if cls == "outage":
        return (("PAM_SUCCESS", "failopen") if failmode == "safe"
                else ("PAM_AUTHINFO_UNAVAIL", "unavailable"))
    if cls == "user":
        return ("PAM_AUTH_ERR", "denied")
    if cls == "config":
        return ("PAM_SERVICE_ERR", "config_error")
    return ("PAM_AUTHINFO_UNAVAIL", "unavailable")


def assert_failure(res, cls, failmode):
    """The PAM result and record of a failure of class cls; a credential
    rejection is logged at LOG_ERR as reason=provider_credentials, the
    other unavailable/failopen records at LOG_WARNING."""
    pam, outcome = failure_expectation(cls, failmode)
    rec = assert_pam(res, pam, outcome)
    if cls == "credentials":
        assert rec["reason"] == "provider_credentials", rec["_line"]
        assert rec["_prio"] == 3, "credential rejection not at LOG_ERR\n%s" % res
    elif outcome in ("unavailable", "failopen"):
        assert rec["_prio"] == 4, "unavailable/failopen at LOG_WARNING\n%s" % res
    if outcome in ("unavailable", "failopen"):
        assert "Verification service unavailable." in res.transcript, str(res)
    return rec


CODE = object()        # sentinel: type the latest code from the outbox


# pids of the pamtester processes this suite started (for cleanup_pam_dirs)
STARTED_PIDS = set()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def cleanup_pam_dirs():
    """pam_wrapper copies the service directory to /tmp/pam.X (/tmp/pNm.X
    in xdist worker N, tests/lib/pwrap.py) and removes it in a destructor,
    which a killed pamtester never runs.  Remove the copies left by
    processes this suite started (pam_wrapper would remove them as stale
    later anyway)."""
    prefix = Path(pwrap.dir_prefix())
    for d in prefix.parent.glob(prefix.name + "?"):
        try:
            pid = int((d / "pid").read_text().strip())
        except (OSError, ValueError):
            continue
        if pid in STARTED_PIDS and not _alive(pid):
            shutil.rmtree(d, ignore_errors=True)


class Session:
    """One pamtester run driven through pexpect."""

    def __init__(self, login, argv, env, prompt_re, stdin_closed=False):
        self.login = login
        self.prompt_re = prompt_re
        self.events = []
        self.prompts = []
        self.t_start = time.monotonic()
        self.t_answer = None
        self.t_end = None
        self.rc = None
        self.stdin_closed = stdin_closed
        cmd = argv[0]
        args = argv[1:]
        if stdin_closed:
            # The conversation fails: stdin is open write-only, so
            # misc_conv's read() gets EBADF.  (Closing fd 0 does not work:
            # nss_wrapper's passwd file would become fd 0 and read as EOF.)
            # The shell itself runs without the preloads.
            env = dict(env)
            env["PV_PRELOAD"] = env.pop("LD_PRELOAD")
            cmd, args = "/bin/sh", [
                "-c", 'exec env LD_PRELOAD="$PV_PRELOAD" "$0" "$@" 0>/dev/null'
            ] + argv
        self.child = pexpect.spawn(cmd, args, env=env, echo=False,
                                   encoding="utf-8", codec_errors="replace",
                                   timeout=20 * TIME_SCALE, maxread=65536,
                                   dimensions=(50, 500))
        self.child.delaybeforesend = None
        STARTED_PIDS.add(self.child.pid)

    # -- interaction ----------------------------------------------------
    def expect_prompt(self, timeout=20 * TIME_SCALE):
        """Wait for the code prompt; returns the prompt text.  Fails if the
        process ends instead."""
        i = self.expect([self.prompt_re, pexpect.EOF], timeout=timeout)
        if i == 1:
            self._ended()
            self.child.close()
            self.rc = self.child.exitstatus
            raise AssertionError("expected a prompt, the module ended:\n%s"
                                 % self.result())
        self.prompts.append(self.child.after)
        return self.child.after

    def expect(self, pattern, timeout=20 * TIME_SCALE):
        """Wait for pattern in the output; a clear failure (with the whole
        transcript) if the process ends or goes silent instead."""
        try:
            return self.child.expect(pattern, timeout=timeout)
        except pexpect.EOF:
            self._ended()
            self.child.close()
            self.rc = self.child.exitstatus
            raise AssertionError("expected %r, the module ended:\n%s"
                                 % (pattern, self.result())) from None
        except pexpect.TIMEOUT:
            raise AssertionError("expected %r, nothing for %d s:\n%s"
                                 % (pattern, timeout, self.result())) from None

    def send(self, text):
        self.events.append(text if len(text) < 80 else "<%d chars>" % len(text))
        self.child.send(text + "\n")
        self.t_answer = time.monotonic()

    def send_code(self, fmt=None):
        code = self.login.sim.latest_code()
        self.send(fmt(code) if fmt else code)
        return code

    def kill(self):
        self.child.kill(9)
        self._ended()

    def _ended(self):
        if self.t_end is None:
            self.t_end = time.monotonic()

    def finish(self, allow_prompt=False, timeout=30 * TIME_SCALE):
        """Wait for pamtester to end.  A further prompt is an error (the
        process is killed) unless allow_prompt (or stdin is closed: then
        the prompt cannot be answered anyway)."""
        while True:
            i = self.child.expect([self.prompt_re, pexpect.EOF], timeout=timeout)
            if i == 1:
                break
            self.prompts.append(self.child.after)
            if self.stdin_closed or allow_prompt:
                continue        # nothing can be typed: let it run on
            self.events.append("<unexpected prompt: killed>")
            self.child.kill(9)
            self.child.expect(pexpect.EOF)
            break
        self._ended()
        self.child.close()
        self.rc = self.child.exitstatus
        return self.result()

    def result(self):
        self._ended()
        text = self.child.logfile_read.getvalue()
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        since = (self.t_end - self.t_answer) if self.t_answer else None
        return Result(self.rc, text, self.t_end - self.t_start, since,
                      list(self.prompts), list(self.events))


class _Buf:
    def __init__(self):
        self.parts = []

    def write(self, s):
        self.parts.append(s)

    def flush(self):
        pass

    def getvalue(self):
        return "".join(self.parts)


class Login:
    """Writes a test world (pv.conf, users file, passwd/group, pam.d service)
    in a fresh directory and runs pamtester against it."""

    def __init__(self, sim, tls, tmp, artifacts=(MODULE, HELPER)):
        self.sim = sim
        self.tls = tls
        self.module, self.helper = artifacts
        self.dir = tmp
        os.chmod(tmp, 0o700)
        self.pamd = tmp / "pam.d"
        self.pamd.mkdir()
        self.state_dir = tmp / "state"
        self.state_dir.mkdir(mode=0o700)
        os.chmod(self.state_dir, 0o700)
        self.conf_path = tmp / "pv.conf"
        self.users_path = tmp / "phoneverify.users"
        self.passwd = tmp / "passwd"
        self.group = tmp / "group"
        self.conf = {
            "send_url": sim.server.send_url,
            "send_auth": SEND_AUTH,
            "verify_url": sim.server.verify_url,
            "verify_auth": VERIFY_AUTH,
            "users_file": str(self.users_path),
            "state_dir": str(self.state_dir),
            "helper": str(self.helper),
            "timeout": str(TIMEOUT),
            "connect_timeout": str(CONNECT_TIMEOUT),
            # Tests log the same user in many times; the per-user send
            # budget (default 5 per hour) has its own tests
            # (test_send_budget.py), which set it.
            "send_limit": "1000",
        }
        if tls:
            self.conf["cafile"] = str(tls["ca"])
        if any("valgrind" in a for a in RUNNER):
            # valgrind emulates the helper's exec from /proc/self/fd/3 by
            # opening the file by path as the helper's user, and pytest's
            # temporary tree is root-only: run the helper as root in this
            # pass (tests/integration/test_helper_privilege.py checks the
            # drop in the plain pass)
            self.conf["helper_user"] = "root"
        self.conf_mode = 0o600
        self.conf_extra_lines = []      # raw lines appended to pv.conf
        self.users_lines = None         # None: the default world
        self.args = []                  # extra PAM-line arguments
        self.conf_arg = None            # conf= in the PAM line (default: conf_path)
        self.env_extra = {}
        self.write_world()

    # -- files ------------------------------------------------------------
    def write_world(self):
        pw, gr = [], []
        gids = {gid for gid, _m in GROUPS.values()}
        for name, (uid, gid, gecos, _p, _n, _e) in USERS.items():
            home = "/root" if name == "root" else "/home/%s" % name
            pw.append("%s:x:%d:%d:%s:%s:/bin/sh" % (name, uid, gid, gecos, home))
            if gid not in gids:            # a personal primary group
                gr.append("%s:x:%d:" % (name, gid))
        for name, (gid, members) in GROUPS.items():
            gr.append("%s:x:%d:%s" % (name, gid, ",".join(members)))
        self.passwd.write_text("\n".join(pw) + "\n")
        self.group.write_text("\n".join(gr) + "\n")
        os.chmod(self.passwd, 0o644)
        os.chmod(self.group, 0o644)

    def default_users_lines(self):
        lines = ["# test users: user:phone[:name[:email]]"]
        for name, (_u, _g, _gecos, phone, full, email) in USERS.items():
            if phone is None:
                continue
            parts = [name, phone]
            if full:
                parts.append(full)
            if email:
                parts.append(email)
            lines.append(":".join(parts))
        lines.extend(EXTRA_USERS_FILE_LINES)
        return lines

    def write_conf(self):
        lines = ["# pam_phoneverify test configuration"]
        for k, v in self.conf.items():
            if v is None:
                continue
            lines.append("%s = %s" % (k, v))
        lines.extend(self.conf_extra_lines)
        self.conf_path.write_text("\n".join(lines) + "\n")
        os.chmod(self.conf_path, self.conf_mode)
        users = self.users_lines if self.users_lines is not None \
            else self.default_users_lines()
        self.users_path.write_text("\n".join(users) + "\n")
        os.chmod(self.users_path, 0o644)

    def conf_line_of(self, key):
        """1-based line number of key in the written pv.conf."""
        for i, line in enumerate(self.conf_path.read_text().split("\n"), 1):
            if line.split("=")[0].strip() == key:
                return i
        raise KeyError(key)

    def write_service(self, service, stack):
        mod = "auth required %s conf=%s %s" % (
            self.module, self.conf_arg or self.conf_path, " ".join(self.args))
        lines = [mod.rstrip()]
        if stack == "permit":
            lines.append("auth required pam_permit.so")
        elif stack != "single":
            raise ValueError(stack)
        lines.append("account required pam_permit.so")
        (self.pamd / service).write_text("\n".join(lines) + "\n")
        (self.pamd / "other").write_text("auth required pam_deny.so\n"
                                         "account required pam_deny.so\n")

    def env(self, debuglevel=2):
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C",
            "LC_ALL": "C",
            "TERM": "dumb",
            "LD_PRELOAD": " ".join(PRELOAD_EXTRA + [PAM_WRAPPER_LIB,
                                                    "libnss_wrapper.so"]),
            "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": str(self.pamd),
            "PAM_WRAPPER_DEBUGLEVEL": str(debuglevel),
            "NSS_WRAPPER_PASSWD": str(self.passwd),
            "NSS_WRAPPER_GROUP": str(self.group),
        }
        for k in PASSENV:
            if k in os.environ:
                env[k] = os.environ[k]
        env.update(self.env_extra)
        return env

    def prompt_regex(self):
        prompt = self.conf.get("prompt") or DEFAULT_PROMPT
        pieces = [re.escape(p) for p in prompt.split("%p")]
        return "(?:" + r"[^\r\n]+?".join(pieces) + ")"

    def _prepare(self, service, stack):
        if not self.module.exists() or not self.helper.exists():
            pytest.fail("module or helper not built (%s, %s): run `make all`"
                        % (self.module, self.helper))
        self.write_conf()
        self.write_service(service, stack)

    # -- running ------------------------------------------------------------
    def start(self, user="alice", service="sshd", rhost="203.0.113.9",
              stack="single", stdin_closed=False, debuglevel=2, ruser=None,
              tty=None):
        self._prepare(service, stack)
        argv = RUNNER + ["pamtester", "-v"]
        if rhost is not None:
            argv += ["-I", "rhost=%s" % rhost]
        if ruser is not None:
            argv += ["-I", "ruser=%s" % ruser]
        if tty is not None:
            argv += ["-I", "tty=%s" % tty]
        argv += [service, user, "authenticate"]
        s = Session(self, argv, self.env(debuglevel), self.prompt_regex(),
                    stdin_closed=stdin_closed)
        s.child.logfile_read = _Buf()
        return s

    def run(self, user="alice", entries=(), **kw):
        """Run one login.  entries: for each expected prompt, a string to
        type, CODE for the latest code in the outbox, or a callable(code)
        -> string.  Returns a Result; a prompt beyond the entries kills the
        run (rc None)."""
        s = self.start(user, **kw)
        for e in entries:
            s.expect_prompt()
            if e is CODE:
                s.send_code()
            elif callable(e):
                s.send(e(self.sim.latest_code()))
            else:
                s.send(e)
        return s.finish()

    def run_pamconv(self, user="alice", replies=(), service="sshd",
                    rhost="203.0.113.9", stack="single", timeout=30 * TIME_SCALE):
        """Run one login through pamconv.py (a ctypes PAM client with a
        programmable conversation) instead of pamtester/misc_conv, for
        replies misc_conv cannot produce (NULL, 1 MiB).  replies: list of
        dicts as pamconv.py documents, or CODE."""
        self._prepare(service, stack)
        argv = RUNNER + [PYTHON, str(PAMCONV), service, user, rhost or ""]
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, env=self.env(), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        STARTED_PIDS.add(proc.pid)
        transcript = []
        prompts = []
        events = []
        pending = list(replies)
        rc = None
        deadline = t0 + timeout
        t_answer = None
        try:
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                transcript.append(line)
                if line.startswith("PROMPT "):
                    prompts.append(line[len("PROMPT "):])
                    r = pending.pop(0) if pending else {"fail": True}
                    if r is CODE:
                        r = {"text": self.sim.latest_code()}
                    elif callable(r):
                        r = r(self.sim.latest_code())
                    events.append({k: (v if len(str(v)) < 80 else
                                       "<%d chars>" % len(str(v)))
                                   for k, v in r.items()})
                    proc.stdin.write((json.dumps(r) + "\n").encode())
                    proc.stdin.flush()
                    t_answer = time.monotonic()
                if time.monotonic() > deadline:
                    proc.kill()
                    break
            rc = proc.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        t_end = time.monotonic()
        text = "\n".join(transcript)
        # pamconv prints "pamtester: <pam_strerror>" like pamtester does
        res = Result(rc, text, t_end - t0, (t_end - t_answer) if t_answer else None,
                     prompts, events)
        return res
