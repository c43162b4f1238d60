from django.apps import AppConfig


class SupportdeskConfig(AppConfig):
    name = "supportdesk"
    verbose_name = "Supportdesk"
