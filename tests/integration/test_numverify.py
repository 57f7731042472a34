"""SPEC 2.4 and section 4: mobile network number verification (numVerify).

The module gets a session token (AUTH), asks the operator for a link for the
user's number (IDMOBILE), shows the link and a QR code, asks the user to
press Enter once the phone shows the number is verified, then polls GET
every numverify_poll seconds until numverify_wait (counted from when the
link was shown) runs out.  numVerify true is a success; a wrong phone (20),
a declined check (21), numVerify false and a timeout are refusals; an
ineligible number (09, 13, 15, ...) cannot be served, so the next method is
tried; a network-observed outage (5xx, dropped, malformed, late) follows
failmode; a rejected licence (02) is unavailable and an expired operator
token (30), or Enter/an answer after numverify_wait, a refusal - whatever
failmode says.

The QR code is read back from the transcript, turned into an image and
decoded with zbarimg (Debian zbar-tools).
"""

import math
import re
import shutil
import subprocess
import time

import pytest

from pvtest import (CODE, FAULT_BOUND, NV_LICENCE, PRECHECK_AUTH, TIME_SCALE,
                    assert_failure, assert_pam, masked_log, masked_prompt)

NV_PROMPT = "Press Enter once your phone shows the number is verified: "
UNAVAILABLE = "Verification service unavailable."
REFUSED = "Verification failed."
WAIT = 6                        # numverify_wait used by these tests
POLL = 1

ALICE = "8613800138000"         # E.164 digits, as IDMOBILE gets them
OTHER = "8613911139111"


def enable_nv(login, sim, methods="numverify", **extra):
    login.conf.update({
        "methods": methods,
        "numverify_url": sim.server.numverify_url,
        "numverify_licence": NV_LICENCE,
        "numverify_partner": "pamtest",
        "numverify_poll": str(POLL),
        "numverify_wait": str(WAIT),
    })
    login.conf.update(extra)


def start(login, user="alice", **kw):
    """A session that recognises both the numVerify prompt and the code
    prompt (for the fallback to sms/email)."""
    s = login.start(user, **kw)
    s.prompt_re = "(?:%s|%s)" % (re.escape(NV_PROMPT), login.prompt_regex())
    return s


def expect_nv_prompt(s):
    p = s.expect_prompt()
    assert p == NV_PROMPT, "expected the numVerify prompt, got %r" % p
    return p


def assert_no_secret(res, sim):
    """Neither a session token nor the licence anywhere in what the
    programs printed (log lines included)."""
    for sess in sim.numverify_sessions():
        assert sess["token"] not in res.transcript, \
            "numVerify token in the transcript\n%s" % res
    assert NV_LICENCE not in res.transcript, str(res)


def assert_no_code_sent(sim):
    assert sim.outbox() == [], "a code was sent"
    assert sim.requests("send") == 0


# -- success -----------------------------------------------------------------------

def test_success_enter_then_open(login, sim):
    enable_nv(login, sim)
    s = start(login)
    expect_nv_prompt(s)
    sessions = sim.numverify_sessions()
    assert len(sessions) == 1, sessions
    assert sessions[0]["number"] == ALICE
    assert sessions[0]["state"] == "pending"
    s.send("")
    sim.numverify_open(number=ALICE, from_number=ALICE)
    res = s.finish()
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["method"] == "numverify", rec["_line"]
    assert rec["phone"] == masked_log("alice"), rec["_line"]
    assert rec["reason"] == "numverify_true", rec["_line"]
    assert rec["_prio"] == 5
    assert_no_code_sent(sim)
    st = sim.stats()["requests"]
    assert st["nv_auth"] == 1 and st["nv_idmobile"] == 1, st
    assert st["nv_get"] >= 1, st
    assert sim.numverify_sessions()[0]["state"] == "verified"
    assert_no_secret(res, sim)


def test_link_shown_is_the_session_link(login, sim):
    """The link shown is exactly the operator link of the session, on a
    line of its own after the explanation, which names the masked number."""
    enable_nv(login, sim)
    s = start(login)
    expect_nv_prompt(s)
    url = sim.numverify_sessions()[0]["url"]
    sim.numverify_open(number=ALICE)
    s.send("")
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    lines = res.transcript.split("\n")
    intro = [i for i, l in enumerate(lines) if l.startswith("Open this link on the phone")]
    assert len(intro) == 1, str(res)
    assert masked_prompt("alice") in lines[intro[0]]
    assert "not Wi-Fi" in lines[intro[0] + 1]
    # the explanation fits an 80-column terminal
    assert all(len(l) <= 80 for l in lines[intro[0]:intro[0] + 2])
    assert lines[intro[0] + 2] == url, str(res)
    assert url.startswith(sim.server.scheme + "://127.0.0.1:%d/operator/" % sim.server.port)


def test_open_then_enter_one_poll(login, sim):
    """The user opens the link first, then presses Enter: the first poll
    answers at once."""
    enable_nv(login, sim)
    s = start(login)
    expect_nv_prompt(s)
    sim.numverify_open(number=ALICE)
    s.send("")
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("nv_get") == 1
    assert res.since_answer < 1.5 * TIME_SCALE, str(res)


def test_pending_then_success(login, sim):
    enable_nv(login, sim)
    s = start(login)
    expect_nv_prompt(s)
    s.send("")
    time.sleep(2)
    assert sim.numverify_sessions()[0]["state"] == "pending"
    polls_before = sim.requests("nv_get")
    assert polls_before >= 1, "no polling while pending"
    sim.numverify_open(number=ALICE, from_number=ALICE)
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    assert sim.requests("nv_get") > polls_before
    assert res.since_answer >= 2


def test_number_without_space_in_users_file(login, sim):
    """bob's number is written without the space: IDMOBILE still gets
    E.164 digits."""
    enable_nv(login, sim)
    s = start(login, "bob")
    expect_nv_prompt(s)
    assert [x["number"] for x in sim.numverify_sessions()] == ["8613900139000"]
    sim.numverify_open(number="8613900139000")
    s.send("")
    res = s.finish()
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["phone"] == masked_log("bob")


# -- refusals ------------------------------------------------------------------------

@pytest.mark.parametrize("how,reason,state", [
    ("wrong_phone", "numverify_error_20", "mismatch"),
    ("declined", "numverify_error_21", "declined"),
    ("numverify_false", "numverify_false", "failed"),
])
def test_refused(login, sim, how, reason, state):
    """A refusal is PAM_AUTH_ERR even with failmode=safe, and never falls
    through to the next method (methods = "numverify sms")."""
    enable_nv(login, sim, methods="numverify sms", failmode="safe")
    s = start(login)
    expect_nv_prompt(s)
    if how == "wrong_phone":
        sim.numverify_open(number=ALICE, from_number=OTHER)
    elif how == "declined":
        sim.numverify_open(number=ALICE, decline=True)
    else:
        sim.numverify_open(number=ALICE, numverify=False)
    s.send("")
    res = s.finish()
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == reason, rec["_line"]
    assert rec["method"] == "numverify"
    assert REFUSED in res.transcript, str(res)
    assert UNAVAILABLE not in res.transcript
    assert len(res.prompts) == 1, str(res)
    assert_no_code_sent(sim)
    assert sim.numverify_sessions()[0]["state"] == state
    assert_no_secret(res, sim)


def test_phone_check_failed_refused(login, sim):
    """IDMOBILE error 12 (phone check failed) refuses: no link, no
    fallback, PAM_AUTH_ERR even with failmode=safe."""
    enable_nv(login, sim, methods="numverify sms", failmode="safe")
    sim.numverify_number(ALICE, error_id="12")
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "numverify_error_12", rec["_line"]
    assert res.prompts == []
    assert_no_code_sent(sim)


def test_wrong_phone_enter_first(login, sim):
    """The wrong phone opens the link while the module is polling."""
    enable_nv(login, sim)
    s = start(login)
    expect_nv_prompt(s)
    s.send("")
    sim.numverify_open(number=ALICE, from_number=OTHER)
    res = s.finish()
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "numverify_error_20"


def test_timeout(login, sim):
    """Never opened: PAM_AUTH_ERR once numverify_wait (counted from when the
    link was shown) has run out, polling every numverify_poll seconds."""
    enable_nv(login, sim, methods="numverify sms", failmode="safe")
    s = start(login)
    expect_nv_prompt(s)
    t_shown = time.monotonic()
    s.send("")
    res = s.finish()
    waited = time.monotonic() - t_shown
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "numverify_timeout", rec["_line"]
    assert WAIT - 2 <= waited <= WAIT + 3 * TIME_SCALE, \
        "ended after %.1f s\n%s" % (waited, res)
    polls = sim.requests("nv_get")
    assert 2 <= polls <= WAIT / POLL + 2, polls
    assert_no_code_sent(sim)
    assert sim.numverify_sessions()[0]["state"] == "pending"


def test_conversation_fails_at_enter_prompt(login, sim):
    enable_nv(login, sim)
    s = start(login, stdin_closed=True)
    res = s.finish()
    assert_pam(res, "PAM_CONV_ERR", "conv_error")
    assert sim.requests("nv_get") == 0


# -- ineligible numbers: the next method ---------------------------------------------

INELIGIBLE = [
    ({"eligible": False}, "09"),
    ({"error_id": "13"}, "13"),
    ({"error_id": "15"}, "15"),
]


@pytest.mark.parametrize("cfg,err", INELIGIBLE, ids=[e for _c, e in INELIGIBLE])
def test_ineligible_falls_back_to_sms(login, sim, cfg, err):
    enable_nv(login, sim, methods="numverify sms")
    sim.numverify_number(ALICE, **cfg)
    s = start(login)
    p = s.expect_prompt()
    assert p == "Verification code sent to %s: " % masked_prompt("alice"), p
    s.send_code()
    res = s.finish()
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["method"] == "sms", rec["_line"]
    assert NV_PROMPT not in res.transcript
    assert "Open this link" not in res.transcript
    msgs = sim.outbox()
    assert len(msgs) == 1 and msgs[0]["channel"] == "sms", msgs
    assert sim.requests("nv_idmobile") == 1
    assert sim.requests("nv_get") == 0


@pytest.mark.parametrize("cfg,err", INELIGIBLE, ids=[e for _c, e in INELIGIBLE])
def test_ineligible_alone_auth_err(login, sim, cfg, err):
    """Nothing else to try: a refusal, even with failmode=safe."""
    enable_nv(login, sim, failmode="safe")
    sim.numverify_number(ALICE, **cfg)
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "numverify_error_%s" % err, rec["_line"]
    assert res.prompts == []
    assert REFUSED in res.transcript, str(res)
    assert_no_code_sent(sim)


def test_ineligible_falls_back_to_email(login, sim):
    enable_nv(login, sim, methods="numverify email")
    sim.numverify_number(ALICE, eligible=False)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["method"] == "email"
    assert [m["channel"] for m in sim.outbox()] == ["email"]


def test_no_phone_next_method(login, sim):
    """numVerify cannot serve a user with no phone: the next method."""
    enable_nv(login, sim, methods="numverify email")
    login.users_lines = login.default_users_lines() + [
        "dave::Dave Nophone:dave@example.org"]
    res = login.run("dave", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["method"] == "email"
    assert sim.requests("nv_auth") == 0


def test_sms_first_when_listed_first(login, sim):
    enable_nv(login, sim, methods="sms numverify")
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["method"] == "sms"
    assert sim.requests("nv_auth") == 0


# -- outages -------------------------------------------------------------------------

# (where, what): where the trouble is; what kind
BEFORE_LINK = [
    ("nv_auth", "http500"),         # error 99, HTTP 500
    ("nv_auth", "auth"),            # error 02
    ("nv_auth", "drop"),
    ("nv_idmobile", "http500"),
    ("nv_idmobile", "auth"),
    ("nv_idmobile", "truncated"),
    ("nv_idmobile", "delay"),
    ("idmobile_error", "02"),       # configured IDMOBILE answer
    ("idmobile_error", "30"),
    ("licence", "wrong"),           # AUTH answers 02 to a wrong licence
]
WHILE_POLLING = [
    ("nv_get", "http500"),
    ("nv_get", "auth"),
    ("nv_get", "drop"),
    ("nv_get", "truncated"),
    ("nv_get", "garbage"),
    ("nv_get", "delay"),
    ("clock", "token_expired"),     # GET answers 30 once the token expired
]


def arrange(login, sim, where, what):
    if where == "idmobile_error":
        sim.numverify_number(ALICE, error_id=what)
    elif where == "licence":
        login.conf["numverify_licence"] = "NOT-THE-LICENCE"
    elif where == "clock":
        pass
    else:
        sim.fault(where, what, seconds=3.5 if what == "delay" else None)


# the failure class of each (where, what)
NV_CLASS = {
    ("nv_auth", "auth"): "credentials",
    ("nv_idmobile", "auth"): "credentials",
    ("nv_get", "auth"): "credentials",
    ("idmobile_error", "02"): "credentials",
    ("licence", "wrong"): "credentials",
    ("idmobile_error", "30"): "user",
    ("clock", "token_expired"): "user",
}


def check_outage(res, failmode, since, cls="outage"):
    rec = assert_failure(res, cls, failmode)
    if cls == "user":
        assert "took too long" in res.transcript, str(res)
    assert since is not None and since <= FAULT_BOUND, \
        "took %.2f s (bound %.1f)\n%s" % (since, FAULT_BOUND, res)
    return rec


def outage_cases(secure, safe):
    cases = [c + ("secure",) for c in secure] + [c + ("safe",) for c in safe]
    return pytest.mark.parametrize("where,what,failmode", cases,
                                   ids=["-".join(c) for c in cases])


@outage_cases(BEFORE_LINK, [("nv_auth", "http500"), ("idmobile_error", "02"),
                            ("licence", "wrong"), ("nv_auth", "auth"),
                            ("idmobile_error", "30"), ("nv_idmobile", "truncated")])
def test_outage_before_link(login, sim, where, what, failmode):
    """No link to show: the outcome of the failure's class at once (only an
    outage follows failmode), and no fallback to sms (methods = "numverify
    sms").  (A delayed IDMOBILE answered after the next test's reset starts
    no session: its token is gone.)"""
    enable_nv(login, sim, methods="numverify sms", failmode=failmode)
    arrange(login, sim, where, what)
    res = login.run("alice", [])
    assert res.prompts == [], str(res)
    check_outage(res, failmode, res.elapsed,
                 NV_CLASS.get((where, what), "outage"))
    assert "Open this link" not in res.transcript
    assert_no_code_sent(sim)
    assert sim.stats()["redirects_followed"] == 0
    assert NV_LICENCE not in res.transcript and "NOT-THE-LICENCE" not in res.transcript


@outage_cases(WHILE_POLLING, [("nv_get", "http500"), ("nv_get", "drop"),
                              ("nv_get", "auth"), ("clock", "token_expired")])
def test_outage_while_polling(login, sim, where, what, failmode):
    """The verdict is hidden by the fault: the outcome of the failure's
    class within timeout + 2 s of Enter, no fallback to sms."""
    enable_nv(login, sim, methods="numverify sms", failmode=failmode)
    arrange(login, sim, where, what)
    s = start(login)
    expect_nv_prompt(s)
    if where == "clock":
        sim.clock(601)              # the session token (600 s) expires
    else:
        sim.numverify_open(number=ALICE)   # a verdict the fault hides
    s.send("")
    res = s.finish()
    rec = check_outage(res, failmode, res.since_answer,
                       NV_CLASS.get((where, what), "outage"))
    if where == "clock":
        assert rec["reason"] == "numverify_error_30", rec["_line"]
    assert len(res.prompts) == 1
    assert_no_code_sent(sim)
    assert_no_secret(res, sim)


# failmode=safe only: the one that could open.  The secure twin (and this
# one again) is a fake-clock row in tests/unit/test_flow.c (clock_rows);
# this test keeps the real clock.
@pytest.mark.parametrize("failmode", ["safe"])
def test_enter_after_wait_refused(login, sim, failmode):
    """numverify_wait bounds the wait for the user too: the link opened on
    the phone in time, but Enter pressed after numverify_wait is refused
    (PAM_AUTH_ERR, never failmode's success) without a poll."""
    enable_nv(login, sim, failmode=failmode, numverify_wait="5")
    s = start(login)
    expect_nv_prompt(s)
    sim.numverify_open(number=ALICE)
    time.sleep(6.2)
    s.send("")
    res = s.finish()
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "numverify_timeout", rec["_line"]
    assert "took too long" in res.transcript, str(res)
    assert sim.requests("nv_get") == 0, "polled after the deadline"


def test_enter_within_wait_accepted(login, sim):
    """The twin of the test above: the same steps inside numverify_wait
    succeed."""
    enable_nv(login, sim, numverify_wait="5")
    s = start(login)
    expect_nv_prompt(s)
    sim.numverify_open(number=ALICE)
    s.send("")
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")


# -- pre-check before numVerify ------------------------------------------------------

def test_precheck_inconsistent_before_numverify(login, sim):
    enable_nv(login, sim, precheck_url=sim.server.precheck_url,
              precheck_auth=PRECHECK_AUTH)
    sim.precheck_register("13800138000", 1)
    res = login.run("alice", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "precheck_inconsistent"
    assert rec["precheck_charged"] == "1"
    assert sim.requests("nv_auth") == 0


def test_precheck_once_when_falling_back(login, sim):
    """Ineligible for numVerify, then SMS: the pre-check is asked (and
    charged) once for the login, not once per method."""
    enable_nv(login, sim, methods="numverify sms",
              precheck_url=sim.server.precheck_url, precheck_auth=PRECHECK_AUTH)
    sim.precheck_register("13800138000", 0, name="Alice Liddell")
    sim.numverify_number(ALICE, eligible=False)
    res = login.run("alice", [CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["method"] == "sms"
    assert rec["precheck_charged"] == "1"
    assert sim.requests("precheck") == 1
    assert sim.stats()["precheck_charged"] == 1


def test_precheck_consistent_then_numverify(login, sim):
    enable_nv(login, sim, precheck_url=sim.server.precheck_url,
              precheck_auth=PRECHECK_AUTH)
    sim.precheck_register("13800138000", 0, name="Alice Liddell")
    s = start(login)
    expect_nv_prompt(s)
    sim.numverify_open(number=ALICE)
    s.send("")
    res = s.finish()
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["precheck_charged"] == "1"
    assert sim.requests("precheck") == 1


# -- the QR code ---------------------------------------------------------------------

# (top module light, bottom module light) per character; a light module is
# drawn (the terminal's foreground), a dark one is a space.
QR_GLYPHS = {" ": (0, 0), "\u2584": (0, 1), "\u2580": (1, 0), "\u2588": (1, 1)}


def qr_block(transcript, url):
    """The lines of the QR code: the run of glyph-only lines after the
    link."""
    lines = transcript.split("\n")
    i = lines.index(url) + 1
    out = []
    while i < len(lines) and lines[i] and all(c in QR_GLYPHS for c in lines[i]):
        out.append(lines[i])
        i += 1
    return out


def qr_matrix(block):
    """Light (1) / dark (0) modules, top to bottom, from half-block text."""
    width = len(block[0])
    assert all(len(l) == width for l in block), "ragged QR lines"
    rows = []
    for line in block:
        rows.append([QR_GLYPHS[c][0] for c in line])
        rows.append([QR_GLYPHS[c][1] for c in line])
    if len(rows) == width + 1:          # odd side: the last half row is padding
        assert not any(rows[-1]), "padding half row is not blank"
        rows.pop()
    assert len(rows) == width, "QR is not square: %d x %d" % (width, len(rows))
    return rows


def write_pgm(path, rows, scale=8, border=4):
    n = len(rows) + 2 * border
    pix = bytearray()
    for y in range(n):
        line = bytearray()
        for x in range(n):
            yy, xx = y - border, x - border
            light = 1 if not (0 <= yy < len(rows) and 0 <= xx < len(rows)) \
                else rows[yy][xx]
            line += bytes([255 if light else 0]) * scale
        pix += bytes(line) * scale
    side = n * scale
    path.write_bytes(b"P5\n%d %d\n255\n" % (side, side) + bytes(pix))


def screen_rows(text, columns=80):
    return sum(max(1, math.ceil(len(l) / columns)) for l in text.split("\n"))


@pytest.fixture
def nv_success(login, sim):
    enable_nv(login, sim)
    s = start(login)
    expect_nv_prompt(s)
    url = sim.numverify_sessions()[0]["url"]
    sim.numverify_open(number=ALICE)
    s.send("")
    res = s.finish()
    assert_pam(res, "PAM_SUCCESS", "success")
    return res, url


def test_qr_decodes_to_the_link(nv_success, tmp_path):
    if shutil.which("zbarimg") is None:
        pytest.fail("zbarimg missing: run scripts/install-deps (zbar-tools)")
    res, url = nv_success
    block = qr_block(res.transcript, url)
    assert block, "no QR code after the link\n%s" % res
    rows = qr_matrix(block)
    # the quiet zone: the outermost modules are light
    assert all(rows[0]) and all(rows[-1]), "no quiet zone above/below"
    assert all(r[0] and r[-1] for r in rows), "no quiet zone left/right"
    img = tmp_path / "qr.pgm"
    write_pgm(img, rows)
    p = subprocess.run(["zbarimg", "--raw", "-q", str(img)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, "zbarimg could not decode the QR code: %r\n%s" % (
        p.stderr, "\n".join(block))
    assert p.stdout.rstrip("\n") == url


def test_qr_reader_rejects_broken_finders(nv_success, tmp_path):
    """Sanity check of the reader: the same matrix with a broken finder
    pattern does not decode, so the decode above proves the rendering."""
    if shutil.which("zbarimg") is None:
        pytest.fail("zbarimg missing: run scripts/install-deps (zbar-tools)")
    res, url = nv_success
    rows = qr_matrix(qr_block(res.transcript, url))
    for y in range(2, 9):           # wipe the top-left finder pattern
        for x in range(2, 9):
            rows[y][x] = 1
    for y in range(len(rows) - 9, len(rows) - 2):   # and the bottom-left one
        for x in range(2, 9):
            rows[y][x] = 1
    img = tmp_path / "broken.pgm"
    write_pgm(img, rows)
    p = subprocess.run(["zbarimg", "--raw", "-q", str(img)],
                       capture_output=True, text=True, timeout=30)
    assert p.stdout.strip() != url


def test_qr_fits_80x24(nv_success):
    res, url = nv_success
    block = qr_block(res.transcript, url)
    assert block
    assert max(len(l) for l in block) <= 80, "QR wider than 80 columns"
    assert len(block) <= 24, "QR taller than 24 lines: %d" % len(block)
    # link, explanation, QR and prompt on one 80x24 screen
    t = res.transcript
    a = t.index("Open this link")
    b = t.index(NV_PROMPT) + len(NV_PROMPT)
    shown = "\n".join(l for l in t[a:b].split("\n") if not l.startswith("PWRAP_"))
    assert screen_rows(shown) <= 24, "the numVerify screen needs %d rows:\n%s" % (
        screen_rows(shown), shown)
