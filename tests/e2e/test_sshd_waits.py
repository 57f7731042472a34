"""Waits over the real sshd (issue 19 item 1, SPEC 3 `resend_wait`).

Under keyboard-interactive, sshd hands a PAM text message to the client
only together with the next prompt, so a wait inside one conversation
round is invisible; OpenSSH 9.2 (Debian 12) then also delays the answer to
that first round by up to as long again (auth2.c ensure_minimum_time_since,
doc/performance.md).  The module therefore never sleeps through the
provider's minute: it says why and waits at a prompt naming the time left.

The second login needs a resend wait: the first login's send is moved 55 s
back (state record and simulator clock), so the wait is ~6 s.  The test
asserts that the reason and the prompt arrive before the wait, and prints
the measured times (no timing is asserted beyond that)."""

import re
import time

AGO = 55
OK = "PV-E2E-OK"
REASON_RE = re.compile(r"A code was sent (\d+) s ago; the provider allows one "
                       r"per minute\.")
WAIT_PROMPT_RE = re.compile(r"A new code can be sent in (\d+) s\. "
                            r"Press Enter to get it: ")


def _first_login(pv, sshd):
    with sshd.spawn_ssh() as s:
        s.prompt()
        s.answer(pv.sim.wait_code(1))
        out = s.finish()
    assert s.exitstatus == 0 and OK in out.split("\n"), out


def test_resend_wait_is_a_prompt_over_ssh(pv, sshd):
    _first_login(pv, sshd)
    pv.age_last_send(AGO)
    t0 = time.monotonic()
    with sshd.spawn_ssh() as s:
        before = s._expect(WAIT_PROMPT_RE, exact=False)
        shown = time.monotonic() - t0
        left = int(s.child.match.group(1))
        m = REASON_RE.search(before)
        assert m, "no reason before the wait prompt:\n" + s.transcript
        assert int(m.group(1)) + left == 61, m.group(0)
        # the reason comes before the wait, not after it
        assert shown < left, "shown after %.2f s of a %d s wait" % (shown, left)
        s.answer("")                       # early: asked again, nothing sent
        s._expect(WAIT_PROMPT_RE, exact=False)
        again = int(s.child.match.group(1))
        assert pv.sim.stats()["send"] == 2
        time.sleep(again + 0.3)
        s.answer("")
        s.prompt()
        code = pv.sim.wait_code(2)
        t1 = time.monotonic()
        s.answer(code)
        s._expect(OK)
        to_shell = time.monotonic() - t1
        out = s.finish()
    print("\nreason and wait prompt %.2f s after ssh started (wait %d s); "
          "command output %.2f s after the right code" % (shown, left, to_shell))
    assert s.exitstatus == 0, out
    assert "Verification failed." not in out, out
    st = pv.sim.stats()
    # the first login's send, the refused one, the one after the wait
    assert (st["send"], st["verify"]) == (3, 2), st
