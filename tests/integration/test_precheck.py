"""SPEC 2.3 and section 4: the name + mobile consistency pre-check.

It runs before any code is sent: consistent (0) lets the SMS go out;
inconsistent (1), -4, -5, and -1 with precheck_unknown=deny refuse with
PAM_AUTH_ERR and send nothing; -2, -3, 5xx and malformed answers are a
provider outage (failmode); -6 and HTTP 429 are refusals the user can
provoke (PAM_AUTH_ERR whatever failmode says); invalid_token (401) is our
credentials and a redirect our request (PAM_AUTHINFO_UNAVAIL whatever
failmode says).  A consistent answer is cached for
precheck_cache seconds per user + name + number.  The record carries
precheck_charged=1|0 when the pre-check was called in that login.
"""

import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pvtest import CODE, PRECHECK_AUTH, assert_failure, assert_pam

UNAVAILABLE = "Verification service unavailable."
REFUSED = "Verification failed."

ALICE_MOBILE = "13800138000"
ALICE_NAME = "Alice Liddell"


def enable_precheck(login, sim, **extra):
    login.conf["precheck_url"] = sim.server.precheck_url
    login.conf["precheck_auth"] = PRECHECK_AUTH
    for k, v in extra.items():
        login.conf[k] = v


def assert_nothing_sent(sim):
    assert sim.outbox() == [], "a code was sent despite the pre-check"
    assert sim.requests("send") == 0
    assert sim.requests("verify") == 0


def next_login_window(sim):
    """Let the simulator's per-number send limit pass (as a user waits)."""
    sim.clock(61)


# -- results ---------------------------------------------------------------------

def test_consistent_sms_sent_success(login, sim):
    enable_precheck(login, sim)
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    st = sim.stats()
    assert st["requests"]["precheck"] == 1
    assert st["precheck_charged"] == 1
    assert st["requests"]["send"] == 1
    msgs = sim.outbox()
    assert len(msgs) == 1 and msgs[0]["to"] == "+86 13800138000", msgs
    assert rec["precheck_charged"] == "1", str(res)
    assert rec["method"] == "sms"


@pytest.mark.parametrize("how", ["registered_1", "name_differs"])
def test_inconsistent_auth_err_nothing_sent(login, sim, how):
    enable_precheck(login, sim)
    if how == "registered_1":
        sim.precheck_register(ALICE_MOBILE, 1, name=ALICE_NAME)
    else:       # the provider knows the number under another name
        sim.precheck_register(ALICE_MOBILE, 0, name="Somebody Else")
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert res.prompts == [], str(res)
    assert_nothing_sent(sim)
    assert sim.requests("precheck") == 1
    assert sim.stats()["precheck_charged"] == 1
    assert rec["precheck_charged"] == "1", str(res)
    assert rec["reason"] == "precheck_inconsistent", str(res)
    assert REFUSED in res.transcript, str(res)
    assert UNAVAILABLE not in res.transcript


@pytest.mark.parametrize("result,reason", [
    (-4, "precheck_name_failed"),
    (-5, "precheck_invalid_mobile"),
])
def test_refusing_results_auth_err(login, sim, result, reason):
    """-4 and -5 are refusals, not outages: PAM_AUTH_ERR even with
    failmode=safe, nothing sent, not charged."""
    enable_precheck(login, sim, failmode="safe")
    sim.precheck_register(ALICE_MOBILE, result, name=ALICE_NAME)
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert res.prompts == [], str(res)
    assert_nothing_sent(sim)
    assert sim.stats()["precheck_charged"] == 0
    assert rec["precheck_charged"] == "0", str(res)
    assert rec["reason"] == reason, str(res)


@pytest.mark.parametrize("how", ["default", "explicit"])
def test_no_record_deny_auth_err(login, sim, how):
    """-1 (no record; the simulator's answer for an unregistered number)
    with precheck_unknown=deny (the default): PAM_AUTH_ERR even with
    failmode=safe."""
    enable_precheck(login, sim, failmode="safe")
    if how == "explicit":
        login.conf["precheck_unknown"] = "deny"
        sim.precheck_register(ALICE_MOBILE, -1)
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert_nothing_sent(sim)
    assert sim.requests("precheck") == 1
    assert rec["precheck_charged"] == "0", str(res)
    assert rec["reason"] == "precheck_no_record", str(res)


def test_no_record_allow_sms_success(login, sim):
    enable_precheck(login, sim, precheck_unknown="allow")
    sim.precheck_register(ALICE_MOBILE, -1)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert len(sim.outbox()) == 1
    assert sim.stats()["precheck_charged"] == 0
    assert rec["precheck_charged"] == "0", str(res)


def test_no_record_allow_still_refuses_inconsistent(login, sim):
    """precheck_unknown=allow only concerns -1: an inconsistent answer is
    still a refusal."""
    enable_precheck(login, sim, precheck_unknown="allow")
    sim.precheck_register(ALICE_MOBILE, 1)
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert_nothing_sent(sim)


# -- provider outage ---------------------------------------------------------------

def check_outage(res, sim, failmode, cls="outage"):
    rec = assert_failure(res, cls, failmode)
    assert res.prompts == [], str(res)
    assert_nothing_sent(sim)
    assert sim.requests("precheck") >= 1
    return rec


@pytest.mark.parametrize("result,failmode", [
    (-2, "secure"), (-3, "safe"), (-2, "safe")])
def test_engine_errors_are_outage(login, sim, result, failmode):
    enable_precheck(login, sim, failmode=failmode)
    sim.precheck_register(ALICE_MOBILE, result, name=ALICE_NAME)
    res = login.run("alice", [])
    rec = check_outage(res, sim, failmode)
    assert rec["precheck_charged"] == "0", str(res)
    assert sim.stats()["precheck_charged"] == 0


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_daily_limit_is_a_refusal(login, sim, failmode):
    """-6 (daily limit reached): anyone can use it up, so it never opens;
    the user is told to try later."""
    enable_precheck(login, sim, failmode=failmode)
    sim.precheck_register(ALICE_MOBILE, -6, name=ALICE_NAME)
    res = login.run("alice", [])
    rec = check_outage(res, sim, failmode, "user")
    assert "try again later" in res.transcript, str(res)
    assert rec["precheck_charged"] == "0", str(res)


# kind of /_sim/fault on endpoint "precheck" -> failure class
PRECHECK_FAULTS = {"http500": "outage", "auth": "credentials",
                   "ratelimit": "user", "notjson": "outage",
                   "truncated": "outage", "garbage": "outage",
                   "wrongcase": "outage", "nul": "outage", "drop": "outage",
                   "redirect": "rejected"}


@pytest.mark.parametrize("kind", sorted(PRECHECK_FAULTS))
def test_fault_secure(login, sim, kind):
    enable_precheck(login, sim, failmode="secure")
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    sim.fault("precheck", kind)
    res = login.run("alice", [])
    check_outage(res, sim, "secure", PRECHECK_FAULTS[kind])
    assert sim.stats()["redirects_followed"] == 0


@pytest.mark.parametrize("kind", ["http500", "ratelimit", "auth", "redirect"])
def test_fault_safe(login, sim, kind):
    enable_precheck(login, sim, failmode="safe")
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    sim.fault("precheck", kind)
    res = login.run("alice", [])
    check_outage(res, sim, "safe", PRECHECK_FAULTS[kind])


@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_wrong_precheck_credential_never_opens(login, sim, failmode):
    """A provider credential error (401 invalid_token from the real
    endpoint, no fault): unavailable whatever failmode says."""
    enable_precheck(login, sim, precheck_auth="bearer:not-the-token",
                    failmode=failmode)
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    res = login.run("alice", [])
    check_outage(res, sim, failmode, "credentials")


def test_outage_no_fallthrough_to_email(login, sim):
    """An unusable pre-check is an outage, not "cannot serve": no e-mail
    is sent instead."""
    enable_precheck(login, sim, methods="sms email")
    sim.fault("precheck", "http500")
    res = login.run("alice", [])
    check_outage(res, sim, "secure")


def test_inconsistent_no_fallthrough_to_email(login, sim):
    """A recycled number is a refusal of the login, not a reason to try
    the next method."""
    enable_precheck(login, sim, methods="sms email")
    sim.precheck_register(ALICE_MOBILE, 1)
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert_nothing_sent(sim)


# -- result as a JSON number or a string ---------------------------------------------

@pytest.mark.parametrize("as_number", [False, True], ids=["string", "number"])
def test_result_number_or_string_consistent(login, sim, as_number):
    enable_precheck(login, sim)
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME, as_number=as_number)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["precheck_charged"] == "1"


def test_result_number_inconsistent(login, sim):
    enable_precheck(login, sim)
    sim.precheck_register(ALICE_MOBILE, 1, name=ALICE_NAME, as_number=True)
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "precheck_inconsistent"
    assert_nothing_sent(sim)


def test_result_number_no_record(login, sim):
    enable_precheck(login, sim, precheck_unknown="allow")
    sim.precheck_register(ALICE_MOBILE, -1, as_number=True)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["precheck_charged"] == "0"


# -- cache ---------------------------------------------------------------------------

def test_cached_second_login_not_checked(login, sim):
    enable_precheck(login, sim)
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["precheck_charged"] == "1"
    next_login_window(sim)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("precheck") == 1, "the cached pre-check was called again"
    assert sim.stats()["precheck_charged"] == 1
    assert "precheck_charged" not in rec, "a cached pre-check is not a call: %s" % rec["_line"]
    assert len(sim.outbox()) == 2


def test_cache_is_used_even_if_provider_now_disagrees(login, sim):
    """Within precheck_cache the provider is not asked: the cached
    consistent answer stands (proves the cache, not a second answer)."""
    enable_precheck(login, sim)
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    assert_pam(login.run("alice", [CODE]), "PAM_SUCCESS", "success")
    sim.fault("precheck", "http500")
    next_login_window(sim)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("precheck") == 1


def test_cache_invalidated_by_changed_number(login, sim):
    enable_precheck(login, sim)
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    assert_pam(login.run("alice", [CODE]), "PAM_SUCCESS", "success")
    # the administrator gives alice a new number
    login.users_lines = [l.replace("+86 13800138000", "+86 13811138111")
                         for l in login.default_users_lines()]
    sim.precheck_register("13811138111", 1)
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert sim.requests("precheck") == 2
    assert rec["precheck_charged"] == "1"
    assert len(sim.outbox()) == 1, "only the first login sent a code"


def test_cache_invalidated_by_changed_number_consistent(login, sim):
    enable_precheck(login, sim)
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    assert_pam(login.run("alice", [CODE]), "PAM_SUCCESS", "success")
    login.users_lines = [l.replace("+86 13800138000", "+86 13811138111")
                         for l in login.default_users_lines()]
    sim.precheck_register("13811138111", 0, name=ALICE_NAME)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("precheck") == 2
    assert rec["precheck_charged"] == "1"
    assert sim.outbox()[-1]["to"] == "+86 13811138111"


def test_cache_invalidated_by_changed_name(login, sim):
    enable_precheck(login, sim)
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    assert_pam(login.run("alice", [CODE]), "PAM_SUCCESS", "success")
    login.users_lines = [l.replace("Alice Liddell", "Alice Hargreaves")
                         for l in login.default_users_lines()]
    next_login_window(sim)
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert sim.requests("precheck") == 2
    assert rec["reason"] == "precheck_inconsistent"
    assert len(sim.outbox()) == 1


def test_cache_is_per_user(login, sim):
    """alice's cached answer says nothing about bob."""
    enable_precheck(login, sim)
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    assert_pam(login.run("alice", [CODE]), "PAM_SUCCESS", "success")
    res = login.run("bob", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")     # bob: no record
    assert sim.requests("precheck") == 2


def test_cache_zero_checks_every_time(login, sim):
    enable_precheck(login, sim, precheck_cache="0")
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    for i in range(2):
        if i:
            next_login_window(sim)
        res = login.run("alice", [CODE])
        rec = assert_pam(res, "PAM_SUCCESS", "success")
        assert rec["precheck_charged"] == "1", str(res)
    assert sim.requests("precheck") == 2
    assert sim.stats()["precheck_charged"] == 2


def test_cache_expires(login, sim):
    enable_precheck(login, sim, precheck_cache="1")
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    assert_pam(login.run("alice", [CODE]), "PAM_SUCCESS", "success")
    time.sleep(1.2)                 # the module's own clock, not the simulator's
    next_login_window(sim)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("precheck") == 2
    assert rec["precheck_charged"] == "1"


def test_inconsistent_is_not_cached(login, sim):
    enable_precheck(login, sim)
    sim.precheck_register(ALICE_MOBILE, 1, name=ALICE_NAME)
    assert_pam(login.run("alice", []), "PAM_AUTH_ERR", "denied")
    sim.precheck_register(ALICE_MOBILE, 0, name=ALICE_NAME)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("precheck") == 2


def test_no_record_allowed_is_not_cached(login, sim):
    """Only a consistent (0) answer is remembered."""
    enable_precheck(login, sim, precheck_unknown="allow")
    assert_pam(login.run("alice", [CODE]), "PAM_SUCCESS", "success")
    next_login_window(sim)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("precheck") == 2
    assert rec["precheck_charged"] == "0"


def test_off_by_default_no_field(login, sim):
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("precheck") == 0
    assert "precheck_charged" not in rec, rec["_line"]


def test_no_name_refused_without_call(login, sim):
    """The pre-check needs the user's name: a users-file line without one
    is refused (nothing to compare), and nothing is sent."""
    enable_precheck(login, sim, failmode="safe")
    login.users_lines = ["alice:+86 13800138000"]
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert sim.requests("precheck") == 0
    assert_nothing_sent(sim)


def test_precheck_not_run_for_email(login, sim):
    """The pre-check guards a phone number; an e-mail code does not use it."""
    enable_precheck(login, sim, methods="email")
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["method"] == "email"
    assert sim.requests("precheck") == 0


# -- what goes on the wire (a recording stand-in for the pre-check API) ---------------

class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):      # noqa: N802 (http.server's name)
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n)
        self.server.seen.append({"path": self.path,
                                 "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "body": body})
        out = json.dumps({"result": "0", "description": "consistent"}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


@pytest.fixture
def recorder(tls_material):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    srv.daemon_threads = True
    srv.seen = []
    scheme = "http"
    if tls_material:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(tls_material["cert"]), str(tls_material["key"]))
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    srv.url = "%s://127.0.0.1:%d/identity/phone/check-2e" % (scheme, srv.server_address[1])
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("encryption", [None, "SM4-pv-test-value"])
def test_request_on_the_wire(login, sim, recorder, encryption):
    """Body {"name", "mobile"} (the national number) plus "encryption" exactly when precheck_encryption is set; bearer
    auth; JSON content type."""
    login.conf["precheck_url"] = recorder.url
    login.conf["precheck_auth"] = PRECHECK_AUTH
    if encryption:
        login.conf["precheck_encryption"] = encryption
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert len(recorder.seen) == 1, recorder.seen
    req = recorder.seen[0]
    assert req["path"] == "/identity/phone/check-2e"
    assert req["headers"].get("authorization") == "Bearer sim-precheck-token"
    assert req["headers"].get("content-type", "").split(";")[0].strip() == "application/json"
    body = json.loads(req["body"])
    want = {"name": ALICE_NAME, "mobile": ALICE_MOBILE}
    if encryption:
        want["encryption"] = encryption
    assert body == want
    if encryption:
        assert encryption not in res.transcript, "precheck_encryption is a secret"


def test_request_national_number_with_e164_format(login, sim, recorder):
    """phone_format=e164 changes the send API's format only: the pre-check
    still gets the national number."""
    login.conf["precheck_url"] = recorder.url
    login.conf["precheck_auth"] = PRECHECK_AUTH
    login.conf["phone_format"] = "e164"
    res = login.run("bob", [])      # the simulator refuses "+86139..." (no space)
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert len(recorder.seen) == 1, recorder.seen
    assert json.loads(recorder.seen[0]["body"]) == {"name": "Bob Builder",
                                                    "mobile": "13900139000"}
