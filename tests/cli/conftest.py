"""Fixtures of the `phoneverify` CLI tests (see test_cli.py and
cliworld.py)."""

import os
import shutil

import pytest

from cliworld import ARTIFACTS, BUILD, World, fresh_client, serve


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory):
    """(cli, module, helper): a snapshot of the build, so that a rebuild
    during the run cannot hand a test a half-written file."""
    missing = [a for a in ARTIFACTS if not (BUILD / a).exists()]
    if missing:
        pytest.fail("not built: %s (run `make all`)" % ", ".join(missing))
    d = tmp_path_factory.mktemp("build")
    os.chmod(d, 0o755)
    out = []
    for a in ARTIFACTS:
        shutil.copyfile(BUILD / a, d / a)
        # the helper execute-only, as installed (doc/security.md)
        os.chmod(d / a, 0o711 if a == "phoneverify-http" else 0o755)
        out.append(d / a)
    return tuple(out)


@pytest.fixture(scope="session")
def sim_server():
    yield from serve(None)


@pytest.fixture
def sim(sim_server):
    return fresh_client(sim_server)


@pytest.fixture
def world(tmp_path, artifacts):
    """A world whose provider URLs point at a closed port (no simulator
    needed: configuration, lookup, state, enroll, break-glass)."""
    return World(tmp_path, artifacts)


@pytest.fixture
def sim_world(tmp_path, artifacts, sim):
    """A world whose provider is the simulator."""
    return World(tmp_path, artifacts, sim.server)
