from __future__ import annotations

import pytest

from tests.notifications.conftest import smtp  # noqa: F401  (the local SMTP server fixture)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Attachments a test stores go to a throw-away MEDIA_ROOT, never the working tree."""
    settings.MEDIA_ROOT = tmp_path / "media"
