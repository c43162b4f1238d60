"""Incidents API routes, included at /api/v1/ by supportdesk/api_urls.py."""

from __future__ import annotations

from django.urls import path

from incidents import apis, compensation_apis, monitoring_apis

urlpatterns = [
    path("incidents/", apis.IncidentCollectionApi.as_view(), name="api-incidents"),
    path("incidents/preview/", apis.IncidentPreviewApi.as_view(), name="api-incident-preview"),
    path("incidents/<int:pk>/", apis.IncidentDetailApi.as_view(), name="api-incident"),
    path("incidents/<int:pk>/scope/", apis.IncidentScopeApi.as_view(), name="api-incident-scope"),
    path("incidents/<int:pk>/updates/", apis.IncidentPostUpdateApi.as_view(), name="api-incident-updates"),
    path("incidents/<int:pk>/resolve/", apis.IncidentResolveApi.as_view(), name="api-incident-resolve"),
    path("incidents/<int:pk>/withdraw/", apis.IncidentWithdrawApi.as_view(), name="api-incident-withdraw"),
    path("incidents/<int:pk>/reopen/", apis.IncidentReopenApi.as_view(), name="api-incident-reopen"),
    path(
        "incidents/<int:pk>/confirm/", apis.IncidentConfirmProposalApi.as_view(), name="api-incident-confirm"
    ),
    path(
        "incidents/<int:pk>/dismiss/", apis.IncidentDismissProposalApi.as_view(), name="api-incident-dismiss"
    ),
    path("incidents/<int:pk>/tickets/", apis.IncidentTicketsApi.as_view(), name="api-incident-tickets"),
    path(
        "incidents/<int:pk>/tickets/<str:reference>/",
        apis.IncidentTicketDetachApi.as_view(),
        name="api-incident-ticket",
    ),
    path(
        "incidents/<int:pk>/scope/confirm/",
        monitoring_apis.IncidentConfirmScopeApi.as_view(),
        name="api-incident-scope-confirm",
    ),
    path(
        "incidents/<int:pk>/credits/",
        compensation_apis.IncidentCreditsApi.as_view(),
        name="api-incident-credits",
    ),
    path(
        "incidents/<int:pk>/credits.csv",
        compensation_apis.IncidentCreditsCsvApi.as_view(),
        name="api-incident-credits-csv",
    ),
    path("hooks/alertmanager/", monitoring_apis.AlertmanagerHookApi.as_view(), name="api-hook-alertmanager"),
    path("status/", apis.StatusApi.as_view(), name="api-status"),
    path("lookup/", apis.LookupApi.as_view(), name="api-lookup"),
]
