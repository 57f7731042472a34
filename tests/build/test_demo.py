"""scripts/demo (what `make demo` runs): a person logs in with the code the
simulator prints in the terminal, and a wrong code is refused."""
import os
import re

import pexpect

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("PV_BUILD", os.path.join(ROOT, "build"))
SMS = re.compile(r"\[sim\] SMS to \+86 13800138000: code (\d{6})")


def test_demo_accepts_printed_code_and_refuses_a_wrong_one():
    env = dict(os.environ, PV_BUILD=BUILD)
    child = pexpect.spawn("/usr/bin/python3", [os.path.join(ROOT, "scripts", "demo")],
                          env=env, encoding="utf-8", timeout=30)
    try:
        child.expect(SMS)
        code = child.match.group(1)
        child.expect(r"Verification code sent to \+86 \*+8000: ")
        child.sendline(code)
        child.expect(r"== login ACCEPTED ==")
        child.expect(r"Another login\? \[y/N\] ")
        child.sendline("y")
        child.expect(SMS)
        good = child.match.group(1)
        wrong = "%06d" % ((int(good) + 1) % 1000000)
        for _ in range(3):
            child.expect(r"Verification code sent to .*: ")
            child.sendline(wrong)
        child.expect(r"== login REFUSED ==")
        child.expect(r"Another login\? \[y/N\] ")
        child.sendline("n")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
    # the demo cleaned up after itself: no simulator left behind
    assert child.exitstatus is not None
