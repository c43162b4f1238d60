from __future__ import annotations

from django.contrib import admin

from customers.models import Area, Customer, CustomerPhone, EquipmentModel, Service, Subscription


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "kind", "path"]
    list_filter = ["kind", "depth"]
    search_fields = ["code", "name", "path"]
    autocomplete_fields = ["parent"]
    filter_horizontal = ["services"]
    readonly_fields = ["path", "depth"]

    def get_readonly_fields(self, request, obj=None):
        # The path is derived from the parent once; moving a subtree is not an admin edit.
        return [*self.readonly_fields, "parent", "code"] if obj else self.readonly_fields


@admin.register(EquipmentModel)
class EquipmentModelAdmin(admin.ModelAdmin):
    list_display = ["code", "vendor", "model", "firmware"]
    list_filter = ["vendor"]
    search_fields = ["code", "vendor", "model"]


class CustomerPhoneInline(admin.TabularInline):
    model = CustomerPhone
    extra = 0


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    autocomplete_fields = ["service", "area", "equipment"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["number", "name", "email", "language", "preferred_channel"]
    list_filter = ["language", "preferred_channel"]
    search_fields = ["=number", "name", "email", "phones__number"]
    autocomplete_fields = ["user"]
    inlines = [CustomerPhoneInline, SubscriptionInline]
    show_full_result_count = False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["customer", "service", "area", "equipment", "plan", "active"]
    list_filter = ["plan", "active", "service"]
    search_fields = ["=customer__number", "customer__name", "address"]
    autocomplete_fields = ["customer", "service", "area", "equipment"]
    list_select_related = ["customer", "service", "area", "equipment"]
    show_full_result_count = False
