"""The Debian package libpam-phoneverify, installed on this machine.

Root only (skipped otherwise).  The tests share one module-scoped `machine`
fixture and run in file order: install, file list, pam-auth-update, a login
through the installed module, reinstall and upgrade over an edited conffile,
remove with the profile enabled and a hand-edited service (the prerm names
it), purge (nothing the package or its CLI wrote stays, no dpkg warning).  Whatever happens, the fixture's
`finally` purges the package and puts back what it changed (README.md).

    PV_DEB=/abs/libpam-phoneverify_X_amd64.deb python3 -m pytest -q tests/package

Without PV_DEB the .deb is built first (`make deb` into a temporary dir).
"""

import grp
import hashlib
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest


from pvsim import Sim, SimServer, wrong_code  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PKG = "libpam-phoneverify"
PROFILE = "phoneverify"
SERVICE = "pv-package-test"            # private PAM service, /etc/pam.d/
PAMD = Path("/etc/pam.d")
COMMON = [PAMD / n for n in ("common-auth", "common-account", "common-password",
                             "common-session", "common-session-noninteractive")]
PAM_STATE = Path("/var/lib/pam")        # pam-auth-update's memory
CONFFILE = Path("/etc/security/pam_phoneverify.conf")
STATEDIR = Path("/var/lib/pam_phoneverify")
SYSUSER = "_phoneverify"
USERS = Path("/etc/security/phoneverify.users")          # postinst, enroll
BREAKGLASS = Path("/etc/security/phoneverify.breakglass")  # the conf's example
LOOKUPUSER = "_phoneverify-lookup"

USER = "nobody"                         # exists on every Debian system
PHONE = "+86 13800138077"
PROMPT = "Verification code sent to +86 *******8077: "
SEND_AUTH = "bearer:sim-send-token"
VERIFY_AUTH = "basic:sim-user:sim-secret"
EDIT_MARK = "# edited by tests/package: this line must survive upgrades\n"

BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C", "LC_ALL": "C", "TERM": "dumb", "HOME": "/root",
            "DEBIAN_FRONTEND": "noninteractive"}


def _multiarch():
    """The multiarch triplet ('' when dpkg-dev is missing: the fixture then
    fails with a message)."""
    try:
        return subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"],
                              capture_output=True, text=True,
                              env=BASE_ENV).stdout.strip()
    except FileNotFoundError:
        return ""


MA = _multiarch()
# where Debian 12's libpam-modules has pam_unix.so (`dpkg -L libpam-modules`)
MODULE = "/lib/%s/security/pam_phoneverify.so" % MA
HELPER = "/usr/libexec/pam_phoneverify/phoneverify-http"
CLI = "/usr/sbin/phoneverify"
DOC = "/usr/share/doc/%s" % PKG

# Every file the package ships, with its mode (all owned by root:root).
FILES = {
    MODULE: 0o644,
    HELPER: 0o711,            # execute-only (doc/security.md)
    CLI: 0o755,
    str(CONFFILE): 0o600,
    "/usr/share/pam-configs/phoneverify": 0o644,
    "/usr/share/man/man1/phoneverify.1.gz": 0o644,
    "/usr/share/man/man5/pam_phoneverify.conf.5.gz": 0o644,
    "/usr/share/man/man8/pam_phoneverify.8.gz": 0o644,
    DOC + "/README.md.gz": 0o644,
    DOC + "/changelog.gz": 0o644,
    DOC + "/copyright": 0o644,
    "/usr/share/lintian/overrides/" + PKG: 0o644,
}
FILES.update({"%s/examples/%s" % (DOC, f.name): 0o644
              for f in (REPO / "conf").iterdir() if f.is_file()})


def _doc_name(f):
    """dh_compress compresses documentation larger than 4 KiB."""
    return "%s/doc/%s%s" % (DOC, f.name, ".gz" if f.stat().st_size > 4096 else "")


# README.md links doc/*.md: shipped with the same layout
FILES.update({_doc_name(f): 0o644 for f in (REPO / "doc").glob("*.md")})
# message catalogues (mk/install.mk installs them once they exist)
CATALOGUE_RE = re.compile(r"^/usr/share/locale/[A-Za-z_@.]+/LC_MESSAGES/[^/]+\.mo$")


# ---------------------------------------------------------------------------
# Running things
# ---------------------------------------------------------------------------

def run(argv, check=True, timeout=300, **kw):
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, env=BASE_ENV, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(map(str, argv)),
                                                        p.returncode, p.stdout, p.stderr))
    return p


def dpkg(*args, check=True):
    """dpkg, waiting (up to 120 s) while apt or another dpkg holds its lock."""
    deadline = time.monotonic() + 120
    while True:
        p = run(["dpkg"] + list(args), check=False)
        locked = "lock" in p.stderr and ("held by" in p.stderr or
                                         "locked" in p.stderr)
        if not locked or time.monotonic() > deadline:
            break
        time.sleep(2)
    if check and p.returncode != 0:
        raise AssertionError("dpkg %s failed (%d):\n%s%s" % (" ".join(args), p.returncode,
                                                             p.stdout, p.stderr))
    return p


def pkg_status():
    """dpkg's status of the package: '' when dpkg never heard of it,
    'not-installed', 'config-files', 'installed', ..."""
    p = run(["dpkg-query", "-W", "-f=${db:Status-Status}", PKG], check=False)
    return p.stdout.strip() if p.returncode == 0 else ""


def pam_auth_update(*args):
    return run(["pam-auth-update"] + list(args))


def read_bytes(paths):
    return {p: (p.read_bytes() if p.exists() else None) for p in paths}


def pam_snapshot():
    """Bytes of the common-* stacks and of pam-auth-update's state files."""
    files = list(COMMON)
    if PAM_STATE.is_dir():
        files += sorted(p for p in PAM_STATE.iterdir() if p.is_file())
    return read_bytes(files)


def names_module(path):
    return path.exists() and "pam_phoneverify" in path.read_text()


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name):
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def deb_paths(deb):
    """(files, dirs) the .deb contains, as absolute paths."""
    out = run(["dpkg-deb", "-c", deb]).stdout
    files, dirs = [], []
    for line in out.splitlines():
        name = line.split(None, 5)[5].split(" -> ")[0]
        path = "/" + name[2:].rstrip("/") if name.startswith("./") else name
        if path == "/":
            continue
        (dirs if line.startswith("d") else files).append(path)
    return files, dirs


# ---------------------------------------------------------------------------
# The machine: preconditions, the snapshot, and putting it back
# ---------------------------------------------------------------------------

class Machine:
    pass


def _die_with_parent():
    """preexec_fn: the simulator gets SIGTERM if pytest dies."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt("SIGTERM")


def _build_deb(tmp):
    out = tmp / "deb"
    p = subprocess.run(["make", "-C", str(REPO), "deb", "DEB_DIR=%s" % out],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=900)
    if p.returncode != 0:
        pytest.fail("make deb failed:\n%s%s" % (p.stdout[-4000:], p.stderr[-4000:]))
    debs = sorted(out.glob("%s_*.deb" % PKG))
    assert len(debs) == 1, debs
    return debs[0]


def _make_upgrade(deb, tmp):
    """The same package as version X+pvtest1, whose shipped conffile differs
    (one line added): dpkg then has to decide between the administrator's
    edit and the packaged change."""
    root = tmp / "upgrade"
    run(["dpkg-deb", "-R", deb, root])
    conf = root / CONFFILE.relative_to("/")
    conf.write_text(conf.read_text() + "# a setting added by the upgrade\n")
    control = root / "DEBIAN" / "control"
    text = control.read_text()
    version = re.search(r"^Version: (\S+)$", text, re.M).group(1)
    control.write_text(text.replace("Version: %s\n" % version,
                                    "Version: %s+pvtest1\n" % version))
    md5 = root / "DEBIAN" / "md5sums"
    rel = str(CONFFILE.relative_to("/"))
    digest = hashlib.md5(conf.read_bytes()).hexdigest()
    md5.write_text("".join(("%s  %s\n" % (digest, rel)) if line.endswith("  " + rel)
                           else line + "\n" for line in md5.read_text().splitlines()))
    new = tmp / ("%s_%s+pvtest1.deb" % (PKG, version))
    run(["dpkg-deb", "--root-owner-group", "-b", root, new])
    return new


def _refuse_if_touched(deb_files):
    """Stop (skip, touching nothing) when the package or files it would
    overwrite are already on this machine."""
    status = pkg_status()
    if status not in ("", "not-installed"):
        pytest.skip("%s is already on this machine (dpkg status %r): the package "
                    "test installs and purges it, so it leaves it alone; run "
                    "`dpkg --purge %s` first to run it" % (PKG, status, PKG))
    present = [f for f in deb_files + [str(STATEDIR), str(PAMD / SERVICE),
                                       str(USERS), str(BREAKGLASS)]
               if os.path.lexists(f)]
    if present:
        pytest.skip("files the package test would install or remove already exist "
                    "(`make install`?): %s; remove them first to run it"
                    % ", ".join(present))
    common = [p for p in COMMON if names_module(p)]
    if common:
        pytest.skip("%s already name pam_phoneverify: leaving PAM alone"
                    % ", ".join(map(str, common)))


def _remove_sysuser(problems, name=SYSUSER):
    """userdel/groupdel the user, retried while another process (a
    concurrent useradd) holds the lock on /etc/passwd."""
    for argv, exists in ((["userdel", name], lambda: user_exists(name)),
                         (["groupdel", name], lambda: group_exists(name))):
        deadline = time.monotonic() + 30
        while exists():
            p = run(argv, check=False)
            if p.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        if exists():
            problems.append("FAILED: %s: %s" % (" ".join(argv), p.stderr.strip()))


def _restore(m):
    """Put back what the tests changed; returns a list of problems."""
    problems = []
    (PAMD / SERVICE).unlink(missing_ok=True)
    if pkg_status() not in ("", "not-installed"):
        p = dpkg("--purge", PKG, check=False)
        if p.returncode != 0:
            problems.append("FAILED: dpkg --purge: %s%s" % (p.stdout, p.stderr))
    for path, data in m.pam_before.items():
        now = path.read_bytes() if path.exists() else None
        if now != data:
            problems.append("restored %s" % path)
            if data is None:
                path.unlink()
            else:
                tmp = path.with_name(path.name + ".pvtest")
                tmp.write_bytes(data)
                os.chmod(tmp, 0o644)
                os.replace(tmp, path)
    if not m.sysuser_before:
        _remove_sysuser(problems)
    if not m.lookupuser_before:
        _remove_sysuser(problems, LOOKUPUSER)
    if STATEDIR.exists():
        shutil.rmtree(STATEDIR, ignore_errors=True)
        problems.append("removed %s" % STATEDIR)
    for left in [USERS, BREAKGLASS] + list(USERS.parent.glob(USERS.name + ".tmp*")):
        if os.path.lexists(left):      # absent before (_refuse_if_touched)
            left.unlink()
            problems.append("removed %s" % left)
    return problems


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("tests/package installs the package with dpkg: root only "
                    "(CI runs it as root)")
    for tool in ("dpkg", "dpkg-deb", "dpkg-architecture", "pam-auth-update",
                 "pamtester", "adduser"):
        if shutil.which(tool, path=BASE_ENV["PATH"]) is None:
            pytest.fail("%s missing (scripts/install-deps)" % tool)
    tmp = tmp_path_factory.mktemp("pv-package")
    os.chmod(tmp, 0o700)
    m = Machine()
    m.tmp = tmp
    m.deb = Path(os.environ["PV_DEB"]) if os.environ.get("PV_DEB") else _build_deb(tmp)
    assert m.deb.is_file(), m.deb
    m.deb_files, m.deb_dirs = deb_paths(m.deb)
    _refuse_if_touched(m.deb_files)
    m.dirs_before = {d for d in m.deb_dirs if os.path.isdir(d)}
    m.pam_before = pam_snapshot()
    m.sysuser_before = user_exists(SYSUSER)
    m.lookupuser_before = user_exists(LOOKUPUSER)
    m.upgrade = _make_upgrade(m.deb, tmp)
    m.sim = None
    # a CI timeout (SIGTERM) still runs the cleanup below
    previous = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        yield m
    finally:
        if m.sim is not None:
            m.sim.stop()
        problems = _restore(m)
        signal.signal(signal.SIGTERM, previous)
        print("package test cleanup: %s" % ("; ".join(problems) or "nothing left over"))
        failed = [p for p in problems if p.startswith("FAILED")]
        assert not failed, "could not restore the machine: %s" % "; ".join(failed)


# ---------------------------------------------------------------------------
# The tests, in order
# ---------------------------------------------------------------------------

def test_install_leaves_pam_alone(machine):
    p = dpkg("-i", machine.deb)
    assert pkg_status() == "installed"
    out = p.stdout + p.stderr
    assert 'PAM profile "phoneverify" is NOT enabled' in out, out
    assert "pam-auth-update --enable phoneverify" in out, out
    assert pam_snapshot() == machine.pam_before, \
        "installing changed /etc/pam.d/common-* or /var/lib/pam"


def test_files_owners_modes(machine):
    listed = run(["dpkg", "-L", PKG]).stdout.split()
    files = sorted(f for f in listed if not os.path.isdir(f))
    extra = [f for f in files if f not in FILES and not CATALOGUE_RE.match(f)]
    missing = [f for f in FILES if f not in files]
    assert not extra and not missing, "unexpected %r, missing %r" % (extra, missing)
    if (REPO / "po" / "zh_CN.po").exists():
        assert any("/zh_CN/LC_MESSAGES/" in f for f in files), files
    # the package's files and the directories it created
    for f in [f for f in listed if f not in machine.dirs_before and f != "/."]:
        st = os.lstat(f)
        assert (st.st_uid, st.st_gid) == (0, 0), "%s owned by %d:%d" % (f, st.st_uid,
                                                                       st.st_gid)
        want = 0o755 if stat.S_ISDIR(st.st_mode) else FILES.get(f, 0o644)
        assert stat.S_IMODE(st.st_mode) == want, "%s mode %o, want %o" % (
            f, stat.S_IMODE(st.st_mode), want)
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", PKG]).stdout.split()
    assert conffiles[0::2] == [str(CONFFILE)], conffiles
    # made by the postinst
    st = os.lstat(STATEDIR)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700
    assert (st.st_uid, st.st_gid) == (0, 0)
    pw = pwd.getpwnam(SYSUSER)
    assert 0 < pw.pw_uid < 1000, pw
    assert grp.getgrgid(pw.pw_gid).gr_name == SYSUSER, pw
    assert pw.pw_shell in ("/usr/sbin/nologin", "/bin/false"), pw
    assert not os.path.exists(pw.pw_dir), pw
    for exe in (MODULE, HELPER, CLI):
        ldd = run(["ldd", exe]).stdout
        assert "not found" not in ldd, "%s: %s" % (exe, ldd)


def test_fresh_install_passes_check_config(machine):
    """The postinst's empty users file (root 0644): check-config passes and
    says that nobody is enrolled yet."""
    st = os.lstat(USERS)
    assert stat.S_ISREG(st.st_mode) and st.st_size == 0, st
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o644), st
    p = run([CLI, "check-config"], check=False)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "no user enrolled yet (%s is empty)" % USERS in p.stderr, p.stderr
    assert p.stderr.rstrip().endswith("configuration OK"), p.stderr


def test_cli_writes_users_and_breakglass_files(machine):
    """What the purge test must find gone: an enrolled users file, the
    break-glass file at the example configuration's path, and a temporary
    file an interrupted edit left next to the users file."""
    run([CLI, "enroll", USER, PHONE, "Package Test"])
    assert USER + ":" in USERS.read_text()
    conf = machine.tmp / "breakglass.conf"
    _write_root_file(conf, CONFFILE.read_text() +
                     "breakglass_file = %s\n" % BREAKGLASS, 0o600)
    run([CLI, "--conf", conf, "breakglass", USER, "1"])
    assert BREAKGLASS.stat().st_size > 0
    _write_root_file(USERS.with_name(USERS.name + ".tmpAbC123"), "x\n", 0o644)
    p = run([CLI, "check-config"], check=False)
    assert p.returncode == 0 and "no user enrolled yet" not in p.stderr, p


def test_pam_auth_update_enable_disable_round_trip(machine):
    before = read_bytes(COMMON)
    try:
        pam_auth_update("--enable", PROFILE)
        auth = (PAMD / "common-auth").read_text()
        assert re.search(r"^auth\s+required\s+pam_phoneverify\.so\s*$", auth, re.M), auth
    finally:
        pam_auth_update("--disable", PROFILE)
    assert read_bytes(COMMON) == before, "--enable then --disable changed common-*"


def _configure(conffile_text, sim, users_file):
    """The shipped conffile, edited as an administrator would: the provider
    is the simulator, the users file a private one."""
    subst = {"send_url": sim.send_url, "send_auth": SEND_AUTH,
             "verify_url": sim.verify_url, "verify_auth": VERIFY_AUTH}
    text = conffile_text
    for key, value in subst.items():
        text, n = re.subn(r"^%s = .*$" % key, "%s = %s" % (key, value), text, flags=re.M)
        assert n == 1, "%s not set exactly once in the shipped %s" % (key, CONFFILE)
    return (EDIT_MARK + text + "users_file = %s\ntimeout = 5\nconnect_timeout = 2\n"
            % users_file)


def _write_root_file(path, text, mode):
    tmp = path.with_name(path.name + ".pvtest")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def test_login_through_installed_module(machine):
    import pexpect
    machine.sim = SimServer(args=["--host", "127.0.0.1", "--send-auth", SEND_AUTH,
                                  "--verify-auth", VERIFY_AUTH], env=BASE_ENV,
                            preexec_fn=_die_with_parent)
    sim = Sim(machine.sim, proxies={})
    users = machine.tmp / "phoneverify.users"
    _write_root_file(users, "%s:%s:Package Test\n" % (USER, PHONE), 0o644)
    machine.edited = _configure(CONFFILE.read_text(), machine.sim, users)
    _write_root_file(CONFFILE, machine.edited, 0o600)
    # the module by name from the multiarch directory, its configuration
    # and helper at their compiled-in defaults
    _write_root_file(PAMD / SERVICE, "auth required pam_phoneverify.so\n"
                     "account required pam_permit.so\n", 0o644)
    child = pexpect.spawn("pamtester", ["-v", SERVICE, USER, "authenticate"],
                          env=BASE_ENV, encoding="utf-8", timeout=30)
    try:
        child.expect_exact(PROMPT)
        msgs = sim.outbox()
        assert [(m["channel"], m["to"]) for m in msgs] == [("sms", PHONE)], msgs
        child.sendline(wrong_code(msgs[0]["code"]))
        child.expect_exact("Incorrect code, 2 tries left.")
        child.expect_exact(PROMPT)
        child.sendline(msgs[0]["code"])
        child.expect_exact("pamtester: successfully authenticated")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
        (PAMD / SERVICE).unlink(missing_ok=True)
    assert child.exitstatus == 0, child.before
    assert len(sim.outbox()) == 1


def test_reinstall_and_upgrade_keep_the_edited_conffile(machine):
    edited = CONFFILE.read_text()
    assert edited.startswith(EDIT_MARK), "the login test did not edit the conffile"
    dpkg("--force-confold", "-i", machine.deb)
    assert CONFFILE.read_text() == edited
    # an upgrade whose packaged conffile changed too, with the profile
    # enabled: the edit stays, the new version is put beside it, and the
    # upgrade does not take the profile out of the stack
    try:
        pam_auth_update("--enable", PROFILE)
        dpkg("--force-confold", "-i", machine.upgrade)
        assert names_module(PAMD / "common-auth"), "the upgrade disabled the profile"
    finally:
        pam_auth_update("--disable", PROFILE)
    assert pkg_status() == "installed"
    assert CONFFILE.read_text() == edited
    st = os.lstat(CONFFILE)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600)
    dist = Path(str(CONFFILE) + ".dpkg-dist")
    assert dist.read_text().endswith("# a setting added by the upgrade\n")


def test_remove_takes_the_profile_out_of_the_stack(machine):
    """With the profile enabled and a service edited by hand (as the README
    edits /etc/pam.d/sshd): the profile goes, and the prerm names the
    hand-edited file and says what will happen (logins through it fail)."""
    pam_auth_update("--enable", PROFILE)
    assert names_module(PAMD / "common-auth")
    service = PAMD / SERVICE
    _write_root_file(service, "# pam_phoneverify in a comment is not a rule\n"
                     "auth [success=done default=die] pam_phoneverify.so\n"
                     "auth optional /opt/pvtest/pam_phoneverify.so\n"
                     "auth required pam_permit.so\n", 0o644)
    try:
        p = dpkg("--remove", PKG)
    finally:
        text = service.read_text()
        service.unlink()
    assert "pam_phoneverify.so" in text, "the removal edited %s" % service
    out = p.stdout + p.stderr
    assert "%s:2:auth [success=done default=die] pam_phoneverify.so" % service \
        in out, out
    assert "%s:1:" % service not in out, out        # the comment line
    assert "%s:3:" % service not in out, out        # not our module's path
    assert "every login through these stacks fails" in out.lower(), out
    for common in COMMON:                             # the profile is out
        assert str(common) not in out, out
    assert pkg_status() == "config-files"
    assert read_bytes(COMMON) == {p: machine.pam_before[p] for p in COMMON}, \
        "removal left common-* different from before the test"
    assert not os.path.exists(MODULE)
    assert CONFFILE.read_text() == machine.edited     # kept until purge
    assert STATEDIR.is_dir()                          # state survives a remove


def test_purge_removes_everything(machine):
    assert USERS.exists() and BREAKGLASS.exists()    # kept by the remove
    p = dpkg("--purge", PKG)
    out = p.stdout + p.stderr
    assert "warning" not in out.lower(), out          # e.g. "not empty so not removed"
    assert pkg_status() in ("", "not-installed")
    left = [f for f in machine.deb_files if os.path.lexists(f)]
    left += [d for d in machine.deb_dirs
             if d not in machine.dirs_before and os.path.lexists(d)]
    left += [str(p) for p in (STATEDIR, Path(str(CONFFILE) + ".dpkg-dist"),
                              Path(str(CONFFILE) + ".dpkg-old"), USERS, BREAKGLASS)
             if os.path.lexists(p)]
    left += [str(p) for p in USERS.parent.glob("phoneverify.*")]
    left += [str(p) for p in Path("/var/lib/dpkg/info").glob(PKG + ".*")]
    assert not left, "left after purge: %r" % left
    assert pam_snapshot() == machine.pam_before, \
        "/etc/pam.d/common-* or /var/lib/pam differ from before the test"
    # kept on purge by design (debian/postrm); the fixture removes it
    assert user_exists(SYSUSER)
    assert user_exists(LOOKUPUSER)
