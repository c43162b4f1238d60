"""Swedish and Finnish are really served, and the catalogues are complete and compiled.

The .po files are the source; the committed .mo files are what a machine without gettext serves,
so a test also checks that each .mo says exactly what its .po says (i.e. compilemessages was run).
"""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ["sv", "fi"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")  # %(name)s, %d, and str.format's {name}


def catalogue(lang: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / lang / "LC_MESSAGES" / "django.po"))


def live_entries(lang: str) -> list[polib.POEntry]:
    """Every message the code uses (obsolete ones, kept as #~ comments, are not served)."""
    return [e for e in catalogue(lang) if not e.obsolete]


def translations(entry: polib.POEntry) -> dict[str, str]:
    """{"msgstr": text} or {"msgstr[0]": singular, "msgstr[1]": plural, ...}."""
    if entry.msgid_plural:
        return {f"msgstr[{n}]": text for n, text in sorted(entry.msgstr_plural.items())}
    return {"msgstr": entry.msgstr}


@pytest.mark.core
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(lang):
    po = catalogue(lang)
    assert len(live_entries(lang)) > 300
    assert po.metadata["Plural-Forms"].startswith("nplurals=2;")
    # polib counts an entry with any empty plural form as untranslated.
    assert not [e.msgid for e in po.untranslated_entries()], f"{lang}: untranslated"
    assert not [e.msgid for e in po.fuzzy_entries()], f"{lang}: still fuzzy"
    assert po.percent_translated() == 100


@pytest.mark.core
@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_their_placeholders(lang):
    for entry in live_entries(lang):
        for key, text in translations(entry).items():
            # Every placeholder of the msgid (msgstr, msgstr[0]) or its plural (msgstr[1]) must survive.
            source = entry.msgid if key in ("msgstr", "msgstr[0]") else entry.msgid_plural
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source)), (
                f"{lang}: {entry.msgid!r} -> {text!r}"
            )


@pytest.mark.core
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_committed_mo_says_what_the_po_says(lang):
    """compilemessages was run after the last edit of the .po: the .mo, read by Python's own gettext
    as Django reads it, answers every message with the .po's text."""
    with open(LOCALE / lang / "LC_MESSAGES" / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for entry in live_entries(lang):
        msgid = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        if entry.msgid_plural:
            assert compiled.ngettext(msgid, entry.msgid_plural, 1) == entry.msgstr_plural[0], entry.msgid
            assert compiled.ngettext(msgid, entry.msgid_plural, 5) == entry.msgstr_plural[1], entry.msgid
        else:
            assert compiled.gettext(msgid) == entry.msgstr, entry.msgid


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
