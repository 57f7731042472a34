"""Which state writes are made durable (pv_state_file.c), seen with strace.

A recorded failure must survive a crash: its rename is followed by an
fsync of state_dir.  Updates a crash may undo safely (the pending code,
the reset on success) fsync only the record's data, so what is on disk is
always a whole record, old or new; they skip the directory fsync.
Skipped when strace is not installed.
"""

import os
import re
import shutil

import pytest

import pvtest
from pvtest import CODE, assert_pam, wrong_code

STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace not installed")

SYNC_RE = re.compile(r"\b(fsync|fdatasync)\((\d+)<([^>]*)>\)")


def traced(login, monkeypatch, user, entries):
    """Run one login under strace; (result, the trace's fsync and rename
    lines in order as (kind, path) with kind "data", "dir" or "rename")."""
    trace = login.dir / "strace.txt"
    if "ASAN_OPTIONS" in os.environ:
        # LeakSanitizer cannot run under ptrace; the sanitizer pass still
        # checks every other login for leaks
        login.env_extra["ASAN_OPTIONS"] = \
            os.environ["ASAN_OPTIONS"] + ":detect_leaks=0"
    monkeypatch.setattr(pvtest, "RUNNER", [
        STRACE, "-f", "-qq", "-y", "-o", str(trace),
        "-e", "trace=fsync,fdatasync,rename,renameat,renameat2"])
    res = login.run(user, entries)
    state = str(login.state_dir)
    events = []
    for line in trace.read_text().split("\n"):
        m = SYNC_RE.search(line)
        if m:
            events.append(("dir" if m.group(3) == state else "data",
                           m.group(3)))
        elif "rename" in line and "(" in line and "= 0" in line:
            events.append(("rename", line))
    return res, events


def record_writes(events):
    """[(fsync'ed its data first, fsync'ed the directory after)] per
    rename of a state record."""
    writes = []
    data = False
    for i, (kind, path) in enumerate(events):
        if kind == "data":
            data = data or path.endswith(".tmp")
        elif kind == "rename":
            after = events[i + 1][0] == "dir" if i + 1 < len(events) else False
            writes.append((data, after))
            data = False
    return writes


def test_success_reset_is_not_fsynced_to_the_directory(login, sim,
                                                        monkeypatch):
    res, events = traced(login, monkeypatch, "alice", [CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    writes = record_writes(events)
    # at least: count the send (send_limit), remember the pending code,
    # record the guess, reset on success
    assert len(writes) >= 4, events
    # every record is whole on disk before its rename
    assert all(data for data, _dir in writes), events
    # the send counted against send_limit is durable (as every field not
    # known to be safe to lose); the pending code and the reset on success
    # may roll back in a crash
    assert writes[0] == (True, True), events
    assert writes[1] == (True, False), events
    assert writes[-1] == (True, False), events


def test_recorded_failure_is_durable(login, sim, monkeypatch):
    res, events = traced(login, monkeypatch, "alice",
                         [lambda c: wrong_code(c), CODE])
    assert_pam(res, "PAM_SUCCESS", "success")
    writes = record_writes(events)
    assert all(data for data, _dir in writes), events
    # the wrong entry's failure: its rename is followed by a directory
    # fsync before the login goes on; the final reset is not
    assert any(d for _data, d in writes[:-1]), events
    assert writes[-1] == (True, False), events
    dirs = sum(1 for d in writes if d[1])
    assert dirs < len(writes), events
