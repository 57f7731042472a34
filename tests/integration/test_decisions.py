"""Decisions a mutation run showed no test guarded (issue 8, item 8):

- an unusable state record (planted symlink, corrupt file) with
  failmode=safe never opens;
- break-glass through a real login: accepted once during an outage, refused
  on reuse, refused while the provider answers, never offered for a
  failure that is not a network outage;
- reuse_code never offers a pending code sent to another number or by
  another method;
- trusted_rhosts with a prefix that is not /8, /16, /24 or /32, one address
  off on either side.
"""

import os
import re
import subprocess

import pexpect
import pytest

from hardening_util import CLI, file_failures, record_path
from pvtest import CODE, NO_LIMITS, TIME_SCALE, assert_pam, wrong_code

BG_PROMPT = "Verification service unavailable. Emergency code: "
CODE_LINE_RE = re.compile(r"^\s+([A-Za-z0-9]{5})-([A-Za-z0-9]{5})$", re.M)


# -- unusable state with failmode=safe ---------------------------------------------

def make_record(login, sim):
    sim.limits(**NO_LIMITS)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    return record_path(login, "alice")


def plant_symlink(path, target_dir):
    target = target_dir / ("victim-" + path.name)
    target.write_text("not a state record\n")
    os.chmod(target, 0o600)
    os.unlink(path)
    os.symlink(target, path)
    return target


def test_state_record_symlink_safe_never_opens(login, sim):
    """failmode=safe does not turn a state the module cannot trust into a
    success: PAM_SERVICE_ERR, nothing sent."""
    rec = make_record(login, sim)
    plant_symlink(rec, login.dir)
    login.conf["failmode"] = "safe"
    sends = sim.requests("send")
    res = login.run("alice", [])
    assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    assert sim.requests("send") == sends


def test_state_lock_symlink_safe_never_opens(login, sim):
    """The state cannot be updated (the lock is a symlink): neither the send
    budget nor a guess can be recorded, so with failmode=safe and the
    provider down the login is refused before anything is sent."""
    rec = make_record(login, sim)
    plant_symlink(rec.with_name(rec.name + ".lock"), login.dir)
    login.conf["failmode"] = "safe"
    sim.fault("any", "http500")
    sends = sim.requests("send")
    res = login.run("alice", [])
    assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    assert sim.requests("send") == sends


@pytest.mark.parametrize("content", [b"this is not a state record\n",
                                     b"pv-state 1\nfail 1700000000\n"])
def test_corrupt_state_safe_never_opens_without_code(login, sim, content):
    """A corrupt record reads as empty: the login still needs the code,
    even with failmode=safe (a wrong one is refused and counted)."""
    rec = make_record(login, sim)
    rec.write_bytes(content)
    os.chmod(rec, 0o600)
    login.conf.update(failmode="safe", max_tries="1")
    res = login.run("alice", [wrong_code])
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert file_failures(login, "alice") == 1


# -- break-glass through a real login ----------------------------------------------

def issue_breakglass(login, user="alice", n=2):
    """Codes from the CLI (`phoneverify breakglass`), which writes the hashes
    the module accepts."""
    login.conf["breakglass_file"] = str(login.dir / "breakglass")
    login.write_conf()
    env = dict(login.env())
    r = subprocess.run([str(CLI), "--conf", str(login.conf_path),
                        "breakglass", user, str(n)], env=env,
                       capture_output=True, text=True, timeout=60 * TIME_SCALE)
    assert r.returncode == 0, r
    codes = ["%s-%s" % m for m in CODE_LINE_RE.findall(r.stdout)]
    assert len(codes) == n, r.stdout
    return codes


def breakglass_login(login, answer):
    """A login during a send outage that answers the emergency prompt."""
    s = login.start("alice")
    s.prompt_re = re.escape(BG_PROMPT)
    s.expect_prompt()
    s.send(answer)
    return s.finish()


def test_breakglass_accepted_once_during_outage(login, sim):
    codes = issue_breakglass(login)
    sim.fault("any", "http500")
    res = breakglass_login(login, codes[0])
    rec = assert_pam(res, "PAM_SUCCESS", "breakglass")
    assert rec["_prio"] == 4
    # the same code again: consumed
    res = breakglass_login(login, codes[0])
    rec = assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    # the other one still works
    res = breakglass_login(login, codes[1])
    assert_pam(res, "PAM_SUCCESS", "breakglass")


def test_breakglass_refused_while_provider_answers(login, sim):
    """With the provider up the emergency code typed at the SMS prompt is
    a wrong code, and it stays unused for a real outage."""
    codes = issue_breakglass(login, n=1)
    login.conf["max_tries"] = "1"
    res = login.run("alice", [codes[0]])
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert BG_PROMPT not in res.transcript
    sim.fault("any", "http500")
    res = breakglass_login(login, codes[0])
    assert_pam(res, "PAM_SUCCESS", "breakglass")


@pytest.mark.parametrize("kind", ["auth", "redirect"])
def test_breakglass_not_offered_unless_outage(login, sim, kind):
    """Rejected credentials or a redirect are no outage: no emergency
    prompt, PAM_AUTHINFO_UNAVAIL."""
    issue_breakglass(login, n=1)
    sim.fault("send", kind)
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert BG_PROMPT not in res.transcript, str(res)


def test_breakglass_not_offered_for_local_failure(login, sim):
    """A helper that cannot run is a local failure: no emergency prompt."""
    issue_breakglass(login, n=1)
    bad = login.dir / "not-a-helper"
    bad.write_text("#!/bin/sh\nexit 3\n")
    os.chmod(bad, 0o755)
    login.conf["helper"] = str(bad)
    res = login.run("alice", [])
    assert res.record["pam"] in ("PAM_AUTHINFO_UNAVAIL", "PAM_SERVICE_ERR"), \
        str(res)
    assert BG_PROMPT not in res.transcript, str(res)


# -- reuse_code ----------------------------------------------------------------------

def pending_login(login, sim):
    """A login that got a code and was abandoned at the prompt."""
    s = login.start("alice")
    s.expect_prompt()
    s.kill()
    return sim.latest_code()


def test_reuse_not_offered_for_another_number(login, sim):
    """alice's number changed in the users file after a code was sent:
    the rate-limited resend does not offer the pending code (sent to the
    old number), it refuses."""
    login.conf.update(reuse_code="yes")
    pending_login(login, sim)
    login.users_lines = [l.replace("+86 13800138000", "+86 13800138001")
                         for l in login.default_users_lines()]
    login.conf["resend_wait"] = "0"     # refuse at once, no wait
    sim.fault("send", "ratelimit")
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert res.prompts == [], str(res)
    assert "A code was already sent" not in res.transcript


def test_reuse_offered_for_same_number(login, sim):
    """The twin: same number, the pending code is offered and works."""
    login.conf.update(reuse_code="yes")
    pending_login(login, sim)
    sim.fault("send", "ratelimit")
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "A code was already sent; enter that code." in res.transcript


def test_reuse_not_offered_across_methods(login, sim):
    """A code pending for sms is not offered when the login now uses
    e-mail (methods changed)."""
    login.conf.update(reuse_code="yes")
    pending_login(login, sim)
    login.conf["methods"] = "email"
    login.conf["resend_wait"] = "0"     # refuse at once, no wait
    sim.fault("send", "ratelimit")
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert "A code was already sent" not in res.transcript


# -- trusted_rhosts prefix off by one ------------------------------------------------

@pytest.mark.parametrize("rhost,trusted", [
    ("198.51.100.64", False),        # one below the /27
    ("198.51.100.96", True),         # first address
    ("198.51.100.127", True),        # last address
    ("198.51.100.128", False),       # one above
])
def test_trusted_rhosts_slash_27(login, sim, rhost, trusted):
    login.conf["trusted_rhosts"] = "198.51.100.96/27"
    if trusted:
        res = login.run("alice", [], rhost=rhost, stack="permit")
        rec = assert_pam(res, "PAM_IGNORE", "ignore", via_permit=True)
        assert rec["reason"] == "trusted_rhost"
        assert sim.requests("send") == 0
    else:
        res = login.run("alice", [CODE], rhost=rhost)
        assert_pam(res, "PAM_SUCCESS", "success")
        assert sim.requests("send") == 1


@pytest.mark.parametrize("rhost,trusted", [
    ("2001:db8:0:1:ffff:ffff:ffff:ffff", False),   # one below
    ("2001:db8:0:2::", True),
    ("2001:db8:0:3:ffff:ffff:ffff:ffff", True),
    ("2001:db8:0:4::", False),                     # one above
])
def test_trusted_rhosts_ipv6_slash_63(login, sim, rhost, trusted):
    login.conf["trusted_rhosts"] = "2001:db8:0:2::/63"
    if trusted:
        res = login.run("alice", [], rhost=rhost, stack="permit")
        assert_pam(res, "PAM_IGNORE", "ignore", via_permit=True)
    else:
        res = login.run("alice", [CODE], rhost=rhost)
        assert_pam(res, "PAM_SUCCESS", "success")
