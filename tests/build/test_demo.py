"""scripts/demo (what `make demo` runs): a person logs in with the code the
simulator prints in the terminal, and a wrong code is refused."""
import os
import re
import subprocess

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


def test_make_demo_is_quiet_and_ctrl_c_ends_it_cleanly():
    """`make demo` as a person runs it: build lines summarised, no
    pam_wrapper error about a missing "other" service, and Ctrl-C at the
    prompt ends the demo with status 0 and no "make: *** Interrupt"."""
    child = pexpect.spawn("make", ["--no-print-directory", "-C", ROOT, "demo",
                                   "BUILD=%s" % BUILD],
                          env=dict(os.environ), encoding="utf-8", timeout=120)
    try:
        child.expect(r"Verification code sent to \+86 \*+8000: ")
        before = child.before
        child.sendintr()
        child.expect(pexpect.EOF)
        out = before + child.before
    finally:
        child.close(force=True)
    assert child.exitstatus == 0, (child.exitstatus, out)
    assert "demo: stopped" in out, out
    assert "Interrupt" not in out and "Error" not in out, out
    assert "PWRAP_ERROR" not in out, out
    assert "-DPV_DEFAULT_HELPER" not in out, "build lines are not summarised"


def test_demo_installs_only_what_it_runs():
    """`make demo` asks scripts/install-deps for the demo's set: the build
    tools and the login harness, not sshd, etcd, valgrind or lintian."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "install-deps"), "--demo", "--list"],
                         check=True, capture_output=True, text=True).stdout.split()
    assert {"pamtester", "libpam-wrapper", "libnss-wrapper", "libcurl4-openssl-dev"} <= set(out)
    for heavy in ("openssh-server", "etcd-server", "valgrind", "lintian", "sudo", "clang"):
        assert heavy not in out, heavy
    makefile = open(os.path.join(ROOT, "Makefile")).read()
    assert "\ndemo: deps-demo\n" in makefile


def test_ctrl_c_never_prints_a_traceback():
    """Ctrl-C at the prompt, several times over (the simulator used to get
    both the terminal's SIGINT and the demo's SIGTERM and, now and then,
    print a traceback from the second)."""
    for _ in range(4):
        child = pexpect.spawn("/usr/bin/python3", [os.path.join(ROOT, "scripts", "demo")],
                              env=dict(os.environ, PV_BUILD=BUILD), encoding="utf-8",
                              timeout=60)
        try:
            child.expect(r"Verification code sent to \+86 \*+8000: ")
            child.sendintr()
            child.sendintr()
            child.expect(pexpect.EOF)
            out = child.before
        finally:
            child.close(force=True)
        assert "Traceback" not in out and "Stop" not in out, out
        assert child.exitstatus == 0, (child.exitstatus, out)


def test_killed_demo_leaves_no_simulator():
    """A demo killed outright (no clean-up of its own) takes its simulator
    with it: nothing keeps listening on loopback afterwards."""
    child = pexpect.spawn("/usr/bin/python3", [os.path.join(ROOT, "scripts", "demo")],
                          env=dict(os.environ, PV_BUILD=BUILD), encoding="utf-8", timeout=60)
    child.expect(r"Simulator on 127\.0\.0\.1:(\d+)")
    port = child.match.group(1)
    child.expect(r"Verification code sent to")
    child.kill(9)
    child.close(force=True)
    import socket
    import time
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        s = socket.socket()
        try:
            if s.connect_ex(("127.0.0.1", int(port))) != 0:
                return
        finally:
            s.close()
        time.sleep(0.2)
    raise AssertionError("the simulator on port %s outlived the killed demo" % port)
