"""SPEC 5: "A guess is recorded as an attempt before it is sent to the
verify API (under the state lock, after checking the lockout), and cleared
by its success; so N parallel logins get no more guesses than
lockout_failures allows."  SPEC 4: the lockout is checked before every
code goes to the verify API, not only at the start of the login; an
expired code (the provider's explicit answer) is no guess, but a guess whose
request was sent stays counted whatever happens to its answer (lost, cut,
timed out): the provider may have checked it (issue 17, item 7)."""

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


def test_outage_on_verify_keeps_the_attempt(login, sim):
    """An outage on the verify call: the request went out and the provider
    may have checked the code, so the attempt recorded before the call
    stays counted."""
    login.conf["max_tries"] = "3"
    s = login.start("alice")
    s.expect_prompt()
    sim.fault("verify", "http500")
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert file_failures(login, "alice") == 1


def test_cut_wrong_answers_buy_no_guesses(login, sim):
    """The attack of issue 17, item 7: a verify server (an attacker on the
    path) cuts exactly the answers saying "verified": false.  With
    lockout_failures=3, however many logins try, at most 3 guesses reach
    the verify API before the user is locked."""
    sim.limits(**NO_LIMITS)
    login.conf.update(lockout_failures="3", max_tries="1", send_limit="1000",
                      failmode="secure")
    sim.fault("verify", "cut_wrong")
    login.write_conf()
    pams = []
    for _ in range(8):
        locked, _failures = cli_status(login, "alice")
        res = login.run("alice", [] if locked else [wrong_code])
        pams.append(res.record["pam"])
        assert res.record["outcome"] not in ("success", "failopen"), str(res)
    verify_calls = sim.requests("verify")
    assert verify_calls <= 3, \
        "%d guesses reached the verify API (lockout_failures=3): %r" % (
            verify_calls, pams)
    assert pams[3:] == ["PAM_PERM_DENIED"] * 5, pams
    locked, _failures = cli_status(login, "alice")
    assert locked


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


def test_attempt_reaching_threshold_then_outage_keeps_lock(login, sim):
    """The attempt that reached lockout_failures stays counted when its
    verify answer is lost: the lockout it started holds, and the login
    ends locked."""
    login.conf.update(lockout_failures="2", max_tries="3")
    s = login.start("alice")
    s.expect_prompt()
    s.send(wrong_code(sim.latest_code()))
    s.expect_prompt()
    sim.fault("verify", "http500")
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    locked, _failures = cli_status(login, "alice")
    assert locked
