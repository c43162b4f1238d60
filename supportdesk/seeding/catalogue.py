"""The catalogue of a believable Nordic operator (Sweden and Finland), as literal data.

Services, equipment models (and which equipment each service comes with), and the area tree:
country → region → municipality → postcode or exchange, with the services each leaf can get and a
weight per municipality (roughly its population) for placing generated customers.
``ensure_catalogue()`` writes it, idempotently.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from customers.models import Area, EquipmentModel, Service

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
# What customers read, per language (``Service.names``).
SERVICE_NAMES: dict[str, dict[str, str]] = {
    "broadband": {"sv": "Fiberbredband", "fi": "Kuituliittymä", "en": "Fibre broadband"},
    "dsl": {"sv": "DSL-bredband", "fi": "DSL-laajakaista", "en": "DSL broadband"},
    "mobile-4g": {"sv": "Mobilt bredband 4G", "fi": "Mobiililaajakaista 4G", "en": "Mobile broadband 4G"},
    "mobile-5g": {"sv": "Mobilt bredband 5G", "fi": "Mobiililaajakaista 5G", "en": "Mobile broadband 5G"},
    "email": {"sv": "E-post", "fi": "Sähköposti", "en": "E-mail"},
    "iptv": {"sv": "IP-tv", "fi": "IPTV", "en": "IPTV"},
    "voip": {"sv": "IP-telefoni", "fi": "IP-puhelin", "en": "IP telephony"},
}
# Place names that differ by language (``Area.names``): Finland is bilingual, and the countries.
AREA_NAMES: dict[str, dict[str, str]] = {
    "se": {"sv": "Sverige", "fi": "Ruotsi", "en": "Sweden"},
    "fi": {"sv": "Finland", "fi": "Suomi", "en": "Finland"},
    "fi-18": {"sv": "Nyland", "fi": "Uusimaa", "en": "Uusimaa"},
    "fi-19": {"sv": "Egentliga Finland", "fi": "Varsinais-Suomi", "en": "Southwest Finland"},
    "fi-11": {"sv": "Birkaland", "fi": "Pirkanmaa", "en": "Pirkanmaa"},
    "fi-14": {"sv": "Norra Österbotten", "fi": "Pohjois-Pohjanmaa", "en": "North Ostrobothnia"},
    "fi-10": {"sv": "Lappland", "fi": "Lappi", "en": "Lapland"},
    "fi-18-091": {"sv": "Helsingfors", "fi": "Helsinki", "en": "Helsinki"},
    "fi-18-049": {"sv": "Esbo", "fi": "Espoo", "en": "Espoo"},
    "fi-18-092": {"sv": "Vanda", "fi": "Vantaa", "en": "Vantaa"},
    "fi-11-837": {"sv": "Tammerfors", "fi": "Tampere", "en": "Tampere"},
    "fi-19-853": {"sv": "Åbo", "fi": "Turku", "en": "Turku"},
    "fi-19-445": {"sv": "Pargas", "fi": "Parainen", "en": "Parainen"},
    "fi-14-564": {"sv": "Uleåborg", "fi": "Oulu", "en": "Oulu"},
    "fi-10-698": {"sv": "Rovaniemi", "fi": "Rovaniemi", "en": "Rovaniemi"},
    "fi-00100": {"sv": "00100 Helsingfors (Centrum)", "fi": "00100 Helsinki (Keskusta)"},
    "fi-00500": {"sv": "00500 Helsingfors (Sörnäs)", "fi": "00500 Helsinki (Sörnäinen)"},
    "fi-00530": {"sv": "00530 Helsingfors (Berghäll)", "fi": "00530 Helsinki (Kallio)"},
    "fi-00970": {"sv": "00970 Helsingfors (Mellungsbacka)", "fi": "00970 Helsinki (Mellunmäki)"},
    "fi-02100": {"sv": "02100 Esbo (Hagalund)", "fi": "02100 Espoo (Tapiola)"},
    "fi-02600": {"sv": "02600 Esbo (Alberga)", "fi": "02600 Espoo (Leppävaara)"},
    "fi-01300": {"sv": "01300 Vanda (Dickursby)", "fi": "01300 Vantaa (Tikkurila)"},
    "fi-01510": {"sv": "01510 Vanda", "fi": "01510 Vantaa"},
    "fi-33100": {"sv": "33100 Tammerfors (Centrum)", "fi": "33100 Tampere (Keskusta)"},
    "fi-33500": {"sv": "33500 Tammerfors", "fi": "33500 Tampere"},
    "fi-20100": {"sv": "20100 Åbo (Centrum)", "fi": "20100 Turku (Keskusta)"},
    "fi-20500": {"sv": "20500 Åbo", "fi": "20500 Turku"},
    "fi-21600": {"sv": "21600 Pargas", "fi": "21600 Parainen"},
    "fi-21660": {"sv": "21660 Nagu", "fi": "21660 Nauvo", "en": "21660 Nauvo / Nagu"},
    "fi-90100": {"sv": "90100 Uleåborg (Centrum)", "fi": "90100 Oulu (Keskusta)"},
    "fi-ex-haukipudas": {"sv": "Haukipudas telestation", "fi": "Haukiputaan keskus"},
    "fi-ex-sodankyla": {"sv": "Sodankylä telestation", "fi": "Sodankylän keskus"},
    "se-ex-vittangi": {"sv": "Vittangi telestation", "fi": "Vittangin keskus"},
}

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
# What customers call the boxes, per language (``EquipmentModel.names``): the kind of box in their
# words; vendor and model stay as printed on it.
EQUIPMENT_NAMES: dict[str, dict[str, str]] = {
    "zyxel-vmg8825": {"sv": "ZyXEL VMG8825-T50 router", "fi": "ZyXEL VMG8825-T50 -reititin", "en": "ZyXEL VMG8825-T50 router"},
    "zyxel-vmg3625": {"sv": "ZyXEL VMG3625-T20A router", "fi": "ZyXEL VMG3625-T20A -reititin", "en": "ZyXEL VMG3625-T20A router"},
    "zyxel-nr7101": {"sv": "ZyXEL NR7101 5G-router", "fi": "ZyXEL NR7101 5G-reititin", "en": "ZyXEL NR7101 5G router"},
    "huawei-hg8245h": {"sv": "Huawei EchoLife HG8245H fiberbox", "fi": "Huawei EchoLife HG8245H -kuitupääte", "en": "Huawei EchoLife HG8245H fibre box"},
    "huawei-b535": {"sv": "Huawei B535-232 4G-router", "fi": "Huawei B535-232 4G-reititin", "en": "Huawei B535-232 4G router"},
    "technicolor-tg789": {"sv": "Technicolor TG789vac v2 DSL-modem", "fi": "Technicolor TG789vac v2 -DSL-modeemi", "en": "Technicolor TG789vac v2 DSL modem"},
    "nokia-g240w": {"sv": "Nokia G-240W-F fiberbox", "fi": "Nokia G-240W-F -kuitupääte", "en": "Nokia G-240W-F fibre box"},
    "nokia-fastmile-5g": {"sv": "Nokia FastMile 5G Gateway 3", "fi": "Nokia FastMile 5G Gateway 3 -reititin", "en": "Nokia FastMile 5G Gateway 3"},
    "iopsys-eg400": {"sv": "Inteno/Iopsys EG400 router", "fi": "Inteno/Iopsys EG400 -reititin", "en": "Inteno/Iopsys EG400 router"},
    "amino-kamai7": {"sv": "Amino Kamai 7 tv-box", "fi": "Amino Kamai 7 -digiboksi", "en": "Amino Kamai 7 set-top box"},
    "grandstream-ht802": {"sv": "Grandstream HT802 telefonadapter", "fi": "Grandstream HT802 -puhelinadapteri", "en": "Grandstream HT802 phone adapter"},
}  # fmt: skip

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
        area = Area(code=code, name=name, kind=kind, parent=parent, names=AREA_NAMES.get(code, {}))
        area.save()  # save() derives path and depth from the parent
    elif not area.names and code in AREA_NAMES:  # seeded before names existed
        area.names = AREA_NAMES[code]
        area.save(update_fields=["names"])
    return area


@transaction.atomic
def ensure_catalogue() -> Catalogue:
    """Create (or find) services, the area tree with availability, and equipment models."""
    services = {}
    for code, (name, description) in SERVICES.items():
        services[code], _ = Service.objects.get_or_create(
            code=code, defaults={"name": name, "description": description, "names": SERVICE_NAMES[code]}
        )
        if not services[code].names:  # seeded before names existed
            services[code].names = SERVICE_NAMES[code]
            services[code].save(update_fields=["names"])
    equipment = {}
    for code, vendor, model, firmware in EQUIPMENT:
        equipment[code], _ = EquipmentModel.objects.get_or_create(
            code=code,
            defaults={"vendor": vendor, "model": model, "firmware": firmware, "names": EQUIPMENT_NAMES[code]},
        )
        if not equipment[code].names:  # seeded before names existed
            equipment[code].names = EQUIPMENT_NAMES[code]
            equipment[code].save(update_fields=["names"])
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
