"""`language` (SPEC 3): every message the user sees in the configured
language, syslog records English key=value.  The catalogue is the one
`make` built (BUILD/locale), named through `locale_dir`."""

import pytest

from pvtest import BUILD, CODE, assert_pam
from test_config_errors import assert_config_error

ZH_PROMPT = "验证码已发送至 [^\r\n]+?： "


@pytest.fixture
def zh_login(login):
    login.conf.update(language="zh_CN", locale_dir=str(BUILD / "locale"))
    login.prompt_regex = lambda: ZH_PROMPT
    return login


def test_zh_CN_prompt_and_messages(zh_login, sim):
    zh_login.conf["max_tries"] = "2"
    s = zh_login.start("alice")
    s.expect_prompt()
    assert "+86 *******8000" in s.prompts[-1]
    s.send("000000" if sim.latest_code() != "000000" else "111111")
    s.expect("验证码错误，还可以再试 1 次。")
    s.expect_prompt()
    s.send_code()
    res = s.finish()
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    # the log record is not translated
    assert rec["outcome"] == "success" and rec["method"] == "sms"
    assert "验证" not in " ".join("%s=%s" % kv for kv in rec.items()
                                  if not kv[0].startswith("_"))


def test_zh_CN_refusal_message(zh_login, sim):
    zh_login.conf["max_tries"] = "1"
    res = zh_login.run("alice", [lambda c: "%06d" % ((int(c) + 1) % 10**6)])
    assert_pam(res, "PAM_MAXTRIES", "maxtries")
    assert "验证失败。" in res.transcript, str(res)
    assert "Verification failed." not in res.transcript, str(res)


def test_english_by_default(login, sim):
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "Verification code sent to +86 *******8000: " in res.transcript


def test_unknown_language_is_a_configuration_error(login, sim):
    login.conf.update(language="xx_YY", locale_dir=str(BUILD / "locale"),
                      failmode="safe")
    res = login.run("alice", [])
    assert_config_error(res, sim)
    assert "language = xx_YY: no catalogue" in res.transcript, str(res)


def test_language_name_cannot_leave_locale_dir(login, sim):
    login.conf.update(language="../../etc")
    res = login.run("alice", [])
    assert_config_error(res, sim)
