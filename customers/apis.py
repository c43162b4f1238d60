"""The catalogue and directory, for pickers and integrations. Natural keys (``code``) throughout."""

from __future__ import annotations

from django.db.models import Q
from rest_framework import generics, serializers

from core.roles import ADMIN, AGENT, OPS, STAFF_ROLES, TECH, HasRole
from customers.models import Area, Customer, EquipmentModel, Service
from customers.phones import phone_candidates


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
    queryset = Service.objects.all()


class AreaListApi(generics.ListAPIView):
    """Staff: areas, ``?q=`` matching code or name, ``?under=<code>`` for a subtree."""

    permission_classes = [HasRole.of(*STAFF_ROLES)]
    serializer_class = AreaSerializer

    def get_queryset(self):
        qs = Area.objects.select_related("parent").prefetch_related("services").order_by("path")
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
    queryset = EquipmentModel.objects.all()


class CustomerListApi(generics.ListAPIView):
    """Agents, techs, ops: customers by ``?q=`` (number, name, e-mail or phone)."""

    permission_classes = [HasRole.of(AGENT, TECH, OPS, ADMIN)]
    serializer_class = CustomerSerializer

    def get_queryset(self):
        qs = Customer.objects.prefetch_related("phones").order_by("number")
        q = self.request.query_params.get("q", "").strip()
        if q:
            qs = qs.filter(
                Q(number=q)
                | Q(name__icontains=q)
                | Q(email__iexact=q)
                | Q(phones__number__in=phone_candidates(q))
            ).distinct()
        return qs
