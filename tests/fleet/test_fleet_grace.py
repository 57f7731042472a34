"""SPEC sections 3 and 8 on a real etcd cluster: grace grants stay on the
host that granted them.

- a grant is written to the host's local file store under state_dir, never
  to the user's etcd record, and another host does not honour it;
- a grant line that an outside writer puts into the user's etcd record
  (anyone who can write under the prefix) is not honoured: the grant key
  is a hash of public values, so forging one is easy, and the old code
  honoured it with any end time;
- a lockout or `phoneverify unlock` on host B ends host A's grants (the
  user's "grants void before" time is in the shared record, and only ever
  takes grants away)."""

import hashlib
import subprocess
import time

from hardening_util import CLI, write_world
from pvtest import CODE, NO_LIMITS, TIME_SCALE, assert_pam, wrong_code

RHOST = "203.0.113.9"   # pvtest's default: a remote login
FAR = 253402300799      # the latest instant a record holds


def netstring(s):
    b = s.encode()
    return b"%d:" % len(b) + b + b","


def forged_keys(user, rhost, group):
    """The grant keys of a remote login (no PAM_RUSER, no PAM_TTY), as the
    format of version 1 (item tty) and of version 2 (item session) compute
    them: SHA-256 over public values only."""
    v1 = (b"pv-grace 1\n" + netstring(user) + b"+" + netstring(rhost) +
          b"-" + b"-" + netstring(group))
    v2 = (b"pv-grace 2\n" + netstring(user) + b"+" + netstring(rhost) +
          b"-" + b"-" + netstring(group))
    return hashlib.sha256(v1).hexdigest(), hashlib.sha256(v2).hexdigest()


def live_grants(record):
    """Grant lines of an etcd record other than the module's nonce (a
    grant that has ended, "grant <64 hex> 0 0", under a random key: read
    by every version, honoured by none; pv_state_etcd.c)."""
    lines = [ln for ln in record.split("\n") if ln.startswith("grant ")]
    nonces = [ln for ln in lines
              if len(ln.split()) == 4 and ln.endswith(" 0 0")]
    assert len(nonces) <= 1, record
    return [ln for ln in lines if ln not in nonces]


def grace_hosts(host, *names, grace="300"):
    hs = [host(n) for n in names]
    for h in hs:
        h.conf["grace"] = grace
    return hs


def assert_code(h, **kw):
    res = h.run("alice", [CODE], **kw)
    assert_pam(res, "PAM_SUCCESS", "success")
    assert len(res.prompts) == 1, str(res)
    assert "state=degraded" not in res.transcript, str(res)
    return res


def assert_grace(h, **kw):
    res = h.run("alice", [], **kw)
    assert_pam(res, "PAM_SUCCESS", "grace")
    assert res.prompts == [], str(res)
    return res


def test_grant_stays_in_the_local_store(host, sim, cluster, prefix):
    sim.limits(**NO_LIMITS)
    a, b = grace_hosts(host, "host-a", "host-b")
    assert_code(a)
    assert_grace(a)
    assert not live_grants(cluster.get(prefix + "user/alice")), \
        "a grant was written to etcd"
    local = (a.state_dir / "u-alice").read_text()
    assert "grant " in local, local
    # host B never granted anything
    assert_code(b)


def test_forged_grant_in_etcd_is_not_honoured(host, sim, cluster, prefix):
    """An outside etcd writer gives alice a grant for every version's key
    format, with an end far in the future."""
    sim.limits(**NO_LIMITS)
    (a,) = grace_hosts(host, "host-a")
    now = int(time.time())
    v1, v2 = forged_keys("alice", RHOST, "service sshd")
    for lines in (["grant %s %d" % (v1, FAR)],
                  ["grant %s %d %d" % (v2, FAR, now - 10)]):
        cluster.ctl("put", prefix + "user/alice",
                    "pv-state 1\n" + "\n".join(lines) + "\nend\n")
        assert_code(a)
        # the login's own grant went to the local store: forget it
        (a.state_dir / "u-alice").unlink()
    # a grant that host B wrote into etcd (an older version did) is
    # refused just the same
    assert_code(a)
    record = cluster.get(prefix + "user/alice")
    assert not live_grants(record), record


def test_lockout_on_another_host_ends_grants(host, sim, cluster, prefix):
    sim.limits(**NO_LIMITS)
    lock = max(2, int(2 * TIME_SCALE))
    a, b = grace_hosts(host, "host-a", "host-b", grace="600")
    for h in (a, b):
        h.conf.update(lockout_failures="2", max_tries="1",
                      lockout_time=str(lock))
    assert_code(a)
    assert_grace(a)
    for _ in range(2):
        b.run("alice", [wrong_code])
    res = a.run("alice", [])
    assert_pam(res, "PAM_PERM_DENIED", "locked")
    time.sleep(lock + 1)
    assert_code(a)     # the old grant did not come back with the lock's end
    assert_grace(a)    # the new one works


def test_unlock_on_another_host_ends_grants(host, sim, cluster, prefix):
    sim.limits(**NO_LIMITS)
    a, b = grace_hosts(host, "host-a", "host-b")
    assert_code(a)
    assert_grace(a)
    time.sleep(1)      # the grant is earned before the unlock's second
    write_world(b)
    env = {"PATH": "/usr/bin:/bin", "LD_PRELOAD": "libnss_wrapper.so",
           "NSS_WRAPPER_PASSWD": str(b.passwd),
           "NSS_WRAPPER_GROUP": str(b.group)}
    r = subprocess.run([str(CLI), "--conf", str(b.conf_path), "unlock",
                        "alice"], capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 0 and "alice: unlocked" in r.stdout, r
    assert_code(a)


def test_lockout_seen_once_survives_the_record(host, sim, cluster, prefix):
    """Once host A has seen the shared "grants void" time, its own store
    forgets the grants for good: the user's etcd record expiring or being
    rewritten from outside does not bring them back."""
    sim.limits(**NO_LIMITS)
    lock = max(2, int(2 * TIME_SCALE))
    a, b = grace_hosts(host, "host-a", "host-b", grace="600")
    for h in (a, b):
        h.conf.update(lockout_failures="2", max_tries="1",
                      lockout_time=str(lock))
    assert_code(a, rhost="203.0.113.21")
    assert_code(a, rhost="203.0.113.22")
    for _ in range(2):
        b.run("alice", [wrong_code])
    time.sleep(lock + 1)
    assert_code(a, rhost="203.0.113.21")
    cluster.ctl("del", prefix + "user/alice")
    assert_code(a, rhost="203.0.113.22")
