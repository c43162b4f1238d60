from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Subscription
from tickets.models import Ticket


class CustomerTicketForm(forms.Form):
    """What a customer writes to us. Text is stored as typed and escaped when shown."""

    subscription = forms.ModelChoiceField(
        queryset=Subscription.objects.none(),
        required=False,
        label=_("Which service is it about?"),
        empty_label=_("Not sure / something else"),
    )
    category = forms.ChoiceField(
        choices=Ticket.Category.choices, initial=Ticket.Category.TECHNICAL, label=_("Topic")
    )
    subject = forms.CharField(max_length=200, label=_("Subject"))
    description = forms.CharField(
        widget=forms.Textarea,
        max_length=20000,
        label=_("What happened?"),
        help_text=_("Tell us what you see and since when — the more we know, the faster we can help."),
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscription"].queryset = customer.subscriptions.filter(active=True).select_related(
            "service", "area"
        )


class StaffTicketForm(forms.Form):
    """An agent opening a ticket for a caller found by the look-up."""

    subscription = forms.ModelChoiceField(
        queryset=Subscription.objects.none(), required=False, label=_("Subscription")
    )
    category = forms.ChoiceField(choices=Ticket.Category.choices, label=_("Category"))
    channel = forms.ChoiceField(
        choices=[
            (Ticket.Channel.PHONE, _("Phone")),
            (Ticket.Channel.CHAT, _("Chat")),
            (Ticket.Channel.EMAIL, _("E-mail")),
        ],
        label=_("Channel"),
    )
    priority = forms.TypedChoiceField(
        choices=Ticket.Priority.choices, coerce=int, initial=Ticket.Priority.NORMAL, label=_("Priority")
    )
    subject = forms.CharField(max_length=200, label=_("Subject"))
    description = forms.CharField(widget=forms.Textarea, max_length=20000, label=_("Description"))
    # Callers on the phone already know they were heard; a confirmation only when they ask for one.
    notify_customer = forms.BooleanField(
        required=False, initial=False, label=_("E-mail the customer a confirmation with the reference")
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["subscription"].queryset = customer.subscriptions.filter(active=True).select_related(
            "service", "area"
        )


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=20000, label=_("Message"))
    # Internal by default: the page sends ``public`` only from its own "Send to the customer" button.
    public = forms.BooleanField(required=False, initial=False, label=_("Send to the customer"))


class EscalateForm(forms.Form):
    summary = forms.CharField(max_length=500, label=_("What is wrong"))
    tried = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label=_("What was already tried")
    )
    customer_impact = forms.CharField(
        required=False, max_length=500, label=_("What the customer cannot do (and when they are reachable)")
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Ticket.Status.choices)
