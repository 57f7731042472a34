"""SPEC 5: the numVerify operator link is shown and put into the QR code
only when libcurl's URL parser reads it as https, or http to an exact
loopback host, with no user or password part (issue 9 item 6); a link with
'@' or '#' anywhere, or an IDNA ("xn--") host label, is never shown, and
with numverify_link_hosts set its host must be one of them (issue 17 item
10).

The simulator always answers a good link, so these tests put a small fake
DQE server in its place (plain HTTP on 127.0.0.1, form-encoded POSTs as
SPEC 2.4): AUTH gives a token, IDMOBILE answers the link under test, GET
stays pending.  Whatever the module then decides, a hostile link must not
reach the user: no "Open this link", no QR code, no part of the link in
anything the login printed, and no success.
"""


import pytest

from pvtest import NV_LICENCE
from pvsim import JsonServer

NV_PROMPT = "Press Enter once your phone shows the number is verified: "


def fake_dqe(link):
    """A DQE server (pvsim.JsonServer): AUTH -> token, IDMOBILE -> `link`,
    GET -> pending."""
    def answer(path):
        if path.endswith("/AUTH/"):
            return 200, {"token": "fake-token-1"}
        if path.endswith("/IDMOBILE/"):
            return 200, {"status": "success", "operator": "SFR", "url": link}
        return 200, {"status": "pending", "scope": "numVerify"}
    return JsonServer(answer, "/dqe")


@pytest.fixture
def dqe():
    servers = []

    def make(link):
        s = fake_dqe(link)
        servers.append(s)
        return s
    yield make
    for s in servers:
        s.close()


def enable_fake_nv(login, server, failmode="secure"):
    login.conf.update({
        "methods": "numverify",
        "numverify_url": server.url,
        "numverify_licence": NV_LICENCE,
        "numverify_partner": "pamtest",
        "numverify_poll": "1",
        "numverify_wait": "5",
        "failmode": failmode,
    })


HOSTILE = [
    "http://127.0.0.1.evil.example/operator/x",
    "http://127.0.0.1@evil.example/operator/x",
    "https://user@evil.example/operator/x",
    "http://2130706433/evil.example",
    "http://127.0.0.1%2eevil.example/",
    "javascript:alert('evil.example')",
    # the host a reader takes from the end of the text is not the one a
    # browser opens (issue 17 item 10)
    "https://evil.example#@operator.example.com",
    "https://evil.example/@operator.example.com",
    "https://evil.example?@operator.example.com",
    "https://evil.example/verify#session",
    # IDNA labels: shown by browsers as look-alike Unicode
    "https://xn--80ak6aa92e.com/evil",
    "https://XN--80ak6aa92e.com/evil",
    "https://login.Xn--80ak6aa92e.com/evil",
]


@pytest.mark.parametrize("failmode", ["secure", "safe"])
@pytest.mark.parametrize("link", HOSTILE)
def test_hostile_operator_link_never_shown(login, dqe, link, failmode):
    """With failmode=safe too: a link the module refuses to show is the
    provider's answer refused, not an outage that opens the door."""
    server = dqe(link)
    enable_fake_nv(login, server, failmode)
    res = login.run("alice", [])
    assert any(h.endswith("/IDMOBILE/") for h in server.hits), \
        "%r\n%s" % (server.hits, res)
    assert res.prompts == [], str(res)
    assert "Open this link" not in res.transcript, str(res)
    assert "evil" not in res.transcript, str(res)
    assert "\u2588" not in res.transcript, "a QR code was shown\n%s" % res
    assert res.rc != 0 and res.record.get("pam") != "PAM_SUCCESS", str(res)


def test_good_loopback_link_is_shown(login, dqe):
    """The same fake server with a good link: shown (the check is not
    refusing everything)."""
    link = "http://127.0.0.1:9/operator/good-session"
    server = dqe(link)
    enable_fake_nv(login, server)
    s = login.start("alice")
    s.prompt_re = r"Press Enter once your phone shows the number is verified: "
    assert s.expect_prompt() == NV_PROMPT
    s.send("")
    res = s.finish()
    assert "Open this link" in res.transcript, str(res)
    assert link in res.transcript, str(res)
    assert res.record.get("pam") != "PAM_SUCCESS", str(res)    # never opened


LINK_HOSTS = "operator.example.com *.op.example.net"


@pytest.mark.parametrize("link", [
    "https://evil.example/operator/x",
    "https://operator.example.com.evil.example/x",
    "https://evil-operator.example.com/x",
    "https://a.evil.operator.example.com/x",
    "https://op.example.net/evil",           # the wildcard's own domain
    "https://op.example.net.evil.example/x",
])
@pytest.mark.parametrize("failmode", ["secure", "safe"])
def test_link_to_unlisted_host_never_shown(login, dqe, link, failmode):
    """numverify_link_hosts set: a link whose host is not one of them is
    neither shown nor put into a QR code, and the login fails closed."""
    server = dqe(link)
    enable_fake_nv(login, server, failmode)
    login.conf["numverify_link_hosts"] = LINK_HOSTS
    res = login.run("alice", [])
    assert any(h.endswith("/IDMOBILE/") for h in server.hits), \
        "%r\n%s" % (server.hits, res)
    assert res.prompts == [], str(res)
    assert "Open this link" not in res.transcript, str(res)
    assert "evil" not in res.transcript, str(res)
    assert "\u2588" not in res.transcript, "a QR code was shown\n%s" % res
    assert res.rc != 0 and res.record.get("pam") != "PAM_SUCCESS", str(res)
    assert res.record.get("reason") == "numverify_link_refused", str(res)


@pytest.mark.parametrize("link", [
    "https://OPERATOR.Example.com:8443/s/good-session",
    "https://a.b.op.example.net/s/good-session",
])
def test_link_to_listed_host_is_shown(login, dqe, link):
    server = dqe(link)
    enable_fake_nv(login, server)
    login.conf["numverify_link_hosts"] = LINK_HOSTS
    s = login.start("alice")
    s.prompt_re = r"Press Enter once your phone shows the number is verified: "
    assert s.expect_prompt() == NV_PROMPT
    s.send("")
    res = s.finish()
    assert "Open this link" in res.transcript, str(res)
    assert link in res.transcript, str(res)
    assert "\u2588" in res.transcript, "no QR code\n%s" % res
    assert res.record.get("pam") != "PAM_SUCCESS", str(res)    # never opened
