"""Issue 17, items 1 and 2, from the attacker's side: a local user cannot
turn this host's shortage into a "provider outage" that `failmode=safe`
opens for.

* `ulimit -S -u 1` (or any other limit) before su: the module sets every
  resource limit of the helper itself, so a lowered soft limit changes
  nothing (a code is still required and a right code logs in), and what a
  lowered hard limit breaks (root without CAP_SYS_RESOURCE cannot raise it)
  is a local failure: never PAM_SUCCESS without a code.  Before the fix,
  RLIMIT_NPROC 1 stopped libcurl's resolver thread and that read as a DNS
  outage: failmode=safe let the login through with no code.
* A port hog: every local port taken, every connect fails with
  EADDRNOTAVAIL; before the fix an outage (failmode=safe opened), now a
  local failure.  Run in a private network namespace the test creates
  (loopback only), with a narrow ephemeral port range there.

The provider is reached by a host name that /etc/hosts resolves (libcurl
starts its resolver thread for it, unlike "localhost"): pamtester runs in a
private mount namespace whose /etc/hosts (a bind mount of a test file)
names the simulator, which serves TLS for that name.  Nothing on the host
is changed.  Root only.
"""
import ctypes
import os
import resource
import socket
import subprocess

import pytest

import pvtest
from pvtest import (CODE, Login, NO_LIMITS, SimServer, assert_pam,
                    fresh_client, make_ca, make_server_cert, wrong_code)

NAME = "pv-provider.test"
CLONE_NEWNET = 0x40000000
CAP_SYS_RESOURCE = 24

# The limits reach the PAM client as well: a sanitizer runtime or valgrind
# in it cannot start under most of them (ASan's shadow alone exceeds any
# address-space limit), and the helper, what these tests are about, is
# never instrumented.  The plain pass runs them.
INSTRUMENTED = bool(os.environ.get("PV_TEST_PRELOAD") or
                    os.environ.get("PV_TEST_WRAPPER"))

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="root only: mount and network namespaces"),
    pytest.mark.skipif(INSTRUMENTED, reason="plain pass only (see above)"),
]


def can_raise_hard_limits():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> CAP_SYS_RESOURCE & 1)
    return False


@pytest.fixture(scope="module")
def named_tls(tmp_path_factory):
    d = tmp_path_factory.mktemp("named-tls")
    os.chmod(d, 0o755)
    ca = make_ca(d, "ca")
    cert, key = make_server_cert(d, "ca", san="DNS:%s,IP:127.0.0.1" % NAME)
    hosts = d / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 %s\n" % NAME)
    os.chmod(hosts, 0o644)
    return {"ca": ca, "cert": cert, "key": key, "hosts": hosts}


@pytest.fixture(scope="module")
def named_server(named_tls):
    server = SimServer(named_tls)
    yield server
    server.stop()


def named_login(server, tls, tmp, artifacts, failmode="safe"):
    """A login world whose provider is https://NAME:PORT (resolved through
    the private /etc/hosts)."""
    sim = fresh_client(server)
    sim.limits(**NO_LIMITS)
    login = Login(sim, None, tmp, artifacts)
    base = "https://%s:%d" % (NAME, server.port)
    login.conf.update(send_url=base + "/auth/v1/verification",
                      verify_url=base + "/v1/verifications",
                      cafile=str(tls["ca"]), failmode=failmode,
                      # one entry ends the login: a wrong or empty one
                      # ends it in a refusal, never a second prompt
                      max_tries="1", resend="0")
    return login


def runner(hosts, limit=None):
    """pamtester in a private mount namespace with our /etc/hosts, under
    prlimit --LIMIT (e.g. "nproc=1:" for the soft limit only)."""
    pre = ["unshare", "-m", "--propagation", "private", "sh", "-c",
           'mount --bind "$0" /etc/hosts && exec "$@"', str(hosts)]
    if limit is not None:
        pre += ["prlimit", "--" + limit, "--"]
    return pre + pvtest.RUNNER


def never_without_code(login, monkeypatch, run):
    """The user types a wrong code, or nothing: never PAM_SUCCESS."""
    for entry in (wrong_code, ""):
        monkeypatch.setattr(pvtest, "RUNNER", run)
        s = login.start("alice")
        try:
            s.expect_prompt()
        except AssertionError:
            res = s.result()          # ended before any prompt
        else:
            s.send(entry(login.sim.latest_code()) if callable(entry) else entry)
            res = s.finish()
        assert "successfully authenticated" not in res.transcript, str(res)
        assert res.rc != 0, str(res)
        for rec in res.records:
            assert rec.get("outcome") not in ("failopen", "success"), \
                rec["_line"]


def works_normally(login, monkeypatch, run):
    """A code is required and the right code logs in."""
    monkeypatch.setattr(pvtest, "RUNNER", run)
    res = login.run("alice", entries=[CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


# ---------------------------------------------------------------------------
# RLIMIT_NPROC: the reproduction
# ---------------------------------------------------------------------------

def test_baseline_name_resolves_through_private_hosts(
        named_server, named_tls, tmp_path, artifacts, monkeypatch):
    login = named_login(named_server, named_tls, tmp_path, artifacts)
    works_normally(login, monkeypatch, runner(named_tls["hosts"]))


def test_soft_nproc_one_changes_nothing(named_server, named_tls, tmp_path,
                                        artifacts, monkeypatch):
    """`ulimit -S -u 1` before su: the helper gets the module's limit, the
    login needs a code as always (before: "DNS outage", failmode=safe
    opened with no code)."""
    login = named_login(named_server, named_tls, tmp_path, artifacts)
    run = runner(named_tls["hosts"], "nproc=1:")
    never_without_code(login, monkeypatch, run)
    works_normally(login, monkeypatch, run)


def test_hard_nproc_one_is_local(named_server, named_tls, tmp_path, artifacts,
                                 monkeypatch):
    """`ulimit -u 1` (hard too): where root cannot raise it again, the
    resolver thread cannot start; that is a local failure, never an outage
    and never PAM_SUCCESS."""
    login = named_login(named_server, named_tls, tmp_path, artifacts)
    run = runner(named_tls["hosts"], "nproc=1:1")
    never_without_code(login, monkeypatch, run)
    monkeypatch.setattr(pvtest, "RUNNER", run)
    if can_raise_hard_limits():
        works_normally(login, monkeypatch, run)
        return
    res = login.run("alice")
    rec = assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    # local either way: the helper's resolver thread could not start
    # (transport_local), or the helper itself could not be forked for the
    # caller's process count (transport_helper)
    assert rec["reason"] in ("transport_local", "transport_helper"), rec["_line"]


# ---------------------------------------------------------------------------
# The sweep: every RLIMIT_* in turn
# ---------------------------------------------------------------------------

# A value that would hurt the helper if it reached it, yet leaves the PAM
# client itself (which the limit reaches too) able to run.
HOSTILE = {
    "cpu": "2", "fsize": "1048576", "data": str(48 << 20),
    "stack": str(256 << 10), "core": "0", "rss": "4096", "nproc": "1",
    "nofile": "20", "memlock": "0", "as": str(96 << 20), "locks": "0",
    "sigpending": "0", "msgqueue": "0", "nice": "0", "rtprio": "0",
    "rttime": "1",
}
# Linux's numbering (include/uapi/asm-generic/resource.h); Python's
# resource module lacks some of the names.
RLIMIT_OF = {
    "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5,
    "nproc": 6, "nofile": 7, "memlock": 8, "as": 9, "locks": 10,
    "sigpending": 11, "msgqueue": 12, "nice": 13, "rtprio": 14, "rttime": 15,
}
RLIM_NLIMITS = 16


def test_sweep_covers_every_limit():
    assert sorted(RLIMIT_OF.values()) == list(range(RLIM_NLIMITS))
    assert sorted(HOSTILE) == sorted(RLIMIT_OF)
    with pytest.raises((ValueError, OSError)):
        resource.getrlimit(RLIM_NLIMITS)         # no 17th on this kernel


def lowered(name):
    """The hostile value, never above today's hard limit."""
    _soft, hard = resource.getrlimit(RLIMIT_OF[name])
    v = int(HOSTILE[name])
    return str(v if hard == resource.RLIM_INFINITY else min(v, hard))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_sweep_soft_limit(name, named_server, named_tls, tmp_path, artifacts,
                          monkeypatch):
    """Each soft limit lowered in turn (hard left): the module overrides it
    for the helper, so the login works as always; never without a code."""
    login = named_login(named_server, named_tls, tmp_path, artifacts)
    run = runner(named_tls["hosts"], "%s=%s:" % (name, lowered(name)))
    never_without_code(login, monkeypatch, run)
    works_normally(login, monkeypatch, run)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_sweep_hard_limit(name, named_server, named_tls, tmp_path, artifacts,
                          monkeypatch):
    """Each limit lowered soft and hard: whatever it breaks, never
    PAM_SUCCESS without the right code."""
    login = named_login(named_server, named_tls, tmp_path, artifacts)
    v = lowered(name)
    run = runner(named_tls["hosts"], "%s=%s:%s" % (name, v, v))
    never_without_code(login, monkeypatch, run)


# ---------------------------------------------------------------------------
# The port hog (item 2)
# ---------------------------------------------------------------------------

libc = ctypes.CDLL(None, use_errno=True)


class PrivateNet:
    """This thread in a network namespace of its own (loopback up); every
    process it starts (simulator, pamtester) inherits it."""

    def __enter__(self):
        self.orig = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        if libc.unshare(CLONE_NEWNET) != 0:
            os.close(self.orig)
            pytest.skip("unshare(CLONE_NEWNET): %s"
                        % os.strerror(ctypes.get_errno()))
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return self

    def __exit__(self, *exc):
        assert libc.setns(self.orig, CLONE_NEWNET) == 0
        os.close(self.orig)


def port_range(lo, hi):
    with open("/proc/sys/net/ipv4/ip_local_port_range", "w") as f:
        f.write("%d %d\n" % (lo, hi))


def hog(lo, hi):
    """Bind every port of the range (no listen, no connect): the kernel
    then finds no local port for a connect (EADDRNOTAVAIL)."""
    socks = []
    for port in range(lo, hi + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        socks.append(s)
    return socks


def test_port_hog_is_local(named_tls, tmp_path, artifacts, monkeypatch):
    with PrivateNet():
        server = SimServer(named_tls)
        socks = []
        try:
            login = named_login(server, named_tls, tmp_path, artifacts)
            run = runner(named_tls["hosts"])
            works_normally(login, monkeypatch, run)       # the path works
            lo = 40000 if not 40000 <= server.port <= 40015 else 50000
            port_range(lo, lo + 15)
            socks = hog(lo, lo + 15)
            monkeypatch.setattr(pvtest, "RUNNER", run)
            res = login.run("alice")
            rec = assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
            assert rec["reason"] == "transport_local", rec["_line"]
        finally:
            for s in socks:
                s.close()
            server.stop()
