"""Sending the browser back where a form came from (``next``), safely."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def redirect_back(request: HttpRequest, target: str, fallback: str) -> HttpResponseRedirect:
    """Redirect to ``target`` (a ``next`` the client sent) when it is a URL on this site, else to
    ``fallback``. Never through ``django.shortcuts.redirect``: it tries a string as a view name first,
    and ``next=99999`` would be a NoReverseMatch, a 500."""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect(fallback)
