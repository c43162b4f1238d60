"""The queue table's rows, written out in Python once per page.

The template used to work each row out itself: two ``{% url %}`` reversals, ``timesince`` /
``timeuntil`` and a date filter in titles, ``blocktranslate`` and a dozen attribute look-ups per
row. At 50 rows that was most of the page's server time (bench/README.md, "Queue page"). Here the
same texts are computed in plain Python (core.times: plain string formatting with cached words, the
same translated msgids), and ``_ticket_rows.html`` only prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from core.times import format_duration, format_when
from tickets.models import Ticket

HANDOVER_CHARS = 140


@dataclass(frozen=True, slots=True)
class QueueRow:
    pk: int
    tick_label: str  # the bulk checkbox's label
    url: str
    reference: str
    subject: str
    breached: bool  # the row is red: due time passed (or the SLA was marked breached)
    sla_text: str
    sla_title: str
    sla_over: bool  # the due time has passed: the text says by how much
    sla_paused: bool  # waiting on an active incident (incidents' sla_paused_by annotation)
    priority: int
    priority_label: str
    has_incident: bool
    handover: str
    customer: str
    service: str
    area: str
    status_label: str
    assignee: str
    age_text: str
    age_title: str


def queue_rows(tickets: list[Ticket], *, now: datetime) -> list[QueueRow]:
    # One reversal for the page; every reference fits the same pattern.
    marker = "SD-0"
    prefix, _sep, suffix = reverse("tickets:detail", args=[marker]).rpartition(marker)
    # The msgids the template's blocktranslate had.
    over, within, tick = _("%(ago)s over"), _("in %(left)s"), _("Tick %(ref)s")
    paused_text = _("SLA paused — waiting on incident %(what)s")
    priorities = dict(Ticket.Priority.choices)
    statuses = dict(Ticket.Status.choices)
    rows = []
    for t in tickets:
        due = t.sla_due_at
        paused_by = getattr(t, "sla_paused_by", None) if not t.sla_breached else None
        late = due is not None and due < now and not paused_by
        if paused_by:
            sla_text = paused_text % {"what": paused_by}
        elif due is None:
            sla_text = "—"
        elif late:
            sla_text = over % {"ago": format_duration(now - due)}
        else:
            sla_text = within % {"left": format_duration(due - now)}
        handover = getattr(t, "handover", None)
        rows.append(
            QueueRow(
                pk=t.pk,
                tick_label=tick % {"ref": t.reference},
                url=f"{prefix}{t.reference}{suffix}",
                reference=t.reference,
                subject=t.subject,
                breached=t.sla_breached or late,
                sla_text=sla_text,
                sla_title=format_when(due) if due else "",
                sla_over=late,
                sla_paused=bool(paused_by),
                priority=t.priority,
                priority_label=str(priorities.get(t.priority, t.priority)),
                has_incident=bool(getattr(t, "has_incident", False)),
                handover=Truncator(handover).chars(HANDOVER_CHARS) if handover else "—",
                customer=t.customer.name,
                service=t.service.name if t.service_id else "—",
                area=t.area.name if t.area_id else "—",
                status_label=str(statuses.get(t.status, t.status)),
                assignee=t.assignee.get_username() if t.assignee_id else "—",
                age_text=format_duration(now - t.created_at),
                age_title=format_when(t.created_at),
            )
        )
    return rows
