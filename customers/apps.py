from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers and installed base")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(remember_customer_language, dispatch_uid="customers.language")


def remember_customer_language(sender, request, user, **kwargs) -> None:
    """A customer's pages speak the language on their profile (supportdesk.middleware)."""
    from core.languages import SESSION_LANGUAGE_KEY
    from customers.models import Customer

    language = Customer.objects.filter(user=user).values_list("language", flat=True).first()
    if language and request is not None and hasattr(request, "session"):
        request.session[SESSION_LANGUAGE_KEY] = language
