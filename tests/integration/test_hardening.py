"""Hardening: every protection below has a test that fails when the
protection is removed (SPEC sections 3-5).  Only what the other files do
not already cover is here:

- concurrent logins: N failures recorded by N parallel processes are N
  failures (SPEC 5, atomic state updates);
- lockout: it expires after lockout_time; a brute force stops reaching the
  provider at the threshold;
- hostile PAM_USER values: refused without an SMS, logged sanitised;
- the state directory and records: group-writable or sticky
  world-writable directory, symlinked directory, record or lock, corrupt
  records;
- FIFOs and symlinks where the module reads a file;
- the caller's environment: CURL_SSL_BACKEND, an OPENSSL_CONF that would
  change TLS, a .netrc holding working credentials;
- one process, 100 logins: the module loaded and unloaded 100 times, no
  descriptor, child or signal disposition left behind (tests/pamapp), also
  with the AddressSanitizer build when there is one.

Covered elsewhere and not repeated: malformed provider answers (garbage,
wrongcase, verify_string, nul, nested: test_faults.py, send and verify),
a 1 MiB code entry (test_codes.py), a world-writable state_dir
(test_config_errors.py), SSLKEYLOGFILE/SSL_CERT_FILE/a broken OPENSSL_CONF
(test_env_tls.py).
"""

import os
import stat
import subprocess
import time
import unicodedata
from pathlib import Path

import pexpect
import pytest

from hardening_util import (Batch, build_pamapp, cli_status, file_failures,
                            record_path, records_of, run_pamapp)
from pvtest import (CODE, REPO, TIME_SCALE, Login, assert_pam,
                    wrong_code)

LOCKED = "Too many failed attempts; try again later."
NO_LIMITS = dict(per_number_seconds=0, per_ip_per_hour=1000000)


def lift_limits(sim):
    """Many sends to one number, from one address, at once."""
    sim.limits(**NO_LIMITS)


def answer_prompts(login, user, answer, max_prompts=5, timeout=20):
    """One login that answers every prompt with answer(latest code), or
    none when the module refuses before prompting.  Returns the Result."""
    s = login.start(user)
    while True:
        i = s.child.expect([s.prompt_re, pexpect.EOF],
                           timeout=timeout * TIME_SCALE)
        if i == 1:
            break
        s.prompts.append(s.child.after)
        if len(s.prompts) > max_prompts:
            s.child.kill(9)
            s.child.expect(pexpect.EOF)
            break
        s.send(answer(login.sim.latest_code()))
    s._ended()
    s.child.close()
    s.rc = s.child.exitstatus
    return s.result()


def finish_within(session, seconds):
    """finish(), but a login still running after `seconds` is killed and
    reported (a hang must fail the test, not stall the suite)."""
    try:
        return session.finish(timeout=seconds)
    except pexpect.TIMEOUT:
        session.kill()
        raise AssertionError("the login was still running after %.0f s "
                             "(hung):\n%s" % (seconds, session.result()))


def assert_no_sms(sim):
    assert sim.requests("send") == 0, "an SMS was requested"
    assert sim.outbox() == []


# ---------------------------------------------------------------------------
# 1. concurrent logins: every failure is counted
# ---------------------------------------------------------------------------

N_PARALLEL = 50
GUESS = "000000"


def test_parallel_failures_all_recorded(new_login, sim):
    """50 pamtester processes for the same user, many at once (the batch
    keeps hardening_util.MAX_CONCURRENT alive, so pam_wrapper's /tmp/pam.X
    names never run out), each typing one wrong code (max_tries=1): the
    user's record shows exactly 50 failures (flock around read-modify-write;
    without it updates are lost)."""
    for _attempt in range(2):
        sim.reset()
        lift_limits(sim)
        login = new_login()
        login.conf.update(lockout_failures="64", lockout_window="3600",
                          max_tries="1")
        t0 = time.monotonic()
        batch = Batch(login, ["alice"] * N_PARALLEL, [GUESS])
        runs = batch.finish(timeout=40 * TIME_SCALE)
        elapsed = time.monotonic() - t0
        codes = [m["code"] for m in sim.outbox()]
        if GUESS not in codes:
            break
        # one in ~20000 runs the simulator issues the guess itself: again
    else:
        pytest.fail("the simulator issued %s twice in a row" % GUESS)

    for rc, out in runs:
        recs = records_of(out)
        assert rc == 1 and len(recs) == 1, "rc=%r\n%s" % (rc, out)
        assert recs[0]["pam"] == "PAM_MAXTRIES", out
    assert sim.requests("send") == N_PARALLEL
    assert sim.requests("verify") == N_PARALLEL
    locked, failures = cli_status(login, "alice")
    assert failures == N_PARALLEL, \
        "%d parallel failures recorded as %d" % (N_PARALLEL, failures)
    assert not locked
    assert file_failures(login, "alice") == N_PARALLEL
    assert elapsed < 30 * TIME_SCALE, "50 parallel logins took %.1f s" % elapsed


# ---------------------------------------------------------------------------
# 2. lockout: expiry, and a brute force stops reaching the provider
# ---------------------------------------------------------------------------

def test_lockout_expires_after_lockout_time(login, sim):
    lift_limits(sim)
    login.conf.update(lockout_failures="2", lockout_window="60",
                      lockout_time="3", max_tries="1")
    res = login.run("alice", [wrong_code])
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    res = answer_prompts(login, "alice", wrong_code)
    t_second = time.time()          # the lockout started before this
    assert res.rc == 1 and res.record["pam"] in (
        "PAM_MAXTRIES", "PAM_PERM_DENIED"), str(res)
    sends = sim.requests("send")
    res = login.run("alice", [])
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    assert LOCKED in res.transcript, str(res)
    assert sim.requests("send") == sends, "a locked-out user got an SMS"
    # the record holds whole seconds: 3 s after the second failure, plus
    # one for rounding, the lockout is over
    time.sleep(max(0.0, int(t_second) + 4 - time.time()))
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("send") == sends + 1


def test_brute_force_stops_reaching_provider(login, sim):
    """lockout_failures + 5 logins with wrong codes: none succeeds, and
    once the threshold is reached no login sends or verifies anything."""
    lift_limits(sim)
    threshold = 3
    login.conf.update(lockout_failures=str(threshold), lockout_window="900",
                      lockout_time="900", max_tries="1")
    seen = []
    for i in range(threshold + 5):
        res = answer_prompts(login, "alice", wrong_code)
        rec = res.record
        sends, verifies = sim.requests("send"), sim.requests("verify")
        seen.append((rec["pam"], sends, verifies))
        assert res.rc == 1 and rec["pam"] != "PAM_SUCCESS", str(res)
        if i < threshold:
            assert (sends, verifies) == (i + 1, i + 1), seen
            if i == threshold - 1 and rec["pam"] == "PAM_PERM_DENIED":
                assert rec["outcome"] == "locked"
            elif i < threshold - 1:
                assert rec["pam"] == "PAM_MAXTRIES", seen
        else:
            assert rec["pam"] == "PAM_PERM_DENIED", seen
            assert res.prompts == [], str(res)
            assert (sends, verifies) == (threshold, threshold), \
                "a locked-out login reached the provider: %r" % seen
    locked, _failures = cli_status(login, "alice")
    assert locked, seen


# ---------------------------------------------------------------------------
# 3. hostile PAM_USER values
# ---------------------------------------------------------------------------

HOSTILE_ARGV = {
    "4KiB": "A" * 4096,
    "300B": "B" * 300,                   # over LOGIN_NAME_MAX (256)
    "format": "%n%n%s%s%s%n%x",
    "traversal": "../../etc/passwd",
    "crlf": "a\r\nb",
    "trailing-lf": "alice\n",
    "control": "al\x01ice\x1b[31m\x07\x08\x7f",
    "log-injection": "x\nuser=root service=sshd outcome=success pam=PAM_SUCCESS",
    "bidi": "caf\u00e9\u202egnp.exe",  # UTF-8 with a right-to-left override
    "tab-space": "al ice\tbob",
}
# pamtester cannot pass these (a leading '-' is an option to it)
HOSTILE_PAMCONV = {
    "leading-dash": "-alice",
    "empty": "",
}
# names an account database could hold: in passwd with a phone in GECOS,
# so only the module's own checks stand between them and an SMS
# (nss_wrapper cannot hold the 4 KiB one)
IN_PASSWD = {"300B", "traversal", "control", "tab-space", "leading-dash"}


def add_hostile_account(login, name):
    with open(login.passwd, "a", encoding="utf-8",
              errors="surrogateescape") as f:
        f.write("%s:x:1500:1500:Hostile,Room 9,+8613800138000,,:/home/h:"
                "/bin/sh\n" % name)
    login.conf["lookup"] = "file gecos"


def unsafe(text):
    """Characters that must not reach a log line from outside: C0/C1
    controls, DEL, Unicode format characters (bidi overrides) and line or
    paragraph separators."""
    return [c for c in text
            if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp")]


def check_hostile_record(res, sim):
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert_no_sms(sim)
    line = rec["_line"]
    assert line.startswith("user="), "record does not start with user=: %r" % line
    assert not unsafe(line), "control characters in the log record: %r" % line
    user = rec["user"]
    # one key=value token: no space may split it
    assert user and not unsafe(user) and \
        not any(unicodedata.category(c) == "Zs" for c in user), \
        "user= value not sanitised: %r" % user
    assert line.split(" service=")[0] == "user=" + user, line
    return rec


@pytest.mark.parametrize("key", sorted(HOSTILE_ARGV))
def test_hostile_user_pamtester(login, sim, key):
    name = HOSTILE_ARGV[key]
    if key in IN_PASSWD:
        add_hostile_account(login, name)
    res = login.run(name, [])
    assert res.prompts == [], str(res)
    rec = check_hostile_record(res, sim)
    if key == "log-injection":
        assert rec["outcome"] == "denied"
        assert not any(r["pam"] == "PAM_SUCCESS" for r in res.records)


@pytest.mark.parametrize("key", sorted(HOSTILE_PAMCONV))
def test_hostile_user_pamconv(login, sim, key):
    if key in IN_PASSWD:
        add_hostile_account(login, HOSTILE_PAMCONV[key])
    res = login.run_pamconv(HOSTILE_PAMCONV[key], [])
    assert res.prompts == [], str(res)
    assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert_no_sms(sim)
    line = res.record["_line"]
    assert line.startswith("user=") and not unsafe(line), line


# ---------------------------------------------------------------------------
# 4. the state directory and its records
# ---------------------------------------------------------------------------

def assert_state_refused(res, sim, sends_before=0):
    rec = assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    assert res.prompts == [], str(res)
    assert sim.requests("send") == sends_before, "an SMS was requested"
    return rec


@pytest.mark.parametrize("mode", [0o770, 0o720, 0o1777, 0o1770], ids=oct)
def test_state_dir_group_or_sticky_writable_refused(login, sim, mode):
    """Writable by group, or world-writable with the sticky bit like /tmp:
    another account could plant records and locks there."""
    os.chmod(login.state_dir, mode)
    res = login.run("alice", [])
    assert_state_refused(res, sim)


def test_state_dir_symlink_refused(login, sim):
    real = login.dir / "real-state"
    real.mkdir(mode=0o700)
    link = login.dir / "state-link"
    os.symlink(real, link)
    login.conf["state_dir"] = str(link)
    res = login.run("alice", [])
    assert_state_refused(res, sim)


def make_record(login, sim):
    """A normal successful login creates alice's record and lock."""
    lift_limits(sim)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    rec = record_path(login, "alice")
    assert rec.is_file(), sorted(os.listdir(login.state_dir))
    return rec


def plant_symlink(path, target_dir):
    """Replace path by a symlink to a file we own; returns (target, its
    content, its stat)."""
    target = target_dir / ("victim-" + path.name)
    target.write_text("precious data, not a state record\n")
    os.chmod(target, 0o600)
    os.unlink(path)
    os.symlink(target, path)
    return target, target.read_bytes(), target.stat()


def assert_untouched(target, content, st):
    now = target.lstat()
    assert stat.S_ISREG(now.st_mode)
    assert target.read_bytes() == content, "the symlink target was written"
    assert (now.st_mtime_ns, now.st_size, now.st_ino, now.st_mode) == \
        (st.st_mtime_ns, st.st_size, st.st_ino, st.st_mode)


def test_state_record_symlink_refused(login, sim):
    rec = make_record(login, sim)
    target, content, st = plant_symlink(rec, login.dir)
    sends = sim.requests("send")
    res = login.run("alice", [])
    assert_state_refused(res, sim, sends)
    assert "symlink" in res.transcript, str(res)
    assert_untouched(target, content, st)
    assert os.path.islink(rec), "the planted symlink was replaced silently"


def test_state_lock_symlink_wrong_code_not_uncounted(login, sim):
    """The lock replaced by a symlink: a wrong code cannot be recorded, so
    the login is refused (PAM_SERVICE_ERR) rather than let the guess go
    uncounted, and the link target is never opened for writing."""
    rec = make_record(login, sim)
    lock = rec.with_name(rec.name + ".lock")
    assert lock.exists(), sorted(os.listdir(login.state_dir))
    target, content, st = plant_symlink(lock, login.dir)
    res = answer_prompts(login, "alice", wrong_code)
    assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    assert_untouched(target, content, st)


CORRUPT = {
    "garbage": b"\x00\xff\xfe garbage \x1b[31m\nfail abc\n",
    "text": b"this is not a state record\n",
    "unterminated": b"pv-state 1\nfail 1700000000\n",     # no "end": cut
    "oversized": b"pv-state 1\n" + b"fail 1700000000\n" * 2000 + b"end\n",
}


@pytest.mark.parametrize("kind", sorted(CORRUPT))
def test_corrupt_state_record_read_as_empty_and_logged(login, sim, kind):
    rec = make_record(login, sim)
    rec.write_bytes(CORRUPT[kind])
    os.chmod(rec, 0o600)
    sim.reset()
    lift_limits(sim)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    logged = [(p, m) for p, m in res.syslog if "corrupt" in m]
    assert logged, "the corrupt record was not logged:\n%s" % res
    assert logged[0][0] <= 4, "logged below LOG_WARNING: %r" % (logged,)
    assert "u-alice" in logged[0][1]
    assert "garbage" not in logged[0][1], "record content in the log"


# ---------------------------------------------------------------------------
# 5. FIFOs and symlinks in place of files the module reads
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["users_file", "conf"])
def test_fifo_does_not_hang(login, sim, which):
    fifo = login.dir / ("%s.fifo" % which)
    os.mkfifo(fifo, 0o600 if which == "conf" else 0o644)
    if which == "conf":
        login.conf_arg = fifo
    else:
        login.conf["users_file"] = str(fifo)
    t0 = time.monotonic()
    s = login.start("alice")
    res = finish_within(s, 10 * TIME_SCALE)
    elapsed = time.monotonic() - t0
    assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    assert elapsed < 5 * TIME_SCALE, "took %.1f s" % elapsed
    assert_no_sms(sim)


def test_users_file_symlink_refused(login, sim):
    login.write_conf()              # writes the real users file
    link = login.dir / "users-link"
    os.symlink(login.users_path, link)
    login.conf["users_file"] = str(link)
    res = login.run("alice", [])
    assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    assert_no_sms(sim)


# ---------------------------------------------------------------------------
# 7. the caller's environment
# ---------------------------------------------------------------------------

def test_curl_ssl_backend_ignored(login, sim):
    login.env_extra = {"CURL_SSL_BACKEND": "bogus"}
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


# Valid OpenSSL configuration that leaves a client no cipher the server
# has: PSK-only TLS 1.2 suites, TLS 1.3 only with CCM_8.  (A MaxProtocol
# cap would not do: libcurl sets the protocol range itself.)
OPENSSL_NO_CIPHERS = """\
openssl_conf = pv_init
[pv_init]
ssl_conf = pv_ssl
[pv_ssl]
system_default = pv_default
[pv_default]
CipherString = PSK
Ciphersuites = TLS_AES_128_CCM_8_SHA256
"""


@pytest.mark.tls_only
def test_openssl_conf_that_breaks_tls_ignored(login, sim, tls_material,
                                              tmp_path):
    """A valid OpenSSL configuration that libcurl+OpenSSL would load and
    then fail every handshake with (checked with curl(1) first)."""
    conf = tmp_path / "openssl-nociphers.cnf"
    conf.write_text(OPENSSL_NO_CIPHERS)
    curl = "/usr/bin/curl"
    if os.path.exists(curl):            # the file really breaks libcurl+OpenSSL
        r = subprocess.run([curl, "-sS", "-o", "/dev/null", "--cacert",
                            str(tls_material["ca"]), sim.base + "/_sim/stats"],
                           env={"PATH": "/usr/bin:/bin", "OPENSSL_CONF": str(conf)},
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert r.returncode != 0, "precondition: curl with %s still works" % conf
    login.env_extra = {"OPENSSL_CONF": str(conf)}
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


def test_netrc_credentials_never_used(login, sim, tmp_path):
    """verify_auth = none, and a .netrc (through HOME and NETRC) holding the
    simulator's working verify credentials for 127.0.0.1: the provider
    must see no credentials, so verify is refused (401) - a module whose
    HTTP stack read the .netrc would log the user in."""
    home = tmp_path / "home"
    home.mkdir()
    netrc = home / ".netrc"
    netrc.write_text("machine 127.0.0.1 login sim-user password sim-secret\n"
                     "default login sim-user password sim-secret\n")
    os.chmod(netrc, 0o600)
    login.conf["verify_auth"] = "none"
    login.env_extra = {"HOME": str(home), "NETRC": str(netrc),
                       "CURL_HOME": str(home)}
    s = login.start("alice")
    s.expect_prompt()
    s.send_code()
    res = s.finish()
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert sim.requests("verify") == 1


# ---------------------------------------------------------------------------
# 9. one process, many logins: tests/pamapp/pv_pamapp.c
# ---------------------------------------------------------------------------

N_LOGINS = 100


@pytest.fixture(scope="session")
def pamapp(tmp_path_factory):
    return build_pamapp(tmp_path_factory.mktemp("pamapp"))


def check_pamapp(r, sim, n):
    assert r.rc == 0, "pv_pamapp exit %r (3 fd leak, 4 zombie, 5 child " \
                      "left running, 6 signals changed)\n%s" % (r.rc, r)
    assert len(r.results) == n, str(r)
    codes = {m["code"] for m in sim.outbox()}
    allowed = {"PAM_MAXTRIES", "PAM_AUTH_ERR"}
    if GUESS in codes:              # the simulator issued the guess itself
        allowed.add("PAM_SUCCESS")
    assert set(r.results) <= allowed, str(r)
    # Under check-asan a shim keeps modules loaded (so LeakSanitizer can
    # name their frames); the unload is then proven by the plain passes.
    if "nodlclose" not in os.environ.get("PV_TEST_PRELOAD", ""):
        assert "UNLOADED %d" % n in r.stdout, \
            "the module was not unloaded after every pam_end\n%s" % r
    assert sim.requests("send") == n
    assert sim.requests("verify") == n


def test_hundred_logins_one_process(login, sim, pamapp):
    """100 x pam_start/pam_authenticate/pam_end (the module is loaded and
    unloaded each time), each a wrong code: no descriptor, no zombie or
    running child, no signal disposition left behind."""
    lift_limits(sim)
    login.conf.update(max_tries="1", lockout_failures="0")
    r = run_pamapp(pamapp, login, N_LOGINS,
                   extra_env={"PV_PAMAPP_MODULE": login.module.name})
    check_pamapp(r, sim, N_LOGINS)


def asan_build():
    given = os.environ.get("PV_ASAN_BUILD")
    if given:
        p = Path(given)
        return p.parent if p.is_file() else p
    return REPO / "build-asan"


def asan_runtime():
    try:
        r = subprocess.run([os.environ.get("CC", "cc"),
                            "-print-file-name=libasan.so"],
                           stdout=subprocess.PIPE, text=True, timeout=30)
    except OSError:
        return None
    p = r.stdout.strip()
    return p if os.path.isabs(p) and os.path.exists(p) else None


def test_hundred_logins_under_asan(sim, tls_material, tmp_path, pamapp):
    """The ASan+UBSan module (make BUILD=build-asan SANITIZE=1 all) loaded
    and unloaded 100 times in one uninstrumented process with libasan
    preloaded: no AddressSanitizer, LeakSanitizer or UBSan report."""
    d = asan_build()
    module, helper = d / "pam_phoneverify.so", d / "phoneverify-http"
    if not module.exists() or not helper.exists():
        pytest.skip("no ASan build in %s (make BUILD=build-asan SANITIZE=1 "
                    "all, or set PV_ASAN_BUILD)" % d)
    runtime = asan_runtime()
    if runtime is None:
        pytest.skip("no libasan runtime (cc -print-file-name=libasan.so)")
    world = tmp_path / "asan"
    world.mkdir()
    login = Login(sim, tls_material, world, (module, helper))
    lift_limits(sim)
    login.conf.update(max_tries="1", lockout_failures="0")
    env = {
        "LD_PRELOAD": "%s libpam_wrapper.so libnss_wrapper.so" % runtime,
        "PAM_WRAPPER_DISABLE_DEEPBIND": "1",
        "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1:"
                        "detect_odr_violation=0",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        "PV_PAMAPP_MODULE": module.name,
    }
    lsan_supp = REPO / "tests" / "lsan.supp"
    if lsan_supp.exists():
        env["LSAN_OPTIONS"] = "suppressions=%s:print_suppressions=0" % lsan_supp
    r = run_pamapp(pamapp, login, N_LOGINS, extra_env=env, timeout=300)
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer"):
        assert marker not in r.stderr, "sanitizer report:\n%s" % r
    check_pamapp(r, sim, N_LOGINS)
