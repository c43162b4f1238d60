"""seed_demo refuses production mode unless told, and never leaves a demo password there."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from customers.models import Customer

pytestmark = [pytest.mark.django_db, pytest.mark.core]


@pytest.fixture(autouse=True)
def _production(settings):
    settings.PRODUCTION = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_it_refuses_in_production_mode_and_loads_nothing():
    with pytest.raises(CommandError, match="--i-know-this-is-production"):
        call_command("seed_demo", customers=0, stdout=StringIO())
    assert not User.objects.exists()
    assert not Customer.objects.exists()


def test_told_it_is_production_it_seeds_without_any_usable_demo_password(client):
    out = StringIO()
    call_command("seed_demo", customers=0, i_know_this_is_production=True, stdout=out)
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and not admin.has_usable_password()
    assert not any(
        u.has_usable_password() for u in User.objects.filter(username__in=["agent", "ops", "kund"])
    )
    assert "admin-demo" not in out.getvalue()
    from django.urls import reverse

    client.post(reverse("login"), {"username": "admin", "password": "admin-demo"})
    assert "_auth_user_id" not in client.session
