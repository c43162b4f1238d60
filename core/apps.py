from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app may use: roles, domain errors, languages, per-language texts, times, and
    the one shared table: idempotency keys (core.models)."""

    name = "core"
    verbose_name = "Core"
