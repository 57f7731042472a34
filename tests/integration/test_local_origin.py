"""failmode=safe never opens for a local user (SPEC section 4, the two
outage rows; pam_phoneverify(8) FAILMODE).

A local user controls this host's limits, ports and descriptors and can
make any provider request fail, so an outage cannot open the door for a
login that comes from one: the calling process has a kernel login uid
(/proc/self/loginuid set: sudo, su, pkexec, a screen locker), or a real
uid other than 0, or PAM_RUSER is set, or PAM_RHOST is loopback, one of
this host's own addresses or a name.  Such a login gets
PAM_AUTHINFO_UNAVAIL whatever failmode says, and a break-glass code is
offered.  A remote login (rhost 203.0.113.9, no ruser, run by root with no
login uid: sshd from elsewhere) keeps failmode=safe.

Each test is written from the attacker's side: with the code of before
this change every local row below logged in with PAM_SUCCESS.
"""

import os
import re
import subprocess

import pytest

import pvtest
from pvtest import assert_pam, closed_port
from test_decisions import BG_PROMPT, issue_breakglass

UNAVAILABLE = "Verification service unavailable."
REFUSED_LOG = "failopen_refused=local_user"
REMOTE = "203.0.113.9"
LOGINUID = 1001          # alice's uid, as `su` run by alice would leave it


def _loginuid_unset():
    try:
        with open("/proc/self/loginuid") as f:
            return f.read().strip() == "4294967295"
    except OSError:
        return False


@pytest.fixture
def remote_runner():
    """A remote login needs a PAM client that is root with no login uid
    (as sshd is); the suite runs that way in CI."""
    if os.getuid() != 0 or not _loginuid_unset():
        pytest.skip("a remote login needs the tests to run as root with no "
                    "kernel login uid (uid=%d, loginuid %s)"
                    % (os.getuid(), "unset" if _loginuid_unset() else "set"))


def outage(login, sim, how):
    """The provider down: every answer a 500, or nothing listening."""
    login.conf["failmode"] = "safe"
    if how == "http500":
        sim.fault("any", "http500")
    else:
        scheme = "https" if login.tls else "http"
        login.conf["send_url"] = "%s://127.0.0.1:%d/v1/send" % (
            scheme, closed_port())


def refused(res):
    """PAM_AUTHINFO_UNAVAIL, the outage's reason in the record, and the
    log line saying why failmode=safe did not open."""
    rec = assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert rec["_prio"] == 4, str(res)
    assert UNAVAILABLE in res.transcript, str(res)
    assert any(REFUSED_LOG in msg for _p, msg in res.syslog), str(res)
    return rec


def own_addresses():
    """This host's own non-loopback addresses, as `ip -o addr` lists them
    (IPv6 link-local ones without their zone)."""
    try:
        out = subprocess.run(["ip", "-o", "addr"], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    found = []
    for m in re.finditer(r"\binet6?\s+([0-9a-fA-F:.]+)/\d+", out):
        a = m.group(1)
        if a.startswith("127.") or a == "::1":
            continue
        found.append(a)
    return found


# -- each local fact alone keeps the door shut -------------------------------------

@pytest.mark.parametrize("how", ["http500", "down"])
def test_ruser_set(login, sim, how, remote_runner):
    outage(login, sim, how)
    refused(login.run("alice", [], rhost=REMOTE, ruser="bob"))


@pytest.mark.parametrize("rhost", ["127.0.0.1", "127.3.2.1", "::1",
                                   "::ffff:127.0.0.1", "localhost",
                                   "client.example.org"])
def test_local_rhost(login, sim, rhost, remote_runner):
    outage(login, sim, "http500")
    refused(login.run("alice", [], rhost=rhost))


def test_local_rhost_provider_down(login, sim, remote_runner):
    outage(login, sim, "down")
    refused(login.run("alice", [], rhost="::1"))


def test_own_address(login, sim, remote_runner):
    """Every address of this host (not only loopback) is a local login."""
    addrs = own_addresses()
    if not addrs:
        pytest.skip("`ip -o addr` lists no address besides loopback")
    outage(login, sim, "http500")
    for a in addrs:
        refused(login.run("alice", [], rhost=a))


@pytest.fixture
def with_loginuid(monkeypatch):
    """pamtester started with /proc/self/loginuid set, as under sudo or su
    in a login session (needs CAP_AUDIT_CONTROL and a login uid that is
    not yet set; otherwise the test is skipped)."""
    probe = subprocess.run(["/bin/sh", "-c", "echo %d > /proc/self/loginuid"
                            % LOGINUID], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the kernel refuses to set /proc/self/loginuid here: %s"
                    % probe.stderr.strip())
    prefix = ["/bin/sh", "-c",
              'echo %d > /proc/self/loginuid || exit 97; exec "$@"' % LOGINUID,
              "sh"]
    monkeypatch.setattr(pvtest, "RUNNER", prefix + pvtest.RUNNER)


@pytest.mark.parametrize("how", ["http500", "down"])
def test_loginuid_set(login, sim, how, remote_runner, with_loginuid):
    outage(login, sim, how)
    res = login.run("alice", [], rhost=REMOTE)
    refused(res)
    assert any("loginuid_set=1" in msg for _p, msg in res.syslog), str(res)


def test_loginuid_set_code_still_works(login, sim, with_loginuid):
    """The provider up: a local login passes with its code as before."""
    sim.limits(**pvtest.NO_LIMITS)
    login.conf["failmode"] = "safe"
    res = login.run("alice", [pvtest.CODE], rhost=REMOTE)
    assert_pam(res, "PAM_SUCCESS", "success")


# -- remote logins keep failmode=safe ----------------------------------------------

@pytest.mark.parametrize("how", ["http500", "down"])
def test_remote_login_fails_open(login, sim, how, remote_runner):
    outage(login, sim, how)
    res = login.run("alice", [], rhost=REMOTE)
    assert_pam(res, "PAM_SUCCESS", "failopen")
    assert not any(REFUSED_LOG in msg for _p, msg in res.syslog), str(res)
    assert BG_PROMPT not in res.transcript


def test_console_login_fails_open(login, sim, remote_runner):
    """`login` on a console: no rhost, run by root, no login uid yet."""
    outage(login, sim, "http500")
    res = login.run("alice", [], rhost=None, service="login")
    assert_pam(res, "PAM_SUCCESS", "failopen")


# -- break-glass where safe cannot open ------------------------------------------------

def bg_login(login, answer, **kw):
    s = login.start("alice", **kw)
    s.prompt_re = re.escape(BG_PROMPT)
    s.expect_prompt()
    s.send(answer)
    return s.finish()


def test_breakglass_accepted_under_safe_for_local_login(login, sim,
                                                       remote_runner):
    codes = issue_breakglass(login, n=1)
    outage(login, sim, "http500")
    res = bg_login(login, "0000000000", rhost=REMOTE, ruser="bob")
    refused(res)
    res = bg_login(login, codes[0], rhost=REMOTE, ruser="bob")
    assert_pam(res, "PAM_SUCCESS", "breakglass")
    # consumed: once only
    res = bg_login(login, codes[0], rhost="127.0.0.1")
    refused(res)


def test_breakglass_not_offered_under_safe_for_remote_login(login, sim,
                                                           remote_runner):
    issue_breakglass(login, n=1)
    outage(login, sim, "http500")
    res = login.run("alice", [], rhost=REMOTE)
    assert_pam(res, "PAM_SUCCESS", "failopen")
    assert BG_PROMPT not in res.transcript
