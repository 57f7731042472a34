"""An ssh login followed at once by sudo (issue 12 item 1, SPEC 3
`resend_wait`): the provider allows one code per number per minute, so the
sudo's send is refused; with resend_wait at its default the module says
why, asks the user to wait at a prompt naming the time left, sends a new
code after Enter and sudo succeeds.

To keep the real wait short instead of a minute, the test moves the ssh
login's send AGO seconds into the past on both sides: the `last_sent` line
of the user's state record and the simulator's clock (POST /_sim/clock)."""

import re
import time

AGO = 55
OK_SSH = "PV-E2E-OK"
OK_SUDO = "PV-SUDO-OK"
WAIT_RE = re.compile(r"A code was sent (\d+) s ago; the provider allows one "
                     r"per minute\.\s+A new code can be sent in (\d+) s\. "
                     r"Press Enter to get it: ")


def test_ssh_then_sudo_waits_for_the_provider(pv, sshd, sudo):
    assert "resend_wait" not in pv.conf_text     # the default (65)
    with sshd.spawn_ssh() as s:
        s.prompt()
        s.answer(pv.sim.wait_code(1))
        out = s.finish()
    assert s.exitstatus == 0 and OK_SSH in out.split("\n"), out

    pv.age_last_send(AGO)
    t0 = time.monotonic()
    with sudo.spawn() as s:
        s._expect(WAIT_RE, exact=False)     # at once, before the wait
        m = s.child.match
        ago, wait = int(m.group(1)), int(m.group(2))
        time.sleep(wait + 0.3)
        s.answer("")
        s.prompt()                           # after the send
        s.answer(pv.sim.wait_code(2))
        out = s.finish()
    elapsed = time.monotonic() - t0
    print(out)                               # the wait message, for the log
    assert s.exitstatus == 0, out
    assert OK_SUDO in out.split("\n"), out
    assert AGO <= ago <= AGO + 3 and ago + wait == 61, m.group(0)
    assert elapsed >= wait - 1, "sudo did not wait (%.1f s)" % elapsed
    assert "Verification failed." not in out, out
    st = pv.sim.stats()
    # ssh's send, sudo's refused send, sudo's send after the wait
    assert (st["send"], st["verify"]) == (3, 2), st
