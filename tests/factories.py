"""factory_boy factories for test data. Tickets are opened through the real service."""

from __future__ import annotations

import factory
from django.utils import timezone

from customers.models import Area, Customer, CustomerPhone, EquipmentModel, Service, Subscription
from tickets.models import Ticket


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        django_get_or_create = ("code",)

    code = "broadband"
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())


class AreaFactory(factory.django.DjangoModelFactory):
    """With no parent, a municipality under Sweden / Stockholm (created on demand)."""

    class Meta:
        model = Area
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"area-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    kind = Area.Kind.MUNICIPALITY
    parent = factory.LazyFunction(
        lambda: AreaFactory(
            code="se-ab",
            name="Stockholm",
            kind=Area.Kind.REGION,
            parent=AreaFactory(code="se", name="Sweden", kind=Area.Kind.COUNTRY, parent=None),
        )
    )


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EquipmentModel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"modem-{n}")
    vendor = "ZyXEL"
    model = factory.Sequence(lambda n: f"VMG{3000 + n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer
        skip_postgeneration_save = True

    number = factory.Sequence(lambda n: f"{100000 + n}")
    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda o: f"c{o.number}@example.com")
    language = "sv"

    @factory.post_generation
    def phone(obj, create, extracted, **kwargs):
        if create:
            CustomerPhone.objects.create(customer=obj, number=extracted or f"+4670{obj.number}")


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscription

    customer = factory.SubFactory(CustomerFactory)
    service = factory.SubFactory(ServiceFactory)
    area = factory.SubFactory(AreaFactory)
    equipment = factory.SubFactory(EquipmentFactory)
    plan = Subscription.Plan.PRIVATE
    address = factory.Faker("street_address")


def open_ticket(*, customer=None, actor=None, **fields) -> Ticket:
    """Open a ticket through ``tickets.services.ticket_open`` (matching included)."""
    from tickets.services import ticket_open

    if customer is None:
        customer = SubscriptionFactory().customer
    fields.setdefault("subject", "Internet is down")
    fields.setdefault("description", "No connection since this morning.")
    fields.setdefault("channel", Ticket.Channel.WEB)
    return ticket_open(customer=customer, actor=actor, **fields)


def backdate(ticket: Ticket, **delta) -> Ticket:
    """Pretend the ticket was opened earlier (``backdate(t, hours=5)``)."""
    when = timezone.now() - timezone.timedelta(**delta)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=when)
    ticket.created_at = when
    return ticket


def declare_incident(*, actor=None, **fields):
    """Declare an incident through ``incidents.services.incident_declare``; returns its result
    (``.incident``, ``.linked_count``, ``.affected_subscriptions``). Scope dimensions default to empty,
    and then ``affects_everyone`` to True."""
    from incidents.services import incident_declare

    fields.setdefault("title", "Mail platform down")
    fields.setdefault("kind", "outage")
    fields.setdefault("severity", 2)
    fields.setdefault("services", [])
    fields.setdefault("areas", [])
    fields.setdefault("equipment", [])
    fields.setdefault("public_message", {"en": "We are working on it.", "sv": "Vi arbetar på det."})
    # Tests that leave the scope empty mean "everyone" (the service refuses it unless said so).
    if not any(fields.get(k) for k in ("services", "areas", "equipment", "keywords")):
        fields.setdefault("affects_everyone", True)
    return incident_declare(actor=actor, **fields)


def login_session(user) -> str:
    """A logged-in session for ``user`` written straight to the session store, as a login would;
    returns its key (the value of the session cookie)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def logged_in(user):
    """A test client signed in as ``user`` (force_login: django-axes guards the real login)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client
