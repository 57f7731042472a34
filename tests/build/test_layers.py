"""The layers of pam_phoneverify/ (scripts/layers, doc/architecture.md) are
enforced by scripts/checksrc, which `make lint` runs: an include from a
higher layer, an include loop and an include that names no folder fail.
Each case edits a copy of the sources, never the tree."""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def tree(tmp_path):
    shutil.copytree(os.path.join(ROOT, "pam_phoneverify"), tmp_path / "pam_phoneverify")
    shutil.copytree(os.path.join(ROOT, "scripts"), tmp_path / "scripts")
    return tmp_path


def checksrc(tree):
    files = []
    for d, _, names in os.walk(tree / "pam_phoneverify"):
        files += [os.path.join(d, n) for n in sorted(names) if n.endswith((".c", ".h"))]
    return subprocess.run([str(tree / "scripts" / "checksrc")] + files,
                          capture_output=True, text=True)


def add_include(path, header):
    text = path.read_text()
    at = text.index("#include")
    path.write_text(text[:at] + '#include "%s"\n' % header + text[at:])


def test_the_tree_passes(tree):
    res = checksrc(tree)
    assert res.returncode == 0, res.stdout + res.stderr


def test_every_source_folder_is_a_layer():
    layers = open(os.path.join(ROOT, "scripts", "layers")).read()
    named = {line.split("#")[0].split(":")[0].strip() for line in layers.splitlines()} - {""}
    folders = {n for n in os.listdir(os.path.join(ROOT, "pam_phoneverify"))
               if os.path.isdir(os.path.join(ROOT, "pam_phoneverify", n))}
    assert folders == named


def test_upward_include_fails(tree):
    # the lowest layer reaching up to the flow
    add_include(tree / "pam_phoneverify" / "base" / "pv_util.c", "flow/pv_flow.h")
    res = checksrc(tree)
    assert res.returncode == 1
    assert ("base/pv_util.c:" in res.stdout and
            "base/ includes flow/pv_flow.h from flow/, a layer above it" in res.stdout)


def test_config_reaching_into_state_fails(tree):
    # one of the arrows issue 18 removed: configuration -> state
    add_include(tree / "pam_phoneverify" / "config" / "pv_config.c", "state/pv_state.h")
    res = checksrc(tree)
    assert res.returncode == 1
    assert "config/ includes state/pv_state.h from state/" in res.stdout


def test_helper_may_not_grow_into_the_library(tree):
    add_include(tree / "pam_phoneverify" / "helper" / "phoneverify_http.c",
                "config/pv_config.h")
    res = checksrc(tree)
    assert res.returncode == 1
    assert "helper/ includes config/pv_config.h from config/" in res.stdout


def test_include_loop_in_one_folder_fails(tree):
    # pv_lookup.h includes pv_phone.h: the phone including lookup closes a loop
    add_include(tree / "pam_phoneverify" / "identity" / "pv_phone.h",
                "identity/pv_lookup.h")
    res = checksrc(tree)
    assert res.returncode == 1
    assert "include loop:" in res.stdout
    assert "identity/pv_lookup" in res.stdout and "identity/pv_phone" in res.stdout


def test_loop_through_a_c_file_fails(tree):
    # a .c and its .h are one file: pv_state.c using the etcd backend's
    # header while that header includes pv_state.h is the loop issue 18 cut
    add_include(tree / "pam_phoneverify" / "state" / "pv_state.c",
                "state/pv_state_etcd.h")
    res = checksrc(tree)
    assert res.returncode == 1
    assert "include loop: state/pv_state -> state/pv_state_etcd -> state/pv_state" in res.stdout


def test_include_without_folder_fails(tree):
    add_include(tree / "pam_phoneverify" / "flow" / "pv_flow.c", "pv_util.h")
    res = checksrc(tree)
    assert res.returncode == 1
    assert 'names no folder' in res.stdout


def test_unknown_folder_fails(tree):
    os.makedirs(tree / "pam_phoneverify" / "extra")
    (tree / "pam_phoneverify" / "extra" / "pv_x.c").write_text('#include "base/pv_util.h"\n')
    res = checksrc(tree)
    assert res.returncode == 1
    assert "folder extra is not in scripts/layers" in res.stdout
