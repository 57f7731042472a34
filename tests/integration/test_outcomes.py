"""SPEC section 4, the main row: a verified code is PAM_SUCCESS; and what a
successful login looks like from outside (the prompt, the SMS, the log
record, the TCP connections, the phone format on the wire)."""

import base64

import pytest

from pvtest import (CODE, PHONES, SEND_AUTH, VERIFY_AUTH, assert_pam,
                    masked_log, masked_prompt, wrong_code)


def test_success_prompt_sms_and_record(login, sim):
    s = login.start("alice")
    prompt = s.expect_prompt()
    assert prompt == "Verification code sent to +86 *******8000: "
    msgs = sim.outbox()
    assert len(msgs) == 1, msgs
    m = msgs[0]
    assert m["channel"] == "sms"
    assert m["to"] == "+86 13800138000"
    s.send(m["code"])
    res = s.finish()
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["user"] == "alice"
    assert rec["service"] == "sshd"
    assert rec["rhost"] == "203.0.113.9"
    assert rec["method"] == "sms"
    assert rec["phone"] == masked_log("alice") == "+86*******8000"
    assert rec["id"] == m["verification_id"]
    assert rec["ms"].isdigit()
    assert rec["_prio"] == 5, "success is logged at LOG_NOTICE"
    st = sim.stats()["requests"]
    assert (st["send"], st["verify"]) == (1, 1)
    # the code is single use: it was consumed by the module's verify
    assert len(sim.outbox()) == 1


def test_success_number_without_space_in_users_file(login, sim):
    """bob's users-file number is "+8613900139000" (no space): the send API
    still gets "+86 13900139000" (phone_format=spaced, the default)."""
    res = login.run("bob", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert res.prompts == ["Verification code sent to %s: " % masked_prompt("bob")]
    assert [m["to"] for m in sim.outbox()] == ["+86 13900139000"]


def test_success_phone_from_gecos(login, sim):
    """lookup=gecos: erin's number comes from GECOS field 5."""
    login.conf["lookup"] = "file gecos"
    res = login.run("erin", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert [m["to"] for m in sim.outbox()] == [PHONES["erin"][0]]


def test_phone_format_spaced_on_the_wire(login, sim):
    login.conf["phone_format"] = "spaced"
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert [m["to"] for m in sim.outbox()] == ["+86 13800138000"]


def test_phone_format_e164_refused_by_sim(login, sim):
    """phone_format=e164 sends "+8613800138000".  The simulator (like the
    seed's send API, SPEC 2.1: "the phone format this API wants is
    '+CC NATIONAL'") refuses that with 400 invalid_phone_number/4001.  That is
    a definitive refusal of the request, not an outage, so the login is
    refused (PAM_AUTH_ERR), nothing is sent and the user is never prompted.
    (An outage would be AUTHINFO_UNAVAIL; a refusal must never turn into
    failmode behaviour.)"""
    login.conf["phone_format"] = "e164"
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert res.prompts == []
    assert sim.outbox() == []
    assert sim.requests("send") == 1


def test_connection_reuse_one_tcp_connection(login, sim):
    """send + verify of one login share one TCP (and TLS) connection."""
    res, conns = sim.module_connections(lambda: login.run("alice", [CODE]))
    assert_pam(res, "PAM_SUCCESS", "success")
    st = sim.stats()["requests"]
    assert (st["send"], st["verify"]) == (1, 1)
    assert conns == 1, "login opened %d connections" % conns


def test_connection_reuse_with_wrong_code(login, sim):
    """send + 2 verifies, still one connection."""
    res, conns = sim.module_connections(
        lambda: login.run("alice", [wrong_code, CODE]))
    assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("verify") == 2
    assert conns == 1, "login opened %d connections" % conns


def test_log_has_no_code_no_number_no_secret(login, sim):
    """Never logged at any level (debug on, every pam_wrapper level shown):
    the code, the full number, tokens and secrets.  The pty does not echo
    (pexpect echo=False), so the transcript is only what the programs
    printed."""
    login.args = ["debug"]
    s = login.start("alice", debuglevel=3)
    s.expect_prompt()
    code = sim.latest_code()
    bad = wrong_code(code)
    s.send(bad)
    s.expect_prompt()
    s.send(code)
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    text = res.transcript
    assert res.syslog, "no syslog line captured at all"
    secrets = {
        "the code": code,
        "the wrong code typed": bad,
        "national number": PHONES["alice"][1],
        "E.164 number": "+8613800138000",
        "send token": SEND_AUTH.split(":", 1)[1],
        "verify secret": VERIFY_AUTH.split(":")[2],
        "verify basic credential": base64.b64encode(b"sim-user:sim-secret").decode(),
    }
    for what, value in secrets.items():
        assert value not in text, "%s (%s) appears in the output:\n%s" % (what, value, res)
    # the record itself: masked number only
    assert res.record["phone"] == "+86*******8000"


@pytest.mark.parametrize("service,rhost", [("sudo", None), ("su", "::1")])
def test_record_fields_other_services(login, sim, service, rhost):
    res = login.run("alice", [CODE], service=service, rhost=rhost)
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["service"] == service
    assert rec["rhost"] == (rhost or "-")
