"""SPEC 3 `methods` and section 4: the e-mail method and the order of
methods.  The next method is tried only when one cannot serve the user (no
number / no address, an invalid number): never after a wrong code, an
expired code, a refusal or an outage."""

import pytest

from pvtest import CODE, assert_pam, wrong_code

ALICE_EMAIL = "alice@example.org"
ALICE_EMAIL_MASKED = "a***@example.org"
DAVE_EMAIL = "dave@example.org"


def email_only_dave(login):
    """dave (no phone anywhere) gets an e-mail address in the users file."""
    login.users_lines = login.default_users_lines() + [
        "dave::Dave Nophone:%s" % DAVE_EMAIL]


def channels(sim):
    return [(m["channel"], m["to"]) for m in sim.outbox()]


# -- e-mail --------------------------------------------------------------------------

def test_email_success(login, sim):
    login.conf["methods"] = "email"
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert channels(sim) == [("email", ALICE_EMAIL)]
    assert res.prompts == ["Verification code sent to %s: " % ALICE_EMAIL_MASKED]
    assert rec["method"] == "email", rec["_line"]
    assert rec["email"] == ALICE_EMAIL_MASKED, rec["_line"]
    assert "phone" not in rec
    assert rec["id"] == sim.latest()["verification_id"]
    assert ALICE_EMAIL not in res.transcript, "the full address was shown or logged"


def test_email_wrong_code_then_right(login, sim):
    login.conf["methods"] = "email"
    res = login.run("alice", [wrong_code, CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "Incorrect code, 2 tries left." in res.transcript, str(res)
    assert len(sim.outbox()) == 1


def test_email_maxtries(login, sim):
    login.conf["methods"] = "email"
    res = login.run("alice", [wrong_code] * 3)
    rec = assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert rec["method"] == "email"
    assert len(sim.outbox()) == 1


def test_email_resend_on_empty_entry(login, sim):
    login.conf["methods"] = "email"
    s = login.start("alice")
    s.expect_prompt()
    sim.clock(61)
    s.send("")
    s.expect("A new code has been sent.")
    s.expect_prompt()
    assert channels(sim) == [("email", ALICE_EMAIL)] * 2
    s.send_code()
    res = s.finish()
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["sends"] == "2"


def test_email_only_user_falls_back_from_sms(login, sim):
    login.conf["methods"] = "sms email"
    email_only_dave(login)
    res = login.run("dave", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert channels(sim) == [("email", DAVE_EMAIL)]
    assert res.prompts == ["Verification code sent to d***@example.org: "]
    assert rec["method"] == "email"
    assert rec["email"] == "d***@example.org"


def test_email_only_user_sms_only_auth_err(login, sim):
    """methods = sms and the user has only an address: nothing can serve."""
    email_only_dave(login)
    res = login.run("dave", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert sim.outbox() == []


def test_phone_only_user_email_only_auth_err(login, sim):
    login.conf["methods"] = "email"
    res = login.run("bob", [])              # bob has no address
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert res.prompts == []
    assert sim.requests("send") == 0


def test_neither_auth_err(login, sim):
    login.conf["methods"] = "sms email"
    res = login.run("dave", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "no_phone", rec["_line"]
    assert sim.requests("send") == 0


def test_neither_nullok_ignore(login, sim):
    login.conf["methods"] = "sms email"
    login.args = ["nullok"]
    res = login.run("dave", [], stack="permit")
    assert_pam(res, "PAM_IGNORE", "ignore", via_permit=True)
    assert sim.requests("send") == 0


def test_email_with_nullok_is_not_ignored(login, sim):
    """nullok exempts only users with nowhere to send a code: an e-mail
    only user is checked."""
    login.conf["methods"] = "sms email"
    login.args = ["nullok"]
    email_only_dave(login)
    res = login.run("dave", [wrong_code] * 3, stack="permit")
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert channels(sim) == [("email", DAVE_EMAIL)]


# -- order of methods ------------------------------------------------------------------

def test_sms_email_phone_user_sms_only(login, sim):
    login.conf["methods"] = "sms email"
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert channels(sim) == [("sms", "+86 13800138000")]
    assert rec["method"] == "sms"


def test_email_sms_order_respected(login, sim):
    login.conf["methods"] = "email sms"
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert channels(sim) == [("email", ALICE_EMAIL)]
    assert rec["method"] == "email"


def test_wrong_codes_never_fall_through(login, sim):
    login.conf["methods"] = "sms email"
    res = login.run("alice", [wrong_code] * 3)
    rec = assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert rec["method"] == "sms"
    assert channels(sim) == [("sms", "+86 13800138000")]
    assert len(res.prompts) == 3


def test_expired_code_never_falls_through(login, sim):
    login.conf["methods"] = "sms email"
    login.conf["resend"] = "0"
    s = login.start("alice")
    s.expect_prompt()
    sim.clock(601)
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert len(sim.outbox()) == 1


@pytest.mark.parametrize("kind,pam,outcome", [
    ("ratelimit", "PAM_AUTH_ERR", "denied"),
    ("captcha", "PAM_AUTH_ERR", "denied"),
    ("user_not_found", "PAM_AUTH_ERR", "denied"),
    ("http500", "PAM_AUTHINFO_UNAVAIL", "unavailable"),
])
def test_send_refusal_or_outage_never_falls_through(login, sim, kind, pam, outcome):
    """Only "cannot serve" moves on: a refused or failed send ends the
    login (count=1, so an e-mail send would go through)."""
    login.conf["methods"] = "sms email"
    login.conf["resend_wait"] = "0"     # a rate limit refuses at once
    sim.fault("send", kind, count=1)
    res = login.run("alice", [])
    assert_pam(res, pam, outcome)
    assert sim.outbox() == []
    assert sim.requests("send") == 1


def test_invalid_number_falls_through_to_email(login, sim):
    login.conf["methods"] = "sms email"
    sim.fault("send", "invalid_number", count=1)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert channels(sim) == [("email", ALICE_EMAIL)]
    assert sim.requests("send") == 2
    assert rec["method"] == "email"
    assert rec["email"] == ALICE_EMAIL_MASKED and "phone" not in rec, rec["_line"]
    assert rec["sends"] == "1"


def test_invalid_number_real_refusal_falls_through(login, sim):
    """The provider itself refuses the number (phone_format=e164 gives
    "+8613800138000", which the send API does not accept): e-mail."""
    login.conf["methods"] = "sms email"
    login.conf["phone_format"] = "e164"
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert channels(sim) == [("email", ALICE_EMAIL)]


def test_invalid_number_no_email_auth_err(login, sim):
    login.conf["methods"] = "sms email"
    sim.fault("send", "invalid_number", count=1)
    res = login.run("bob", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "invalid_phone_number", rec["_line"]
    assert sim.outbox() == []
