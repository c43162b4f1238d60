"""Canned replies: a ``Macro``'s text in the customer's language with its ``{placeholders}`` filled.

Placeholders are ``{name}``: the ones here, and any a higher app registered in
``extensions.macro_placeholders`` (incidents adds ``{incident_eta}``). An unknown name is left as
written, so a typo shows in the reply box instead of vanishing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from core.i18n import text_in
from tickets.extensions import extensions
from tickets.models import Macro, Ticket

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _agent_name(ticket: Ticket, language: str, agent=None) -> str:
    return (agent.get_full_name() or agent.get_username()) if agent is not None else ""


# name -> (value for a ticket, help text)
BUILT_IN: dict[str, tuple[Callable, object]] = {
    "customer_name": (lambda ticket, language: ticket.customer.name, _("the customer's name")),
    "reference": (lambda ticket, language: ticket.reference, _("the ticket's reference, e.g. SD-123")),
    "subject": (lambda ticket, language: ticket.subject, _("the ticket's subject")),
}


def placeholders() -> dict[str, object]:
    """Every placeholder's name and help text, for the admin's form."""
    names = {name: help for name, (_value, help) in BUILT_IN.items()}
    names["agent_name"] = _("your name")
    names.update({name: help for name, (_value, help) in extensions.macro_placeholders.items()})
    return names


def unknown_placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text)) - set(placeholders())


def render(macro: Macro, ticket: Ticket, *, agent=None) -> str:
    """The macro for this ticket, in its customer's language (else English, else any)."""
    registered = {name: value for name, (value, _help) in extensions.macro_placeholders.items()}
    return _fill(macro, ticket, agent=agent, registered=registered)


def render_many(macro: Macro, tickets: list[Ticket], *, agent=None) -> dict[int, str]:
    """``render`` for many tickets (a bulk reply): ticket id -> text, each in its customer's language.

    The tickets come with their customer (``select_related``). A registered placeholder the macro
    uses is read for all of them at once through its loader (``extensions.macro_placeholder_loaders``),
    so the cost is one query per such placeholder, whatever the number of tickets."""
    used = {name for text in macro.texts.values() for name in PLACEHOLDER.findall(text or "")}
    registered = {name: value for name, (value, _help) in extensions.macro_placeholders.items()}
    for name in used & set(extensions.macro_placeholder_loaders):
        registered[name] = extensions.macro_placeholder_loaders[name](tickets)
    return {ticket.pk: _fill(macro, ticket, agent=agent, registered=registered) for ticket in tickets}


def _fill(macro: Macro, ticket: Ticket, *, agent, registered: dict[str, Callable]) -> str:
    language = ticket.customer.language
    values: dict[str, Callable[[], str]] = {
        name: (lambda value=value: value(ticket, language)) for name, (value, _help) in BUILT_IN.items()
    }
    values["agent_name"] = lambda: _agent_name(ticket, language, agent)
    values.update({name: (lambda value=value: value(ticket, language)) for name, value in registered.items()})
    with translation.override(language):
        # Only the placeholders the text uses are computed (the ETA costs a query without a loader).
        return PLACEHOLDER.sub(
            lambda m: values[m[1]]() if m[1] in values else m[0], text_in(macro.texts, language)
        )
