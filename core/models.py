"""The one table every app's API shares: idempotency keys (``core.idempotency``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class IdempotencyKey(models.Model):
    """A create request made with an ``Idempotency-Key`` header, and the response it got.

    The unique (user, key) constraint is what makes a retry race-safe: a second request with the same
    key waits on the first one's uncommitted row, then finds the finished response and replays it.
    Rows expire after ``IDEMPOTENCY_KEY_TTL`` seconds (a day); ``purge_expired`` deletes them.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # METHOD + path + SHA-256 of the body: the same key with another request is refused, not replayed.
    fingerprint = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    status_code = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")]
        # For the purge (core.idempotency.purge_expired, a beat task).
        indexes = [models.Index(fields=["expires_at"], name="idempotency_key_expires_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path})"
