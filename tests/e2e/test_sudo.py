"""pam_phoneverify behind the real sudo.

The test user may run /bin/echo as root; sudoers (drop-in
/etc/sudoers.d/pv-e2e) makes sudo use the private PAM service pv-e2e-sudo
whose auth stack is only pam_phoneverify, with timestamp_timeout=0 (every
sudo asks) and passwd_tries=1 (one PAM round per sudo).  sudo is started as
the test user on a pty: `runuser -u pve2e -- env VAR=... sudo /bin/echo ...`.

sudo runs PAM in its own process, with the CALLER's environment (env_reset
applies only to the command), so the environment tests set hostile variables
there and require that the module ignores them (SPEC section 5).
"""

import os
import shutil
import subprocess

import pytest

OK = "PV-SUDO-OK"
PROMPT = "Verification code sent to +86 *******8099: "
PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy",
              "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def _ok_lines(transcript):
    return [l for l in transcript.split("\n") if l == OK]


def wrong(code):
    return "%06d" % ((int(code) + 1) % 1000000)


def _login(pv, sudo, env=None):
    """One successful sudo: right code in, PV-SUDO-OK out.  Returns the
    transcript."""
    with sudo.spawn(env=env) as s:
        before = s.prompt()
        assert before == "", before           # nothing before the module's prompt
        s.answer(pv.sim.wait_code(1))
        out = s.finish()
    assert s.exitstatus == 0, out
    assert _ok_lines(out) == [OK], out
    assert out.count(PROMPT) == 1, out
    assert "[sudo] password" not in out, out
    st = pv.sim.stats()
    assert (st["send"], st["verify"]) == (1, 1), st
    return out


def _curl(env, url, cafile=None):
    """Run the curl CLI (same libcurl/OpenSSL as the helper) with `env`, as
    a control: it shows that the variables really change what libcurl does
    on this machine, so a passing module test is not a vacuous one."""
    argv = ["curl", "-sS", "-o", "/dev/null", "--max-time", "5", url]
    if cafile:
        argv[1:1] = ["--cacert", str(cafile)]
    full = {"PATH": "/usr/bin:/bin", "HOME": "/root", "LANG": "C"}
    full.update(env)
    return subprocess.run(argv, env=full, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def test_right_code_runs_the_command(pv, sudo):
    _login(pv, sudo)


def test_wrong_code_refused(pv, sudo):
    pv.configure(max_tries=1)
    with sudo.spawn() as s:
        s.prompt()
        code = pv.sim.wait_code(1)
        s.answer(wrong(code))
        out = s.finish()
    assert s.exitstatus == 1, out
    assert OK not in out, out
    assert out.count(PROMPT) == 1, out
    tail = out.split(wrong(code) + "\n", 1)[1]
    assert tail == "Verification failed.\nsudo: 1 incorrect password attempt\n", out
    st = pv.sim.stats()
    assert (st["send"], st["verify"]) == (1, 1), st


def test_three_wrong_codes_refused(pv, sudo):
    with sudo.spawn() as s:
        s.prompt()
        code = pv.sim.wait_code(1)
        s.answer(wrong(code))
        assert s.prompt() == wrong(code) + "\nIncorrect code, 2 tries left.\n"
        s.answer(wrong(code))
        assert s.prompt() == wrong(code) + "\nIncorrect code, 1 try left.\n"
        s.answer(wrong(code))
        out = s.finish()
    assert s.exitstatus == 1, out
    assert OK not in out, out
    assert out.count(PROMPT) == 3, out
    assert out.endswith(wrong(code) + "\nVerification failed.\n"
                        "sudo: 1 incorrect password attempt\n"), out
    st = pv.sim.stats()
    assert (st["send"], st["verify"]) == (1, 3), st


def test_provider_down_refused(pv, sudo, dead_port):
    pv.configure(send_url="http://127.0.0.1:%d/auth/v1/verification" % dead_port,
                 failmode="secure")
    with sudo.spawn() as s:
        out = s.finish()
    assert s.exitstatus == 1, out
    assert OK not in out, out
    assert PROMPT not in out, out
    assert out == "Verification service unavailable.\nsudo: 1 incorrect password attempt\n", out


@pytest.mark.parametrize("transport", ["http", "https"])
def test_proxy_variables_of_the_caller_ignored(pv, sudo, proxy_trap, transport):
    pv.configure(transport=transport)
    env = {v: proxy_trap.url for v in PROXY_VARS}
    if shutil.which("curl"):
        # control: plain libcurl does go through that proxy, even to loopback
        r = _curl(env, pv.sim.base + "/_sim/stats", cafile=pv.world.tls["ca"])
        assert r.returncode != 0 and proxy_trap.connections >= 1, \
            "control failed: curl ignored the proxy variables (%d, %r)" \
            % (r.returncode, r.stderr)
        proxy_trap.connections = 0
    _login(pv, sudo, env=env)
    assert proxy_trap.connections == 0, "the module's requests went to the caller's proxy"


def test_sslkeylogfile_of_the_caller_not_written(pv, sudo, tmp_path):
    pv.configure(transport="https")
    keylog = tmp_path / "keylog"
    if shutil.which("curl"):
        # control: plain libcurl writes TLS secrets to SSLKEYLOGFILE here
        r = _curl({"SSLKEYLOGFILE": str(keylog)}, pv.sim.base + "/_sim/stats",
                  cafile=pv.world.tls["ca"])
        assert r.returncode == 0, r.stderr
        assert keylog.exists() and keylog.stat().st_size > 0, \
            "control failed: curl did not write SSLKEYLOGFILE"
        keylog.unlink()
        pv.sim.reset()
    _login(pv, sudo, env={"SSLKEYLOGFILE": str(keylog)})
    assert not os.path.lexists(keylog), \
        "TLS secrets written to the caller's SSLKEYLOGFILE: %r" % keylog.read_bytes()[:200]


def test_ca_bundle_of_the_caller_not_trusted(pv, sudo):
    """No `cafile` configured: the system CAs are the trust anchors, so the
    simulator's private CA is NOT trusted.  A caller pointing CURL_CA_BUNDLE /
    SSL_CERT_FILE / SSL_CERT_DIR at that CA (as an attacker would, to make
    sudo talk to a fake provider) must not change that: the login fails as
    an outage, nothing reaches the provider."""
    pv.configure(transport="https", cafile=None)
    assert "cafile" not in pv.conf_text
    ca = str(pv.world.tls["ca"])
    env = {"CURL_CA_BUNDLE": ca, "SSL_CERT_FILE": ca,
           "SSL_CERT_DIR": os.path.dirname(ca)}
    if shutil.which("curl"):
        # control: plain curl trusts the simulator with these variables
        r = _curl(env, pv.sim.base + "/_sim/stats")
        assert r.returncode == 0, "control failed: %r" % r.stderr
        pv.sim.reset()
    with sudo.spawn(env=env) as s:
        out = s.finish()
    assert s.exitstatus == 1, out
    assert OK not in out and PROMPT not in out, out
    assert out == "Verification service unavailable.\nsudo: 1 incorrect password attempt\n", out
    st = pv.sim.stats()
    assert (st["send"], st["verify"]) == (0, 0), st


# ---------------------------------------------------------------------------
# Local failures the caller can cause never open (SPEC 4), failmode=safe
# ---------------------------------------------------------------------------

def _helpers():
    """pids of running processes whose program is this build's helper."""
    from conftest import HELPER
    want = os.path.realpath(str(HELPER))
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if os.readlink("/proc/%s/exe" % d) == want:
                out.append(int(d))
        except OSError:
            pass
    return out


def _wait_helper(timeout=10):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = _helpers()
        if pids:
            return pids
        time.sleep(0.05)
    raise AssertionError("no helper process appeared")


def test_caller_stops_helper_refused_with_failmode_safe(pv, sudo):
    """The sudo caller sends SIGSTOP to the helper while sudo waits at the
    prompt.  (Where the caller may not signal it, the test stops it itself,
    as a stall the caller could cause.)  The right code is then typed: the
    verify request misses the module's deadline - a local failure - and the
    command does not run, although failmode=safe."""
    import signal
    from conftest import RUNUSER, USER
    pv.configure(failmode="safe", timeout=2, connect_timeout=1)
    with sudo.spawn() as s:
        s.prompt()
        code = pv.sim.wait_code(1)
        pids = _wait_helper()
        as_caller = subprocess.run(
            [RUNUSER, "-u", USER, "--", "/bin/kill", "-STOP"] +
            [str(p) for p in pids], capture_output=True, text=True, timeout=30)
        if as_caller.returncode != 0:
            for p in pids:
                os.kill(p, signal.SIGSTOP)
        try:
            s.answer(code)
            out = s.finish(timeout=30)
        finally:
            for p in pids:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    assert s.exitstatus == 1, out
    assert OK not in out, out
    tail = out.split(code + "\n", 1)[1]
    assert tail == "Verification service unavailable.\n" \
                   "sudo: 1 incorrect password attempt\n", out
    assert pv.sim.stats()["verify"] == 0


def test_caller_low_fd_limit_refused_with_failmode_safe(pv, sudo):
    """sudo started under `ulimit -n 6` by the caller: whatever the module
    cannot do for lack of descriptors is a local failure; the command
    never runs, failmode=safe or not."""
    import pexpect
    from conftest import BASE_ENV, RUNUSER, SUDO, TIMEOUT, USER, Session
    pv.configure(failmode="safe")
    argv = ["-u", USER, "--", "/bin/sh", "-c",
            'ulimit -n 6 && exec "$0" "$@"', SUDO, "/bin/echo", OK]
    with Session(pexpect.spawn(RUNUSER, argv, env=BASE_ENV, encoding="utf-8",
                               codec_errors="replace", timeout=TIMEOUT,
                               dimensions=(24, 200))) as s:
        out = s.finish()
    assert s.exitstatus != 0, out
    assert OK not in out, out
    assert PROMPT not in out, out
