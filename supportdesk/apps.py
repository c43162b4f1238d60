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
        from django.contrib.auth.signals import user_logged_in

        post_migrate.connect(grant_admin_every_permission, dispatch_uid="supportdesk.admin_permissions")
        user_logged_in.connect(remember_time_zone, dispatch_uid="supportdesk.time_zone")


def remember_time_zone(sender, request, user, **kwargs) -> None:
    """The user's chosen zone goes into the session once, at sign-in (core.times)."""
    from core.times import SESSION_TIME_ZONE_KEY
    from supportdesk.models import StaffPreference

    if request is None or not hasattr(request, "session"):
        return
    zone = StaffPreference.objects.filter(user=user).values_list("time_zone", flat=True).first()
    if zone:
        request.session[SESSION_TIME_ZONE_KEY] = zone
    else:
        request.session.pop(SESSION_TIME_ZONE_KEY, None)
