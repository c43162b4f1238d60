"""Agent workspace and customer portal. Views are thin: fetch-and-authorise, one service call, respond."""

from __future__ import annotations

import functools
from contextlib import contextmanager

from django.contrib import messages
from django.core.cache import cache
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.idempotency import once_per_form
from core.parsing import parse_int
from core.redirects import redirect_back
from core.replica import replica_reads
from core.roles import (
    ADMIN,
    AGENT,
    CUSTOMER,
    OPS,
    STAFF_ROLES,
    TECH,
    has_role,
    is_staff_member,
    role_required,
)
from customers.models import Customer
from tickets import attachments, macros, selectors, services
from tickets import contact as contact_service
from tickets.extensions import extensions
from tickets.forms import (
    CommentForm,
    ContactForm,
    CustomerReplyForm,
    CustomerTicketForm,
    EscalateForm,
    StaffTicketForm,
    StatusForm,
)
from tickets.models import Attachment, InboundMessage, Macro, SavedView, Ticket, TicketEvent
from tickets.queue_rows import queue_rows, rows_html

# --- agent workspace ---------------------------------------------------------------------------


def _queue_filters(request: HttpRequest) -> selectors.QueueFilters:
    """The queue page's filters from ``?status=&category=&service=&area=&unassigned=1`` and the
    registered ones; unknown or malformed values are ignored (the filter shows "any")."""
    get = request.GET

    def number(name: str) -> int | None:
        value = get.get(name, "")
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None

    return selectors.QueueFilters(
        status=get.get("status", ""),
        category=get.get("category", ""),
        service=number("service"),
        area=number("area"),
        unassigned=get.get("unassigned") == "1",
        extra={name: get.get(name, "") for name in extensions.queue_filters if get.get(name)},
    )


def _queue_context(request: HttpRequest, *, queue: str, mine: bool) -> dict:
    """A queue page: its tickets in the chosen order, the filters' choices and the next-page link."""
    order = request.GET.get("order", "sla")
    order = order if order in selectors.QUEUE_ORDERS else "sla"
    filters = _queue_filters(request)
    tickets, cursor = selectors.queue_page(
        queue=queue,
        assignee=request.user if mine else None,
        filters=filters,
        order=order,
        after=selectors.decode_cursor(request.GET.get("after", "")),
    )
    params = request.GET.copy()
    params.pop("after", None)
    if cursor:
        params["after"] = cursor
    now = timezone.now()
    handover_column = queue == Ticket.Queue.SECOND_LINE and not mine
    return {
        "rows_html": rows_html(queue_rows(tickets, now=now), handover_column=handover_column),
        "next_url": f"?{params.urlencode()}" if cursor else None,
        "filters": filters,
        "order": order,
        "now": now,
        "handover_column": handover_column,
        "filter_choices": selectors.queue_filter_choices(),
        "extra_filters": [
            (name, f.label, f.choices(), request.GET.get(name, ""))
            for name, f in extensions.queue_filters.items()
        ],
        # The bulk bar's actions on a target: a higher app's (link to an incident), canned replies.
        "bulk_targets": [
            (name, action.label, action.choices()) for name, action in extensions.bulk_actions.items()
        ],
        "bulk_macros": list(Macro.objects.filter(active=True).values_list("pk", "name")),
    }


@require_GET
@role_required(*STAFF_ROLES)
@replica_reads
def queue(request: HttpRequest) -> HttpResponse:
    """The queues as tabs (``?queue=``), soonest SLA due first, with filters; ``?mine=1`` for my
    tickets in every queue."""
    current = request.GET.get("queue", Ticket.Queue.FIRST_LINE)
    if current not in Ticket.Queue.values:
        current = Ticket.Queue.FIRST_LINE
    mine = request.GET.get("mine") == "1"
    context = _queue_context(request, queue=current, mine=mine)
    query = services.saved_view_query(request.GET)
    views = selectors.saved_views_for(request.user)
    context.update(
        current=current,
        mine=mine,
        queues=Ticket.Queue.choices,
        saved_views=views,
        saved_query=query,
        # A saved view's tab is the current one when the page shows exactly its filters.
        current_view=next((v for v in views if v.query == query), None),
    )
    return render(request, "tickets/queue.html", context)


@require_POST
@role_required(*STAFF_ROLES)
@once_per_form
def queue_bulk(request: HttpRequest) -> HttpResponse:
    """The tickets ticked in a queue (``t``, ids), with one ``action``: assign-me, unassign, a status
    (services.BULK_STATUSES), ``macro:<id>`` (reply with that canned reply, each customer in their
    language) or ``<name>:<target>`` of a higher app's ``extensions.bulk_actions`` (``link:<incident
    id>``). One set-based write, a timeline entry on every ticket; then back to the queue (``next``,
    same site only) with how many changed. A double submit of the same form runs once."""
    action = request.POST.get("action", "")
    name, _colon, target = action.partition(":")
    with _refusals_shown(request):
        ids = [parse_int(value, field="t") for value in request.POST.getlist("t")]
        if not ids:
            raise DomainError(_("Tick the tickets first."))
        told = ""
        if action in ("assign-me", "unassign"):
            assignee = request.user if action == "assign-me" else None
            changed = services.tickets_bulk_assign(ticket_ids=ids, assignee=assignee, actor=request.user)
        elif action in services.BULK_STATUSES:
            changed = services.tickets_bulk_set_status(ticket_ids=ids, status=action, actor=request.user)
        elif name == "macro":
            macro = _active_macro(target)
            if macro is None:
                raise DomainError(_("Pick a canned reply that is in use."))
            changed = services.tickets_bulk_reply(ticket_ids=ids, macro=macro, actor=request.user)
            told = ngettext("%(n)d reply sent.", "%(n)d replies sent.", changed) % {"n": changed}
        elif name in extensions.bulk_actions and target:
            changed = extensions.bulk_actions[name].apply(ticket_ids=ids, target=target, actor=request.user)
        else:
            raise DomainError(_("Pick what to do with them."))
        told = told or ngettext("%(n)d ticket changed.", "%(n)d tickets changed.", changed) % {"n": changed}
        messages.success(request, told)
    return redirect_back(request, request.POST.get("next", ""), reverse("tickets:queue"))


def _active_macro(value: str) -> Macro | None:
    """The active canned reply with id ``value``; None for anything else."""
    if not (value.isascii() and value.isdigit() and len(value) < 10):
        return None
    return Macro.objects.filter(active=True, pk=int(value)).first()


@require_POST
@role_required(*STAFF_ROLES)
def queue_view_save(request: HttpRequest) -> HttpResponse:
    """Save the queue's filters (posted as the page's query string) under a name, as a tab."""
    params = QueryDict(request.POST.get("query", "")[:1000])
    try:
        view = services.saved_view_save(
            owner=request.user,
            name=request.POST.get("name", ""),
            params=params,
            shared=request.POST.get("shared") == "1",
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(f"{reverse('tickets:queue')}?{services.saved_view_query(params)}")
    messages.success(request, _("Saved as “%(name)s”.") % {"name": view.name})
    return redirect(f"{reverse('tickets:queue')}?{view.query}")


@require_POST
@role_required(*STAFF_ROLES)
def queue_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, owner=request.user)
    services.saved_view_delete(view=view, actor=request.user)
    messages.success(request, _("The view “%(name)s” was deleted.") % {"name": view.name})
    return redirect("tickets:queue")


@require_GET
@role_required(TECH, OPS, AGENT, ADMIN)
@replica_reads
def escalations(request: HttpRequest) -> HttpResponse:
    """Second line's queue, with tickets about the same service and area grouped as clusters."""
    context = _queue_context(request, queue=Ticket.Queue.SECOND_LINE, mine=False)
    context.update(clusters=selectors.escalation_clusters(), current=Ticket.Queue.SECOND_LINE)
    return render(request, "tickets/escalations.html", context)


def _work_context(request: HttpRequest, ticket: Ticket, **forms) -> dict:
    """What the ticket's working area (``_ticket_work.html``) and escalation panel show."""
    return {
        "ticket": ticket,
        "now": timezone.now(),
        "events": ticket.events.select_related("actor").prefetch_related("attachments"),
        "staff_view": True,  # the timeline offers e-mail headers
        "comment_form": forms.get("comment_form") or CommentForm(),
        "macros": Macro.objects.filter(active=True).only("pk", "name"),
        "escalate_form": forms.get("escalate_form") or EscalateForm(),
        "status_form": StatusForm(initial={"status": ticket.status}),
        "wait": selectors.second_line_wait(ticket.category)
        if ticket.queue != Ticket.Queue.SECOND_LINE
        else None,
    }


@require_GET
@role_required(*STAFF_ROLES)
def ticket_detail(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    context = _work_context(request, ticket)
    context.update(
        # The same customer's other open tickets on this service: duplicates to merge.
        duplicates=selectors.open_duplicates(ticket.customer, service_id=ticket.service_id, exclude=ticket.pk)
        if ticket.is_open
        else [],
        subscriptions=ticket.customer.subscriptions.select_related("service", "area", "equipment"),
        service_unavailable=selectors.service_unavailable_in_area(ticket),
        # An e-mail from an unknown sender: the address, so an agent can find the customer.
        unknown_sender=ticket.inbound_messages.filter(sender_unknown=True)
        .values_list("from_address", flat=True)
        .first()
        if ticket.channel == Ticket.Channel.EMAIL
        else None,
    )
    return render(request, "tickets/detail.html", context)


def _done(
    request: HttpRequest, ticket: Ticket, text: str = "", *, error: bool = False, **forms
) -> HttpResponse:
    """After an action: htmx gets the working area re-rendered in place (and the escalation panel,
    out of band); a plain POST (no JS) gets the message and a redirect back to the ticket."""
    if not request.htmx:
        if text:
            (messages.error if error else messages.success)(request, text)
        return _back_to(ticket)
    ticket.refresh_from_db()
    context = _work_context(request, ticket, **forms)
    context.update(flash={"text": text, "level": "error" if error else "success"} if text else None, oob=True)
    work = render(request, "tickets/_ticket_work.html", context).content
    panel = render(request, "tickets/_escalate_panel.html", context).content
    return HttpResponse(work + panel, status=200)


@require_GET
@role_required(*STAFF_ROLES)
def ticket_macro(request: HttpRequest, reference: str) -> HttpResponse:
    """htmx: the reply box filled with canned reply ``?macro=`` for this ticket, in the customer's
    language; an unknown or inactive macro leaves the box empty."""
    ticket = selectors.get_ticket_for(request.user, reference)
    macro = _active_macro(request.GET.get("macro", ""))
    text = macros.render(macro, ticket, agent=request.user) if macro else ""
    return HttpResponse(str(CommentForm(initial={"body": text})["body"]))


def _back_to(ticket: Ticket) -> HttpResponse:
    return redirect("tickets:detail", reference=ticket.reference)


def _seen(request: HttpRequest) -> str | None:
    """The ticket's version the page showed (its forms' hidden ``version``); None from older pages."""
    return request.POST.get("version") or None


@contextmanager
def _refusals_shown(request: HttpRequest):
    """A refused change (a stale version, a state that does not allow it) becomes a message on the
    ticket page the agent is sent back to, instead of an error page."""
    try:
        yield
    except DomainError as exc:
        messages.error(request, exc.message)


def once_per_plain_form(view):
    """``once_per_form`` for the page's plain POST (no JS), which answers with a redirect it can
    replay. In place (htmx) the answer is the re-rendered working area, never a redirect, which
    ``once_per_form`` would take for a refusal and roll back; there the form's buttons are disabled
    while it is in flight (``hx-disabled-elt``), and each re-render brings a fresh token."""
    once = once_per_form(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.htmx:
            return view(request, *args, **kwargs)
        return once(request, *args, **kwargs)

    return wrapper


@require_POST
@role_required(*STAFF_ROLES)
@once_per_plain_form
def ticket_comment(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    form = CommentForm(request.POST, request.FILES)
    if not form.is_valid():
        # In place, the typed text stays in the box with the error beside it.
        refused = form.errors.get("attachments")
        return _done(
            request,
            ticket,
            " ".join(refused) + " " + _("Nothing was sent.")
            if refused
            else _("The message was empty or too long; nothing was sent."),
            error=True,
            comment_form=form,
        )
    data = form.cleaned_data
    services.ticket_comment(
        ticket=ticket,
        actor=request.user,
        body=data["body"],
        public=data["public"],
        uploads=data["attachments"],
    )
    return _done(
        request,
        ticket,
        _("Sent to the customer.") if form.cleaned_data["public"] else _("Internal note added."),
    )


@require_POST
@role_required(*STAFF_ROLES)
def ticket_set_status(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _done(request, ticket, _("Choose a status."), error=True)
    try:
        services.ticket_set_status(
            ticket=ticket, status=form.cleaned_data["status"], actor=request.user, version=_seen(request)
        )
    except DomainError as exc:  # a stale version: someone else changed it meanwhile
        return _done(request, ticket, exc.message, error=True)
    return _done(request, ticket, _("Status set."))


@require_POST
@role_required(*STAFF_ROLES)
def ticket_claim(request: HttpRequest, reference: str) -> HttpResponse:
    """Take the ticket (first or second line); ``release=1`` gives it back to the queue."""
    ticket = selectors.get_ticket_for(request.user, reference)
    assignee = None if request.POST.get("release") else request.user
    # With the version the agent saw: of two agents taking it at once, the second is told who won.
    try:
        services.ticket_assign(ticket=ticket, assignee=assignee, actor=request.user, version=_seen(request))
    except DomainError as exc:
        return _done(request, ticket, exc.message, error=True)
    return _done(request, ticket, _("You have it now.") if assignee else _("Back in the queue."))


@require_POST
@role_required(*STAFF_ROLES)
def ticket_merge(request: HttpRequest, reference: str) -> HttpResponse:
    """Join this ticket into another open ticket of the same customer (``into``: its reference)."""
    ticket = selectors.get_ticket_for(request.user, reference)
    into = selectors.get_ticket_for(request.user, request.POST.get("into", ""))
    with _refusals_shown(request):
        services.ticket_merge(ticket=ticket, into=into, actor=request.user, version=_seen(request))
        messages.success(
            request, _("%(duplicate)s is merged into this ticket.") % {"duplicate": ticket.reference}
        )
        return _back_to(into)
    return _back_to(ticket)


@require_POST
@role_required(*STAFF_ROLES)
def ticket_keep_open(request: HttpRequest, reference: str) -> HttpResponse:
    """``keep_open=1``: an incident's resolution replies to this ticket but does not resolve it."""
    ticket = selectors.get_ticket_for(request.user, reference)
    with _refusals_shown(request):
        services.ticket_set_keep_open(
            ticket=ticket,
            keep_open=request.POST.get("keep_open") == "1",
            actor=request.user,
            version=_seen(request),
        )
    return _back_to(ticket)


@require_POST
@role_required(*STAFF_ROLES)
def ticket_escalate(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    form = EscalateForm(request.POST)
    if not form.is_valid():
        return _done(
            request,
            ticket,
            _("Say what is wrong and what was already tried before escalating."),
            error=True,
            escalate_form=form,
        )
    try:
        services.ticket_escalate(
            ticket=ticket, actor=request.user, version=_seen(request), **form.cleaned_data
        )
    except DomainError as exc:
        return _done(request, ticket, exc.message, error=True, escalate_form=form)
    return _done(request, ticket, _("Escalated to second line."))


@require_GET
@role_required(*STAFF_ROLES)
def lookup(request: HttpRequest) -> HttpResponse:
    """Caller look-up by phone, customer number or e-mail: the customer's whole picture on one screen."""
    return render(request, "tickets/lookup.html", _lookup_context(request.GET.get("q", "").strip()))


def _lookup_context(q: str, *, form: StaffTicketForm | None = None) -> dict:
    customers = selectors.find_customers(q) if q else []
    customer = customers[0] if len(customers) == 1 else None
    context = {"q": q, "customers": customers, "customer": customer}
    if customer is not None:
        context.update(
            subscriptions=customer.subscriptions.select_related("service", "area", "equipment"),
            open_tickets=customer.tickets.open().select_related("service").order_by("-created_at")[:20],
            coverage=selectors.coverage_at_addresses(customer),
            form=form or StaffTicketForm(customer=customer),
        )
    return context


@require_GET
@role_required(*STAFF_ROLES)
def search(request: HttpRequest) -> HttpResponse:
    """The top bar's search: a ticket reference goes straight to the ticket; anything else lists
    customers, tickets and comments that match, grouped."""
    results = selectors.search(request.GET.get("q", ""))
    if results.ticket is not None:
        return _back_to(results.ticket)
    return render(request, "tickets/search.html", {"results": results, "q": results.q})


@require_POST
@role_required(*STAFF_ROLES)
@once_per_form
def staff_open_ticket(request: HttpRequest, number: str) -> HttpResponse:
    customer = get_object_or_404(Customer, number=number)
    form = StaffTicketForm(request.POST, customer=customer)
    if not form.is_valid():
        # Re-render the look-up with the bound form: what was typed stays, errors sit by their fields.
        messages.error(request, _("Fill in subject and description."))
        return render(request, "tickets/lookup.html", _lookup_context(customer.number, form=form), status=400)
    subscription = form.cleaned_data["subscription"]
    # Once the agent has seen the open ones and confirmed, they are not looked up again.
    duplicates = (
        selectors.open_duplicates(customer, service_id=subscription.service_id if subscription else None)
        if request.POST.get("duplicate_ok") != "1"
        else []
    )
    if duplicates:
        # Before a second ticket about the same thing: show the open ones, keep what was typed.
        context = _lookup_context(customer.number, form=form)
        context["duplicates"] = duplicates
        return render(request, "tickets/lookup.html", context, status=409)
    ticket = services.ticket_open(customer=customer, actor=request.user, **form.cleaned_data)
    return _back_to(ticket)


# --- customer portal ---------------------------------------------------------------------------


@require_GET
@role_required(CUSTOMER)
def my_tickets(request: HttpRequest) -> HttpResponse:
    customer = selectors.customer_for(request.user)
    return render(
        request,
        "tickets/my_tickets.html",
        {"customer": customer, "tickets": selectors.customer_tickets(customer)},
    )


@require_http_methods(["GET", "POST"])
@role_required(CUSTOMER)
@once_per_form
def new_ticket(request: HttpRequest) -> HttpResponse:
    customer = selectors.customer_for(request.user)
    form = CustomerTicketForm(request.POST or None, request.FILES or None, customer=customer)
    # "We already know": higher apps' panels for the chosen subscription, refreshed by htmx on change.
    form.fields["subscription"].widget.attrs.update(
        {
            "hx-get": reverse("tickets:new_ticket_known"),
            "hx-trigger": "change",
            "hx-target": "#known-problems",
            "hx-swap": "innerHTML",
        }
    )
    if request.method == "POST" and form.is_valid():
        uploads = form.cleaned_data.pop("attachments")
        # The files commit with the ticket; no savepoint of its own (an error undoes it all anyway).
        with transaction.atomic(savepoint=False):
            ticket = services.ticket_open(
                customer=customer, actor=request.user, channel=Ticket.Channel.WEB, **form.cleaned_data
            )
            if uploads:
                opened = ticket.events.filter(kind=TicketEvent.Kind.OPENED).first()
                services.attachments_add(ticket=ticket, event=opened, uploads=uploads, actor=request.user)
        messages.success(
            request,
            _("Thank you — we got your message. Your reference is %(ref)s.") % {"ref": ticket.reference},
        )
        return redirect("tickets:my_ticket", reference=ticket.reference)
    # A form shown again (an error, or the browser's back button) says it again without htmx.
    known = _known_context(customer, str(form["subscription"].value() or ""))
    return render(request, "tickets/new_ticket.html", {"form": form, **known})


@require_GET
@role_required(CUSTOMER)
def my_ticket(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    return render(
        request,
        "tickets/my_ticket.html",
        {
            "ticket": ticket,
            "events": ticket.events.filter(public=True)
            .select_related("actor")
            .prefetch_related("attachments"),
            "form": CustomerReplyForm(),
            "customer_view": True,  # the timeline names staff by name, never by login
        },
    )


@require_POST
@role_required(CUSTOMER)
@once_per_form
def my_ticket_reply(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    form = CustomerReplyForm(request.POST, request.FILES)
    if form.is_valid():
        was_closed = ticket.status in (Ticket.Status.CLOSED, Ticket.Status.RESOLVED)
        services.ticket_comment(
            ticket=ticket,
            actor=request.user,
            body=form.cleaned_data["body"],
            public=True,
            uploads=form.cleaned_data["attachments"],
        )
        if was_closed and not ticket.merged_into_id:
            messages.success(request, _("Thanks — your ticket is open again and we will answer."))
        else:
            messages.success(request, _("Thanks — your message was added to the ticket."))
    elif "attachments" in form.errors:
        for error in form.errors["attachments"]:
            messages.error(request, error)
    else:
        messages.error(request, _("Please write a message first."))
    return redirect("tickets:my_ticket", reference=ticket.reference)


@require_POST
@role_required(CUSTOMER)
def my_ticket_close(request: HttpRequest, reference: str) -> HttpResponse:
    """The customer says their problem is solved: the ticket is closed (a status entry in the timeline)."""
    ticket = selectors.get_ticket_for(request.user, reference)
    if ticket.status != Ticket.Status.CLOSED:
        services.ticket_set_status(ticket=ticket, status=Ticket.Status.CLOSED, actor=request.user)
        messages.success(request, _("Your ticket is closed. Write to us again whenever you need."))
    return redirect("tickets:my_ticket", reference=ticket.reference)


def _known_context(customer: Customer, value: str) -> dict:
    """What the contact form says about the chosen subscription (``value``, its id as posted): the
    higher apps' panels ("we already know") and whether we deliver its service where it is. Not the
    customer's own, or none: nothing."""
    subscription = None
    if value.isascii() and value.isdigit() and len(value) < 10:
        subscription = (
            customer.subscriptions.filter(active=True, pk=int(value))
            .select_related("area", "customer", "service")
            .first()
        )
    return {
        "subscription": subscription,
        "not_delivered": selectors.subscription_not_delivered(subscription),
    }


@require_GET
@role_required(CUSTOMER)
def new_ticket_known(request: HttpRequest) -> HttpResponse:
    """htmx fragment for the contact form: what we already know about the chosen subscription (panels
    in slot ``new-ticket-subscription``, obj = the subscription), and a warning when its service is
    not one we deliver in its area (the customer may still write)."""
    customer = selectors.customer_for(request.user)
    return render(
        request, "tickets/_known_problems.html", _known_context(customer, request.GET.get("subscription", ""))
    )


# --- e-mail intake -----------------------------------------------------------------------------


@require_GET
@role_required(*STAFF_ROLES)
def mail_quarantine(request: HttpRequest) -> HttpResponse:
    """E-mail that could not be read, kept raw with the reason, waiting for a person."""
    rows, count = selectors.quarantine_page()
    return render(request, "tickets/quarantine.html", {"rows": rows, "count": count})


@require_POST
@role_required(*STAFF_ROLES)
def mail_reimport(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(InboundMessage.objects.defer("raw"), pk=pk)
    try:
        row = services.inbound_reimport(message=row, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("tickets:mail_quarantine")
    if row.status == InboundMessage.Status.QUARANTINED:
        messages.error(request, _("Still unreadable: %(reason)s") % {"reason": row.reason})
    elif row.ticket_id:
        messages.success(request, _("Imported into %(reference)s.") % {"reference": row.ticket.reference})
        return _back_to(row.ticket)
    else:
        messages.success(request, _("Imported; it was automatic mail and opened no ticket."))
    return redirect("tickets:mail_quarantine")


@require_POST
@role_required(*STAFF_ROLES)
def mail_open_as_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a quarantined message as a ticket as it is; a second click lands on the same ticket."""
    row = get_object_or_404(InboundMessage.objects.defer("raw"), pk=pk)
    try:
        ticket = services.inbound_open_as_ticket(message=row, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("tickets:mail_quarantine")
    return _back_to(ticket)


def _attachment_for(request: HttpRequest, pk: int) -> Attachment:
    """The attachment, if the asker may have it: staff (who see every ticket), or the ticket's own
    customer when it came with an entry they can see. 404 for anyone else, so its existence is not
    told. THE access rule for a file: the download and the preview both ask here."""
    attachment = get_object_or_404(Attachment.objects.select_related("ticket__customer", "event"), pk=pk)
    if not is_staff_member(request.user):
        event = attachment.event
        if attachment.ticket.customer.user_id != request.user.pk or (event is not None and not event.public):
            raise Http404
    return attachment


def _file_headers(response: HttpResponse) -> HttpResponse:
    """A file is never a page of this site: its type is the one we say (nosniff), it may run
    nothing and load nothing (sandbox, default-src 'none'), and no shared cache keeps it."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@role_required(*STAFF_ROLES, CUSTOMER)
def attachment_download(request: HttpRequest, pk: int) -> HttpResponse:
    """A ticket's file, always as a download, with the sniffed type: never rendered as a page."""
    attachment = _attachment_for(request, pk)
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return _file_headers(
        FileResponse(
            handle, as_attachment=True, filename=attachment.filename, content_type=attachment.content_type
        )
    )


@require_GET
@role_required(*STAFF_ROLES, CUSTOMER)
def attachment_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """An image attachment to show inline (the timeline's thumbnail, opened full size on a click):
    for the same people as the download, only when its bytes are PNG, JPEG, GIF or WebP (never SVG),
    and never the sender's bytes — a copy Pillow re-encoded (``attachments.preview``), kept in the
    cache since a file never changes. 404 for anything else."""
    attachment = _attachment_for(request, pk)
    if not attachments.previewable(attachment.content_type):
        raise Http404
    key = f"attachment-preview:{attachment.pk}"
    found = cache.get(key)
    if found is None:
        try:
            with attachment.file.open("rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            raise Http404 from None
        found = attachments.preview(data, attachment.content_type) or (b"", "")
        cache.set(key, found, timeout=24 * 3600)
    image, content_type = found
    if not image:  # not decodable as what it was sniffed as: offered as a download only
        raise Http404
    response = HttpResponse(image, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(False, attachment.filename)
    return _file_headers(response)


@require_POST
@role_required(*STAFF_ROLES)
def ticket_attach_customer(request: HttpRequest, reference: str) -> HttpResponse:
    """Move an unknown e-mail sender's ticket to the customer (by customer number)."""
    ticket = selectors.get_ticket_for(request.user, reference)
    customer = Customer.objects.filter(number=request.POST.get("number", "").strip()).first()
    if customer is None:
        messages.error(request, _("No customer has that number."))
    else:
        services.ticket_attach_customer(ticket=ticket, customer=customer, actor=request.user)
    return _back_to(ticket)


# --- the signed-out contact form (tickets.contact) -------------------------------------------------
# Public on purpose (tests/test_roles.py lists these): written intake must not need an account; the
# e-mailed link's signed token is what opens the ticket.


@never_cache
@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    """Write to us without signing in. Signed-in customers get their own form (with their
    subscriptions). The answer is the same whether or not the details match a customer."""
    if has_role(request.user, CUSTOMER):
        return redirect("tickets:new_ticket")
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if data["website"]:  # the honeypot: told what a person is told, nothing kept
            return redirect("tickets:contact_sent")
        try:
            contact_service.contact_request(
                email=data["email"],
                number_or_phone=data["number_or_phone"],
                category=data["category"],
                service=data["service"],
                subject=data["subject"],
                description=data["description"],
                ip=request.META.get("REMOTE_ADDR"),
            )
        except contact_service.RateLimited:
            return render(request, "tickets/contact.html", {"form": form, "limited": True}, status=429)
        return redirect("tickets:contact_sent")
    return render(request, "tickets/contact.html", {"form": form})


@never_cache
@require_GET
def contact_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "tickets/contact_done.html", {"sent": True})


@never_cache
@require_http_methods(["GET", "POST"])
def contact_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with a button (mail scanners open links). POST: open the ticket, once."""
    if contact_service.request_id_from_token(token) is None:
        return render(request, "tickets/contact_done.html", {"invalid": True}, status=404)
    if request.method == "POST":
        ticket = contact_service.contact_confirm(token=token)
        if ticket is None:
            return render(request, "tickets/contact_done.html", {"invalid": True}, status=404)
        # Signed out, we learn where the customer is only now: the same warning as the signed-in form.
        return render(
            request,
            "tickets/contact_done.html",
            {"ticket": ticket, "not_delivered": selectors.service_unavailable_in_area(ticket)},
        )
    return render(request, "tickets/contact_done.html", {"confirm": True, "token": token})
