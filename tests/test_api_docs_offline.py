"""/api/docs/ works offline under the CSP: every script and style comes from this site."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def test_the_docs_page_loads_nothing_from_a_cdn_and_no_inline_script(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert all(not s.startswith(("http://", "https://", "//")) for s in sources), sources
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html), "inline script: blocked by the CSP"


def test_the_docs_init_script_is_served(client):
    html = client.get("/api/docs/").content.decode()
    init = next(s for s in re.findall(r'src="([^"]+)"', html) if "script" in s)
    response = client.get(init)
    assert response.status_code == 200
    assert b"SwaggerUIBundle" in b"".join(response)
