"""Tests of scripts/phoneverify-sim against tests/SIMULATOR_API.md.

Run: /usr/bin/python3 -m pytest -q tests/sim
The simulator runs as a subprocess on a free loopback port; every test starts
from /_sim/reset.
"""

import http.client
import json
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "scripts" / "phoneverify-sim"
SEND_AUTH = "Bearer sim-send-token"
VERIFY_AUTH = "Basic c2ltLXVzZXI6c2ltLXNlY3JldA=="       # sim-user:sim-secret
PRECHECK_AUTH = "Bearer sim-precheck-token"
LICENCE = "SIM-LICENCE"
PHONE = "+86 13800138000"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """The redirect fault must be seen, not followed."""

    def redirect_request(self, *args, **kwargs):
        return None


class SimProcess:
    """A running simulator; its console output is collected by threads so a
    full pipe never stalls it."""

    def __init__(self, *args, ssl_context=None):
        self.proc = subprocess.Popen([str(SIM), "--port", "0", *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        self.first_line = self.proc.stdout.readline().rstrip("\n")
        assert self.first_line.startswith("phoneverify-sim listening on "), \
            self.first_line + self.proc.stderr.read()
        self.base = self.first_line.rsplit(" ", 1)[1]
        self.port = int(self.base.rsplit(":", 1)[1])
        self.stdout, self.stderr = [], []
        self.drains = [threading.Thread(target=sink.extend, args=(stream,), daemon=True)
                       for stream, sink in ((self.proc.stdout, self.stdout),
                                            (self.proc.stderr, self.stderr))]
        for drain in self.drains:
            drain.start()
        handlers = [NoRedirect()]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self.opener = urllib.request.build_opener(*handlers)

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=5) == 0
        for drain in self.drains:
            drain.join(timeout=5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def request(self, method, path, body=None, headers=None, timeout=5):
        """(status, headers, body bytes); HTTP errors are answers, not exceptions."""
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            with self.opener.open(req, timeout=timeout) as resp:
                return resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.headers, err.read()

    def json_call(self, path, obj, auth=None, content_type="application/json"):
        headers = {"Content-Type": content_type}
        if auth:
            headers["Authorization"] = auth
        status, _, body = self.request("POST", path, json.dumps(obj).encode(), headers)
        return status, json.loads(body)

    def form_call(self, path, form):
        body = urllib.parse.urlencode(form).encode()
        status, _, raw = self.request("POST", path, body, {
            "Content-Type": "application/x-www-form-urlencoded"})
        return status, json.loads(raw)

    def control(self, path, obj=None):
        if obj is None:
            status, _, body = self.request("GET", "/_sim/" + path)
        else:
            status, _, body = self.request("POST", "/_sim/" + path, json.dumps(obj).encode(),
                                           {"Content-Type": "application/json"})
        assert status == 200, body
        return json.loads(body)

    # provider calls with the default credentials
    def send(self, to=PHONE, target="ANY"):
        key = "email" if "@" in to else "phone_number"
        return self.json_call("/auth/v1/verification", {key: to, "target": target},
                              auth=SEND_AUTH)

    def verify(self, message_id, code):
        return self.json_call("/v1/verifications",
                              {"message_id": message_id, "verify_code": code},
                              auth=VERIFY_AUTH)

    def precheck(self, name, mobile):
        return self.json_call("/identity/phone/check-2e", {"name": name, "mobile": mobile},
                              auth=PRECHECK_AUTH)

    def last_message(self):
        return self.control("outbox")["messages"][-1]

    def fault(self, **spec):
        self.control("fault", spec)


@pytest.fixture(scope="module")
def sim_process(tmp_path_factory):
    port_file = tmp_path_factory.mktemp("sim") / "port"
    sim = SimProcess("--port-file", port_file)
    sim.port_file = port_file
    yield sim
    sim.stop()
    # Clients hanging up (huge, drop, timeouts) must not print tracebacks.
    assert "Traceback" not in "".join(sim.stderr), "".join(sim.stderr)


@pytest.fixture
def sim(sim_process):
    sim_process.control("reset", {})
    return sim_process


def sent_code(sim):
    """Send to PHONE; (verification_id, code) from the outbox."""
    status, answer = sim.send()
    assert status == 200, answer
    message = sim.last_message()
    assert message["verification_id"] == answer["verification_id"]
    return message["verification_id"], message["code"]


# ---------------------------------------------------------------- basics

def test_listening_line_and_port_file(sim):
    assert sim.first_line == f"phoneverify-sim listening on http://127.0.0.1:{sim.port}"
    assert sim.port_file.read_text().strip() == str(sim.port)


def test_send_outbox_verify_once(sim):
    status, answer = sim.send()
    assert status == 200
    assert answer["expires_in"] == 600 and answer["is_user"] is False
    message = sim.last_message()
    assert message["channel"] == "sms" and message["to"] == PHONE
    assert len(message["code"]) == 6 and message["code"].isdigit()
    assert message["expires_in"] == 600 and isinstance(message["time"], int)
    assert (f"[sim] SMS to {PHONE}: code {message['code']} "
            f"(id {answer['verification_id']}, valid 600 s)\n") in sim.stdout

    assert sim.verify(answer["verification_id"], message["code"]) == (200, {
        "message_id": answer["verification_id"], "verify_code": message["code"],
        "verified": True})
    status, error = sim.verify(answer["verification_id"], message["code"])
    assert (status, error["code"]) == (400, 3003)


def test_email_channel(sim):
    status, _ = sim.send("a@b.example")
    assert status == 200
    assert sim.last_message()["channel"] == "email"
    assert any(line.startswith("[sim] EMAIL to a@b.example: code ") for line in sim.stdout)


def test_wrong_code_then_right_code(sim):
    message_id, code = sent_code(sim)
    wrong = "000000" if code != "000000" else "111111"
    assert sim.verify(message_id, wrong)[1]["verified"] is False
    assert sim.verify(message_id, code)[1]["verified"] is True


def test_expiry_via_clock(sim):
    message_id, code = sent_code(sim)
    sim.control("clock", {"advance": 601})
    status, error = sim.verify(message_id, code)
    assert (status, error["code"]) == (400, 3011)


def test_expires_in_limit(sim):
    sim.control("limits", {"expires_in": 30})
    assert sim.send()[1]["expires_in"] == 30


def test_per_number_rate_limit(sim):
    sent_code(sim)
    status, error = sim.send()
    assert (status, error["error"], error["error_code"]) == (429, "rate_limit_exceeded", 4029)
    assert sim.send("+86 13800138001")[0] == 200          # another number is fine
    sim.control("clock", {"advance": 60})
    assert sim.send()[0] == 200


def test_per_ip_rate_limit(sim):
    for i in range(10):
        assert sim.send(f"+86 1380013{i:04d}")[0] == 200
    status, error = sim.send("+86 13900000000")
    assert (status, error["error_code"]) == (429, 4029)
    sim.control("clock", {"advance": 3600})
    assert sim.send("+86 13900000000")[0] == 200


def test_target_user_and_not_user(sim):
    status, error = sim.send(target="USER")
    assert (status, error["error"], error["error_code"]) == (404, "user_not_found", 4004)
    sim.control("users", {"to": PHONE})
    status, answer = sim.send(target="USER")
    assert status == 200 and answer["is_user"] is True
    sim.control("clock", {"advance": 60})
    assert sim.send(target="NOT_USER")[0] == 400


# ---------------------------------------------------------------- validation

def test_bad_auth(sim):
    status, error = sim.json_call("/auth/v1/verification",
                                  {"phone_number": PHONE, "target": "ANY"})
    assert status == 401 and error["error_code"] == 4010
    status, error = sim.json_call("/v1/verifications",
                                  {"message_id": "x", "verify_code": "123456"},
                                  auth="Basic d3Jvbmc6d3Jvbmc=")
    assert (status, error["code"]) == (401, 2001)
    status, error = sim.json_call("/identity/phone/check-2e",
                                  {"name": "A", "mobile": "13800138000"}, auth="Bearer nope")
    assert status == 401 and error["success"] is False
    assert error["error"]["code"] == "invalid_token" and error["trace_id"]
    assert sim.form_call("/dqe/AUTH/", {"licence": "WRONG"})[1]["error_id"] == "02"


@pytest.mark.parametrize("body", [
    {"phone_number": "+8613800138000", "target": "ANY"},      # E.164, no space
    {"phone_number": "+86  13800138000", "target": "ANY"},    # two spaces
    {"phone_number": PHONE, "email": "a@b.example", "target": "ANY"},
    {"target": "ANY"},
])
def test_send_invalid_number(sim, body):
    status, error = sim.json_call("/auth/v1/verification", body, auth=SEND_AUTH)
    assert (status, error["error"], error["error_code"]) == (400, "invalid_phone_number", 4001)


@pytest.mark.parametrize("body", [
    {"phone_number": PHONE, "target": "ALL"},
    {"phone_number": PHONE},
    {"phone_number": PHONE, "target": "ANY", "extra": 1},
    {"phone_number": 8613800138000, "target": "ANY"},
])
def test_send_bad_request(sim, body):
    assert sim.json_call("/auth/v1/verification", body, auth=SEND_AUTH)[0] == 400
    assert sim.control("outbox")["messages"] == []


def test_verify_request_errors(sim):
    headers = {"Content-Type": "application/json", "Authorization": VERIFY_AUTH}
    for raw in (b'{"message_id": "x"', b'{"message_id": "x", "message_id": "y"}', b"[]"):
        status, _, body = sim.request("POST", "/v1/verifications", raw, headers)
        assert (status, json.loads(body)["code"]) == (400, 3001)
    status, error = sim.json_call("/v1/verifications", {"message_id": "x"}, auth=VERIFY_AUTH)
    assert (status, error["code"]) == (400, 3002)
    status, error = sim.json_call("/v1/verifications",
                                  {"message_id": "x", "verify_code": "1"},
                                  auth=VERIFY_AUTH, content_type="text/plain")
    assert (status, error["code"]) == (400, 3001)
    status, error = sim.verify("no-such-id", "123456")
    assert (status, error["code"]) == (400, 4001)


def test_control_rejects_bad_input(sim):
    status, _, body = sim.request("POST", "/_sim/fault",
                                  json.dumps({"endpoint": "send", "kind": "bogus"}).encode())
    assert status == 400 and "kind" in json.loads(body)["error"]
    status, _, _ = sim.request("POST", "/_sim/fault",
                               json.dumps({"endpoint": "any", "kind": "captcha"}).encode())
    assert status == 400


# ---------------------------------------------------------------- faults

def test_fault_http500(sim):
    sim.fault(endpoint="verify", kind="http500")
    status, error = sim.verify("x", "123456")
    assert (status, error["code"]) == (500, 1000)
    sim.fault(endpoint="send", kind="http500")
    assert sim.send()[0] == 500


def test_fault_count_and_any(sim):
    sim.fault(endpoint="any", kind="http500", count=2)
    assert sim.send()[0] == 500
    assert sim.precheck("A", "13800138000")[0] == 500
    assert sim.send()[0] == 200
    sim.fault(endpoint="send", kind="auth")
    sim.fault(clear=True)
    assert sim.send("+86 13800138001")[0] == 200


@pytest.mark.parametrize("kind,status,error,code", [
    ("ratelimit", 429, "rate_limit_exceeded", 4029),
    ("captcha", 400, "captcha_required", 4028),
    ("user_not_found", 404, "user_not_found", 4004),
    ("invalid_number", 400, "invalid_phone_number", 4001),
    ("auth", 401, "unauthenticated", 4010),
])
def test_send_error_faults(sim, kind, status, error, code):
    sim.fault(endpoint="send", kind=kind, count=1)
    got_status, got = sim.send()
    assert (got_status, got["error"], got["error_code"]) == (status, error, code)
    assert sim.control("outbox")["messages"] == []
    assert sim.send()[0] == 200                        # count 1: used up


def test_captcha_token_passes_captcha_fault(sim):
    sim.fault(endpoint="send", kind="captcha")
    status, _, _ = sim.request("POST", "/auth/v1/verification",
                               json.dumps({"phone_number": PHONE, "target": "ANY"}).encode(),
                               {"Content-Type": "application/json", "Authorization": SEND_AUTH,
                                "X-Captcha-Token": "solved"})
    assert status == 200


def raw_send(sim):
    return sim.request("POST", "/auth/v1/verification",
                       json.dumps({"phone_number": PHONE, "target": "ANY"}).encode(),
                       {"Content-Type": "application/json", "Authorization": SEND_AUTH})


def test_fault_notjson(sim):
    sim.fault(endpoint="send", kind="notjson")
    status, headers, body = raw_send(sim)
    assert (status, headers.get_content_type(), body) == (200, "text/html", b"<html>oops</html>")


def test_fault_truncated(sim):
    sim.fault(endpoint="send", kind="truncated")
    status, _, body = raw_send(sim)
    assert status == 200 and body.startswith(b'{"verification_id": ')
    with pytest.raises(ValueError):
        json.loads(body)


def test_fault_garbage_and_nul(sim):
    sim.fault(endpoint="send", kind="garbage")
    status, _, body = raw_send(sim)
    assert status == 200 and body.endswith(b"}xx")
    json.loads(body[:-3])
    sim.control("limits", {"per_number_seconds": 0})
    sim.fault(endpoint="send", kind="nul")
    _, _, body = raw_send(sim)
    head, nul, _ = body.partition(b"\x00")
    assert nul and json.loads(head)["expires_in"] == 600


def test_fault_wrongcase_and_verify_string(sim):
    message_id, code = sent_code(sim)
    sim.fault(endpoint="verify", kind="wrongcase", count=1)
    answer = sim.verify(message_id, "999999" if code != "999999" else "000000")[1]
    assert "Verified" in answer and "verified" not in answer
    sim.fault(endpoint="verify", kind="verify_string")
    assert sim.verify(message_id, code)[1]["verified"] == "true"


def test_fault_nested(sim):
    sim.fault(endpoint="precheck", kind="nested")
    status, _, body = sim.request("POST", "/identity/phone/check-2e", b"{}",
                                  {"Content-Type": "application/json"})
    assert status == 200 and body.startswith(b"[[[[") and body.endswith(b"]]]]")
    assert len(body) < 64 * 1024


def test_fault_redirect(sim):
    sim.fault(endpoint="verify", kind="redirect")
    status, headers, _ = sim.request("POST", "/v1/verifications", b"{}",
                                     {"Content-Type": "application/json"})
    assert status == 302
    assert headers["Location"] == sim.base + "/_sim/redirected"
    assert sim.control("stats")["redirects_followed"] == 0


def test_fault_huge(sim):
    sim.fault(endpoint="send", kind="huge")
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    conn.request("POST", "/auth/v1/verification",
                 json.dumps({"phone_number": PHONE, "target": "ANY"}),
                 {"Content-Type": "application/json", "Authorization": SEND_AUTH})
    resp = conn.getresponse()
    assert resp.status == 200
    assert int(resp.headers["Content-Length"]) == 16 * 1024 * 1024
    assert resp.read(13) == b'{"padding": "'
    conn.close()                                       # hang up mid-body


def test_fault_drop(sim):
    sim.fault(endpoint="send", kind="drop", count=1)
    with pytest.raises(ConnectionError):
        raw_send(sim)
    assert raw_send(sim)[0] == 200


def test_fault_delay_does_not_block_others(sim):
    sim.fault(endpoint="precheck", kind="delay", seconds=1)
    results = {}

    def slow():
        start = time.monotonic()
        results["answer"] = sim.precheck("A", "13800138000")
        results["took"] = time.monotonic() - start

    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.1)
    start = time.monotonic()
    assert sim.send()[0] == 200
    assert time.monotonic() - start < 0.5
    thread.join()
    assert results["took"] >= 1.0
    assert results["answer"] == (200, {"result": "-1", "description": "No record found"})


def test_fault_trickle(sim):
    sim.fault(endpoint="send", kind="trickle", seconds=1)
    start = time.monotonic()
    status, _, body = raw_send(sim)
    assert time.monotonic() - start >= 0.9
    assert status == 200 and json.loads(body)["expires_in"] == 600


# ---------------------------------------------------------------- pre-check

def test_precheck_results(sim):
    sim.control("precheck", {"mobile": "13800138000", "name": "Alice Liddell", "result": 0})
    assert sim.precheck("Alice Liddell", "13800138000") == (
        200, {"result": "0", "description": "Verification result is consistent"})
    assert sim.precheck("Bob", "13800138000")[1]["result"] == "1"
    assert sim.precheck("Alice Liddell", "13900000000")[1]["result"] == "-1"
    sim.control("precheck", {"mobile": "13800138000", "name": "Alice Liddell", "result": 0,
                             "as_number": True})
    assert sim.precheck("Alice Liddell", "13800138000")[1]["result"] == 0
    sim.control("precheck", {"mobile": "13700000000", "name": "C", "result": -6})
    assert sim.precheck("C", "13700000000")[1]["result"] == "-6"
    assert sim.control("stats")["precheck_charged"] == 3    # 0, 1, 0; not -1, -6


def test_precheck_missing_field(sim):
    status, error = sim.json_call("/identity/phone/check-2e", {"mobile": "13800138000"},
                                  auth=PRECHECK_AUTH)
    assert status == 400 and error["error"]["code"] == "token_mismatched"


# ---------------------------------------------------------------- numVerify

NUMBER = "33612345678"


def nv_start(sim, number=NUMBER):
    token = sim.form_call("/dqe/AUTH/", {"licence": LICENCE})[1]["token"]
    status, answer = sim.form_call("/dqe/IDMOBILE/", {
        "licence": LICENCE, "number": number, "token": token, "name": "Example",
        "scope": "numVerify"})
    assert status == 200
    return token, answer


def nv_get(sim, token):
    return sim.form_call("/dqe/GET/", {"Licence": LICENCE, "token": token,
                                       "scope": "numVerify"})[1]


def test_numverify_flow(sim):
    token, answer = nv_start(sim)
    assert answer["status"] == "success" and answer["operator"] == "SIMTEL"
    assert answer["url"].startswith(sim.base + "/operator/")
    assert nv_get(sim, token) == {"status": "pending", "scope": "numVerify"}
    # Opening the link from this machine shows a page but verifies nothing.
    status, _, page = sim.request("GET", answer["url"][len(sim.base):])
    assert status == 200 and b"<html>" in page
    assert nv_get(sim, token)["status"] == "pending"
    assert sim.control("numverify/sessions")["sessions"][0]["state"] == "pending"
    sim.control("numverify/open", {"token": token, "from_number": NUMBER})
    assert nv_get(sim, token) == {"status": "success", "scope": "numVerify",
                                  "numVerify": True}
    stats = sim.control("stats")["requests"]
    assert (stats["nv_auth"], stats["nv_idmobile"], stats["nv_get"]) == (1, 1, 3)


def test_numverify_mismatch_and_decline(sim):
    token, _ = nv_start(sim)
    sim.control("numverify/open", {"number": NUMBER, "from_number": "33699999999"})
    assert nv_get(sim, token)["error_id"] == "20"
    token, _ = nv_start(sim, "33611111111")
    sim.control("numverify/open", {"number": "33611111111", "decline": True})
    assert nv_get(sim, token)["error_id"] == "21"


def test_numverify_ineligible_and_errors(sim):
    sim.control("numverify", {"number": NUMBER, "eligible": False})
    token = sim.form_call("/dqe/AUTH/", {"licence": LICENCE})[1]["token"]
    form = {"licence": LICENCE, "number": NUMBER, "token": token, "name": "Example",
            "scope": "numVerify"}
    answer = sim.form_call("/dqe/IDMOBILE/", form)[1]
    assert (answer["status"], answer["error_id"]) == ("error", "09")
    assert sim.form_call("/dqe/IDMOBILE/", {**form, "scope": "other"})[1]["error_id"] == "04"
    assert sim.form_call("/dqe/IDMOBILE/", {**form, "token": "nope"})[1]["error_id"] == "30"
    # GET wants Licence with a capital L.
    answer = sim.form_call("/dqe/GET/", {"licence": LICENCE, "token": token,
                                         "scope": "numVerify"})[1]
    assert answer["status"] == "error"


def test_numverify_token_expires(sim):
    token, _ = nv_start(sim)
    sim.control("clock", {"advance": 601})
    assert nv_get(sim, token)["error_id"] == "30"


# ---------------------------------------------------------------- transport

def test_keepalive_counts_one_connection(sim):
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    for _ in range(2):
        conn.request("POST", "/_sim/limits", json.dumps({"per_number_seconds": 0}),
                     {"Content-Type": "application/json"})
        assert conn.getresponse().read()
    conn.request("GET", "/_sim/stats")
    stats = json.loads(conn.getresponse().read())
    conn.close()
    assert stats["connections"] == 1


def read_reply_as_it_arrives(sock):
    """Bytes of the first recv() once the socket is readable; the whole
    reply (header and body) when it was sent in one write."""
    sock.settimeout(5)
    return sock.recv(65536)


def test_reply_arrives_in_one_piece_on_a_kept_alive_connection(sim):
    """Header and body leave in one write with TCP_NODELAY: a second small
    write on a kept-alive connection would wait for the client's delayed
    ACK (~40 ms per answer, for the module and every time bound in the
    tests), and the first recv would hold the header alone."""
    request = (b"GET /_sim/stats HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Length: 0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as sock:
        for _ in range(3):
            sock.sendall(request)
            first = read_reply_as_it_arrives(sock)
            head, sep, body = first.partition(b"\r\n\r\n")
            assert sep, first
            length = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))
            assert length > 0 and len(body) == length, first
            assert json.loads(body)["connections"] >= 1


def test_https(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.create_default_context(cafile=str(cert))
    sim = SimProcess("--tls-cert", cert, "--tls-key", key, "--quiet", ssl_context=context)
    try:
        assert sim.base == f"https://127.0.0.1:{sim.port}"
        message_id, code = sent_code(sim)
        assert sim.verify(message_id, code)[1]["verified"] is True
        assert nv_start(sim)[1]["url"].startswith(sim.base + "/operator/")
    finally:
        sim.stop()
    assert sim.stdout == []                            # --quiet: no console lines
    assert "Traceback" not in "".join(sim.stderr)


def test_fault_cut_wrong(sim):
    """cut_wrong (verify): an answer saying "verified": false leaves with
    half its body under the full Content-Length and the connection closes;
    a right code's answer and an error answer are untouched."""
    message_id, code = sent_code(sim)
    wrong = "999999" if code != "999999" else "000000"
    sim.fault(endpoint="verify", kind="cut_wrong")
    conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=5)
    conn.request("POST", "/v1/verifications",
                 json.dumps({"message_id": message_id, "verify_code": wrong}),
                 {"Content-Type": "application/json", "Authorization": VERIFY_AUTH})
    resp = conn.getresponse()
    assert resp.status == 200
    with pytest.raises(http.client.IncompleteRead):
        resp.read()
    conn.close()
    assert sim.verify(message_id, code)[1]["verified"] is True
    status, answer = sim.verify(message_id, code)
    assert (status, answer["code"]) == (400, 3003)
    assert sim.control("stats")["requests"]["verify"] == 3
    status, answer = sim.request("POST", "/_sim/fault",
                                 json.dumps({"endpoint": "any",
                                             "kind": "cut_wrong"}).encode(),
                                 {"Content-Type": "application/json"})[:2]
    assert status == 400
