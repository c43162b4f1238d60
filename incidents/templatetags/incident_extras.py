"""Parts of the ops incident pages that belong to monitoring and compensation, as inclusion tags:
the pages' views stay as they are, and each part reads what it shows itself (one or two queries)."""

from __future__ import annotations

from django import template

from incidents import compensation
from incidents.models import Incident, MonitoringAlertGroup

register = template.Library()


@register.inclusion_tag("incidents/_credits.html", takes_context=True)
def incident_credits(context, incident: Incident) -> dict:
    """A resolved outage's credits: how many and their total, and the billing export for ops."""
    shown = incident.kind == Incident.Kind.OUTAGE and incident.resolved_at is not None
    return {
        "incident": incident,
        "shown": shown,
        "summary": compensation.credits_summary(incident) if shown else None,
        "is_ops": context.get("is_ops", False),
    }


@register.inclusion_tag("incidents/_needs_scope.html", takes_context=True)
def incident_needs_scope(context, incident: Incident) -> dict:
    """For an incident monitoring could not place: why (the labels that map to nothing), and for
    ops the form that gives it a scope."""
    group = None
    if incident.needs_scope:
        group = MonitoringAlertGroup.objects.filter(incident=incident).order_by("-received_at").first()
    return {
        "incident": incident,
        "group": group,
        "is_ops": context.get("is_ops", False),
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }
