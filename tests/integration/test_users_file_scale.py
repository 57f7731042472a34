"""The users file at scale (SPEC 3): read line by line, the search stops at
the user's line, no size limit refuses logins, and a malformed line is
reported with file, line and what is wrong.

The 1,000,000-line file (~45 MiB) is generated at test time.  No timing is
asserted here: `make bench` measures the lookup against `grep -m1`.
"""

from pvtest import CODE, PHONES, assert_pam

MILLION = 1000000


def filler(n):
    """n users-file lines of other users (not in passwd)."""
    for i in range(n):
        yield "fu%07d:+86 137%08d:Filler User %d" % (i, i, i)


def test_million_line_users_file_login(login, sim):
    """alice's line is the last of 1,000,000: the login works (the old 4 MiB
    cap refused every login once the file passed ~105k users)."""
    login.users_lines = (line for part in (
        ["# generated: one million users"], filler(MILLION - 2),
        ["alice:+86 13800138000:Alice Liddell:alice@example.org"])
        for line in part)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert login.users_path.stat().st_size > 40 * 1024 * 1024
    assert sum(1 for _ in open(login.users_path)) == MILLION
    assert sim.latest()["to"] == PHONES["alice"][0]


def test_malformed_line_far_down_is_reported_with_line(login, sim):
    """A phone without + and country code on the user's own line, 300,001
    lines down: a configuration error naming file and line and saying
    exactly that; nothing is sent."""
    login.users_lines = (line for part in (
        filler(300000), ["alice:8613800138000:Alice Liddell"])
        for line in part)
    res = login.run("alice", [])
    assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    want = "%s:300001: phone must start with + and a country code" \
        % login.users_path
    assert any(want in msg for _prio, msg in res.syslog), str(res)
    assert sim.requests("send") == 0


def test_other_users_broken_lines_do_not_matter(login, sim):
    """Lines of other users are not judged: garbage before the user's line
    (and an over-long one) does not stop a login."""
    login.users_lines = ["mallory", "trent:13800138000", ":::::",
                         "eve:+86 13500135000:" + "x" * 200000,
                         "alice:+86 13800138000:Alice Liddell"]
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
