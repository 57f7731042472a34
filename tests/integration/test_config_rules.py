"""SPEC 3 configuration rules that close doors a careless administrator
(or a local user) could open, each checked through a real login with
failmode=safe in the PAM line: a configuration error must give
PAM_SERVICE_ERR and send nothing, never fail open.

- the secret-bearing keys are refused in the PAM line (world-readable);
- send/verify/pre-check/numVerify URLs are https://, or http:// only to a
  loopback address;
- a key given twice in the file is refused with both line numbers;
- a GECOS field users may change with chfn cannot hold the phone;
and SPEC 5: PAM items are copied at entry, so an application that changes
PAM_USER during the conversation cannot move the failure to another name.
"""

import os

import pytest

from hardening_util import (build_pamapp, file_failures, record_path,
                            records_of, run_pamapp)
from test_config_errors import assert_config_error


@pytest.fixture
def safe_login(login):
    login.conf["failmode"] = "safe"
    login.args = ["failmode=safe"]
    return login


@pytest.mark.parametrize("arg", [
    "send_auth=bearer:SeCrEt-send",
    "verify_auth=basic:u:SeCrEt-verify",
    "precheck_auth=bearer:SeCrEt-pre",
    "numverify_licence=SeCrEt-LICENCE",
    "captcha_token=SeCrEt-captcha",
    "state_client_key=/etc/ssl/private/SeCrEt-k.pem",
    # the proxy URL may carry the proxy's password (issue 17, item 11)
    "proxy=http://squid:SeCrEt-proxy@127.0.0.1:3128",
    "proxy=socks5h://127.0.0.1:1080",
])
def test_secret_key_in_pam_line_refused(safe_login, sim, arg):
    safe_login.args = ["failmode=safe", arg]
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)
    key = arg.split("=", 1)[0]
    assert "%s holds a secret" % key in res.transcript, str(res)
    assert "SeCrEt" not in res.transcript, \
        "the secret value is echoed\n%s" % res


@pytest.mark.parametrize("key,url", [
    ("send_url", "http://sms.example.invalid/send"),
    ("verify_url", "http://192.0.2.10/verify"),
    ("send_url", "http://127.0.0.1.evil.example/send"),
    ("verify_url", "http://localhost:1/verify"),
    ("send_url", "ftp://127.0.0.1/send"),
])
def test_plain_http_to_remote_host_is_config_error(safe_login, sim, key, url):
    """Formerly reason=transport_url at login time, which failmode=safe
    opened: now a configuration error found before anything is sent."""
    safe_login.conf[key] = url
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)
    assert key in res.transcript, str(res)


@pytest.mark.parametrize("key,url", [("send_url", "http://127.0.0.1:1/x")])
def test_plain_http_url_in_pam_line_checked_too(safe_login, sim, key, url):
    safe_login.args = ["failmode=safe", "%s=http://203.0.113.5/send" % key]
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)


def test_key_twice_in_file_refused(safe_login, sim):
    safe_login.conf_extra_lines = ["failmode = secure"]
    safe_login.write_conf()
    first = safe_login.conf_line_of("failmode")
    last = len(safe_login.conf_path.read_text().rstrip("\n").split("\n"))
    res = safe_login.run("alice", [])
    assert_config_error(res, sim)
    assert "%s:%d: failmode is given twice (first on line %d)" % (
        safe_login.conf_path, last, first) in res.transcript, str(res)


def chfn_fields():
    """GECOS field numbers users may change, from /etc/login.defs."""
    fields = set()
    try:
        text = open("/etc/login.defs").read()
    except OSError:
        return fields
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "CHFN_RESTRICT":
            v = {"yes": "rwh", "no": "frwh"}.get(parts[1], parts[1])
            fields = {i + 1 for i, c in enumerate("frwh") if c in v}
    return fields


@pytest.mark.parametrize("field", [2, 3, 4])
def test_gecos_field_users_can_change_is_config_error(safe_login, sim, field):
    if field not in chfn_fields():
        pytest.skip("/etc/login.defs lets no user change GECOS field %d"
                    % field)
    safe_login.conf.update(lookup="gecos", gecos_field=str(field))
    res = safe_login.run("erin", [])
    assert_config_error(res, sim)
    assert "users may change that GECOS field with chfn" in res.transcript


def test_gecos_default_field_5_serves(login, sim):
    """The default gecos_field (5, "other") is one only root can change."""
    login.conf["lookup"] = "gecos"
    res = login.run("erin", ["000000"])
    # reaching the prompt proves the configuration and the lookup work
    assert res.prompts, str(res)
    assert sim.outbox()[-1]["to"] == "+86 13600136000"


@pytest.fixture(scope="module")
def pamapp(tmp_path_factory):
    return build_pamapp(tmp_path_factory.mktemp("pamapp"))


def test_user_switched_during_conversation(login, sim, pamapp):
    """The application replaces PAM_USER/RHOST/RUSER/TTY at the prompt
    (libpam frees the old strings): the wrong code is still counted for
    alice, nobody else gets a record, the log names alice, and the login
    fails with its own refusal (a login that would pass: the next test)."""
    login.conf.update(max_tries="1")
    r = run_pamapp(pamapp, login, 1, user="alice", answer="000000",
                   extra_env={"PV_PAMAPP_SWITCH_USER": "bob"})
    assert r.results == ["PAM_MAXTRIES"], str(r)
    assert file_failures(login, "alice") == 1, str(r)
    assert not record_path(login, "bob").exists(), str(r)
    recs = [rec for rec in records_of(r.stderr) if rec.get("outcome")]
    assert recs and recs[-1]["user"] == "alice", str(r)
    assert recs[-1]["rhost"] == "203.0.113.9", str(r)


def test_user_switched_during_conversation_never_passes(login, sim, pamapp):
    """A login that would pass (here a break-glass code during an outage)
    fails with PAM_AUTH_ERR when the application replaced PAM_USER at the
    prompt: what was proven belongs to alice, not to the new user."""
    from test_decisions import issue_breakglass
    codes = issue_breakglass(login)
    sim.fault("any", "http500")
    r = run_pamapp(pamapp, login, 1, user="alice", answer=codes[0],
                   extra_env={"PV_PAMAPP_SWITCH_USER": "bob"})
    assert r.results == ["PAM_AUTH_ERR"], str(r)
    recs = [rec for rec in records_of(r.stderr) if rec.get("outcome")]
    assert recs and recs[-1]["reason"] == "pam_user_changed", str(r)
    assert recs[-1]["user"] == "alice", str(r)
    # the same answer without the switch passes: the code itself was good
    r = run_pamapp(pamapp, login, 1, user="alice", answer=codes[1])
    assert r.results == ["PAM_SUCCESS"], str(r)
