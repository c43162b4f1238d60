from __future__ import annotations

from django.urls import path

from customers import views

app_name = "customers"
urlpatterns = [
    path("accounts/email-link/", views.sign_in_link, name="sign_in_link"),
    path("accounts/email-link/sent/", views.sign_in_link_sent, name="sign_in_link_sent"),
    path("accounts/email-link/<str:token>/", views.sign_in_by_link, name="sign_in_by_link"),
    path("coverage/", views.coverage, name="coverage"),
]
