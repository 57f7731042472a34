"""SPEC 3 `send_limit` / `send_window` and SPEC 4 "send_limit reached ->
PAM_AUTH_ERR whatever failmode says, with the real wait": at most
send_limit codes are requested for one user within send_window seconds,
counted when a code is sent (a login abandoned at the prompt still counts),
decided in pv_sendlimit.c."""

import re

import pexpect

import pytest

from pvtest import CODE, assert_pam

NO_LIMITS = dict(per_number_seconds=0, per_ip_per_hour=1000000)
SPENT_RE = re.compile(r"Too many codes requested for this account; "
                      r"try again in (\d+) (minute|minutes|hours)\.")


def abandon(login, user="alice"):
    """A login that got a code and was left at the prompt."""
    s = login.start(user)
    s.expect_prompt()
    s.kill()
    s.child.close()


def spent_wait(res):
    m = SPENT_RE.search(res.transcript)
    assert m, "no send-budget message:\n%s" % res
    return int(m.group(1)), m.group(2)


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_default_budget_ten_per_hour(login, sim, failmode):
    """Defaults: ten codes an hour.  Ten abandoned logins, then the 11th
    is refused before anything is sent, naming the real wait (about an
    hour), and failmode=safe does not open it."""
    sim.limits(**NO_LIMITS)
    login.conf["send_limit"] = None          # the default
    login.conf["failmode"] = failmode
    for _ in range(10):
        abandon(login)
    assert sim.requests("send") == 10
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "send_limit", rec["_line"]
    assert res.prompts == []
    assert sim.requests("send") == 10, "a code was sent past the budget"
    n, unit = spent_wait(res)
    assert unit == "minutes" and 59 <= n <= 60, (n, unit)


def test_budget_window_and_wait(login, sim):
    """send_limit=2 per 60 s: the third code is refused with "1 minute"."""
    sim.limits(**NO_LIMITS)
    login.conf.update(send_limit="2", send_window="60")
    abandon(login)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert spent_wait(res) == (1, "minute")
    assert sim.requests("send") == 2


def test_budget_is_per_user(login, sim):
    sim.limits(**NO_LIMITS)
    login.conf.update(send_limit="1")
    abandon(login)
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    res = login.run("bob", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


def test_resends_count(login, sim):
    """A resend is a code sent: with send_limit=2 the second empty entry
    (a resend request) is refused with the budget message."""
    sim.limits(**NO_LIMITS)
    login.conf.update(send_limit="2", resend="3")
    res = login.run("alice", ["", ""])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert res.record["reason"] == "send_limit", str(res)
    spent_wait(res)
    assert sim.requests("send") == 2


def test_refused_send_not_counted(login, sim):
    """A send the provider refused (captcha_required: it answered and sent
    nothing) does not spend the budget: send_limit=1, a refusal, then a
    normal login."""
    sim.limits(**NO_LIMITS)
    login.conf.update(send_limit="1")
    sim.fault("send", "captcha", count=1)
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


def test_unanswered_send_counted(login, sim):
    """A send without an answer (the connection dropped) may have gone out:
    it stays counted, so stopping or starving the helper cannot buy texts
    past the budget."""
    sim.limits(**NO_LIMITS)
    login.conf.update(send_limit="1")
    sim.fault("send", "drop", count=1)
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "send_limit", rec["_line"]


def test_budget_record_in_state(login, sim):
    """The sends are in alice's state record (`sent <epoch> <count>`
    lines, one per second with sends)."""
    sim.limits(**NO_LIMITS)
    abandon(login)
    abandon(login)
    text = (login.state_dir / "u-alice").read_text()
    counts = [int(n) for n in re.findall(r"^sent \d+ (\d+)$", text, re.M)]
    assert sum(counts) == 2, text


SIX = 6


def test_requests_in_flight_never_report_the_limit(login, sim):
    """Issue 19 item 2: six logins of one user started together, one code
    sent and the others reusing it, refused one of them for "60 minutes":
    requests still waiting for their answer were counted as sent.  With
    send_limit=3 and every send answered after 1 s, the 4th-6th logins
    find three requests in flight; they wait for those answers (the
    refused ones are given back) instead of reporting the limit."""
    login.conf.update(send_limit="3", max_tries="1", resend="0",
                      timeout="5")
    sim.fault("send", "delay", seconds=1)
    sessions = [login.start("alice") for _ in range(SIX)]
    results = []
    for s in sessions:
        # the code prompt, or the resend_wait prompt (a code typed there
        # is tried against the pending code): answer until it ends
        while s.expect([s.prompt_re, r"Press Enter to get it: ",
                        pexpect.EOF], timeout=60) != 2:
            s.send(sim.latest_code())
        results.append(s.finish())
    spent = [r for r in results if SPENT_RE.search(r.transcript) or
             (r.records and r.record.get("reason") == "send_limit")]
    assert not spent, "refused for the send limit:\n%s" % spent[0]
    assert any(r.records and r.record["outcome"] == "success"
               for r in results), "\n".join(map(str, results))
    assert len(sim.outbox()) == 1, sim.outbox()
    # the refused requests were given back: one code counted
    text = (login.state_dir / "u-alice").read_text()
    counts = [int(n) for n in re.findall(r"^sent \d+ (\d+)$", text, re.M)]
    assert sum(counts) == 1, text


def test_rate_limited_send_given_back(login, sim):
    """A send the provider refused with its per-number minute sent nothing:
    given back.  send_limit=2: a code, then a login whose send is refused
    (it reuses the pending code), then a third login still gets a code."""
    sim.limits(per_number_seconds=60, per_ip_per_hour=1000000)
    login.conf.update(send_limit="2")
    abandon(login)
    res = login.run("alice", [CODE])             # reuses: refused, given back
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "A code was already sent" in res.transcript, str(res)
    text = (login.state_dir / "u-alice").read_text()
    assert sum(int(n) for n in
               re.findall(r"^sent \d+ (\d+)$", text, re.M)) == 1, text
