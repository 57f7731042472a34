"""The admin CLI `phoneverify` (SPEC section 6), every subcommand.

Run:  make all && /usr/bin/python3 -m pytest -q tests/cli
(PV_BUILD=DIR to test another build directory.)
"""

import base64
import fcntl
import os
import re
import stat
import subprocess
import time

import pexpect
import pytest

from cliworld import BUILD, PAM_MESSAGES, REPO

# Every key of SPEC section 3, in the table's order.
SPEC_KEYS = [
    "methods", "send_url", "send_auth", "send_target", "captcha_token",
    "verify_url", "verify_auth", "precheck_url", "precheck_auth",
    "precheck_encryption", "precheck_cache", "precheck_unknown",
    "numverify_url", "numverify_licence", "numverify_partner",
    "numverify_wait", "numverify_poll", "phone_format", "users_file",
    "lookup", "gecos_field", "lookup_command", "lookup_command_user",
    "groups", "trusted_rhosts", "nullok", "failmode", "timeout",
    "connect_timeout", "cafile", "capath", "pinned_pubkey", "client_cert",
    "client_key", "proxy", "max_tries", "resend", "code_length",
    "lockout_failures", "lockout_window", "lockout_time", "state",
    "state_endpoints", "state_cafile", "state_client_cert",
    "state_client_key", "state_prefix", "state_timeout", "state_dir",
    "send_limit", "send_window", "resend_wait", "grace",
    "grace_services", "numverify_link_hosts", "reuse_code", "prompt",
    "echo_code",
    "breakglass_file", "language", "locale_dir", "debug", "helper_user",
    "helper",
]

COMMANDS = ["check-config", "lookup", "test", "status", "unlock", "enroll",
            "breakglass"]

PROMPT_RE = r"Verification code sent to [^\r\n]+?: "
BREAKGLASS_PROMPT = "Verification service unavailable. Emergency code: "
CODE_LINE_RE = re.compile(r"^  (\d{5})-(\d{5})$", re.M)


def wrong(code):
    return "%06d" % ((int(code) + 1) % 1000000)


def snapshot_dir(d):
    """{name: (inode, mode)} of a directory's entries."""
    return {e.name: (e.inode(), stat.S_IMODE(e.stat(follow_symlinks=False)
                                             .st_mode))
            for e in os.scandir(d)}


# ---------------------------------------------------------------------------
# usage
# ---------------------------------------------------------------------------

def test_help(world):
    for args in (["--help"], ["-h"]):
        r = world.cli(*args, conf=False)
        assert r.returncode == 0, r
        assert r.stdout.startswith("usage: phoneverify"), r
        for cmd in COMMANDS:
            assert re.search(r"^  %s\b" % re.escape(cmd), r.stdout, re.M), \
                (cmd, r.stdout)


@pytest.mark.parametrize("cmd", COMMANDS)
def test_command_help(world, cmd):
    # --help wins over everything else and needs no configuration
    for args in ([cmd, "--help"], ["--help", cmd], [cmd, "x", "-h"]):
        r = world.cli(*args, conf="/nonexistent/pv.conf")
        assert r.returncode == 0, (args, r)
        assert r.stdout.startswith("usage: phoneverify [--conf PATH] %s"
                                   % cmd), (args, r)
        assert len(r.stdout.splitlines()) >= 2, r      # usage + description


def test_no_command_is_usage_error(world):
    r = world.cli(conf=False)
    assert r.returncode == 2, r
    assert "usage: phoneverify" in r.stderr


@pytest.mark.parametrize("args", [
    ["frobnicate"], ["check_config"], ["--conf"], ["-x", "check-config"],
    ["check-config", "--bogus"],
], ids=["unknown", "underscore", "conf-without-path", "unknown-option",
        "unknown-option-after"])
def test_unknown_command_or_option(world, args):
    r = world.cli(*args, conf=False)
    assert r.returncode == 2, r
    assert r.stdout == "", r


@pytest.mark.parametrize("args", [
    ["check-config", "extra"],
    ["lookup"], ["lookup", "alice", "bob"],
    ["test"], ["test", "alice", "bob"],
    ["status", "alice", "bob"],
    ["unlock"], ["unlock", "alice", "bob"],
    ["enroll"], ["enroll", "alice"],
    ["enroll", "alice", "+8613800138000", "A", "a@b.example", "extra"],
    ["breakglass"], ["breakglass", "alice", "2", "extra"],
    ["breakglass", "alice", "0"], ["breakglass", "alice", "21"],
    ["breakglass", "alice", "two"],
])
def test_wrong_arguments_are_usage_errors(world, args):
    before = snapshot_dir(world.dir)
    r = world.cli(*args)
    assert r.returncode == 2, r
    assert r.stdout == "", r
    assert r.stderr.strip(), r
    assert snapshot_dir(world.dir) == before        # nothing written


def test_conf_option_before_or_after_command(world):
    """SPEC 6 spells it `phoneverify check-config [--conf PATH]`."""
    for argv in (["--conf", world.conf_path, "check-config"],
                 ["check-config", "--conf", world.conf_path],
                 ["check-config", "--conf=%s" % world.conf_path]):
        r = world.cli(*argv, conf=False)
        assert r.returncode == 0, (argv, r)
        assert "users_file = %s" % world.users_path in r.stdout
    r = world.cli("check-config", "--conf", world.conf_path)   # twice
    assert r.returncode == 2, r


# ---------------------------------------------------------------------------
# check-config
# ---------------------------------------------------------------------------

SECRETS = {
    "send_auth": ("bearer:Tok-SEND-s3cr3t-4242", ["Tok-SEND-s3cr3t-4242"]),
    "verify_auth": ("basic:vuser:Basic-S3cret-pw",
                    ["Basic-S3cret-pw",
                     base64.b64encode(b"vuser:Basic-S3cret-pw").decode()]),
    "precheck_auth": ("bearer:Pre-Ch3ck-T0ken", ["Pre-Ch3ck-T0ken"]),
    "precheck_encryption": ("Enc-K3y-9911", ["Enc-K3y-9911"]),
    "captcha_token": ("Capt-Ch4-T0k", ["Capt-Ch4-T0k"]),
    "numverify_licence": ("LIC-77-Secret-Licence", ["LIC-77-Secret-Licence"]),
    "proxy": ("http://proxyuser:Pr0xyPass@127.0.0.1:3128",
              ["Pr0xyPass", "proxyuser", "127.0.0.1:3128"]),
}


def test_check_config_valid(world):
    for key, (value, _) in SECRETS.items():
        world.conf[key] = value
    world.set(precheck_url="http://127.0.0.1:9/precheck", max_tries="4",
              lookup="file gecos", failmode="safe",
              groups="wheel !nomfa", trusted_rhosts="10.0.0.0/8 ::1")
    r = world.cli("check-config")
    assert r.returncode == 0, r
    out = r.stdout + r.stderr
    # every key exactly once, as "key = value"
    shown = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^([a-z_]+) = (.*)$", line)
        assert m, "unexpected line %r" % line
        assert m.group(1) not in shown, "%s printed twice" % m.group(1)
        shown[m.group(1)] = m.group(2)
    assert sorted(shown) == sorted(SPEC_KEYS)
    # effective values
    assert shown["max_tries"] == "4"
    assert shown["lookup"] == "file gecos"
    assert shown["failmode"] == "safe"
    assert shown["users_file"] == str(world.users_path)
    assert shown["send_url"] == world.conf["send_url"]
    assert shown["groups"] == "wheel !nomfa"
    assert shown["code_length"] == "6"                 # a default
    assert shown["prompt"] == "Verification code sent to %p: "
    # secrets: masked, never shown
    for key, (_value, texts) in SECRETS.items():
        assert shown[key] == "(set)", (key, shown[key])
        for t in texts:
            assert t not in out, "secret %r of %s shown:\n%s" % (t, key, out)
    assert shown["client_key"] in ("", "(not set)")


def _module_vs_cli(world):
    """Run the CLI's check-config and a login through the module on the
    same world; return (cli message, module message)."""
    r = world.cli("check-config")
    assert r.returncode == 1, r
    assert r.stdout == "", "nothing is printed for a broken file:\n%s" % r
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r
    prefix = "phoneverify: configuration error: "
    assert lines[0].startswith(prefix), r
    res = world.pam("alice")
    assert res.rc == 1 and res.pam_message == PAM_MESSAGES["PAM_SERVICE_ERR"], \
        res
    assert res.record["outcome"] == "config_error", res
    errs = res.config_errors()
    assert len(errs) == 1, res
    return lines[0][len(prefix):], errs[0]


@pytest.mark.parametrize("line,expect", [
    ("no_such_key = 1", "unknown key"),
    ("this line has no equals sign", "expected 'key = value'"),
    ("max_tries = many", "max_tries must be an integer"),
    ("precheck_auth = token:abc", "precheck_auth must be none, bearer"),
    ("Send_URL = http://127.0.0.1:1/x", "unknown key"),
], ids=["unknown-key", "malformed", "bad-integer", "bad-auth", "key-case"])
def test_parity_bad_line(world, line, expect):
    world.extra_lines = [line]
    world.write_conf()
    lineno = len(world.conf_path.read_text().rstrip("\n").split("\n"))
    cli_msg, mod_msg = _module_vs_cli(world)
    assert cli_msg == mod_msg
    assert cli_msg.startswith("%s:%d: " % (world.conf_path, lineno)), cli_msg
    assert expect in cli_msg


def _missing_send_url(w):
    w.set(send_url=None)


def _conf_mode(mode):
    def f(w):
        w.conf_mode = mode
        w.write_conf()
    return f


def _users_mode(mode):
    def f(w):
        os.chmod(w.users_path, mode)
    return f


def _helper_missing(w):
    w.set(helper=str(w.dir / "no-such-helper"))


def _state_dir_open(w):
    os.chmod(w.state_dir, 0o777)


@pytest.mark.parametrize("breakit,names", [
    (_missing_send_url, "send_url"),
    (_conf_mode(0o604), "pv.conf"),
    (_conf_mode(0o644), "pv.conf"),
    (_conf_mode(0o620), "pv.conf"),
    (_conf_mode(0o602), "pv.conf"),
    (_users_mode(0o664), "users_file"),
    (_users_mode(0o646), "users_file"),
    (_helper_missing, "helper"),
    (_state_dir_open, "state_dir"),
], ids=["missing-send_url", "conf-world-readable", "conf-0644",
        "conf-group-writable", "conf-world-writable",
        "users-group-writable", "users-world-writable", "helper-missing",
        "state_dir-0777"])
def test_parity_broken_file(world, breakit, names):
    breakit(world)
    cli_msg, mod_msg = _module_vs_cli(world)
    assert cli_msg == mod_msg
    assert names in cli_msg, cli_msg


def test_parity_symlinked_conf(world):
    link = world.dir / "link.conf"
    os.symlink(world.conf_path, link)
    r = world.cli("check-config", conf=link)
    assert r.returncode == 1, r
    prefix = "phoneverify: configuration error: "
    assert r.stderr.startswith(prefix), r
    res = world.pam("alice", conf=link)
    assert res.pam_message == PAM_MESSAGES["PAM_SERVICE_ERR"], res
    assert res.config_errors() == [r.stderr.strip()[len(prefix):]], res
    assert str(link) in r.stderr


def test_check_config_missing_file(world):
    r = world.cli("check-config", conf=world.dir / "nope.conf")
    assert r.returncode == 1, r
    assert "nope.conf" in r.stderr


def test_check_config_relative_conf(world):
    """A relative --conf is made absolute (the module needs absolute)."""
    r = subprocess.run([str(world.cli_bin), "--conf", "pv.conf",
                        "check-config"], cwd=world.dir, env=world.env(),
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r


# ---------------------------------------------------------------------------
# lookup
# ---------------------------------------------------------------------------

def _sources(stdout):
    return {line.split()[0]: line for line in stdout.splitlines()}


def test_lookup_users_file_and_gecos(world):
    world.set(lookup="file gecos")
    r = world.cli("lookup", "alice")
    assert r.returncode == 0, r
    src = _sources(r.stdout)
    assert set(src) == {"file", "gecos"}, r.stdout
    assert "phone=+86 *******8000" in src["file"]
    assert "name=Alice Liddell" in src["file"]
    assert "email=alice@example.org" in src["file"]
    assert "phone=+86 *******8000" in src["gecos"]
    assert "name=Alice Liddell" in src["gecos"]
    assert "13800138000" not in r.stdout + r.stderr       # masked


def test_lookup_gecos_only_user(world):
    world.set(lookup="file gecos")
    r = world.cli("lookup", "erin")
    assert r.returncode == 0, r
    src = _sources(r.stdout)
    assert "not found" in src["file"]
    assert "phone=+86 *******6000" in src["gecos"]
    assert "name=Erin Gecos" in src["gecos"]
    assert "13600136000" not in r.stdout


def test_lookup_only_configured_sources(world):
    r = world.cli("lookup", "bob")          # default lookup = file
    assert r.returncode == 0, r
    src = _sources(r.stdout)
    assert set(src) == {"file"}
    assert "phone=+86 *******9000" in src["file"] and "name=Bob Builder" in \
        src["file"] and "email=-" in src["file"]


@pytest.mark.parametrize("user", ["dave", "ghost", "mallory"])
def test_lookup_nothing_found(world, user):
    """dave has no phone anywhere; ghost and mallory are not in passwd
    (the module cannot resolve them either)."""
    world.set(lookup="file gecos")
    r = world.cli("lookup", user)
    assert r.returncode == 1, r
    assert user in r.stderr
    assert "phone=+" not in r.stdout


def test_lookup_config_error(world):
    world.conf_mode = 0o644
    world.write_conf()
    r = world.cli("lookup", "alice")
    assert r.returncode == 1 and "configuration error" in r.stderr, r


# ---------------------------------------------------------------------------
# test USER (against the simulator)
# ---------------------------------------------------------------------------

def _finish(child):
    child.expect(pexpect.EOF)
    out = child.before
    child.close()
    return child.exitstatus, out.replace("\r\n", "\n")


def test_test_success(sim_world, sim):
    child = sim_world.spawn_cli("test", "alice")
    child.expect(PROMPT_RE)
    assert child.after == "Verification code sent to +86 *******8000: "
    msgs = sim.outbox()
    assert [m["to"] for m in msgs] == ["+86 13800138000"]
    child.sendline(msgs[-1]["code"])
    rc, out = _finish(child)
    assert rc == 0, out
    assert "result: success" in out, out
    assert "outcome=success" in out
    assert msgs[-1]["code"] not in out
    assert sim.requests("verify") == 1


def test_test_maxtries(sim_world, sim):
    child = sim_world.spawn_cli("test", "alice")
    for left in (2, 1, None):
        child.expect(PROMPT_RE)
        child.sendline(wrong(sim.latest_code()))
        if left:
            child.expect("Incorrect code, %d tr" % left)
    rc, out = _finish(child)
    assert rc == 1, out
    assert "result: maxtries" in out, out
    assert sim.requests("verify") == 3


@pytest.mark.parametrize("echo_code", ["yes", "no"])
def test_test_echo(sim_world, sim, echo_code):
    """echo_code=no: the CLI turns the terminal's echo off for the code."""
    sim_world.set(echo_code=echo_code)
    child = sim_world.spawn_cli("test", "alice", echo=True)
    child.expect(PROMPT_RE)
    code = sim.latest_code()
    child.sendline(code)
    rc, out = _finish(child)
    assert rc == 0 and "result: success" in out, out
    assert (code in out) == (echo_code == "yes"), out


def test_test_unknown_user(sim_world, sim):
    child = sim_world.spawn_cli("test", "ghost")
    rc, out = _finish(child)
    assert rc == 1, out
    assert "result: denied" in out, out
    assert sim.outbox() == []


# ---------------------------------------------------------------------------
# status / unlock
# ---------------------------------------------------------------------------

def test_status_empty(world):
    r = world.cli("status", "alice")
    assert r.returncode == 0, r
    assert r.stdout.startswith("alice: not locked, 0 recent failure(s)"), r
    r = world.cli("status")
    assert r.returncode == 0, r
    assert "no state recorded" in r.stdout


def test_lockout_status_unlock(sim_world, sim):
    w = sim_world
    w.set(lockout_failures="2")
    # two wrong codes through `test`: the second locks alice out
    child = w.spawn_cli("test", "alice")
    for _ in range(2):
        child.expect(PROMPT_RE)
        child.sendline(wrong(sim.latest_code()))
    rc, out = _finish(child)
    assert rc == 1 and "result: locked" in out, out

    r = w.cli("status", "alice")
    assert r.returncode == 0, r
    # the failures that caused the lock (issue 19 item 3: it said 0)
    assert re.match(r"alice: LOCKED, 2 recent failure\(s\), unlocks in \d+ s",
                    r.stdout), r
    # the module sees the same state
    res = w.pam("alice")
    assert res.pam_message == PAM_MESSAGES["PAM_PERM_DENIED"], res
    assert res.record["outcome"] == "locked"
    # without USER: every user with a record (file backend)
    w.cli("unlock", "bob")                  # gives bob an empty record
    r = w.cli("status")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0].startswith("alice: LOCKED"), r
    assert lines[1].startswith("bob: not locked"), r

    r = w.cli("unlock", "alice")
    assert r.returncode == 0 and r.stdout == "alice: unlocked\n", r
    r = w.cli("status", "alice")
    assert r.returncode == 0, r
    assert r.stdout.startswith("alice: not locked, 0 recent failure(s)"), r
    # and the module lets alice in again
    sim.clock(61)
    res = w.pam("alice", [lambda: sim.latest_code()], prompt=PROMPT_RE)
    assert res.pam_message == PAM_MESSAGES["PAM_SUCCESS"], res
    assert res.record["outcome"] == "success"


def _budget_record(w, sends):
    """alice's record with `sends` codes counted 100 s ago."""
    p = w.state_dir / "u-alice"
    p.write_text("pv-state 1\nsent %d %d\nend\n" % (int(time.time()) - 100,
                                                     sends))
    os.chmod(p, 0o600)


SPENT = "Too many codes requested for this account; try again in"


def test_status_shows_send_budget_and_unlock_clears_it(sim_world, sim):
    """Issue 19 item 2: after a few codes `su` said "try again in 54
    minutes" while status said nothing of it and unlock kept it.  status
    shows the codes counted in send_window and when the budget frees up;
    unlock clears it (the module then sends again)."""
    w = sim_world
    w.set(send_limit="2", send_window="3600")
    _budget_record(w, 1)
    r = w.cli("status", "alice")
    assert r.returncode == 0, r
    assert "1 of 2 code(s) sent in the last 3600 s" in r.stdout, r
    assert "limit reached" not in r.stdout, r
    _budget_record(w, 2)
    r = w.cli("status", "alice")
    m = re.search(r"2 of 2 code\(s\) sent in the last 3600 s: send limit "
                  r"reached, the next in (\d+) s", r.stdout)
    assert m and 3495 <= int(m.group(1)) <= 3500, r
    res = w.pam("alice")
    assert res.pam_message == PAM_MESSAGES["PAM_AUTH_ERR"], res
    assert SPENT in res.transcript, res
    r = w.cli("unlock", "alice")
    assert r.returncode == 0 and r.stdout == "alice: unlocked\n", r
    r = w.cli("status", "alice")
    assert "0 of 2 code(s) sent in the last 3600 s" in r.stdout, r
    res = w.pam("alice", [lambda: sim.latest_code()], prompt=PROMPT_RE)
    assert res.pam_message == PAM_MESSAGES["PAM_SUCCESS"], res


def test_status_lists_escaped_names(world):
    """Names outside [A-Za-z0-9_-] are stored %XX-escaped: listed as
    they are."""
    world.add_passwd("j.doe", 2001, "J Doe")
    world.add_passwd("x y", 2002, "X Y")
    for u in ("j.doe", "x y"):
        assert world.cli("unlock", u).returncode == 0
    r = world.cli("status")
    assert r.returncode == 0, r
    assert [l.split(":")[0] for l in r.stdout.splitlines()] == ["j.doe", "x y"]


def test_status_unlock_config_error(world):
    world.conf_mode = 0o604
    world.write_conf()
    for args in (["status", "alice"], ["status"], ["unlock", "alice"]):
        r = world.cli(*args)
        assert r.returncode == 1 and "configuration error" in r.stderr, r


def _record_names(world):
    return sorted(os.listdir(world.state_dir))


def test_status_lists_every_user_past_bad_records(world):
    """A FIFO, a symlink or a corrupt file in state_dir is reported in its
    place; every other user is still listed (the FIFO must not hang)."""
    for u in ("alice", "erin"):
        assert world.cli("unlock", u).returncode == 0
    os.mkfifo(world.state_dir / "u-bob", 0o600)
    os.symlink("/etc/passwd", world.state_dir / "u-carol")
    (world.state_dir / "u-dave").write_text("\x00garbage{{{")
    os.chmod(world.state_dir / "u-dave", 0o600)
    r = world.cli("status", timeout=10)
    assert r.returncode == 1, r
    lines = r.stdout.splitlines()
    assert [l.split(":")[0] for l in lines] == \
        ["alice", "bob", "carol", "dave", "erin"], r
    assert lines[0].startswith("alice: not locked"), r
    assert lines[1].startswith("bob: ERROR: ") and "regular file" in \
        lines[1], r
    assert lines[2].startswith("carol: ERROR: ") and "symlink" in lines[2], r
    assert lines[3].startswith("dave: not locked"), r      # read as empty
    assert "corrupt" in r.stderr, r
    assert lines[4].startswith("erin: not locked"), r
    assert "2 record(s) could not be read" in r.stderr, r
    # one user: the error, on stderr
    r = world.cli("status", "bob", timeout=10)
    assert r.returncode == 1 and r.stdout == "" and "bob" in r.stderr, r


@pytest.mark.parametrize("user", ["ghost", "mallory", "al ice", "../alice"])
def test_unlock_refuses_names_that_are_not_users(world, user):
    """mallory is in the users file but not in passwd, ghost nowhere."""
    r = world.cli("unlock", "--", user)
    assert r.returncode == 1, r
    assert r.stdout == "" and "no such user" in r.stderr, r
    assert _record_names(world) == []


def test_unlock_known_user_keeps_working(world):
    r = world.cli("unlock", "alice")
    assert r.returncode == 0 and r.stdout == "alice: unlocked\n", r
    assert _record_names(world) == ["u-alice", "u-alice.lock"]


C1_RAW = b"\x9b"
C1_UTF8 = b"\xc2\x9b"


def _no_controls(out):
    """No C0 (but newline) and no C1 control, raw or UTF-8 encoded."""
    assert not re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", out), out
    assert C1_RAW not in out.replace(C1_UTF8, b""), out
    assert C1_UTF8 not in out, out


def test_lookup_escapes_outside_text(world):
    """Names and e-mail from the users file, names from GECOS: a CSI (raw
    or UTF-8) or an ESC is shown as \\xHH text, other UTF-8 is kept."""
    world.users_path.write_bytes(
        b"bob:+8613900139000:Bob\xc2\x9b2J \xe5\xbc\xa0\x9b" b"31m"
        b":b\xc2\x9b@example.org\n")
    world.add_passwd("frank", 2003,
                     b"Fr\x9bank\xc2\x9b,,,,+8613700137000")
    world.set(lookup="file gecos", gecos_field="5")
    r = world.cli_bytes("lookup", "bob")
    assert r.returncode == 0, r
    _no_controls(r.stdout + r.stderr)
    assert b"name=Bob\\xc2\\x9b2J \xe5\xbc\xa0\\x9b31m" in r.stdout, r
    r = world.cli_bytes("lookup", "frank")
    assert r.returncode == 0, r
    _no_controls(r.stdout + r.stderr)
    assert b"name=Fr\\x9bank\\xc2\\x9b" in r.stdout, r


def test_status_escapes_record_names(world):
    """A record whose (decoded) name holds a C1 control, e.g. planted in
    state_dir or left by a login with a hostile name."""
    assert world.cli("unlock", "alice").returncode == 0
    src = world.state_dir / "u-alice"
    for name in ("u-x%C2%9By", "u-z%9B"):
        dst = world.state_dir / name
        dst.write_bytes(src.read_bytes())
        os.chmod(dst, 0o600)
    r = world.cli_bytes("status")
    assert r.returncode == 0, r
    _no_controls(r.stdout + r.stderr)
    lines = r.stdout.splitlines()
    assert lines[1].startswith(b"x\\xc2\\x9by: not locked"), r
    assert lines[2].startswith(b"z\\x9b: not locked"), r


def test_enroll_escapes_names_it_prints(world):
    r = world.cli_bytes("enroll", b"bob\xc2\x9b", "+8613900139000")
    _no_controls(r.stdout + r.stderr)
    r = world.cli_bytes("enroll", "bob", "+86139001390\x1b[2J")
    assert r.returncode == 1, r
    _no_controls(r.stdout + r.stderr)
    assert b"\\x1b[2J" in r.stderr, r


# ---------------------------------------------------------------------------
# enroll
# ---------------------------------------------------------------------------

def test_enroll_replaces_line_atomically(world):
    before = world.users_path.read_text().split("\n")
    ino = world.users_path.stat().st_ino
    entries = set(os.listdir(world.dir))
    r = world.cli("enroll", "alice", "+44 7700900123", "Alice New",
                  "alice@new.example")
    assert r.returncode == 0, r
    st = world.users_path.stat()
    assert st.st_ino != ino, "the file must be replaced (rename), not edited"
    assert stat.S_IMODE(st.st_mode) == 0o644
    assert set(os.listdir(world.dir)) == entries, "temporary file left"
    after = world.users_path.read_text().split("\n")
    expect = [("alice:+447700900123:Alice New:alice@new.example"
               if l.startswith("alice:") else l) for l in before]
    assert after == expect            # in place; other lines, comments kept
    r = world.cli("lookup", "alice")
    assert r.returncode == 0, r
    assert "phone=+44 ******0123" in r.stdout
    assert "name=Alice New" in r.stdout and "email=alice@new.example" in r.stdout


def test_enroll_new_user_appended(world):
    before = world.users_path.read_text()
    r = world.cli("enroll", "erin", "+86 13600136000", "Erin G")
    assert r.returncode == 0, r
    assert world.users_path.read_text() == before + "erin:+8613600136000:Erin G\n"
    r = world.cli("lookup", "erin")
    assert r.returncode == 0 and "phone=+86 *******6000" in r.stdout and \
        "name=Erin G" in r.stdout, r


def test_enroll_phone_only_and_duplicates(world):
    """Blanks around the user field (the lookup accepts them) and a second
    line of the same user: one line remains, where the first was."""
    world.write_users(["# x", " bob :+8613900139000", "erin:+8613600136000",
                       "bob:+8613900139001:Old"])
    r = world.cli("enroll", "bob", "+8613900139002")
    assert r.returncode == 0, r
    assert world.users_path.read_text() == \
        "# x\nbob:+8613900139002\nerin:+8613600136000\n"


def test_enroll_creates_missing_users_file(world):
    world.users_path.unlink()
    r = world.cli("enroll", "alice", "+8613800138000", "Alice")
    assert r.returncode == 0, r
    assert world.users_path.read_text() == "alice:+8613800138000:Alice\n"
    assert stat.S_IMODE(world.users_path.stat().st_mode) == 0o644
    # a refused enroll leaves no file behind
    world.users_path.unlink()
    r = world.cli("enroll", "alice", "12345")
    assert r.returncode == 1, r
    assert not world.users_path.exists()


def test_enroll_unknown_user_warns(world):
    r = world.cli("enroll", "ghost", "+8613800138000")
    assert r.returncode == 0, r
    assert "warning" in r.stderr and "ghost" in r.stderr


def test_enroll_keeps_owner_and_mode(world):
    """0640 root:nogroup stays 0640 root:nogroup (not 0644 root:root,
    which would expose every phone and e-mail)."""
    gid = 65534 if os.geteuid() == 0 else os.getegid()
    os.chown(world.users_path, os.geteuid(), gid)
    os.chmod(world.users_path, 0o640)
    r = world.cli("enroll", "alice", "+8613800138001")
    assert r.returncode == 0, r
    st = world.users_path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (os.geteuid(), gid)
    assert "alice:+8613800138001" in world.users_path.read_text()


def test_enroll_40_in_parallel_leaves_40_lines(world):
    """Concurrent enrolls are serialised by the lock: none is lost (the
    report saw 4 of 40 survive), owner and mode kept, no temporary file
    left."""
    gid = 65534 if os.geteuid() == 0 else os.getegid()
    os.chown(world.users_path, os.geteuid(), gid)
    os.chmod(world.users_path, 0o640)
    before = world.users_path.read_text().splitlines()
    entries = set(os.listdir(world.dir))
    procs = [subprocess.Popen(
        [str(world.cli_bin), "--conf", str(world.conf_path), "enroll",
         "user%02d" % i, "+86138%08d" % i], env=world.env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(40)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    lines = world.users_path.read_text().splitlines()
    assert lines[:len(before)] == before
    added = sorted(lines[len(before):])
    assert added == ["user%02d:+86138%08d" % (i, i) for i in range(40)]
    st = world.users_path.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (os.geteuid(), gid)
    assert set(os.listdir(world.dir)) == entries


@pytest.mark.parametrize("args,rc", [
    (["alice", "12345"], 1),
    (["alice", "+86 1380013800x"], 1),
    (["alice", "+0 123456"], 1),
    (["alice", ""], 1),
    (["alice", "+8613800138000", "Alice:Admin"], 1),
    (["alice", "+8613800138000", "Alice\nroot:+1"], 1),
    (["alice", "+8613800138000", "Alice", "not-an-email"], 1),
    (["alice", "+8613800138000", "Alice", "a:b@example.org"], 1),
    (["a/b", "+8613800138000"], 1),
    (["../alice", "+8613800138000"], 1),
    (["--", "-alice", "+8613800138000"], 1),
    (["-alice", "+8613800138000"], 2),
    (["#alice", "+8613800138000"], 1),
    (["al:ice", "+8613800138000"], 1),
    (["al ice", "+8613800138000"], 1),
    (["", "+8613800138000"], 1),
], ids=["phone-digits", "phone-letter", "phone-cc0", "phone-empty",
        "name-colon", "name-newline", "email", "email-colon", "user-slash",
        "user-dotdot", "user-dash", "user-dash-no-separator", "user-hash",
        "user-colon", "user-blank", "user-empty"])
def test_enroll_refused(world, args, rc):
    text = world.users_path.read_text()
    before = snapshot_dir(world.dir)
    r = world.cli("enroll", *args)
    assert r.returncode == rc, r
    assert r.stdout == ""
    assert world.users_path.read_text() == text
    assert snapshot_dir(world.dir) == before


def test_enroll_refuses_unsafe_users_file(world):
    os.chmod(world.users_path, 0o666)
    text = world.users_path.read_text()
    r = world.cli("enroll", "alice", "+8613800138000")
    assert r.returncode == 1, r
    assert world.users_path.read_text() == text


# ---------------------------------------------------------------------------
# breakglass
# ---------------------------------------------------------------------------

def _codes(stdout):
    return ["%s%s" % m for m in CODE_LINE_RE.findall(stdout)]


def _bg_world(world):
    bg = world.dir / "breakglass"
    world.set(breakglass_file=str(bg))
    return bg


def test_breakglass_issue(world):
    bg = _bg_world(world)
    assert not bg.exists()
    r = world.cli("breakglass", "alice", "3")
    assert r.returncode == 0, r
    codes = _codes(r.stdout)
    assert len(codes) == 3 and len(set(codes)) == 3, r.stdout
    assert all(len(c) == 10 for c in codes)
    assert stat.S_IMODE(bg.stat().st_mode) == 0o600
    lines = bg.read_text().splitlines()
    assert len(lines) == 3
    for line in lines:
        user, h = line.split(":", 1)
        assert user == "alice" and h.startswith("$y$"), line
    text = bg.read_text()
    for c in codes:
        assert c not in text and "%s-%s" % (c[:5], c[5:]) not in text
    # default N is 5, appended to the existing ones
    r = world.cli("breakglass", "bob")
    assert r.returncode == 0, r
    assert len(_codes(r.stdout)) == 5
    assert [l.split(":")[0] for l in bg.read_text().splitlines()] == \
        ["alice"] * 3 + ["bob"] * 5


@pytest.mark.parametrize("user", ["ghost", "a:b", "../x", "-x"])
def test_breakglass_refused_users(world, user):
    bg = _bg_world(world)
    r = world.cli("breakglass", "--", user, "2")
    assert r.returncode == 1, r
    assert _codes(r.stdout) == []
    assert not bg.exists()


def test_breakglass_not_configured(world):
    r = world.cli("breakglass", "alice", "2")
    assert r.returncode == 1, r
    assert "breakglass_file" in r.stderr and _codes(r.stdout) == []


def test_breakglass_refuses_unsafe_file(world):
    bg = _bg_world(world)
    bg.write_text("")
    os.chmod(bg, 0o644)                 # readable by others
    r = world.cli("breakglass", "alice", "2")
    assert r.returncode == 1, r
    assert _codes(r.stdout) == [] and bg.read_text() == ""


def test_check_config_reports_weak_breakglass_hashes(world):
    """Only yescrypt/scrypt codes can match: check-config names every
    other line with file and line (the module silently never matches
    them)."""
    bg = _bg_world(world)
    r = world.cli("breakglass", "alice", "1")
    assert r.returncode == 0, r
    r = world.cli("check-config")
    assert r.returncode == 0, r
    with open(bg, "a") as f:
        f.write("bob:ab1iBa.N.U2C6\n")                   # DES of 12345678
        f.write("bob:$1$saltsalt$lBz0wTABKoZxHLDgjuMrF/\n")
        f.write("bob:$6$saltsalt$x\n")
    r = world.cli("check-config")
    assert r.returncode == 1, r
    assert "%s:2: DES hash refused" % bg in r.stderr, r
    assert "%s:3: MD5-crypt hash refused" % bg in r.stderr, r
    assert "%s:4: SHA-512-crypt hash refused" % bg in r.stderr, r
    assert ":1:" not in r.stderr and "configuration OK" not in r.stderr, r


def test_breakglass_weak_hash_never_logs_in(world):
    """A DES hash of 12345678 matched the 10-digit 1234567890 before."""
    bg = _bg_world(world)
    world.set(failmode="secure")
    bg.write_text("alice:ab1iBa.N.U2C6\n")
    os.chmod(bg, 0o600)
    res = world.pam("alice", ["12345-67890"],
                    prompt=re.escape(BREAKGLASS_PROMPT))
    assert res.pam_message == PAM_MESSAGES["PAM_AUTHINFO_UNAVAIL"], res
    assert bg.read_text() == "alice:ab1iBa.N.U2C6\n"


def test_breakglass_refuses_fifo(world):
    """A FIFO planted as breakglass_file fails at once, never hangs."""
    bg = _bg_world(world)
    os.mkfifo(bg, 0o600)
    r = world.cli("breakglass", "alice", "2", timeout=10)
    assert r.returncode == 1, r
    assert _codes(r.stdout) == []


def _waits_on(pid, ino, timeout=10):
    """Wait until process pid holds inode ino open while we hold its lock:
    the edit lock (pv_edit_lock) opens the file and then polls flock with
    a deadline, so the waiter does not show in /proc/locks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except FileNotFoundError:
            return False
        for name in fds:
            try:
                if os.stat("/proc/%d/fd/%s" % (pid, name)).st_ino == ino:
                    return True
            except OSError:
                pass
        time.sleep(0.02)
    return False


def test_breakglass_issue_follows_replaced_file(world):
    """A login consuming a code replaces the file (rename) under the lock;
    codes issued meanwhile must land in the new file, not the old inode."""
    bg = _bg_world(world)
    r = world.cli("breakglass", "bob", "1")
    assert r.returncode == 0, r
    fd = os.open(bg, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        proc = subprocess.Popen([str(world.cli_bin), "--conf",
                                 str(world.conf_path), "breakglass", "alice",
                                 "2"], env=world.env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert _waits_on(proc.pid, os.fstat(fd).st_ino), "the CLI never waited"
        tmp = world.dir / "breakglass.new"
        tmp.write_text(bg.read_text())
        os.chmod(tmp, 0o600)
        os.rename(tmp, bg)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert [l.split(":")[0] for l in bg.read_text().splitlines()] == \
        ["bob", "alice", "alice"]


def test_breakglass_login_through_module(world):
    """Provider down (closed port), failmode=secure: the module asks for
    an emergency code, accepts one issued by the CLI once, then never
    again."""
    bg = _bg_world(world)
    world.set(failmode="secure")
    r = world.cli("breakglass", "alice", "2")
    assert r.returncode == 0, r
    printed = CODE_LINE_RE.findall(r.stdout)
    first = "%s-%s" % printed[0]            # typed as printed
    second = "%s%s" % printed[1]

    res = world.pam("alice", [first], prompt=re.escape(BREAKGLASS_PROMPT))
    assert res.rc == 0 and res.pam_message == PAM_MESSAGES["PAM_SUCCESS"], res
    rec = res.record
    assert rec["outcome"] == "breakglass" and rec["pam"] == "PAM_SUCCESS", res
    assert rec["_prio"] == 4, "break-glass use is logged at LOG_WARNING"
    assert len(bg.read_text().splitlines()) == 1
    assert stat.S_IMODE(bg.stat().st_mode) == 0o600

    res = world.pam("alice", [first], prompt=re.escape(BREAKGLASS_PROMPT))
    assert res.rc == 1 and \
        res.pam_message == PAM_MESSAGES["PAM_AUTHINFO_UNAVAIL"], res
    assert res.record["outcome"] == "unavailable"
    # another user cannot use alice's code
    res = world.pam("bob", [second], prompt=re.escape(BREAKGLASS_PROMPT))
    assert res.pam_message == PAM_MESSAGES["PAM_AUTHINFO_UNAVAIL"], res
    # alice's second code still works
    res = world.pam("alice", [second], prompt=re.escape(BREAKGLASS_PROMPT))
    assert res.pam_message == PAM_MESSAGES["PAM_SUCCESS"], res
    assert bg.read_text() == ""


# ---------------------------------------------------------------------------
# make install
# ---------------------------------------------------------------------------

def test_installed_cli_runs(world, tmp_path):
    dest = tmp_path / "root"
    subprocess.run(["make", "-s", "-C", str(REPO), "BUILD=%s" % BUILD,
                    "install", "DESTDIR=%s" % dest], check=True,
                   capture_output=True, timeout=120)
    cli = dest / "usr" / "sbin" / "phoneverify"
    assert cli.exists()
    r = world.cli("--help", conf=False, binary=cli)
    assert r.returncode == 0 and r.stdout.startswith("usage: phoneverify"), r
    assert "/etc/security/pam_phoneverify.conf" in r.stdout
    r = world.cli("check-config", binary=cli)
    assert r.returncode == 0, r


def test_breakglass_file_not_yet_issued_is_no_error(world):
    """breakglass_file named but absent: no emergency codes yet, logins go
    on as usual (the module must not refuse every login over it)."""
    world.set(breakglass_file=str(world.dir / "breakglass-not-yet"))
    r = world.cli("check-config")
    assert r.returncode == 0, r
    world.set(breakglass_file=str(world.users_path))   # exists, 0644
    r = world.cli("check-config")
    assert r.returncode == 1, r
    assert "breakglass_file" in r.stderr
