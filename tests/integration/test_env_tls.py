"""SPEC section 5 invariants that show from outside: the calling process's
environment influences nothing (proxies, TLS variables), and TLS trust is
the configured one (HTTPS pass only for the TLS rows)."""

import base64
import hashlib
import subprocess

import pytest

from pvtest import CODE, FAULT_BOUND, assert_pam, closed_port


def test_proxy_environment_ignored(login, sim):
    dead = "http://127.0.0.1:%d" % closed_port()
    login.env_extra = {k: dead for k in (
        "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
        "all_proxy")}
    res, conns = sim.module_connections(lambda: login.run("alice", [CODE]))
    assert_pam(res, "PAM_SUCCESS", "success")
    assert conns == 1


@pytest.mark.tls_only
def test_tls_environment_ignored(login, sim, tls_material, tmp_path):
    keylog = tmp_path / "keylog.txt"
    bad_conf = tmp_path / "openssl.cnf"
    bad_conf.write_text("this is [not an openssl config\n")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text("machine 127.0.0.1 login x password y\n")
    login.env_extra = {
        "SSLKEYLOGFILE": str(keylog),
        "SSL_CERT_FILE": str(tls_material["other_ca"]),
        "CURL_CA_BUNDLE": str(tls_material["other_ca"]),
        "SSL_CERT_DIR": str(tmp_path),
        "OPENSSL_CONF": str(bad_conf),
        "CURL_SSL_BACKEND": "gnutls",
        "HOME": str(home),
        "NETRC": str(home / ".netrc"),
    }
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert not keylog.exists(), "TLS secrets were written to SSLKEYLOGFILE"


@pytest.mark.tls_only
def test_untrusted_server_certificate(login, sim, tls_material):
    login.conf["cafile"] = str(tls_material["other_ca"])
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert res.elapsed <= FAULT_BOUND, str(res)
    assert sim.requests("send") == 0


@pytest.mark.tls_only
def test_certificate_name_mismatch(login, sim):
    """The server certificate is for IP 127.0.0.1 only; 'localhost' does not
    match it."""
    login.conf["send_url"] = sim.server.send_url.replace("127.0.0.1", "localhost")
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert sim.requests("send") == 0


def _pin(cert):
    der = subprocess.run(
        "openssl x509 -in '%s' -pubkey -noout | openssl pkey -pubin -outform der"
        % cert, shell=True, check=True, stdout=subprocess.PIPE).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.mark.tls_only
def test_pinned_pubkey_match(login, sim, tls_material):
    login.conf["pinned_pubkey"] = _pin(tls_material["cert"])
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


@pytest.mark.tls_only
def test_pinned_pubkey_mismatch(login, sim, tls_material):
    login.conf["pinned_pubkey"] = _pin(tls_material["other_ca"])
    res = login.run("alice", [])
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert sim.requests("send") == 0
