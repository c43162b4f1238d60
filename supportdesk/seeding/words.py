"""Words for generated people and tickets, as literal data: names, streets, ticket subjects and
descriptions per language, and the weights the bulk loader draws categories, channels, priorities,
statuses and connections with. Subjects carry the words the text matcher knows."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = {
    "se": _words(
        "Anna Eva Maria Karin Sara Lena Emma Kristina Elin Ingrid Astrid Maja Linnea Ebba Sofia Ulla "
        "Erik Lars Karl Anders Johan Per Nils Mikael Jan Olof Oskar Lucas Gustav Axel Henrik Sven"
    ),
    "fi": _words(
        "Aino Eeva Helmi Sanna Kaisa Liisa Tuula Minna Johanna Laura Anni Elina Riikka Satu "
        "Juha Mikko Timo Jari Matti Antti Pekka Ville Eero Onni Väinö Jukka Teemu Lauri Kalle"
    ),
}
LAST_NAMES = {
    "se": _words(
        "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson "
        "Lindberg Lindqvist Bergström Lundgren Sjöberg Holm Åberg Ekström Nyström Wallin Forsberg Sandberg"
    ),
    "fi": _words(
        "Korhonen Virtanen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen Järvinen "
        "Lehtonen Lehtinen Saarinen Salminen Heinonen Niemi Heikkilä Kinnunen Salonen Turunen Lindholm"
    ),
}
STREETS = {
    "se": _words(
        "Storgatan Drottninggatan Kungsgatan Sveavägen Vasagatan Skolgatan Kyrkogatan Parkvägen "
        "Björkvägen Ringvägen Strandvägen Järnvägsgatan"
    ),
    "fi": _words(
        "Mannerheimintie Hämeenkatu Aleksanterinkatu Puistokatu Koulukatu Rantatie Kirkkokatu "
        "Asemakatu Koivukuja Mäkitie Satamakatu Tehtaankatu"
    ),
}
ASCII_FOLD = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "Å": "a", "Ä": "a", "Ö": "o"})
MAIL_DOMAINS = ("example.com", "example.net", "example.org")  # reserved: a demo never mails a real person

# (service code or category) → language → subjects. Subjects carry the words the text matcher knows.
SUBJECTS: dict[str, dict[str, tuple[str, ...]]] = {
    "broadband": {
        "sv": ("Ingen internetanslutning", "Bredbandet är långsamt", "Routern tappar uppkopplingen"),
        "fi": ("Ei internetyhteyttä", "Laajakaista on hidas", "Reititin katkaisee yhteyden"),
        "en": ("No internet connection", "Broadband very slow", "Router keeps dropping the connection"),
    },
    "dsl": {
        "sv": ("ADSL-modemet blinkar rött", "Ingen internetanslutning via DSL"),
        "fi": ("ADSL-yhteys katkeilee", "DSL-modeemin valo vilkkuu punaisena"),
        "en": ("DSL line keeps dropping", "DSL modem light blinking red"),
    },
    "mobile-4g": {
        "sv": ("Mobilt bredband fungerar inte", "Ingen 4G-täckning vid sommarstugan"),
        "fi": ("Mobiilidata ei toimi", "Ei 4G-kuuluvuutta mökillä"),
        "en": ("Mobile data not working", "No 4G coverage at the summer house"),
    },
    "mobile-5g": {
        "sv": ("5G-routern hittar inget nät",),
        "fi": ("5G-reititin ei löydä verkkoa",),
        "en": ("5G router finds no network",),
    },
    "email": {
        "sv": ("Kan inte skicka e-post", "Mejlen kommer inte fram", "E-posten fungerar inte"),
        "fi": ("Sähköposti ei toimi", "En pysty lähettämään sähköpostia"),
        "en": ("E-mail not working", "Cannot send e-mail"),
    },
    "iptv": {
        "sv": ("TV-boxen startar om", "Inga TV-kanaler"),
        "fi": ("Digiboksi käynnistyy uudelleen", "TV-kanavat eivät näy"),
        "en": ("TV box keeps restarting", "No TV channels"),
    },
    "voip": {
        "sv": ("Fast telefoni fungerar inte", "Ingen kopplingston i IP-telefonin"),
        "fi": ("Lankapuhelin ei toimi", "IP-puhelimessa ei valintaääntä"),
        "en": ("Landline has no dial tone", "IP phone cannot make calls"),
    },
    "billing": {
        "sv": ("Fel belopp på fakturan", "Fråga om faktura", "Dubbeldebitering i mars"),
        "fi": ("Lasku on väärin", "Kysymys laskusta"),
        "en": ("Wrong amount on my invoice", "Question about my bill"),
    },
    "sales": {
        "sv": ("Vill uppgradera till snabbare bredband", "Flytt till ny adress"),
        "fi": ("Haluan nopeamman liittymän", "Muutto uuteen osoitteeseen"),
        "en": ("I want to upgrade my plan", "Moving to a new address"),
    },
    "other": {
        "sv": ("Ändra kontaktuppgifter",),
        "fi": ("Yhteystietojen muutos",),
        "en": ("Change my contact details",),
    },
}
DESCRIPTIONS = {
    "sv": (
        "Har startat om utrustningen men det hjälper inte.",
        "Det har varit så sedan i morse. Vad kan ni göra?",
        "Problemet kommer och går, värst på kvällarna.",
    ),
    "fi": (
        "Käynnistin laitteen uudelleen, mutta se ei auttanut.",
        "Näin on ollut aamusta asti. Mitä voitte tehdä?",
        "Vika tulee ja menee, pahin iltaisin.",
    ),
    "en": (
        "I restarted the equipment but it did not help.",
        "It has been like this since this morning. What can you do?",
        "The problem comes and goes, worst in the evenings.",
    ),
}

CATEGORY_WEIGHTS = (("technical", 70), ("billing", 18), ("sales", 7), ("other", 5))
CHANNEL_WEIGHTS = (("phone", 40), ("email", 25), ("web", 20), ("chat", 12), ("api", 3))
PRIORITY_WEIGHTS = ((2, 70), (1, 10), (3, 15), (4, 5))
OPEN_STATUS_WEIGHTS = (("new", 35), ("open", 35), ("pending-customer", 15), ("escalated", 15))

# A customer's first subscription, among what the area offers (``bulk._pick_connection``).
CONNECTION_WEIGHTS = (("broadband", 62), ("dsl", 12), ("mobile-4g", 16), ("mobile-5g", 6), ("email", 4))
