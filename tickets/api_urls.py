from __future__ import annotations

from django.urls import path

from tickets import apis

urlpatterns = [
    path("tickets/", apis.TicketListOpenApi.as_view(), name="api-tickets"),
    path("tickets/bulk/", apis.TicketBulkApi.as_view(), name="api-tickets-bulk"),
    path("tickets/<str:reference>/", apis.TicketDetailApi.as_view(), name="api-ticket"),
    path("tickets/<str:reference>/comments/", apis.TicketCommentApi.as_view(), name="api-ticket-comments"),
    path("tickets/<str:reference>/escalate/", apis.TicketEscalateApi.as_view(), name="api-ticket-escalate"),
    path("tickets/<str:reference>/merge/", apis.TicketMergeApi.as_view(), name="api-ticket-merge"),
]
