"""A local user can neither force the door open with failmode=safe
(SPEC section 4, the two outage rows; pam_phoneverify(8) FAILMODE).

The unprivileged test user runs the real setuid `sudo` and `su` on a pty:

  * provider down, failmode=safe: refused (the command never runs), and the
    break-glass prompt is shown; the break-glass code works;
  * provider up, failmode=safe, each RLIMIT_* lowered in turn by the caller
    (`prlimit --<limit>=<soft>:` before sudo/su, as `ulimit -S` in the
    caller's shell would): no command or shell runs as the target without
    the right code.  A limit that makes sudo/su fail before PAM counts as
    "not authenticated" too; a control run with the right code says which
    rows reached the module.

sudo uses the private service of conftest.py (/etc/pam.d/pv-e2e-sudo).
util-linux su always uses the service "su": its stack is replaced only
inside a private mount namespace (`unshare --mount`, a bind mount over
/etc/pam.d/su that no other process sees and that ends with the
namespace), so /etc is never written.
"""

import re
import resource
import subprocess

import pexpect
import pytest

from conftest import (BASE_ENV, BUILD, MODULE, OPENSSL, PHONE, PROMPT,
                      RUNUSER, SUDO, TIMEOUT, USER, Session, SimProc, _write)
from pvsim import make_ca, make_server_cert

OK = "PV-LOCAL-OK"
BG_PROMPT = "Verification service unavailable. Emergency code: "
UNAVAILABLE = "Verification service unavailable."
CLI = BUILD / "phoneverify"
CODE_LINE_RE = re.compile(r"^\s+([A-Za-z0-9]{5})-([A-Za-z0-9]{5})$", re.M)
SU = "/bin/su"
UNSHARE = "/usr/bin/unshare"


def wrong(code):
    return "%06d" % ((int(code) + 1) % 1000000)


# -- the world: root's phone for su, a break-glass file ------------------------------

@pytest.fixture
def local(pv, tmp_path):
    """pv configured for these tests: a users file that also gives root a
    phone (su's target), failmode=safe, a break-glass file for the user
    and for root."""
    users = tmp_path / "users"
    _write(users, "%s:%s:PV Etoe\nroot:%s:PV Root\n" % (USER, PHONE, PHONE),
           0o644)
    pv.users = users
    pv.breakglass = tmp_path / "breakglass"
    pv.configure(users_file=users, failmode="safe",
                 breakglass_file=pv.breakglass)
    return pv


@pytest.fixture(scope="module")
def named_sim(e2e):
    """A simulator reached by a host name (https://localhost:PORT): libcurl
    then starts its resolver thread, the first thing RLIMIT_NPROC breaks
    (issue 17, item 1)."""
    d = e2e.dir / "tls-localhost"
    d.mkdir(mode=0o700, exist_ok=True)
    ca = make_ca(d, "ca", days=2, cn="pam_phoneverify e2e localhost CA",
                 openssl=OPENSSL, env=BASE_ENV)
    cert, key = make_server_cert(d, "ca", san="DNS:localhost,IP:127.0.0.1",
                                 days=2, openssl=OPENSSL, env=BASE_ENV)
    sim = SimProc({"ca": ca, "cert": cert, "key": key})
    try:
        yield sim
    finally:
        sim.stop()


def use_named_sim(pv, sim):
    """pv's URLs at the simulator by name; pv.sim becomes that simulator."""
    sim.reset()
    host = "https://localhost:%d" % sim.port
    pv.configure(users_file=pv.users, failmode="safe",
                 breakglass_file=pv.breakglass,
                 send_url=host + "/auth/v1/verification",
                 verify_url=host + "/v1/verifications",
                 cafile=sim.tls["ca"])
    pv.sim = sim


def issue_breakglass(pv, user):
    r = subprocess.run([str(CLI), "--conf", str(pv.world.conf), "breakglass",
                        user, "1"], env=BASE_ENV, capture_output=True,
                       text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r
    codes = ["%s-%s" % m for m in CODE_LINE_RE.findall(r.stdout)]
    assert len(codes) == 1, r.stdout
    return codes[0]


def provider_down(pv, dead_port):
    pv.configure(users_file=pv.users, failmode="safe",
                 breakglass_file=pv.breakglass,
                 send_url="http://127.0.0.1:%d/auth/v1/verification"
                 % dead_port)


# -- spawning sudo and su as the test user ------------------------------------------

def limit_args(limit):
    """prlimit arguments for (name, soft) or [] for None."""
    if limit is None:
        return []
    name, soft = limit
    return ["/usr/bin/prlimit", "--%s=%s:" % (name, soft)]


def spawn_sudo(limit=None):
    argv = ["-u", USER, "--"] + limit_args(limit) + [SUDO, "/bin/echo", OK]
    return Session(pexpect.spawn(RUNUSER, argv, env=BASE_ENV, encoding="utf-8",
                                 codec_errors="replace", timeout=TIMEOUT,
                                 dimensions=(24, 200)))


@pytest.fixture
def su_pam(e2e):
    """The su stack of these tests, to be bind-mounted over /etc/pam.d/su
    inside a private mount namespace."""
    f = e2e.dir / "su.pam"
    _write(f, "# pam_phoneverify e2e (tests/e2e/test_local_user.py)\n"
           "auth     required  %s conf=%s\n"
           "account  required  pam_permit.so\n"
           "session  required  pam_permit.so\n"
           "password required  pam_deny.so\n" % (MODULE, e2e.conf), 0o644)
    return f


def spawn_su(su_pam, limit=None):
    """`su root -c 'echo OK'` run by the test user, with its stack in a
    private mount namespace."""
    inner = " ".join(["exec", RUNUSER, "-u", USER, "--"] + limit_args(limit) +
                     [SU, "root", "-c", "'/bin/echo %s'" % OK])
    script = "mount --bind %s /etc/pam.d/su && %s" % (su_pam, inner)
    argv = ["--mount", "--propagation", "private", "--", "/bin/sh", "-c",
            script]
    return Session(pexpect.spawn(UNSHARE, argv, env=BASE_ENV, encoding="utf-8",
                                 codec_errors="replace", timeout=TIMEOUT,
                                 dimensions=(24, 200)))


def ran(out):
    return any(line == OK for line in out.split("\n"))


def drive(s, answer):
    """Answer every prompt (code or emergency) with answer(prompt); returns
    (transcript, prompts seen)."""
    seen = []
    for _ in range(6):
        i = s.child.expect([re.escape(PROMPT), re.escape(BG_PROMPT),
                            pexpect.EOF, pexpect.TIMEOUT], timeout=TIMEOUT)
        if i >= 2:
            break
        seen.append(s.child.after)
        s.answer(answer(seen[-1]))
    if s.child.isalive():
        s.child.close(force=True)
    else:
        s.child.close()
    s.exitstatus = s.child.exitstatus
    return s.transcript, seen


# -- provider down: refused, break-glass offered ---------------------------------------

@pytest.mark.parametrize("prog", ["sudo", "su"])
def test_provider_down_refused_with_failmode_safe(local, sudo, su_pam,
                                                 dead_port, prog):
    """The attack of issue 17: the caller makes every request fail (here
    the provider is simply down).  failmode=safe does not open for a local
    user: the emergency prompt appears, an empty answer is refused, the
    command does not run."""
    issue_breakglass(local, "root" if prog == "su" else USER)
    provider_down(local, dead_port)
    with (spawn_sudo() if prog == "sudo" else spawn_su(su_pam)) as s:
        out, seen = drive(s, lambda p: "")
    assert seen == [BG_PROMPT], out
    assert not ran(out), out
    assert s.exitstatus != 0, out
    assert PROMPT not in out, out


@pytest.mark.parametrize("prog", ["sudo", "su"])
def test_breakglass_code_works_during_outage(local, sudo, su_pam, dead_port,
                                             prog):
    """The way in for an administrator during an outage: the break-glass
    code, once."""
    code = issue_breakglass(local, "root" if prog == "su" else USER)
    provider_down(local, dead_port)
    with (spawn_sudo() if prog == "sudo" else spawn_su(su_pam)) as s:
        out, seen = drive(s, lambda p: code)
    assert seen == [BG_PROMPT], out
    assert ran(out), out
    assert s.exitstatus == 0, out
    with (spawn_sudo() if prog == "sudo" else spawn_su(su_pam)) as s:
        out, seen = drive(s, lambda p: code)
    assert not ran(out), "a used break-glass code worked again:\n" + out


@pytest.mark.parametrize("prog", ["sudo", "su"])
def test_right_code_through_named_sim(local, sudo, su_pam, named_sim, prog):
    """Control for the sweep: the stacks are ours (the module's prompt),
    the simulator by name works, and the right code runs the command."""
    use_named_sim(local, named_sim)
    with (spawn_sudo() if prog == "sudo" else spawn_su(su_pam)) as s:
        out, seen = drive(s, lambda p: local.sim.wait_code(1))
    assert seen == [PROMPT], out
    assert ran(out), out


# -- provider up, every RLIMIT_* lowered by the caller --------------------------------

# prlimit's name for each RLIMIT_*, and soft values to try: nothing, a
# little, and (for memory, descriptors, processes) enough for sudo or su
# to start while a helper or thread may not.
M = 1024 * 1024
SWEEP = {
    "as": [0, 16 * M, 64 * M, 256 * M],
    "core": [0],
    "cpu": [0, 1],
    "data": [0, 8 * M, 32 * M, 128 * M],
    "fsize": [0, 1, 512],
    "locks": [0],
    "memlock": [0],
    "msgqueue": [0],
    "nice": [0],
    "nofile": [0, 3, 6, 8, 12, 16, 24],
    "nproc": [0, 1, 2, 4],
    "rss": [0, 1],
    "rtprio": [0],
    "rttime": [0, 1],
    "sigpending": [0, 1],
    "stack": [0, 16 * 1024, 256 * 1024],
}
RLIM_NLIMITS = 16      # Linux <asm-generic/resource.h>
RLIMIT_LOCKS = 10      # not in Python's resource module


def test_sweep_covers_every_rlimit():
    """The sweep names each of Linux's 16 limits once, and every RLIMIT_*
    this Python knows (RLIMIT_OFILE is RLIMIT_NOFILE)."""
    nums = {getattr(resource, "RLIMIT_" + n.upper(), None) for n in SWEEP}
    nums.discard(None)
    nums.add(RLIMIT_LOCKS)
    assert nums == set(range(RLIM_NLIMITS)), nums
    known = {getattr(resource, n) for n in dir(resource)
             if n.startswith("RLIMIT_")}
    assert known <= nums, known - nums


ROWS = [(prog, name, v) for prog in ("sudo", "su")
        for name in sorted(SWEEP) for v in SWEEP[name]]


@pytest.mark.parametrize("prog,name,soft", ROWS,
                         ids=["%s-%s-%s" % r for r in ROWS])
def test_lowered_rlimit_never_authenticates_without_code(local, sudo, su_pam,
                                                         named_sim, prog,
                                                         name, soft):
    """failmode=safe, the provider up (reached by name), the caller lowers
    one limit: a wrong code at every prompt never lets the command run."""
    use_named_sim(local, named_sim)
    issue_breakglass(local, "root" if prog == "su" else USER)
    limit = (name, soft)
    with (spawn_sudo(limit) if prog == "sudo" else spawn_su(su_pam, limit)) as s:
        out, seen = drive(
            s, lambda p: "0000000000" if p == BG_PROMPT
            else wrong(local.sim.outbox()[-1]["code"])
            if local.sim.outbox() else "000000")
    assert not ran(out), "%s ran with %s=%s and no code:\n%s" % (
        prog, name, soft, out)


# -- sudo without PAM_RUSER -------------------------------------------------------------

@pytest.fixture
def sudo_no_ruser(sudo, e2e):
    """sudoers `Defaults:pve2e !pam_ruser`: sudo then sets no PAM_RUSER;
    the caller here has no login uid either (runuser from a service, as a
    job of the user's own systemd could be).  What is left is the real uid,
    which sudo keeps the caller's while PAM runs."""
    from conftest import VISUDO, _run, _unlink
    from pathlib import Path
    dropin = Path("/etc/sudoers.d/pv-e2e-noruser")
    text = ("# pam_phoneverify e2e tests (tests/e2e); removed when they end\n"
            "Defaults:%s !pam_ruser\n" % USER)
    candidate = e2e.dir / "sudoers-noruser"
    _write(candidate, text, 0o440)
    _run([VISUDO, "-cf", candidate])
    try:
        _write(dropin, text, 0o440)
        yield sudo
    finally:
        _unlink(dropin)


def test_sudo_without_ruser_refused_with_failmode_safe(local, sudo_no_ruser,
                                                      dead_port):
    """An administrator turned PAM_RUSER off: sudo is still a local user's
    login (its real uid is the caller's)."""
    issue_breakglass(local, USER)
    provider_down(local, dead_port)
    with spawn_sudo() as s:
        out, seen = drive(s, lambda p: "")
    assert not ran(out), out
    assert seen == [BG_PROMPT], out
