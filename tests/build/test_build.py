"""Build artefacts: exported symbols, make install, man pages."""
import os
import re
import shutil
import stat
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("PV_BUILD", os.path.join(ROOT, "build"))
MODULE = os.path.join(BUILD, "pam_phoneverify.so")


def test_only_pam_entry_points_exported():
    out = subprocess.run(["nm", "-D", "--defined-only", MODULE], check=True,
                         capture_output=True, text=True).stdout
    names = sorted(line.split()[-1] for line in out.splitlines()
                   if line.split() and line.split()[-2] in ("T", "W", "D", "B", "R"))
    assert names == ["pam_sm_authenticate", "pam_sm_setcred"]


def _needed(path):
    out = subprocess.run(["readelf", "-d", path], check=True,
                         capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^]]+)\]", out)


@pytest.mark.parametrize("name", ["pam_phoneverify.so", "phoneverify"])
def test_only_the_helper_links_libcurl(name):
    """The module runs inside sshd and sudo: libcurl and its tree (TLS,
    Kerberos, LDAP, ...) stay in the helper's process."""
    needed = _needed(os.path.join(BUILD, name))
    assert needed, "readelf found no NEEDED entries"
    assert not [n for n in needed if "curl" in n or "ssl" in n or
                "crypto" in n], needed
    assert any("curl" in n for n in _needed(os.path.join(BUILD, "phoneverify-http")))


def test_no_reserved_or_unprefixed_globals_in_library():
    """Every non-static symbol of the library carries the pv_ prefix."""
    lib = os.path.join(BUILD, "libpvcore.a")
    out = subprocess.run(["nm", "--defined-only", "-g", lib], check=True,
                         capture_output=True, text=True).stdout
    bad = [line.split()[-1] for line in out.splitlines()
           if len(line.split()) == 3 and not line.split()[-1].startswith("pv_")]
    assert bad == []


def _install(destdir):
    subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + BUILD, "install",
                    "DESTDIR=" + destdir], check=True, capture_output=True)


def _multiarch():
    return subprocess.run([os.environ.get("CC", "cc"), "-print-multiarch"],
                          capture_output=True, text=True).stdout.strip()


def test_make_install_destdir(tmp_path):
    dest = str(tmp_path / "root")
    _install(dest)
    # where Debian's libpam-modules has pam_unix.so: /lib/<multiarch>/security
    # (a module under /usr/lib/... leaves dpkg a directory it cannot remove)
    ma = _multiarch()
    want = ("lib/%s/security" % ma if ma and os.path.isdir("/lib/%s/security" % ma)
            else "lib/security")
    pamdirs = [d for d in ("usr/lib/%s/security" % ma, "lib/%s/security" % ma,
                           "lib/security")
               if os.path.exists(os.path.join(dest, d, "pam_phoneverify.so"))]
    assert pamdirs == [want], pamdirs
    expect = {
        # execute-only: the helper user cannot read it, so it is not
        # dumpable from its exec on (doc/security.md)
        "usr/libexec/pam_phoneverify/phoneverify-http": 0o711,
        "usr/sbin/phoneverify": 0o755,
        "etc/security/pam_phoneverify.conf": 0o600,
        "usr/share/man/man8/pam_phoneverify.8": 0o644,
        "usr/share/man/man5/pam_phoneverify.conf.5": 0o644,
        "usr/share/man/man1/phoneverify.1": 0o644,
        "usr/share/doc/pam_phoneverify/examples/pam_phoneverify.conf": 0o644,
        "usr/share/doc/pam_phoneverify/examples/pam.d-sshd": 0o644,
        "usr/share/doc/pam_phoneverify/examples/sshd_config.snippet": 0o644,
        "var/lib/pam_phoneverify": 0o700,
        # `pam-auth-update --enable phoneverify` needs the profile
        "usr/share/pam-configs/phoneverify": 0o644,
        # README.md links doc/*.md: the same layout
        "usr/share/doc/pam_phoneverify/README.md": 0o644,
        # empty: check-config passes and says nobody is enrolled yet
        "etc/security/phoneverify.users": 0o644,
    }
    docs = sorted(f for f in os.listdir(os.path.join(ROOT, "doc")) if f.endswith(".md"))
    assert docs
    expect.update({"usr/share/doc/pam_phoneverify/doc/" + f: 0o644 for f in docs})
    for rel, mode in expect.items():
        st = os.stat(os.path.join(dest, rel))
        assert stat.S_IMODE(st.st_mode) == mode, rel
    with open(os.path.join(ROOT, "conf", "pam-auth-update.phoneverify"), "rb") as f:
        profile = f.read()
    with open(os.path.join(dest, "usr/share/pam-configs/phoneverify"), "rb") as f:
        assert f.read() == profile
    assert os.path.getsize(os.path.join(dest, "etc/security/phoneverify.users")) == 0


def _passwd():
    with open("/etc/passwd", "rb") as f:
        return f.read()


def test_install_destdir_creates_no_user(tmp_path):
    """A staged (DESTDIR) install must not add the helper user to the build
    machine: the package creates it on the target."""
    before = _passwd()
    out = subprocess.run(["make", "-C", ROOT, "BUILD=" + BUILD, "install-user",
                          "DESTDIR=" + str(tmp_path / "root"),
                          "HELPER_USER=pvtest-never-created"],
                         check=True, capture_output=True, text=True).stdout
    assert "not creating the system user" in out
    assert _passwd() == before


def test_install_user_created_once():
    """Without DESTDIR the helper user is created as a system user with no
    login shell, and a second install leaves it alone."""
    if os.geteuid() != 0 or shutil.which("useradd") is None:
        pytest.skip("needs root and useradd")
    name = "pvtest%d" % os.getpid()
    try:
        for _ in range(2):
            subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + BUILD,
                            "install-user", "HELPER_USER=" + name],
                           check=True, capture_output=True)
        lines = [l for l in _passwd().decode().splitlines()
                 if l.split(":")[0] == name]
        assert len(lines) == 1, lines
        fields = lines[0].split(":")
        assert 0 < int(fields[2]) < 1000, "not a system uid: %s" % fields[2]
        assert fields[6] in ("/usr/sbin/nologin", "/sbin/nologin")
    finally:
        subprocess.run(["userdel", name], capture_output=True)
    assert name not in _passwd().decode()


def test_install_keeps_live_configuration(tmp_path):
    dest = str(tmp_path / "root")
    _install(dest)
    conf = os.path.join(dest, "etc/security/pam_phoneverify.conf")
    with open(conf, "w") as f:
        f.write("# edited by the administrator\n")
    _install(dest)
    with open(conf) as f:
        assert f.read() == "# edited by the administrator\n"


def _make(target, destdir):
    return subprocess.run(["make", "-s", "-C", ROOT, "BUILD=" + BUILD, target,
                           "DESTDIR=" + destdir], check=True,
                          capture_output=True, text=True).stdout


def _files(root):
    out = set()
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            out.add(os.path.relpath(os.path.join(d, n), root))
    return out


def test_install_says_which_configuration_it_created_or_kept(tmp_path):
    dest = str(tmp_path / "root")
    first = _make("install", dest)
    assert "created %s/etc/security/pam_phoneverify.conf" % dest in first
    second = _make("install", dest)
    assert "kept the existing %s/etc/security/pam_phoneverify.conf" % dest \
        in second


def test_uninstall_removes_what_install_put_down(tmp_path):
    """Everything goes but the directories install did not create and a
    state directory holding records; an unchanged example configuration
    goes, an edited one stays."""
    dest = tmp_path / "root"
    dest.mkdir()
    before = _files(dest)
    _make("install", str(dest))
    installed = _files(dest) - before
    assert len(installed) > 10
    out = _make("uninstall", str(dest))
    assert "removed %s/etc/security/pam_phoneverify.conf" % dest in out
    left = _files(dest)
    ours = [f for f in left if "phoneverify" in f]
    assert ours == [], ours
    # an edited configuration and a state record are kept
    _make("install", str(dest))
    conf = dest / "etc/security/pam_phoneverify.conf"
    conf.write_text("# edited\n")
    (dest / "var/lib/pam_phoneverify/u-alice").write_text("fail 1\n")
    users = dest / "etc/security/phoneverify.users"
    users.write_text("alice:+8613800138000:Alice\n")
    out = _make("uninstall", str(dest))
    assert conf.read_text() == "# edited\n"
    assert "kept %s: it was edited" % conf in out
    assert (dest / "var/lib/pam_phoneverify/u-alice").exists()
    assert not (dest / "usr/sbin/phoneverify").exists()
    # enrolled users are the administrator's; profile and docs go
    assert users.read_text() == "alice:+8613800138000:Alice\n"
    assert "kept %s: it holds enrolled users" % users in out
    assert not (dest / "usr/share/pam-configs/phoneverify").exists()
    assert not (dest / "usr/share/doc/pam_phoneverify").exists()


def test_install_keeps_enrolled_users(tmp_path):
    dest = tmp_path / "root"
    users = dest / "etc/security/phoneverify.users"
    users.parent.mkdir(parents=True)
    users.write_text("alice:+8613800138000\n")
    out = _make("install", str(dest))
    assert "kept the existing %s" % users in out
    assert users.read_text() == "alice:+8613800138000\n"


@pytest.mark.parametrize("page", ["pam_phoneverify.8", "pam_phoneverify.conf.5",
                                  "phoneverify.1"])
def test_man_pages_render_without_warnings(page):
    if shutil.which("groff") is None:
        pytest.skip("groff not installed")
    res = subprocess.run(["groff", "-ww", "-man", "-Tutf8",
                          os.path.join(ROOT, "man", page)],
                         capture_output=True, text=True)
    assert res.returncode == 0
    assert res.stderr == ""
    text = re.sub(".\x08", "", res.stdout)     # drop grotty overstrikes
    assert "NAME" in text and "SEE ALSO" in text


@pytest.mark.parametrize("page", ["pam_phoneverify.8", "pam_phoneverify.conf.5",
                                  "phoneverify.1"])
def test_man_pages_pass_lintians_groff_check(page):
    """lintian's manual-page check (groff-message): man-db's own rendering
    at lintian's width (120, Lintian/Check/Documentation/Manual.pm)."""
    if shutil.which("man") is None:
        pytest.skip("man-db not installed")
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="120")
    res = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z",
                          os.path.join(ROOT, "man", page)],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stderr.strip() == "", res.stderr


def test_conf_man_page_see_also_last_and_key_layout_readable():
    """SEE ALSO is the last section of pam_phoneverify.conf(5), and the
    etcd key layout is not printed run together (state_prefixuser/name)."""
    with open(os.path.join(ROOT, "man", "pam_phoneverify.conf.5")) as f:
        page = f.read()
    sections = re.findall(r"^\.SH (.*)$", page, re.M)
    assert sections[-1] == "SEE ALSO", sections
    res = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou",
                          os.path.join(ROOT, "man", "pam_phoneverify.conf.5")],
                         capture_output=True, text=True,
                         env=dict(os.environ, LC_ALL="C.UTF-8"))
    text = re.sub(r"\s+", " ", res.stdout)
    assert "state_prefixuser" not in text and "state_prefixbgused" not in text, text
    assert "state_prefix + user/ + name" in text, text
    assert "/pam_phoneverify/user/alice" in text
    assert "/pam_phoneverify/health" in text


def test_conf_man_page_documents_every_key():
    """Every key of the shipped example is described in the man page."""
    keys = set()
    with open(os.path.join(ROOT, "conf", "pam_phoneverify.conf")) as f:
        for line in f:
            line = line.strip().lstrip("#").strip()
            if "=" in line and " " not in line.split("=")[0].strip():
                keys.add(line.split("=")[0].strip())
    with open(os.path.join(ROOT, "man", "pam_phoneverify.conf.5")) as f:
        page = f.read()
    missing = [k for k in sorted(keys) if ".BR %s " % k not in page]
    assert len(keys) >= 45
    assert missing == []


def test_uninstall_names_pam_files_that_still_use_the_module(tmp_path):
    """PAM cannot load a module that is gone: every login through a stack
    naming it fails.  uninstall lists those rules (not comments, not a
    copy of the module at another path) and says so."""
    dest = tmp_path / "root"
    _make("install", str(dest))
    pamd = dest / "etc/pam.d"
    pamd.mkdir(parents=True)
    (pamd / "sshd").write_text(
        "# auth required pam_phoneverify.so (a comment)\n"
        "auth [success=done ignore=ignore default=die] pam_phoneverify.so\n"
        "auth optional /opt/other/pam_phoneverify.so\n"
        "auth required pam_permit.so\n")
    (pamd / "sudo").write_text("@include common-auth\n")
    out = _make("uninstall", str(dest))
    assert "%s/sshd:2:auth [success=done" % pamd in out, out
    assert "%s/sshd:1:" % pamd not in out and "%s/sshd:3:" % pamd not in out, out
    assert "sudo" not in out, out
    assert "every login through those stacks fails" in out, out
    (pamd / "sshd").write_text("@include common-auth\n")
    _make("install", str(dest))
    assert "WARNING" not in _make("uninstall", str(dest))
