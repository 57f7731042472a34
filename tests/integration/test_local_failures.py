"""SPEC 4: "a local failure: the helper cannot be started or run, is
stopped, killed or times out on the module's side, descriptors or memory
run out -> PAM_AUTHINFO_UNAVAIL whatever failmode says (the calling user
may be able to cause it)".  Under sudo or su the caller can stop the
helper or start the program with `ulimit -n 6`; with failmode=safe that
must never open the door.  (The real-sudo twins are in
tests/e2e/test_sudo.py.)"""

import os
import signal
import time
from pathlib import Path

import pytest

from hardening_util import file_failures
from pvtest import FAULT_BOUND, TIME_SCALE, Session, _Buf, assert_pam


def children(pid):
    """Direct children of pid (from /proc)."""
    out = []
    for task in Path("/proc/%d/task" % pid).glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def helper_of(session, timeout=5.0):
    """The pid of the login's phoneverify-http helper."""
    deadline = time.monotonic() + timeout * TIME_SCALE
    while time.monotonic() < deadline:
        for c in children(session.child.pid):
            try:
                exe = os.readlink("/proc/%d/exe" % c)
            except OSError:
                continue
            if exe.endswith("phoneverify-http"):
                return c
        time.sleep(0.05)
    raise AssertionError("no helper process under pamtester %d"
                         % session.child.pid)


def assert_local(res):
    rec = assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert rec["reason"] == "transport_helper", rec["_line"]
    assert "Verification service unavailable." in res.transcript, str(res)
    return rec


@pytest.mark.parametrize("failmode", ["safe", "secure"])
def test_stopped_helper_never_opens(login, sim, failmode):
    """The caller stops the helper (SIGSTOP) while the user is at the
    prompt: the verify request misses the module's deadline, a local
    failure, PAM_AUTHINFO_UNAVAIL even with failmode=safe; no break-glass
    prompt."""
    login.conf["failmode"] = failmode
    login.conf["breakglass_file"] = str(login.dir / "breakglass")
    s = login.start("alice")
    s.expect_prompt()
    helper = helper_of(s)
    os.kill(helper, signal.SIGSTOP)
    try:
        s.send_code()
        res = s.finish(timeout=60 * TIME_SCALE)
    finally:
        try:
            os.kill(helper, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert_local(res)
    assert "Emergency code" not in res.transcript, str(res)
    assert sim.requests("verify") == 0
    # the guess stays counted: stopping the helper buys no free guesses
    assert file_failures(login, "alice") == 1
    # bounded: the module's own deadline (timeout + connect_timeout + margin)
    assert res.since_answer <= FAULT_BOUND + 4 * TIME_SCALE, str(res)


def test_killed_helper_never_opens(login, sim):
    """The helper killed at the prompt: the next request is local too."""
    login.conf["failmode"] = "safe"
    s = login.start("alice")
    s.expect_prompt()
    os.kill(helper_of(s), signal.SIGKILL)
    s.send_code()
    res = s.finish()
    # the module may start a new helper for a dead one: then the code
    # verifies and the login succeeds through the code, never failmode
    assert res.record["outcome"] in ("success", "unavailable"), str(res)


def test_helper_cannot_start_never_opens(login, sim):
    """A helper that cannot run (exits at once): local, closed even with
    failmode=safe."""
    bad = login.dir / "broken-helper"
    bad.write_text("#!/bin/sh\nexit 3\n")
    os.chmod(bad, 0o755)
    login.conf.update(helper=str(bad), failmode="safe")
    res = login.run("alice", [])
    assert res.rc == 1, str(res)
    assert res.record["pam"] in ("PAM_AUTHINFO_UNAVAIL", "PAM_SERVICE_ERR"), \
        str(res)
    assert res.record["outcome"] != "failopen"
    assert sim.requests("send") == 0


@pytest.mark.parametrize("nofile", [6, 7])
def test_low_descriptor_limit_never_opens(login, sim, nofile):
    """The program started under `ulimit -n N`: whatever fails for lack of
    descriptors is local (or the state the module cannot update), and
    failmode=safe does not open."""
    login.conf["failmode"] = "safe"
    login._prepare("sshd", "single")
    argv = ["/bin/sh", "-c", 'ulimit -n %d && exec "$@"' % nofile, "sh",
            "pamtester", "-v", "-I", "rhost=203.0.113.9", "sshd", "alice",
            "authenticate"]
    s = Session(login, argv, login.env(), login.prompt_regex())
    s.child.logfile_read = _Buf()
    res = s.finish(allow_prompt=True, timeout=60 * TIME_SCALE)
    assert res.rc != 0, "logged in under ulimit -n %d\n%s" % (nofile, res)
    assert "successfully authenticated" not in res.transcript, str(res)
    assert len(res.records) <= 1, str(res)
    if not res.records:
        # a sanitizer runtime or wrapper took the descriptors first: the
        # module never ran (pam_wrapper said why); nothing to check there
        instrumented = bool(os.environ.get("PV_TEST_PRELOAD") or
                            os.environ.get("PV_TEST_WRAPPER"))
        assert instrumented, "the module did not run in a plain pass:\n%s" % res
        return
    rec = res.records[0]
    assert rec["outcome"] not in ("failopen", "success"), rec["_line"]
    # 6: the state record cannot be opened; 7: the helper cannot start
    assert rec["reason"] in ("state_error", "transport_helper"), rec["_line"]
    assert rec["pam"] in ("PAM_SERVICE_ERR", "PAM_AUTHINFO_UNAVAIL"), \
        rec["_line"]
