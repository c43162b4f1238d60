"""Customers' pages that need no login: asking for and using an e-mailed sign-in link; coverage."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from customers import selectors, signin
from customers.models import Service


class SignInLinkForm(forms.Form):
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254)


# Public on purpose (tests/test_roles.py lists these): they are how a customer gets a login.
@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_link(request: HttpRequest) -> HttpResponse:
    """Ask for a sign-in link. The answer is the same whether or not the address is ours."""
    form = SignInLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            signin.sign_in_link_request(email=form.cleaned_data["email"], ip=request.META.get("REMOTE_ADDR"))
        except signin.RateLimited:
            return render(request, "customers/sign_in_link.html", {"form": form, "limited": True}, status=429)
        return redirect("customers:sign_in_link_sent")
    return render(request, "customers/sign_in_link.html", {"form": form})


@never_cache
@require_GET
def sign_in_link_sent(request: HttpRequest) -> HttpResponse:
    minutes = settings.SIGN_IN_LINK_MAX_AGE // 60
    return render(request, "customers/sign_in_link_sent.html", {"link_minutes": minutes})


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a button (mail scanners that open links must not spend them). POST: spend the
    link, log in, go to My tickets."""
    if signin.link_id_from_token(token) is None:
        return render(request, "customers/sign_in_by_link.html", {"invalid": True}, status=404)
    if request.method == "POST":
        user = signin.sign_in_link_use(token=token)
        if user is None:
            return render(request, "customers/sign_in_by_link.html", {"invalid": True}, status=404)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(reverse("tickets:my_tickets"))
    return render(request, "customers/sign_in_by_link.html", {"token": token})


# Public on purpose (tests/test_roles.py lists it): "can I get it where I live?" needs no account.
@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    """Which of our services can be delivered at a postcode or place (story 5 of DESIGN.md): three
    queries whatever the catalogue's size (the place, every service, those available there)."""
    query = request.GET.get("q", "").strip()[:120]
    area = selectors.find_place(query) if query else None
    context = {"query": query, "area": area}
    if area is not None:
        available = {s.pk for s in selectors.services_at(area)}
        services = list(Service.objects.order_by("name"))
        context["available"] = [s for s in services if s.pk in available]
        context["unavailable"] = [s for s in services if s.pk not in available]
    status = 404 if query and area is None else 200
    return render(request, "customers/coverage.html", context, status=status)
