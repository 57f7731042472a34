"""Integration harness for pam_phoneverify: pytest options and fixtures.

Runs the real module (build/pam_phoneverify.so) and its helper
(build/phoneverify-http) through pamtester under pam_wrapper + nss_wrapper,
against the local provider simulator (scripts/phoneverify-sim), without
touching /etc.  Helpers live in pvtest.py; see README.md.

Over HTTP by default; `--pv-tls` (or PV_TEST_TLS=1) switches the whole suite
to HTTPS with a CA and server certificate generated at test time.
"""

import os

import pytest

from pvtest import (BUILD, HELPER, MODULE, Login, cleanup_pam_dirs,
                    fresh_client, make_ca, make_server_cert, serve,
                    snapshot_artifacts)


# ---------------------------------------------------------------------------
# pytest options
# ---------------------------------------------------------------------------

def pytest_addoption(parser):
    parser.addoption("--pv-tls", action="store_true", default=False,
                     help="run the suite over HTTPS (also: PV_TEST_TLS=1)")


def _tls_enabled(config):
    env = os.environ.get("PV_TEST_TLS", "")
    return bool(config.getoption("--pv-tls")) or env not in ("", "0", "no")


def pytest_report_header(config):
    return ["pam_phoneverify: transport=%s build=%s"
            % ("https" if _tls_enabled(config) else "http", BUILD)]


def pytest_configure(config):
    config.addinivalue_line("markers", "tls_only: only meaningful over HTTPS")
    config.addinivalue_line("markers", "http_only: only meaningful over HTTP")
    config.addinivalue_line("markers", "transport: the way to the provider "
                            "(what the HTTPS pass runs, see TRANSPORT_FILES)")


def pytest_sessionfinish(session, exitstatus):
    cleanup_pam_dirs()


# What the HTTPS pass of `make check-integration` runs (`-m "transport or
# tls_only"`): the way to the provider, which is all TLS changes.  The
# decisions (codes, lockout, budget, grace, failover, fail-open) are taken
# on the helper's answer, the same over HTTP and HTTPS, and run in the HTTP
# pass only.  These are the files about the wire and the helper: TLS
# material and the environment's TLS variables, faults on the wire, local
# failures of the helper, its limits and its privilege drop; plus single
# tests elsewhere that check TLS material.  Every tls_only test runs too.
TRANSPORT_FILES = frozenset((
    "test_tls_material.py",
    "test_env_tls.py",
    "test_faults.py",
    "test_local_failures.py",
    "test_resource_limits.py",
    "test_helper_privilege.py",
))
TRANSPORT_TESTS = frozenset((
    "test_config_errors.py::test_cafile_world_writable_refused",
))


def _is_transport(item):
    name = os.path.basename(str(item.fspath))
    return (name in TRANSPORT_FILES
            or "%s::%s" % (name, item.originalname) in TRANSPORT_TESTS)


# tryfirst: the markers are in place before `-m` deselects.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    tls = _tls_enabled(config)
    for item in items:
        if _is_transport(item):
            item.add_marker(pytest.mark.transport)
        if tls and item.get_closest_marker("http_only"):
            item.add_marker(pytest.mark.skip(reason="HTTP pass only"))
        if not tls and item.get_closest_marker("tls_only"):
            item.add_marker(pytest.mark.skip(reason="HTTPS pass only"))



@pytest.fixture(scope="session")
def tls_material(request, tmp_path_factory):
    """None over HTTP; over HTTPS a dict with ca, cert, key, other_ca."""
    if not _tls_enabled(request.config):
        return None
    d = tmp_path_factory.mktemp("tls")
    os.chmod(d, 0o755)
    ca = make_ca(d, "ca")
    cert, key = make_server_cert(d, "ca")
    other_ca = make_ca(d / "other", "otherca")
    return {"ca": ca, "cert": cert, "key": key, "other_ca": other_ca}


@pytest.fixture(scope="session")
def sim_server(tls_material):
    yield from serve(tls_material)


@pytest.fixture
def sim(sim_server):
    """The simulator, reset to its initial state for this test."""
    return fresh_client(sim_server)


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """(module, helper) the tests run: a snapshot of the build taken at the
    start of the session (PV_TEST_NO_SNAPSHOT=1: the build files
    themselves)."""
    if os.environ.get("PV_TEST_NO_SNAPSHOT", "") not in ("", "0"):
        return MODULE, HELPER
    d = tmp_path_factory.mktemp("build")
    os.chmod(d, 0o755)
    return snapshot_artifacts(d)


@pytest.fixture
def login(sim, tls_material, tmp_path, artifacts):
    return Login(sim, tls_material, tmp_path, artifacts)


@pytest.fixture
def new_login(sim, tls_material, tmp_path, artifacts):
    """Factory for additional independent worlds in one test."""
    n = [0]

    def make():
        n[0] += 1
        d = tmp_path / ("world%d" % n[0])
        d.mkdir()
        return Login(sim, tls_material, d, artifacts)
    return make


