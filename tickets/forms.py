from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Service, Subscription
from tickets import attachments
from tickets.models import Ticket


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one input (Django's documented pattern), each checked by its bytes against
    the attachment limits; cleans to a list of ``attachments.Upload``."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Attachments"))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        uploads, errors = attachments.read_uploads(files)
        if errors:
            raise forms.ValidationError(errors)
        return uploads


class SubscriptionChoiceField(forms.ModelChoiceField):
    """A customer's subscriptions by what they know them as, in their language: the service, where,
    and the box it runs on (which box it is tells a known defect apart)."""

    def label_from_instance(self, obj) -> str:
        label = str(obj)
        return f"{label} · {obj.equipment.name_in()}" if obj.equipment_id else label


class CustomerTicketForm(forms.Form):
    """What a customer writes to us. Text is stored as typed and escaped when shown."""

    subscription = SubscriptionChoiceField(
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
    attachments = AttachmentsField(help_text=_("Screenshots, photos or documents (PDF, images, text)."))

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        # Equipment too: opening the ticket reads it from the chosen subscription (no query then).
        self.fields["subscription"].queryset = customer.subscriptions.filter(active=True).select_related(
            "service", "area", "equipment"
        )


class StaffTicketForm(forms.Form):
    """An agent opening a ticket for a caller found by the look-up."""

    subscription = SubscriptionChoiceField(
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
        # Equipment too: opening the ticket reads it from the chosen subscription (no query then).
        self.fields["subscription"].queryset = customer.subscriptions.filter(active=True).select_related(
            "service", "area", "equipment"
        )


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=20000, label=_("Message"))
    # Internal by default: the page sends ``public`` only from its own "Send to the customer" button.
    public = forms.BooleanField(required=False, initial=False, label=_("Send to the customer"))
    # With a reply the customer sees them on their ticket page; with a note, staff only.
    attachments = AttachmentsField()


class CustomerReplyForm(forms.Form):
    """The customer's reply on their ticket page, with files if they have some."""

    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=20000, label=_("Message"))
    attachments = AttachmentsField()


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


class ServiceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.name_in()


class ContactForm(forms.Form):
    """The signed-out contact form (``tickets.contact``). ``website`` is a honeypot: hidden from people
    and screen readers, filled in by form-filling robots."""

    email = forms.EmailField(
        max_length=254,
        label=_("Your e-mail address"),
        help_text=_("The one we have on file for you: we send a link there to confirm it is you."),
    )
    number_or_phone = forms.CharField(
        max_length=40, label=_("Your customer number or phone number"), help_text=_("It is on your invoice.")
    )
    service = ServiceChoiceField(
        queryset=Service.objects.order_by("name"),
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
    website = forms.CharField(required=False, max_length=200, label="Website")
