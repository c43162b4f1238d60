"""Demo and scale data for a believable Nordic operator (Sweden and Finland).

Three layers, each idempotent:

* ``ensure_catalogue()`` — services, the area tree (country → region → municipality →
  postcode/exchange) with service availability per leaf, and equipment models.
* ``load_scale_data(customers=N)`` — N generated customers with phones, subscriptions and about as
  many tickets, written in bulk (COPY on PostgreSQL, batched INSERTs elsewhere). The matching
  benchmark reuses it. Re-running tops up to N instead of duplicating.
* ``seed_demo()`` — the above plus demo logins (one per role), a handful of named customers whose
  tickets are opened through ``tickets.services.ticket_open`` (so matching runs), and two incidents:
  an e-mail outage across Sweden and a known defect of the ZyXEL VMG3625.

Bulk tickets skip the services on purpose: a million ``ticket_open`` calls would take hours, and
they are history (mostly closed) rather than events anybody must be told about.
"""

from __future__ import annotations

import io
import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.color import no_style
from django.db import DatabaseError, connection, models, transaction
from django.utils import timezone

from core import roles
from customers.models import Area, Customer, CustomerPhone, EquipmentModel, Service, Subscription
from tickets import sla
from tickets.models import Ticket

Out = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


# --- Catalogue -----------------------------------------------------------------------------------

SERVICES: dict[str, tuple[str, str]] = {
    "broadband": ("Fibre broadband", "Fibre to the home, 100/100 to 1000/1000 Mbit/s."),
    "dsl": ("DSL broadband", "ADSL/VDSL over the copper telephone line."),
    "mobile-4g": ("Mobile broadband 4G", "4G/LTE router for home or summer house."),
    "mobile-5g": ("Mobile broadband 5G", "5G fixed-wireless router."),
    "email": ("E-mail", "Mailbox with IMAP/SMTP and webmail."),
    "iptv": ("IPTV", "TV over broadband with a set-top box."),
    "voip": ("IP telephony", "Landline number over broadband with a phone adapter (ATA)."),
}
ALL_SERVICES = tuple(SERVICES)

# code, vendor, model, firmware
EQUIPMENT: list[tuple[str, str, str, str]] = [
    ("zyxel-vmg8825", "ZyXEL", "VMG8825-T50", "V5.50(ABPY.1)C0"),
    ("zyxel-vmg3625", "ZyXEL", "VMG3625-T20A", "V5.30(ABPW.3)C0"),  # the batch with the known defect
    ("zyxel-nr7101", "ZyXEL", "NR7101 5G", "V1.00(ABUV.6)C0"),
    ("huawei-hg8245h", "Huawei", "EchoLife HG8245H", "V3R017C10S131"),
    ("huawei-b535", "Huawei", "B535-232 4G router", "11.0.3.1"),
    ("technicolor-tg789", "Technicolor", "TG789vac v2", "16.3.7636"),
    ("nokia-g240w", "Nokia", "G-240W-F ONT", "3FE49362IJHK46"),
    ("nokia-fastmile-5g", "Nokia", "FastMile 5G Gateway 3", "R22.06"),
    ("iopsys-eg400", "Inteno/Iopsys", "EG400", "IOPSYS-5.3.4"),
    ("amino-kamai7", "Amino", "Kamai 7 set-top box", "18.3.1"),
    ("grandstream-ht802", "Grandstream", "HT802 ATA", "1.0.43.11"),
]
KNOWN_DEFECT_EQUIPMENT = "zyxel-vmg3625"

# Which equipment a subscription of each service gets, with weights.
EQUIPMENT_FOR_SERVICE: dict[str, list[tuple[str | None, int]]] = {
    "broadband": [
        ("zyxel-vmg8825", 30),
        ("huawei-hg8245h", 20),
        ("nokia-g240w", 20),
        ("iopsys-eg400", 15),
        ("zyxel-vmg3625", 15),
    ],
    "dsl": [("technicolor-tg789", 45), ("zyxel-vmg3625", 55)],
    "mobile-4g": [("huawei-b535", 100)],
    "mobile-5g": [("nokia-fastmile-5g", 60), ("zyxel-nr7101", 40)],
    "email": [(None, 100)],
    "iptv": [("amino-kamai7", 100)],
    "voip": [("grandstream-ht802", 100)],
}

NO_MOBILE = frozenset({"mobile-4g", "mobile-5g"})
URBAN = ALL_SERVICES  # cities: everything, 5G included
TOWN = tuple(s for s in ALL_SERVICES if s != "mobile-5g")
RURAL = ("dsl", "mobile-4g", "email", "voip", "iptv")  # no fibre dug yet
ISLAND = ("dsl", "email", "voip")  # story 5: no 4G (nor 5G, nor fibre) out in the archipelago


@dataclass(frozen=True)
class Leaf:
    code: str
    name: str
    services: tuple[str, ...]
    kind: str = Area.Kind.POSTCODE


@dataclass(frozen=True)
class Municipality:
    code: str
    name: str
    weight: int  # share of customers, roughly by population
    leaves: tuple[Leaf, ...]


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    municipalities: tuple[Municipality, ...]


def _pc(country: str, postcode: str, place: str, services: tuple[str, ...] = URBAN) -> Leaf:
    pretty = f"{postcode[:3]} {postcode[3:]}" if country == "se" else postcode
    return Leaf(f"{country}-{postcode}", f"{pretty} {place}", services)


def _ex(code: str, name: str, services: tuple[str, ...] = RURAL) -> Leaf:
    return Leaf(code, name, services, Area.Kind.EXCHANGE)


COUNTRIES: dict[str, tuple[str, tuple[Region, ...]]] = {
    "se": (
        "Sverige",
        (
            Region(
                "se-ab",
                "Stockholms län",
                (
                    Municipality(
                        "se-ab-0180",
                        "Stockholm",
                        40,
                        (
                            _pc("se", "11122", "Stockholm (Norrmalm)"),
                            _pc("se", "11346", "Stockholm (Vasastan)"),
                            _pc("se", "11420", "Stockholm (Östermalm)"),
                            _pc("se", "11646", "Stockholm (Södermalm)"),
                            _pc("se", "12630", "Hägersten"),
                            _pc("se", "16440", "Kista"),
                        ),
                    ),
                    Municipality(
                        "se-ab-0184",
                        "Solna",
                        6,
                        (_pc("se", "16970", "Solna"), _pc("se", "17164", "Solna (Råsunda)")),
                    ),
                    Municipality(
                        "se-ab-0182",
                        "Nacka",
                        7,
                        (_pc("se", "13130", "Nacka"), _pc("se", "13150", "Saltsjö-Duvnäs", TOWN)),
                    ),
                    Municipality(
                        "se-ab-0120",
                        "Värmdö",
                        3,
                        (_pc("se", "13940", "Värmdö", TOWN), _pc("se", "13039", "Sandhamn", ISLAND)),
                    ),
                    Municipality(
                        "se-ab-0188",
                        "Norrtälje",
                        3,
                        (_pc("se", "76130", "Norrtälje", TOWN), _pc("se", "76017", "Blidö", ISLAND)),
                    ),
                ),
            ),
            Region(
                "se-o",
                "Västra Götalands län",
                (
                    Municipality(
                        "se-o-1480",
                        "Göteborg",
                        25,
                        (
                            _pc("se", "41101", "Göteborg (Centrum)"),
                            _pc("se", "41263", "Göteborg (Johanneberg)"),
                            _pc("se", "41705", "Göteborg (Hisingen)"),
                        ),
                    ),
                    Municipality("se-o-1490", "Borås", 5, (_pc("se", "50330", "Borås", TOWN),)),
                    Municipality("se-o-1407", "Öckerö", 1, (_pc("se", "47531", "Öckerö", ISLAND),)),
                ),
            ),
            Region(
                "se-m",
                "Skåne län",
                (
                    Municipality(
                        "se-m-1280",
                        "Malmö",
                        16,
                        (_pc("se", "21120", "Malmö (Centrum)"), _pc("se", "21445", "Malmö (Möllevången)")),
                    ),
                    Municipality(
                        "se-m-1281", "Lund", 6, (_pc("se", "22100", "Lund"), _pc("se", "22350", "Lund", TOWN))
                    ),
                    Municipality("se-m-1283", "Helsingborg", 7, (_pc("se", "25225", "Helsingborg", TOWN),)),
                ),
            ),
            Region(
                "se-c",
                "Uppsala län",
                (
                    Municipality(
                        "se-c-0380",
                        "Uppsala",
                        12,
                        (_pc("se", "75310", "Uppsala"), _pc("se", "75422", "Uppsala (Gottsunda)", TOWN)),
                    ),
                ),
            ),
            Region(
                "se-bd",
                "Norrbottens län",
                (
                    Municipality(
                        "se-bd-2580",
                        "Luleå",
                        5,
                        (_pc("se", "97231", "Luleå", TOWN), _pc("se", "97345", "Luleå (Porsön)", TOWN)),
                    ),
                    Municipality(
                        "se-bd-2584",
                        "Kiruna",
                        2,
                        (_pc("se", "98131", "Kiruna", TOWN), _ex("se-ex-vittangi", "Vittangi telestation")),
                    ),
                ),
            ),
        ),
    ),
    "fi": (
        "Suomi",
        (
            Region(
                "fi-18",
                "Uusimaa",
                (
                    Municipality(
                        "fi-18-091",
                        "Helsinki",
                        30,
                        (
                            _pc("fi", "00100", "Helsinki (Keskusta)"),
                            _pc("fi", "00500", "Helsinki (Sörnäinen)"),
                            _pc("fi", "00530", "Helsinki (Kallio)"),
                            _pc("fi", "00970", "Helsinki (Mellunmäki)", TOWN),
                        ),
                    ),
                    Municipality(
                        "fi-18-049",
                        "Espoo",
                        14,
                        (_pc("fi", "02100", "Espoo (Tapiola)"), _pc("fi", "02600", "Espoo (Leppävaara)")),
                    ),
                    Municipality(
                        "fi-18-092",
                        "Vantaa",
                        12,
                        (_pc("fi", "01300", "Vantaa (Tikkurila)"), _pc("fi", "01510", "Vantaa", TOWN)),
                    ),
                ),
            ),
            Region(
                "fi-11",
                "Pirkanmaa",
                (
                    Municipality(
                        "fi-11-837",
                        "Tampere",
                        12,
                        (_pc("fi", "33100", "Tampere (Keskusta)"), _pc("fi", "33500", "Tampere", TOWN)),
                    ),
                    Municipality("fi-11-536", "Nokia", 2, (_pc("fi", "37100", "Nokia", TOWN),)),
                ),
            ),
            Region(
                "fi-19",
                "Varsinais-Suomi",
                (
                    Municipality(
                        "fi-19-853",
                        "Turku",
                        10,
                        (_pc("fi", "20100", "Turku (Keskusta)"), _pc("fi", "20500", "Turku", TOWN)),
                    ),
                    Municipality(
                        "fi-19-445",
                        "Parainen",
                        1,
                        (_pc("fi", "21600", "Parainen", TOWN), _pc("fi", "21660", "Nauvo / Nagu", ISLAND)),
                    ),
                ),
            ),
            Region(
                "fi-14",
                "Pohjois-Pohjanmaa",
                (
                    Municipality(
                        "fi-14-564",
                        "Oulu",
                        10,
                        (
                            _pc("fi", "90100", "Oulu (Keskusta)", TOWN),
                            _ex("fi-ex-haukipudas", "Haukiputaan keskus"),
                        ),
                    ),
                ),
            ),
            Region(
                "fi-10",
                "Lappi",
                (
                    Municipality(
                        "fi-10-698",
                        "Rovaniemi",
                        3,
                        (_pc("fi", "96100", "Rovaniemi", TOWN), _ex("fi-ex-sodankyla", "Sodankylän keskus")),
                    ),
                ),
            ),
        ),
    ),
}


@dataclass
class Catalogue:
    services: dict[str, Service]
    areas: dict[str, Area]
    equipment: dict[str, EquipmentModel]
    # (leaf area, country code, availability, weight) for choosing where customers live
    leaves: list[tuple[Area, str, tuple[str, ...], float]] = field(default_factory=list)


def _area(code: str, name: str, kind: str, parent: Area | None) -> Area:
    area = Area.objects.filter(code=code).first()
    if area is None:
        area = Area(code=code, name=name, kind=kind, parent=parent)
        area.save()  # save() derives path and depth from the parent
    return area


@transaction.atomic
def ensure_catalogue() -> Catalogue:
    """Create (or find) services, the area tree with availability, and equipment models."""
    services = {}
    for code, (name, description) in SERVICES.items():
        services[code], _ = Service.objects.get_or_create(
            code=code, defaults={"name": name, "description": description}
        )
    equipment = {}
    for code, vendor, model, firmware in EQUIPMENT:
        equipment[code], _ = EquipmentModel.objects.get_or_create(
            code=code, defaults={"vendor": vendor, "model": model, "firmware": firmware}
        )
    areas: dict[str, Area] = {}
    leaves = []
    for country_code, (country_name, regions) in COUNTRIES.items():
        country = areas[country_code] = _area(country_code, country_name, Area.Kind.COUNTRY, None)
        for region in regions:
            reg = areas[region.code] = _area(region.code, region.name, Area.Kind.REGION, country)
            for muni in region.municipalities:
                mun = areas[muni.code] = _area(muni.code, muni.name, Area.Kind.MUNICIPALITY, reg)
                for leaf in muni.leaves:
                    area = areas[leaf.code] = _area(leaf.code, leaf.name, leaf.kind, mun)
                    # Availability is recorded on the leaves, where an address is; add only, so
                    # an admin's later additions survive a re-seed.
                    area.services.add(*(services[s] for s in leaf.services))
                    leaves.append((area, country_code, leaf.services, muni.weight / len(muni.leaves)))
    return Catalogue(services=services, areas=areas, equipment=equipment, leaves=leaves)


# --- People and words -----------------------------------------------------------------------------


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
_ASCII = str.maketrans({"å": "a", "ä": "a", "ö": "o", "é": "e", "Å": "a", "Ä": "a", "Ö": "o"})
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


def _cumulative(pairs: Sequence[tuple[object, float]]) -> tuple[list, list[float]]:
    values, cum, total = [], [], 0.0
    for value, weight in pairs:
        total += weight
        values.append(value)
        cum.append(total)
    return values, cum


class _Picker:
    """Weighted choice with pre-computed cumulative weights (random.choices recomputes them)."""

    def __init__(self, pairs: Sequence[tuple[object, float]]) -> None:
        import bisect

        self._values, self._cum = _cumulative(pairs)
        self._total = self._cum[-1]
        self._bisect = bisect.bisect

    def __call__(self, rnd: random.Random):
        return self._values[self._bisect(self._cum, rnd.random() * self._total)]


# --- Bulk loading --------------------------------------------------------------------------------

SCALE_NUMBER_PREFIX = "2"  # generated customers are 2000000001, 2000000002, …; named demo ones 10000xx
SCALE_NUMBER_DIGITS = 9


@dataclass
class ScaleResult:
    customers: int = 0
    phones: int = 0
    subscriptions: int = 0
    tickets: int = 0
    seconds: float = 0.0
    skipped: int = 0  # customers already there from an earlier run

    def summary(self) -> str:
        return (
            f"{self.customers:,} customers, {self.phones:,} phones, {self.subscriptions:,} subscriptions, "
            f"{self.tickets:,} tickets in {self.seconds:.1f} s"
            + (f" ({self.skipped:,} customers were already there)" if self.skipped else "")
        )


class _Table:
    """Rows for one model, in a fixed column order, written by COPY or batched INSERT.

    Columns not listed take their model default (a constant) or NULL, so a field another app adds
    later with a default does not break the loader.
    """

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        self.model = model
        self.table = model._meta.db_table
        by_attname = {f.attname: f for f in model._meta.concrete_fields}
        self.columns = list(columns)
        extra = []
        for f in model._meta.concrete_fields:
            if f.attname in self.columns:
                continue
            if f.has_default():
                self.columns.append(f.column)
                value = f.get_default()
                # COPY takes plain values (_copy_line turns dicts into JSON); INSERT takes the
                # driver's adapted ones.
                extra.append(
                    value if connection.vendor == "postgresql" else f.get_db_prep_save(value, connection)
                )
            elif not f.null and getattr(f, "db_default", models.NOT_PROVIDED) is models.NOT_PROVIDED:
                raise RuntimeError(f"{model.__name__}.{f.name} needs a value: teach supportdesk/seeding.py")
        self.columns = [by_attname[c].column if c in by_attname else c for c in self.columns]
        self.extra = tuple(extra)
        self.rows: list[tuple] = []

    def add(self, *values) -> None:
        self.rows.append(values + self.extra if self.extra else values)

    def flush(self, cursor) -> int:
        n = len(self.rows)
        if not n:
            return 0
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        table = connection.ops.quote_name(self.table)
        if connection.vendor == "postgresql":
            buf = io.StringIO()
            buf.writelines(map(_copy_line, self.rows))
            buf.seek(0)
            sql = f"COPY {table} ({cols}) FROM STDIN"
            raw = cursor.cursor  # the driver's cursor under Django's wrapper
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(sql, buf)
            else:  # psycopg 3
                with raw.copy(sql) as copy:
                    copy.write(buf.getvalue())
        else:
            marks = ", ".join(["%s"] * len(self.columns))
            cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", self.rows)
        self.rows = []
        return n


def _copy_str(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        value = value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


# COPY text format per Python type: one dict look-up per value (this loop is a third of the load).
_COPY_FORMAT: dict[type, Callable[[Any], str]] = {
    str: _copy_str,
    int: str,
    float: repr,
    bool: lambda v: "t" if v else "f",
    type(None): lambda _v: "\\N",
    datetime: datetime.isoformat,
    date: date.isoformat,
}


def _copy_fallback(value) -> str:
    if isinstance(value, str):
        return _copy_str(value)
    if isinstance(value, (dict, list)):
        return _copy_str(json.dumps(value))
    return _copy_str(str(value))


def _copy_line(row: tuple) -> str:
    get = _COPY_FORMAT.get
    return "\t".join([get(type(v), _copy_fallback)(v) for v in row]) + "\n"


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


@contextmanager
def _row_checks_skipped(cursor) -> Iterator[None]:
    """On PostgreSQL, skip the per-row foreign-key triggers while this block writes (as pg_restore
    does): they were a third of the load time, and the generated ids are consistent by
    construction. Needs a superuser; anyone else keeps the checks, just slower. Switched back at
    the end of the block, so a caller's own writes in an enclosing transaction are checked."""
    if connection.vendor != "postgresql":
        yield
        return
    try:
        with transaction.atomic():  # a savepoint, so a refusal does not abort the load
            cursor.execute("SET LOCAL session_replication_role = replica")
    except DatabaseError:
        yield
        return
    yield
    # Only on success: after an error the enclosing atomic block rolls the setting back itself.
    cursor.execute("SET LOCAL session_replication_role = origin")


@contextmanager
def _indexes_rebuilt_after(
    model_list: Sequence[type[models.Model]], *, enabled: bool, stdout: Out = _quiet
) -> Iterator[None]:
    """Drop the secondary indexes of ``model_list``'s tables, run the block, re-create them — in
    one transaction, so an error or a kill leaves every index in place. Primary keys and indexes
    backing a constraint (unique, exclusion) stay and keep checking."""
    if not enabled or connection.vendor != "postgresql":
        yield
        return
    tables = [m._meta.db_table for m in model_list]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [tables],
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")  # name comes from regclass::text: already quoted
        yield
        started = time.monotonic()
        for _, definition in indexes:
            cursor.execute(definition)
        stdout(f"  rebuilt {len(indexes)} indexes in {time.monotonic() - started:.1f} s")


def _reset_sequences(cursor, model_list: Iterable[type[models.Model]]) -> None:
    # Ids were given explicitly; move each sequence past them so the ORM's next insert works.
    for sql in connection.ops.sequence_reset_sql(no_style(), list(model_list)):
        cursor.execute(sql)


def load_scale_data(
    *,
    customers: int,
    open_share: float = 0.17,
    tickets_per_customer: float = 1.0,
    days: int = 90,
    seed: int = 20260101,
    chunk: int = 50_000,
    now: datetime | None = None,
    rebuild_indexes: bool | None = None,
    stdout: Out = _quiet,
) -> ScaleResult:
    """Make sure ``customers`` generated customers exist, with phones, subscriptions and tickets.

    Tickets copy their effective service/area/equipment from a subscription, are spread over the
    last ``days`` days, ``open_share`` of them open (recent ones, mostly), the rest resolved or
    closed; queue follows the category. Writes one chunk per transaction, with explicit ids
    (PostgreSQL: COPY; other databases: batched INSERT). Idempotent: customers already loaded
    (counted by their number prefix) are kept and only the missing ones are added. Not safe to run
    twice at the same time on one database.

    ``rebuild_indexes`` (default: when adding 50,000 customers or more, PostgreSQL only) drops the
    four tables' secondary indexes, loads, and builds them again, all in one transaction: building
    an index once is much cheaper than maintaining a dozen of them row by row.
    """
    started = time.monotonic()
    now = now or timezone.now()
    cat = ensure_catalogue()
    result = ScaleResult()
    existing = Customer.objects.filter(number__startswith=SCALE_NUMBER_PREFIX).count()
    result.skipped = min(existing, customers)
    if existing >= customers:
        result.seconds = time.monotonic() - started
        return result

    leaf_pick = {
        country: _Picker([(i, w) for i, (_a, c, _s, w) in enumerate(cat.leaves) if c == country])
        for country in COUNTRIES
    }
    country_pick = _Picker((("se", 60), ("fi", 40)))
    lang_pick = {"se": _Picker((("sv", 90), ("en", 10))), "fi": _Picker((("fi", 80), ("sv", 12), ("en", 8)))}
    equip_pick = {s: _Picker(w) for s, w in EQUIPMENT_FOR_SERVICE.items()}
    category_pick = _Picker(CATEGORY_WEIGHTS)
    channel_pick = _Picker(CHANNEL_WEIGHTS)
    priority_pick = _Picker(PRIORITY_WEIGHTS)
    open_status_pick = _Picker(OPEN_STATUS_WEIGHTS)
    sv_ids = {code: s.pk for code, s in cat.services.items()}
    eq_ids = {code: e.pk for code, e in cat.equipment.items()}
    queue_for = {str(k): str(v) for k, v in Ticket.QUEUE_FOR_CATEGORY.items()}
    contact_pick = _Picker((("email", 70), ("sms", 20), ("phone", 10)))
    span = timedelta(days=days).total_seconds()

    customers_t = _Table(
        Customer, ["id", "number", "name", "email", "language", "preferred_channel", "user_id", "created_at"]
    )
    phones_t = _Table(CustomerPhone, ["id", "customer_id", "number"])
    subs_t = _Table(
        Subscription,
        [
            "id",
            "customer_id",
            "service_id",
            "area_id",
            "equipment_id",
            "plan",
            "address",
            "active",
            "started_at",
        ],
    )
    ticket_cols = [
        "id", "customer_id", "subscription_id", "channel", "category", "service_id", "service_source",
        "area_id", "equipment_id", "subject", "description", "status", "priority", "queue", "assignee_id",
        "created_at", "updated_at", "sla_due_at", "sla_breached", "resolved_at",
    ]  # fmt: skip
    tickets_t = _Table(Ticket, ticket_cols)

    index = existing
    bulk_models = (Customer, CustomerPhone, Subscription, Ticket)
    if rebuild_indexes is None:
        rebuild_indexes = customers - existing >= 50_000
    with _indexes_rebuilt_after(bulk_models, enabled=rebuild_indexes, stdout=stdout):
        while index < customers:
            end = min(customers, index + chunk)
            rnd = random.Random(seed * 1_000_003 + index)  # noqa: S311 - demo data, not secrets
            with transaction.atomic(), connection.cursor() as cursor, _row_checks_skipped(cursor):
                cust_id, phone_id = _next_id(Customer), _next_id(CustomerPhone)
                sub_id, ticket_id = _next_id(Subscription), _next_id(Ticket)
                for i in range(index + 1, end + 1):
                    country = country_pick(rnd)
                    area, _c, available, _w = cat.leaves[leaf_pick[country](rnd)]
                    lang = lang_pick[country](rnd)
                    first, last = rnd.choice(FIRST_NAMES[country]), rnd.choice(LAST_NAMES[country])
                    email = f"{first}.{last}{i % 1000}@{MAIL_DOMAINS[i % 3]}".lower().translate(_ASCII)
                    joined = now - timedelta(days=rnd.randint(30, 8 * 365))
                    customers_t.add(
                        cust_id,
                        f"{SCALE_NUMBER_PREFIX}{i:0{SCALE_NUMBER_DIGITS}d}",
                        f"{first} {last}",
                        email,
                        lang,
                        contact_pick(rnd),
                        None,
                        joined,
                    )
                    # E.164 mobile numbers, unique per generated customer.
                    mobile = f"+4670{i:07d}" if country == "se" else f"+35840{i:07d}"
                    phones_t.add(phone_id, cust_id, mobile)
                    phone_id += 1

                    # One connection, then add-ons, only where the area offers them (story 5).
                    wanted = [_pick_connection(rnd, available)]
                    if "email" in available and rnd.random() < 0.4:
                        wanted.append("email")
                    if "iptv" in available and wanted[0] in ("broadband", "dsl") and rnd.random() < 0.25:
                        wanted.append("iptv")
                    if "voip" in available and rnd.random() < 0.1:
                        wanted.append("voip")
                    plan = "business" if rnd.random() < 0.08 else "private"
                    street = f"{rnd.choice(STREETS[country])} {rnd.randint(1, 120)}"
                    subs = []
                    for service in wanted:
                        equipment = equip_pick[service](rnd)
                        eq_id = eq_ids[equipment] if equipment else None
                        subs_t.add(
                            sub_id,
                            cust_id,
                            sv_ids[service],
                            area.pk,
                            eq_id,
                            plan,
                            street,
                            rnd.random() < 0.97,
                            (joined + timedelta(days=rnd.randint(0, 20))).date(),
                        )
                        subs.append((sub_id, service, eq_id))
                        sub_id += 1

                    # About ``tickets_per_customer`` tickets each (0, 1 or 2, and now and then 3).
                    n_tickets = int(tickets_per_customer) + (rnd.random() < tickets_per_customer % 1)
                    if rnd.random() < 0.25:
                        n_tickets += 1 if rnd.random() < 0.5 else -1
                    for _ in range(max(0, n_tickets)):
                        sub, service, eq_id = rnd.choice(subs)
                        category = category_pick(rnd)
                        subject = rnd.choice(SUBJECTS[service if category == "technical" else category][lang])
                        priority = priority_pick(rnd)
                        is_open = rnd.random() < open_share
                        if is_open:
                            # Open tickets are young: most from the last days, a tail up to three weeks.
                            created = now - timedelta(seconds=min(span, rnd.expovariate(1 / (3 * 86400))))
                            status = open_status_pick(rnd)
                            resolved_at = None
                        else:
                            created = now - timedelta(seconds=rnd.random() * span)
                            status = "closed" if rnd.random() < 0.8 else "resolved"
                            resolved_at = min(now, created + timedelta(hours=rnd.expovariate(1 / 30) + 0.2))
                        queue = "second-line" if status == "escalated" else queue_for[category]
                        due = sla.sla_due(opened_at=created, priority=priority, plan=plan)
                        breached = (resolved_at or now) > due
                        tickets_t.add(
                            ticket_id,
                            cust_id,
                            sub,
                            channel_pick(rnd),
                            category,
                            sv_ids[service],
                            "subscription",
                            area.pk,
                            eq_id,
                            subject,
                            rnd.choice(DESCRIPTIONS[lang]),
                            status,
                            priority,
                            queue,
                            None,
                            created,
                            resolved_at or created,
                            due,
                            breached,
                            resolved_at,
                        )
                        ticket_id += 1
                    cust_id += 1
                result.customers += customers_t.flush(cursor)
                result.phones += phones_t.flush(cursor)
                result.subscriptions += subs_t.flush(cursor)
                result.tickets += tickets_t.flush(cursor)
                _reset_sequences(cursor, (Customer, CustomerPhone, Subscription, Ticket))
            index = end
            stdout(f"  … {index:,} / {customers:,} customers ({time.monotonic() - started:.1f} s)")
    if connection.vendor == "postgresql":
        # Fresh statistics, or the planner guesses from an empty table on the first queue page.
        with connection.cursor() as cursor:
            for model in (Customer, CustomerPhone, Subscription, Ticket):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    result.seconds = time.monotonic() - started
    return result


_CONNECTION_WEIGHTS = (("broadband", 62), ("dsl", 12), ("mobile-4g", 16), ("mobile-5g", 6), ("email", 4))


def _pick_connection(rnd: random.Random, available: tuple[str, ...]) -> str:
    options = [(s, w) for s, w in _CONNECTION_WEIGHTS if s in available]
    values, cum = _cumulative(options)
    x = rnd.random() * cum[-1]
    for value, c in zip(values, cum, strict=True):
        if x < c:
            return value
    return values[-1]


# --- The demo: logins, named customers, incidents -------------------------------------------------


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str
    first_name: str
    last_name: str


DEMO_LOGINS = (
    DemoLogin("agent", "agent-demo", roles.AGENT, "Anna", "Lindberg"),
    DemoLogin("tech", "tech-demo", roles.TECH, "Tomas", "Eklund"),
    DemoLogin("ops", "ops-demo", roles.OPS, "Outi", "Laaksonen"),
    DemoLogin("admin", "admin-demo", roles.ADMIN, "Adam", "Berg"),
    DemoLogin("kund", "kund-demo", roles.CUSTOMER, "Karin", "Lindqvist"),
)


def ensure_demo_users(stdout: Out = _quiet) -> dict[str, User]:
    """One login per role. Passwords are set when the user is created, never overwritten."""
    users = {}
    for login in DEMO_LOGINS:
        user, created = User.objects.get_or_create(
            username=login.username,
            defaults={
                "first_name": login.first_name,
                "last_name": login.last_name,
                "email": f"{login.username}@supportdesk.example",
                # Only the admin uses Django's admin; the others live in the desk's own pages.
                "is_staff": login.role == roles.ADMIN,
                "is_superuser": login.role == roles.ADMIN,
            },
        )
        if created:
            user.set_password(login.password)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=login.role))
        users[login.role] = user
    return users


@dataclass(frozen=True)
class DemoTicket:
    subject: str
    description: str
    service: str | None  # picks the subscription; None: let ticket_open decide
    category: str = "technical"
    channel: str = "phone"
    # What happens after it is opened: "" (stays new), "assign", "escalate", "pending", "resolve", "close".
    then: str = ""


@dataclass(frozen=True)
class DemoCustomer:
    number: str
    name: str
    language: str
    phone: str
    area: str
    subscriptions: tuple[tuple[str, str | None, str], ...]  # service, equipment, plan
    tickets: tuple[DemoTicket, ...]
    login: str | None = None
    address: str = ""


DEMO_CUSTOMERS = (
    DemoCustomer(
        "1000001", "Karin Lindqvist", "sv", "+46701234567", "se-11122",
        (("broadband", KNOWN_DEFECT_EQUIPMENT, "private"), ("email", None, "private"),
         ("iptv", "amino-kamai7", "private")),
        (
            DemoTicket("Ingen internetanslutning", "Modemet lyser rött sedan strömavbrottet i natt. "
                       "Jag har dragit ur alla sladdar men det hjälper inte.", "broadband", channel="web"),
            DemoTicket("Kan inte skicka e-post", "Outlook säger att servern inte svarar.", "email",
                       channel="email"),
            DemoTicket("Fel belopp på fakturan", "Jag har fått två fakturor för oktober.", "broadband",
                       category="billing", channel="web", then="resolve"),
        ),
        login="kund", address="Drottninggatan 71",
    ),
    DemoCustomer(
        "1000002", "Erik Johansson", "sv", "+46731112233", "se-41263",
        (("broadband", "zyxel-vmg8825", "private"), ("email", None, "private")),
        (DemoTicket("Mejlen kommer inte fram", "Inga nya mejl sedan lunch, varken i mobilen eller datorn.",
                    "email"),),
        address="Kemivägen 4",
    ),
    DemoCustomer(
        "1000003", "Emma Wilson", "en", "+46761234500", "se-16970",
        (("broadband", "nokia-g240w", "private"), ("email", None, "private")),
        (DemoTicket("E-mail not working", "I cannot log in to webmail and my phone cannot fetch mail.",
                    "email", channel="chat", then="assign"),),
        address="Råsundavägen 12",
    ),
    DemoCustomer(
        "1000004", "Lars Nilsson (Nilssons Bygg AB)", "sv", "+46702223344", "se-21120",
        (("dsl", KNOWN_DEFECT_EQUIPMENT, "business"), ("voip", "grandstream-ht802", "business")),
        (DemoTicket("Modemet startar inte efter strömavbrottet", "Hela kontoret står utan internet och "
                    "telefon. Vi har startat om modemet flera gånger.", "dsl", then="escalate"),),
        address="Södra Förstadsgatan 40",
    ),
    DemoCustomer(
        "1000005", "Sven Holm", "sv", "+46705556677", "se-13039",
        (("dsl", "technicolor-tg789", "private"), ("email", None, "private")),
        (DemoTicket("Vill ha 4G-bredband till sommarstugan", "Kan ni leverera mobilt bredband 4G till "
                    "vårt hus på Sandhamn?", None, category="sales", channel="email", then="pending"),),
        address="Sandhamnsvägen 3",
    ),
    DemoCustomer(
        "1000006", "Ulla Bergström", "sv", "+46920123456", "se-97231",
        (("broadband", "huawei-hg8245h", "private"), ("voip", "grandstream-ht802", "private")),
        (DemoTicket("Fast telefoni fungerar inte", "Ingen kopplingston i telefonen sedan i går.", "voip"),),
        address="Storgatan 21",
    ),
    DemoCustomer(
        "1000007", "Mikko Virtanen", "fi", "+358401234567", "fi-00100",
        (("broadband", "huawei-hg8245h", "private"), ("email", None, "private")),
        (DemoTicket("Sähköposti ei toimi", "En pysty lähettämään enkä vastaanottamaan sähköpostia.",
                    "email", channel="web"),),
        address="Mannerheimintie 12 A 5",
    ),
    DemoCustomer(
        "1000008", "Aino Korhonen", "fi", "+358452345678", "fi-33100",
        (("broadband", "iopsys-eg400", "private"), ("iptv", "amino-kamai7", "private")),
        (DemoTicket("Digiboksi käynnistyy uudelleen", "Digiboksi käynnistyy itsestään muutaman minuutin "
                    "välein, kanavat katkeavat.", "iptv", then="assign"),),
        address="Hämeenkatu 9 B 14",
    ),
    DemoCustomer(
        "1000009", "Johanna Lindholm", "sv", "+358407654321", "fi-21660",
        (("dsl", KNOWN_DEFECT_EQUIPMENT, "private"), ("email", None, "private")),
        (DemoTicket("Ingen internetanslutning via DSL", "Modemet har inte fungerat sedan åskvädret.", "dsl",
                    channel="email"),),
        address="Strandvägen 2, Nagu",
    ),
    DemoCustomer(
        "1000010", "Pekka Mäkinen", "fi", "+358501112233", "fi-02100",
        (("broadband", "zyxel-vmg8825", "private"),),
        (DemoTicket("Lasku on väärin", "Laskussa on veloitus palvelusta, jota en ole tilannut.", "broadband",
                    category="billing", then="close"),),
        address="Tapiontori 3",
    ),
    DemoCustomer(
        "1000011", "Timo Nieminen", "fi", "+358441239876", "fi-00530",
        (("mobile-5g", "nokia-fastmile-5g", "private"),),
        (DemoTicket("5G-reititin ei löydä verkkoa", "Reititin näyttää vain 'No service'.", "mobile-5g",
                    channel="chat"),),
        address="Fleminginkatu 20",
    ),
)  # fmt: skip


def ensure_demo_customers(cat: Catalogue, users: dict[str, User]) -> list[tuple[Customer, DemoCustomer]]:
    out = []
    for spec in DEMO_CUSTOMERS:
        first = spec.name.split()[0].lower().translate(_ASCII)
        customer, created = Customer.objects.get_or_create(
            number=spec.number,
            defaults={
                "name": spec.name,
                "email": f"{first}.{spec.number[-2:]}@example.com",
                "language": spec.language,
                "preferred_channel": Customer.ContactChannel.EMAIL,
                "user": users[roles.CUSTOMER] if spec.login else None,
            },
        )
        if created:
            CustomerPhone.objects.create(customer=customer, number=spec.phone)
            for service, equipment, plan in spec.subscriptions:
                Subscription.objects.create(
                    customer=customer,
                    service=cat.services[service],
                    area=cat.areas[spec.area],
                    equipment=cat.equipment[equipment] if equipment else None,
                    plan=plan,
                    address=spec.address,
                    started_at=date(2021, 3, 1),
                )
        out.append((customer, spec))
    return out


EMAIL_OUTAGE_TITLE = "E-mail platform outage, all of Sweden"
KNOWN_ISSUE_TITLE = "ZyXEL VMG3625 comes up only after a long reset"


def _incident_specs(cat: Catalogue, now: datetime) -> list[dict]:
    return [
        {
            "title": EMAIL_OUTAGE_TITLE,
            "kind": "outage",
            "severity": 2,
            "services": [cat.services["email"]],
            "areas": [cat.areas["se"]],
            "equipment": [],
            # No keywords: the service is scope enough, and customers write "e-mail", "Outlook", "mejl"…
            "keywords": (),
            "started_at": now - timedelta(minutes=25),
            "eta": now + timedelta(hours=1),
            "description": "IMAP/SMTP front-ends in the Stockholm data centre fail health checks after "
            "a storage failover; mailboxes are intact, no mail is lost (queued at the MX).",
            "public_message": {
                "sv": "Vår e-posttjänst har en störning i hela Sverige: det går inte att skicka eller ta emot "
                "e-post. Felet ligger hos oss, inte i din utrustning, så du behöver inte starta om något. "
                "Ingen e-post försvinner. Vi räknar med att allt fungerar igen inom en timme. Vi ber om "
                "ursäkt för besväret och berättar här när det är löst.",
                "fi": "Sähköpostipalvelussamme on häiriö koko Ruotsissa: sähköpostia ei voi lähettää eikä "
                "vastaanottaa. Vika on meidän päässämme, ei laitteissasi, joten mitään ei tarvitse "
                "käynnistää uudelleen. Viestejä ei katoa. Arvioimme palvelun toimivan taas tunnin "
                "kuluessa. Pahoittelemme häiriötä ja kerromme täällä, kun vika on korjattu.",
                "en": "Our e-mail service is disrupted across Sweden: sending and receiving e-mail fails. "
                "The fault is on our side, not in your equipment, so there is no need to restart "
                "anything. No e-mail is lost. We expect it to work again within an hour. We are sorry "
                "for the trouble and will tell you here when it is fixed.",
            },
            "agent_script": {
                "sv": "Säg att vi känner till felet: e-posten ligger nere i hela Sverige sedan en halvtimme. "
                "Felet är hos oss. Be INTE kunden starta om routern eller ändra inställningar. Beräknat "
                "klart inom en timme. Be om ursäkt och erbjud ett sms när det är löst.",
                "fi": "Kerro, että vika on tiedossa: sähköposti on ollut poissa käytöstä koko Ruotsissa "
                "puolisen tuntia. Vika on meillä. ÄLÄ pyydä asiakasta käynnistämään reititintä uudelleen "
                "tai muuttamaan asetuksia. Arvioitu korjausaika noin tunti. Pahoittele ja tarjoa "
                "tekstiviestiä, kun vika on korjattu.",
                "en": "Say we know: e-mail has been down across Sweden for about half an hour, and the fault "
                "is ours. Do NOT ask the customer to restart the router or change settings. Expected "
                "fixed within the hour. Apologise and offer a text message when it is fixed.",
            },
        },
        {
            "title": KNOWN_ISSUE_TITLE,
            "kind": "known-issue",
            "severity": 1,
            "services": [],
            "areas": [],
            "equipment": [cat.equipment[KNOWN_DEFECT_EQUIPMENT]],
            # Words of a connection problem in sv/fi/en, so a billing question from the same
            # customer is not taken for the defect (keywords match subject or description).
            "keywords": (
                "modem",
                "router",
                "reititin",
                "internet",
                "anslutning",
                "uppkoppling",
                "yhteys",
                "connection",
                "dsl",
                "reset",
                "blinkar",
                "vilkku",
                "blinking",
            ),  # fmt: skip
            "started_at": now - timedelta(days=12),
            "eta": None,
            "description": "Batch 2024-W38 of VMG3625-T20A hangs at boot after a power cut; a 20–30 s "
            "reset clears it. Replacement firmware is with the vendor. Never refer these customers to a "
            "paid helpline (story 2).",
            "public_message": {
                "sv": "Vissa modem av modellen ZyXEL VMG3625 startar inte som de ska efter ett strömavbrott. "
                "Du kan lösa det själv genom att hålla in reset-knappen i 20–30 sekunder. Hjälper det inte "
                "skickar vi ett nytt modem utan kostnad. Vi ber om ursäkt för krånglet.",
                "fi": "Osa ZyXEL VMG3625 -modeemeista ei käynnisty kunnolla sähkökatkon jälkeen. Voit korjata "
                "asian itse pitämällä reset-painiketta pohjassa 20–30 sekuntia. Jos se ei auta, lähetämme "
                "uuden modeemin maksutta. Pahoittelemme vaivaa.",
                "en": "Some ZyXEL VMG3625 modems do not start properly after a power cut. You can fix it "
                "yourself by holding the reset button for 20–30 seconds. If that does not help, we send "
                "you a new modem free of charge. We are sorry for the trouble.",
            },
            "agent_script": {
                "sv": "Känt fel i en leverans av ZyXEL VMG3625. Skicka INTE kunden till en betald "
                "supportlinje. Gå igenom lösningen steg för steg; fungerar den inte efter två försök, "
                "beställ ett nytt modem utan kostnad.",
                "fi": "Tunnettu vika ZyXEL VMG3625 -erässä. ÄLÄ ohjaa asiakasta maksulliseen tukipalveluun. "
                "Käy kiertotie läpi vaihe vaiheelta; jos se ei toimi kahdella yrityksellä, tilaa uusi "
                "modeemi maksutta.",
                "en": "Known defect in a batch of ZyXEL VMG3625. Do NOT send the customer to a paid helpline. "
                "Walk them through the workaround step by step; if it fails twice, order a replacement "
                "modem free of charge.",
            },
            "workaround": {
                "sv": "1. Låt modemet vara påslaget.\n"
                "2. Leta upp det lilla hålet märkt RESET på baksidan.\n"
                "3. Tryck in knappen med ett gem och håll den intryckt i 20–30 sekunder, tills lamporna "
                "blinkar.\n"
                "4. Släpp och vänta cirka 3 minuter tills lampan Internet lyser grönt.\n"
                "5. Fungerar det ändå inte: hör av dig, så skickar vi ett nytt modem utan kostnad.",
                "fi": "1. Pidä modeemi päällä.\n"
                "2. Etsi laitteen takaa pieni RESET-merkitty reikä.\n"
                "3. Paina painiketta paperiliittimellä ja pidä se pohjassa 20–30 sekuntia, kunnes valot "
                "vilkkuvat.\n"
                "4. Päästä irti ja odota noin 3 minuuttia, kunnes Internet-valo palaa vihreänä.\n"
                "5. Jos yhteys ei vieläkään toimi, ota yhteyttä, niin lähetämme uuden modeemin maksutta.",
                "en": "1. Leave the modem switched on.\n"
                "2. Find the small hole marked RESET on the back.\n"
                "3. Press the button with a paper clip and hold it for 20–30 seconds, until the lights "
                "flash.\n"
                "4. Let go and wait about 3 minutes until the Internet light is green.\n"
                "5. Still not working? Contact us and we send you a new modem free of charge.",
            },
        },
    ]


def ensure_demo_incidents(cat: Catalogue, actor: User, stdout: Out = _quiet) -> list:
    """Declare the demo incidents through ``incidents.services.incident_declare`` (which links the
    open tickets in scope), unless an incident with the same title exists already."""
    from incidents.models import Incident

    try:
        from incidents.services import incident_declare
    except ImportError:  # the incidents services are not there yet: write the rows directly
        incident_declare = None
    now = timezone.now()
    out = []
    for spec in _incident_specs(cat, now):
        existing = Incident.objects.filter(title=spec["title"]).first()
        if existing is not None:
            out.append(existing)
            continue
        if incident_declare is not None:
            result = incident_declare(**spec, source=Incident.Source.MANUAL, actor=actor)
            incident = result.incident
            linked = getattr(result, "linked_count", None)
            stdout(f"  declared “{incident.title}”" + (f", {linked:,} tickets linked" if linked else ""))
        else:
            incident = _create_incident_rows(spec, actor)
            stdout(f"  created “{incident.title}” (rows only: incident_declare is missing)")
        out.append(incident)
    return out


def _create_incident_rows(spec: dict, actor: User):
    from incidents.models import Incident

    spec = dict(spec)
    services, areas, equipment = spec.pop("services"), spec.pop("areas"), spec.pop("equipment")
    spec["keywords"] = list(spec["keywords"])
    spec["workaround"] = spec.get("workaround") or {}
    incident = Incident.objects.create(**spec, created_by=actor)
    incident.services.set(services)
    incident.areas.set(areas)
    incident.equipment.set(equipment)
    return incident


def ensure_demo_tickets(
    demo: list[tuple[Customer, DemoCustomer]], cat: Catalogue, users: dict[str, User]
) -> int:
    """Open the named customers' tickets through ``ticket_open`` (matching runs) and walk a few
    through the desk's other verbs. A customer who already has tickets is left alone."""
    from tickets import services as ts

    agent, tech = users[roles.AGENT], users[roles.TECH]
    opened = 0
    for customer, spec in demo:
        if customer.tickets.exists():
            continue
        actor = users[roles.CUSTOMER] if spec.login else agent
        for t in spec.tickets:
            subscription = (
                customer.subscriptions.filter(service__code=t.service).first() if t.service else None
            )
            ticket = ts.ticket_open(
                customer=customer,
                subject=t.subject,
                description=t.description,
                channel=t.channel,
                category=t.category,
                subscription=subscription,
                actor=actor if t.channel in ("web", "email") else agent,
            )
            opened += 1
            if t.then == "assign":
                ts.ticket_assign(ticket=ticket, assignee=agent, actor=agent)
            elif t.then == "escalate":
                ts.ticket_escalate(
                    ticket=ticket,
                    actor=agent,
                    summary="Business customer, office offline: modem hangs at boot after a power cut.",
                    tried="Power cycled twice with the customer; checked the line from our side (sync OK).",
                    customer_impact="12 staff without internet and phones.",
                )
                ts.ticket_assign(ticket=ticket, assignee=tech, actor=tech)
            elif t.then == "pending":
                ts.ticket_comment(
                    ticket=ticket,
                    actor=agent,
                    public=True,
                    body="Hej Sven! Tyvärr finns ingen 4G-täckning på Sandhamn i dag, så vi kan inte sälja "
                    "mobilt bredband dit. Ditt DSL-abonnemang kan uppgraderas till 60 Mbit/s. Vill du det?",
                )
                ts.ticket_set_status(ticket=ticket, status=Ticket.Status.PENDING_CUSTOMER, actor=agent)
            elif t.then in ("resolve", "close"):
                ts.ticket_comment(
                    ticket=ticket,
                    actor=agent,
                    public=True,
                    body="Vi har krediterat den dubbla fakturan."
                    if spec.language == "sv"
                    else "Virheellinen veloitus on hyvitetty.",
                )
                status = Ticket.Status.RESOLVED if t.then == "resolve" else Ticket.Status.CLOSED
                ts.ticket_set_status(ticket=ticket, status=status, actor=agent)
    return opened


# --- Flush and the whole demo ----------------------------------------------------------------------

DESK_APPS = ("notifications", "incidents", "tickets", "customers")


def flush_desk_data(stdout: Out = _quiet) -> None:
    """Empty every table of the desk's apps (TRUNCATE … CASCADE on PostgreSQL) and drop the demo
    logins. Users, groups and sessions of real people are kept."""
    from django.apps import apps

    tables = []
    for label in DESK_APPS:
        for model in apps.get_app_config(label).get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                tables.append(model._meta.db_table)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # TRUNCATE refuses tables with deferred FK checks still pending in this transaction
            # (an enclosing one, as in tests): run them now, then defer again as Django does.
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        sql = connection.ops.sql_flush(no_style(), tables, reset_sequences=True, allow_cascade=True)
        connection.ops.execute_sql_flush(sql)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        User.objects.filter(username__in=[login.username for login in DEMO_LOGINS]).delete()
    stdout(f"  flushed {len(tables)} tables")


@dataclass
class DemoResult:
    logins: tuple[DemoLogin, ...]
    scale: ScaleResult
    tickets_opened: int
    incidents: list
    seconds: float


def seed_demo(
    *, customers: int = 200, flush: bool = False, seed: int = 20260101, stdout: Out = _quiet
) -> DemoResult:
    """The whole demo, idempotently: catalogue, logins, named customers, ``customers`` generated ones,
    the two incidents (declared after the bulk load, so they link its open tickets) and the named
    customers' tickets (opened after the incidents, so ticket-side matching links them)."""
    started = time.monotonic()
    if flush:
        flush_desk_data(stdout)
    with transaction.atomic():
        cat = ensure_catalogue()
        users = ensure_demo_users(stdout)
        demo = ensure_demo_customers(cat, users)
    stdout(
        f"  catalogue: {len(cat.services)} services, {len(cat.areas)} areas, {len(cat.equipment)} equipment models"
    )
    scale = load_scale_data(customers=customers, seed=seed, stdout=stdout)
    stdout(f"  bulk: {scale.summary()}")
    incidents = ensure_demo_incidents(cat, users[roles.OPS], stdout)
    opened = ensure_demo_tickets(demo, cat, users)
    stdout(f"  named customers: {len(demo)}, tickets opened through ticket_open: {opened}")
    return DemoResult(
        logins=DEMO_LOGINS,
        scale=scale,
        tickets_opened=opened,
        incidents=incidents,
        seconds=time.monotonic() - started,
    )
