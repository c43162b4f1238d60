"""Sign-in is throttled by django-axes on the login page, the admin and the token endpoint; proxy
headers are not trusted unless configured; Redis being down does not turn the throttle into a 500."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.core]

WRONG = "not-the-password"


@pytest.fixture(autouse=True)
def _fresh_cache():
    caches["default"].clear()
    yield


def test_after_too_many_wrong_passwords_the_right_one_does_not_log_in(client, ops, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": ops.username, "password": WRONG})
    response = client.post(reverse("login"), {"username": ops.username, "password": f"pw-{ops.username}"})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_few_wrong_passwords_then_the_right_one_logs_in(client, ops, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post(reverse("login"), {"username": ops.username, "password": WRONG})
    response = client.post(reverse("login"), {"username": ops.username, "password": f"pw-{ops.username}"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(ops.pk)


def test_the_admin_login_is_throttled_too(client, admin_user, settings):
    username = admin_user.username
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": username, "password": WRONG})
    response = client.post("/admin/login/", {"username": username, "password": f"pw-{username}"})
    assert response.status_code == 429


def test_the_token_endpoint_locks_out_as_json_and_rotating_x_forwarded_for_does_not_help(
    client, ops, settings
):
    url = reverse("api-token")
    for n in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": ops.username, "password": WRONG}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response = client.post(
        url, {"username": ops.username, "password": f"pw-{ops.username}"}, HTTP_X_FORWARDED_FOR="10.9.9.9"
    )
    assert response.status_code == 429
    assert "token" not in response.json()
    assert response.json()["error"]


def test_the_token_endpoint_works_when_redis_is_down(client, ops, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    response = client.post(reverse("api-token"), {"username": ops.username, "password": f"pw-{ops.username}"})
    assert response.status_code == 200
    assert response.json()["token"]
