"""The helper holds no privilege (SPEC 5, issue 9 item 3).

While a real login waits at the code prompt, its helper process (the one
part that parses network input) must run with every uid and gid of the
helper user, no supplementary groups, in a session of its own, not
dumpable, with the module's limits; and a user who started the login
(sudo, su) must not be able to signal it.  Root only: the module changes
identity only when it runs as root (CI runs as root).

The test passwd file (nss_wrapper) has `nobody` but no `_phoneverify`, so
the helper runs as `nobody`: the documented fallback.
"""
import os
import signal

import pytest

from pvtest import RUNNER, assert_pam

NOBODY = 65534
CALLER_UID = 1000          # an ordinary user who "started sudo"

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0,
    reason="root only: as an ordinary user the helper cannot change identity")


def status_of(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        text = f.read()
    # fields after "(comm)": state is field 3
    return text[text.rindex(")") + 2:].split()


def helpers_of(parent, helper_path):
    """Processes running helper_path whose parent is parent."""
    want = os.path.realpath(str(helper_path))
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        try:
            if os.path.realpath("/proc/%d/exe" % pid) != want:
                continue
            if int(status_of(pid)["PPid"]) == parent:
                found.append(pid)
        except (OSError, KeyError, ValueError):
            continue
    return found


def limit(pid, name):
    """The soft limit (what the program runs under; under valgrind the
    hard descriptor limit stays valgrind's)."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith(name):
                return line[26:].split()[0]
    return None


def can_signal_as(uid, pid):
    """Whether a process running as uid may send pid a signal (kill 0)."""
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            try:
                os.kill(pid, 0)
                os.write(w, b"y")
            except PermissionError:
                os.write(w, b"n")
        finally:
            os._exit(0)
    os.close(w)
    answer = os.read(r, 1)
    os.close(r)
    os.waitpid(child, 0)
    return answer == b"y"


def test_helper_identity_while_login_waits(login, sim):
    s = login.start("alice")
    s.expect_prompt()
    try:
        pids = helpers_of(s.child.pid, login.helper)
        assert len(pids) == 1, "helper not found under pamtester %d" % s.child.pid
        pid = pids[0]
        st = status_of(pid)
        assert st["Uid"].split() == [str(NOBODY)] * 4, st["Uid"]
        assert st["Gid"].split() == [str(NOBODY)] * 4, st["Gid"]
        assert st["Groups"] == "", "supplementary groups kept: %r" % st["Groups"]
        assert st["NoNewPrivs"] == "1"
        assert st["SigBlk"] == "0" * 16
        f = stat_fields(pid)
        assert int(f[6 - 3]) == pid, "not in a session of its own"
        assert int(f[19 - 3]) == 0, "nice value inherited"
        # not dumpable: its /proc files belong to root, not to nobody
        assert os.stat("/proc/%d/status" % pid).st_uid == 0, "dumpable"
        assert limit(pid, "Max core file size") == "0"
        if not any("valgrind" in a for a in RUNNER):
            # valgrind keeps descriptor limits in its own bookkeeping
            assert limit(pid, "Max open files") == "64"
        assert not can_signal_as(CALLER_UID, pid), \
            "the user who started the login can signal the helper"
    except BaseException:
        s.kill()
        raise
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
