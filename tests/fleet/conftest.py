"""Fixtures of the fleet tests (`state = etcd`, SPEC section 8).

One 3-member etcd cluster with TLS and client certificates for the whole
session (etcdcluster.py), stopped at the end whatever happens; the provider
simulator; and "hosts": module worlds of tests/integration/pvtest.py (each
with its own state_dir, passwd, pam.d) configured for the same cluster.
"""

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "integration"))

from cdriver import build_driver  # noqa: E402
from etcdcluster import Cluster, make_pki  # noqa: E402
from pvtest import (BUILD, REPO, Login, cleanup_pam_dirs,  # noqa: E402
                    fresh_client, serve, snapshot_artifacts)

STATE_TIMEOUT = 2


def pytest_sessionfinish(session, exitstatus):
    cleanup_pam_dirs()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("etcd-pki"))


@pytest.fixture(scope="session")
def etcd_cluster(tmp_path_factory, pki):
    base = tmp_path_factory.mktemp("etcd")
    os.chmod(base, 0o700)
    c = Cluster(base, pki)
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture
def cluster(etcd_cluster):
    """The session's cluster with every member up and healthy (a test
    before may have killed some)."""
    etcd_cluster.start()
    return etcd_cluster


@pytest.fixture(scope="session")
def sim_server():
    yield from serve(None)


@pytest.fixture
def sim(sim_server):
    s = fresh_client(sim_server)
    # many codes to one number at once, from one address
    s.limits(per_number_seconds=0, per_ip_per_hour=1000000)
    return s


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    d = tmp_path_factory.mktemp("build")
    os.chmod(d, 0o755)
    return snapshot_artifacts(d)


def etcd_conf(cluster, pki, prefix, order=None):
    return {
        "state": "etcd",
        "state_endpoints": cluster.endpoints(order),
        "state_cafile": str(pki["ca"]),
        "state_client_cert": str(pki["client"]),
        "state_client_key": str(pki["client_key"]),
        "state_prefix": prefix,
        "state_timeout": str(STATE_TIMEOUT),
    }


@pytest.fixture
def prefix(request):
    """A key prefix of this test's own, so tests never see each other's
    records."""
    return "/pvtest/%s/" % request.node.name.replace("[", "-").strip("]")


@pytest.fixture
def host(sim, tmp_path, artifacts, cluster, pki, prefix):
    """host(name, order=None): a module world (own state_dir) using the
    cluster; order: endpoint order as member indexes."""
    def make(name, order=None):
        d = tmp_path / name
        d.mkdir()
        h = Login(sim, None, d, artifacts)
        h.conf.update(etcd_conf(cluster, pki, prefix, order))
        # the provider is not under test here: 50 logins at once on a
        # loaded machine must not time out against the simulator
        h.conf.update(timeout="15", connect_timeout="5")
        h.name = name
        return h
    return make


@pytest.fixture(scope="session")
def probe_tool(tmp_path_factory):
    """tests/fleet/probe.c linked against the build's libpvcore.a: calls
    pv_state_etcd_probe (what `check-config --probe` shows) without the
    CLI."""
    out = tmp_path_factory.mktemp("probe") / "pv_etcd_probe"
    return build_driver(BUILD, REPO, HERE / "probe.c", out)
