"""numVerify behind the real OpenSSH sshd: the operator link and its QR code
reach the ssh client together with the "Press Enter" prompt (OpenSSH shows
PAM info messages only with the next prompt), and the login succeeds once
the phone has opened the link over its mobile network."""

from conftest import PHONE

NV_PROMPT = "Press Enter once your phone shows the number is verified: "
OK = "PV-E2E-OK"
DIGITS = PHONE.replace("+", "").replace(" ", "")


def _configure(pv):
    sim = pv.sim
    pv.configure(methods="numverify", numverify_url=sim.numverify_url,
                 numverify_licence="SIM-LICENCE", numverify_partner="pve2e",
                 numverify_poll=1, numverify_wait=20)
    return sim.client


def test_numverify_over_ssh_shows_link_qr_and_enter_prompt(pv, sshd):
    client = _configure(pv)
    # the QR code is UTF-8: a client in the C locale shows it as octal
    # escapes (the URL above it still works); users need a UTF-8 locale
    with sshd.spawn_ssh(env={"LC_ALL": "C.UTF-8"}) as s:
        shown = s.prompt(NV_PROMPT)
        sessions = client.numverify_sessions()
        assert len(sessions) == 1, sessions
        url = sessions[0]["url"]
        assert "Open this link on the phone +86 *******8099" in shown, shown
        assert url in shown.split("\n"), shown
        # the QR code: rows of half blocks, at most 80 columns wide
        qr = [l for l in shown.split("\n") if "\u2588" in l]
        assert len(qr) >= 10 and all(len(l) <= 80 for l in qr), shown
        client.numverify_open(number=DIGITS)
        s.answer("")
        out = s.finish()
    assert s.exitstatus == 0, out
    assert [l for l in out.split("\n") if l == OK] == [OK], out
    assert pv.sim.stats()["send"] == 0          # no SMS on this path


def test_numverify_over_ssh_wrong_phone_is_refused(pv, sshd):
    client = _configure(pv)
    with sshd.spawn_ssh() as s:
        s.prompt(NV_PROMPT)
        client.numverify_open(number=DIGITS, from_number="33612345678")
        s.answer("")
        out = s.finish()
    assert s.exitstatus == 255, out
    assert OK not in out.split("\n"), out
    assert "Verification failed." in out, out
