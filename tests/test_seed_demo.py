"""``manage.py seed_demo`` and the bulk loader behind it (supportdesk/seeding/)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from core import roles
from customers.models import Area, Customer, CustomerPhone, EquipmentModel, Service, Subscription
from incidents.models import Incident
from supportdesk import seeding
from supportdesk.views import HOME_BY_ROLE, home_url_name
from tickets.models import Ticket

HOME_FOR = dict(HOME_BY_ROLE)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Every seed hashes five demo passwords; PBKDF2 at full strength was most of these tests' time."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(customers: int = 30, **options) -> str:
    """Run the command as a person would and return what it printed."""
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", customers=customers, stdout=out, **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        m.__name__: m.objects.count()
        for m in (
            Service,
            Area,
            EquipmentModel,
            Customer,
            CustomerPhone,
            Subscription,
            Ticket,
            Incident,
            User,
        )
    }


# --- the small demo, on whatever database the run uses (SQLite in the embedded smoke run) ----------


@pytest.mark.core
@pytest.mark.django_db
def test_it_builds_the_catalogue_the_stories_need():
    seed(customers=0)
    assert set(Service.objects.values_list("code", flat=True)) >= {
        "broadband", "dsl", "mobile-4g", "mobile-5g", "email", "iptv", "voip",
    }  # fmt: skip
    assert Service.objects.get(code="broadband").name == "Fibre broadband"
    assert EquipmentModel.objects.filter(code=seeding.KNOWN_DEFECT_EQUIPMENT, vendor="ZyXEL").exists()
    assert EquipmentModel.objects.values("vendor").distinct().count() >= 6
    # Every box has a name in each language customers read (sv/fi pages never fall back to English).
    assert not EquipmentModel.objects.exclude(names__has_keys=["sv", "fi", "en"]).exists()
    assert EquipmentModel.objects.get(code="amino-kamai7").name_in("fi") == "Amino Kamai 7 -digiboksi"
    # Story 5: no 4G out on the island, though the municipality has it on the mainland.
    sandhamn = Area.objects.get(code="se-13039")
    assert not sandhamn.services.filter(code="mobile-4g").exists()
    assert Area.objects.get(code="se-13940").services.filter(code="mobile-4g").exists()


@pytest.mark.core
@pytest.mark.django_db
def test_the_area_tree_has_materialised_paths_from_country_to_postcode():
    seed(customers=0)
    stockholm = Area.objects.get(code="se-ab-0180")
    assert stockholm.path == "se/se-ab/se-ab-0180/"
    assert stockholm.depth == 2
    assert Area.objects.get(code="fi-00100").path == "fi/fi-18/fi-18-091/fi-00100/"
    for area in Area.objects.select_related("parent"):
        if area.parent is None:
            assert area.kind == Area.Kind.COUNTRY
            assert area.path == f"{area.code}/"
        else:
            assert area.path == f"{area.parent.path}{area.code}/"
            assert area.depth == area.parent.depth + 1
    leaves = Area.objects.filter(children__isnull=True)
    assert set(leaves.values_list("kind", flat=True)) <= {Area.Kind.POSTCODE, Area.Kind.EXCHANGE}
    assert set(stockholm.subtree().filter(kind=Area.Kind.POSTCODE).values_list("code", flat=True)) >= {
        "se-11122",
        "se-11646",
    }


@pytest.mark.core
@pytest.mark.django_db
def test_it_prints_one_login_per_role_and_each_can_log_in(client):
    out = seed(customers=0)
    for login in seeding.DEMO_LOGINS:
        assert login.username in out and login.password in out
        user = User.objects.get(username=login.username)
        assert roles.has_role(user, login.role)
        # Through the login page: django-axes wants the request that client.login() does not pass.
        response = client.post(reverse("login"), {"username": login.username, "password": login.password})
        assert response.status_code == 302 and client.session["_auth_user_id"] == str(user.pk)
        client.logout()
    admin = User.objects.get(username="admin")
    assert admin.is_staff and admin.is_superuser
    assert not User.objects.get(username="agent").is_staff


@pytest.mark.core
@pytest.mark.django_db
@pytest.mark.parametrize("login", seeding.DEMO_LOGINS, ids=lambda login: login.role)
def test_each_demo_login_lands_on_its_roles_home(client, login):
    seed(customers=0)
    response = client.post(reverse("login"), {"username": login.username, "password": login.password})
    assert response.status_code == 302
    assert response.url == reverse("home")
    user = User.objects.get(username=login.username)
    assert home_url_name(user) == HOME_FOR[login.role]
    home = client.get(reverse("home"))
    assert home.status_code == 302
    assert home.url == reverse(HOME_FOR[login.role])
    assert client.get(home.url).status_code == 200  # and the page renders for that role


@pytest.mark.core
@pytest.mark.django_db
def test_the_customer_login_has_subscriptions_and_tickets():
    seed(customers=0)
    kund = Customer.objects.get(user__username="kund")
    assert kund.subscriptions.filter(equipment__code=seeding.KNOWN_DEFECT_EQUIPMENT).exists()
    assert kund.tickets.count() >= 2
    assert kund.phones.filter(number__startswith="+46").exists()


@pytest.mark.core
@pytest.mark.django_db
def test_it_declares_the_email_outage_and_the_known_defect():
    seed(customers=0)
    outage = Incident.objects.get(title=seeding.EMAIL_OUTAGE_TITLE)
    assert outage.kind == Incident.Kind.OUTAGE and outage.is_active
    assert list(outage.services.values_list("code", flat=True)) == ["email"]
    assert list(outage.areas.values_list("code", flat=True)) == ["se"]
    assert outage.eta > timezone.now()
    assert set(outage.public_message) == {"sv", "fi", "en"}
    assert "ursäkt" in outage.public_message["sv"] and "sorry" in outage.public_message["en"]
    assert set(outage.agent_script) == {"sv", "fi", "en"}

    known = Incident.objects.get(title=seeding.KNOWN_ISSUE_TITLE)
    assert known.kind == Incident.Kind.KNOWN_ISSUE
    assert list(known.equipment.values_list("code", flat=True)) == [seeding.KNOWN_DEFECT_EQUIPMENT]
    assert set(known.workaround) == {"sv", "fi", "en"}
    assert "20–30" in known.workaround["sv"] and "\n2." in known.workaround["fi"]


@pytest.mark.core
@pytest.mark.django_db
def test_named_tickets_are_opened_through_the_service_so_matching_links_them():
    seed(customers=0)
    karin_mail = Ticket.objects.get(customer__user__username="kund", subject="Kan inte skicka e-post")
    assert karin_mail.events.filter(kind="opened").exists()  # written by ticket_open
    assert karin_mail.incident_links.filter(incident__title=seeding.EMAIL_OUTAGE_TITLE).exists()
    # Scope: the same complaint from Helsinki is not explained by a Swedish outage.
    mikko_mail = Ticket.objects.get(subject="Sähköposti ei toimi", customer__number="1000007")
    assert not mikko_mail.incident_links.exists()
    modem = Ticket.objects.get(subject="Modemet startar inte efter strömavbrottet")
    assert modem.status == Ticket.Status.ESCALATED
    assert modem.incident_links.filter(incident__title=seeding.KNOWN_ISSUE_TITLE).exists()
    statuses = set(
        Ticket.objects.filter(customer__number__startswith="10000").values_list("status", flat=True)
    )
    assert statuses >= {"new", "open", "escalated", "pending-customer", "resolved", "closed"}
    assert set(Ticket.objects.values_list("customer__language", flat=True)) == {"sv", "fi", "en"}


@pytest.mark.core
@pytest.mark.django_db
def test_running_it_twice_adds_nothing():
    seed(customers=25)
    before = counts()
    out = seed(customers=25)
    assert counts() == before
    assert "already there" in out


@pytest.mark.core
@pytest.mark.django_db
def test_a_larger_count_tops_the_generated_customers_up():
    seed(customers=20)
    seed(customers=30)
    assert Customer.objects.filter(number__startswith=seeding.SCALE_NUMBER_PREFIX).count() == 30


@pytest.mark.core
@pytest.mark.django_db
def test_flush_starts_again_from_empty():
    seed(customers=10)
    before = counts()
    ticket = Ticket.objects.create(
        customer=Customer.objects.first(), subject="Extra", description="", channel="web"
    )
    seed(customers=10, flush=True)
    assert counts() == before
    assert not Ticket.objects.filter(subject="Extra").exists()
    assert Ticket.objects.filter(pk=ticket.pk, subject="Extra").count() == 0


@pytest.mark.core
@pytest.mark.django_db
def test_generated_tickets_copy_their_scope_from_a_subscription_in_a_leaf_area():
    seed(customers=60)
    generated = Ticket.objects.filter(customer__number__startswith=seeding.SCALE_NUMBER_PREFIX)
    assert generated.count() > 30
    assert_bulk_tickets_are_consistent(generated)


def assert_bulk_tickets_are_consistent(tickets) -> None:
    leaf_ids = set(Area.objects.filter(children__isnull=True).values_list("id", flat=True))
    assert set(tickets.values_list("area_id", flat=True)) <= leaf_ids
    assert not tickets.exclude(area__path__regex=r"^(se|fi)/").exists()
    assert not tickets.exclude(service=F("subscription__service")).exists()
    assert not tickets.exclude(area=F("subscription__area")).exists()
    assert (
        not tickets.filter(subscription__equipment__isnull=False)
        .exclude(equipment=F("subscription__equipment"))
        .exists()
    )
    for category, queue in Ticket.QUEUE_FOR_CATEGORY.items():
        routed = tickets.filter(category=category).exclude(status=Ticket.Status.ESCALATED)
        assert not routed.exclude(queue=queue).exists()
    assert not tickets.filter(status=Ticket.Status.ESCALATED).exclude(queue=Ticket.Queue.SECOND_LINE).exists()
    oldest = timezone.now() - timedelta(days=90, minutes=5)
    assert not tickets.filter(created_at__lt=oldest).exists()
    assert not tickets.filter(created_at__gt=timezone.now()).exists()
    assert not tickets.filter(status__in=["resolved", "closed"], resolved_at__isnull=True).exists()
    assert not tickets.filter(status__in=Ticket.OPEN_STATUSES, resolved_at__isnull=False).exists()
    # Story 5 holds in the generated base too: nobody subscribes to what their area lacks.
    for sub in Subscription.objects.select_related("area").prefetch_related("area__services")[:500]:
        assert sub.service_id in {s.pk for s in sub.area.services.all()}


# --- the COPY loader on PostgreSQL ---------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_loader_writes_customers_subscriptions_and_tickets_at_scale():
    assert connection.vendor == "postgresql"
    result = seeding.load_scale_data(customers=2000, open_share=0.17, seed=7, rebuild_indexes=True)
    assert result.customers == 2000
    assert Customer.objects.filter(number__startswith=seeding.SCALE_NUMBER_PREFIX).count() == 2000
    assert CustomerPhone.objects.filter(number__regex=r"^\+[0-9]{10,15}$").count() == 2000
    assert Subscription.objects.count() == result.subscriptions >= 2000
    tickets = Ticket.objects.all()
    assert tickets.count() == result.tickets
    assert 1700 <= result.tickets <= 2300  # about one per customer
    open_share = tickets.filter(status__in=Ticket.OPEN_STATUSES).count() / result.tickets
    assert 0.13 <= open_share <= 0.21
    assert_bulk_tickets_are_consistent(tickets)
    languages = set(Customer.objects.values_list("language", flat=True))
    assert languages == {"sv", "fi", "en"}


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_loader_is_idempotent_and_leaves_the_sequences_usable():
    seeding.load_scale_data(customers=500, seed=7)
    again = seeding.load_scale_data(customers=500, seed=7)
    assert again.customers == 0 and again.skipped == 500
    assert Customer.objects.count() == 500
    # The ORM's next insert must not collide with the ids COPY wrote explicitly.
    from tickets.services import ticket_open

    customer = Customer.objects.order_by("-pk").first()
    ticket = ticket_open(customer=customer, subject="Ingen internetanslutning", description="", channel="web")
    assert ticket.pk > Ticket.objects.exclude(pk=ticket.pk).order_by("-pk").first().pk
    new = Customer.objects.create(number="9999999", name="After the load")
    assert new.pk > customer.pk


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_loader_keeps_foreign_key_checks_for_the_callers_own_writes():
    from django.db import IntegrityError, transaction

    seeding.load_scale_data(customers=50, seed=7)
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerPhone.objects.create(customer_id=10**12, number="+46700000000")
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.postgres
@pytest.mark.django_db
def test_rebuilding_indexes_around_a_load_leaves_exactly_the_same_indexes():
    tables = [m._meta.db_table for m in (Customer, CustomerPhone, Subscription, Ticket)]

    def index_definitions() -> list[tuple[str, bool]]:
        # PostgreSQL re-prints a partial index's predicate in an equivalent but different form once
        # it was re-parsed, so compare what precedes WHERE, and whether there is one.
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = ANY(%s) ORDER BY 1", [tables])
            return [(d.split(" WHERE ")[0], " WHERE " in d) for (d,) in cursor.fetchall()]

    before = index_definitions()
    printed: list[str] = []
    seeding.load_scale_data(customers=300, seed=7, rebuild_indexes=True, stdout=printed.append)
    assert index_definitions() == before
    assert any("rebuilt" in line for line in printed)
    # The partial queue index is back and usable.
    assert any("ticket_open_queue_idx" in d for d, _partial in before)
