"""SPEC section 4: who is checked.  `groups`, `!group`, `trusted_rhosts`
(IPv4 and IPv6 CIDRs) and `nullok` give PAM_IGNORE with no SMS sent; a user
with nothing to send to, or one that cannot be resolved, is PAM_AUTH_ERR
with nothing sent (never PAM_USER_UNKNOWN).

PAM_IGNORE rows run through the stack `MODULE` + `pam_permit.so` (a stack
whose only module ignores fails in libpam), so IGNORE shows as a successful
authentication and the record must say pam=PAM_IGNORE."""

import pytest

from pvtest import CODE, assert_pam


def assert_ignored(res, sim):
    rec = assert_pam(res, "PAM_IGNORE", "ignore", via_permit=True)
    assert res.prompts == [], str(res)
    assert "Verification code" not in res.transcript
    assert sim.outbox() == []
    assert sim.requests("send") == 0
    assert rec["_prio"] == 5, "ignore is logged at LOG_NOTICE"
    return rec


def assert_checked(res, sim, user="alice"):
    """The user was checked: prompted, one SMS, and (permit stack) the code
    gave success."""
    assert_pam(res, "PAM_SUCCESS", "success")
    assert len(res.prompts) == 1, str(res)
    assert sim.requests("send") == 1


def assert_refused_nothing_sent(res, sim, message=True):
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert "User not known" not in res.transcript   # PAM_USER_UNKNOWN
    assert res.prompts == [], str(res)
    assert sim.outbox() == []
    assert sim.requests("send") == 0
    if message:
        assert "Verification failed." in res.transcript, str(res)
    return rec


def user_visible(res):
    """What the user saw: the transcript without pam_wrapper's log lines and
    pamtester's own lines, user names blanked."""
    lines = []
    for line in res.transcript.split("\n"):
        if line.startswith("PWRAP_") or line.startswith("pamtester:") or not line.strip():
            continue
        lines.append(line)
    return lines


# -- groups -----------------------------------------------------------------

@pytest.mark.parametrize("groups,user,checked", [
    ("wheel", "bob", False),           # bob: staff only
    ("wheel", "alice", True),          # alice: wheel (listed member)
    ("wheel", "frank", True),          # frank: wheel as primary group only
    ("wheel staff", "bob", True),      # one listed group is enough
    ("wheel !nomfa", "carol", False),  # carol: wheel and nomfa -> exempt
    ("wheel !nomfa", "alice", True),
    ("!nomfa", "carol", False),        # only '!' entries: everyone else
    ("!nomfa", "bob", True),
    ("nomfa", "root", False),
])
def test_groups(login, sim, groups, user, checked):
    login.conf["groups"] = groups
    res = login.run(user, [CODE] if checked else [], stack="permit")
    if checked:
        assert_checked(res, sim, user)
    else:
        assert_ignored(res, sim)


def test_groups_in_pam_line_overrides_file(login, sim):
    """`groups` given in the PAM line overrides the file."""
    login.conf["groups"] = "staff"
    login.args = ["groups=wheel"]
    res = login.run("bob", [], stack="permit")
    assert_ignored(res, sim)


# -- trusted_rhosts -----------------------------------------------------------

TRUSTED = "192.0.2.0/24 10.0.0.0/8 198.51.100.7 2001:db8::/32 fd00:1::1"


@pytest.mark.parametrize("rhost,trusted", [
    ("10.20.30.40", True),             # IPv4 CIDR /8
    ("192.0.2.200", True),             # IPv4 CIDR /24
    ("198.51.100.7", True),            # IPv4 single address
    ("2001:db8:1::5", True),           # IPv6 CIDR /32
    ("2001:DB8::1", True),             # IPv6, upper case
    ("fd00:1::1", True),               # IPv6 single address
    ("::ffff:10.1.2.3", True),         # IPv4-mapped IPv6 matches IPv4 entries
    ("203.0.113.9", False),
    ("192.0.3.1", False),              # just outside the /24
    ("11.0.0.1", False),               # just outside the /8
    ("198.51.100.8", False),
    ("2001:db9::1", False),            # just outside the /32
    ("fd00:1::2", False),
    ("10.0.0.1.example.org", False),   # names never match (no DNS)
])
def test_trusted_rhosts(login, sim, rhost, trusted):
    login.conf["trusted_rhosts"] = TRUSTED
    res = login.run("alice", [] if trusted else [CODE], rhost=rhost,
                    stack="permit")
    if trusted:
        rec = assert_ignored(res, sim)
        assert rec["rhost"].lower() == rhost.lower()
    else:
        assert_checked(res, sim)


def test_trusted_rhosts_no_rhost_is_checked(login, sim):
    """No PAM_RHOST (local su/sudo) never matches a trusted entry."""
    login.conf["trusted_rhosts"] = "0.0.0.0/0 ::/0"
    res = login.run("alice", [CODE], rhost=None, service="sudo", stack="permit")
    assert_checked(res, sim)


# -- nullok, nothing to send to, unknown users ----------------------------------

def test_nullok_no_phone_ignored(login, sim):
    login.args = ["nullok"]
    res = login.run("dave", [], stack="permit")
    assert_ignored(res, sim)


def test_nullok_user_with_phone_still_checked(login, sim):
    login.args = ["nullok"]
    res = login.run("alice", [CODE], stack="permit")
    assert_checked(res, sim)


def test_no_phone_not_nullok_refused(login, sim):
    res = login.run("dave", [])
    rec = assert_refused_nothing_sent(res, sim)
    assert rec["_prio"] == 4, "refusals are logged at LOG_WARNING"


def test_no_phone_refused_even_with_failmode_safe(login, sim):
    login.conf["failmode"] = "safe"
    res = login.run("dave", [])
    assert_refused_nothing_sent(res, sim)


@pytest.mark.parametrize("user", ["ghost", "mallory"])
def test_unknown_user_auth_err(login, sim, user):
    """ghost is nowhere; mallory has a users-file line but no passwd entry.
    Both cannot be resolved: PAM_AUTH_ERR (never PAM_USER_UNKNOWN), no SMS."""
    res = login.run(user, [])
    assert_refused_nothing_sent(res, sim, message=False)


@pytest.mark.parametrize("user", ["ghost", "mallory"])
def test_unknown_user_sees_same_refusal_as_known_user(login, sim, user):
    """SPEC 4: both rows show the user the generic refusal; a different
    output for unknown users would let anyone enumerate accounts."""
    known = login.run("dave", [])
    unknown = login.run(user, [])
    assert user_visible(known) == ["Verification failed."], str(known)
    assert user_visible(unknown) == user_visible(known), str(unknown)


@pytest.mark.parametrize("args", [["groups=wheel"], ["failmode=safe"]])
def test_unknown_user_auth_err_not_ignore(login, sim, args):
    """An unresolvable user is not "outside groups" (which would be IGNORE)
    and failmode=safe does not let it through either."""
    login.args = args
    res = login.run("ghost", [], stack="permit")
    assert_refused_nothing_sent(res, sim, message=False)
