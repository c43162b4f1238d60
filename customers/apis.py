"""The catalogue and directory, for pickers and integrations. Natural keys (``code``) throughout."""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import DomainError, NotFound
from core.pagination import keyset
from core.roles import ADMIN, AGENT, OPS, STAFF_ROLES, TECH, HasRole
from customers.models import Area, Customer, EquipmentModel, Service
from customers.phones import phone_candidates
from customers.selectors import find_place, services_at


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["code", "name", "description"]


class AreaSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)
    services = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)

    class Meta:
        model = Area
        fields = ["code", "name", "kind", "parent", "path", "services"]


class EquipmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = EquipmentModel
        fields = ["code", "vendor", "model", "firmware"]


class CustomerSerializer(serializers.ModelSerializer):
    phones = serializers.SlugRelatedField(slug_field="number", many=True, read_only=True)

    class Meta:
        model = Customer
        fields = ["number", "name", "email", "phones", "language", "preferred_channel"]


class ServiceListApi(generics.ListAPIView):
    """Staff: every service we sell."""

    permission_classes = [HasRole.of(*STAFF_ROLES)]
    serializer_class = ServiceSerializer
    pagination_class = keyset("code")  # unique; the catalogue is small
    queryset = Service.objects.all()


class AreaListApi(generics.ListAPIView):
    """Staff: areas, ``?q=`` matching code or name, ``?under=<code>`` for a subtree."""

    permission_classes = [HasRole.of(*STAFF_ROLES)]
    serializer_class = AreaSerializer
    pagination_class = keyset("path")  # the tree in order, along the unique path index

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="The start of a code, or part of a name."),
            OpenApiParameter("under", str, description="An area code: that area and everything under it."),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = Area.objects.select_related("parent").prefetch_related("services")
        q = self.request.query_params.get("q", "").strip()
        if q:
            qs = qs.filter(Q(code__istartswith=q) | Q(name__icontains=q))
        under = self.request.query_params.get("under", "").strip()
        if under:
            root = Area.objects.filter(code=under).first()
            qs = qs.filter(path__startswith=root.path) if root else qs.none()
        return qs


class EquipmentListApi(generics.ListAPIView):
    """Staff: customer-premises equipment models."""

    permission_classes = [HasRole.of(*STAFF_ROLES)]
    serializer_class = EquipmentSerializer
    pagination_class = keyset("code")  # unique; the catalogue is small
    queryset = EquipmentModel.objects.all()


class CustomerListApi(generics.ListAPIView):
    """Agents, techs, ops: customers by ``?q=`` (number, name, e-mail or phone)."""

    permission_classes = [HasRole.of(AGENT, TECH, OPS, ADMIN)]
    serializer_class = CustomerSerializer
    pagination_class = keyset("number")  # unique, indexed: the directory in customer-number order

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="A customer number, name, e-mail or phone.")]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = Customer.objects.prefetch_related("phones")
        q = self.request.query_params.get("q", "").strip()
        if q:
            qs = qs.filter(
                Q(number=q)
                | Q(name__icontains=q)
                | Q(email__iexact=q)
                | Q(phones__number__in=phone_candidates(q))
            ).distinct()
        return qs


class CoverageServiceSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="name_in", help_text="In the language asked for (Accept-Language).")


class CoverageAreaSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField(source="name_in")
    kind = serializers.CharField()


class CoverageOutputSerializer(serializers.Serializer):
    area = CoverageAreaSerializer()
    services = CoverageServiceSerializer(many=True, help_text="Available at this postcode.")
    not_available = serializers.ListField(child=serializers.CharField(), help_text="Codes of the others.")


class CoverageApi(APIView):
    """Public: which of our services can be delivered at a postcode (story 5 of DESIGN.md)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "postcode", str, required=True, description="A postcode: 11122, 111 22, 00100 or FI-00100."
            )
        ],
        responses=CoverageOutputSerializer,
    )
    def get(self, request):
        postcode = request.query_params.get("postcode", "").strip()
        if not postcode:
            raise DomainError(_("Give a postcode."), field="postcode")
        area = find_place(postcode)
        if area is None or area.kind not in (Area.Kind.POSTCODE, Area.Kind.EXCHANGE):
            raise NotFound(_("We do not know that postcode."), field="postcode")
        services = list(services_at(area))
        available = {s.code for s in services}
        others = Service.objects.exclude(code__in=available).order_by("code").values_list("code", flat=True)
        data = {"area": area, "services": services, "not_available": list(others)}
        return Response(CoverageOutputSerializer(data).data)
