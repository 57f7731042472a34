"""pam_phoneverify behind the real OpenSSH sshd.

sshd (Debian's openssh-server) runs with UsePAM yes and
AuthenticationMethods publickey,keyboard-interactive under the private PAM
service pv-e2e-sshd, whose auth stack is only pam_phoneverify.  The real
`ssh` client, on a pty, logs in as the test user with its key and answers
the keyboard-interactive prompts.

What the user sees: OpenSSH hands PAM's info/error messages to the client
only together with the next prompt, or, when authentication ends, as the
instruction of a last keyboard-interactive request with no prompt (printed
by the client at LogLevel INFO).  The assertions below are on that.
"""

# The module's default prompt for the test user's number (+86 13800138099),
# as MESSAGES.md specifies it.
PROMPT = "Verification code sent to +86 *******8099: "
OK = "PV-E2E-OK"
USER_AT = "(pve2e@127.0.0.1) "          # ssh prefixes kbd-int prompts with this


def _ok_lines(transcript):
    """Lines that are exactly the remote command's output."""
    return [l for l in transcript.split("\n") if l == OK]


def _prompts(transcript):
    return transcript.count(PROMPT)


def _accepted(sshd, since):
    return sshd.wait_log(r"^Accepted keyboard-interactive/pam for pve2e from 127\.0\.0\.1 ",
                         since, timeout=0.5)


def _failed(sshd, since):
    return sshd.wait_log(r"^Failed keyboard-interactive/pam for pve2e from 127\.0\.0\.1 ",
                         since)


def wrong(code):
    return "%06d" % ((int(code) + 1) % 1000000)


def test_right_code_runs_the_command(pv, sshd):
    since = sshd.mark()
    with sshd.spawn_ssh() as s:
        before = s.prompt()
        # the prompt is the module's, from the private service, right after
        # publickey succeeded
        assert before.endswith("\n" + USER_AT), before
        code = pv.sim.wait_code(1)
        s.answer(code)
        out = s.finish()
    assert s.exitstatus == 0, out
    assert _ok_lines(out) == [OK], out
    assert _prompts(out) == 1, out
    assert "Incorrect code" not in out and "Verification failed." not in out, out
    st = pv.sim.stats()
    assert (st["send"], st["verify"]) == (1, 1), st
    assert _accepted(sshd, since), sshd.log_since(since)
    # the publickey step came first (AuthenticationMethods publickey,kbd-int)
    assert sshd.wait_log(r"^Partial publickey for pve2e from 127\.0\.0\.1 ", since), \
        sshd.log_since(since)


def test_wrong_then_right_code(pv, sshd):
    with sshd.spawn_ssh() as s:
        s.prompt()
        code = pv.sim.wait_code(1)
        s.answer(wrong(code))
        before = s.prompt()
        assert before.endswith("\n" + USER_AT + "Incorrect code, 2 tries left.\n"), before
        s.answer(code)
        out = s.finish()
    assert s.exitstatus == 0, out
    assert _ok_lines(out) == [OK], out
    assert _prompts(out) == 2, out
    st = pv.sim.stats()
    assert (st["send"], st["verify"]) == (1, 2), st
    assert len(pv.sim.outbox()) == 1          # no second SMS for a typo


def test_three_wrong_codes_refused(pv, sshd):
    """Default max_tries=3: three wrong codes end the login (PAM_MAXTRIES:
    sshd stops offering any method, hence the empty list in 'Permission
    denied ().'), the command never runs."""
    since = sshd.mark()
    with sshd.spawn_ssh() as s:
        s.prompt()
        code = pv.sim.wait_code(1)
        s.answer(wrong(code))
        before = s.prompt()
        assert before.endswith("\n" + USER_AT + "Incorrect code, 2 tries left.\n"), before
        s.answer(wrong(code))
        before = s.prompt()
        assert before.endswith("\n" + USER_AT + "Incorrect code, 1 try left.\n"), before
        s.answer(wrong(code))
        out = s.finish()
    assert s.exitstatus == 255, out
    assert OK not in out, out
    assert _prompts(out) == 3, out
    tail = out.split(wrong(code))[-1]          # after the last answer
    assert "\nVerification failed.\n" in tail, out
    assert "pve2e@127.0.0.1: Permission denied ().\n" in tail, out
    st = pv.sim.stats()
    assert (st["send"], st["verify"]) == (1, 3), st
    assert len(pv.sim.outbox()) == 1, pv.sim.outbox()
    assert _failed(sshd, since), sshd.log_since(since)
    assert not _accepted(sshd, since), sshd.log_since(since)


def test_wrong_code_max_tries_1_refused(pv, sshd):
    pv.configure(max_tries=1)
    since = sshd.mark()
    with sshd.spawn_ssh() as s:
        s.prompt()
        code = pv.sim.wait_code(1)
        s.answer(wrong(code))
        out = s.finish()
    assert s.exitstatus == 255, out
    assert OK not in out, out
    assert _prompts(out) == 1, out
    assert "Incorrect code" not in out, out
    tail = out.split(wrong(code))[-1]
    assert "\nVerification failed.\n" in tail, out
    assert "pve2e@127.0.0.1: Permission denied ().\n" in tail, out
    st = pv.sim.stats()
    assert (st["send"], st["verify"]) == (1, 1), st
    assert _failed(sshd, since), sshd.log_since(since)
    assert not _accepted(sshd, since), sshd.log_since(since)


def test_provider_down_failmode_secure_refused(pv, sshd, dead_port):
    pv.configure(send_url="http://127.0.0.1:%d/auth/v1/verification" % dead_port,
                 failmode="secure")
    since = sshd.mark()
    with sshd.spawn_ssh() as s:
        out = s.finish()
    assert s.exitstatus == 255, out
    assert OK not in out, out
    assert _prompts(out) == 0, out             # no code was asked for
    assert "\nVerification service unavailable.\n" in "\n" + out, out
    assert "Verification failed." not in out, out
    assert "pve2e@127.0.0.1: Permission denied (keyboard-interactive).\n" in out, out
    st = pv.sim.stats()
    assert (st["send"], st["verify"]) == (0, 0), st
    assert _failed(sshd, since), sshd.log_since(since)
    assert not _accepted(sshd, since), sshd.log_since(since)


def test_provider_down_failmode_safe_refuses_a_login_from_this_host(pv, sshd, dead_port):
    """failmode=safe opens only for a login that does not come from a local
    user: an ssh login from this host's own loopback address is one (a
    local user can disturb this host's resources and make any request
    fail), so the outage refuses it as failmode=secure would.  The remote
    case (PAM_RHOST elsewhere) opens: tests/integration/test_local_origin.py."""
    pv.configure(send_url="http://127.0.0.1:%d/auth/v1/verification" % dead_port,
                 failmode="safe")
    since = sshd.mark()
    with sshd.spawn_ssh() as s:
        out = s.finish()
    assert s.exitstatus == 255, out
    assert OK not in out, out
    assert _prompts(out) == 0, out
    assert "\nVerification service unavailable.\n" in "\n" + out, out
    assert _failed(sshd, since), sshd.log_since(since)
    assert not _accepted(sshd, since), sshd.log_since(since)
