"""Spot the outage nobody has declared yet: surges of similar tickets become proposed incidents.

The method, in one sentence for ops
-----------------------------------
*A cell is proposed when at least 3 of its technical tickets came in the last 3, 5 or 15 minutes and
so many would arise there by chance less than once in 100,000 times on a normal day — normal being
the same two hours of the week averaged over the last 4 weeks, scaled up by how much busier the
whole desk is right now (at most double), and never less than one ticket in 5 hours* (a one-sided
Poisson upper-tail test per look, the smallest tail times the number of looks — Bonferroni: one
false-alarm budget for all of them, p < ``SURGE_P_VALUE`` — with the looks ``SURGE_SHORT_LOOKS_MINUTES`` and
``SURGE_WINDOW_MINUTES``, a baseline floor ``SURGE_BASELINE_FLOOR`` per 15 minutes, at least
``SURGE_MIN_REPORTS`` reports, and a desk factor capped at ``SURGE_DESK_FACTOR_CAP``). With the
defaults a quiet postcode takes 3 reports in 5 minutes, or 4 in 15; never two.
bench/bench_surge.py measures recall, delay and false proposals on a replayed month.

Why Poisson: tickets from many independent customers are the textbook Poisson process; its tail needs
no tuning beyond the false-alarm rate, it reads as "this many would happen by chance once in 100,000
looks", and the minimum of 3 reports means two tickets never make an outage. An EWMA needs a
smoothing constant and a threshold in standard deviations that mean little to ops at counts of 0–5,
where the normal approximation behind them fails. The looks are windows ending now, as in
Kulldorff's prospective space-time scan statistic (Kulldorff 2001, "Prospective time periodic
geographical disease surveillance using a scan statistic", J. R. Stat. Soc. A 164), whose Poisson
model per cylinder this simplifies to a fixed grid of cells and three cylinder lengths; cf. the CDC's
EARS C-methods, which compare a day with a baseline of past days. The floor is what sets the delay:
in most cells the usual number is below it, so it decides how many reports it takes
(bench/README.md compares the alternatives: a scan over every length from 1 to 15 minutes under the
same budget needs more reports per look, Bonferroni over 15 looks; a Poisson CUSUM is such a scan
with a fixed alternative).

Cells
-----
Recent *open technical* tickets (billing or sales mail after a mailing is not an outage), with a
service, not attached to an active incident and not counted in an open (or recently dismissed)
proposal, are counted per service × area at three levels of the tree — region, municipality,
postcode (or exchange: the leaf) — and per service × equipment model. The area levels come from
``Area.path`` (``country/region/municipality/leaf/``): the n-th segment of a ticket's area path is
its ancestor of depth n-1, so grouping is ``split_part`` on the path, no join per level.

The smallest level that explains it
------------------------------------
A postcode outage also makes its municipality and region surge. A cell is *hot* when it passes the
test on its own; a hot area cell is *proposed* only if it still passes after taking away the tickets
and the baseline of its hot child cells (so the municipality is proposed only when the surge is
spread over postcodes none of which explains it). A hot equipment cell is proposed only if its
tickets outside the hot area cells still pass (everyone in a failing postcode has some modem).

Set-based
---------
Each run is at most four statements over the ticket table whatever its size: one INSERT … SELECT
that grows every open proposal with the new tickets in its cell; the recent window grouped into
cells, each with its tickets' ages, from which each look is counted (``HAVING count >= MIN``, where MIN is the smallest count that can pass against the floor:
below it no cell can fire) — and only when some cell could fire: the same-hour-of-week windows of
past weeks for the candidate cells, and the desk's total now and then (the desk factor). The reads
use the (created_at, service) index; bench/bench_surge.py measures a run at 1,000,000 tickets.

One proposal per outage
-----------------------
An outage that spreads is proposed once, in the smallest scope that covers its tickets: when a
municipality surges around an open proposal for one of its postcodes, or a second postcode of the
municipality surges, the open proposal grows into the municipality (its incident's scope, title and
numbers follow; ops are not alerted again); when an equipment model surges, open area proposals
whose tickets are mostly of that model grow into it. Any further open proposal inside the new scope
is *merged* into the one that grew (its tickets move there, its incident is withdrawn with a note).
The same holds within one run. A postcode inside an open municipality proposal never fires: its
tickets grow that proposal.

Never twice
-----------
A run takes a transaction-scoped advisory lock (a second concurrent run skips), and the partial
unique constraint ``surge_one_open_per_cell`` makes a second open proposal for a cell impossible
even so: the loser grows the winner's proposal instead. PostgreSQL only (the embedded SQLite mode
has no beat; ``detect_surges`` does nothing there).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.errors import DomainError
from core.languages import LANGUAGE_CODES
from customers.models import Area, EquipmentModel, Service
from incidents import services
from incidents.models import (
    INACTIVE_STATUSES,
    Incident,
    IncidentTicketLink,
    IncidentUpdate,
    SurgeProposal,
    SurgeTicket,
)
from incidents.signals import announce_linked, incident_proposed
from tickets.models import Ticket

log = logging.getLogger(__name__)

# The advisory lock of one detection run ("SD-SURGE"): a second concurrent run skips its turn.
LOCK_KEY = 0x5D_5355_5247
SurgeLevel = SurgeProposal.Level

TITLE = gettext_noop("Possible outage: %(service)s in %(where)s")
PUBLIC_MESSAGE = gettext_noop(
    "We are investigating a fault affecting %(service)s in %(where)s. We will tell you when we know more."
)
DISMISSED = gettext_noop("Proposal dismissed: %(reason)s")
WIDENED = gettext_noop("The proposal now covers %(service)s in %(where)s: %(summary)s")
MERGED_NOTE = gettext_noop("Merged into the proposal for %(service)s in %(where)s, the same outage.")


# --- the test ----------------------------------------------------------------------------------


def poisson_upper_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam): 1 - sum_{i<k} e^-lam lam^i / i!, summed in log space."""
    if k <= 0:
        return 1.0
    log_lam = math.log(lam)
    below = sum(math.exp(-lam + i * log_lam - math.lgamma(i + 1)) for i in range(k))
    return max(0.0, 1.0 - below)


def looks() -> tuple[int, ...]:
    """The windows ending now that each cell is tested over, in minutes, shortest first; the last is
    the long window (SURGE_WINDOW_MINUTES), the unit of the usual numbers."""
    return (*sorted(set(settings.SURGE_SHORT_LOOKS_MINUTES)), settings.SURGE_WINDOW_MINUTES)


def scan_p(counts: dict[int, int], expected: float) -> tuple[float, int, int]:
    """The test of one cell: the Poisson tail of each look's count (its usual number is the long
    window's scaled to its length), the smallest times the number of looks (Bonferroni: one
    false-alarm budget shared by all the looks). ``counts``: look (minutes) → tickets in it.
    Returns (p, the look that gave it in minutes, its count)."""
    all_looks = looks()
    long_min = all_looks[-1]
    best = min(
        ((poisson_upper_tail(counts.get(w, 0), expected * w / long_min), w) for w in all_looks),
        key=lambda pw: (pw[0], pw[1]),
    )
    return min(1.0, len(all_looks) * best[0]), best[1], counts.get(best[1], 0)


def min_reports(*, floor: float | None = None, alpha: float | None = None) -> int:
    """The fewest tickets (in the long window) that can pass the test at all: against the floor,
    all of them in the shortest look; and never fewer than SURGE_MIN_REPORTS."""
    floor = settings.SURGE_BASELINE_FLOOR if floor is None else floor
    alpha = settings.SURGE_P_VALUE if alpha is None else alpha
    k = max(1, settings.SURGE_MIN_REPORTS)
    while scan_p(dict.fromkeys(looks(), k), floor)[0] >= alpha:
        k += 1
    return k


# --- detection -----------------------------------------------------------------------------------


@dataclass
class Cell:
    service_id: int
    level: str
    key: str  # an area code, or an equipment model id
    tickets: dict[int, float]  # ticket id → its age at ``now`` in seconds
    expected: float = 0.0
    p_value: float = 1.0
    window_minutes: int = 0
    reports: int = 0
    hot: bool = False
    children: list[Cell] = field(default_factory=list)

    @property
    def ident(self) -> tuple[int, str, str]:
        return (self.service_id, self.level, self.key)

    @property
    def ticket_ids(self) -> list[int]:
        return sorted(self.tickets)

    def counts(self, without: set[int] = frozenset()) -> dict[int, int]:
        """Tickets per look (minutes → count), leaving out ``without``."""
        ages = [age for t, age in self.tickets.items() if t not in without]
        return {w: sum(1 for age in ages if age < w * 60) for w in looks()}


def _open_statuses() -> list[str]:
    return [str(s) for s in Ticket.OPEN_STATUSES]


_CELLS = """
    CROSS JOIN LATERAL (VALUES
        ('region', split_part(a.path, '/', 2)),
        ('municipality', split_part(a.path, '/', 3)),
        ('postcode', split_part(a.path, '/', 4)),
        ('equipment', t.equipment_id::text)
    ) AS c(level, key)
"""

# Recent uncovered open technical tickets, per cell, with their ages (each look's count is taken
# from them); only cells that could pass the test.
CURRENT_SQL = f"""
SELECT t.service_id, c.level, c.key, array_agg(t.id ORDER BY t.id),
       array_agg(extract(epoch FROM %(now)s - t.created_at)::float ORDER BY t.id)
FROM tickets_ticket t
LEFT JOIN customers_area a ON a.id = t.area_id
{_CELLS}
WHERE t.created_at > %(since)s AND t.created_at <= %(now)s
  AND t.status = ANY(%(open)s) AND t.category = 'technical' AND t.service_id IS NOT NULL
  AND c.key <> ''
  AND NOT EXISTS (
      SELECT 1 FROM incidents_incidentticketlink l JOIN incidents_incident i ON i.id = l.incident_id
      WHERE l.ticket_id = t.id AND l.detached_at IS NULL AND NOT (i.status = ANY(%(inactive)s)))
  AND NOT EXISTS (
      SELECT 1 FROM incidents_surgeticket st JOIN incidents_surgeproposal p ON p.id = st.proposal_id
      WHERE st.ticket_id = t.id AND (p.state = 'open' OR p.quiet_until > %(now)s))
GROUP BY t.service_id, c.level, c.key
HAVING count(*) >= %(min)s
"""

# The same hour of the week in past weeks, for the candidate cells only. Tickets an incident
# explained (past declared outages) are not "normal" and are left out.
BASELINE_SQL = f"""
SELECT t.service_id, c.level, c.key, count(*)
FROM tickets_ticket t
LEFT JOIN customers_area a ON a.id = t.area_id
{_CELLS}
JOIN unnest(%(c_service)s::int[], %(c_level)s::text[], %(c_key)s::text[]) AS cand(service_id, level, key)
  ON cand.service_id = t.service_id AND cand.level = c.level AND cand.key = c.key
WHERE ({{windows}})
  AND t.category = 'technical' AND t.service_id = ANY(%(services)s)
  AND NOT EXISTS (
      SELECT 1 FROM incidents_incidentticketlink l JOIN incidents_incident i ON i.id = l.incident_id
      WHERE l.ticket_id = t.id AND l.detached_at IS NULL AND i.status <> 'withdrawn'
        AND i.status <> 'proposed')
GROUP BY t.service_id, c.level, c.key
"""

# Every open proposal takes the new uncovered open technical tickets of its cell.
GROW_SQL = """
INSERT INTO incidents_surgeticket (proposal_id, ticket_id, added_at)
SELECT p.id, t.id, %(now)s
FROM incidents_surgeproposal p
JOIN tickets_ticket t ON t.service_id = p.service_id
LEFT JOIN customers_area pa ON pa.id = p.area_id
LEFT JOIN customers_area ta ON ta.id = t.area_id
WHERE p.state = 'open'
  AND t.created_at > %(since)s AND t.created_at <= %(now)s
  AND t.status = ANY(%(open)s) AND t.category = 'technical'
  AND ((p.area_id IS NOT NULL AND starts_with(ta.path, pa.path))
       OR (p.equipment_id IS NOT NULL AND t.equipment_id = p.equipment_id))
  AND NOT EXISTS (
      SELECT 1 FROM incidents_incidentticketlink l JOIN incidents_incident i ON i.id = l.incident_id
      WHERE l.ticket_id = t.id AND l.detached_at IS NULL AND NOT (i.status = ANY(%(inactive)s)))
ON CONFLICT (proposal_id, ticket_id) DO NOTHING
RETURNING proposal_id
"""


def window() -> timedelta:
    return timedelta(minutes=settings.SURGE_WINDOW_MINUTES)


def current_cells(*, now: datetime) -> list[Cell]:
    """Statement 1: the candidate cells of the window ending at ``now``."""
    with connection.cursor() as cursor:
        cursor.execute(
            CURRENT_SQL,
            {
                "since": now - window(),
                "now": now,
                "open": _open_statuses(),
                "inactive": list(INACTIVE_STATUSES),
                "min": min_reports(),
            },
        )
        return [
            Cell(service_id=s, level=lv, key=k, tickets=dict(zip(ids, ages, strict=True)))
            for s, lv, k, ids, ages in cursor
        ]


def baseline_counts(cells: list[Cell], *, now: datetime) -> dict[tuple[int, str, str], float]:
    """Statement 2: the usual number of tickets per window for each cell (before the floor): the
    tickets of the same time of the week (SURGE_BASELINE_SPAN_MINUTES, an hour by default) in each
    of the last SURGE_BASELINE_WEEKS weeks, averaged and scaled to the window."""
    if not cells:
        return {}
    windows, params = _baseline_windows(now)
    params |= {
        "c_service": [c.service_id for c in cells],
        "c_level": [c.level for c in cells],
        "c_key": [c.key for c in cells],
        "services": sorted({c.service_id for c in cells}),
    }
    with connection.cursor() as cursor:
        cursor.execute(BASELINE_SQL.format(windows=windows), params)
        return {(s, lv, k): n / _per_window() for s, lv, k, n in cursor}


def _baseline_windows(now: datetime) -> tuple[str, dict]:
    """The same time of the week (SURGE_BASELINE_SPAN_MINUTES around the window's middle, an hour by
    default) in each past week."""
    weeks = settings.SURGE_BASELINE_WEEKS
    half = timedelta(minutes=settings.SURGE_BASELINE_SPAN_MINUTES / 2)
    params = {}
    for i in range(weeks):
        centre = now - timedelta(weeks=i + 1) - window() / 2
        params[f"w{i}s"], params[f"w{i}e"] = centre - half, centre + half
    return " OR ".join(
        f"(t.created_at > %(w{i}s)s AND t.created_at <= %(w{i}e)s)" for i in range(weeks)
    ), params


def _per_window() -> float:
    """The baseline's spans, together, are this many long windows."""
    return (
        settings.SURGE_BASELINE_WEEKS * settings.SURGE_BASELINE_SPAN_MINUTES / settings.SURGE_WINDOW_MINUTES
    )


# The whole desk's technical tickets now and in the baseline hours (statement 2b, when a cell could fire).
DESK_SQL = """
SELECT count(*) FILTER (WHERE t.created_at > %(since)s), count(*) FILTER (WHERE t.created_at <= %(since)s)
FROM tickets_ticket t
WHERE ((t.created_at > %(since)s AND t.created_at <= %(now)s) OR {windows})
  AND t.category = 'technical' AND t.service_id IS NOT NULL
  AND NOT EXISTS (
      SELECT 1 FROM incidents_incidentticketlink l JOIN incidents_incident i ON i.id = l.incident_id
      WHERE l.ticket_id = t.id AND l.detached_at IS NULL AND i.status <> 'withdrawn'
        AND i.status <> 'proposed')
"""


def desk_factor(*, now: datetime) -> float:
    """How busy the whole desk is now against its own same hour of the week, between 1 and
    SURGE_DESK_FACTOR_CAP: every cell's usual number is scaled by it, so a busy hour everywhere
    (weather, a TV match, a national noise) does not make the big cells fire. Capped, so a huge
    outage elsewhere cannot hide a small one; never below 1, so a quiet hour does not lower the bar."""
    cap = settings.SURGE_DESK_FACTOR_CAP
    if cap <= 1:
        return 1.0
    windows, params = _baseline_windows(now)
    with connection.cursor() as cursor:
        cursor.execute(
            DESK_SQL.format(windows=f"({windows})"), params | {"since": now - window(), "now": now}
        )
        current, past = cursor.fetchone()
    usual = past / _per_window()
    if usual < 1:
        return 1.0
    return min(cap, max(1.0, current / usual))


def assess(cells: list[Cell], baselines: dict, *, factor: float = 1.0) -> list[Cell]:
    """Test each cell; return the cells to propose, smallest explaining level first (see module doc).
    ``factor``: the desk factor (``desk_factor``) the usual numbers are scaled by."""
    floor, alpha = settings.SURGE_BASELINE_FLOOR, settings.SURGE_P_VALUE
    for cell in cells:
        cell.expected = max(floor, baselines.get(cell.ident, 0.0) * factor)
        cell.p_value, cell.window_minutes, cell.reports = scan_p(cell.counts(), cell.expected)
        cell.hot = cell.p_value < alpha
    hot = {c.ident: c for c in cells if c.hot}
    if not hot:
        return []
    # Parent of each hot area cell, from the area paths (one query for the few codes involved).
    codes = {c.key for c in hot.values() if c.level != SurgeLevel.EQUIPMENT}
    paths = dict(Area.objects.filter(code__in=codes).values_list("code", "path"))
    for cell in hot.values():
        if cell.level in (SurgeLevel.MUNICIPALITY, SurgeLevel.POSTCODE) and cell.key in paths:
            segments = paths[cell.key].strip("/").split("/")
            parent_level = (
                SurgeLevel.REGION if cell.level == SurgeLevel.MUNICIPALITY else SurgeLevel.MUNICIPALITY
            )
            parent = hot.get((cell.service_id, parent_level, segments[-2]))
            if parent is not None:
                parent.children.append(cell)
    proposed = []
    for level in (SurgeLevel.POSTCODE, SurgeLevel.MUNICIPALITY, SurgeLevel.REGION):
        for cell in hot.values():
            if cell.level != level:
                continue
            if not cell.children:
                proposed.append(cell)
                continue
            in_children = {t for ch in cell.children for t in ch.tickets}
            residual_expected = max(floor, cell.expected - sum(ch.expected for ch in cell.children))
            if scan_p(cell.counts(without=in_children), residual_expected)[0] < alpha:
                proposed.append(cell)
    # An equipment model's surge that lies inside a surging area is that area's outage (everyone
    # there has some modem): it is proposed only if its tickets outside hot areas still surge.
    in_hot_areas: dict[int, set[int]] = {}
    for cell in hot.values():
        if cell.level != SurgeLevel.EQUIPMENT:
            in_hot_areas.setdefault(cell.service_id, set()).update(cell.tickets)
    for cell in hot.values():
        if cell.level == SurgeLevel.EQUIPMENT:
            inside = in_hot_areas.get(cell.service_id, set())
            if scan_p(cell.counts(without=inside), cell.expected)[0] < alpha:
                proposed.append(cell)
    return _one_per_outage(proposed, paths, {c.ident: c for c in cells})


def _one_per_outage(proposed: list[Cell], paths: dict[str, str], cells: dict) -> list[Cell]:
    """Cells of one run that explain the same tickets become one proposal, the smallest scope that
    covers them: two areas of one parent (two postcodes of a municipality) are their parent; an area
    proposed with a proposed area around it is left to the wider one (which surges beyond it, and
    counts its tickets); an area whose tickets are mostly one equipment model proposed in the same
    run is left to the model."""
    by_parent: dict[tuple, list[Cell]] = {}
    for cell in proposed:
        if cell.level in _PARENT_LEVEL and cell.key in paths:
            parent_code = paths[cell.key].strip("/").split("/")[-2]
            by_parent.setdefault((cell.service_id, _PARENT_LEVEL[cell.level], parent_code), []).append(cell)
    for ident, children in by_parent.items():
        parent = cells.get(ident)
        if len(children) > 1 and parent is not None and parent not in proposed:
            proposed = [c for c in proposed if c not in children] + [parent]
            paths.update(Area.objects.filter(code=parent.key).values_list("code", "path"))
    areas = [c for c in proposed if c.level != SurgeLevel.EQUIPMENT]
    models = [c for c in proposed if c.level == SurgeLevel.EQUIPMENT]
    kept = []
    for cell in areas:
        path = paths.get(cell.key, "")
        wider = any(
            o is not cell and o.service_id == cell.service_id and path.startswith(paths.get(o.key, "\0"))
            for o in areas
        )
        explained = any(
            m.service_id == cell.service_id
            and 2 * len(cell.tickets.keys() & m.tickets.keys()) > len(cell.tickets)
            for m in models
        )
        if not (wider or explained):
            kept.append(cell)
    return kept + models


@dataclass(frozen=True)
class RunResult:
    proposed: list[SurgeProposal]
    grown: int
    skipped: bool = False
    # Open proposals that took a wider cell of the same outage this run (others merged into them).
    widened: list[SurgeProposal] = field(default_factory=list)

    @property
    def merged(self) -> int:
        return len(self.widened)


def detect_surges(*, now: datetime | None = None) -> RunResult:
    """One detection run (the beat task, every minute): grow the open proposals with their cells' new
    tickets, then propose every cell that surges and has no open proposal nor a quiet window.

    Guarantees: one transaction; a concurrent run skips (advisory lock); a cell is never proposed
    twice while open (``surge_one_open_per_cell``); each proposal sends ``incident_proposed`` (ops are
    alerted, live, after commit). PostgreSQL only: elsewhere it does nothing."""
    if connection.vendor != "postgresql":
        return RunResult(proposed=[], grown=0, skipped=True)
    now = now or timezone.now()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
            if not cursor.fetchone()[0]:
                return RunResult(proposed=[], grown=0, skipped=True)
            cursor.execute(
                GROW_SQL,
                {
                    "now": now,
                    "since": now - window(),
                    "open": _open_statuses(),
                    "inactive": list(INACTIVE_STATUSES),
                },
            )
            grown_rows = cursor.fetchall()
        if grown_rows:
            SurgeProposal.objects.filter(pk__in={r[0] for r in grown_rows}).update(grown_at=now)
        cells = current_cells(now=now)
        factor = desk_factor(now=now) if cells else 1.0
        to_propose = assess(cells, baseline_counts(cells, now=now), factor=factor)
        widened: list[SurgeProposal] = []
        by_ident = {c.ident: c for c in cells}
        proposals = [
            p
            for cell in to_propose
            if (p := _propose(cell, now=now, widened=widened, cells=by_ident)) is not None
        ]
    return RunResult(proposed=proposals, grown=len(grown_rows), widened=widened)


def cell_key(*, service_code: str, level: str, key_code: str) -> str:
    return f"{service_code}/{'equipment' if level == SurgeLevel.EQUIPMENT else 'area'}/{key_code}"


def _in_every_language(text: str, values: dict) -> dict[str, str]:
    texts = {}
    for lang in LANGUAGE_CODES:
        with translation.override(lang):
            texts[lang] = _(text) % values
    return texts


_PARENT_LEVEL = {SurgeLevel.POSTCODE: SurgeLevel.MUNICIPALITY, SurgeLevel.MUNICIPALITY: SurgeLevel.REGION}


def _propose(
    cell: Cell, *, now: datetime, widened: list[SurgeProposal], cells: dict | None = None
) -> SurgeProposal | None:
    """Write one proposal (a proposed incident with its scope, numbers and tickets), unless the cell is
    quiet after a dismissal or already has an open proposal (then the counts there are raised)."""
    service = Service.objects.get(pk=cell.service_id)
    area = equipment = None
    if cell.level == SurgeLevel.EQUIPMENT:
        equipment = EquipmentModel.objects.filter(pk=int(cell.key)).first()
        where, key_code = (str(equipment), equipment.code) if equipment else ("?", cell.key)
    else:
        area = Area.objects.filter(code=cell.key).first()
        where, key_code = (area.name, area.code) if area else (cell.key, cell.key)
    if area is None and equipment is None:
        return None
    key = cell_key(service_code=service.code, level=cell.level, key_code=key_code)
    existing = SurgeProposal.objects.filter(cell=key).filter(
        Q(state=SurgeProposal.State.OPEN) | Q(quiet_until__gt=now)
    )
    numbers = {
        "reports": cell.reports,
        "window_minutes": cell.window_minutes,
        # The usual number in the window that triggered it (the baseline is per long window).
        "expected": cell.expected * cell.window_minutes / settings.SURGE_WINDOW_MINUTES,
        "p_value": cell.p_value,
    }
    open_one = existing.filter(state=SurgeProposal.State.OPEN).first()
    if open_one is not None:
        _raise_numbers(open_one, cell, now=now)
        return None
    if existing.exists():  # dismissed, still quiet
        return None
    # The same outage already proposed in a smaller scope (a postcode inside this municipality, an
    # area whose tickets are mostly this equipment model): that proposal grows into this cell
    # instead, and any other one inside it is merged into it — one proposal per outage.
    inside = _open_inside(cell, service=service, area=area, equipment=equipment)
    if inside:
        widened.append(
            _widen(inside, cell, key=key, service=service, area=area, equipment=equipment, now=now)
        )
        return None
    # A neighbour of the same parent already proposed (the outage reaches a second postcode of the
    # municipality): the smallest scope covering both is the parent, and the proposal grows into it.
    parent = area.parent if area is not None and cell.level in _PARENT_LEVEL else None
    if parent is not None:
        parent_key = cell_key(
            service_code=service.code, level=_PARENT_LEVEL[cell.level], key_code=parent.code
        )
        parent_taken = SurgeProposal.objects.filter(cell=parent_key).filter(
            Q(state=SurgeProposal.State.OPEN) | Q(quiet_until__gt=now)
        )
        neighbours = [] if parent_taken.exists() else _open_inside(cell, service=service, area=parent)
        if neighbours:
            # The parent's own numbers when it was counted this run (they include this cell's).
            numbers_from = (cells or {}).get((cell.service_id, _PARENT_LEVEL[cell.level], parent.code))
            widened.append(
                _widen(
                    neighbours,
                    numbers_from or cell,
                    key=parent_key,
                    level=_PARENT_LEVEL[cell.level],
                    service=service,
                    area=parent,
                    equipment=None,
                    now=now,
                )
            )
            return None
    started_at = (
        Ticket.objects.filter(pk__in=cell.ticket_ids)
        .order_by("created_at")
        .values_list("created_at", flat=True)[0]
    )
    values = {"service": service.name, "where": where}
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                title=_in_every_language(TITLE, values)[settings.LANGUAGE_CODE[:2]][:200],
                kind=Incident.Kind.OUTAGE,
                severity=Incident.Severity.MAJOR,
                status=Incident.Status.PROPOSED,
                source=Incident.Source.SURGE,
                started_at=started_at,
                detected_at=now,
                public_message=_in_every_language(PUBLIC_MESSAGE, values),
                notify_customers=True,
                created_at=now,
                updated_at=now,
            )
            incident.services.set([service])
            if area is not None:
                incident.areas.set([area])
            if equipment is not None:
                incident.equipment.set([equipment])
            proposal = SurgeProposal.objects.create(
                incident=incident,
                cell=key,
                level=cell.level,
                service=service,
                area=area,
                equipment=equipment,
                proposed_at=now,
                grown_at=now,
                **numbers,
            )
    except IntegrityError:  # another run proposed this cell at the same moment: never twice
        winner = SurgeProposal.objects.filter(cell=key, state=SurgeProposal.State.OPEN).first()
        if winner is not None:
            _raise_numbers(winner, cell, now=now)
        return None
    SurgeTicket.objects.bulk_create(
        [SurgeTicket(proposal=proposal, ticket_id=t, added_at=now) for t in cell.ticket_ids],
        ignore_conflicts=True,
    )
    incident_proposed.send(sender=Incident, incident=incident, proposal=proposal)
    log.info("surge proposed: %s, %s (p=%.2g)", key, surge_summary(proposal), cell.p_value)
    return proposal


def _open_inside(cell: Cell, *, service: Service, area: Area | None, equipment=None) -> list[SurgeProposal]:
    """Open proposals of the same service that this cell's scope covers, oldest first: the areas
    under ``area``; or, for an equipment model, the areas whose tickets are mostly of that model."""
    open_ones = SurgeProposal.objects.filter(state=SurgeProposal.State.OPEN, service=service)
    if area is not None:
        found = open_ones.filter(area__path__startswith=area.path).exclude(area=area)
    else:
        found = (
            open_ones.filter(area__isnull=False)
            .annotate(
                n=Count("cluster"),
                of_model=Count("cluster", filter=Q(cluster__ticket__equipment_id=equipment.pk)),
            )
            .filter(of_model__gt=F("n") / 2.0)
        )
    ids = list(found.values_list("pk", flat=True))
    return list(
        SurgeProposal.objects.select_for_update()
        .filter(pk__in=ids, state=SurgeProposal.State.OPEN)
        .select_related("incident")
        .order_by("proposed_at", "pk")
    )


def _widen(
    inside: list[SurgeProposal],
    cell: Cell,
    *,
    key: str,
    service: Service,
    area,
    equipment,
    now: datetime,
    level: str | None = None,
    ticket_ids: list[int] | None = None,
) -> SurgeProposal:
    """The oldest of ``inside`` takes this cell's scope, numbers and tickets (its incident's title,
    message and scope follow; ops are not alerted again: it is the same outage, proposed once); the
    others are merged into it — their tickets move there, their incidents are withdrawn with a note."""
    survivor, others = inside[0], inside[1:]
    where = area.name if area is not None else str(equipment)
    values = {"service": service.name, "where": where}
    if others:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO incidents_surgeticket (proposal_id, ticket_id, added_at)
                SELECT %(survivor)s, st.ticket_id, %(now)s FROM incidents_surgeticket st
                WHERE st.proposal_id = ANY(%(others)s)
                ON CONFLICT (proposal_id, ticket_id) DO NOTHING
                """,
                {"survivor": survivor.pk, "others": [o.pk for o in others], "now": now},
            )
        SurgeProposal.objects.filter(pk__in=[o.pk for o in others]).update(
            state=SurgeProposal.State.MERGED, merged_into=survivor, decided_at=now
        )
        merged_note = _in_every_language(MERGED_NOTE, values)
        IncidentUpdate.objects.bulk_create(
            [
                IncidentUpdate(
                    incident_id=o.incident_id,
                    public=False,
                    message=merged_note,
                    status=Incident.Status.WITHDRAWN,
                    created_at=now,
                )
                for o in others
            ]
        )
        Incident.objects.filter(pk__in=[o.incident_id for o in others]).update(
            status=Incident.Status.WITHDRAWN, updated_at=now
        )
    survivor.cell, survivor.level = key, level or cell.level
    survivor.area, survivor.equipment = area, equipment
    survivor.reports, survivor.window_minutes, survivor.p_value = (
        cell.reports,
        cell.window_minutes,
        cell.p_value,
    )
    survivor.expected = cell.expected * cell.window_minutes / settings.SURGE_WINDOW_MINUTES
    survivor.grown_at = now
    survivor.save(
        update_fields=[
            "cell",
            "level",
            "area",
            "equipment",
            "reports",
            "window_minutes",
            "p_value",
            "expected",
            "grown_at",
        ]
    )
    SurgeTicket.objects.bulk_create(
        [
            SurgeTicket(proposal=survivor, ticket_id=t, added_at=now)
            for t in (cell.ticket_ids if ticket_ids is None else ticket_ids)
        ],
        ignore_conflicts=True,
    )
    incident = survivor.incident
    started = Ticket.objects.filter(pk__in=survivor.cluster.values("ticket_id")).aggregate(
        m=Min("created_at")
    )["m"]
    incident.title = _in_every_language(TITLE, values)[settings.LANGUAGE_CODE[:2]][:200]
    incident.public_message = _in_every_language(PUBLIC_MESSAGE, values)
    incident.started_at = min(filter(None, [incident.started_at, started]))
    incident.updated_at = now
    incident.save(update_fields=["title", "public_message", "started_at", "updated_at"])
    incident.areas.set([area] if area is not None else [])
    incident.equipment.set([equipment] if equipment is not None else [])
    widened = {}
    for lang in LANGUAGE_CODES:
        with translation.override(lang):
            widened[lang] = _(WIDENED) % (values | {"summary": surge_summary(survivor)})
    IncidentUpdate.objects.create(incident=incident, public=False, message=widened, created_at=now)
    log.info("surge widened: %s now %s, %d merged into it", survivor.pk, key, len(others))
    return survivor


def _raise_numbers(proposal: SurgeProposal, cell: Cell, *, now: datetime) -> None:
    """The cell surges again with its proposal open: keep the larger numbers and the new tickets."""
    SurgeProposal.objects.filter(pk=proposal.pk, p_value__gt=cell.p_value).update(
        reports=cell.reports,
        window_minutes=cell.window_minutes,
        expected=cell.expected * cell.window_minutes / settings.SURGE_WINDOW_MINUTES,
        p_value=cell.p_value,
        grown_at=now,
    )
    SurgeTicket.objects.bulk_create(
        [SurgeTicket(proposal=proposal, ticket_id=t, added_at=now) for t in cell.ticket_ids],
        ignore_conflicts=True,
    )


# --- decisions -----------------------------------------------------------------------------------


def _locked_open(incident: Incident) -> SurgeProposal:
    proposal = SurgeProposal.objects.select_for_update().filter(incident_id=incident.pk).first()
    if proposal is None or proposal.state != SurgeProposal.State.OPEN:
        raise DomainError(_("This incident is not an open proposal."), field="status")
    return proposal


@transaction.atomic
def surge_confirm(
    *,
    incident: Incident,
    actor,
    title: str | None = None,
    severity: int | None = None,
    public_message: dict | str | None = None,
    agent_script: dict | str | None = None,
) -> services.DeclareResult:
    """Ops confirm a proposal: it is declared through ``incident_declare`` (source: surge), which
    links every open ticket its scope covers — the cluster's tickets among them — and alerts agents
    and customers as any declaration does. The cluster's open tickets that the scope does not reach (a
    ticket an agent added from outside the cell) are attached as well, so none of them is left out."""
    proposal = _locked_open(incident)
    incident.refresh_from_db()
    result = services.incident_declare(
        proposal=incident,
        title=title or incident.title,
        kind=incident.kind,
        severity=severity or incident.severity,
        services=[proposal.service],
        areas=[proposal.area] if proposal.area_id else [],
        equipment=[proposal.equipment] if proposal.equipment_id else [],
        public_message=public_message or incident.public_message,
        agent_script=agent_script,
        started_at=incident.started_at,
        source=Incident.Source.SURGE,
        description=surge_summary(proposal),
        actor=actor,
    )
    # The cluster's open tickets the scope did not reach (one an agent added from outside the cell):
    # attached too, as matching would, and announced (their assignees are alerted).
    linked = IncidentTicketLink.objects.filter(incident=result.incident).values("ticket_id")
    extra = list(
        Ticket.objects.filter(pk__in=proposal.cluster.values("ticket_id"), status__in=Ticket.OPEN_STATUSES)
        .exclude(pk__in=linked)
        .values_list("pk", flat=True)
    )
    if extra:
        IncidentTicketLink.objects.bulk_create(
            [
                IncidentTicketLink(
                    incident=result.incident,
                    ticket_id=ticket_id,
                    origin=IncidentTicketLink.Origin.AUTO,
                    reasons={"surge": proposal.cell},
                )
                for ticket_id in extra
            ],
            ignore_conflicts=True,
        )
        announce_linked(
            incident=result.incident, ticket_ids=extra, origin=IncidentTicketLink.Origin.AUTO, actor=actor
        )
        result = services.DeclareResult(
            incident=result.incident,
            linked_count=result.linked_count + len(extra),
            affected_subscriptions=result.affected_subscriptions,
        )
    proposal.state = SurgeProposal.State.CONFIRMED
    proposal.decided_at = timezone.now()
    proposal.decided_by = actor
    proposal.save(update_fields=["state", "decided_at", "decided_by"])
    return result


@transaction.atomic
def surge_dismiss(
    *, incident: Incident, actor, reason: str = "", now: datetime | None = None
) -> SurgeProposal:
    """Ops dismiss a proposal: the incident is withdrawn (kept for the record, with an internal
    update saying why), and its cell stays quiet for SURGE_QUIET_HOURS; its tickets stay counted
    there, so they cannot fire a wider cell either. Nobody is alerted."""
    proposal = _locked_open(incident)
    now = now or timezone.now()
    proposal.state = SurgeProposal.State.DISMISSED
    proposal.decided_at = now
    proposal.decided_by = actor
    proposal.quiet_until = now + timedelta(hours=settings.SURGE_QUIET_HOURS)
    proposal.save(update_fields=["state", "decided_at", "decided_by", "quiet_until"])
    reason = (reason or "").strip()[:300] or "-"
    IncidentUpdate.objects.create(
        incident=incident,
        public=False,
        message=_in_every_language(DISMISSED, {"reason": reason}),
        status=Incident.Status.WITHDRAWN,
        author=actor,
        created_at=now,
    )
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.WITHDRAWN, updated_at=now)
    incident.refresh_from_db()
    return proposal


def surge_link_ticket(*, incident: Incident, ticket: Ticket, actor) -> bool:
    """An agent says their ticket belongs to the proposal's cluster. Idempotent; returns whether it
    was added. Confirming the proposal attaches it with the rest."""
    proposal = SurgeProposal.objects.filter(incident_id=incident.pk, state=SurgeProposal.State.OPEN).first()
    if proposal is None:
        raise DomainError(_("This incident is not an open proposal."), field="incident")
    created = SurgeTicket.objects.bulk_create(
        [SurgeTicket(proposal=proposal, ticket=ticket)], ignore_conflicts=True
    )
    return bool(created and created[0].pk)


def surge_summary(proposal: SurgeProposal) -> str:
    """The trigger numbers in words: "14 reports in 15 min, usually 1"."""
    return _("%(reports)s reports in %(minutes)s min, usually %(usual)s") % {
        "reports": proposal.reports,
        "minutes": proposal.window_minutes,
        "usual": _usual(proposal.expected),
    }


def _usual(expected: float) -> str:
    return str(round(expected)) if expected >= 1 else _("under 1")


# --- what agents see -----------------------------------------------------------------------------


def open_proposals_for(ticket: Ticket) -> list[SurgeProposal]:
    """Open proposals whose cell holds ``ticket`` (its service, and its area's subtree or its
    equipment model), or that counted it: one query."""
    if ticket.service_id is None:
        return []
    cell = Q(area__path__in=ticket.area.ancestor_paths()) if ticket.area_id else Q(pk__in=[])
    if ticket.equipment_id:
        cell |= Q(equipment_id=ticket.equipment_id)
    cell |= Q(cluster__ticket_id=ticket.pk)
    return list(
        SurgeProposal.objects.filter(state=SurgeProposal.State.OPEN, service_id=ticket.service_id)
        .filter(cell)
        .select_related("incident", "area", "equipment")
        .distinct()
        .order_by("-reports")
    )
