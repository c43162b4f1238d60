from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    """Attachments a test stores go to a throw-away MEDIA_ROOT, never the working tree."""
    settings.MEDIA_ROOT = tmp_path / "media"
