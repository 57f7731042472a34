"""Shared test plumbing for the provider simulator (scripts/phoneverify-sim).

Used by the integration harness (tests/integration/pvtest.py), the CLI tests
(tests/cli) and the end-to-end tests (tests/e2e); each suite puts this
directory on sys.path and imports `pvsim`.  The simulator's API is in
tests/SIMULATOR_API.md.

  SimServer      the simulator process: started on port 0 over HTTP or HTTPS,
                 console drained into .console, stopped with .stop()
  Sim            the control-API client (/_sim/...)
  serve, fresh_client
                 the bodies of the usual `sim_server` / `sim` fixtures
  second_sim     the body of an `other` fixture: a simulator of the test's
                 own (a second provider entry), send limits lifted
  NO_LIMITS      the simulator's send limits lifted (Sim.limits(**NO_LIMITS))
  make_ca, make_server_cert, make_tls
                 throw-away TLS material (a test CA and a server certificate
                 for 127.0.0.1) made with the `openssl` command
  free_port / closed_port, wrong_code, stop_process
"""

import http.server
import json
import os
import re
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SIM = REPO / "scripts" / "phoneverify-sim"
PYTHON = "/usr/bin/python3"

LISTENING_RE = re.compile(
    r"^phoneverify-sim listening on (https?)://127\.0\.0\.1:(\d+)\s*$")


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def free_port():
    """A loopback TCP port nobody listens on (closed right after the probe)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_HELD_PORTS = []


def closed_port():
    """A loopback TCP port that refuses connections for as long as this
    process lives: bound here and never listened on, so no other process
    (a server of a test in another pytest-xdist worker) can take it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    _HELD_PORTS.append(s)
    return s.getsockname()[1]


def wrong_code(code):
    """A well-formed code that is not `code` (same length, digits only)."""
    return "%06d" % ((int(code) + 1) % 1000000) if len(code) == 6 else \
        str((int(code) + 1) % (10 ** len(code))).zfill(len(code))


def stop_process(proc):
    """Terminate proc if it still runs (SIGKILL after 10 s) and reap it."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------
# TLS material: a throw-away CA and a server certificate for 127.0.0.1
# ---------------------------------------------------------------------------

def _openssl(*args, cwd, openssl="openssl", env=None):
    argv = [openssl] + [str(a) for a in args]
    p = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(argv), p.returncode,
                                                    p.stdout, p.stderr))


def make_ca(d, name, days=3, cn=None, openssl="openssl", env=None):
    """CA key+cert (NAME.key, NAME.pem) in directory d; returns the cert
    path."""
    d.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "%s.key" % name, "-out", "%s.pem" % name,
             "-days", str(days),
             "-subj", "/CN=%s" % (cn or "pam_phoneverify test %s" % name),
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             cwd=d, openssl=openssl, env=env)
    os.chmod(d / ("%s.pem" % name), 0o644)
    os.chmod(d / ("%s.key" % name), 0o600)
    return d / ("%s.pem" % name)


def make_server_cert(d, ca_name, name="server", san="IP:127.0.0.1", days=3,
                     openssl="openssl", env=None):
    """A server key+cert signed by the CA ca_name in d; returns (cert, key)."""
    (d / ("%s.ext" % name)).write_text(
        "subjectAltName=%s\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" % san)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "%s.key" % name, "-out", "%s.csr" % name,
             "-subj", "/CN=127.0.0.1", cwd=d, openssl=openssl, env=env)
    _openssl("x509", "-req", "-in", "%s.csr" % name, "-CA", "%s.pem" % ca_name,
             "-CAkey", "%s.key" % ca_name, "-CAcreateserial", "-days", str(days),
             "-out", "%s.pem" % name, "-extfile", "%s.ext" % name,
             cwd=d, openssl=openssl, env=env)
    os.chmod(d / ("%s.pem" % name), 0o644)
    os.chmod(d / ("%s.key" % name), 0o600)
    return d / ("%s.pem" % name), d / ("%s.key" % name)


def make_tls(d, days=3, ca_cn=None, openssl="openssl", env=None):
    """CA `ca` + server certificate `server` in d: the dict SimServer takes
    ({"ca", "cert", "key"})."""
    ca = make_ca(d, "ca", days=days, cn=ca_cn, openssl=openssl, env=env)
    cert, key = make_server_cert(d, "ca", days=days, openssl=openssl, env=env)
    return {"ca": ca, "cert": cert, "key": key}


# ---------------------------------------------------------------------------
# The simulator process
# ---------------------------------------------------------------------------

class SimServer:
    """A running scripts/phoneverify-sim; console lines kept in .console.

    tls: None (HTTP) or a dict with "cert", "key" (served) and "ca" (trusted
    by .ssl_ctx).  args: extra command-line options.  env: the simulator's
    environment (default: ours without LD_PRELOAD).  preexec_fn: passed to
    Popen."""

    def __init__(self, tls=None, args=(), env=None, preexec_fn=None):
        self.tls = tls
        self.console = []
        argv = [str(SIM), "--port", "0"] + [str(a) for a in args]
        with open(SIM, "rb") as f:
            first = f.readline()
        if b"python" in first:
            argv = [PYTHON] + argv
        if tls:
            argv += ["--tls-cert", str(tls["cert"]), "--tls-key", str(tls["key"])]
        if env is None:
            env = dict(os.environ)
            env.pop("LD_PRELOAD", None)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, env=env,
                                     stdin=subprocess.DEVNULL,
                                     preexec_fn=preexec_fn)
        self.base = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            line = line.decode("utf-8", "replace").rstrip("\n")
            self.console.append(line)
            m = LISTENING_RE.match(line)
            if m:
                self.scheme, self.port = m.group(1), int(m.group(2))
                self.base = "%s://127.0.0.1:%d" % (self.scheme, self.port)
                break
        if self.base is None:
            self.stop()
            raise RuntimeError("simulator did not start: %r" % self.console)
        assert self.scheme == ("https" if tls else "http"), self.console
        # keep draining the console so the simulator never blocks on a pipe
        self._drain = threading.Thread(target=self._read_console, daemon=True)
        self._drain.start()
        if tls:
            self.ssl_ctx = ssl.create_default_context(cafile=str(tls["ca"]))
        else:
            self.ssl_ctx = None

    def _read_console(self):
        for line in self.proc.stdout:
            self.console.append(line.decode("utf-8", "replace").rstrip("\n"))

    def stop(self):
        stop_process(self.proc)

    def assert_alive(self):
        assert self.proc.poll() is None, \
            "simulator died: %s" % "\n".join(self.console[-20:])

    # URLs of the provider endpoints
    @property
    def send_url(self):
        return self.base + "/auth/v1/verification"

    @property
    def verify_url(self):
        return self.base + "/v1/verifications"

    @property
    def precheck_url(self):
        return self.base + "/identity/phone/check-2e"

    @property
    def numverify_url(self):
        return self.base + "/dqe"


# ---------------------------------------------------------------------------
# The control-API client
# ---------------------------------------------------------------------------

class Sim:
    """Control client of the simulator (one fresh connection per call, so
    every control call adds exactly one to /_sim/stats connections).

    proxies: None uses the proxy variables of our environment (urllib's
    default); {} never goes through a proxy."""

    def __init__(self, server, proxies=None):
        self.server = server
        self.base = server.base
        self.calls = 0          # control calls made (each one connection)
        handlers = []
        if proxies is not None:
            handlers.append(urllib.request.ProxyHandler(proxies))
        if server.ssl_ctx is not None:
            handlers.append(urllib.request.HTTPSHandler(context=server.ssl_ctx))
        self._opener = urllib.request.build_opener(*handlers)

    def _call(self, method, path, body=None):
        self.calls += 1
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"content-type": "application/json",
                                              "connection": "close"})
        try:
            with self._opener.open(req, timeout=10) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            raise AssertionError("sim %s %s -> HTTP %d %s"
                                 % (method, path, e.code, e.read()[:300]))
        return json.loads(raw) if raw else {}

    def reset(self):
        return self._call("POST", "/_sim/reset", {})

    def outbox(self):
        return self._call("GET", "/_sim/outbox")["messages"]

    def stats(self):
        return self._call("GET", "/_sim/stats")

    def requests(self, endpoint):
        return self.stats()["requests"][endpoint]

    def clock(self, advance):
        return self._call("POST", "/_sim/clock", {"advance": advance})

    def limits(self, **kw):
        return self._call("POST", "/_sim/limits", kw)

    def fault(self, endpoint, kind, count=None, seconds=None):
        body = {"endpoint": endpoint, "kind": kind}
        if count is not None:
            body["count"] = count
        if seconds is not None:
            body["seconds"] = seconds
        return self._call("POST", "/_sim/fault", body)

    def clear_faults(self):
        return self._call("POST", "/_sim/fault", {"clear": True})

    def register_user(self, to):
        return self._call("POST", "/_sim/users", {"to": to})

    # -- pre-check and numVerify (SIMULATOR_API.md) -------------------------
    def precheck_register(self, mobile, result, name=None, as_number=None):
        """Register the pre-check answer for a national number."""
        body = {"mobile": mobile, "result": result}
        if name is not None:
            body["name"] = name
        if as_number is not None:
            body["as_number"] = as_number
        return self._call("POST", "/_sim/precheck", body)

    def numverify_number(self, number, eligible=None, error_id=None,
                         operator=None):
        """Configure IDMOBILE's answer for a number (E.164 digits)."""
        body = {"number": number}
        if eligible is not None:
            body["eligible"] = eligible
        if error_id is not None:
            body["error_id"] = error_id
        if operator is not None:
            body["operator"] = operator
        return self._call("POST", "/_sim/numverify", body)

    def numverify_open(self, number=None, token=None, from_number=None,
                       decline=None, numverify=None):
        """Play the phone opening the operator link (latest session of
        `number`, or the session of `token`)."""
        body = {}
        if number is not None:
            body["number"] = number
        if token is not None:
            body["token"] = token
        if from_number is not None:
            body["from_number"] = from_number
        if decline is not None:
            body["decline"] = decline
        if numverify is not None:
            body["numverify"] = numverify
        return self._call("POST", "/_sim/numverify/open", body)

    def numverify_sessions(self):
        return self._call("GET", "/_sim/numverify/sessions")["sessions"]

    def latest_code(self, to=None):
        msgs = [m for m in self.outbox() if to is None or m["to"] == to]
        assert msgs, "no message in the simulator outbox"
        return msgs[-1]["code"]

    def module_connections(self, fn):
        """Run fn(); return (its result, TCP connections the simulator
        accepted meanwhile that were not this client's control calls)."""
        c0 = self.calls
        before = self.stats()["connections"]
        r = fn()
        c1 = self.calls
        after = self.stats()["connections"]
        return r, after - before - (c1 - c0)

    def latest(self):
        msgs = self.outbox()
        assert msgs, "no message in the simulator outbox"
        return msgs[-1]


# ---------------------------------------------------------------------------
# Fixture bodies
# ---------------------------------------------------------------------------


class JsonServer:
    """A tiny provider stand-in on loopback for answers the simulator does
    not give: `answer(path)` returns (HTTP status, JSON-able body) for each
    POST; `hits` lists the paths asked, `url` is the base URL + `path`."""

    def __init__(self, answer, path=""):
        self.hits = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                owner.hits.append(self.path)
                status, body = answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d%s" % (self.httpd.server_address[1], path)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

def serve(tls=None, **kw):
    """Body of a session `sim_server` fixture (`yield from serve(tls)`): a
    running SimServer, stopped when the fixture is torn down."""
    if not SIM.exists():
        pytest.fail("simulator %s missing" % SIM)
    server = SimServer(tls, **kw)
    yield server
    server.stop()


def fresh_client(server):
    """Body of a per-test `sim` fixture: a client of the (still running)
    simulator, reset to its initial state."""
    server.assert_alive()
    s = Sim(server)
    s.reset()
    return s


# The simulator's own send limits lifted, for tests that log in many times.
NO_LIMITS = {"per_number_seconds": 0, "per_ip_per_hour": 1000000}


def second_sim(tls=None):
    """Body of an `other` fixture (`yield from second_sim(tls)`): a
    simulator of the test's own (a second provider entry) with its send
    limits lifted, stopped when the fixture is torn down."""
    server = SimServer(tls)
    try:
        client = fresh_client(server)
        client.limits(**NO_LIMITS)
        yield client
    finally:
        server.stop()
