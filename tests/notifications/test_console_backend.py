"""The embedded default prints customer e-mail with Django's console backend: the outbox's prepared
(pre-flattened) notices must go through it too, and be marked sent, not left for the sweep."""

from __future__ import annotations

import io

import pytest
from django.core.mail.backends.console import EmailBackend

from notifications.models import Notification
from tests import factories

pytestmark = [pytest.mark.core, pytest.mark.django_db(transaction=True)]


def test_an_outage_notice_is_printed_by_the_console_backend_and_marked_sent(settings, ops, monkeypatch):
    printed = io.StringIO()
    monkeypatch.setattr(EmailBackend, "__init__", _console_into(printed))
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    subscription = factories.SubscriptionFactory()
    factories.declare_incident(actor=ops, services=[subscription.service])
    notice = Notification.objects.get(kind=Notification.Kind.INCIDENT_AFFECTS_YOU)
    assert notice.state == Notification.State.SENT, notice.last_error
    assert subscription.customer.email in printed.getvalue()


def _console_into(stream):
    original = EmailBackend.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.stream = stream

    return init
