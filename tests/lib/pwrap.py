"""pam_wrapper for a suite that runs in several pytest-xdist workers.

pam_wrapper copies a client's service directory to `/tmp/pam.X` (X a
random letter or digit) and removes the copy when the client exits.  A
client that a test kills (an abandoned login) leaves its copy behind, and
pam_wrapper's check for such stale copies (read the pid file, see the
process gone, remove the directory, mkdir it again) is not atomic: two
clients starting at the same moment can both remove and recreate the same
`/tmp/pam.X`, and one of them then reads the other's service files, i.e.
another test's module options.  Within one worker clients start one at a
time (or, in the parallel-login tests, with the same configuration); across
workers they would not.

So each worker preloads its own copy of Debian 12's libpam_wrapper.so whose
directory template is `/tmp/p<N>m.X` instead of `/tmp/pam.X` (N: one
character per worker): workers never share a directory name, and nothing
else in the library changes.  The template is an 8-byte immediate
("/tmp/pam", a `movabs` into %rax) followed by a store of "m.X"; only its
7th byte is replaced, and only when it occurs exactly once.  Any other
build of pam_wrapper fails here with a clear message: run the suite in
one process then (PV_TEST_JOBS=1, see the Makefile).
"""

import os
import re
from pathlib import Path

SYSTEM_LIB = "libpam_wrapper.so"
_SEARCH = ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")
# movabs $"/tmp/pam", %rax
_TEMPLATE = b"\x48\xb8/tmp/pam"
_WORKER_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def worker_index():
    """0, 1, ... for xdist worker gw0, gw1, ...; None outside xdist."""
    m = re.fullmatch(r"gw(\d+)", os.environ.get("PYTEST_XDIST_WORKER", ""))
    return int(m.group(1)) if m else None


def dir_prefix():
    """What this process's clients' copies start with (`/tmp/pam.`)."""
    i = worker_index()
    return "/tmp/pam." if i is None else "/tmp/p%sm." % _WORKER_CHARS[i]


def _system_lib():
    for d in _SEARCH:
        p = Path(d) / SYSTEM_LIB
        if p.is_file():
            return p.resolve()
    raise RuntimeError("libpam_wrapper.so not found in %s (install "
                       "libpam-wrapper: scripts/install-deps)" % (_SEARCH,))


def preload(build):
    """The pam_wrapper library for LD_PRELOAD: the system's outside xdist,
    else this worker's copy (made once, under build/pwrap/)."""
    i = worker_index()
    if i is None:
        return SYSTEM_LIB
    if i >= len(_WORKER_CHARS):
        raise RuntimeError("at most %d pytest-xdist workers (PV_TEST_JOBS)"
                           % len(_WORKER_CHARS))
    src = _system_lib()
    data = src.read_bytes()
    if data.count(_TEMPLATE) != 1:
        raise RuntimeError(
            "%s: pam_wrapper's '/tmp/pam.X' template not found once; this "
            "suite can only run in parallel with Debian 12's libpam-wrapper "
            "(run it in one process: PV_TEST_JOBS=1)" % src)
    patched = data.replace(_TEMPLATE, _TEMPLATE[:8] + _WORKER_CHARS[i]
                           .encode() + b"m")
    out = Path(build) / "pwrap" / ("libpam_wrapper-gw%d.so" % i)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.is_file() or out.read_bytes() != patched:
        tmp = out.with_suffix(".tmp%d" % os.getpid())
        tmp.write_bytes(patched)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    return str(out)
