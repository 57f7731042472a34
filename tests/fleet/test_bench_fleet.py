"""scripts/bench-fleet counts what etcd counts (doc/fleet.md).

A short run (1 s, 10 logins/s, 2 hosts) of the benchmark's load against a
cluster of this test's own (so no other test's requests or leases are in
the counters), then the numbers it reported are compared, as counts and
never as timings, with what the test asks etcd itself: the members'
grpc_server_handled_total, `etcdctl lease list`.

The expected sequence is the module's today (pv_state_etcd.c): per
successful login 1 range, 1 lease grant, 4 txns, and a conflict adds a
failed txn and a range.  The redesign of issue 20 (leases bounded by hosts,
fewer requests) changes these constants, and this test with them."""

import importlib.machinery
import importlib.util
import os
from pathlib import Path

from etcdcluster import Cluster, make_pki

REPO = Path(__file__).resolve().parents[2]


def load_bench():
    path = str(REPO / "scripts" / "bench-fleet")
    loader = importlib.machinery.SourceFileLoader("bench_fleet", path)
    spec = importlib.util.spec_from_loader("bench_fleet", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_bench_counters_match_etcd(tmp_path):
    bench = load_bench()
    os.chmod(tmp_path, 0o700)
    pki = make_pki(tmp_path / "pki")
    (tmp_path / "etcd").mkdir(mode=0o700)
    cluster = Cluster(tmp_path / "etcd", pki)
    try:
        cluster.start()
        calls0 = cluster.grpc_calls()
        [row] = bench.bench(cluster, pki, rates=[10], seconds=1, users=1000,
                            hosts=2, variants=["today"])
        calls1 = cluster.grpc_calls()
        listed = cluster.ctl("lease", "list")
    finally:
        cluster.stop()
    print("\nbench-fleet short run: %r" % row)
    ok, cas = row["ok"], row["conflicts"]
    assert row["logins"] == 10 and ok == 10, row
    assert row["failed"] == 0 and row["timed_out"] == 0, row
    # what the benchmark reported is what etcd counted
    state = sum(calls1.get(k, 0) - calls0.get(k, 0)
                for k in bench.STATE_METHODS)
    assert row["requests"] == state, (row, calls0, calls1)
    # and it is the module's sequence: 6 requests, 5 proposals a login
    assert row["requests"] == 6 * ok + 2 * cas, row
    assert calls1.get("LeaseGrant", 0) - calls0.get("LeaseGrant", 0) == ok
    assert row["proposals"] == 5 * ok + cas, row
    # one live lease per login today (issue 20 will bound it by hosts)
    assert listed.startswith("found %d leases" % row["live_leases"]), listed
    assert row["live_leases"] == ok, row
