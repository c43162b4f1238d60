"""Ops UI (declare, preview, update, resolve, link/detach) and the agent fragments (the public status
page is ``incidents.status_views``).

Thin views: fetch and authorise, call one service, redirect or render a fragment.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.i18n import text_in
from core.idempotency import once_per_form
from core.languages import LANGUAGE_CODES
from core.parsing import parse_int
from core.redirects import redirect_back
from core.roles import ADMIN, OPS, STAFF_ROLES, has_role, role_required
from customers.models import Customer
from incidents import selectors, services, surge
from incidents.forms import DeclareForm, ScopeForm, UpdateForm, time_zone_label
from incidents.models import Incident, IncidentUpdate, SurgeProposal
from tickets.models import Ticket
from tickets.selectors import cluster_tickets, get_ticket_for

STAFF = STAFF_ROLES
OPS_ROLES = (OPS, ADMIN)
LINKING = STAFF_ROLES  # every staff member may link and detach tickets
TICKETS_PER_PAGE = 50


def workaround_steps(text: str) -> list[str]:
    """One step per line, any "1." / "2)" / "-" the author typed removed (the template numbers them)."""
    steps = []
    for line in (text or "").splitlines():
        line = line.strip().lstrip("-•*").strip()
        head, _sep, rest = line.partition(" ")
        if head.rstrip(".)").isdigit() and rest:
            line = rest.strip()
        if line:
            steps.append(line)
    return steps


def _int(value) -> int:
    """A posted id (ASCII digits only), else 0, which matches nothing so the caller 404s."""
    try:
        return parse_int(value, field="incident")
    except DomainError:
        return 0


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    return redirect_back(request, request.POST.get("next", ""), fallback)


def _changed(request: HttpRequest, fallback: str) -> HttpResponse:
    """htmx: an empty answer and an event the fragments listen for (they re-fetch); else redirect."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "incidents-changed"
        return response
    return _back(request, fallback)


# --- ops pages --------------------------------------------------------------------------------------


@require_GET
@role_required(*STAFF)
def incident_list(request: HttpRequest) -> HttpResponse:
    active = Incident.objects.active().prefetch_related("services", "areas", "equipment")
    return render(
        request,
        "incidents/list.html",
        {
            "active": active.order_by("-severity", "-started_at"),
            "resolved": selectors.recently_resolved(days=14)[:50],
            "withdrawn": selectors.recently_withdrawn(days=14)[:50],
            # Ops decide on proposals from surges of tickets (incidents/surge.py).
            "proposed": SurgeProposal.objects.filter(state=SurgeProposal.State.OPEN)
            .select_related("incident")
            .order_by("-proposed_at")[:50]
            if has_role(request.user, *OPS_ROLES)
            else [],
            "can_declare": has_role(request.user, *OPS_ROLES),
        },
    )


@require_GET
@role_required(*STAFF)
def incident_detail(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident.objects.prefetch_related("services", "areas", "equipment"), pk=pk)
    links = Paginator(selectors.incident_tickets(incident), TICKETS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "incidents/detail.html",
        {
            "incident": incident,
            "updates": IncidentUpdate.objects.filter(incident=incident)
            .select_related("author")
            .order_by("-created_at"),
            "links": links,
            "workaround_steps": workaround_steps(incident.workaround_in()),
            "proposal": SurgeProposal.objects.filter(incident=incident)
            .select_related("merged_into__incident")
            .first(),
            "is_ops": has_role(request.user, *OPS_ROLES),
            "update_form": UpdateForm(),
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(*OPS_ROLES)
@once_per_form
def incident_declare(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = DeclareForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = services.incident_declare(
                    title=data["title"],
                    titles=form.titles(),
                    kind=data["kind"],
                    severity=data["severity"],
                    services=data["services"],
                    areas=data["areas"],
                    equipment=data["equipment"],
                    keywords=data["keywords"],
                    public_message=form.texts("public_message"),
                    agent_script=form.texts("agent_script"),
                    workaround=form.texts("workaround"),
                    started_at=data["started_at"],
                    eta=data["eta"],
                    description=data["description"],
                    notify_customers=data.get("notify_customers"),
                    affects_everyone=data["affects_everyone"],
                    actor=request.user,
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(
                    request,
                    ngettext(
                        "Incident declared: %(count)d open ticket linked.",
                        "Incident declared: %(count)d open tickets linked.",
                        result.linked_count,
                    )
                    % {"count": result.linked_count},
                )
                return redirect("incidents:detail", result.incident.pk)
    else:
        # Pre-filled from a cluster of tickets (the escalations page links here with codes).
        initial = {name: request.GET.getlist(name) for name in ("services", "areas", "equipment")}
        form = DeclareForm(initial={k: v for k, v in initial.items() if v})
    return render(
        request,
        "incidents/declare.html",
        {
            "form": form,
            "picked": {name: _picked(name, form.picked_codes(name)) for name in PICKERS},
            "time_zone": time_zone_label(),
        },
    )


PICKERS = ("areas", "equipment")


def _picked(dimension: str, codes: list[str]) -> list:
    from customers.models import Area, EquipmentModel

    if dimension == "areas":
        return selectors.area_cards(Area.objects.filter(code__in=codes).order_by("path"))
    return list(EquipmentModel.objects.filter(code__in=codes).order_by("vendor", "model"))


@require_GET
@role_required(*OPS_ROLES)
def scope_pick(request: HttpRequest, dimension: str) -> HttpResponse:
    """htmx fragment of the declare form: areas (by name or postcode) or equipment matching ``q``,
    each with a button that adds it to the scope."""
    if dimension not in PICKERS:
        raise Http404
    q = request.GET.get("q", "")[:100]
    found = selectors.search_areas(q) if dimension == "areas" else selectors.search_equipment(q)
    return render(request, "incidents/_pick_results.html", {"dimension": dimension, "found": found, "q": q})


@require_GET
@role_required(*OPS_ROLES)
def scope_picked(request: HttpRequest, dimension: str) -> HttpResponse:
    """htmx fragment: the chosen area or equipment model as a checked box in the form (untick to
    remove); tells the preview to refresh."""
    if dimension not in PICKERS:
        raise Http404
    picked = _picked(dimension, [request.GET.get("code", "")])
    if not picked:
        raise Http404
    response = render(request, "incidents/_picked.html", {"dimension": dimension, "picked": picked})
    response["HX-Trigger-After-Settle"] = "scope-changed"
    return response


@require_POST
@role_required(*OPS_ROLES)
def incident_preview(request: HttpRequest) -> HttpResponse:
    """htmx fragment: what the scope in the form would touch. Writes nothing."""
    form = ScopeForm(request.POST)
    preview = None
    problem = None
    if form.is_valid():
        data = form.cleaned_data
        preview = services.incident_preview(
            kind=data["kind"],
            services=data["services"],
            areas=data["areas"],
            equipment=data["equipment"],
            keywords=data["keywords"],
            started_at=data["started_at"],
        )
        now = timezone.now()
        try:  # what declaring would refuse, said now rather than after the click
            services.validate_declaration(
                kind=data["kind"],
                services=data["services"],
                areas=data["areas"],
                equipment=data["equipment"],
                keywords=data["keywords"],
                affects_everyone=data["affects_everyone"] or preview.scope_empty,  # the box below
                started_at=data["started_at"] or now,
                eta=data["eta"],
                now=now,
            )
        except DomainError as exc:
            problem = exc
    # The declare button is enabled by this fragment (out of band): only once an impact was shown,
    # nothing would be refused, and an empty scope was confirmed as "every customer".
    ready = (
        preview is not None
        and problem is None
        and (not preview.scope_empty or form.cleaned_data["affects_everyone"])
    )
    return render(
        request,
        "incidents/_preview.html",
        {"form": form, "preview": preview, "problem": problem, "ready": ready},
    )


@require_POST
@role_required(*OPS_ROLES)
def incident_post_update(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    form = UpdateForm(request.POST)
    if form.is_valid():
        try:
            update = services.incident_post_update(
                incident=incident,
                actor=request.user,
                message=form.message(),
                public=form.cleaned_data["public"],
                status=form.cleaned_data["status"] or None,
                eta=form.cleaned_data["eta"],
                reply_to_tickets=form.cleaned_data["reply_to_tickets"],
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            if form.cleaned_data["reply_to_tickets"]:
                messages.success(
                    request,
                    ngettext(
                        "Update posted, and sent as a reply on %(count)d open ticket.",
                        "Update posted, and sent as a reply on %(count)d open tickets.",
                        update.replied_tickets,
                    )
                    % {"count": update.replied_tickets},
                )
            else:
                messages.success(request, _("Update posted."))
    else:
        messages.error(request, _("Check the update: %(errors)s") % {"errors": form.errors.as_text()})
    return redirect("incidents:detail", pk)


@require_POST
@role_required(*OPS_ROLES)
def incident_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    message = {lang: request.POST.get(f"message_{lang}", "") for lang in LANGUAGE_CODES}
    if request.POST.get("confirm") != "yes":
        # Resolving tells agents and customers it is over: first show what it touches, then act.
        return render(
            request,
            "incidents/resolve_confirm.html",
            {
                "incident": incident,
                "message": message,
                "open_linked": selectors.incident_tickets(incident)
                .filter(ticket__in=Ticket.objects.open())
                .count(),
            },
        )
    try:
        services.incident_resolve(incident=incident, actor=request.user, message=message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Incident resolved."))
    return redirect("incidents:detail", pk)


@require_POST
@role_required(*OPS_ROLES)
def incident_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    try:
        result = services.incident_withdraw(
            incident=incident, actor=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext(
                "Incident withdrawn: %(count)d ticket detached.",
                "Incident withdrawn: %(count)d tickets detached.",
                result.detached_count,
            )
            % {"count": result.detached_count},
        )
    return redirect("incidents:detail", pk)


@require_POST
@role_required(*OPS_ROLES)
def incident_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    message = {lang: request.POST.get(f"message_{lang}", "") for lang in LANGUAGE_CODES}
    try:
        result = services.incident_reopen(incident=incident, actor=request.user, message=message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext(
                "Incident reopened: %(count)d more open ticket linked.",
                "Incident reopened: %(count)d more open tickets linked.",
                result.linked_count,
            )
            % {"count": result.linked_count},
        )
    return redirect("incidents:detail", pk)


@require_POST
@role_required(*LINKING)
def incident_link_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    ticket = get_ticket_for(request.user, request.POST.get("reference", ""))
    try:
        services.incident_link_ticket(incident=incident, ticket=ticket, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return _changed(request, fallback=reverse("incidents:detail", args=[pk]))


@require_POST
@role_required(*LINKING)
def incident_link_cluster(request: HttpRequest) -> HttpResponse:
    """Second line's similar-tickets panel: link every ticket of the cluster (service, municipality)
    to the incident picked, set-based (``incident_link_tickets``); each link is a person's, with its
    timeline entry."""
    incident = get_object_or_404(Incident, pk=_int(request.POST.get("incident")))
    tickets = cluster_tickets(
        service_code=request.POST.get("service", ""), area_code=request.POST.get("area", "")
    )
    try:
        linked = services.incident_link_tickets(
            incident=incident, ticket_ids=[ticket.pk for ticket in tickets], actor=request.user
        )
        messages.success(
            request,
            ngettext("%(n)d ticket linked to %(title)s.", "%(n)d tickets linked to %(title)s.", len(linked))
            % {"n": len(linked), "title": incident.title},
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return _changed(request, fallback=reverse("tickets:escalations"))


@require_POST
@role_required(*LINKING)
def ticket_link_incident(request: HttpRequest, reference: str) -> HttpResponse:
    """From the ticket page: link this ticket to the incident picked in the fragment's select."""
    ticket = get_ticket_for(request.user, reference)
    incident = get_object_or_404(Incident, pk=_int(request.POST.get("incident")))
    try:
        services.incident_link_ticket(incident=incident, ticket=ticket, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return _changed(request, fallback=reverse("tickets:detail", args=[ticket.reference]))


@require_POST
@role_required(*LINKING)
def incident_detach_ticket(request: HttpRequest, pk: int, reference: str) -> HttpResponse:
    incident = get_object_or_404(Incident, pk=pk)
    ticket = get_ticket_for(request.user, reference)
    try:
        services.incident_detach_ticket(
            incident=incident, ticket=ticket, actor=request.user, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    return _changed(request, fallback=reverse("incidents:detail", args=[pk]))


# --- the agent's fragments ----------------------------------------------------------------------------


def _incident_cards(incidents, *, language: str, links: dict) -> list[dict]:
    return [
        {
            "incident": incident,
            "link": links.get(incident.pk),
            "script": text_in(incident.agent_script, language),
            "steps": workaround_steps(text_in(incident.workaround, language)),
        }
        for incident in incidents
    ]


@require_GET
@role_required(*STAFF)
def incidents_for_ticket(request: HttpRequest, reference: str) -> HttpResponse:
    """htmx fragment on the ticket page: the active incidents linked to this ticket or covering the
    customer's subscriptions, in the customer's language, with detach buttons and a link picker."""
    ticket = get_ticket_for(request.user, reference)
    links = {link.incident_id: link for link in selectors.active_incidents_for_ticket(ticket)}
    incidents = {pk: link.incident for pk, link in links.items()}
    for incident in selectors.active_incidents_for_customer(ticket.customer):
        incidents.setdefault(incident.pk, incident)
    ordered = sorted(incidents.values(), key=lambda i: (i.pk not in links, -i.severity))
    return render(
        request,
        "incidents/_for_ticket.html",
        {
            "ticket": ticket,
            "cards": _incident_cards(ordered, language=ticket.customer.language, links=links),
            # Whoever may see this fragment (STAFF) may link too: no second role check.
            "linkable": Incident.objects.active().exclude(pk__in=list(links)).order_by("-started_at")[:50],
        },
    )


@require_GET
@role_required(*STAFF)
def incidents_for_customer(request: HttpRequest, number: str) -> HttpResponse:
    """htmx fragment for the caller look-up: active incidents touching this customer."""
    customer = get_object_or_404(Customer, number=number)
    overview = selectors.caller_overview(customer)
    return render(
        request,
        "incidents/_for_ticket.html",
        {
            "customer": customer,
            "cards": _incident_cards(overview["incidents"], language=customer.language, links={}),
            "linkable": [],
        },
    )


# --- proposals from surges of tickets (incidents/surge.py) ------------------------------------------


@require_POST
@role_required(*OPS_ROLES)
def surge_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """Ops: declare the proposed incident (the normal declaration: tickets attached, agents alerted)."""
    incident = get_object_or_404(Incident, pk=pk)
    try:
        result = surge.surge_confirm(incident=incident, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext(
                "Declared; %(count)d ticket linked.",
                "Declared; %(count)d tickets linked.",
                result.linked_count,
            )
            % {"count": result.linked_count},
        )
    return redirect("incidents:detail", pk=pk)


@require_POST
@role_required(*OPS_ROLES)
def surge_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """Ops: not an outage. The proposal is withdrawn and its cell kept quiet for a while."""
    incident = get_object_or_404(Incident, pk=pk)
    try:
        surge.surge_dismiss(incident=incident, actor=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Proposal dismissed."))
    return redirect("incidents:detail", pk=pk)


@require_POST
@role_required(*LINKING)
def surge_link_ticket(request: HttpRequest, pk: int, reference: str) -> HttpResponse:
    """From the ticket page: this ticket belongs to the proposed incident's cluster."""
    ticket = get_ticket_for(request.user, reference)
    incident = get_object_or_404(Incident, pk=pk)
    try:
        surge.surge_link_ticket(incident=incident, ticket=ticket, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back(request, reverse("tickets:detail", args=[ticket.reference]))
