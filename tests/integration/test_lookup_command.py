"""The lookup command through a real login (SPEC 3, 5; issue 9 items 1, 4).

The command is checked together with every directory above it, run
through that checked descriptor, and nothing it starts outlives it, not
even a descendant that leaves the session with setsid.
"""
import os
import shutil
import tempfile
import time

import pytest

from pvtest import CODE, USERS, assert_pam


@pytest.fixture
def drop_dir():
    """A directory the command (run as _phoneverify-lookup when we are
    root) may write
    its marks into; never a parent of the command itself."""
    d = tempfile.mkdtemp(prefix="pv-lookup-drop-")
    os.chmod(d, 0o777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def write_command(path, body):
    path.parent.mkdir(mode=0o755, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)


def use_command(login, path):
    login.conf["lookup"] = "command"
    login.conf["lookup_command"] = str(path)
    os.chmod(login.dir, 0o755)   # a safe parent (root-owned, not writable)


def gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def test_setsid_descendant_does_not_outlive_the_command(login, sim, drop_dir):
    pidfile = os.path.join(drop_dir, "escapee")
    cmd = login.dir / "bin" / "lookup"
    write_command(cmd, (
        "/usr/bin/setsid /bin/sh -c 'echo $$ > %(p)s.tmp; mv %(p)s.tmp %(p)s;"
        " exec /bin/sleep 60' </dev/null >/dev/null 2>&1 &\n"
        "while [ ! -s %(p)s ]; do /bin/sleep 0.05; done\n"
        "echo '+86 13800138000 Alice Liddell'") % {"p": pidfile})
    use_command(login, cmd)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    with open(pidfile) as f:
        escapee = int(f.read().strip())
    deadline = time.monotonic() + 2
    while not gone(escapee) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone(escapee), "the command's setsid descendant survived it"


@pytest.mark.parametrize("mode", [0o775, 0o757])
def test_command_below_writable_directory_never_runs(login, sim, drop_dir,
                                                     mode):
    mark = os.path.join(drop_dir, "ran")
    cmd = login.dir / "bin" / "lookup"
    write_command(cmd, ": > %s\necho '+86 13800138000'" % mark)
    use_command(login, cmd)
    os.chmod(cmd.parent, mode)
    res = login.run("alice", [])
    # the configuration check refuses it before the login even looks
    assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    assert "a directory above %s" % cmd in res.transcript, str(res)
    assert not os.path.exists(mark), "a command in an unsafe directory ran"
    assert sim.requests("send") == 0



def test_command_runs_as_its_own_user(login, sim, drop_dir):
    """issue 17, item 6: by default the command runs as
    `_phoneverify-lookup` (a user of its own), never nobody, which other
    daemons share and whose processes could trace it."""
    if os.geteuid() != 0:
        pytest.skip("root only: the module changes identity as root")
    mark = os.path.join(drop_dir, "uid")
    cmd = login.dir / "bin" / "lookup"
    write_command(cmd, "/usr/bin/id -u > %s\necho '+86 13800138000 Alice'"
                  % mark)
    use_command(login, cmd)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    with open(mark) as f:
        assert int(f.read()) == USERS["_phoneverify-lookup"][0]
