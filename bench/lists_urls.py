"""The desk's URLs plus ``/bench/offset/tickets/``: the ticket API list as it was paged before
cursors (DRF's ``LimitOffsetPagination``: a COUNT(*) of the filtered table and an OFFSET scan), with
the same filters, serializer and order, as the same-run baseline of bench/bench_lists_http.py."""

from django.urls import path
from rest_framework.pagination import LimitOffsetPagination

from supportdesk.urls import handler400, handler404, handler500, urlpatterns  # noqa: F401
from tickets.apis import TicketListOpenApi


class OffsetCountPagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 200


class OffsetTicketListApi(TicketListOpenApi):
    pagination_class = OffsetCountPagination

    def get_queryset(self):
        return super().get_queryset().order_by("-pk")


urlpatterns = [*urlpatterns, path("bench/offset/tickets/", OffsetTicketListApi.as_view())]
