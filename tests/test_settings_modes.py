"""The two modes of supportdesk/settings.py, read in a fresh interpreter with a controlled environment.

Embedded default (nothing set): SQLite, in-memory Channels layer, eager Celery. With DATABASE_URL
and REDIS_URL: PostgreSQL, channels-redis, Redis broker, real workers. Production demands a real
secret and passes ``check --deploy``.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.core

ROOT = Path(__file__).resolve().parent.parent

# Every variable settings.py reads, so the developer's or CI's own values never leak in.
SETTINGS_VARS = (
    "SUPPORTDESK_PRODUCTION", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "CONN_MAX_AGE", "HEARTBEAT_INTERVAL",
    "HEARTBEAT_MAX_AGE", "INCIDENT_LOOKBACK_HOURS", "DATA_UPLOAD_MAX_MEMORY_SIZE", "EMAIL_BACKEND",
    "EMAIL_HOST", "EMAIL_PORT", "DEFAULT_FROM_EMAIL", "LOG_LEVEL", "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS", "MONITORING_RESOLVED_ACTION",
)  # fmt: skip

READ_SETTINGS = """
import json
import django
django.setup()
from django.conf import settings
from supportdesk.celery import app
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "using_postgres": settings.USING_POSTGRES,
    "layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": app.conf.broker_url,
    "debug": settings.DEBUG,
    "production": settings.PRODUCTION,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "session_cookie_secure": settings.SESSION_COOKIE_SECURE,
    "csrf_cookie_secure": settings.CSRF_COOKIE_SECURE,
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "hsts": settings.SECURE_HSTS_SECONDS,
}))
"""


def _env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARS}
    env["DJANGO_SETTINGS_MODULE"] = "supportdesk.settings"
    env.update(values)
    return env


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=_env(**env), capture_output=True, text=True, timeout=120
    )


def read_settings(**env: str) -> dict:
    proc = _run(["-c", READ_SETTINGS], **env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def real_secret() -> str:
    return secrets.token_urlsafe(50)


def test_nothing_set_runs_embedded_on_sqlite_in_memory_layer_and_eager_celery():
    s = read_settings()
    assert s["engine"] == "django.db.backends.sqlite3"
    assert s["db_name"].endswith("db.sqlite3")
    assert s["using_postgres"] is False
    assert s["layer"] == "channels.layers.InMemoryChannelLayer"
    assert s["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert s["eager"] is True
    assert s["broker"] == "memory://"
    assert s["debug"] is True
    assert s["production"] is False


def test_database_and_redis_urls_switch_to_postgres_redis_and_real_workers():
    s = read_settings(
        DATABASE_URL="postgres://desk:pw@db.internal:5432/supportdesk",
        REDIS_URL="redis://cache.internal:6379/0",
    )
    assert s["engine"] == "django.db.backends.postgresql"
    assert s["using_postgres"] is True
    assert s["layer"] == "channels_redis.core.RedisChannelLayer"
    assert s["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert s["broker"] == "redis://cache.internal:6379/0"
    assert s["eager"] is False


def test_eager_celery_can_be_forced_with_redis_set():
    s = read_settings(REDIS_URL="redis://127.0.0.1:6379/0", CELERY_TASK_ALWAYS_EAGER="1")
    assert s["eager"] is True


def test_production_without_a_secret_key_fails_loudly():
    proc = _run(["-c", READ_SETTINGS], SUPPORTDESK_PRODUCTION="1")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "SECRET_KEY" in proc.stderr


def test_production_refuses_the_development_secret_key():
    from django.conf import settings

    proc = _run(["-c", READ_SETTINGS], SUPPORTDESK_PRODUCTION="1", SECRET_KEY=settings.SECRET_KEY)
    assert proc.returncode != 0
    assert "SECRET_KEY" in proc.stderr


def test_a_malformed_number_fails_loudly_instead_of_falling_back():
    proc = _run(["-c", READ_SETTINGS], CONN_MAX_AGE="sixty")
    assert proc.returncode != 0
    assert "ValueError" in proc.stderr


def test_an_unknown_monitoring_resolved_action_fails_loudly():
    proc = _run(["-c", READ_SETTINGS], MONITORING_RESOLVED_ACTION="close")
    assert proc.returncode != 0
    assert "MONITORING_RESOLVED_ACTION" in proc.stderr


def test_production_turns_debug_off_and_cookies_secure():
    s = read_settings(SUPPORTDESK_PRODUCTION="1", SECRET_KEY=real_secret(), ALLOWED_HOSTS="desk.example.com")
    assert s["debug"] is False
    assert s["allowed_hosts"] == ["desk.example.com"]
    assert s["session_cookie_secure"] is True
    assert s["csrf_cookie_secure"] is True
    assert s["ssl_redirect"] is True
    assert s["hsts"] >= 31536000


def test_production_passes_check_deploy_without_warnings():
    proc = _run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        SUPPORTDESK_PRODUCTION="1",
        SECRET_KEY=real_secret(),
        ALLOWED_HOSTS="desk.example.com",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues (0 silenced)." in proc.stdout
