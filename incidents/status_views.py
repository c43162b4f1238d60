"""The public status page, by postcode: what is wrong where you live, what is planned, how each
service did there (uptime bars), an Atom feed per area, and e-mail subscriptions (double opt-in).

Public on purpose (tests/test_roles.py lists these views): anyone may ask whether something is wrong
where they live; the subscription links carry signed tokens, which are the authorisation.
"""

from __future__ import annotations

from django import forms
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.replica import replica_reads
from customers.models import Area, Service
from customers.selectors import find_place, services_at
from incidents import selectors, status, subscriptions
from incidents.models import Incident


class SubscribeForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Your e-mail address"), max_length=254)
    area = forms.CharField(max_length=60, widget=forms.HiddenInput)
    service = forms.CharField(max_length=40, required=False)
    # A honeypot: hidden from people (and from screen readers), filled by form-filling robots.
    website = forms.CharField(required=False, max_length=200)


def _service(code: str) -> Service | None:
    return Service.objects.filter(code=code).first() if code else None


@require_GET
@replica_reads
def status_page(request: HttpRequest) -> HttpResponse:
    """Without a place: everything active, everywhere. With ``?q=`` (a postcode or place) and an
    optional ``?service=``: what touches that place, planned maintenance there, and 90 days of
    uptime bars per service available there, on the place's clock with the zone named."""
    query = request.GET.get("q", "").strip()[:120]
    if not query:
        active = selectors.public_active_incidents()
        resolved = list(selectors.recently_resolved(days=3)[:10])
        zone = status.zone_for(None, get_language())
        context = {"active": active, "resolved": resolved, "zone": zone}
        return render(request, "incidents/status.html", context)
    area = find_place(query)
    if area is None:
        return render(request, "incidents/status_area.html", {"query": query, "not_found": True}, status=404)
    services = list(services_at(area))
    service = next((s for s in services if s.code == request.GET.get("service", "")), None)
    report = status.area_status(area, service=service)
    bars = status.uptime_bars(area, [service] if service else services)
    context = {
        "query": query,
        "area": area,
        "services": services,
        "service": service,
        "report": report,
        "bars": bars,
        "zone": report.zone,
        "form": SubscribeForm(initial={"area": area.code, "service": service.code if service else ""}),
        "days": status.UPTIME_DAYS,
        "now": timezone.now(),
    }
    return render(request, "incidents/status_area.html", context)


class AreaStatusFeed(Feed):
    """Atom: what was told publicly about incidents touching an area in the last 30 days."""

    feed_type = Atom1Feed

    def get_object(self, request, code: str) -> Area:
        area = Area.objects.filter(code=code).first()
        if area is None:
            raise Http404
        return area

    def title(self, area: Area) -> str:
        return _("Service status: %(place)s") % {"place": area.name_in()}

    def subtitle(self, area: Area) -> str:
        return _("Outages, disturbances and planned maintenance that touch %(place)s.") % {
            "place": area.name_in()
        }

    def link(self, area: Area) -> str:
        return f"{reverse('status')}?q={area.code}"

    def items(self, area: Area) -> list[status.FeedEntry]:
        return status.feed_entries(area, language=get_language() or "en")

    def item_title(self, entry: status.FeedEntry) -> str:
        label = Incident.Status(entry.status).label if entry.status else _("Update")
        return f"{entry.incident.title_in()} — {label}"

    def item_description(self, entry: status.FeedEntry) -> str:
        return entry.text

    def item_link(self, entry: status.FeedEntry) -> str:
        return f"{reverse('status')}?q={entry.area_code}#incident-{entry.incident.pk}"

    def item_guid(self, entry: status.FeedEntry) -> str:
        return f"tag:supportdesk,status:{entry.guid}"

    item_guid_is_permalink = False

    def item_pubdate(self, entry: status.FeedEntry):
        return entry.at

    def item_updateddate(self, entry: status.FeedEntry):
        return entry.at


area_feed = require_GET(AreaStatusFeed())


@never_cache
@require_POST
def status_subscribe(request: HttpRequest) -> HttpResponse:
    """Ask to follow a place's status by e-mail; the answer is the same whether or not the address
    already follows it. A filled honeypot gets the same answer and nothing is stored."""
    form = SubscribeForm(request.POST)
    area = Area.objects.filter(code=request.POST.get("area", "")).first()
    if not form.is_valid() or area is None:
        return render(request, "incidents/status_subscribe.html", {"form": form, "area": area}, status=400)
    if form.cleaned_data["website"]:
        return redirect("status-subscribe-sent")
    try:
        subscriptions.status_subscribe(
            email=form.cleaned_data["email"],
            area=area,
            service=_service(form.cleaned_data["service"]),
            language=(get_language() or "sv")[:2],
            ip=request.META.get("REMOTE_ADDR"),
        )
    except subscriptions.RateLimited:
        return render(
            request,
            "incidents/status_subscribe.html",
            {"form": form, "area": area, "limited": True},
            status=429,
        )
    return redirect("status-subscribe-sent")


@never_cache
@require_GET
def status_subscribe_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "incidents/status_subscribe.html", {"sent": True})


@never_cache
@require_http_methods(["GET", "POST"])
def status_subscribe_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a button (mail scanners open links). POST: confirm."""
    subscription = subscriptions.status_subscription_peek(token=token, purpose="confirm")
    if subscription is None:
        return render(request, "incidents/status_subscribe.html", {"invalid": True}, status=404)
    if request.method == "POST":
        subscription = subscriptions.status_subscription_confirm(token=token)
        return render(request, "incidents/status_subscribe.html", {"confirmed": subscription})
    return render(request, "incidents/status_subscribe.html", {"confirm": subscription, "token": token})


# CSRF-exempt because RFC 8058 has the mail client POST without cookie or form token; the signed
# token cannot be forged and the only effect is fewer e-mails.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def status_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a button. POST (one-click or the button): stop the mail."""
    if request.method == "POST":
        if not subscriptions.status_unsubscribe(token=token):
            return render(request, "incidents/status_subscribe.html", {"invalid": True}, status=404)
        return render(request, "incidents/status_subscribe.html", {"unsubscribed": True})
    subscription = subscriptions.status_subscription_peek(token=token, purpose="unsubscribe")
    if subscription is None:
        return render(request, "incidents/status_subscribe.html", {"invalid": True}, status=404)
    return render(request, "incidents/status_subscribe.html", {"unsubscribe": subscription, "token": token})
