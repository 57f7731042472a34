"""SPEC 5: "the user is resolved once (getpwnam_r) and its canonical
pw_name is what lookup, groups, state and logs use (case-insensitive
directories such as SSSD with AD return alice for ALICE)".

The directory is nss_wrapper's files plus a small case-insensitive NSS
module built here (tests/integration/nss/nss_pvci.c), loaded through
NSS_WRAPPER_MODULE_SO_PATH / NSS_WRAPPER_MODULE_FN_PREFIX: ALICE, Alice
and alice are one account, so they share one state record and one
lockout."""

import shutil
import subprocess
from pathlib import Path

import pytest

from hardening_util import cli_status, file_failures
from pvtest import CODE, assert_pam, wrong_code

NSS_SRC = Path(__file__).resolve().parent / "nss" / "nss_pvci.c"
LOCKED = "Too many failed attempts; try again later."


@pytest.fixture(scope="module")
def nss_module(tmp_path_factory):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("no C compiler to build the test NSS module")
    out = tmp_path_factory.mktemp("nss") / "libnss_pvci.so"
    subprocess.run([cc, "-shared", "-fPIC", "-Wall", "-Wextra", "-Werror",
                    "-o", str(out), str(NSS_SRC)], check=True)
    return out


@pytest.fixture
def ci_login(login, nss_module):
    login.env_extra.update({
        "NSS_WRAPPER_MODULE_SO_PATH": str(nss_module),
        "NSS_WRAPPER_MODULE_FN_PREFIX": "pvci",
        "PV_NSS_CI_PASSWD": str(login.passwd),
    })
    return login


def state_files(login):
    return sorted(p.name for p in login.state_dir.iterdir()
                  if not p.name.endswith((".lock", ".tmp")))


def test_typed_case_resolves_to_canonical_name(ci_login, sim):
    """ALICE logs in as alice: the users-file entry of alice is used, the
    record says user=alice, and the state is alice's."""
    res = ci_login.run("ALICE", [wrong_code, CODE])
    rec = assert_pam(res, "PAM_SUCCESS", "success")
    assert rec["user"] == "alice", rec["_line"]
    assert state_files(ci_login) == ["u-alice"], state_files(ci_login)


def test_spellings_share_one_lockout(ci_login, sim):
    """One wrong code each as ALICE, Alice and alice reaches
    lockout_failures=3 for the one account: the next spelling is locked
    out, and one record holds it all."""
    ci_login.conf.update(lockout_failures="3", max_tries="1",
                         send_limit="1000")
    sim.limits(per_number_seconds=0, per_ip_per_hour=1000000)
    for name in ("ALICE", "Alice"):
        res = ci_login.run(name, [wrong_code])
        rec = assert_pam(res, "PAM_MAXTRIES", "maxtries")
        assert rec["user"] == "alice", rec["_line"]
    assert file_failures(ci_login, "alice") == 2
    res = ci_login.run("alice", [wrong_code])
    assert res.record["pam"] in ("PAM_MAXTRIES", "PAM_PERM_DENIED"), str(res)
    res = ci_login.run("aLiCe", [])
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    assert LOCKED in res.transcript, str(res)
    assert state_files(ci_login) == ["u-alice"], state_files(ci_login)
    assert cli_status(ci_login, "alice")[0]


def test_unknown_spelling_still_unknown(ci_login, sim):
    """The module asks the directory, it does not fold case itself: a name
    no source knows stays unknown (refused, nothing sent)."""
    res = ci_login.run("ALICEX", [])
    rec = assert_pam(res, "PAM_AUTH_ERR", "denied")
    assert rec["reason"] == "unknown_user", rec["_line"]
    assert sim.requests("send") == 0
