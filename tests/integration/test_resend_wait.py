"""SPEC sections 3 and 4: `resend_wait`.  When the send API refuses with its
one-code-per-number-per-minute limit (rate_limit_exceeded) and no code is
reusable, the module says why and asks the user to wait at a prompt that
names the time left ("A new code can be sent in M s. Press Enter to get
it: "), at most resend_wait seconds counted from the last send recorded in
the state; Enter before the time is up asks again with what is left, and
after it one more code is sent.  The module never sleeps through the wait
(under sshd's keyboard-interactive a message is only shown with the next
prompt: a wait inside one conversation round is invisible).  When the wait
does not fit, or the provider still refuses, the login is refused
(PAM_AUTH_ERR whatever failmode says) naming the real wait.

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
REASON_RE = re.compile(r"A code was sent (\d+) s ago; the provider allows one "
                       r"per minute\.")
WAIT_PROMPT_RE = re.compile(r"A new code can be sent in (\d+) s\. "
                            r"Press Enter to get it: ")
REFUSED_RE = re.compile(r"The provider allows one code per minute; "
                        r"try again in (\d+) s\.")


def age_last_send(login, sim, ago):
    """Make the first login's send `ago` seconds old, from now, for both
    sides: the time the first login took after its send (seconds under
    ASan on a loaded machine) is taken off, or a 3 s margin is gone."""
    p = record_path(login, "alice")
    text = p.read_text()
    m = re.search(r"^last_sent (\d+)$", text, re.M)
    assert m, "no last_sent in the state record:\n" + text
    shift = ago - (int(time.time()) - int(m.group(1)))
    # the send counted for the budget too: the record stays consistent (a
    # send counted after last_sent would be one still waiting for its answer)
    p.write_text(re.sub(r"^(last_sent|sent) (\d+)",
                        lambda m: "%s %d" % (m.group(1), int(m.group(2)) - shift),
                        text, flags=re.M))
    sim.clock(shift)


def first_login(login):
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


def wait_at_prompt(s, seen=False):
    """At the wait prompt (seen: already matched): Enter once the time it
    names has passed."""
    if not seen:
        s.expect(WAIT_PROMPT_RE)
    left = int(s.child.match.group(1))
    time.sleep(left + 0.3)
    s.send("")
    return left


def test_second_login_prompts_and_succeeds(login, sim):
    """The reason and the prompt come at once (before any wait), Enter
    pressed early asks again with the time left, Enter after it sends."""
    first_login(login)
    age_last_send(login, sim, AGO)
    t0 = time.monotonic()
    s = login.start("alice")
    s.expect(WAIT_PROMPT_RE)
    shown_after = time.monotonic() - t0
    before = s.child.before
    first_left = int(s.child.match.group(1))
    m = REASON_RE.search(before)
    assert m, before
    ago = int(m.group(1))
    assert AGO <= ago <= AGO + 2, before
    assert ago + first_left == 61, "the provider's minute: %s" % before
    # shown before the wait, not after it
    assert shown_after < first_left - 1, shown_after
    s.send("")                                  # early: asked again
    s.expect(WAIT_PROMPT_RE)
    again = int(s.child.match.group(1))
    assert 1 <= again <= first_left, again
    assert sim.requests("send") == 2            # nothing sent meanwhile
    time.sleep(again + 0.3)
    s.send("")
    s.expect_prompt()
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("send") == 3        # first, refused, after the wait
    assert len(sim.outbox()) == 2
    print("reason and prompt after %.2f s, wait %d s" % (shown_after,
                                                          first_left))


def test_code_typed_at_the_wait_prompt_is_not_sent(login, sim):
    """With no code pending, what is typed at the wait prompt goes
    nowhere: no verify request, and it counts as Enter."""
    first_login(login)
    code = sim.latest_code()
    age_last_send(login, sim, AGO)
    s = login.start("alice")
    s.expect(WAIT_PROMPT_RE)
    s.send(code)                                # the consumed first code
    s.expect(WAIT_PROMPT_RE)
    assert sim.requests("verify") == 1
    wait_at_prompt(s, seen=True)
    s.expect_prompt()
    s.send_code()
    assert_pam(s.finish(), "PAM_SUCCESS", "success")
    assert sim.requests("verify") == 2


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
    assert not WAIT_PROMPT_RE.search(res.transcript)
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
    assert not WAIT_PROMPT_RE.search(res.transcript), str(res)
    m = REFUSED_RE.search(res.transcript)
    assert m and 19 <= int(m.group(1)) <= 21, str(res)


def test_bound_just_fits(login, sim):
    """resend_wait=61 and a send 58 s old: the provider's minute ends
    within the bound: the module waits and sends."""
    login.conf["resend_wait"] = "61"
    first_login(login)
    age_last_send(login, sim, 58)
    s = login.start("alice")
    wait_at_prompt(s)
    s.expect_prompt()
    s.send_code()
    assert_pam(s.finish(), "PAM_SUCCESS", "success")


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_provider_still_refuses_after_wait(login, sim, failmode):
    login.conf["failmode"] = failmode
    first_login(login)
    age_last_send(login, sim, 58)
    sim.fault("send", "ratelimit")
    s = login.start("alice")
    wait_at_prompt(s)
    res = s.finish()
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert REASON_RE.search(res.transcript), str(res)
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
    assert not WAIT_PROMPT_RE.search(res.transcript), str(res)
