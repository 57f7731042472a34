"""SPEC sections 3 and 4: `resend_wait`.  When the send API refuses with its
one-code-per-number-per-minute limit (rate_limit_exceeded) and no code is
reusable, the module says how long it waits, waits (at most resend_wait
seconds counted from the last send recorded in the state) and sends once
more; when the wait does not fit, or the provider still refuses, the login
is refused (PAM_AUTH_ERR whatever failmode says) naming the real wait.

The real wait is kept short without sleeping a minute: after the first
login the test moves the last send recorded in the state back by AGO
seconds and the simulator's clock forward by as much, so both the module
and the provider see a send AGO seconds old."""

import re
import time

import pytest

from hardening_util import record_path
from pvtest import CODE, assert_pam

AGO = 55
WAIT_RE = re.compile(r"A code was sent (\d+) s ago; the provider allows one "
                     r"per minute\. Sending a new code in (\d+) s\.\.\.")
REFUSED_RE = re.compile(r"The provider allows one code per minute; "
                        r"try again in (\d+) s\.")


def age_last_send(login, sim, ago):
    """Make the first login's send `ago` seconds old for both sides."""
    p = record_path(login, "alice")
    text = p.read_text()
    m = re.search(r"^last_sent (\d+)$", text, re.M)
    assert m, "no last_sent in the state record:\n" + text
    text = text.replace(m.group(0), "last_sent %d" % (int(m.group(1)) - ago))
    p.write_text(text)
    sim.clock(ago)


def first_login(login):
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


def test_second_login_waits_and_succeeds(login, sim):
    first_login(login)
    age_last_send(login, sim, AGO)
    t0 = time.monotonic()
    res = login.run("alice", [CODE])
    elapsed = time.monotonic() - t0
    assert_pam(res, "PAM_SUCCESS", "success")
    m = WAIT_RE.search(res.transcript)
    assert m, str(res)
    ago, wait = int(m.group(1)), int(m.group(2))
    assert AGO <= ago <= AGO + 2, str(res)
    assert ago + wait == 61, "waits until the provider's minute passed"
    assert elapsed >= wait - 1, "the module did not wait (%.1f s)" % elapsed
    assert sim.requests("send") == 3        # first, refused, after the wait
    assert len(sim.outbox()) == 2


def test_last_send_recorded_in_state(login, sim):
    before = int(time.time())
    first_login(login)
    text = record_path(login, "alice").read_text()
    m = re.search(r"^last_sent (\d+)$", text, re.M)
    assert m, text
    assert before <= int(m.group(1)) <= int(time.time())


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_resend_wait_zero_refuses_at_once(login, sim, failmode):
    login.conf.update(resend_wait="0", failmode=failmode)
    first_login(login)
    t0 = time.monotonic()
    res = login.run("alice", [])
    elapsed = time.monotonic() - t0
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert res.prompts == [], str(res)
    m = REFUSED_RE.search(res.transcript)
    assert m, str(res)
    assert 58 <= int(m.group(1)) <= 61, "the real wait: %s" % m.group(0)
    assert not WAIT_RE.search(res.transcript)
    assert elapsed < 20, "refused at once, not after a wait"
    assert sim.requests("send") == 2


def test_wait_beyond_resend_wait_refuses(login, sim):
    """resend_wait=30 and the provider's minute ends 61 s after the last
    send: no wait, a refusal naming the real wait."""
    login.conf["resend_wait"] = "30"
    first_login(login)
    age_last_send(login, sim, 10)
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    m = REFUSED_RE.search(res.transcript)
    assert m, str(res)
    assert 49 <= int(m.group(1)) <= 51, m.group(0)
    assert sim.requests("send") == 2


def test_bound_counted_from_last_send(login, sim):
    """resend_wait=30 and a send 40 s old: only 21 s are left, but the
    provider's minute ends 61 s after the send, past the bound counted from
    that send: refused at once, naming the 21 s."""
    login.conf["resend_wait"] = "30"
    first_login(login)
    age_last_send(login, sim, 40)
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert not WAIT_RE.search(res.transcript), str(res)
    m = REFUSED_RE.search(res.transcript)
    assert m and 19 <= int(m.group(1)) <= 21, str(res)


def test_bound_just_fits(login, sim):
    """resend_wait=61 and a send 58 s old: the provider's minute ends
    within the bound: the module waits and sends."""
    login.conf["resend_wait"] = "61"
    first_login(login)
    age_last_send(login, sim, 58)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert WAIT_RE.search(res.transcript), str(res)


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_provider_still_refuses_after_wait(login, sim, failmode):
    login.conf["failmode"] = failmode
    first_login(login)
    age_last_send(login, sim, 58)
    sim.fault("send", "ratelimit")
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert WAIT_RE.search(res.transcript), str(res)
    assert REFUSED_RE.search(res.transcript), str(res)
    assert res.prompts == [], str(res)
    assert sim.requests("send") == 3        # first, refused, once more


def test_reuse_code_comes_first(login, sim):
    """A pending code is reused without any wait."""
    s = login.start("alice", stdin_closed=True)
    assert_pam(s.finish(), "PAM_CONV_ERR", "conv_error")
    code = sim.latest_code()
    res = login.run("alice", [lambda _c: code])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "A code was already sent; enter that code." in res.transcript
    assert not WAIT_RE.search(res.transcript), str(res)
