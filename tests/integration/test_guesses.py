"""SPEC 5: "A guess is recorded as an attempt before it is sent to the
verify API (under the state lock, after checking the lockout), and cleared
by its success; so N parallel logins get no more guesses than
lockout_failures allows."  SPEC 4: the lockout is checked before every
code goes to the verify API, not only at the start of the login; an
expired code and an outage on the verify call are no guess."""

from hardening_util import Batch, cli_status, file_failures, records_of
from pvtest import CODE, NO_LIMITS, TIME_SCALE, assert_pam, wrong_code

LOCKED = "Too many failed attempts; try again later."
N_PARALLEL = 50
GUESS = "000000"


def test_parallel_wrong_codes_bounded_by_lockout(login, sim):
    """50 logins for alice at once, each typing three wrong codes, at the
    default lockout (10 failures): no more than 10 codes reach the verify
    API, and every login is refused."""
    sim.limits(**NO_LIMITS)
    login.conf.update(send_limit="1000")
    limit = 10                       # the default lockout_failures
    for _attempt in range(2):
        sim.reset()
        sim.limits(**NO_LIMITS)
        batch = Batch(login, ["alice"] * N_PARALLEL, [GUESS] * 3)
        runs = batch.finish(timeout=90 * TIME_SCALE)
        if GUESS not in [m["code"] for m in sim.outbox()]:
            break
        # one in ~20000 runs the simulator issues the guess itself: again
        for f in login.state_dir.iterdir():
            f.unlink()
    verify_calls = sim.requests("verify")
    print("verify calls reaching the simulator: %d, lockout_failures: %d, "
          "clients alive at once: %d, re-run for pam_wrapper: %d"
          % (verify_calls, limit, batch.peak, batch.reruns))
    assert verify_calls <= limit, \
        "%d guesses reached the verify API (lockout_failures=%d)" % (
            verify_calls, limit)
    assert batch.peak > 1, "the logins did not overlap"
    pams = []
    for rc, out in runs:
        recs = records_of(out)
        assert rc == 1 and len(recs) == 1, "rc=%r\n%s" % (rc, out)
        pams.append(recs[0]["pam"])
    assert set(pams) <= {"PAM_PERM_DENIED", "PAM_MAXTRIES"}, pams
    assert "PAM_PERM_DENIED" in pams
    locked, _failures = cli_status(login, "alice")
    assert locked


def test_login_opened_before_lockout_cannot_use_code_after(login, sim):
    """A login at its prompt when another login locks the user out: its
    right code is refused (PAM_PERM_DENIED, not sent to verify), and the
    lockout stays."""
    sim.limits(**NO_LIMITS)
    login.conf.update(lockout_failures="2", max_tries="2", send_limit="1000")
    early = login.start("alice")
    early.expect_prompt()
    code = sim.latest_code()
    res = login.run("alice", [wrong_code, wrong_code])
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    verify_before = sim.requests("verify")
    early.send(code)
    res = early.finish()
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    assert LOCKED in res.transcript, str(res)
    assert sim.requests("verify") == verify_before, \
        "a locked-out user's code reached the verify API"
    locked, _n = cli_status(login, "alice")
    assert locked, "the late login's code cleared the lockout"


def test_success_clears_recorded_attempt(login, sim):
    """The attempt recorded before the verify call is cleared by its
    success: a wrong code then the right one leave no failure."""
    login.conf.update(max_tries="3")
    res = login.run("alice", [wrong_code, CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert file_failures(login, "alice") == 0
    assert cli_status(login, "alice") == (False, 0)


def test_outage_on_verify_takes_back_the_attempt(login, sim):
    """An outage on the verify call: the code was never judged, so the
    attempt recorded before the call is taken back."""
    login.conf.update(max_tries="3")
    s = login.start("alice")
    s.expect_prompt()
    sim.fault("verify", "http500")
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert file_failures(login, "alice") == 0


def test_wrong_code_counted_before_verify(login, sim):
    """A wrong code is one failure in the record (recorded before the
    call, not again after it)."""
    login.conf.update(max_tries="1", lockout_failures="5")
    res = login.run("alice", [wrong_code])
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert file_failures(login, "alice") == 1
    assert sim.requests("verify") == 1


def test_expired_code_takes_back_the_attempt(login, sim):
    """An expired code is no guess: the attempt recorded before the call
    is taken back (a new code is sent, then accepted)."""
    sim.limits(**NO_LIMITS)
    login.conf.update(max_tries="3", resend="1", lockout_failures="5")
    s = login.start("alice")
    s.expect_prompt()
    sim.clock(601)                   # the code (600 s) expires
    s.send_code()
    s.expect_prompt()
    assert file_failures(login, "alice") == 0
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "Code expired; a new code has been sent." in res.transcript
    assert file_failures(login, "alice") == 0


def test_attempt_reaching_threshold_then_outage_lifts_lock(login, sim):
    """The attempt that reached lockout_failures is taken back when its
    verify call fails: the lockout it started is lifted again."""
    login.conf.update(lockout_failures="2", max_tries="3")
    s = login.start("alice")
    s.expect_prompt()
    s.send(wrong_code(sim.latest_code()))
    s.expect_prompt()
    sim.fault("verify", "http500")
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    locked, failures = cli_status(login, "alice")
    assert not locked and failures == 1, (locked, failures)
