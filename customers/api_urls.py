from __future__ import annotations

from django.urls import path

from customers import apis

urlpatterns = [
    path("services/", apis.ServiceListApi.as_view(), name="api-services"),
    path("areas/", apis.AreaListApi.as_view(), name="api-areas"),
    path("equipment/", apis.EquipmentListApi.as_view(), name="api-equipment"),
    path("customers/", apis.CustomerListApi.as_view(), name="api-customers"),
    path("coverage/", apis.CoverageApi.as_view(), name="api-coverage"),
]
