"""State written under the real sudo is root:root (issue 17 item 11b).

sudo is setuid root only: it runs PAM with euid 0 and the calling user's
groups, and a file the kernel creates takes the effective group.  A wrong
code under `sudo` run by the test user used to leave the state directory,
the record and its lock as root:pve2e.
"""

import os
import stat

from test_sudo import wrong


def test_wrong_code_under_sudo_leaves_root_root_state(pv, sudo):
    pv.configure(max_tries=1)
    assert not os.path.exists(pv.state_dir)     # the module creates it
    with sudo.spawn() as s:
        s.prompt()
        s.answer(wrong(pv.sim.wait_code(1)))
        out = s.finish()
    assert s.exitstatus == 1, out
    st = os.lstat(pv.state_dir)
    assert (st.st_uid, st.st_gid) == (0, 0), (st.st_uid, st.st_gid)
    assert stat.S_IMODE(st.st_mode) == 0o700, oct(st.st_mode)
    names = sorted(os.listdir(pv.state_dir))
    assert any(n.endswith(".lock") for n in names), names
    assert any(not n.endswith(".lock") for n in names), names
    for n in names:
        st = os.lstat(os.path.join(pv.state_dir, n))
        assert (st.st_uid, st.st_gid) == (0, 0), (n, st.st_uid, st.st_gid)
        assert stat.S_IMODE(st.st_mode) == 0o600, (n, oct(st.st_mode))
