"""SPEC 5: state records are written owned by root:root whatever the
caller's groups (issue 17 item 11).

su and sudo are setuid root only: the login runs with euid 0 but with the
calling user's real and effective group and supplementary groups, and a
file the kernel creates takes the effective group.  Before the fix, a
wrong code entered under `su` run by bob left `root:bob 0600` records,
lock files and (when missing) the state directory itself.  The PAM client
here is started the same way: as root, with the real, effective and
supplementary groups of bob (setpriv), in front of pamtester.
"""

import os
import stat

import pytest

import pvtest
from hardening_util import record_path

BOB_GID = pvtest.USERS["bob"][1]
STAFF_GID = pvtest.GROUPS["staff"][0]


@pytest.fixture
def bob_groups(monkeypatch):
    """Every login of the test runs with bob's groups (euid stays 0)."""
    wrapper = ["setpriv", "--regid=%d" % BOB_GID,
               "--groups=%d,%d" % (BOB_GID, STAFF_GID)]
    monkeypatch.setattr(pvtest, "RUNNER", wrapper + pvtest.RUNNER)


def assert_root_private(path, mode):
    st = os.lstat(path)
    assert (st.st_uid, st.st_gid) == (0, 0), \
        "%s is %d:%d, not root:root" % (path, st.st_uid, st.st_gid)
    assert stat.S_IMODE(st.st_mode) == mode, \
        "%s has mode %o" % (path, stat.S_IMODE(st.st_mode))


def test_runner_really_has_the_callers_groups(login, bob_groups, tmp_path):
    """The wrapper does what the other tests rely on: a file created by
    the PAM client's process tree takes bob's group."""
    probe = tmp_path / "probe"
    r = os.system(" ".join(pvtest.RUNNER[:3]) +
                  " /bin/sh -c 'umask 077; : > %s'" % probe)
    assert r == 0
    assert os.lstat(probe).st_gid == BOB_GID


def test_records_and_locks_root_root(login, sim, bob_groups):
    res = login.run("alice", ["000000", "000000", "000000"])
    assert res.record.get("pam") != "PAM_SUCCESS", str(res)
    rec = record_path(login, "alice")
    assert rec.exists(), str(res)
    assert_root_private(rec, 0o600)
    lock = rec.with_name(rec.name + ".lock")
    assert lock.exists(), str(res)
    assert_root_private(lock, 0o600)
    for p in login.state_dir.iterdir():
        assert_root_private(p, 0o600)


def test_state_dir_created_root_root(login, sim, bob_groups):
    """state_dir missing: the module creates it, root:root 0700."""
    new_dir = login.state_dir / "fresh"
    login.conf["state_dir"] = str(new_dir)
    res = login.run("alice", ["000000", "000000", "000000"])
    assert res.record.get("pam") != "PAM_SUCCESS", str(res)
    assert new_dir.is_dir(), str(res)
    assert_root_private(new_dir, 0o700)
    files = list(new_dir.iterdir())
    assert files, str(res)
    for p in files:
        assert_root_private(p, 0o600)


def test_existing_lock_with_callers_group_taken_back(login, sim, bob_groups):
    """A lock file an older version left as root:bob is given back to
    root:root when a login takes it (the record is replaced anyway)."""
    rec = record_path(login, "alice")
    lock = rec.with_name(rec.name + ".lock")
    lock.touch(mode=0o600)
    os.chown(lock, 0, BOB_GID)
    res = login.run("alice", ["000000", "000000", "000000"])
    assert res.record.get("pam") != "PAM_SUCCESS", str(res)
    assert_root_private(lock, 0o600)
    assert_root_private(rec, 0o600)
