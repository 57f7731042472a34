"""Issue 20 item 3: one helper per login serves both the provider and etcd.

The real module under pamtester + pam_wrapper, traced with strace: every
exec of `phoneverify-http` in a login is counted.  With `state = etcd` a
login used to start the helper twice (one for the provider clients, one
for the etcd backend, each starting libcurl and its own TLS); now one
helper process holds both profiles (doc/architecture.md, "One helper per
login").  Counts, never timings; the cost per login is printed."""

import os
import re
import resource
import shutil
import statistics

import pytest

import pvtest
from pvtest import CODE, assert_pam

STRACE = shutil.which("strace")
# execveat(fd, "", ...) on the checked descriptor (base/pv_spawn.c), or an
# execve of the path: either way the helper's argv[0]
HELPER_EXEC = re.compile(r'\bexecve(?:at)?\(.*"phoneverify-http".*\) = 0')


def traced_login(h, monkeypatch, entries, user="alice"):
    """One login under strace -f; (result, helper execs in it)."""
    trace = h.dir / "strace.txt"
    if "ASAN_OPTIONS" in os.environ:
        # LeakSanitizer cannot run under ptrace
        h.env_extra["ASAN_OPTIONS"] = \
            os.environ["ASAN_OPTIONS"] + ":detect_leaks=0"
    monkeypatch.setattr(pvtest, "RUNNER", [
        STRACE, "-f", "-qq", "-s", "64", "-o", str(trace),
        "-e", "trace=execve,execveat"] + pvtest.RUNNER)
    res = h.run(user, entries)
    monkeypatch.undo()
    execs = [l for l in trace.read_text().split("\n") if HELPER_EXEC.search(l)]
    trace.unlink()
    return res, execs


@pytest.mark.skipif(STRACE is None, reason="strace not installed")
def test_one_helper_exec_per_login_with_etcd(host, monkeypatch):
    """A successful login with `state = etcd` (etcd read, send counted,
    code sent, guess counted, code verified, record reset: both users of
    the transport, interleaved) execs the helper exactly once."""
    h = host("host-a")
    res, execs = traced_login(h, monkeypatch, [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "state=degraded" not in res.transcript, str(res)
    assert len(execs) == 1, "helper execs in one login:\n" + "\n".join(execs)


@pytest.mark.skipif(STRACE is None, reason="strace not installed")
def test_one_helper_exec_per_login_with_etcd_and_tls_provider_settings(
        host, monkeypatch, pki):
    """The provider's own TLS material (cafile, here the cluster's CA, a
    client certificate configured for the provider only) does not split
    the login into two helpers either: the two profiles live in the one
    process, each with its own settings."""
    h = host("host-a")
    h.conf.update(cafile=str(pki["ca"]))
    res, execs = traced_login(h, monkeypatch, [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "state=degraded" not in res.transcript, str(res)
    assert len(execs) == 1, "helper execs in one login:\n" + "\n".join(execs)


@pytest.mark.skipif(STRACE is None, reason="strace not installed")
def test_cluster_down_still_one_helper_and_degraded(host, cluster, monkeypatch):
    """etcd unreachable: the etcd profile's failures are the network's
    (state=degraded, a code still required), the provider profile in the
    same helper still sends and verifies the code."""
    h = host("host-a")
    h.conf["state_endpoints"] = "https://127.0.0.1:%d" % pvtest.closed_port()
    res, execs = traced_login(h, monkeypatch, [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "state=degraded" in res.transcript, str(res)
    assert len(execs) == 1, "helper execs in one login:\n" + "\n".join(execs)


LOGINS = int(os.environ.get("PV_HELPER_COST_LOGINS", "20"))


def test_helper_cost_per_login(host):
    """Wall (the module's own ms in the decision record) and CPU (pamtester,
    the module and its helpers: this process's reaped children) per
    successful login with `state = etcd`.  Printed for the issue note, not
    asserted: the machine is shared."""
    h = host("host-a")
    for _ in range(3):                       # warm caches
        assert_pam(h.run("alice", [CODE]), "PAM_SUCCESS", "success")
    ms, cpu = [], []
    for _ in range(LOGINS):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        res = h.run("alice", [CODE])
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert_pam(res, "PAM_SUCCESS", "success")
        ms.append(int(res.record["ms"]))
        cpu.append(1000 * (r1.ru_utime + r1.ru_stime - r0.ru_utime
                           - r0.ru_stime))
    ms.sort()
    print("\nhelper cost (state=etcd, %d logins): module ms p50 %d p90 %d "
          "mean %.0f; client+module+helper CPU ms per login p50 %.0f "
          "mean %.0f" % (LOGINS, statistics.median(ms),
                         ms[int(0.9 * (LOGINS - 1))], statistics.mean(ms),
                         statistics.median(cpu), statistics.mean(cpu)))
