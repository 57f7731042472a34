"""SPEC section 8, provider failover: with several send_url/verify_url
entries a login uses entry 1; a network-observed outage at entry i moves it
to entry i+1 (never a refusal), and the code is verified at the entry that
sent it.  An entry that failed is tried last by every login for 60 s (the
health record in the state store): marks order the entries, they do not
remove them, and only a network outage marks one, never a local failure.
Refusals never move to the next entry.  Only when every entry has failed in
the login does failmode apply.

Two simulators: the session one (`sim`, entry 2 unless said otherwise) and
a second one started per test (`other`, entry 1), so that killing it or
faulting it touches nothing else."""

import re
import subprocess

import pytest

from hardening_util import CLI
from pvtest import (CODE, NO_LIMITS, TIME_SCALE, Session, _Buf,
                    assert_failure, assert_pam, second_sim, wrong_code)

HEALTH_FILE = "health"               # state_dir/health (PV_STATE_HEALTH_NAME)
ENDPOINT_RE = re.compile(r"^endpoint ([0-9a-f]{64}) (\d+)$", re.M)
RESENT = "A new code has been sent."


@pytest.fixture(autouse=True)
def unlimited(sim):
    sim.limits(**NO_LIMITS)


@pytest.fixture
def other(tls_material):
    """A second simulator (entry 1 of the tests), stopped afterwards."""
    yield from second_sim(tls_material)


def entries(login, *sims):
    """Configure the provider entries in this order."""
    login.conf["send_url"] = " ".join(s.server.send_url for s in sims)
    login.conf["verify_url"] = " ".join(s.server.verify_url for s in sims)


def code_of(sim):
    return sim.latest_code


def wrong_of(sim):
    return lambda: wrong_code(sim.latest_code())


def run(login, *typed):
    """One login of alice; typed: for each prompt, a callable giving the
    text (pvtest's Login.run reads codes from the session simulator only)."""
    s = login.start("alice")
    for t in typed:
        s.expect_prompt()
        s.send(t())
    return s.finish()


def marks(login):
    """{entry key: out-until} from the health record (file store)."""
    path = login.state_dir / HEALTH_FILE
    if not path.exists():
        return {}
    return dict((k, int(t)) for k, t in ENDPOINT_RE.findall(path.read_text()))


def expire_marks(login):
    """Play the 60 s passing: every out-until moved into the past."""
    path = login.state_dir / HEALTH_FILE
    path.write_text(ENDPOINT_RE.sub(lambda m: "endpoint %s 1" % m.group(1),
                                    path.read_text()))


def test_killed_entry_moves_login_to_next(login, sim, other):
    entries(login, other, sim)
    other.server.stop()
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("send") == 1
    assert len(marks(login)) == 1, "the dead entry was not marked out"
    # the next login goes straight to entry 2
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("send") == 2


def test_5xx_entry_skipped_then_back_after_60s(login, sim, other):
    entries(login, other, sim)
    other.fault("send", "http500")
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert other.requests("send") == 1 and sim.requests("send") == 1
    (until,) = marks(login).values()

    # marked out: a second login does not ask entry 1 at all
    other.clear_faults()
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert other.requests("send") == 1 and sim.requests("send") == 2
    assert list(marks(login).values()) == [until]

    # 60 s later entry 1 is used again
    expire_marks(login)
    res = run(login, code_of(other))
    assert_pam(res, "PAM_SUCCESS", "success")
    assert other.requests("send") == 2 and sim.requests("send") == 2
    assert other.requests("verify") == 1


def test_verify_outage_sends_new_code_at_next_entry(login, sim, other):
    """The code from entry 1 cannot be checked while entry 1 is out: a new
    one comes from entry 2, without spending `resend`, through the send
    budget."""
    entries(login, other, sim)
    login.conf["resend"] = "0"
    login.conf["send_limit"] = "2"
    other.fault("verify", "http500")
    s = login.start("alice")
    s.expect_prompt()
    s.send(other.latest_code())
    s.expect(re.escape(RESENT))
    s.expect_prompt()
    assert len(sim.outbox()) == 1, "no new code from entry 2"
    s.send(sim.latest_code())
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    assert other.requests("verify") == 1 and sim.requests("verify") == 1
    assert len(marks(login)) == 1


def test_verify_failover_stays_within_send_budget(login, sim, other):
    entries(login, other, sim)
    login.conf["send_limit"] = "1"
    other.fault("verify", "http500")
    res = run(login, code_of(other))
    # the one allowed code was spent at entry 1: a refusal naming the wait,
    # never a second code
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert sim.requests("send") == 0


def test_verify_failover_keeps_tries(login, sim, other):
    """The try whose answer the outage hid stays counted: no extra
    guesses."""
    entries(login, other, sim)
    login.conf["max_tries"] = "2"
    other.fault("verify", "http500")
    res = run(login, code_of(other), wrong_of(sim))
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert sim.requests("verify") == 1


@pytest.mark.parametrize("kind,pam", [
    ("ratelimit", "PAM_AUTH_ERR"),          # a refusal the user provokes
    ("auth", "PAM_AUTHINFO_UNAVAIL"),       # our credentials rejected
    ("redirect", "PAM_AUTHINFO_UNAVAIL"),   # our request is wrong
])
def test_send_refusal_does_not_move(login, sim, other, kind, pam):
    entries(login, other, sim)
    login.conf["failmode"] = "safe"
    login.conf["resend_wait"] = "0"     # a rate limit refuses at once
    other.fault("send", kind)
    res = login.run("alice", [])
    assert_pam(res, pam)
    assert sim.requests("send") == 0, "a refusal moved to entry 2"
    assert marks(login) == {}


def test_wrong_code_does_not_move(login, sim, other):
    entries(login, other, sim)
    login.conf["max_tries"] = "2"
    res = run(login, wrong_of(other), wrong_of(other))
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert other.requests("verify") == 2
    assert sim.requests("send") == 0 and sim.requests("verify") == 0
    assert marks(login) == {}


def test_verify_credentials_do_not_move(login, sim, other):
    entries(login, other, sim)
    other.fault("verify", "auth")
    res = run(login, code_of(other))
    assert_failure(res, "credentials", "secure")
    assert sim.requests("send") == 0


@pytest.mark.parametrize("failmode", ["safe", "secure"])
def test_failmode_only_when_every_entry_is_out(login, sim, other, failmode):
    entries(login, other, sim)
    login.conf["failmode"] = failmode
    other.fault("send", "http500")
    sim.fault("send", "http500")
    res = login.run("alice", [])
    assert_failure(res, "outage", failmode)
    assert other.requests("send") == 1 and sim.requests("send") == 1
    assert len(marks(login)) == 2
    # every entry marked out: tried in order anyway, and the first one
    # that answers serves the login
    sim.clear_faults()
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert other.requests("send") == 2 and sim.requests("send") == 2


def test_one_entry_up_never_opens(login, sim, other):
    """failmode=safe with entry 1 dead: entry 2 answers, so a code is still
    required."""
    entries(login, other, sim)
    login.conf["failmode"] = "safe"
    login.conf["max_tries"] = "1"
    other.server.stop()
    res = login.run("alice", [wrong_code])
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert sim.requests("send") == 1


def test_unequal_lists_are_a_config_error(login, sim, other):
    entries(login, other, sim)
    login.conf["verify_url"] = sim.server.verify_url
    login.write_conf()
    res = login.run("alice", [])
    assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    assert res.prompts == [] and sim.requests("send") == 0
    where = "%s:%d" % (login.conf_path, login.conf_line_of("verify_url"))
    assert where in res.transcript, res


def test_health_record_is_no_user_in_status(login, sim, other):
    """`phoneverify status` (every user) does not list the reserved
    record as a user."""
    entries(login, other, sim)
    other.server.stop()
    assert_pam(login.run("alice", [CODE]), "PAM_SUCCESS", "success")
    assert (login.state_dir / HEALTH_FILE).exists()
    r = subprocess.run([str(CLI), "--conf", str(login.conf_path), "status"],
                       env=dict(login.env()),  # the world's passwd
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r
    assert "alice" in r.stdout, r.stdout
    assert ":endpoints" not in r.stdout + r.stderr, r.stdout


# ---- issue 17, item 9: marks order the entries, they do not remove them --


def mark_entry_1(login, sim, other):
    """One login in which entry 1 (other) has a 5xx: entry 1 is marked out
    for 60 s and the login is served by entry 2."""
    other.fault("send", "http500", count=1)
    assert_pam(login.run("alice", [CODE]), "PAM_SUCCESS", "success")
    assert len(marks(login)) == 1
    assert other.requests("send") == 1 and sim.requests("send") == 1


def test_marked_entry_tried_when_the_others_fail_at_send(login, sim, other):
    """Entry 1 marked, entry 2 gives a 5xx: entry 1 is tried too, and it
    serves the login.  failmode=safe must not open while one entry is
    left (before: every entry counted as out, the login failed open)."""
    entries(login, other, sim)
    login.conf["failmode"] = "safe"
    mark_entry_1(login, sim, other)
    sim.fault("send", "http500")
    res = run(login, code_of(other))
    assert_pam(res, "PAM_SUCCESS", "success")
    assert res.record["outcome"] != "failopen"
    assert other.requests("send") == 2 and sim.requests("send") == 2
    assert other.requests("verify") == 1
    assert len(marks(login)) == 2


def test_marked_entry_tried_when_the_others_fail_at_verify(login, sim, other):
    """Entry 1 marked, entry 2 sends the code and its verify call gives a
    5xx: a new code comes from entry 1, and a wrong one is refused there
    (no fail-open with failmode=safe)."""
    entries(login, other, sim)
    login.conf.update(failmode="safe", max_tries="2")
    mark_entry_1(login, sim, other)
    sim.fault("verify", "http500")
    res = run(login, code_of(sim), wrong_of(other))
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert other.requests("send") == 2 and other.requests("verify") == 1
    assert RESENT in res.transcript, res


def test_failmode_only_after_every_entry_failed_in_the_login(login, sim,
                                                              other):
    """Entry 1 marked, then both give a 5xx: both are asked, and only then
    does failmode apply."""
    entries(login, other, sim)
    login.conf["failmode"] = "secure"
    mark_entry_1(login, sim, other)
    other.fault("send", "http500")
    sim.fault("send", "http500")
    res = login.run("alice", [])
    assert_failure(res, "outage", "secure")
    assert other.requests("send") == 2 and sim.requests("send") == 2


# ---- issue 17, item 1: a local failure never marks an entry down ---------


def test_helper_that_cannot_run_marks_nothing(login, sim, other):
    """The helper exits at once (as when the caller's limits keep it from
    starting): a local failure, so no entry is marked, and the next login
    with a working helper uses entry 1."""
    entries(login, other, sim)
    good = login.conf["helper"]
    bad = login.dir / "broken-helper"
    bad.write_text("#!/bin/sh\nexit 3\n")
    bad.chmod(0o755)
    login.conf.update(helper=str(bad), failmode="safe")
    res = login.run("alice", [])
    assert res.rc == 1 and res.record["outcome"] != "failopen", str(res)
    assert marks(login) == {}, "a local failure marked an entry down"
    assert other.requests("send") == 0 and sim.requests("send") == 0
    login.conf["helper"] = good
    res = run(login, code_of(other))
    assert_pam(res, "PAM_SUCCESS", "success")
    assert other.requests("send") == 1 and sim.requests("send") == 0


def test_descriptor_limit_marks_nothing(login, sim, other):
    """The program started under `ulimit -n 7` (the helper cannot start):
    no entry is marked, fleet health stays as it was."""
    entries(login, other, sim)
    login.conf["failmode"] = "safe"
    login._prepare("sshd", "single")
    argv = ["/bin/sh", "-c", 'ulimit -n 7 && exec "$@"', "sh",
            "pamtester", "-v", "-I", "rhost=203.0.113.9", "sshd", "alice",
            "authenticate"]
    s = Session(login, argv, login.env(), login.prompt_regex())
    s.child.logfile_read = _Buf()
    res = s.finish(allow_prompt=True, timeout=60 * TIME_SCALE)
    assert res.rc != 0 and "successfully authenticated" not in res.transcript
    assert marks(login) == {}, "a local failure marked an entry down"
