"""SPEC section 4, code entry: wrong code with tries left, max_tries,
normalisation of typed codes, entries never sent to the API, empty entry =
resend, expiry, NULL replies, 1 MiB replies, and conversation failure."""

import re

import pytest

from pvtest import CODE, assert_pam, wrong_code

INCORRECT_RE = re.compile(r"Incorrect code, \d+ tr(?:y|ies) left\.")


def test_wrong_then_right(login, sim):
    res = login.run("alice", [wrong_code, CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert "Incorrect code, 2 tries left." in res.transcript, str(res)
    assert len(res.prompts) == 2
    assert sim.requests("verify") == 2
    assert sim.requests("send") == 1
    assert rec["tries"] == "2"


def test_max_tries_wrong_codes(login, sim):
    res = login.run("alice", [wrong_code] * 3)
    rec = assert_pam(res, "PAM_MAXTRIES", "maxtries")
    t = res.transcript
    assert "Incorrect code, 2 tries left." in t, str(res)
    assert "Incorrect code, 1 try left." in t, str(res)
    assert "0 tries left" not in t
    assert "Verification failed." in t, str(res)
    assert len(res.prompts) == 3
    assert sim.requests("verify") == 3
    assert rec["tries"] == "3"
    assert rec["_prio"] == 4


def test_max_tries_configured(login, sim):
    login.conf["max_tries"] = "2"
    res = login.run("alice", [wrong_code] * 2)
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert "Incorrect code, 1 try left." in res.transcript, str(res)
    assert len(res.prompts) == 2


def test_max_tries_one_then_right_code_too_late(login, sim):
    """max_tries=1: the first wrong code ends the login; no second prompt."""
    login.conf["max_tries"] = "1"
    res = login.run("alice", [wrong_code])
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert len(res.prompts) == 1


@pytest.mark.parametrize("fmt", [
    lambda c: c[:3] + " " + c[3:],           # "123 456"
    lambda c: c[:3] + "-" + c[3:],           # "123-456"
    lambda c: "-".join(c[i:i + 2] for i in range(0, 6, 2)),   # "12-34-56"
    lambda c: " ".join(c),                   # "1 2 3 4 5 6"
], ids=["space", "dash", "dashes", "spaces"])
def test_spaces_and_dashes_accepted(login, sim, fmt):
    res = login.run("alice", [fmt])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("verify") == 1


@pytest.mark.parametrize("bad", [
    lambda c: c[:2] + "a" + c[3:],           # a letter
    lambda c: c[:5],                         # too short
    lambda c: c + "7",                       # too long
    lambda c: c[:3] + "." + c[3:],           # other punctuation
    lambda c: "+" + c,
    lambda c: "\uff11" + c[1:],              # a non-ASCII digit
], ids=["letter", "short", "long", "dot", "plus", "fullwidth"])
def test_malformed_entry_is_wrong_without_verify(login, sim, bad):
    s = login.start("alice")
    s.expect_prompt()
    code = sim.latest_code()
    s.send(bad(code))
    s.expect_prompt()
    assert sim.requests("verify") == 0, "a malformed entry reached the API"
    s.send(code)
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "Incorrect code, 2 tries left." in res.transcript, str(res)
    assert sim.requests("verify") == 1


def test_long_line_through_terminal(login, sim):
    """A 4000-character line (what a terminal line can carry) is a wrong
    entry, not sent to the API, and the next entry still works."""
    s = login.start("alice")
    s.expect_prompt()
    s.send("1" * 4000)
    s.expect_prompt()
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "Incorrect code, 2 tries left." in res.transcript, str(res)
    assert sim.requests("verify") == 1


def test_one_mib_reply_is_wrong_entry(login, sim):
    """A 1 MiB conversation reply (through pamconv.py, since misc_conv cuts
    lines at 4 KiB): a wrong entry, no crash, not sent to the API."""
    res = login.run_pamconv("alice", [{"repeat": "1", "n": 1 << 20}, CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "Incorrect code, 2 tries left." in res.transcript, str(res)
    assert sim.requests("verify") == 1


def test_one_mib_reply_starting_with_the_code(login, sim):
    """The right code followed by 1 MiB of digits is a wrong entry (not
    truncated into the code, not sent to the API)."""
    res = login.run_pamconv("alice", [
        lambda code: {"text": code + "0" * (1 << 20)}, CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "Incorrect code, 2 tries left." in res.transcript, str(res)
    assert sim.requests("verify") == 1


def test_null_reply_is_wrong_entry_never_success(login, sim):
    """A NULL reply is a wrong entry (resend=0, so not a resend request)."""
    login.conf["resend"] = "0"
    res = login.run_pamconv("alice", [{"null": True}, CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "Incorrect code, 2 tries left." in res.transcript, str(res)
    assert sim.requests("verify") == 1
    assert sim.requests("send") == 1


def test_null_replies_only_maxtries(login, sim):
    login.conf["resend"] = "0"
    res = login.run_pamconv("alice", [{"null": True}] * 3)
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert sim.requests("verify") == 0


def test_eof_at_prompt_never_success(login, sim):
    """Ctrl-D at the prompt: misc_conv hands the module a NULL reply each
    time.  Never a success; with resend=0 the 3 entries are wrong."""
    login.conf["resend"] = "0"
    s = login.start("alice")
    for _ in range(3):
        s.expect_prompt()
        s.child.sendeof()
    res = s.finish()
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert sim.requests("verify") == 0


# -- empty entry: resend ----------------------------------------------------------

def test_empty_entry_resends(login, sim):
    """An empty entry asks for a new code (resend=1 by default): 2 messages in
    the outbox and the new code works.  The test waits out the provider's
    60 s per-number limit first (simulator clock), as a user would."""
    s = login.start("alice")
    s.expect_prompt()
    first = sim.latest()
    sim.clock(61)
    s.send("")
    s.expect("A new code has been sent.")
    s.expect_prompt()
    msgs = sim.outbox()
    assert len(msgs) == 2, msgs
    assert msgs[1]["to"] == "+86 13800138000"
    assert msgs[1]["verification_id"] != first["verification_id"]
    s.send(msgs[1]["code"])
    res = s.finish()
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["sends"] == "2"
    assert rec["id"] == msgs[1]["verification_id"]


def test_empty_entry_no_resend_left_is_wrong(login, sim):
    login.conf["resend"] = "0"
    s = login.start("alice")
    s.expect_prompt()
    sim.clock(61)
    s.send("")
    s.expect_prompt()
    assert len(sim.outbox()) == 1
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "Incorrect code, 2 tries left." in res.transcript, str(res)
    assert "A new code has been sent." not in res.transcript


def test_second_empty_entry_beyond_resend_is_wrong(login, sim):
    login.conf["resend"] = "1"
    s = login.start("alice")
    s.expect_prompt()
    sim.clock(61)
    s.send("")
    s.expect("A new code has been sent.")
    s.expect_prompt()
    sim.clock(61)
    s.send("")
    s.expect(INCORRECT_RE)
    s.expect_prompt()
    assert len(sim.outbox()) == 2
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    assert res.transcript.count("A new code has been sent.") == 1


# -- expiry ---------------------------------------------------------------------

def test_expired_code_new_code_sent(login, sim):
    s = login.start("alice")
    s.expect_prompt()
    first = sim.latest()
    sim.clock(first["expires_in"] + 1)
    s.send(first["code"])
    s.expect("Code expired; a new code has been sent.")
    s.expect_prompt()
    msgs = sim.outbox()
    assert len(msgs) == 2, msgs
    s.send(msgs[1]["code"])
    res = s.finish()
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["id"] == msgs[1]["verification_id"]


def test_expired_code_no_resend_auth_err(login, sim):
    login.conf["resend"] = "0"
    s = login.start("alice")
    s.expect_prompt()
    first = sim.latest()
    sim.clock(first["expires_in"] + 1)
    s.send(first["code"])
    res = s.finish()
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert "Code expired; a new code has been sent." not in res.transcript
    assert "Verification failed." in res.transcript, str(res)
    assert len(sim.outbox()) == 1


def test_expired_twice_resend_exhausted(login, sim):
    """resend=1: the first expiry gets a new code; the second ends in
    PAM_AUTH_ERR."""
    s = login.start("alice")
    s.expect_prompt()
    sim.clock(601)
    s.send_code()
    s.expect("Code expired; a new code has been sent.")
    s.expect_prompt()
    sim.clock(601)
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert len(sim.outbox()) == 2


def test_short_lifetime_from_provider(login, sim):
    """The provider's expires_in is what counts (here 30 s, with a 20 s
    per-number limit so the new code can be sent)."""
    sim.limits(expires_in=30, per_number_seconds=20)
    s = login.start("alice")
    s.expect_prompt()
    assert sim.latest()["expires_in"] == 30
    sim.clock(31)
    s.send_code()
    s.expect("Code expired; a new code has been sent.")
    s.expect_prompt()
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")


# -- the conversation fails ---------------------------------------------------

def test_conversation_fails_stdin_closed(login, sim):
    """pamtester with stdin closed: misc_conv's read fails -> PAM_CONV_ERR."""
    s = login.start("alice", stdin_closed=True)
    res = s.finish()
    assert_pam(res, "PAM_CONV_ERR", "conv_error")
    assert sim.requests("verify") == 0


def test_conversation_fails_programmatic(login, sim):
    res = login.run_pamconv("alice", [{"fail": True}])
    assert_pam(res, "PAM_CONV_ERR", "conv_error")
    assert sim.requests("verify") == 0


def test_conversation_fails_after_wrong_code(login, sim):
    res = login.run_pamconv("alice", [lambda c: {"text": wrong_code(c)},
                                      {"fail": True}])
    assert_pam(res, "PAM_CONV_ERR", "conv_error")
