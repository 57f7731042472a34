"""SPEC section 4: "send refused: rate_limit_exceeded with no reusable code,
captcha_required, user_not_found -> PAM_AUTH_ERR, whatever failmode says"
(a refusal the user can provoke never opens the door), and `reuse_code`."""

import pytest

from pvtest import CODE, assert_pam

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


def test_per_ip_limit_no_reusable_code(login, sim):
    """The provider's per-IP limit refuses bob's first code: rate limited
    with nothing reusable for bob -> PAM_AUTH_ERR with the message."""
    sim.limits(per_ip_per_hour=1)
    login.conf["failmode"] = "safe"
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    res = login.run("bob", [])
    assert_refused_at_send(res, sim, TOO_MANY, verify_before=1)
    assert len(sim.outbox()) == 1


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
