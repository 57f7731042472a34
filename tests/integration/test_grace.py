"""SPEC sections 3, 4 and 8: `grace` and `grace_services`.  After a verified
code, a new login of the same user for a service in the group passes
without a code within `grace` seconds: PAM_SUCCESS, nothing sent,
outcome=grace.  A remote login's grant is bound to PAM_RHOST + PAM_RUSER
(unset matches unset); a local login's (no PAM_RHOST, or a local origin
such as PAM_RUSER set) to its terminal session as sudo binds its
timestamps: terminal device number, session id, session leader's start
time, never PAM_TTY's name.  Never granted by a fail-open, an IGNORE or a
break-glass login; a locked user gets none; a lockout or `phoneverify
unlock` ends every grant; a grant read back never lasts beyond `grace`.

The local tests run pamtester inside a shell that pexpect starts on a
pseudo-terminal of its own (the shell is the session leader), as sudo runs
inside a user's terminal."""

import re
import shlex
import subprocess
import time

import pexpect
import pytest

from hardening_util import CLI, record_path
from pvtest import CODE, NO_LIMITS, RUNNER, STARTED_PIDS, TIME_SCALE, \
    Result, _Buf, assert_pam, wrong_code
from test_decisions import issue_breakglass

# A remote client: sshd from elsewhere sets PAM_RHOST, not PAM_RUSER.
TUPLE = dict(rhost="203.0.113.9")


@pytest.fixture(autouse=True)
def grace_on(login, sim):
    sim.limits(**NO_LIMITS)
    login.conf["grace"] = "300"


def verified(login, sim, service="sshd", **items):
    kw = dict(TUPLE, **items)
    res = login.run("alice", [CODE], service=service, **kw)
    assert_pam(res, "PAM_SUCCESS", "success")


def assert_grace(login, sim, service="sshd", **items):
    sends = sim.requests("send")
    kw = dict(TUPLE, **items)
    res = login.run("alice", [], service=service, **kw)
    rec = assert_pam(res, "PAM_SUCCESS", "grace")
    assert res.prompts == [], str(res)
    assert sim.requests("send") == sends, "a grace login sent a code"
    assert rec.get("service") == service
    return res


def assert_needs_code(login, sim, service="sshd", **items):
    sends = sim.requests("send")
    kw = dict(TUPLE, **items)
    res = login.run("alice", [CODE], service=service, **kw)
    assert_pam(res, "PAM_SUCCESS", "success")
    assert len(res.prompts) == 1, str(res)
    assert sim.requests("send") == sends + 1
    return res


def cli(login, *args):
    env = dict(login.env())          # nss_wrapper: the test world's passwd
    r = subprocess.run([str(CLI), "--conf", str(login.conf_path)] +
                       list(args), env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30 * TIME_SCALE)
    return r.returncode, r.stdout.decode("utf-8", "replace")


class Terminal:
    """A shell on a pseudo-terminal of its own: pexpect makes it the leader
    of a new session with that terminal as its controlling terminal.  Each
    login runs pamtester inside it (the shell's child, in its session), as
    a user types sudo in a terminal."""

    def __init__(self, login):
        self.login = login
        env = dict(login.env())
        # the shell runs without the preloads; pamtester gets them
        env["PV_PRELOAD"] = env.pop("LD_PRELOAD")
        env["PS1"] = ""
        self.child = pexpect.spawn("/bin/sh", [], env=env, echo=False,
                                   encoding="utf-8", codec_errors="replace",
                                   timeout=20 * TIME_SCALE, maxread=65536,
                                   dimensions=(50, 500))
        self.child.delaybeforesend = None
        STARTED_PIDS.add(self.child.pid)
        self.name = self._tty()

    def _tty(self):
        self.child.sendline("echo TTY=$(tty)")
        self.child.expect(r"TTY=(\S+)\r?\n")
        return self.child.match.group(1)

    def run(self, entries=(), service="sudo", user="alice", **items):
        """One pamtester run in this terminal; entries as Login.run."""
        self.login._prepare(service, "single")
        argv = RUNNER + ["pamtester", "-v"]
        for k in ("rhost", "ruser", "tty"):
            if items.get(k) is not None:
                argv += ["-I", "%s=%s" % (k, items[k])]
        argv += [service, user, "authenticate"]
        buf = _Buf()
        self.child.logfile_read = buf
        t0 = time.monotonic()
        self.child.sendline('env LD_PRELOAD="$PV_PRELOAD" %s; echo "PV-RC=$?"'
                            % " ".join(shlex.quote(a) for a in argv))
        prompts, typed, entries, t_answer = [], [], list(entries), None
        while True:
            i = self.child.expect([self.login.prompt_regex(),
                                   r"PV-RC=(\d+)"], timeout=30 * TIME_SCALE)
            if i == 1:
                rc = int(self.child.match.group(1))
                break
            prompts.append(self.child.after)
            if not entries:      # a prompt nobody answers: a failed run
                self.child.sendline("")
                typed.append("<unexpected prompt>")
                continue
            e = entries.pop(0)
            if e is CODE:
                e = self.login.sim.latest_code()
            elif callable(e):
                e = e(self.login.sim.latest_code())
            self.child.sendline(e)
            typed.append(e)
            t_answer = time.monotonic()
        self.child.logfile_read = None
        text = buf.getvalue().replace("\r\n", "\n").replace("\r", "\n")
        t1 = time.monotonic()
        return Result(rc, text, t1 - t0,
                      (t1 - t_answer) if t_answer else None, prompts, typed)

    def close(self):
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF)
        self.child.close()


@pytest.fixture
def terminal(login):
    opened = []

    def make():
        t = Terminal(login)
        opened.append(t)
        return t
    yield make
    for t in opened:
        if t.child.isalive():
            t.child.terminate(force=True)


def local_code(term, sim, **items):
    sends = sim.requests("send")
    res = term.run([CODE], **items)
    assert_pam(res, "PAM_SUCCESS", "success")
    assert len(res.prompts) == 1, str(res)
    assert sim.requests("send") == sends + 1
    return res


def local_grace(term, sim, **items):
    sends = sim.requests("send")
    res = term.run([], **items)
    assert_pam(res, "PAM_SUCCESS", "grace")
    assert res.prompts == [], str(res)
    assert sim.requests("send") == sends
    return res


# ---- local logins: the terminal session ------------------------------------

def test_local_grant_serves_its_terminal_session(login, sim, terminal):
    t = terminal()
    local_code(t, sim)
    local_grace(t, sim)
    local_grace(t, sim)


def test_next_terminal_with_the_same_name_needs_code(login, sim, terminal):
    """The attack: the terminal that earned a grant closes; the user's next
    terminal gets the same /dev/pts/N (and the same PAM_TTY) and must not
    inherit the grant."""
    t = terminal()
    name = t.name
    local_code(t, sim, tty=name)
    local_grace(t, sim, tty=name)
    t.close()
    t2 = terminal()
    # The kernel hands out the lowest free number: usually the same name
    # (other processes may take it first; PAM_TTY is the same anyway).
    print("first terminal %s, next terminal %s" % (name, t2.name))
    local_code(t2, sim, tty=name)


def test_other_terminal_open_at_once_needs_code(login, sim, terminal):
    a, b = terminal(), terminal()
    local_code(a, sim, tty="pts/3")
    local_code(b, sim, tty="pts/3")
    local_grace(a, sim, tty="pts/3")


def test_ruser_makes_a_login_local(login, sim, terminal):
    """PAM_RUSER set (sudo, su): a local user's login, whatever PAM_RHOST
    says: bound to the terminal session, not to rhost + ruser."""
    a, b = terminal(), terminal()
    items = dict(rhost="203.0.113.9", ruser="alice")
    local_code(a, sim, **items)
    local_grace(a, sim, **items)
    local_code(b, sim, **items)


def test_no_terminal_no_local_grant(login, sim):
    """No controlling terminal (setsid, stdin a pipe): no session to bind
    to, so no grant is given or honoured for a local login."""
    login._prepare("sudo", "single")
    argv = ["setsid", "-w"] + RUNNER + ["pamtester", "-v", "sudo", "alice",
                                        "authenticate"]

    def run():
        sends = sim.requests("send")
        p = subprocess.Popen(argv, env=login.env(), stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20 * TIME_SCALE
        while sim.requests("send") == sends and p.poll() is None:
            assert time.monotonic() < deadline, "no code was sent"
            time.sleep(0.05)
        out, _ = p.communicate((sim.latest_code() + "\n").encode()
                               if p.poll() is None else b"",
                               timeout=30 * TIME_SCALE)
        return p.returncode, out.decode("utf-8", "replace")

    for _ in range(2):
        rc, out = run()
        assert rc == 0 and "outcome=success" in out, out


def test_lockout_ends_local_grant(login, sim, terminal):
    """A lockout ends the grant earned before it: status stops listing it
    at once.  That it does not work again when the lock ends, and that a
    grant earned after the lock does, is a fake-clock sequence in
    tests/unit/test_flow.c (test_grace_lockout_ends_grants); the real-time
    twin is test_lockout_ends_remote_grant below."""
    login.conf.update(lockout_failures="2", max_tries="1",
                      lockout_time="900")
    t = terminal()
    local_code(t, sim)
    local_grace(t, sim)
    rc, out = cli(login, "status", "alice")
    assert "1 grace grant(s)" in out, out
    # wrong codes from another session until the user is locked
    for _ in range(2):
        login.run("alice", [wrong_code], rhost="198.51.100.7")
    res = login.run("alice", [], rhost="198.51.100.7")
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    rc, out = cli(login, "status", "alice")
    assert "unlocks in" in out and "grace" not in out, out


def test_unlock_ends_local_grant(login, sim, terminal):
    t = terminal()
    local_code(t, sim)
    local_grace(t, sim)
    time.sleep(1)        # the grant is earned before the unlock's second
    rc, out = cli(login, "unlock", "alice")
    assert rc == 0, out
    local_code(t, sim)


def set_grant_ends(login, user, end):
    p = record_path(login, user)
    lines = p.read_text().split("\n")
    n = 0
    for i, line in enumerate(lines):
        parts = line.split(" ")
        if parts[0] == "grant":
            parts[2] = str(end)
            lines[i] = " ".join(parts)
            n += 1
    assert n > 0, "no grant in the record"
    p.write_text("\n".join(lines))


def assert_grant_ends_within(login, grace):
    """status reads the store as the module does: the grant ends within
    `grace` of now, whatever end the record holds."""
    rc, out = cli(login, "status", "alice")
    m = re.search(r"grace grant\(s\), the last expiring in (-?\d+) s", out)
    assert rc == 0 and m, out
    assert 0 < int(m.group(1)) <= grace, out


# The expiry itself at `grace` after the grant was earned is a fake-clock
# sequence in tests/unit/test_flow.c (test_grace_far_future_end_capped,
# pv_state_grant_end); test_grant_expires is the real-time twin.
def test_far_future_end_is_capped_at_grace(login, sim, terminal):
    """A grant whose stored end lies far beyond `grace` (a corrupted or
    edited store) ends `grace` after it was earned."""
    grace = 300
    login.conf["grace"] = str(grace)
    t = terminal()
    local_code(t, sim)
    set_grant_ends(login, "alice", 253402300799)
    local_grace(t, sim)
    assert_grant_ends_within(login, grace)


def test_far_future_remote_end_is_capped_at_grace(login, sim):
    grace = 300
    login.conf["grace"] = str(grace)
    verified(login, sim)
    set_grant_ends(login, "alice", 253402300799)
    assert_grant_ends_within(login, grace)
    assert_grace(login, sim)


# ---- remote logins: rhost + ruser -------------------------------------------

def test_grant_used_within_window(login, sim):
    verified(login, sim)
    assert_grace(login, sim)
    assert_grace(login, sim)           # a grant serves every login in it


def test_remote_grant_ignores_tty(login, sim):
    """sshd's PAM_TTY is "ssh" for every connection: not part of a remote
    grant."""
    verified(login, sim, tty="ssh")
    assert_grace(login, sim, tty="ssh")
    assert_grace(login, sim)


def test_other_host_needs_code(login, sim):
    verified(login, sim)
    assert_needs_code(login, sim, rhost="198.51.100.7")
    assert_grace(login, sim, rhost="198.51.100.7")


@pytest.mark.parametrize("item, value", [
    ("ruser", "mallory"), ("rhost", None), ("rhost", "127.0.0.1")])
def test_local_login_outside_a_session_needs_code(login, sim, item, value):
    """A local login (no rhost, PAM_RUSER set, a loopback rhost) is bound to
    its terminal session, not to rhost + ruser: each pamtester here runs in
    a session of its own, so none passes on another's grant."""
    verified(login, sim)
    assert_needs_code(login, sim, **{item: value})
    assert_needs_code(login, sim, **{item: value})


def test_grace_off_by_default(login, sim):
    del login.conf["grace"]
    verified(login, sim)
    assert_needs_code(login, sim)


def test_other_service_needs_code_by_default(login, sim):
    """grace_services empty: the login's own service only."""
    verified(login, sim, service="sshd")
    assert_needs_code(login, sim, service="sudo")
    assert_grace(login, sim, service="sudo")


def test_grace_services_group(login, sim):
    login.conf["grace_services"] = "sshd sudo"
    verified(login, sim, service="sshd")
    assert_grace(login, sim, service="sudo")
    assert_needs_code(login, sim, service="login")   # not in the group
    assert_needs_code(login, sim, service="login")   # and never granted


def test_grant_expires(login, sim):
    # The window must outlast one login of the slowest pass (valgrind).
    grace = max(2, int(2 * TIME_SCALE))
    login.conf["grace"] = str(grace)
    verified(login, sim)
    assert_grace(login, sim)
    time.sleep(grace + 1)
    assert_needs_code(login, sim)


def test_record_holds_a_hash_not_the_tuple(login, sim):
    verified(login, sim)
    text = record_path(login, "alice").read_text()
    assert "grant " in text
    for v in TUPLE.values():
        assert v not in text, text


def test_failopen_grants_nothing(login, sim):
    # no PAM_RUSER: failmode=safe opens only for a remote login
    login.conf["failmode"] = "safe"
    sim.fault("any", "http500")
    res = login.run("alice", [], **dict(TUPLE, ruser=None))
    assert_pam(res, "PAM_SUCCESS", "failopen")
    sim.reset()
    sim.limits(**NO_LIMITS)
    login.conf["failmode"] = "secure"
    assert_needs_code(login, sim, ruser=None)


def test_ignore_grants_nothing(login, sim):
    login.conf["trusted_rhosts"] = TUPLE["rhost"]
    res = login.run("alice", [], stack="permit", **TUPLE)
    assert_pam(res, "PAM_IGNORE", "ignore", via_permit=True)
    del login.conf["trusted_rhosts"]
    assert_needs_code(login, sim)


def test_breakglass_grants_nothing(login, sim):
    codes = issue_breakglass(login)
    sim.fault("any", "http500")
    s = login.start("alice", **TUPLE)
    s.prompt_re = r"Emergency code: "
    s.expect_prompt()
    s.send(codes[0])
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "breakglass")
    sim.reset()
    sim.limits(**NO_LIMITS)
    assert_needs_code(login, sim)


def test_locked_user_gets_no_grace(login, sim):
    login.conf.update(lockout_failures="1", max_tries="1")
    verified(login, sim)
    res = login.run("alice", [wrong_code], rhost="198.51.100.9")
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    sends = sim.requests("send")
    res = login.run("alice", [], **TUPLE)
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    assert sim.requests("send") == sends


def test_status_shows_and_unlock_clears(login, sim):
    verified(login, sim)
    verified(login, sim, rhost="203.0.113.10")
    rc, out = cli(login, "status", "alice")
    assert rc == 0, out
    assert "2 grace grant(s), the last expiring in" in out, out
    time.sleep(1)        # the grants are earned before the unlock's second
    rc, out = cli(login, "unlock", "alice")
    assert rc == 0, out
    rc, out = cli(login, "status", "alice")
    assert "grace" not in out, out
    assert_needs_code(login, sim)
    assert_needs_code(login, sim, rhost="203.0.113.10")


def test_lockout_ends_remote_grant(login, sim):
    lock = max(2, int(2 * TIME_SCALE))
    login.conf.update(lockout_failures="2", max_tries="1",
                      lockout_time=str(lock))
    verified(login, sim)
    assert_grace(login, sim)
    for _ in range(2):
        login.run("alice", [wrong_code], rhost="198.51.100.7")
    time.sleep(lock + 1)
    assert_needs_code(login, sim)
