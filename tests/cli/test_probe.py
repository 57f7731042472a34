"""`phoneverify check-config --probe` (SPEC 6): each configured endpoint
called once through the module's transport, nothing sent to any phone,
and what was found said in words."""


def test_probe_reaches_the_simulator_and_sends_nothing(sim_world, sim):
    r = sim_world.cli("check-config", "--probe")
    assert r.returncode == 0, r
    assert "probe send_url %s: reachable, credentials accepted" \
        % sim_world.conf["send_url"] in r.stdout, r
    assert "probe verify_url %s: reachable, credentials accepted" \
        % sim_world.conf["verify_url"] in r.stdout, r
    assert sim.outbox() == [], "a probe must not text anyone"
    assert sim.requests("send") == 1 and sim.requests("verify") == 1


def test_probe_names_rejected_credentials(sim_world, sim):
    sim_world.set(send_auth="bearer:not-the-token")
    r = sim_world.cli("check-config", "--probe")
    assert r.returncode == 1, r
    assert "probe send_url" in r.stderr and \
        "rejected our credentials" in r.stderr, r
    assert "not-the-token" not in r.stdout + r.stderr
    assert "probe verify_url %s: reachable" % sim_world.conf["verify_url"] \
        in r.stdout, r


def test_probe_names_an_unreachable_endpoint(world):
    """world's URLs point at a closed loopback port."""
    r = world.cli("check-config", "--probe")
    assert r.returncode == 1, r
    assert "cannot connect (refused or unreachable) (transport_connect)" \
        in r.stderr, r


def test_without_probe_nothing_is_called(sim_world, sim):
    r = sim_world.cli("check-config")
    assert r.returncode == 0, r
    assert sim.requests("send") == 0 and sim.requests("verify") == 0
