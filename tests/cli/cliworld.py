"""The test world of the `phoneverify` CLI tests (see test_cli.py).

The CLI (build/phoneverify), the module and its helper run from a snapshot
of the build taken at the start of the session, in a small test world per
test (passwd/group through nss_wrapper, users file, configuration, state
directory, pam.d for pam_wrapper), without root and without touching /etc.
The provider simulator is started through the simulator plumbing shared
by the suites (tests/lib/pvsim.py: SimServer, Sim), over HTTP.  The fixtures
are in conftest.py.
"""

import os
import re
import subprocess
from pathlib import Path

import pexpect

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

from pvsim import (SIM, Sim, SimServer,  # noqa: E402,F401 (re-exported)
                   closed_port, fresh_client, serve)

BUILD = Path(os.environ.get("PV_BUILD") or (REPO / "build")).resolve()
ARTIFACTS = ("phoneverify", "pam_phoneverify.so", "phoneverify-http")

SEND_AUTH = "bearer:sim-send-token"
VERIFY_AUTH = "basic:sim-user:sim-secret"

# name -> (uid, gid, gecos)
PASSWD = {
    "root": (0, 0, "root"),
    "nobody": (65534, 65534, "nobody"),
    "_phoneverify": (64990, 64990, "pam_phoneverify network helper"),
    "_phoneverify-lookup": (64991, 64991, "pam_phoneverify lookup command"),
    "alice": (1001, 1001, "Alice Liddell,Room 1,,,+8613800138000"),
    "bob": (1002, 1002, "Bob Builder,Room 2,,,"),
    "dave": (1004, 1004, "Dave Nophone,Room 4,,,"),
    "erin": (1005, 1005, "Erin Gecos,Room 5,,,+8613600136000"),
}
# mallory is in the users file but not in passwd; ghost is nowhere.
USERS_LINES = [
    "# test users: user:phone[:name[:email]]",
    "alice:+86 13800138000:Alice Liddell:alice@example.org",
    "",
    "bob:+8613900139000:Bob Builder",
    "mallory:+86 13500135000:Mallory Unknown",
    "# end",
]

SYSLOG_RE = re.compile(r"PWRAP_\w+\[[^\]]*\] - SYSLOG\((\d+)\): ?(.*?)\r?$",
                       re.M)
KV_RE = re.compile(r"(?:^|\s)([a-z_]+)=(\S*)")
PAM_MESSAGES = {
    "PAM_SUCCESS": "successfully authenticated",
    "PAM_AUTH_ERR": "Authentication failure",
    "PAM_PERM_DENIED": "Permission denied",
    "PAM_AUTHINFO_UNAVAIL":
        "Authentication service cannot retrieve authentication info",
    "PAM_SERVICE_ERR": "Error in service module",
}


class PamResult:
    def __init__(self, rc, transcript):
        self.rc = rc
        self.transcript = transcript.replace("\r\n", "\n")
        self.syslog = [(int(p), m) for p, m in SYSLOG_RE.findall(
            self.transcript)]
        msgs = re.findall(r"^pamtester: (.*)$", self.transcript, re.M)
        self.pam_message = msgs[-1].strip() if msgs else None

    @property
    def record(self):
        """The module's one decision record, parsed (plus _prio)."""
        recs = [(p, m) for p, m in self.syslog
                if " outcome=" in " " + m and " pam=" in " " + m]
        assert len(recs) == 1, "expected one decision record:\n%s" % self
        d = dict(KV_RE.findall(recs[0][1]))
        d["_prio"] = recs[0][0]
        return d

    def config_errors(self):
        """Messages of the module's `configuration error: MSG` lines."""
        return [m[len("configuration error: "):] for p, m in self.syslog
                if m.startswith("configuration error: ")]

    def __str__(self):
        return "rc=%r pam_message=%r\n---- transcript ----\n%s\n----" % (
            self.rc, self.pam_message, self.transcript)

    __repr__ = __str__


class World:
    """One test world in tmp: configuration (0600), users file (0644),
    state_dir (0700), passwd/group for nss_wrapper, pam.d for
    pam_wrapper.  `conf` is a dict written as `key = value` lines (None
    leaves a key out); `extra_lines` are appended raw."""

    def __init__(self, tmp, artifacts, sim_server=None):
        self.dir = Path(tmp)
        os.chmod(self.dir, 0o700)
        self.cli_bin, self.module, self.helper = artifacts
        self.sim_server = sim_server
        self.conf_path = self.dir / "pv.conf"
        self.users_path = self.dir / "phoneverify.users"
        self.state_dir = self.dir / "state"
        self.state_dir.mkdir(mode=0o700)
        os.chmod(self.state_dir, 0o700)
        self.pamd = self.dir / "pam.d"
        self.pamd.mkdir()
        self.passwd = self.dir / "passwd"
        self.group = self.dir / "group"
        if sim_server is not None:
            send, verify = sim_server.send_url, sim_server.verify_url
        else:
            base = "http://127.0.0.1:%d" % closed_port()
            send, verify = base + "/auth/v1/verification", \
                base + "/v1/verifications"
        self.conf = {
            "send_url": send,
            "send_auth": SEND_AUTH,
            "verify_url": verify,
            "verify_auth": VERIFY_AUTH,
            "users_file": str(self.users_path),
            "state_dir": str(self.state_dir),
            "helper": str(self.helper),
            "timeout": "2",
            "connect_timeout": "1",
        }
        self.extra_lines = []
        self.conf_mode = 0o600
        self.write_passwd()
        self.write_users(USERS_LINES)
        self.write_conf()

    # -- files ---------------------------------------------------------------
    def write_passwd(self):
        pw = ["%s:x:%d:%d:%s:/home/%s:/bin/sh" % (n, u, g, gecos, n)
              for n, (u, g, gecos) in PASSWD.items()]
        gr = ["%s:x:%d:" % (n, g) for n, (_u, g, _gecos) in PASSWD.items()]
        self.passwd.write_text("\n".join(pw) + "\n")
        self.group.write_text("\n".join(gr) + "\n")
        os.chmod(self.passwd, 0o644)
        os.chmod(self.group, 0o644)

    def write_users(self, lines):
        self.users_path.write_text("\n".join(lines) + "\n")
        os.chmod(self.users_path, 0o644)

    def write_conf(self):
        lines = ["# phoneverify CLI test configuration"]
        lines += ["%s = %s" % (k, v) for k, v in self.conf.items()
                  if v is not None]
        lines += self.extra_lines
        self.conf_path.write_text("\n".join(lines) + "\n")
        os.chmod(self.conf_path, self.conf_mode)

    def set(self, **kw):
        """Change configuration keys and rewrite the file."""
        self.conf.update(kw)
        self.write_conf()

    # -- the CLI ---------------------------------------------------------------
    def env(self, pam=False):
        env = {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C",
            "LC_ALL": "C",
            "TERM": "dumb",
            "LD_PRELOAD": "libnss_wrapper.so",
            "NSS_WRAPPER_PASSWD": str(self.passwd),
            "NSS_WRAPPER_GROUP": str(self.group),
        }
        for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
            if k in os.environ:          # a sanitizer build of the CLI
                env[k] = os.environ[k]
        if pam:
            env.update({
                "LD_PRELOAD": "libpam_wrapper.so libnss_wrapper.so",
                "PAM_WRAPPER": "1",
                "PAM_WRAPPER_SERVICE_DIR": str(self.pamd),
                "PAM_WRAPPER_DEBUGLEVEL": "2",
            })
        return env

    def cli(self, *args, conf=None, binary=None, stdin="", timeout=20):
        """Run the CLI with `--conf <this world's file>` (conf=False: no
        --conf; conf=PATH: that one).  Returns CompletedProcess (text)."""
        argv = [str(binary or self.cli_bin)]
        if conf is None:
            argv += ["--conf", str(self.conf_path)]
        elif conf is not False:
            argv += ["--conf", str(conf)]
        argv += [str(a) for a in args]
        return subprocess.run(argv, env=self.env(), input=stdin,
                              capture_output=True, text=True,
                              timeout=timeout)

    def cli_bytes(self, *args):
        """The CLI with this world's --conf, output kept as bytes (for
        checking exactly which bytes reach the terminal)."""
        argv = [str(self.cli_bin), "--conf", str(self.conf_path)]
        argv += [a if isinstance(a, bytes) else str(a) for a in args]
        return subprocess.run(argv, env=self.env(), capture_output=True,
                              timeout=20)

    def add_passwd(self, name, uid, gecos):
        """One more passwd/group entry (bytes allowed in name and gecos)."""
        def b(x):
            return x if isinstance(x, bytes) else x.encode()
        with open(self.passwd, "ab") as f:
            f.write(b"%s:x:%d:%d:%s:/home/x:/bin/sh\n" % (b(name), uid, uid,
                                                          b(gecos)))
        with open(self.group, "ab") as f:
            f.write(b"%s:x:%d:\n" % (b(name), uid))

    def spawn_cli(self, *args, echo=False):
        """The CLI on a pty (for `test`), driven through pexpect; with
        echo=True the terminal echoes what is typed (unless the CLI turns
        echo off)."""
        argv = ["--conf", str(self.conf_path)] + [str(a) for a in args]
        child = pexpect.spawn(str(self.cli_bin), argv, env=self.env(),
                              echo=echo, encoding="utf-8",
                              codec_errors="replace", timeout=20,
                              dimensions=(50, 500))
        child.delaybeforesend = None
        return child

    # -- the module --------------------------------------------------------------
    def pam(self, user, answers=(), prompt=None, conf=None, service="sshd"):
        """One login through pamtester under pam_wrapper/nss_wrapper with
        `auth required MODULE conf=PATH`.  answers: for each prompt
        (regex `prompt`), a string or a callable() -> string."""
        (self.pamd / service).write_text(
            "auth required %s conf=%s\naccount required pam_permit.so\n"
            % (self.module, conf or self.conf_path))
        (self.pamd / "other").write_text("auth required pam_deny.so\n"
                                         "account required pam_deny.so\n")
        child = pexpect.spawn("pamtester", ["-v", "-I", "rhost=203.0.113.9",
                                            service, user, "authenticate"],
                              env=self.env(pam=True), echo=False,
                              encoding="utf-8", codec_errors="replace",
                              timeout=20, dimensions=(50, 500))
        child.delaybeforesend = None
        out = []
        try:
            for a in answers:
                i = child.expect([prompt, pexpect.EOF])
                out.append(child.before + (child.after if i == 0 else ""))
                if i == 1:
                    raise AssertionError("expected a prompt, pamtester "
                                         "ended:\n%s" % "".join(out))
                child.sendline(a() if callable(a) else a)
            child.expect(pexpect.EOF)
            out.append(child.before)
        finally:
            if child.isalive():
                child.kill(9)
            child.close()
        return PamResult(child.exitstatus, "".join(out))
