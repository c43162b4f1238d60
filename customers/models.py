"""The installed base: what we sell, where, on which equipment, to whom."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from functools import reduce

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.i18n import name_in
from core.languages import Language

code_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]*$", _("Use lower-case letters, digits and hyphens, e.g. 'fibre-broadband'.")
)


class Service(models.Model):
    """Something we sell: broadband, e-mail, mobile 4G, IPTV, VoIP."""

    code = models.SlugField(_("code"), max_length=40, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=100)
    # The name per language ({"sv": "Fiberbredband", "fi": "Kuitulaajakaista"}); ``name`` is the
    # fallback for a language without one.
    names = models.JSONField(_("name per language"), default=dict, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return self.name

    def name_in(self, language: str | None = None) -> str:
        """The name in ``language`` (default: the active one), else English, else ``name``."""
        return name_in(self.names, self.name, language)


class Area(models.Model):
    """A node of the area tree: country → region → municipality → postcode/exchange.

    ``path`` is the materialised path of codes from the root, ending in a slash
    (``se/se-ab/se-ab-0180/``), so "everything under Stockholm" is one indexed prefix query.
    It is derived from the parent when the area is first saved and never rewritten afterwards.
    """

    class Kind(models.TextChoices):
        COUNTRY = "country", _("Country")
        REGION = "region", _("Region")
        MUNICIPALITY = "municipality", _("Municipality")
        POSTCODE = "postcode", _("Postcode")
        EXCHANGE = "exchange", _("Exchange")

    code = models.SlugField(_("code"), max_length=60, unique=True, validators=[code_validator])
    name = models.CharField(_("name"), max_length=120)
    # Place names differ by language in Finland (Helsinki/Helsingfors, Nagu/Nauvo).
    names = models.JSONField(_("name per language"), default=dict, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )
    path = models.CharField(_("path"), max_length=500, unique=True, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    services = models.ManyToManyField(
        Service,
        blank=True,
        related_name="areas",
        verbose_name=_("services available"),
        help_text=_("Services that can be delivered here (sales checks this before selling)."),
    )

    class Meta:
        ordering = ["path"]
        verbose_name = _("area")
        verbose_name_plural = _("areas")
        # ``path`` being unique, Django also gives it a varchar_pattern_ops index on PostgreSQL,
        # which is what the subtree query (LIKE 'se/se-ab/%') uses.

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.path:
            self.path = f"{self.parent.path if self.parent else ''}{self.code}/"
            self.depth = self.parent.depth + 1 if self.parent else 0
        super().save(*args, **kwargs)

    def name_in(self, language: str | None = None) -> str:
        """The place name in ``language`` (default: the active one), else ``name``."""
        return name_in(self.names, self.name, language)

    @property
    def country_code(self) -> str:
        """The code of the tree's root (``se``, ``fi``): which country, so which clock."""
        return self.path.split("/", 1)[0]

    def subtree(self) -> models.QuerySet[Area]:
        return Area.within([self.path])

    @classmethod
    def within(cls, paths: Iterable[str]) -> models.QuerySet[Area]:
        """The areas in the subtree of any of ``paths`` (each subtree's root included): a path
        prefix test, which the ``path`` index serves. No paths: no areas."""
        q = reduce(operator.or_, (models.Q(path__startswith=p) for p in paths), models.Q(pk__in=[]))
        return cls.objects.filter(q)

    def ancestor_paths(self) -> list[str]:
        """The paths of this area's ancestors and of itself, root first: the prefixes of its
        materialised path that end in a slash. THE definition of area ancestry: an area is in the
        subtree of exactly the areas whose path is in this list (see ``within``)."""
        return [self.path[: i + 1] for i, ch in enumerate(self.path) if ch == "/"]

    def ancestors(self) -> models.QuerySet[Area]:
        return Area.objects.filter(path__in=self.ancestor_paths()).order_by("depth")


class EquipmentModel(models.Model):
    """Customer-premises equipment: a modem, router, set-top box or phone adapter model."""

    code = models.SlugField(_("code"), max_length=60, unique=True, validators=[code_validator])
    vendor = models.CharField(_("vendor"), max_length=80)
    model = models.CharField(_("model"), max_length=80)
    firmware = models.CharField(_("firmware"), max_length=60, blank=True)
    # What people call it, per language ({"sv": "Amino Kamai 7 digitalbox", "fi": "Amino Kamai 7
    # -digiboksi"}); vendor and model are the fallback for a language without one.
    names = models.JSONField(_("name per language"), default=dict, blank=True)

    class Meta:
        ordering = ["vendor", "model"]
        verbose_name = _("equipment model")
        verbose_name_plural = _("equipment models")

    def __str__(self) -> str:
        return f"{self.vendor} {self.model}" + (f" ({self.firmware})" if self.firmware else "")

    def name_in(self, language: str | None = None) -> str:
        """The name in ``language`` (default: the active one), else English, else vendor and model."""
        return name_in(self.names, f"{self.vendor} {self.model}", language)


class Customer(models.Model):
    class ContactChannel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("Text message")
        PHONE = "phone", _("Phone")

    number = models.CharField(
        _("customer number"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[0-9]{4,20}$", _("A customer number is 4–20 digits."))],
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.SWEDISH
    )
    preferred_channel = models.CharField(
        _("preferred contact channel"),
        max_length=10,
        choices=ContactChannel.choices,
        default=ContactChannel.EMAIL,
    )
    # Proactive mail (outage/maintenance notices); off after a one-click unsubscribe (RFC 8058).
    # Mail about the customer's own tickets is not proactive and is always sent. A database default
    # too: bulk loaders (supportdesk.seeding's COPY) do not name the column.
    proactive_email = models.BooleanField(
        _("e-mail me about outages and maintenance"), default=True, db_default=True
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="customer",
        verbose_name=_("login"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["number"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        return f"{self.name} ({self.number})"


class CustomerPhone(models.Model):
    """A phone number a customer calls from, normalised to E.164 digits for the caller look-up."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(
        _("phone number"),
        max_length=20,
        db_index=True,
        validators=[RegexValidator(r"^\+[0-9]{6,18}$", _("Use international form, e.g. +46701234567."))],
    )

    class Meta:
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        constraints = [models.UniqueConstraint(fields=["customer", "number"], name="customer_phone_unique")]

    def __str__(self) -> str:
        return self.number


class Subscription(models.Model):
    """A customer's service at an address in an area, on a piece of equipment."""

    class Plan(models.TextChoices):
        PRIVATE = "private", _("Private")
        BUSINESS = "business", _("Business (with SLA)")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="subscriptions")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="subscriptions")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="subscriptions")
    equipment = models.ForeignKey(
        EquipmentModel, on_delete=models.PROTECT, null=True, blank=True, related_name="subscriptions"
    )
    plan = models.CharField(_("plan"), max_length=10, choices=Plan.choices, default=Plan.PRIVATE)
    address = models.CharField(_("address"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)
    started_at = models.DateField(_("started"), null=True, blank=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        indexes = [
            # Impact counts: active subscriptions of a service in a set of areas.
            models.Index(
                fields=["service", "area"], condition=models.Q(active=True), name="sub_active_service_area"
            ),
            models.Index(fields=["equipment"], condition=models.Q(active=True), name="sub_active_equipment"),
        ]

    def __str__(self) -> str:
        # In the reader's language: the customer's own picker on the contact form shows this.
        return f"{self.service.name_in()} — {self.address or self.area.name_in()}"


class SignInLink(models.Model):
    """One e-mailed sign-in link (``customers.signin``). The link carries a signed id; this row is what
    makes it expire (``created_at``) and work once (``used_at``, set by one conditional UPDATE). No
    secret is stored: the token is signed with SECRET_KEY when the mail is rendered."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sign_in_links")
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in link")
        verbose_name_plural = _("sign-in links")

    def __str__(self) -> str:
        return f"sign-in link {self.pk} for customer {self.customer_id}"
