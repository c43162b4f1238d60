"""Roles: who may use what.

A role is a Django group created by a migration (``supportdesk/migrations``). Every view declares
the roles it admits with ``@role_required(...)``; every API class with ``HasRole.of(...)``. A user
with several roles gets the union.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

CUSTOMER = "customer"
AGENT = "agent"
TECH = "tech"
OPS = "ops"
ADMIN = "admin"
ALL_ROLES = (CUSTOMER, AGENT, TECH, OPS, ADMIN)
STAFF_ROLES = (AGENT, TECH, OPS, ADMIN)

# Model permissions each role's group holds (for Django admin and has_perm checks); the
# migration that creates the groups grants them. Format: "app_label.codename".
ROLE_PERMISSIONS: dict[str, list[str]] = {
    CUSTOMER: [],
    AGENT: [
        "customers.view_customer",
        "customers.view_subscription",
        "customers.view_service",
        "customers.view_area",
        "customers.view_equipmentmodel",
        "tickets.view_ticket",
        "tickets.add_ticket",
        "tickets.change_ticket",
        "tickets.add_ticketevent",
        "incidents.view_incident",
        "incidents.view_incidentupdate",
        "incidents.view_incidentticketlink",
    ],
    TECH: [
        "incidents.add_incidentticketlink",
        "incidents.change_incidentticketlink",
    ],
    OPS: [
        "incidents.add_incident",
        "incidents.change_incident",
        "incidents.add_incidentupdate",
        "incidents.add_incidentticketlink",
        "incidents.change_incidentticketlink",
    ],
    ADMIN: ["*"],
}
# Techs and ops do what agents do, and more.
ROLE_PERMISSIONS[TECH] = ROLE_PERMISSIONS[AGENT] + ROLE_PERMISSIONS[TECH]
ROLE_PERMISSIONS[OPS] = ROLE_PERMISSIONS[AGENT] + ROLE_PERMISSIONS[OPS]


def roles_of(user) -> frozenset[str]:
    """The user's roles, read once per user object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_supportdesk_roles", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True)) & set(ALL_ROLES)
        if user.is_superuser:
            cached |= {ADMIN}
        user._supportdesk_roles = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_staff_member(user) -> bool:
    return has_role(user, *STAFF_ROLES)


def role_required(*roles: str) -> Callable:
    """Admit only users holding one of ``roles``: anonymous users go to login, others get 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = roles  # read by the test that every view declares its roles
        return wrapped

    return decorator


class HasRole(BasePermission):
    """DRF permission: the user holds one of the roles. ``permission_classes = [HasRole.of(AGENT)]``."""

    roles: Iterable[str] = ()

    @classmethod
    def of(cls, *roles: str) -> type[HasRole]:
        return type(f"HasRole_{'_'.join(roles)}", (cls,), {"roles": roles})

    def has_permission(self, request, view) -> bool:
        return has_role(request.user, *self.roles)


def role_context(request: HttpRequest) -> dict:
    """Template context: which role-specific navigation to show."""
    roles = roles_of(request.user)
    return {
        "user_roles": roles,
        "is_staff_member": bool(roles & set(STAFF_ROLES)),
    }
