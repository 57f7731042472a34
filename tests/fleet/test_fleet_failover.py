"""SPEC section 8 on a real etcd cluster: what the first round left.

- provider endpoint health is fleet-wide: an entry that failed on host A is
  skipped by host B's logins for 60 s (the reserved record
  `<prefix>health`, a key of its own, outside every user record), and used again
  once the mark has passed (played by moving the mark into the past);
- a break-glass code whose hash is listed on two hosts works once: the use
  is recorded as a key of its own, `<prefix>bgused/<sha256 of the hash>`,
  created only where none is (compare on create_revision 0) and with no
  lease, before the code is accepted, so host B refuses it, also after the
  user's record expired (issue 17, item 8);
- while `state=degraded` no break-glass code is accepted: its single use
  cannot be proven fleet-wide."""

import os
import re
import shutil

import pytest

from pvtest import CODE, NO_LIMITS, assert_pam, second_sim
from test_decisions import breakglass_login, issue_breakglass

HEALTH = "health"
ENDPOINT_RE = re.compile(r"^endpoint ([0-9a-f]{64}) (\d+)$", re.M)


@pytest.fixture
def other():
    """A second simulator: entry 1 of both hosts, stopped afterwards."""
    yield from second_sim(None)


def two_entries(h, first, second):
    h.conf["send_url"] = "%s %s" % (first.server.send_url,
                                    second.server.send_url)
    h.conf["verify_url"] = "%s %s" % (first.server.verify_url,
                                      second.server.verify_url)


def test_entry_health_is_shared_by_hosts(host, sim, other, cluster, prefix):
    a, b = host("host-a"), host("host-b")
    for h in (a, b):
        two_entries(h, other, sim)
    other.fault("send", "http500")
    res = a.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert other.requests("send") == 1 and sim.requests("send") == 1
    marks = ENDPOINT_RE.findall(cluster.get(prefix + HEALTH))
    assert len(marks) == 1, "the failed entry is not marked in etcd"
    assert not (a.state_dir / "health").exists(), \
        "the mark went to the local store"

    # host B has never seen entry 1 fail, and skips it
    other.clear_faults()
    res = b.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    assert "state=degraded" not in res.transcript, str(res)
    assert other.requests("send") == 1 and sim.requests("send") == 2

    # 60 s later (the mark moved into the past) entry 1 is back for B
    record = cluster.get(prefix + HEALTH)
    cluster.ctl("put", prefix + HEALTH,
                ENDPOINT_RE.sub(lambda m: "endpoint %s 1" % m.group(1),
                                record) + "\n")
    s = b.start("alice")
    s.expect_prompt()
    s.send(other.latest_code())
    assert_pam(s.finish(), "PAM_SUCCESS", "success")
    assert other.requests("send") == 2 and sim.requests("send") == 2


def test_used_breakglass_code_refused_on_other_host(host, sim, cluster,
                                                    prefix):
    a, b = host("host-a"), host("host-b")
    codes = issue_breakglass(a, n=1)
    # host B lists the very same hash
    b.conf["breakglass_file"] = str(b.dir / "breakglass")
    shutil.copyfile(a.conf["breakglass_file"], b.conf["breakglass_file"])
    os.chmod(b.conf["breakglass_file"], 0o600)
    sim.fault("any", "http500")

    res = breakglass_login(a, codes[0])
    assert_pam(res, "PAM_SUCCESS", "breakglass")
    assert "state=degraded" not in res.transcript, str(res)
    assert claims(cluster, prefix) == 1

    res = breakglass_login(b, codes[0])
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    # and B's line of it is gone too
    assert codes[0] and "alice:" not in open(b.conf["breakglass_file"]).read()


def claims(cluster, prefix):
    """How many break-glass claims are stored under the prefix."""
    out = cluster.ctl("get", "--prefix", prefix + "bgused/", "--keys-only")
    return len([k for k in out.split("\n") if k.strip()])


def listed_on_both(a, b, n=1):
    """n codes whose hashes are in both hosts' break-glass files."""
    codes = issue_breakglass(a, n=n)
    b.conf["breakglass_file"] = str(b.dir / "breakglass")
    shutil.copyfile(a.conf["breakglass_file"], b.conf["breakglass_file"])
    os.chmod(b.conf["breakglass_file"], 0o600)
    return codes


def test_claim_outlives_the_user_record(host, sim, cluster, prefix):
    """A code used on host A; then the user's record expires (its lease
    revoked, as ~25 h of idleness would): host B, whose file still lists
    the hash, refuses the code.  The claim key has no lease."""
    a, b = host("host-a"), host("host-b")
    codes = listed_on_both(a, b)
    sim.fault("any", "http500")
    res = breakglass_login(a, codes[0])
    assert_pam(res, "PAM_SUCCESS", "breakglass")
    assert "state=degraded" not in res.transcript, str(res)

    # the record expires: its lease revoked (the key goes with it)
    out = cluster.ctl("get", prefix + "user/alice", "-w", "json")
    lease = re.search(r'"lease":(\d+)', out)
    if lease:
        cluster.ctl("lease", "revoke", "%x" % int(lease.group(1)))
    cluster.ctl("del", prefix + "user/alice", check=False)
    assert cluster.get(prefix + "user/alice") == ""

    res = breakglass_login(b, codes[0])
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert "state=degraded" not in res.transcript, str(res)
    (key,) = [k for k in cluster.ctl("get", "--prefix", prefix + "bgused/",
                                     "--keys-only").split("\n") if k.strip()]
    assert '"lease"' not in cluster.ctl("get", key, "-w", "json")
    # B's line of it is gone too; one claim in all
    assert "alice:" not in open(b.conf["breakglass_file"]).read()
    assert claims(cluster, prefix) == 1


def test_degraded_refuses_breakglass(host, sim, cluster, prefix):
    """Every etcd member down: the login degrades to the local store, and a
    valid break-glass code is refused (no proof it was not used on another
    host meanwhile); its line stays for when etcd is back."""
    a = host("host-a")
    codes = issue_breakglass(a, n=1)
    before = open(a.conf["breakglass_file"]).read()
    sim.fault("any", "http500")
    cluster.stop()
    res = breakglass_login(a, codes[0])
    assert_pam(res, "PAM_AUTHINFO_UNAVAIL", "unavailable")
    assert "state=degraded" in res.transcript, str(res)
    assert "fleet-wide" in res.transcript, str(res)
    assert open(a.conf["breakglass_file"]).read() == before
    # etcd back: the same code works (once)
    cluster.start()
    res = breakglass_login(a, codes[0])
    assert_pam(res, "PAM_SUCCESS", "breakglass")
    assert "state=degraded" not in res.transcript, str(res)
