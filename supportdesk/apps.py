from django.apps import AppConfig
from django.db.models.signals import post_migrate


def grant_admin_every_permission(sender, using="default", **kwargs) -> None:
    """The admin role may do everything in the admin, models added after its group was made included
    (supportdesk/migrations/0001_roles.py granted what existed then). Runs after every migrate, once
    per app, after that app's permissions were created; adding what the group has is a no-op."""
    from django.contrib.auth.models import Group, Permission

    from core.roles import ADMIN

    group = Group.objects.using(using).filter(name=ADMIN).first()
    if group is not None:
        group.permissions.add(*Permission.objects.using(using).exclude(group=group))


class SupportdeskConfig(AppConfig):
    name = "supportdesk"
    verbose_name = "Supportdesk"

    def ready(self) -> None:
        post_migrate.connect(grant_admin_every_permission, dispatch_uid="supportdesk.admin_permissions")
