"""`phoneverify check-config --service NAME`: the pam_phoneverify.so rules
of a PAM service are checked with exactly the arguments libpam gives the
module, so a PAM-line typo is found before it refuses every login (SPEC 6).
The service files live in a private directory (--pam-dir)."""


def write_service(world, name, text):
    d = world.dir / "svc"
    d.mkdir(exist_ok=True)
    (d / name).write_text(text)
    (d / name).chmod(0o644)
    return d


def test_good_rules_through_includes(world):
    d = write_service(world, "common-pv",
                      "auth required %s conf=%s failmode=safe\n"
                      % (world.module, world.conf_path))
    write_service(world, "sshd", "@include common-auth-none\n"
                  "auth substack common-pv\naccount required pam_permit.so\n")
    write_service(world, "common-auth-none", "auth required pam_permit.so\n")
    r = world.cli("check-config", "--service", "sshd", "--pam-dir", d)
    assert r.returncode == 0, r
    assert "%s/common-pv:1: pam_phoneverify.so: OK" % d in r.stdout, r
    assert "service sshd: configuration OK" in r.stderr, r


def test_typo_on_pam_line_found_like_the_module(world):
    """failmod=safe passed the old check-config and then refused every
    login: now both say the same, with the rule's file and line."""
    line = "auth required %s conf=%s failmod=safe" % (world.module,
                                                      world.conf_path)
    d = write_service(world, "sudo", "# sudo\n" + line + "\n")
    r = world.cli("check-config", "--service", "sudo", "--pam-dir", d)
    assert r.returncode == 1, r
    assert "%s/sudo:2: configuration error: argument 'failmod': unknown " \
           "key 'failmod'" % d in r.stderr, r
    # the module, given the same line, refuses with the same words
    res = world.pam("alice", conf="%s failmod=safe" % world.conf_path)
    assert res.record["pam"] == "PAM_SERVICE_ERR", res
    assert any("unknown key 'failmod'" in e for e in res.config_errors()), res


def test_secret_on_pam_line_reported(world):
    d = write_service(world, "login", "auth required pam_phoneverify.so "
                      "conf=%s send_auth=bearer:SeCrEt\n" % world.conf_path)
    r = world.cli("check-config", "--service", "login", "--pam-dir", d)
    assert r.returncode == 1, r
    assert "send_auth holds a secret" in r.stderr, r
    assert "SeCrEt" not in r.stdout + r.stderr, r


def test_proxy_on_pam_line_reported_with_file_and_line(world):
    """proxy may hold the proxy's password (http://user:pw@host): like
    the other secret keys it is accepted only in the 0600 file, and
    check-config names the rule's file and line."""
    d = write_service(world, "su", "# su\nauth required pam_phoneverify.so "
                      "conf=%s proxy=http://u:SeCrEt@127.0.0.1:3128\n"
                      % world.conf_path)
    r = world.cli("check-config", "--service", "su", "--pam-dir", d)
    assert r.returncode == 1, r
    assert "%s/su:2: configuration error: argument 'proxy': proxy holds a " \
           "secret" % d in r.stderr, r
    assert "SeCrEt" not in r.stdout + r.stderr, r


def test_service_without_the_module(world):
    d = write_service(world, "cron", "auth required pam_unix.so\n")
    r = world.cli("check-config", "--service", "cron", "--pam-dir", d)
    assert r.returncode == 1, r
    assert "has no pam_phoneverify.so rule" in r.stderr, r


def test_missing_service_and_bad_names(world):
    d = write_service(world, "x", "auth required pam_permit.so\n")
    r = world.cli("check-config", "--service", "nope", "--pam-dir", d)
    assert r.returncode == 1 and "nope" in r.stderr, r
    r = world.cli("check-config", "--service", "../etc/passwd", "--pam-dir", d)
    assert r.returncode == 1 and "not a PAM service name" in r.stderr, r
    r = world.cli("check-config", "--service")
    assert r.returncode == 2, r
