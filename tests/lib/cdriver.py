"""C test drivers linked against the build's libpvcore.a (the library
the module, the helper and the CLI share): tests/fleet/probe.c,
tests/integration/pv_views.c."""

import os
import subprocess
from pathlib import Path

import pytest


def build_driver(build, repo, src, out):
    """Compile src into out against build/libpvcore.a, with the project's
    warnings as errors; PV_TEST_LDFLAGS is added to the link (the
    sanitizers, when build is an ASan build: mk/sanitize.mk).  Fails the
    test with the compiler's output when it does not build."""
    lib = Path(build) / "libpvcore.a"
    if not lib.exists():
        pytest.fail("%s not built: run `make all`" % lib)
    cc = os.environ.get("CC", "cc")
    r = subprocess.run([cc, "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra",
                        "-Werror", "-I", str(Path(repo) / "pam_phoneverify"),
                        "-o", str(out), str(src), str(lib),
                        "-lcjson", "-lqrencode", "-lcrypt", "-lm"]
                       + os.environ.get("PV_TEST_LDFLAGS", "").split(),
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail("building %s failed:\n%s%s"
                    % (Path(src).name, r.stdout, r.stderr))
    return out
