"""TLS material is read by the module and handed to the helper as data
(SPEC 5, issue 9 item 1): the helper, unprivileged, opens no file the
module trusts, and the CA file is checked together with every directory
above it."""
import os
import shutil

import pytest

from pvtest import CODE, assert_pam


@pytest.mark.tls_only
def test_root_only_ca_file_reaches_the_helper_as_data(login, sim,
                                                      tls_material, tmp_path):
    """A CA readable by root alone, in a directory only root may enter: the
    helper (running as nobody when we are root) could not open it by name,
    yet TLS is verified against it."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    ca = private / "ca.pem"
    shutil.copyfile(tls_material["ca"], ca)
    os.chmod(ca, 0o600)
    login.conf["cafile"] = str(ca)
    res = login.run("alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")


@pytest.mark.tls_only
@pytest.mark.parametrize("mode", [0o775, 0o757])
def test_ca_below_writable_directory_refused(login, sim, tls_material,
                                             tmp_path, mode):
    """A root-owned 0644 CA file in a directory others may write: whoever
    can write there could swap in their own CA.  Nothing is sent."""
    shared = tmp_path / "shared"
    shared.mkdir()
    ca = shared / "ca.pem"
    shutil.copyfile(tls_material["ca"], ca)
    os.chmod(ca, 0o644)
    os.chmod(shared, mode)
    login.conf["cafile"] = str(ca)
    res = login.run("alice", [])
    assert_pam(res, "PAM_SERVICE_ERR", "config_error")
    assert "a directory above %s" % ca in res.transcript, str(res)
    assert sim.requests("send") == 0
