"""The queue table's rows, written out in Python once per page.

The template used to work each row out itself: two ``{% url %}`` reversals, ``timesince`` /
``timeuntil`` and a date filter in titles, ``blocktranslate`` and a dozen attribute look-ups per
row. At 50 rows that was most of the page's server time (bench/README.md, "Queue page"). Here the
same texts are computed in plain Python (core.times: plain string formatting with cached words, the
same translated msgids). ``rows_html`` then prints the rows' markup with one ``str.format`` each,
every text escaped: even a template that only printed them cost 16 variable look-ups and their
escaping per row, 3.5–5 ms of CPU for 50 rows at a million tickets, as much as working the texts
out (bench/README.md, "Lists by cursor"). ``_ticket_rows.html`` keeps the empty queue's line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
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
    # The viewer's zone and language, read once: per call they are context-local look-ups.
    zone, language = timezone.get_current_timezone(), translation.get_language()

    def when(value: datetime) -> str:
        return format_when(value, zone=zone, language=language, now=now)

    def duration(delta: timedelta) -> str:
        return format_duration(delta, language=language)

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
            sla_text = over % {"ago": duration(now - due)}
        else:
            sla_text = within % {"left": duration(due - now)}
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
                sla_title=when(due) if due else "",
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
                age_text=duration(now - t.created_at),
                age_title=when(t.created_at),
            )
        )
    return rows


# One row of the queue table. Every {field} is escaped by rows_html; the markup is what
# _ticket_rows.html printed (tests/tickets/test_workspace.py and the browser tests read it).
ROW_HTML = (
    "<tr data-nav-row{row_class}>\n"
    '  <td><input type="checkbox" name="t" value="{pk}" form="bulk-form" aria-label="{tick_label}"></td>\n'
    '  <td class="sla" title="{sla_title}">{sla}</td>\n'
    '  <td><span class="prio prio-{priority}">{priority_label}</span></td>\n'
    '  <td><a href="{url}">{reference}</a></td>\n'
    '  <td>{incident}<a href="{url}">{subject}</a></td>\n'
    "{handover}"
    "  <td>{customer}</td>\n"
    "  <td>{service}</td>\n"
    "  <td>{area}</td>\n"
    '  <td><span class="pill">{status_label}</span></td>\n'
    "  <td>{assignee}</td>\n"
    '  <td class="muted" title="{age_title}">{age_text}</td>\n'
    "</tr>"
)


def rows_html(rows: list[QueueRow], *, handover_column: bool) -> SafeString:
    """The rows' ``<tr>`` markup, every text escaped (the standard library's ``html.escape``, as
    Django's ``escape`` calls, without its lazy-text wrapper per call); empty for no rows."""
    pill = '<span class="pill outage" title="{}">{}</span> '.format(
        escape(_("Explained by an active incident")), escape(_("incident"))
    )
    out = []
    for r in rows:
        sla_text = escape(r.sla_text)
        if r.sla_paused:
            sla = f'<span class="sla-paused">{sla_text}</span>'
        elif r.sla_over:
            sla = f'<span class="breach">{sla_text}</span>'
        else:
            sla = sla_text
        out.append(
            ROW_HTML.format(
                row_class=' class="sla-breached"' if r.breached else "",
                pk=r.pk,
                tick_label=escape(r.tick_label),
                sla_title=escape(r.sla_title),
                sla=sla,
                priority=r.priority,
                priority_label=escape(r.priority_label),
                url=escape(r.url),
                reference=escape(r.reference),
                incident=pill if r.has_incident else "",
                subject=escape(r.subject),
                handover=f'  <td class="handover">{escape(r.handover)}</td>\n' if handover_column else "",
                customer=escape(r.customer),
                service=escape(r.service),
                area=escape(r.area),
                status_label=escape(r.status_label),
                assignee=escape(r.assignee),
                age_title=escape(r.age_title),
                age_text=escape(r.age_text),
            )
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every text above went through escape()
