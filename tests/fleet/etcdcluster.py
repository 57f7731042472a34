"""A throw-away etcd cluster on loopback for the fleet tests.

Three members of Debian's etcd-server (scripts/install-deps), each with its
own data dir under a temp dir, free loopback ports, TLS on the client and
peer URLs with certificates from a CA made at test time (openssl command
line), and --client-cert-auth: a client needs a certificate from that CA.
A plain-HTTP metrics listener per member serves /health and /metrics (the
request counters the cost measurement reads).  Every member runs in its own
process group; stop() kills the groups and reaps them.
"""

import ctypes
import os
import shutil
import signal
import subprocess
import time
import urllib.request

from pvsim import _openssl, free_port, make_ca  # noqa: E402

ETCD = shutil.which("etcd")
ETCDCTL = shutil.which("etcdctl")
NAMES = ("m0", "m1", "m2")
# short raft timers: a lost member or leader is noticed within a second on
# loopback (the defaults, 100/1000 ms, are for real networks)
RAFT = ["--heartbeat-interval", "50", "--election-timeout", "500"]


_LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the member between fork and exec: a new session (so that
    kill_member can kill the group) and SIGKILL when pytest itself dies,
    so no member outlives a killed test run."""
    os.setsid()
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def make_cert(d, ca_name, name, eku, cn=None, san="IP:127.0.0.1"):
    """Key + certificate NAME.{key,pem} in d signed by CA ca_name; eku e.g.
    "serverAuth,clientAuth".  Returns (cert, key)."""
    ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" \
          "extendedKeyUsage=%s\n" % eku
    if san:
        ext += "subjectAltName=%s\n" % san
    (d / ("%s.ext" % name)).write_text(ext)
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "%s.key" % name, "-out", "%s.csr" % name,
             "-subj", "/CN=%s" % (cn or name), cwd=d)
    _openssl("x509", "-req", "-in", "%s.csr" % name, "-CA", "%s.pem" % ca_name,
             "-CAkey", "%s.key" % ca_name, "-CAcreateserial", "-days", "3",
             "-out", "%s.pem" % name, "-extfile", "%s.ext" % name, cwd=d)
    os.chmod(d / ("%s.pem" % name), 0o644)
    os.chmod(d / ("%s.key" % name), 0o600)
    return d / ("%s.pem" % name), d / ("%s.key" % name)


def make_pki(d):
    """The cluster CA, one server/peer certificate (members present it to
    each other and to clients; etcd's JSON gateway also dials its own gRPC
    port with it, hence clientAuth), the module's client certificate, and
    a second CA with a client certificate etcd must refuse."""
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o755)
    ca = make_ca(d, "etcdca", cn="pam_phoneverify fleet test CA")
    server, server_key = make_cert(d, "etcdca", "member",
                                   "serverAuth,clientAuth", cn="etcd member")
    client, client_key = make_cert(d, "etcdca", "client", "clientAuth",
                                   cn="pam_phoneverify", san=None)
    other = d / "other"
    other_ca = make_ca(other, "otherca", cn="some other CA")
    rogue, rogue_key = make_cert(other, "otherca", "rogue", "clientAuth",
                                 cn="pam_phoneverify", san=None)
    return {"ca": ca, "server": server, "server_key": server_key,
            "client": client, "client_key": client_key,
            "other_ca": other_ca, "rogue": rogue, "rogue_key": rogue_key}


class Member:
    def __init__(self, name, base):
        self.name = name
        self.data = base / name
        self.log = base / ("%s.log" % name)
        self.client_port = free_port()
        self.peer_port = free_port()
        self.metrics_port = free_port()
        self.proc = None

    @property
    def url(self):
        return "https://127.0.0.1:%d" % self.client_port

    @property
    def peer_url(self):
        return "https://127.0.0.1:%d" % self.peer_port

    @property
    def metrics_url(self):
        return "http://127.0.0.1:%d" % self.metrics_port

    def running(self):
        return self.proc is not None and self.proc.poll() is None


class Cluster:
    """Three members; start() waits until every member reports healthy."""

    def __init__(self, base, pki):
        if ETCD is None or ETCDCTL is None:
            raise RuntimeError("etcd/etcdctl not installed: run "
                               "scripts/install-deps (etcd-server, "
                               "etcd-client)")
        self.base = base
        self.pki = pki
        self.members = [Member(n, base) for n in NAMES]
        self.initial = ",".join("%s=%s" % (m.name, m.peer_url)
                                for m in self.members)

    # -- processes --------------------------------------------------------
    def _argv(self, m):
        p = self.pki
        return [ETCD, "--name", m.name, "--data-dir", str(m.data),
                "--listen-client-urls", m.url,
                "--advertise-client-urls", m.url,
                "--listen-peer-urls", m.peer_url,
                "--initial-advertise-peer-urls", m.peer_url,
                "--initial-cluster", self.initial,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", "pam-phoneverify-fleet-test",
                "--listen-metrics-urls", m.metrics_url,
                "--cert-file", str(p["server"]),
                "--key-file", str(p["server_key"]),
                "--trusted-ca-file", str(p["ca"]), "--client-cert-auth",
                "--peer-cert-file", str(p["server"]),
                "--peer-key-file", str(p["server_key"]),
                "--peer-trusted-ca-file", str(p["ca"]),
                "--peer-client-cert-auth", "--log-level", "warn"] + RAFT

    def start_member(self, m):
        assert not m.running()
        env = {"PATH": "/usr/bin:/bin", "LANG": "C"}
        with open(m.log, "ab") as log:
            m.proc = subprocess.Popen(self._argv(m), stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=subprocess.STDOUT,
                                      env=env, preexec_fn=_die_with_parent)

    def kill_member(self, m, sig=signal.SIGKILL):
        """Kill m's process group and reap it."""
        if m.proc is None:
            return
        try:
            os.killpg(m.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            m.proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(m.proc.pid, signal.SIGKILL)
            m.proc.wait()
        m.proc = None

    def start(self, timeout=60):
        for m in self.members:
            if not m.running():
                self.start_member(m)
        self.wait_healthy(timeout)

    def stop(self):
        for m in self.members:
            self.kill_member(m, signal.SIGTERM)

    # -- health and metrics ---------------------------------------------
    def _get(self, m, path, timeout=2):
        with urllib.request.urlopen(m.metrics_url + path,
                                    timeout=timeout) as r:
            return r.read().decode("utf-8", "replace")

    def healthy(self, m):
        try:
            return '"health":"true"' in self._get(m, "/health").replace(" ", "")
        except OSError:
            return False

    def wait_healthy(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.members:
                if m.proc is not None and m.proc.poll() is not None:
                    raise RuntimeError("etcd member %s exited (%s):\n%s" % (
                        m.name, m.proc.returncode, self.log_tail(m)))
            if all(self.healthy(m) for m in self.members):
                return
            time.sleep(0.2)
        raise RuntimeError("etcd cluster not healthy after %d s:\n%s" % (
            timeout, "\n".join(self.log_tail(m) for m in self.members)))

    def log_tail(self, m, n=20):
        try:
            lines = m.log.read_text(errors="replace").split("\n")
        except OSError:
            return "(no log)"
        return "%s:\n%s" % (m.name, "\n".join(lines[-n:]))

    def leader(self):
        """The member that is raft leader now (None when none is)."""
        for m in self.members:
            if not m.running():
                continue
            try:
                if "\netcd_server_is_leader 1" in "\n" + self._get(m, "/metrics"):
                    return m
            except OSError:
                continue
        return None

    def grpc_calls(self):
        """{method: count} of KV/Lease calls handled by the running members
        (the JSON gateway turns each HTTP request into one such call)."""
        out = {}
        for m in self.members:
            if not m.running():
                continue
            for line in self._get(m, "/metrics").split("\n"):
                if not line.startswith("grpc_server_handled_total{"):
                    continue
                labels, value = line.rsplit(" ", 1)
                method = labels.split('grpc_method="', 1)[1].split('"', 1)[0]
                out[method] = out.get(method, 0) + int(float(value))
        return out

    # -- data -------------------------------------------------------------
    def endpoints(self, order=None):
        ms = self.members if order is None else [self.members[i] for i in order]
        return " ".join(m.url for m in ms)

    def ctl(self, *args, check=True):
        p = self.pki
        eps = ",".join(m.url for m in self.members if m.running())
        r = subprocess.run([ETCDCTL, "--endpoints", eps, "--cacert", str(p["ca"]),
                            "--cert", str(p["client"]), "--key",
                            str(p["client_key"]), "--dial-timeout", "3s"]
                           + list(args), env={"ETCDCTL_API": "3",
                                              "PATH": "/usr/bin:/bin"},
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError("etcdctl %s: %s%s" % (" ".join(args),
                                                       r.stdout, r.stderr))
        return r.stdout

    def get(self, key):
        """The value at key ("" when absent)."""
        return self.ctl("get", key, "--print-value-only").rstrip("\n")
