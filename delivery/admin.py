"""Admin for shipments: read-only, personal data masked. Shipments are booked, tracked and
signed for through `delivery.services`, never edited here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from delivery.models import Shipment, ShipmentEvent


class ShipmentEventInline(admin.TabularInline):
    model = ShipmentEvent
    fields = readonly_fields = ("at", "status", "location", "description", "source")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Shipment)
class ShipmentAdmin(ReadOnlyAdmin):
    list_display = (
        "tracking_number",
        "carrier",
        "case_number",
        "purpose",
        "status",
        "recipient",
        "recipient_mobile_shown",
        "booked_at",
        "delivered_at",
    )
    fields = readonly_fields = (
        "public_id",
        "case_number",
        "purpose",
        "carrier",
        "tracking_number",
        "status",
        "contents",
        "fee",
        "sender",
        "sender_mobile_shown",
        "sender_address_shown",
        "sender_org_uscc",
        "recipient",
        "recipient_mobile_shown",
        "recipient_address_shown",
        "recipient_org_uscc",
        "booked_at",
        "delivered_at",
        "signed_by_shown",
        "created_at",
    )
    list_filter = ("status", "purpose", "carrier")
    search_fields = ("=case_number", "=tracking_number")
    search_help_text = "按办件编号或运单号查找"
    date_hierarchy = "created_at"
    inlines = (ShipmentEventInline,)

    @admin.display(description="寄件人")
    def sender(self, obj: Shipment) -> str:
        return obj.sender_name_masked

    @admin.display(description="寄件人手机号码")
    def sender_mobile_shown(self, obj: Shipment) -> str:
        return obj.sender_mobile_masked

    @admin.display(description="寄件地址")
    def sender_address_shown(self, obj: Shipment) -> str:
        return obj.sender_address_masked

    @admin.display(description="收件人")
    def recipient(self, obj: Shipment) -> str:
        return obj.recipient_name_masked

    @admin.display(description="收件人手机号码")
    def recipient_mobile_shown(self, obj: Shipment) -> str:
        return obj.recipient_mobile_masked

    @admin.display(description="收件地址")
    def recipient_address_shown(self, obj: Shipment) -> str:
        return obj.recipient_address_masked

    @admin.display(description="签收人")
    def signed_by_shown(self, obj: Shipment) -> str:
        return obj.signed_by_masked or "—"
