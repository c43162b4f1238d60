from __future__ import annotations

from tests.notifications.conftest import smtp  # noqa: F401  (the local SMTP server fixture)
