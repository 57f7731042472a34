"""The documentation agrees with the tree: every link between documents
and every repository file a document or a --help text names exists."""
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("PV_BUILD", os.path.join(ROOT, "build"))

# the folders of the repository a path in a document can start with
TOP = ("pam_phoneverify/", "conf/", "scripts/", "tests/", "doc/", "man/", "debian/",
       "po/", "mk/", ".ci/")
PATH = re.compile(r"(?<![\w./-])((?:%s)[\w./-]*[\w/])" % "|".join(re.escape(t) for t in TOP))
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def documents():
    docs = ["README.md"]
    for folder in ("doc", "tests", "tests/e2e", "tests/fleet", "tests/fuzz",
                   "tests/integration", "tests/package"):
        for name in sorted(os.listdir(os.path.join(ROOT, folder))):
            if name.endswith(".md"):
                docs.append(os.path.join(folder, name))
    docs += [os.path.join("man", n) for n in sorted(os.listdir(os.path.join(ROOT, "man")))]
    return docs


def exists(rel):
    rel = rel.rstrip(".")
    if any(ch in rel for ch in "*{}<>"):
        return True         # a pattern, not a file
    return os.path.exists(os.path.join(ROOT, rel))


@pytest.mark.parametrize("doc", documents())
def test_every_link_and_named_file_exists(doc):
    text = open(os.path.join(ROOT, doc), encoding="utf-8").read()
    missing = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue        # an address, not a file
        rel = os.path.normpath(os.path.join(os.path.dirname(doc), target))
        if not os.path.exists(os.path.join(ROOT, rel)):
            missing.append("link " + target)
    for rel in PATH.findall(text):
        if not exists(rel):
            missing.append(rel)
    assert missing == [], "%s names what the repository lacks: %s" % (doc, missing)


@pytest.mark.parametrize("argv", [
    [os.path.join(ROOT, "scripts", "phoneverify-sim"), "--help"],
    [os.path.join(BUILD, "phoneverify"), "--help"],
])
def test_help_names_only_what_exists(argv):
    res = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    text = res.stdout + res.stderr
    assert "SPEC" not in text, "--help cites a document outside the repository"
    missing = [rel for rel in PATH.findall(text) if not exists(rel)]
    assert missing == [], missing


def test_checkdocs_finds_an_undocumented_key(tmp_path):
    """scripts/checkdocs (make lint) fails on a key the man page and the
    example lack, and on a table wider than the page."""
    import shutil
    for part in ("pam_phoneverify", "man", "conf"):
        shutil.copytree(os.path.join(ROOT, part), tmp_path / part)
    src = tmp_path / "pam_phoneverify" / "config" / "pv_config.c"
    text = src.read_text().replace('    K_BOOL(debug, "no"),',
                                   '    K_BOOL(debug, "no"),\n    K_BOOL(brand_new_key, "no"),')
    src.write_text(text)
    page = tmp_path / "man" / "phoneverify.1"
    page.write_text(page.read_text() + ".TS\nl l.\n%s\tx\n.TE\n" % ("w" * 120))
    res = subprocess.run([os.path.join(ROOT, "scripts", "checkdocs"), str(tmp_path)],
                         capture_output=True, text=True)
    assert res.returncode == 1
    assert "pam_phoneverify.conf.5: key brand_new_key is not described" in res.stdout
    assert "conf/pam_phoneverify.conf: key brand_new_key is missing" in res.stdout
    assert "man/phoneverify.1" in res.stdout and "wider" in res.stdout, res.stdout
