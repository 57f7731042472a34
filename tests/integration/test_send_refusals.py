"""SPEC section 4: "send refused: rate_limit_exceeded with no reusable code,
captcha_required, user_not_found -> PAM_AUTH_ERR, whatever failmode says"
(a refusal the user can provoke never opens the door), and `reuse_code`."""


import pytest

from pvtest import CODE, assert_pam
from pvsim import JsonServer

# With resend_wait = 0 (this file) the refusal names the real wait at once;
# tests/integration/test_resend_wait.py has the waits.
TOO_MANY = "The provider allows one code per minute; try again in "
REUSE_INFO = "A code was already sent; enter that code."


@pytest.fixture(autouse=True)
def no_resend_wait(login):
    login.conf["resend_wait"] = "0"


def assert_refused_at_send(res, sim, message=None, verify_before=0):
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert res.prompts == [], str(res)
    assert sim.requests("verify") == verify_before
    if message:
        assert message in res.transcript, str(res)
    assert "Verification service unavailable." not in res.transcript
    return rec


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_ratelimit_fault_auth_err(login, sim, failmode):
    login.conf["failmode"] = failmode
    sim.fault("send", "ratelimit")
    res = login.run("alice", [])
    assert_refused_at_send(res, sim, TOO_MANY)
    assert sim.requests("send") == 1


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_captcha_required_auth_err(login, sim, failmode):
    login.conf["failmode"] = failmode
    sim.fault("send", "captcha")
    res = login.run("alice", [])
    assert_refused_at_send(res, sim, "Verification failed.")
    assert TOO_MANY not in res.transcript


def test_captcha_token_is_sent(login, sim):
    """With captcha_token set the module sends x-captcha-token, which
    satisfies the simulator's captcha fault."""
    login.conf["captcha_token"] = "test-captcha-token"
    sim.fault("send", "captcha")
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_user_not_found_auth_err(login, sim, failmode):
    login.conf["failmode"] = failmode
    sim.fault("send", "user_not_found")
    res = login.run("alice", [])
    assert_refused_at_send(res, sim, "Verification failed.")


def test_send_target_user_unregistered_auth_err(login, sim):
    """send_target=USER and the provider does not know the number: 404
    user_not_found from the real endpoint (no fault) -> PAM_AUTH_ERR."""
    login.conf["send_target"] = "USER"
    login.conf["failmode"] = "safe"
    res = login.run("alice", [])
    assert_refused_at_send(res, sim)
    assert sim.outbox() == []


def test_send_target_user_registered_success(login, sim):
    login.conf["send_target"] = "USER"
    sim.register_user("+86 13800138000")
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_invalid_number_auth_err(login, sim, failmode):
    login.conf["failmode"] = failmode
    sim.fault("send", "invalid_number")
    res = login.run("alice", [])
    assert_refused_at_send(res, sim)


PER_IP_TEXT = ("Too many verification codes sent from this address, "
               "please try again later")


def test_per_ip_limit_no_reusable_code(login, sim):
    """The provider's per-IP limit refuses bob's first code: rate limited
    with nothing reusable for bob -> PAM_AUTH_ERR, and the user is told
    what the provider said, not "one code per minute" (issue 17 item 11:
    two users' abandoned logins use up the host's hourly quota)."""
    sim.limits(per_ip_per_hour=1)
    login.conf["failmode"] = "safe"
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    res = login.run("bob", [])
    assert_refused_at_send(res, sim, PER_IP_TEXT, verify_before=1)
    assert TOO_MANY not in res.transcript, str(res)
    assert "one code per minute" not in res.transcript, str(res)
    assert len(sim.outbox()) == 1


def test_per_ip_limit_is_not_waited_for(login, sim):
    """resend_wait waits out the per-number minute only: the hourly
    per-IP quota is refused at once, with one request."""
    login.conf["resend_wait"] = "65"
    sim.limits(per_ip_per_hour=1)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    sends = sim.requests("send")
    res = login.run("bob", [])
    assert_refused_at_send(res, sim, PER_IP_TEXT, verify_before=1)
    assert "Sending a new code in" not in res.transcript, str(res)
    assert sim.requests("send") == sends + 1
    assert res.elapsed < 30, str(res)


def test_resend_refused_by_per_ip_quota_reuses_without_one_minute(login,
                                                                   sim):
    """An empty entry asks for a new code two minutes after the first: the
    per-IP quota refuses it, the code already sent is reused, and the user
    is not told it was sent "less than a minute ago"."""
    sim.limits(per_ip_per_hour=1)
    s = login.start("alice")
    s.expect_prompt()
    sim.clock(120)                     # the per-number minute has passed
    s.send("")
    s.expect_prompt()
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    assert len(sim.outbox()) == 1, sim.outbox()
    assert "less than a minute ago" not in res.transcript, str(res)
    assert REUSE_INFO in res.transcript, str(res)


def test_per_number_limit_still_named(login, sim):
    """The per-number minute keeps its own message, with the real wait."""
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    res = login.run("alice", [])
    assert_refused_at_send(res, sim, TOO_MANY, verify_before=1)
    assert PER_IP_TEXT not in res.transcript, str(res)


def rate_limited(description):
    """A send API (pvsim.JsonServer) that answers every request with 429
    rate_limit_exceeded 4029 and the given error_description (None: no
    description)."""
    body = {"error": "rate_limit_exceeded", "error_code": 4029}
    if description is not None:
        body["error_description"] = description
    return JsonServer(lambda path: (429, body), "/send")


@pytest.fixture
def fake_send():
    servers = []

    def make(description):
        s = rate_limited(description)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close()


def refusal_line(res, start):
    lines = [ln for ln in res.transcript.splitlines() if start in ln]
    assert len(lines) == 1, str(res)
    return lines[0]


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_provider_description_sanitised_and_bounded(login, sim, fake_send,
                                                    failmode):
    """A hostile or broken provider's description reaches the terminal as
    plain bounded text: no escape sequence, control or non-ASCII byte,
    and the refusal still never opens the door."""
    desc = ("Quota\x1b[2J\x1b]0;pwned\x07 reached\r\nroot# \u202eevil "
            "\u00e9t\u00e9 " + "A" * 2000)
    server = fake_send(desc)
    login.conf.update(send_url=server.url, failmode=failmode,
                      resend_wait="65")
    res = login.run("alice", [])
    assert_refused_at_send(res, sim)
    assert len(server.hits) == 1
    line = refusal_line(res, "refused to send a code")
    assert "Quota" in line and "reached" in line, line
    for bad in ("\x1b", "\x07", "\u202e", "\u00e9", "\r"):
        assert bad not in res.transcript, repr(line)
    assert "root# " not in res.transcript.replace(line, ""), str(res)
    assert len(line) < 200, line
    assert "A" * 150 not in line, line


@pytest.mark.parametrize("description", [
    None, "",
    "send FREQUENCY too high",
    "Please try again in 42 seconds.",
])
def test_per_number_minute_as_the_provider_words_it(login, sim, fake_send,
                                                     description):
    """No description (read as the documented per-number minute), or one
    that names the minute: the per-number message, not the provider's."""
    server = fake_send(description)
    login.conf["send_url"] = server.url
    res = login.run("alice", [])
    assert_refused_at_send(res, sim, TOO_MANY)
    assert "refused to send a code" not in res.transcript, str(res)


# -- reuse_code ------------------------------------------------------------------

def first_login_abandoned(login, sim, how):
    """A first login that got a code sent but never used it."""
    if how == "conv_error":
        s = login.start("alice", stdin_closed=True)
        res = s.finish()
        assert_pam(res, "PAM_CONV_ERR", "conv_error")
    else:                       # the client vanished: the process is killed
        s = login.start("alice")
        s.expect_prompt()
        s.kill()
    msgs = sim.outbox()
    assert len(msgs) == 1, msgs
    return msgs[0]


@pytest.mark.parametrize("how", ["conv_error", "killed"])
def test_reuse_code_prompts_for_same_code(login, sim, how):
    first = first_login_abandoned(login, sim, how)
    s = login.start("alice")
    s.expect_prompt()
    assert sim.requests("send") == 2, "the second login asked for a code"
    assert len(sim.outbox()) == 1, "the simulator refused the second send"
    s.send(first["code"])
    res = s.finish()
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert REUSE_INFO in res.transcript, str(res)
    assert TOO_MANY not in res.transcript
    assert rec["id"] == first["verification_id"]


def test_reused_code_is_not_reused_twice(login, sim):
    """Once the pending code verified, it is no longer reusable: a third
    login within the minute is rate limited with nothing to reuse."""
    first = first_login_abandoned(login, sim, "conv_error")
    res = login.run("alice", [lambda _c: first["code"]])
    assert_pam(res, "PAM_SUCCESS", "success")
    res = login.run("alice", [])
    assert_refused_at_send(res, sim, TOO_MANY, verify_before=1)
    assert sim.requests("send") == 3


def test_code_consumed_by_success_not_reused(login, sim):
    """A successful login's code is not pending any more: a second login
    within 60 s is refused with the rate-limit message."""
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    res = login.run("alice", [])
    assert_refused_at_send(res, sim, TOO_MANY, verify_before=1)


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_reuse_code_no_auth_err(login, sim, failmode):
    login.conf["reuse_code"] = "no"
    login.conf["failmode"] = failmode
    first_login_abandoned(login, sim, "conv_error")
    res = login.run("alice", [])
    assert_refused_at_send(res, sim, TOO_MANY)
    assert REUSE_INFO not in res.transcript


def test_reuse_code_is_per_user(login, sim):
    """alice's pending code is not offered to carol."""
    first_login_abandoned(login, sim, "conv_error")
    sim.fault("send", "ratelimit")
    res = login.run("carol", [])
    assert_refused_at_send(res, sim, TOO_MANY)
