"""Monitoring API: Alertmanager's webhook (bearer token per receiver) and ops confirming a held scope.

The webhook authenticates a *receiver* (a monitoring system), not a person: its token is checked
by ``ReceiverTokenAuthentication`` and the view admits only requests carrying one
(``IsMonitoringReceiver``). A missing or wrong token gets 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from core.roles import ADMIN, OPS, HasRole
from customers.models import Area, EquipmentModel, Service
from incidents import monitoring
from incidents.apis import ScopeChangeOutputSerializer
from incidents.models import Incident, MonitoringReceiver


class ReceiverTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` of an active ``MonitoringReceiver``."""

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None  # the permission then answers 401 "not authenticated"
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Give the token as: Authorization: Bearer <token>."))
        try:
            token = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Unknown or inactive monitoring token.")) from None
        receiver = monitoring.receiver_for_token(token)
        if receiver is None:
            raise exceptions.AuthenticationFailed(_("Unknown or inactive monitoring token."))
        return (AnonymousUser(), receiver)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="monitoring"'


class ReceiverTokenScheme(OpenApiAuthenticationExtension):
    target_class = ReceiverTokenAuthentication
    name = "monitoringReceiverToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "A monitoring receiver's token (admin)."}


class IsMonitoringReceiver(BasePermission):
    """Admits requests authenticated by a receiver token (see ``tests/test_roles.py``)."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.auth, MonitoringReceiver)


# --- the webhook -------------------------------------------------------------------------------------


# "status" as a plain string: a ChoiceField would add one more enum named "status" to the schema.
FIRING_OR_RESOLVED = "firing or resolved"


class _AlertSchema(serializers.Serializer):
    status = serializers.CharField(help_text=FIRING_OR_RESOLVED)
    labels = serializers.DictField(child=serializers.CharField())
    annotations = serializers.DictField(child=serializers.CharField(), required=False)
    startsAt = serializers.DateTimeField()  # noqa: N815 - Alertmanager's names
    endsAt = serializers.DateTimeField(required=False)  # noqa: N815
    generatorURL = serializers.CharField(required=False)  # noqa: N815
    fingerprint = serializers.CharField(required=False)


class AlertmanagerPayloadSchema(serializers.Serializer):
    """Alertmanager's webhook payload, version 4 (documentation only; ``monitoring.parse_notification``
    checks it and names the field at fault)."""

    version = serializers.ChoiceField(["4"])
    groupKey = serializers.CharField()  # noqa: N815
    truncatedAlerts = serializers.IntegerField(required=False, min_value=0)  # noqa: N815
    status = serializers.CharField(help_text=FIRING_OR_RESOLVED)
    receiver = serializers.CharField(required=False)
    groupLabels = serializers.DictField(child=serializers.CharField(), required=False)  # noqa: N815
    commonLabels = serializers.DictField(child=serializers.CharField(), required=False)  # noqa: N815
    commonAnnotations = serializers.DictField(child=serializers.CharField(), required=False)  # noqa: N815
    externalURL = serializers.CharField(required=False)  # noqa: N815
    alerts = _AlertSchema(many=True)


class AlertmanagerResultSerializer(serializers.Serializer):
    incident = serializers.IntegerField(allow_null=True)
    action = serializers.ChoiceField(["declared", "updated", "resolved", "monitoring", "unchanged"])
    needs_scope = serializers.BooleanField()


class AlertmanagerHookApi(APIView):
    """Prometheus Alertmanager's ``webhook_config`` posts here (``http_config.authorization`` holds
    the receiver's token). Firing groups declare or update an incident, resolved ones resolve it."""

    authentication_classes = [ReceiverTokenAuthentication]
    permission_classes = [IsMonitoringReceiver]

    @extend_schema(request=AlertmanagerPayloadSchema, responses=AlertmanagerResultSerializer)
    def post(self, request):
        notification = monitoring.parse_notification(request.data)
        result = monitoring.alertmanager_notify(receiver=request.auth, notification=notification)
        incident = result.incident
        return Response(
            {
                "incident": incident.pk if incident else None,
                "action": result.action,
                "needs_scope": bool(incident and incident.needs_scope),
            }
        )


# --- ops confirm a held scope --------------------------------------------------------------------------


def _codes(model) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="code", queryset=model.objects.all(), many=True, required=False, default=list
    )


class ConfirmScopeInputSerializer(serializers.Serializer):
    services = _codes(Service)
    areas = _codes(Area)
    equipment = _codes(EquipmentModel)
    affects_everyone = serializers.BooleanField(
        default=False, help_text="Required to confirm an empty scope: it covers every customer."
    )


class IncidentConfirmScopeApi(APIView):
    """Ops give an incident that monitoring could not place its scope; matching starts."""

    permission_classes = [HasRole.of(OPS, ADMIN)]

    @extend_schema(request=ConfirmScopeInputSerializer, responses=ScopeChangeOutputSerializer)
    def post(self, request, pk: int):
        incident = get_object_or_404(Incident, pk=pk)
        body = ConfirmScopeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        result = monitoring.incident_confirm_scope(
            incident=incident,
            actor=request.user,
            services_=data["services"],
            areas=data["areas"],
            equipment=data["equipment"],
            affects_everyone=data["affects_everyone"],
        )
        incident = Incident.objects.prefetch_related("services", "areas", "equipment").get(pk=pk)
        incident.linked_tickets = result.linked_count
        incident.detached_tickets = result.detached_count
        return Response(ScopeChangeOutputSerializer(incident).data)
