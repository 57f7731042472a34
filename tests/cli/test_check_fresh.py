"""check-config on a fresh install (issue 19, items 8 and 12).

The package's postinst and `make install` create the users file empty;
check-config must pass on it and say that nobody is enrolled yet, while
the module still refuses every covered user it has no phone for.  A users
file that does not exist stays a configuration error (module and CLI).
`capath` is refused where it is set, with the file and line."""

import pytest

from cliworld import PAM_MESSAGES

NOBODY_YET = "no user enrolled yet"


def _check(world):
    r = world.cli("check-config")
    return r, r.stdout + r.stderr


@pytest.mark.parametrize("text", [
    "",
    "# /etc/security/phoneverify.users - user:phone[:name[:email]]\n"
    "#alice:+86 13800138000:Alice Liddell\n\n   \n\t# indented comment\n",
], ids=["empty", "comments-only"])
def test_fresh_users_file_passes_and_says_nobody_enrolled(world, text):
    world.users_path.write_text(text)
    r, out = _check(world)
    assert r.returncode == 0, r
    assert "%s (%s is empty)" % (NOBODY_YET, world.users_path) in r.stderr, r
    assert "phoneverify enroll" in r.stderr, r
    assert r.stderr.rstrip().endswith("configuration OK"), r


def test_empty_users_file_still_refuses_at_login(world):
    """The attacker's side: an empty users file is no way in (nullok off)."""
    world.users_path.write_text("")
    res = world.pam("alice")
    assert res.rc != 0, res
    assert res.pam_message != PAM_MESSAGES["PAM_SUCCESS"], res
    assert "successfully authenticated" not in res.transcript, res


@pytest.mark.parametrize("text", [
    "alice:+86 13800138000:Alice Liddell\n",
    "# header\n  bob:+447700900123\n",
], ids=["one-user", "indented-user"])
def test_enrolled_users_file_says_nothing_about_it(world, text):
    world.users_path.write_text(text)
    r, out = _check(world)
    assert r.returncode == 0, r
    assert NOBODY_YET not in out, r


def test_users_file_not_read_by_lookup_says_nothing(world):
    world.users_path.write_text("")
    world.set(lookup="gecos")
    r, out = _check(world)
    assert r.returncode == 0, r
    assert NOBODY_YET not in out, r


def test_missing_users_file_stays_an_error(world):
    world.users_path.unlink()
    r, out = _check(world)
    assert r.returncode == 1, r
    assert "users_file" in r.stderr and "configuration OK" not in out, r
    assert NOBODY_YET not in out, r
    res = world.pam("alice")
    assert res.pam_message == PAM_MESSAGES["PAM_SERVICE_ERR"], res


def test_capath_in_the_file_names_file_and_line(world):
    """The example configuration's `#capath = /etc/ssl/certs`, uncommented:
    refused with file:line, by the CLI and the module alike."""
    world.extra_lines = ["capath = /etc/ssl/certs"]
    world.write_conf()
    lineno = len(world.conf_path.read_text().rstrip("\n").split("\n"))
    r, out = _check(world)
    assert r.returncode == 1, r
    want = "%s:%d: capath is not supported" % (world.conf_path, lineno)
    assert want in r.stderr, r
    assert "cafile" in r.stderr, r
    res = world.pam("alice")
    assert res.pam_message == PAM_MESSAGES["PAM_SERVICE_ERR"], res
    assert [e for e in res.config_errors() if e.startswith(want)], res


def test_capath_on_the_pam_line_is_refused(world):
    (world.pamd / "svc").write_text(
        "auth required %s conf=%s capath=/etc/ssl/certs\n"
        % (world.module, world.conf_path))
    r = world.cli("check-config", "--service", "svc", "--pam-dir",
                  str(world.pamd))
    assert r.returncode == 1, r
    assert "svc:1:" in r.stderr and "capath is not supported" in r.stderr, r
