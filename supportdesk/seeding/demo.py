"""The demo story, told through the desk's own services.

``seed_demo()`` loads the catalogue and ``customers`` generated ones (``bulk.load_scale_data``), then
adds demo logins (one per role), a handful of named customers whose tickets are opened through
``tickets.services.ticket_open`` (so matching runs), and two incidents declared through
``incidents.services.incident_declare``: an e-mail outage across Sweden and a known defect of the
ZyXEL VMG3625. Every step is idempotent; ``flush=True`` empties the desk's tables first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone

from core import roles
from customers.models import Customer, CustomerPhone, Subscription
from incidents.models import CompensationPolicy, Incident, MonitoringLabelMap
from incidents.services import incident_declare
from supportdesk.seeding.bulk import Out, ScaleResult, load_scale_data, quiet
from supportdesk.seeding.catalogue import KNOWN_DEFECT_EQUIPMENT, Catalogue, ensure_catalogue
from supportdesk.seeding.words import ASCII_FOLD
from tickets import services as ts
from tickets.models import Macro, Ticket


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


def ensure_demo_users(stdout: Out = quiet, *, demo_passwords: bool = True) -> dict[str, User]:
    """One login per role. Passwords are set when the user is created, never overwritten; without
    ``demo_passwords`` (production) new users get an unusable password, so no well-known login exists."""
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
            if demo_passwords:
                user.set_password(login.password)
            else:
                user.set_unusable_password()
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
        first = spec.name.split()[0].lower().translate(ASCII_FOLD)
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
            "titles": {
                "sv": "Störning i e-posten i hela Sverige",
                "fi": "Sähköpostin häiriö koko Ruotsissa",
                "en": EMAIL_OUTAGE_TITLE,
            },
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
            "titles": {
                "sv": "ZyXEL VMG3625 startar bara efter en lång återställning",
                "fi": "ZyXEL VMG3625 käynnistyy vain pitkän nollauksen jälkeen",
                "en": KNOWN_ISSUE_TITLE,
            },
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


def ensure_demo_incidents(cat: Catalogue, actor: User, stdout: Out = quiet) -> list[Incident]:
    """Declare the demo incidents through ``incidents.services.incident_declare`` (which links the
    open tickets in scope), unless an incident with the same title exists already."""
    now = timezone.now()
    out = []
    for spec in _incident_specs(cat, now):
        existing = Incident.objects.filter(title=spec["title"]).first()
        if existing is not None:
            out.append(existing)
            continue
        result = incident_declare(**spec, source=Incident.Source.MANUAL, actor=actor)
        linked = result.linked_count
        stdout(f"  declared “{result.incident.title}”" + (f", {linked:,} tickets linked" if linked else ""))
        out.append(result.incident)
    return out


def ensure_demo_tickets(
    demo: list[tuple[Customer, DemoCustomer]], cat: Catalogue, users: dict[str, User]
) -> int:
    """Open the named customers' tickets through ``ticket_open`` (matching runs) and walk a few
    through the desk's other verbs. A customer who already has tickets is left alone."""
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


# --- Compensation policies and monitoring label mappings -----------------------------------------

# Demo compensation (per started day, in SEK; one currency per policy, see README "Compensation"):
# service → ((private min minutes, per day, cap), (business min minutes, per day, cap)).
DEMO_COMPENSATION = {
    "broadband": ((240, "50.00", "500.00"), (60, "300.00", "3000.00")),
    "dsl": ((240, "40.00", "400.00"), (60, "250.00", "2500.00")),
    "email": ((480, "20.00", "200.00"), (120, "150.00", "1500.00")),
    "voip": ((240, "30.00", "300.00"), (60, "200.00", "2000.00")),
}
# Alert labels that carry our own codes as they are (Alertmanager rules can add them per target).
DEMO_LABEL_MAPS = (("service", "service"), ("area", "area"), ("cpe", "equipment"))


def ensure_demo_compensation_and_monitoring(cat: Catalogue) -> None:
    """Compensation policies and label mappings an admin would start from; left alone if edited."""
    for code, plans in DEMO_COMPENSATION.items():
        for plan, (minutes, per_day, cap) in zip(("private", "business"), plans, strict=True):
            CompensationPolicy.objects.get_or_create(
                service=cat.services[code],
                plan=plan,
                defaults={
                    "min_outage_minutes": minutes,
                    "amount_per_day": Decimal(per_day),
                    "cap": Decimal(cap),
                    "currency": "SEK",
                },
            )
    for label, dimension in DEMO_LABEL_MAPS:
        MonitoringLabelMap.objects.get_or_create(label=label, value="", defaults={"dimension": dimension})


DEMO_MACROS = {
    "Known outage: we are on it": {
        "sv": "Hej {customer_name}!\n\nDet här beror på ett fel hos oss ({incident_title}), inte på något hemma "
        "hos dig. Teknikerna räknar med att det är åtgärdat {incident_eta}. Du behöver inte göra något; vi "
        "hör av oss när det fungerar igen.\n\nHälsningar\n{agent_name}",
        "fi": "Hei {customer_name}!\n\nTämä johtuu viasta meidän päässämme ({incident_title}), ei mistään "
        "kotonasi. Teknikot arvioivat korjauksen valmistuvan {incident_eta}. Sinun ei tarvitse tehdä mitään; "
        "kerromme, kun yhteys toimii taas.\n\nTerveisin\n{agent_name}",
        "en": "Hello {customer_name},\n\nThis is caused by a fault on our side ({incident_title}), not by "
        "anything at your home. Our technicians expect it fixed {incident_eta}. You need not do anything; "
        "we will tell you when it works again.\n\nBest regards\n{agent_name}",
    },
    "Restart the router": {
        "sv": "Hej {customer_name}!\n\nProva att dra ur routerns ström i 30 sekunder och sätta i den igen. "
        "Svara på det här mejlet (ärende {reference}) om det inte hjälper.\n\nHälsningar\n{agent_name}",
        "fi": "Hei {customer_name}!\n\nIrrota reitittimen virtajohto 30 sekunniksi ja kytke se takaisin. "
        "Vastaa tähän viestiin (tiketti {reference}), jos se ei auta.\n\nTerveisin\n{agent_name}",
        "en": "Hello {customer_name},\n\nPlease unplug your router for 30 seconds and plug it back in. "
        "Reply to this e-mail (ticket {reference}) if that does not help.\n\nBest regards\n{agent_name}",
    },
}


def ensure_demo_macros() -> None:
    """Canned replies agents start from; left alone if an admin edited them."""
    for name, texts in DEMO_MACROS.items():
        Macro.objects.get_or_create(name=name, defaults={"texts": texts})


# --- Flush and the whole demo ---------------------------------------------------------------------

DESK_APPS = ("notifications", "incidents", "tickets", "customers")


def flush_desk_data(stdout: Out = quiet) -> None:
    """Empty every table of the desk's apps (TRUNCATE … CASCADE on PostgreSQL) and drop the demo
    logins. Users, groups and sessions of real people are kept."""
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
    incidents: list[Incident]
    seconds: float


def seed_demo(
    *,
    customers: int = 200,
    flush: bool = False,
    seed: int = 20260101,
    stdout: Out = quiet,
    demo_passwords: bool = True,
) -> DemoResult:
    """The whole demo, idempotently: catalogue, logins, named customers, ``customers`` generated ones,
    the two incidents (declared after the bulk load, so they link its open tickets) and the named
    customers' tickets (opened after the incidents, so ticket-side matching links them)."""
    started = time.monotonic()
    if flush:
        flush_desk_data(stdout)
    with transaction.atomic():
        cat = ensure_catalogue()
        users = ensure_demo_users(stdout, demo_passwords=demo_passwords)
        demo = ensure_demo_customers(cat, users)
        ensure_demo_compensation_and_monitoring(cat)
        ensure_demo_macros()
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
