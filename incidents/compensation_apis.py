"""Compensation API: an incident's credits as a list (paged by cursor) and as a streamed CSV for billing.

Ops and admins only: amounts per customer are billing data, not what an agent needs on a call
(the customer's own credit reaches them in the resolve message, ``compensation.credit_for``).
"""

from __future__ import annotations

import json

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import renderers, serializers
from rest_framework.views import APIView

from core.pagination import keyset, paginate
from core.roles import ADMIN, OPS, HasRole
from incidents import compensation
from incidents.models import Credit, Incident

BILLING_ROLES = (OPS, ADMIN)


class CreditOutputSerializer(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.number")
    customer_name = serializers.CharField(source="customer.name")
    service = serializers.CharField(source="subscription.service.code")
    plan = serializers.CharField(source="subscription.plan")
    area = serializers.CharField(source="subscription.area.code")
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=True)

    class Meta:
        model = Credit
        fields = [
            "id",
            "customer",
            "customer_name",
            "subscription",
            "service",
            "plan",
            "area",
            "outage_minutes",
            "days",
            "amount",
            "currency",
            "created_at",
        ]


class IncidentCreditsApi(APIView):
    """The credits an outage gave, one per affected subscription (computed when it was resolved)."""

    permission_classes = [HasRole.of(*BILLING_ROLES)]
    # By subscription, along the unique (incident, subscription) index: 100,000 credits of one
    # outage page as fast as ten, with no index of their own.
    pagination_class = keyset("subscription_id", estimate_total=True)

    @extend_schema(responses=CreditOutputSerializer(many=True))
    def get(self, request, pk: int):
        incident = get_object_or_404(Incident, pk=pk)
        credits = compensation.credits_of(incident)
        return paginate(self, credits, lambda rows: CreditOutputSerializer(rows, many=True).data)


class CSVRenderer(renderers.BaseRenderer):
    """Lets ``Accept: text/csv`` through content negotiation; the CSV itself is streamed by the view.
    Errors (401/403/404) negotiated to it are written as JSON text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return b"" if data is None else json.dumps(data).encode()


class IncidentCreditsCsvApi(APIView):
    """The credits as CSV for billing, streamed (rows read in chunks, memory flat)."""

    permission_classes = [HasRole.of(*BILLING_ROLES)]
    renderer_classes = [renderers.JSONRenderer, CSVRenderer]

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)})
    def get(self, request, pk: int):
        incident = get_object_or_404(Incident, pk=pk)
        response = StreamingHttpResponse(compensation.credits_csv_rows(incident), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="incident-{incident.pk}-credits.csv"'
        return response
