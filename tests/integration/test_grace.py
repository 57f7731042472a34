"""SPEC sections 3 and 4: `grace` and `grace_services`.  After a verified
code, a new login of the same user with the same PAM_RHOST, PAM_RUSER and
PAM_TTY (unset matches unset), for a service in the group, passes without a
code within `grace` seconds: PAM_SUCCESS, nothing sent, outcome=grace.
Never granted by a fail-open, an IGNORE or a break-glass login; a locked
user gets none; `phoneverify unlock` clears the grants."""

import subprocess
import time

import pytest

from hardening_util import CLI, record_path
from pvtest import CODE, NO_LIMITS, TIME_SCALE, assert_pam, wrong_code
from test_decisions import issue_breakglass

TUPLE = dict(rhost="203.0.113.9", ruser="deploy", tty="pts/3")


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


def test_grant_used_within_window(login, sim):
    verified(login, sim)
    assert_grace(login, sim)
    assert_grace(login, sim)           # a grant serves every login in it


def test_unset_items_match_unset(login, sim):
    verified(login, sim, rhost=None, ruser=None, tty=None)
    assert_grace(login, sim, rhost=None, ruser=None, tty=None)
    # set against unset is another client
    assert_needs_code(login, sim, rhost=None, ruser=None, tty="")


@pytest.mark.parametrize("item, value", [
    ("rhost", "198.51.100.7"), ("ruser", "mallory"), ("tty", "pts/4"),
    ("rhost", None), ("ruser", None), ("tty", None)])
def test_other_client_needs_code(login, sim, item, value):
    verified(login, sim)
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
    res = login.run("alice", [wrong_code], tty="pts/9",
                    rhost=TUPLE["rhost"], ruser=TUPLE["ruser"])
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    sends = sim.requests("send")
    res = login.run("alice", [], **TUPLE)
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    assert sim.requests("send") == sends


def test_status_shows_and_unlock_clears(login, sim):
    verified(login, sim)
    verified(login, sim, tty="pts/5")
    rc, out = cli(login, "status", "alice")
    assert rc == 0, out
    assert "2 grace grant(s), the last expiring in" in out, out
    rc, out = cli(login, "unlock", "alice")
    assert rc == 0, out
    rc, out = cli(login, "status", "alice")
    assert "grace" not in out, out
    assert_needs_code(login, sim)
