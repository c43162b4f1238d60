"""Agent workspace and customer portal. Views are thin: fetch-and-authorise, one service call, respond."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.roles import ADMIN, AGENT, CUSTOMER, OPS, STAFF_ROLES, TECH, role_required
from customers.models import Customer
from tickets import selectors, services
from tickets.forms import CommentForm, CustomerTicketForm, EscalateForm, StaffTicketForm, StatusForm
from tickets.models import Ticket

# --- agent workspace ---------------------------------------------------------------------------


def _before_id(request: HttpRequest) -> int | None:
    """The keyset cursor of a queue page (``?before=<id>``); anything else means the first page."""
    before = request.GET.get("before", "")
    return int(before) if before.isdigit() else None


@require_GET
@role_required(*STAFF_ROLES)
def queue(request: HttpRequest) -> HttpResponse:
    """First-line queue (and the other queues as tabs); ``?mine=1`` for my tickets."""
    current = request.GET.get("queue", Ticket.Queue.FIRST_LINE)
    if current not in Ticket.Queue.values:
        current = Ticket.Queue.FIRST_LINE
    mine = request.GET.get("mine") == "1"
    tickets, next_before = selectors.queue_page(
        queue=current,
        assignee=request.user if mine else None,
        before_id=_before_id(request),
    )
    return render(
        request,
        "tickets/queue.html",
        {
            "tickets": tickets,
            "next_before": next_before,
            "current": current,
            "mine": mine,
            "queues": Ticket.Queue.choices,
        },
    )


@require_GET
@role_required(TECH, OPS, AGENT, ADMIN)
def escalations(request: HttpRequest) -> HttpResponse:
    """Second line's queue, with tickets about the same service and area grouped as clusters."""
    tickets, next_before = selectors.queue_page(queue=Ticket.Queue.SECOND_LINE, before_id=_before_id(request))
    return render(
        request,
        "tickets/escalations.html",
        {"tickets": tickets, "next_before": next_before, "clusters": selectors.escalation_clusters()},
    )


@require_GET
@role_required(*STAFF_ROLES)
def ticket_detail(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    return render(
        request,
        "tickets/detail.html",
        {
            "ticket": ticket,
            "events": ticket.events.select_related("actor"),
            "subscriptions": ticket.customer.subscriptions.select_related("service", "area", "equipment"),
            "comment_form": CommentForm(),
            "escalate_form": EscalateForm(),
            "status_form": StatusForm(initial={"status": ticket.status}),
            "wait": selectors.second_line_wait() if ticket.queue != Ticket.Queue.SECOND_LINE else None,
        },
    )


def _back_to(ticket: Ticket) -> HttpResponse:
    return redirect("tickets:detail", reference=ticket.reference)


@require_POST
@role_required(*STAFF_ROLES)
def ticket_comment(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    form = CommentForm(request.POST)
    if form.is_valid():
        services.ticket_comment(ticket=ticket, actor=request.user, **form.cleaned_data)
    else:
        messages.error(request, _("The message was empty or too long; nothing was sent."))
    return _back_to(ticket)


@require_POST
@role_required(*STAFF_ROLES)
def ticket_set_status(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    form = StatusForm(request.POST)
    if form.is_valid():
        services.ticket_set_status(ticket=ticket, status=form.cleaned_data["status"], actor=request.user)
    return _back_to(ticket)


@require_POST
@role_required(*STAFF_ROLES)
def ticket_claim(request: HttpRequest, reference: str) -> HttpResponse:
    """Take the ticket (first or second line); ``release=1`` gives it back to the queue."""
    ticket = selectors.get_ticket_for(request.user, reference)
    assignee = None if request.POST.get("release") else request.user
    services.ticket_assign(ticket=ticket, assignee=assignee, actor=request.user)
    return _back_to(ticket)


@require_POST
@role_required(*STAFF_ROLES)
def ticket_keep_open(request: HttpRequest, reference: str) -> HttpResponse:
    """``keep_open=1``: an incident's resolution replies to this ticket but does not resolve it."""
    ticket = selectors.get_ticket_for(request.user, reference)
    services.ticket_set_keep_open(
        ticket=ticket, keep_open=request.POST.get("keep_open") == "1", actor=request.user
    )
    return _back_to(ticket)


@require_POST
@role_required(*STAFF_ROLES)
def ticket_escalate(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    form = EscalateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say what is wrong and what was already tried before escalating."))
        return _back_to(ticket)
    try:
        services.ticket_escalate(ticket=ticket, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Escalated to second line."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return _back_to(ticket)


@require_GET
@role_required(*STAFF_ROLES)
def lookup(request: HttpRequest) -> HttpResponse:
    """Caller look-up by phone, customer number or e-mail: the customer's whole picture on one screen."""
    q = request.GET.get("q", "").strip()
    customers = selectors.find_customers(q) if q else []
    customer = customers[0] if len(customers) == 1 else None
    context = {"q": q, "customers": customers, "customer": customer}
    if customer is not None:
        context.update(
            subscriptions=customer.subscriptions.select_related("service", "area", "equipment"),
            open_tickets=customer.tickets.open().select_related("service").order_by("-created_at")[:20],
            form=StaffTicketForm(customer=customer),
        )
    return render(request, "tickets/lookup.html", context)


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
def staff_open_ticket(request: HttpRequest, number: str) -> HttpResponse:
    customer = get_object_or_404(Customer, number=number)
    form = StaffTicketForm(request.POST, customer=customer)
    if not form.is_valid():
        messages.error(request, _("Fill in subject and description."))
        return redirect(f"{reverse('tickets:lookup')}?q={customer.number}")
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
def new_ticket(request: HttpRequest) -> HttpResponse:
    customer = selectors.customer_for(request.user)
    form = CustomerTicketForm(request.POST or None, customer=customer)
    if request.method == "POST" and form.is_valid():
        ticket = services.ticket_open(
            customer=customer, actor=request.user, channel=Ticket.Channel.WEB, **form.cleaned_data
        )
        messages.success(
            request,
            _("Thank you — we got your message. Your reference is %(ref)s.") % {"ref": ticket.reference},
        )
        return redirect("tickets:my_ticket", reference=ticket.reference)
    return render(request, "tickets/new_ticket.html", {"form": form})


@require_GET
@role_required(CUSTOMER)
def my_ticket(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    return render(
        request,
        "tickets/my_ticket.html",
        {
            "ticket": ticket,
            "events": ticket.events.filter(public=True).select_related("actor"),
            "form": CommentForm(),
        },
    )


@require_POST
@role_required(CUSTOMER)
def my_ticket_reply(request: HttpRequest, reference: str) -> HttpResponse:
    ticket = selectors.get_ticket_for(request.user, reference)
    form = CommentForm(request.POST)
    if form.is_valid():
        services.ticket_comment(
            ticket=ticket, actor=request.user, body=form.cleaned_data["body"], public=True
        )
        messages.success(request, _("Thanks — your message was added to the ticket."))
    else:
        messages.error(request, _("Please write a message first."))
    return redirect("tickets:my_ticket", reference=ticket.reference)
