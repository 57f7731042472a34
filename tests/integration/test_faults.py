"""SPEC section 4: "provider outage as seen on the network: connect or TLS
failure, timeout, HTTP 5xx, malformed or oversized answer ->
PAM_AUTHINFO_UNAVAIL with failmode=secure; PAM_SUCCESS with failmode=safe";
the provider rejecting our credentials (401) and a redirect (not followed,
not an outage) -> PAM_AUTHINFO_UNAVAIL whatever failmode says; on both the
send and the verify request, each within timeout + 2 s (SPEC 5: every HTTP
request is bounded in time and size; no redirects are followed)."""

import time

import pytest

from pvtest import (CODE, FAULT_BOUND, assert_failure, assert_pam,
                    closed_port)

UNAVAILABLE = "Verification service unavailable."

# kind -> extra /_sim/fault arguments
TRANSPORT_FAULTS = {
    "http500": {},
    "notjson": {},
    "truncated": {},
    "huge": {},                      # 16 MiB body (limit: 64 KiB)
    "redirect": {},                  # 302 to another path on the sim
    "drop": {},                      # connection closed without an answer
    "trickle": {},                   # 1 byte per second
    "delay": {"seconds": 3.5},       # slower than timeout=2
}
# strict parsing (SPEC 5): these answers are malformed, hence unusable
MALFORMED_FAULTS = {
    "auth": {},                      # provider credential error (401)
    "garbage": {},                   # trailing garbage after the JSON
    "wrongcase": {},                 # "Verified" instead of "verified"
    "nul": {},                       # embedded NUL byte
    "nested": {},                    # 100k nested brackets
}
VERIFY_ONLY_FAULTS = {
    "verify_string": {},             # "verified": "true" as a string
}


# the failure class of each fault kind (pvtest.FAILURE_CLASSES)
FAULT_CLASS = {"auth": "credentials", "redirect": "rejected"}


def check_unavailable(res, sim, failmode, since, what, kind=None):
    rec = assert_failure(res, FAULT_CLASS.get(kind, "outage"), failmode)
    assert since is not None and since <= FAULT_BOUND, \
        "%s took %.2f s (bound %.1f s)\n%s" % (what, since, FAULT_BOUND, res)
    assert sim.stats().get("redirects_followed", 0) == 0, "a redirect was followed"
    return rec


def settle(kind, extra, t_fault):
    """A delayed answer is still computed by the simulator after the module
    gave up (a late code sent or consumed); wait for it so that it cannot
    land in the next test's freshly reset simulator."""
    if kind == "delay":
        left = t_fault + extra["seconds"] + 0.3 - time.monotonic()
        if left > 0:
            time.sleep(left)


def run_send_fault(login, sim, kind, extra, failmode):
    login.conf["failmode"] = failmode
    sim.fault("send", kind, **extra)
    t_fault = time.monotonic()
    res = login.run("alice", [])
    settle(kind, extra, t_fault)
    # on failure, show what the simulator saw (a rare TLS-pass flake of
    # `drop` once let a send through: this says how)
    assert res.prompts == [], "%s\nsim stats: %r\noutbox: %r" % (
        res, sim.stats(), sim.outbox())
    assert sim.requests("send") >= 1
    assert sim.requests("verify") == 0
    return check_unavailable(res, sim, failmode, res.elapsed,
                             "send fault %s" % kind, kind)


def run_verify_fault(login, sim, kind, extra, failmode):
    login.conf["failmode"] = failmode
    sim.fault("verify", kind, **extra)
    s = login.start("alice")
    s.expect_prompt()                # the send worked: we got as far as the prompt
    s.send_code()
    t_fault = time.monotonic()
    res = s.finish()
    settle(kind, extra, t_fault)
    assert len(res.prompts) == 1, str(res)
    assert sim.requests("verify") >= 1
    return check_unavailable(res, sim, failmode, res.since_answer,
                             "verify fault %s" % kind, kind)


ALL_SEND = dict(TRANSPORT_FAULTS, **MALFORMED_FAULTS)
ALL_VERIFY = dict(TRANSPORT_FAULTS, **MALFORMED_FAULTS, **VERIFY_ONLY_FAULTS)


@pytest.mark.parametrize("kind", sorted(ALL_SEND))
def test_send_fault_secure(login, sim, kind):
    run_send_fault(login, sim, kind, ALL_SEND[kind], "secure")


@pytest.mark.parametrize("kind", sorted(ALL_VERIFY))
def test_verify_fault_secure(login, sim, kind):
    run_verify_fault(login, sim, kind, ALL_VERIFY[kind], "secure")


@pytest.mark.parametrize("kind", ["http500", "delay", "huge", "drop"])
def test_send_fault_safe(login, sim, kind):
    run_send_fault(login, sim, kind, ALL_SEND[kind], "safe")


@pytest.mark.parametrize("kind", ["http500", "trickle", "redirect", "notjson"])
def test_verify_fault_safe(login, sim, kind):
    run_verify_fault(login, sim, kind, ALL_VERIFY[kind], "safe")


@pytest.mark.parametrize("kind", ["auth", "redirect"])
def test_send_fault_safe_never_opens(login, sim, kind):
    """failmode=safe: a credential rejection (401) or a redirect is not a
    network outage and never opens."""
    rec = run_send_fault(login, sim, kind, ALL_SEND[kind], "safe")
    assert rec["outcome"] == "unavailable"


@pytest.mark.parametrize("kind", ["auth"])
def test_verify_fault_safe_never_opens(login, sim, kind):
    rec = run_verify_fault(login, sim, kind, ALL_VERIFY[kind], "safe")
    assert rec["outcome"] == "unavailable"


def test_verify_string_true_never_success_secure(login, sim):
    """`"verified": "true"` (a string) must not verify anything."""
    rec = run_verify_fault(login, sim, "verify_string", {}, "secure")
    assert rec["outcome"] != "success"


# -- unreachable -------------------------------------------------------------------

@pytest.mark.parametrize("failmode,pam,outcome", [
    ("secure", "PAM_AUTHINFO_UNAVAIL", "unavailable"),
    ("safe", "PAM_SUCCESS", "failopen"),
])
def test_send_unreachable(login, sim, failmode, pam, outcome):
    scheme = sim.server.scheme
    login.conf["send_url"] = "%s://127.0.0.1:%d/auth/v1/verification" % (
        scheme, closed_port())
    login.conf["failmode"] = failmode
    res = login.run("alice", [])
    assert_pam(res, pam, outcome)
    assert res.prompts == []
    assert UNAVAILABLE in res.transcript, str(res)
    assert res.elapsed <= FAULT_BOUND, str(res)


@pytest.mark.parametrize("failmode,pam,outcome", [
    ("secure", "PAM_AUTHINFO_UNAVAIL", "unavailable"),
    ("safe", "PAM_SUCCESS", "failopen"),
])
def test_verify_unreachable(login, sim, failmode, pam, outcome):
    scheme = sim.server.scheme
    login.conf["verify_url"] = "%s://127.0.0.1:%d/v1/verifications" % (
        scheme, closed_port())
    login.conf["failmode"] = failmode
    s = login.start("alice")
    s.expect_prompt()
    s.send_code()
    res = s.finish()
    assert_pam(res, pam, outcome)
    assert UNAVAILABLE in res.transcript, str(res)
    assert res.since_answer <= FAULT_BOUND, str(res)


@pytest.mark.http_only
def test_http_to_non_loopback_refused_without_connecting(login, sim):
    """SPEC 5: only https, and http to loopback.  An http URL to another
    host is refused (a configuration error or unavailable, never a request
    and never a success), quickly (192.0.2.1 is TEST-NET: nothing answers)."""
    login.conf["send_url"] = "http://192.0.2.1/auth/v1/verification"
    res = login.run("alice", [])
    assert res.pam_message in (
        "Authentication service cannot retrieve authentication info",
        "Error in service module"), str(res)
    assert res.rc == 1
    assert res.record["pam"] in ("PAM_AUTHINFO_UNAVAIL", "PAM_SERVICE_ERR")
    assert res.elapsed <= FAULT_BOUND, str(res)


def test_send_fault_then_next_login_fine(login, sim):
    """A fault does not poison later logins (no state left behind)."""
    sim.fault("send", "drop", count=1)
    login.run("alice", [])
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
