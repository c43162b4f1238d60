from __future__ import annotations

from django.urls import path

from tickets import views

app_name = "tickets"
urlpatterns = [
    path("desk/queue/", views.queue, name="queue"),
    path("desk/queue/bulk/", views.queue_bulk, name="queue_bulk"),
    path("desk/queue/views/", views.queue_view_save, name="queue_view_save"),
    path("desk/queue/views/<int:pk>/delete/", views.queue_view_delete, name="queue_view_delete"),
    path("desk/escalations/", views.escalations, name="escalations"),
    path("desk/lookup/", views.lookup, name="lookup"),
    path("desk/search/", views.search, name="search"),
    path("desk/customers/<str:number>/tickets/", views.staff_open_ticket, name="staff_open"),
    path("desk/tickets/<str:reference>/", views.ticket_detail, name="detail"),
    path("desk/tickets/<str:reference>/comment/", views.ticket_comment, name="comment"),
    path("desk/tickets/<str:reference>/status/", views.ticket_set_status, name="set_status"),
    path("desk/tickets/<str:reference>/claim/", views.ticket_claim, name="claim"),
    path("desk/tickets/<str:reference>/merge/", views.ticket_merge, name="merge"),
    path("desk/tickets/<str:reference>/macro/", views.ticket_macro, name="macro"),
    path("desk/tickets/<str:reference>/keep-open/", views.ticket_keep_open, name="keep_open"),
    path("desk/tickets/<str:reference>/escalate/", views.ticket_escalate, name="escalate"),
    path("desk/tickets/<str:reference>/attach/", views.ticket_attach_customer, name="attach_customer"),
    path("desk/mail/quarantine/", views.mail_quarantine, name="mail_quarantine"),
    path("desk/mail/quarantine/<int:pk>/reimport/", views.mail_reimport, name="mail_reimport"),
    path("desk/mail/quarantine/<int:pk>/open/", views.mail_open_as_ticket, name="mail_open_as_ticket"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("attachments/<int:pk>/preview/", views.attachment_preview, name="attachment_preview"),
    path("contact/", views.contact, name="contact"),
    path("contact/sent/", views.contact_sent, name="contact_sent"),
    path("contact/confirm/<str:token>/", views.contact_confirm, name="contact_confirm"),
    path("my/tickets/", views.my_tickets, name="my_tickets"),
    path("my/tickets/new/", views.new_ticket, name="new_ticket"),
    path("my/tickets/new/known/", views.new_ticket_known, name="new_ticket_known"),
    path("my/tickets/<str:reference>/", views.my_ticket, name="my_ticket"),
    path("my/tickets/<str:reference>/reply/", views.my_ticket_reply, name="my_ticket_reply"),
    path("my/tickets/<str:reference>/close/", views.my_ticket_close, name="my_ticket_close"),
]
