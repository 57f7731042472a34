"""End-to-end harness for pam_phoneverify: the real sshd and the real sudo.

Everything here changes the machine for the duration of the run only, and
every change is undone in a `finally` (also when a test or the setup fails):

  * a local user `pve2e` (useradd -m ... / userdel -r);
  * /etc/pam.d/pv-e2e-sshd and /etc/pam.d/pv-e2e-sudo, PRIVATE PAM service
    names, so the system's own sshd and sudo stacks are never touched;
  * /etc/sudoers.d/pv-e2e (validated with visudo -cf before it is installed);
  * /run/sshd, only if it was missing (removed again if we created it);
  * one sshd, started in the foreground on a free 127.0.0.1 port through a
    symlink named pv-e2e-sshd (OpenSSH uses its program name as the PAM
    service name), and two provider simulators (HTTP and HTTPS), loopback only.

Root only: without root the whole suite is skipped.  Run it as

    PV_BUILD=/abs/build /usr/bin/python3 -m pytest -q tests/e2e

Fixtures (tests use only these; there is no helper module to import, so that
this directory can share one pytest run with tests/integration; the simulator
plumbing itself is the shared tests/lib/pvsim.py):

  e2e      session: paths, the test user, the simulators
  pv       per test: simulators reset, fresh state dir, pv.conf rewritten
           with pv.configure(**overrides); pv.sim / pv.sims[...] talk to them
  sshd     session: the running sshd; sshd.spawn_ssh() returns a Session
           (pexpect child + transcript; use it in a `with`)
  sudo     session: the sudo PAM service + sudoers drop-in;
           sudo.spawn(env=...) returns a Session
  dead_port / proxy_trap   helpers for "provider down" and proxy tests
"""

import os
import pwd
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest


from pvsim import (Sim, SimServer, free_port, make_tls,  # noqa: E402,F401
                   stop_process, wrong_code)

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("PV_BUILD") or (REPO / "build")).resolve()
MODULE = BUILD / "pam_phoneverify.so"
HELPER = BUILD / "phoneverify-http"
SIM_SCRIPT = REPO / "scripts" / "phoneverify-sim"
PYTHON = "/usr/bin/python3"

SSHD = "/usr/sbin/sshd"
SSH = "/usr/bin/ssh"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
SUDO = "/usr/bin/sudo"
VISUDO = "/usr/sbin/visudo"
RUNUSER = "/usr/sbin/runuser"
OPENSSL = "/usr/bin/openssl"

USER = "pve2e"
PHONE = "+86 13800138099"            # what the send API gets (phone_format=spaced)
PHONE_MASKED = "+86 *******8099"     # what the prompt shows
PROMPT = "Verification code sent to %s: " % PHONE_MASKED

SSHD_SERVICE = "pv-e2e-sshd"
SUDO_SERVICE = "pv-e2e-sudo"
PAMD = Path("/etc/pam.d")
SUDOERS_DROPIN = Path("/etc/sudoers.d/pv-e2e")
PRIVSEP_DIR = Path("/run/sshd")

SEND_AUTH = "bearer:sim-send-token"
VERIFY_AUTH = "basic:sim-user:sim-secret"

# A clean environment for everything we spawn: nothing from the CI runner
# (proxies, SSLKEYLOGFILE, ...) may leak into the processes under test unless
# a test puts it there on purpose.
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C", "LC_ALL": "C", "TERM": "dumb", "HOME": "/root"}

TIMEOUT = 15          # seconds for any single expect


def _run(argv, check=True, **kw):
    kw.setdefault("env", BASE_ENV)
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       timeout=60, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(map(str, argv)),
                                                    p.returncode, p.stdout, p.stderr))
    return p


def _write(path, text, mode):
    """Write a root-owned file with exactly `mode` (no window with wider bits)."""
    path = Path(path)
    tmp = path.with_name(".%s.tmp" % path.name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM if pytest dies (even SIGKILLed),
    so no sshd or simulator outlives an interrupted run."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# ---------------------------------------------------------------------------
# Root check (autouse: applies to every test in this directory only)
# ---------------------------------------------------------------------------

def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


@pytest.fixture(scope="session", autouse=True)
def _e2e_requires_root():
    if os.geteuid() != 0:
        pytest.skip("tests/e2e must run as root: they start sshd, install "
                    "/etc/pam.d/pv-e2e-* and /etc/sudoers.d/pv-e2e and create "
                    "the user %s (CI runs them as root)" % USER)
    missing = [p for p in (MODULE, HELPER, SIM_SCRIPT, SSHD, SSH, SSH_KEYGEN, SUDO,
                           VISUDO, RUNUSER, OPENSSL) if not Path(p).exists()]
    if missing:
        pytest.fail("missing: %s (run `make all` and scripts/install-deps; "
                    "PV_BUILD=%s)" % (", ".join(map(str, missing)), BUILD))
    # A CI timeout sends SIGTERM: turn it into KeyboardInterrupt, on which
    # pytest still tears the fixtures down (pam.d files, sudoers, user).
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        yield
    finally:
        if previous == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)


# ---------------------------------------------------------------------------
# The provider simulator
# ---------------------------------------------------------------------------

class SimProc(SimServer):
    """A running scripts/phoneverify-sim (HTTP or HTTPS) in the clean
    environment, with its control client (never through a proxy)."""

    def __init__(self, tls=None):
        super().__init__(tls, args=["--host", "127.0.0.1",
                                    "--send-auth", SEND_AUTH,
                                    "--verify-auth", VERIFY_AUTH],
                         env=BASE_ENV, preexec_fn=_die_with_parent)
        self.client = Sim(self, proxies={})

    def reset(self):
        self.assert_alive()
        return self.client.reset()

    def outbox(self):
        return self.client.outbox()

    def stats(self):
        return self.client.stats()["requests"]

    def wait_code(self, n=1, timeout=10):
        """The code of the n-th message (exactly n must arrive)."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.outbox()
            if len(msgs) >= n or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(msgs) == n, "expected %d sent message(s), outbox: %r" % (n, msgs)
        m = msgs[-1]
        assert m["channel"] == "sms" and m["to"] == PHONE, m
        assert re.fullmatch(r"[0-9]{6}", m["code"]), m
        return m["code"]


def _make_tls(d):
    d.mkdir(mode=0o700)
    return make_tls(d, days=2, ca_cn="pam_phoneverify e2e CA", openssl=OPENSSL,
                    env=BASE_ENV)


# ---------------------------------------------------------------------------
# The session world: directory, test user, simulators
# ---------------------------------------------------------------------------

def _remove_user():
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return
    p = _run(["userdel", "-r", USER], check=False)
    if p.returncode not in (0, 12):          # 12: could not remove home (gone)
        # e.g. a process of a killed earlier run still runs as the user
        _run(["userdel", "-r", "-f", USER], check=False)
    for leftover in (Path("/run/sudo/ts") / USER, Path("/var/lib/sudo/lectured") / USER):
        _unlink(leftover)


# The helper's and the lookup command's system users, as `make install`
# and the package create them (the module refuses to run without them);
# created here when missing and removed again at the end.
RUN_USERS = (("_phoneverify", "pam_phoneverify network helper"),
             ("_phoneverify-lookup", "pam_phoneverify lookup command"))


def _add_run_users():
    made = []
    for name, comment in RUN_USERS:
        try:
            pwd.getpwnam(name)
        except KeyError:
            _run(["useradd", "--system", "--user-group", "--no-create-home",
                  "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin",
                  "--comment", comment, name])
            made.append(name)
    return made


def _remove_run_users(made):
    for name in made:
        _run(["userdel", name], check=False)


class World:
    pass


@pytest.fixture(scope="session")
def e2e(tmp_path_factory):
    w = World()
    w.dir = tmp_path_factory.mktemp("pv-e2e")
    os.chmod(w.dir, 0o700)
    w.sims = {}
    w.run_users = []
    try:
        w.run_users = _add_run_users()
        # the test user (a leftover of an interrupted run is removed first)
        _remove_user()
        _run(["useradd", "-m", "-s", "/bin/sh", "-c", "pam_phoneverify e2e", USER])
        w.pw = pwd.getpwnam(USER)
        home = Path(w.pw.pw_dir)
        # its ssh key (the client runs as root with -i)
        w.key = w.dir / "id_ed25519"
        _run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "pv-e2e", "-f", w.key])
        sshdir = home / ".ssh"
        sshdir.mkdir(mode=0o700, exist_ok=True)
        ak = sshdir / "authorized_keys"
        ak.write_text((w.dir / "id_ed25519.pub").read_text())
        os.chmod(ak, 0o600)
        for p in (sshdir, ak):
            os.chown(p, w.pw.pw_uid, w.pw.pw_gid)

        w.users_file = w.dir / "users"
        _write(w.users_file, "# pam_phoneverify e2e\n%s:%s:PV Etoe:pve2e@example.org\n"
               % (USER, PHONE), 0o644)
        w.conf = w.dir / "pv.conf"
        w.tls = _make_tls(w.dir / "tls")
        w.sims["http"] = SimProc()
        w.sims["https"] = SimProc(w.tls)
        yield w
    finally:
        for s in w.sims.values():
            s.stop()
        _remove_user()
        _remove_run_users(w.run_users)


class PV:
    """Per-test view: the simulators and the module's configuration."""

    prompt = PROMPT
    phone = PHONE

    def __init__(self, world, state_dir):
        self.world = world
        self.sims = world.sims
        self.sim = world.sims["http"]
        self.state_dir = state_dir
        self.conf_text = None

    def configure(self, transport="http", **overrides):
        """Rewrite pv.conf (mode 0600) for the simulator `transport`; keyword
        arguments override/add keys (e.g. failmode="safe", max_tries=1);
        None removes a key."""
        sim = self.sims[transport]
        self.sim = sim
        keys = {
            "send_url": sim.send_url,
            "send_auth": SEND_AUTH,
            "verify_url": sim.verify_url,
            "verify_auth": VERIFY_AUTH,
            "users_file": self.world.users_file,
            "state_dir": self.state_dir,
            "helper": HELPER,
            "timeout": 3,
            "connect_timeout": 2,
        }
        if transport == "https":
            keys["cafile"] = self.world.tls["ca"]
        keys.update(overrides)
        self.conf_text = "".join("%s = %s\n" % (k, v) for k, v in keys.items()
                                 if v is not None)
        _write(self.world.conf, self.conf_text, 0o600)
        return self

    def age_last_send(self, ago, user="pve2e"):
        """Move the user's last send (and its budget entries) `ago` seconds
        into the past, and the simulator's clock forward as far, as if that
        much time had passed since the code went out."""
        p = self.state_dir / ("u-" + user)
        text = p.read_text()
        assert re.search(r"^last_sent (\d+)$", text, re.M), \
            "no last_sent in the state record:\n" + text
        # the send counted for the budget too, so the record stays consistent
        p.write_text(re.sub(r"^(last_sent|sent) (\d+)",
                            lambda m: "%s %d" % (m.group(1), int(m.group(2)) - ago),
                            text, flags=re.M))
        self.sim.client.clock(ago)


@pytest.fixture
def pv(e2e, tmp_path):
    for s in e2e.sims.values():
        s.reset()
    state = tmp_path / "state"          # fresh lockout state for every test
    return PV(e2e, state).configure()


@pytest.fixture
def dead_port():
    """A closed loopback port: connecting to it is refused at once."""
    return free_port()


class ProxyTrap:
    """Listens on loopback and counts connections (each closed at once), so a
    test can prove that nothing tried to use it as a proxy."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.connections = 0
        self._stop = False
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            c.close()

    def close(self):
        self._stop = True
        self._t.join(2)
        self.sock.close()


@pytest.fixture
def proxy_trap():
    t = ProxyTrap()
    yield t
    t.close()


# ---------------------------------------------------------------------------
# A client session on a pty (ssh, or sudo via runuser)
# ---------------------------------------------------------------------------

class Session:
    """A pexpect child with its full transcript; use it as a context manager
    so that it is killed even when an assertion fails half-way."""

    def __init__(self, child):
        import io
        self.child = child
        self._log = io.StringIO()
        child.logfile_read = self._log
        self.exitstatus = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.child.isalive():
            self.child.close(force=True)
        return False

    @property
    def transcript(self):
        """Everything the client printed, with CRs dropped."""
        return self._log.getvalue().replace("\r", "")

    def lines(self):
        return self.transcript.split("\n")

    def _expect(self, what, exact=True, timeout=TIMEOUT):
        import pexpect
        try:
            if exact:
                self.child.expect_exact(what, timeout=timeout)
            else:
                self.child.expect(what, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            raise AssertionError("expected %r, got %s; transcript:\n%s"
                                 % (what, type(e).__name__, self.transcript)) from None
        return self.child.before.replace("\r", "")

    def prompt(self, text=PROMPT):
        """Wait for the code prompt; returns what was printed before it
        (since the previous expect), CRs dropped."""
        return self._expect(text)

    def answer(self, text):
        self.child.sendline(text)

    def finish(self, timeout=TIMEOUT):
        """Wait for the client to exit; returns the whole transcript."""
        import pexpect
        self._expect(pexpect.EOF, exact=False, timeout=timeout)
        self.child.close()
        self.exitstatus = self.child.exitstatus
        if self.exitstatus is None:           # killed by a signal
            self.exitstatus = -(self.child.signalstatus or 0)
        return self.transcript


# ---------------------------------------------------------------------------
# sshd
# ---------------------------------------------------------------------------

class Sshd:
    def __init__(self, world, d):
        self.world = world
        self.dir = d
        self.log = []
        self.proc = None
        self.port = None

    def start(self):
        d = self.dir
        self.hostkey = d / "ssh_host_ed25519_key"
        _run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "pv-e2e-host",
              "-f", self.hostkey])
        # OpenSSH takes the PAM service name from its program name (basename
        # of argv[0]); sshd re-executes itself through that same absolute path.
        self.exe = d / SSHD_SERVICE
        os.symlink(SSHD, self.exe)
        self.config = d / "sshd_config"
        self.pidfile = d / "sshd.pid"
        last = None
        for _attempt in range(3):
            self.port = free_port()
            _write(self.config, self._config_text(), 0o600)
            _run([self.exe, "-t", "-f", self.config])          # config is valid
            if self._spawn():
                return
            last = "\n".join(self.log[-20:])
            self.stop()
        raise RuntimeError("sshd did not start:\n%s" % last)

    def _config_text(self):
        return "\n".join([
            "# pam_phoneverify e2e (tests/e2e/conftest.py)",
            "Port %d" % self.port,
            "ListenAddress 127.0.0.1",
            "HostKey %s" % self.hostkey,
            "PidFile %s" % self.pidfile,
            "UsePAM yes",
            "KbdInteractiveAuthentication yes",
            "PasswordAuthentication no",
            "PubkeyAuthentication yes",
            "AuthenticationMethods publickey,keyboard-interactive",
            "AuthorizedKeysFile .ssh/authorized_keys",
            "AllowUsers %s" % USER,
            "PermitRootLogin no",
            "StrictModes yes",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "AllowAgentForwarding no",
            "PermitTTY no",
            "MaxAuthTries 6",
            "LoginGraceTime 30",
            "LogLevel VERBOSE",
            "",
        ])

    def _spawn(self):
        self.log = []
        self.listening = threading.Event()
        self.proc = subprocess.Popen(
            [str(self.exe), "-D", "-e", "-f", str(self.config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=BASE_ENV, preexec_fn=_die_with_parent)
        threading.Thread(target=self._read_log, daemon=True).start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.listening.wait(0.05):
                return True
            if self.proc.poll() is not None:
                return False
        return False

    def _read_log(self):
        want = "Server listening on 127.0.0.1 port %d." % self.port
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.append(line)
            if want in line:
                self.listening.set()

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)

    def mark(self):
        """Position in the log; pass it to wait_log/log_since as `since`."""
        return len(self.log)

    def log_since(self, since):
        return list(self.log[since:])

    def wait_log(self, pattern, since=0, timeout=5):
        """The first sshd log line after `since` matching regex `pattern`
        (waits up to `timeout` seconds for it); None if there is none."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log[since:]:
                if rx.search(line):
                    return line
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def spawn_ssh(self, command="echo PV-E2E-OK", env=None):
        """`ssh pve2e@127.0.0.1 COMMAND` with the test key (a Session);
        env adds to the client's clean environment (e.g. a UTF-8 locale)."""
        import pexpect
        argv = ["-F", "/dev/null", "-p", str(self.port), "-i", str(self.world.key),
                "-o", "IdentitiesOnly=yes",
                "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null",
                "-o", "GlobalKnownHostsFile=/dev/null",
                "-o", "PreferredAuthentications=publickey,keyboard-interactive",
                "-o", "BatchMode=no",
                # one keyboard-interactive round per connection, so a refusal
                # is final instead of the client silently starting another
                "-o", "NumberOfPasswordPrompts=1",
                "-o", "ConnectTimeout=10",
                "%s@127.0.0.1" % USER, command]
        return Session(pexpect.spawn(SSH, argv, env=dict(BASE_ENV, **(env or {})),
                                     encoding="utf-8",
                                     codec_errors="replace", timeout=TIMEOUT,
                                     dimensions=(24, 200)))


@pytest.fixture(scope="session")
def sshd(e2e):
    d = e2e.dir / "sshd"
    d.mkdir(mode=0o700)
    pam_file = PAMD / SSHD_SERVICE
    created_privsep = False
    server = Sshd(e2e, d)
    try:
        if not PRIVSEP_DIR.exists():
            PRIVSEP_DIR.mkdir(mode=0o755)
            created_privsep = True
        _write(pam_file,
               "# pam_phoneverify e2e tests (tests/e2e); removed when they end\n"
               "auth     required  %s conf=%s\n"
               "account  required  pam_unix.so\n"
               "session  required  pam_permit.so\n"
               "password required  pam_deny.so\n" % (MODULE, e2e.conf), 0o644)
        server.start()
        yield server
    finally:
        server.stop()
        _unlink(pam_file)
        if created_privsep:
            try:
                PRIVSEP_DIR.rmdir()
            except OSError:
                pass


# ---------------------------------------------------------------------------
# sudo
# ---------------------------------------------------------------------------

class Sudo:
    def __init__(self, world):
        self.world = world

    def spawn(self, env=None, command=("/bin/echo", "PV-SUDO-OK")):
        """`runuser -u pve2e -- env VAR=... sudo COMMAND` on a pty (a Session):
        sudo runs PAM with the caller's environment, plus `env`."""
        import pexpect
        assigns = ["%s=%s" % kv for kv in (env or {}).items()]
        argv = ["-u", USER, "--", "/usr/bin/env"] + assigns + [SUDO] + list(command)
        return Session(pexpect.spawn(RUNUSER, argv, env=BASE_ENV, encoding="utf-8",
                                     codec_errors="replace", timeout=TIMEOUT,
                                     dimensions=(24, 200)))


@pytest.fixture(scope="session")
def sudo(e2e):
    pam_file = PAMD / SUDO_SERVICE
    try:
        # Only our module in the auth stack: the command may run only after
        # the right code.  sudo picks the service from sudoers (pam_service).
        _write(pam_file,
               "# pam_phoneverify e2e tests (tests/e2e); removed when they end\n"
               "auth     required  %s conf=%s\n"
               "account  required  pam_permit.so\n"
               "session  required  pam_permit.so\n"
               "password required  pam_deny.so\n" % (MODULE, e2e.conf), 0o644)
        text = ("# pam_phoneverify e2e tests (tests/e2e); removed when they end\n"
                "Defaults:%(u)s pam_service=%(svc)s\n"
                "Defaults:%(u)s timestamp_timeout=0\n"
                "Defaults:%(u)s passwd_tries=1\n"
                "Defaults:%(u)s !mail_badpass\n"
                "%(u)s ALL=(root) /bin/echo\n" % {"u": USER, "svc": SUDO_SERVICE})
        candidate = e2e.dir / "sudoers-candidate"
        _write(candidate, text, 0o440)
        _run([VISUDO, "-cf", candidate])
        _write(SUDOERS_DROPIN, text, 0o440)
        p = _run([VISUDO, "-c"], check=False)
        if p.returncode != 0:
            raise RuntimeError("sudoers invalid with the drop-in: %s%s" % (p.stdout, p.stderr))
        yield Sudo(e2e)
    finally:
        _unlink(SUDOERS_DROPIN)
        _unlink(pam_file)
        for leftover in (Path("/run/sudo/ts") / USER,):
            _unlink(leftover)
