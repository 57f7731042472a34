"""Every message a user sees is translatable and translated (SPEC 3
`language`): the template po/pam_phoneverify.pot is what xgettext finds in
the sources today, and every message in it has a translation in each
catalogue make builds (BUILD/locale/LANG/LC_MESSAGES/pam_phoneverify.mo),
checked by opening the .mo itself."""
import gettext
import glob
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("PV_BUILD", os.path.join(ROOT, "build"))
SOURCES = sorted(glob.glob(os.path.join(ROOT, "pam_phoneverify", "**", "*.[ch]"),
                           recursive=True))
LANGS = [os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "po", "*.po"))]


def msgids(pot_text):
    """The msgids of a .pot (C escapes resolved), header excluded."""
    ids = []
    cur = None
    for line in pot_text.splitlines() + [""]:
        if line.startswith("msgid "):
            cur = [line[6:]]
        elif cur is not None and line.startswith('"'):
            cur.append(line)
        elif cur is not None:
            text = "".join(c.strip()[1:-1] for c in cur)
            text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
            if text:
                ids.append(text)
            cur = None
    return ids


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    out = tmp_path_factory.mktemp("pot") / "now.pot"
    subprocess.run(["xgettext", "--language=C", "--keyword=N_",
                    "--from-code=UTF-8", "--omit-header", "--no-location",
                    "-o", str(out)] + SOURCES, check=True)
    return msgids(out.read_text())


def test_template_is_up_to_date(template):
    committed = msgids(open(os.path.join(ROOT, "po", "pam_phoneverify.pot")).read())
    assert sorted(template) == sorted(committed), \
        "po/pam_phoneverify.pot is stale: run `make po-update`"
    assert len(template) >= 15


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(template, lang):
    mo = os.path.join(BUILD, "locale", lang, "LC_MESSAGES", "pam_phoneverify.mo")
    with open(mo, "rb") as f:
        cat = gettext.GNUTranslations(f)
    missing = [m for m in template if cat.gettext(m) == m]
    assert missing == [], "%s lacks translations for: %r" % (lang, missing)
    for m in template:
        # the same printf conversions, in the same order (pv_i18n.c would
        # otherwise fall back to English at run time)
        conv = re.findall(r"%[-+ #0-9.lhzjt]*[diouxXscp]", m)
        assert re.findall(r"%[-+ #0-9.lhzjt]*[diouxXscp]", cat.gettext(m)) == conv, m


def test_zh_CN_is_shipped():
    assert "zh_CN" in LANGS
