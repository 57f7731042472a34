"""SPEC section 4: "configuration error (syntax, permissions, missing key)
-> PAM_SERVICE_ERR, whatever failmode says".  Every case here also says
failmode=safe (in the PAM line, and in the file where the file is read), so
a module that let configuration errors fail open would be caught."""

import os
import shutil

import pytest

from pvtest import assert_pam


def assert_config_error(res, sim):
    rec = assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    assert res.prompts == [], str(res)
    assert sim.requests("send") == 0
    assert sim.outbox() == []
    assert rec["_prio"] == 3, "configuration errors are logged at LOG_ERR"
    assert "Verification failed." in res.transcript, str(res)
    return rec


@pytest.fixture
def safe_login(login):
    login.conf["failmode"] = "safe"
    login.args = ["failmode=safe"]
    return login


# -- syntax and values in the file: reported with file and line ----------------------

@pytest.mark.parametrize("line", [
    "no_such_key = 1",                       # unknown key
    "this line has no equals sign",          # malformed line
    "max_tries = many",
    "max_tries = 0",
    "failmode = maybe",
    "timeout = -1",
    "phone_format = dotted",
    "trusted_rhosts = 10.0.0.0/33",
    "trusted_rhosts = 300.1.1.1",
    "trusted_rhosts = 2001:db8::/129",
    "precheck_auth = token:abc",
    "methods = fax",
    "lookup = ldap",
    "send_target = SOMEONE",
    "reuse_code = perhaps",
    "Send_URL = http://127.0.0.1:1/x",       # keys are case-sensitive
], ids=["unknown-key", "no-equals", "max_tries-text", "max_tries-0",
        "failmode", "timeout-negative", "phone_format", "cidr-v4", "addr-v4",
        "cidr-v6", "auth-scheme", "methods", "lookup", "send_target",
        "reuse_code", "key-case"])
def test_bad_line_in_file(safe_login, sim, line):
    safe_login.conf_extra_lines = [line]
    safe_login.write_conf()
    lineno = len(safe_login.conf_path.read_text().rstrip("\n").split("\n"))
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)
    where = "%s:%d" % (safe_login.conf_path, lineno)
    assert where in res.transcript, "error does not name %s\n%s" % (where, res)


@pytest.mark.parametrize("value,entry", [
    ("*.com", "*.com"),                          # every name under a TLD
    ("operator.example.com *", "*"),
    ("https://operator.example.com", "https://operator.example.com"),
    ("operator.example.com:443", "operator.example.com:443"),
    ("a.*.example.com", "a.*.example.com"),
    ("ok.example.com xn--80ak6aa92e.com", "xn--80ak6aa92e.com"),
])
def test_bad_numverify_link_hosts(safe_login, sim, value, entry):
    """numverify_link_hosts is checked when the file is read: the bad
    entry is named with its file and line, never found at login time."""
    safe_login.conf_extra_lines = ["numverify_link_hosts = " + value]
    safe_login.write_conf()
    lineno = len(safe_login.conf_path.read_text().rstrip("\n").split("\n"))
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)
    msg = "%s:%d: numverify_link_hosts: '%s' is not" % (
        safe_login.conf_path, lineno, entry)
    assert msg in res.transcript, "%s\n%s" % (msg, res)


def test_bad_numverify_link_hosts_in_pam_line(safe_login, sim):
    safe_login.args = ["failmode=safe", "numverify_link_hosts=*.com"]
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)
    assert "numverify_link_hosts: '*.com' is not" in res.transcript, str(res)


@pytest.mark.parametrize("arg", ["max_tries=lots", "frobnicate", "failmode=open",
                                 "no_such_key=1"])
def test_bad_pam_argument(safe_login, sim, arg):
    safe_login.args = ["failmode=safe", arg]
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)


# -- missing keys --------------------------------------------------------------------

@pytest.mark.parametrize("key", ["send_url", "verify_url"])
def test_missing_key(safe_login, sim, key):
    safe_login.conf[key] = None
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)


def test_missing_conf_file(safe_login, sim):
    safe_login.conf_arg = safe_login.dir / "does-not-exist.conf"
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)


# -- permissions and ownership ----------------------------------------------------------

@pytest.mark.parametrize("mode", [0o604, 0o644, 0o620, 0o602, 0o660, 0o666],
                         ids=oct)
def test_conf_mode_refused(safe_login, sim, mode):
    """Readable by others (secrets), or writable by group/others."""
    safe_login.conf_mode = mode
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o400], ids=oct)
def test_conf_mode_accepted(login, sim, mode):
    """Group-readable is allowed: only 'readable by others' and 'writable by
    group or others' are refused (control for the test above)."""
    from pvtest import CODE
    login.conf_mode = mode
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown")
def test_conf_owned_by_other_user(safe_login, sim):
    safe_login.write_conf()
    real_write = safe_login.write_conf

    def write_and_chown():
        real_write()
        os.chown(safe_login.conf_path, 65534, 65534)
    safe_login.write_conf = write_and_chown
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)


def test_conf_is_a_symlink_to_good_file(safe_login, sim):
    """pv_safefile.h: files are opened with O_NOFOLLOW, a symlink is refused
    (it could redirect the module to a file nobody vetted)."""
    link = safe_login.dir / "link.conf"
    os.symlink(safe_login.conf_path, link)
    safe_login.conf_arg = link
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)


@pytest.mark.parametrize("mode", [0o664, 0o646], ids=oct)
def test_users_file_writable_refused(safe_login, sim, mode):
    real_write = safe_login.write_conf

    def write():
        real_write()
        os.chmod(safe_login.users_path, mode)
    safe_login.write_conf = write
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)


def test_state_dir_world_writable_refused(safe_login, sim):
    os.chmod(safe_login.state_dir, 0o777)
    res = safe_login.run("alice", [])
    assert res.rc == 1, str(res)
    assert_config_error(res, sim)


def test_helper_group_writable_refused(safe_login, sim):
    helper = safe_login.dir / "phoneverify-http"
    shutil.copy(safe_login.helper, helper)
    os.chmod(helper, 0o775)
    safe_login.conf["helper"] = str(helper)
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)


def test_helper_missing_refused(safe_login, sim):
    """A missing helper is a local setup error: never a fail-open."""
    safe_login.conf["helper"] = str(safe_login.dir / "no-such-helper")
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)


def test_cafile_world_writable_refused(safe_login, sim, tls_material):
    ca = safe_login.dir / "ca.pem"
    if tls_material:
        shutil.copy(tls_material["ca"], ca)
    else:
        ca.write_text("not used over http\n")
    os.chmod(ca, 0o666)
    safe_login.conf["cafile"] = str(ca)
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)
