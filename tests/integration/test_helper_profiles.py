"""Issue 20 item 3: one helper per login, two profiles that never mix.

With `state = etcd` the provider transport (pv_http_from_config) and the
etcd backend's (pv_state_etcd_transport) are two views on ONE helper
process, each with its settings as a profile of its own
(transport/pv_helper_proto.h).  These tests drive the two views as the
module builds them (pv_views.c, linked against the build's libpvcore.a)
against two TLS servers of different CAs that record the client
certificate of every request: a request of one profile is never made with
the other's CA or client certificate, not even to the same host, and
never over the other's connection."""

import json
import os
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cdriver import build_driver
from pvtest import BUILD, REPO, _openssl, make_ca, make_server_cert

pytestmark = pytest.mark.transport

HERE = os.path.dirname(os.path.abspath(__file__))


def make_client_cert(d, ca_name, name):
    """A client certificate (CN=name, clientAuth) signed by ca_name."""
    (d / ("%s.ext" % name)).write_text(
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=clientAuth\n")
    _openssl("req", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             "%s.key" % name, "-out", "%s.csr" % name, "-subj",
             "/CN=%s" % name, cwd=d)
    _openssl("x509", "-req", "-in", "%s.csr" % name, "-CA",
             "%s.pem" % ca_name, "-CAkey", "%s.key" % ca_name,
             "-CAcreateserial", "-days", "3", "-out", "%s.pem" % name,
             "-extfile", "%s.ext" % name, cwd=d)
    os.chmod(d / ("%s.pem" % name), 0o644)
    os.chmod(d / ("%s.key" % name), 0o600)
    return d / ("%s.pem" % name), d / ("%s.key" % name)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("profiles-pki")
    os.chmod(d, 0o755)
    out = {"prov_ca": make_ca(d, "provca"), "etcd_ca": make_ca(d, "etcdca")}
    out["prov_srv"] = make_server_cert(d, "provca", name="provsrv")
    out["etcd_srv"] = make_server_cert(d, "etcdca", name="etcdsrv")
    out["prov_client"] = make_client_cert(d, "provca", "provider-client")
    out["etcd_client"] = make_client_cert(d, "etcdca", "etcd-client")
    both = d / "both.pem"
    both.write_text(out["prov_ca"].read_text() + out["etcd_ca"].read_text())
    os.chmod(both, 0o644)
    out["both_ca"] = both
    return out


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"          # keep-alive, as the providers

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(n)
        cert = self.connection.getpeercert()
        cn = "none"
        if cert:
            cn = dict(x[0] for x in cert["subject"])["commonName"]
        body = json.dumps({"server": self.server.name, "client": cn,
                           "conn": self.client_address[1]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name, cert, key, client_cas, require):
        super().__init__(("127.0.0.1", 0), Recorder)
        self.name = name
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        for ca in client_cas:
            ctx.load_verify_locations(str(ca))
        # ask every client for a certificate; E insists on one
        ctx.verify_mode = ssl.CERT_REQUIRED if require else ssl.CERT_OPTIONAL
        self.socket = ctx.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request, client_address):
        pass                               # refused handshakes are expected

    def url(self, path="/x"):
        return "https://127.0.0.1:%d%s" % (self.server_address[1], path)


@pytest.fixture(scope="module")
def servers(pki):
    """P: the provider (provider CA), asks for a client certificate of
    either CA and records it.  E: etcd (etcd CA), requires an etcd client
    certificate.  A server asking for a certificate is what makes a
    profile's client certificate show if it were sent."""
    cas = (pki["prov_ca"], pki["etcd_ca"])
    p = TLSServer("P", *pki["prov_srv"], cas, require=False)
    e = TLSServer("E", *pki["etcd_srv"], (pki["etcd_ca"],), require=True)
    threads = [threading.Thread(target=s.serve_forever, daemon=True)
               for s in (p, e)]
    for t in threads:
        t.start()
    try:
        yield p, e
    finally:
        for s in (p, e):
            s.shutdown()
            s.server_close()


@pytest.fixture(scope="module")
def views_tool(tmp_path_factory):
    out = tmp_path_factory.mktemp("views") / "pv_views"
    return build_driver(BUILD, REPO, os.path.join(HERE, "pv_views.c"), out)


def helper_user():
    return os.environ.get("PV_TEST_HELPER_USER") or "nobody"


def run_views(tool, artifacts, ca="", cert=("", ""), state_ca="",
              state_cert=("", ""), requests=()):
    """[(view, status, code, body dict or None)], helper starts, shared."""
    argv = [str(tool), str(artifacts[1]), helper_user(), str(ca),
            str(cert[0]), str(cert[1]), str(state_ca), str(state_cert[0]),
            str(state_cert[1])] + ["%s:%s" % r for r in requests]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                       env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p
    lines = p.stdout.strip().split("\n")
    out = []
    for line in lines[:-1]:
        view, status, code, body = line.split(" ", 3)
        out.append((view, status, int(code),
                    json.loads(body) if body != "-" else None))
    tail = lines[-1].split()
    assert tail[0] == "starts" and tail[2] == "shared", p.stdout
    return out, int(tail[1]), int(tail[3])


def test_each_profile_its_own_ca_and_certificate(views_tool, artifacts, pki,
                                                 servers):
    """Interleaved, on one helper: etcd gets the etcd client certificate,
    the provider its own; each CA admits only its own server, so the etcd
    CA never verifies the provider host and the provider's never etcd."""
    p, e = servers
    out, starts, shared = run_views(
        views_tool, artifacts, ca=pki["prov_ca"], cert=pki["prov_client"],
        state_ca=pki["etcd_ca"], state_cert=pki["etcd_client"],
        requests=[("e", e.url()), ("p", p.url()), ("e", e.url()),
                  ("p", p.url()), ("p", e.url()), ("e", p.url()),
                  ("p", p.url()), ("e", e.url())])
    assert (starts, shared) == (1, 1), out
    seen = [(v, st, b and (b["server"], b["client"])) for v, st, _c, b in out]
    assert seen == [
        ("e", "ok", ("E", "etcd-client")),
        ("p", "ok", ("P", "provider-client")),
        ("e", "ok", ("E", "etcd-client")),
        ("p", "ok", ("P", "provider-client")),
        ("p", "tls", None),                # provider CA: E not trusted
        ("e", "tls", None),                # etcd CA: P not trusted
        ("p", "ok", ("P", "provider-client")),
        ("e", "ok", ("E", "etcd-client")),
    ], out
    # each profile kept its one connection alive across the other's
    # requests and failures
    assert len({b["conn"] for v, _s, _c, b in out if b and v == "p"}) == 1
    assert len({b["conn"] for v, _s, _c, b in out if b and v == "e"}) == 1


def test_etcd_certificate_never_reaches_the_provider_host(
        views_tool, artifacts, pki, servers):
    """The worst case for a mixup: both profiles trust both CAs (one bundle
    for everything) and the provider has no client certificate.  The etcd
    view reaches the provider host P first, presenting its certificate;
    then the provider's requests to the same host present none (never the
    etcd profile's, never over its connection), and the provider cannot
    get into etcd (E requires a certificate it does not have)."""
    p, e = servers
    out, starts, shared = run_views(
        views_tool, artifacts, ca=pki["both_ca"], state_ca=pki["both_ca"],
        state_cert=pki["etcd_client"],
        requests=[("e", p.url()), ("p", p.url()), ("e", p.url()),
                  ("p", p.url()), ("p", e.url()), ("e", e.url()),
                  ("p", p.url())])
    assert (starts, shared) == (1, 1), out
    by = [(v, st, b and b["client"]) for v, st, _c, b in out]
    assert by[0] == ("e", "ok", "etcd-client"), out
    assert by[1] == ("p", "ok", "none"), out
    assert by[2] == ("e", "ok", "etcd-client"), out
    assert by[3] == ("p", "ok", "none"), out
    assert by[4][0] == "p" and by[4][1] != "ok", out   # no way into etcd
    assert by[5] == ("e", "ok", "etcd-client"), out
    assert by[6] == ("p", "ok", "none"), out
    # same host, two profiles: two connections, never one shared
    p_conns = {b["conn"] for v, _s, _c, b in out if b and v == "p"}
    e_conns = {b["conn"] for v, _s, _c, b in out
               if b and v == "e" and b["server"] == "P"}
    assert p_conns and e_conns and not (p_conns & e_conns), out


def test_provider_certificate_never_reaches_etcd(views_tool, artifacts, pki,
                                                 servers):
    """The other way round: a provider client certificate configured, no
    state client certificate: etcd (E, requiring one) refuses the etcd
    view, which never borrows the provider's."""
    p, e = servers
    out, starts, shared = run_views(
        views_tool, artifacts, ca=pki["both_ca"], cert=pki["prov_client"],
        state_ca=pki["both_ca"],
        requests=[("p", p.url()), ("e", e.url()), ("e", p.url()),
                  ("p", p.url())])
    assert (starts, shared) == (1, 1), out
    by = [(v, st, b and b["client"]) for v, st, _c, b in out]
    assert by[0] == ("p", "ok", "provider-client"), out
    assert by[1][0] == "e" and by[1][1] != "ok", out
    assert by[2] == ("e", "ok", "none"), out
    assert by[3] == ("p", "ok", "provider-client"), out
