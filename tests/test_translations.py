"""Swedish and Finnish are really served, and the catalogues are complete and compiled.

The .po files are the source; the committed .mo files are what a machine without gettext serves,
so a test also checks that each .mo says exactly what its .po says (i.e. compilemessages was run).
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ["sv", "fi"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")  # %(name)s, %d, and str.format's {name}


def _unquote(line: str) -> str:
    body = line[line.index('"') + 1 : line.rindex('"')]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file as dicts: msgid, msgid_plural (maybe), msgstr / msgstr[N], flags.

    Just enough of the format for makemessages' output; no dependency on polib."""
    entries, entry, key = [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if entry and "msgid" in entry:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry if entry is not None else {"flags": set()}
        if line.startswith("#,"):
            entry["flags"].update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += _unquote(line)
        else:
            key = line.split(" ", 1)[0]
            entry[key] = _unquote(line)
    return [e for e in entries if e["msgid"]]  # drop the header


def _translations(entry: dict) -> list[str]:
    return [value for key, value in entry.items() if key.startswith("msgstr")]


@pytest.mark.core
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(lang):
    entries = parse_po(LOCALE / lang / "LC_MESSAGES" / "django.po")
    assert len(entries) > 300
    empty = [e["msgid"] for e in entries if any(not s for s in _translations(e))]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert not empty, f"{lang}: untranslated {empty}"
    assert not fuzzy, f"{lang}: still fuzzy {fuzzy}"


@pytest.mark.core
@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_their_placeholders(lang):
    for entry in parse_po(LOCALE / lang / "LC_MESSAGES" / "django.po"):
        for key, text in entry.items():
            if not key.startswith("msgstr"):
                continue
            # Every placeholder of the msgid (msgstr[0]) or its plural (msgstr[1]) must survive.
            source = entry.get("msgid_plural", entry["msgid"]) if key != "msgstr[0]" else entry["msgid"]
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source)), (
                f"{lang}: {entry['msgid']!r} -> {text!r}"
            )


@pytest.mark.core
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_committed_mo_says_what_the_po_says(lang):
    """compilemessages was run after the last edit of the .po."""
    folder = LOCALE / lang / "LC_MESSAGES"
    with open(folder / "django.mo", "rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    for entry in parse_po(folder / "django.po"):
        if "msgid_plural" in entry:
            assert catalogue.ngettext(entry["msgid"], entry["msgid_plural"], 1) == entry["msgstr[0]"]
            assert catalogue.ngettext(entry["msgid"], entry["msgid_plural"], 5) == entry["msgstr[1]"]
        else:
            assert catalogue.gettext(entry["msgid"]) == entry["msgstr"], entry["msgid"]


@pytest.mark.core
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lang", "title", "everything_fine"),
    [
        ("sv", "Driftstatus", "Allt fungerar som det ska."),
        ("fi", "Palvelujen tila", "Kaikki toimii niin kuin pitää."),
    ],
)
def test_the_status_page_speaks_the_chosen_language(client, lang, title, everything_fine):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    response = client.get("/status/")
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Language"] == lang
    assert f"<h1>{title}</h1>" in html
    assert everything_fine in html
    assert "Service status" not in html


@pytest.mark.core
@pytest.mark.django_db
def test_the_login_page_in_finnish(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fi"
    html = client.get(reverse("login")).content.decode()
    assert "<h1>Kirjaudu sisään</h1>" in html
    assert "Käyttäjätunnus" in html and "Salasana" in html
    # A wrong password is explained in Finnish too.
    response = client.post(reverse("login"), {"username": "nobody", "password": "wrong"})
    assert "Käyttäjätunnus ja salasana eivät täsmänneet. Yritä uudelleen." in response.content.decode()


@pytest.mark.core
@pytest.mark.django_db
def test_a_finnish_customer_reads_their_own_pages_in_finnish(client, bob):
    """No cookie: the language comes from the customer's profile."""
    client.post(reverse("login"), {"username": "bob", "password": "pw-bob"})
    html = client.get(reverse("tickets:my_tickets")).content.decode()
    assert "Hei Bob Berg" in html
    assert "Omat tukipyynnöt" in html and "Kirjoita meille" in html
    assert "Et ole vielä kirjoittanut meille." in html


@pytest.mark.core
@pytest.mark.django_db
def test_a_swedish_agent_gets_the_work_screens_in_swedish(client, agent):
    client.post(reverse("login"), {"username": "anna", "password": "pw-anna"})
    html = client.get(reverse("tickets:queue"), HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Eskaleringar" in html and "Incidenter" in html and "Mina ärenden" in html
