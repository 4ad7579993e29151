from django.contrib import admin

from core.admin import ReadOnlyAdmin
from payments.models import (
    Discrepancy,
    LocalTrade,
    Payment,
    PaymentNotice,
    Reconciliation,
    Refund,
)


class PaymentNoticeInline(admin.TabularInline):
    model = PaymentNotice
    extra = 0
    can_delete = False
    readonly_fields = ("notice_id", "gateway", "body", "signature", "received_at")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Read-only: payments change only through payments.services (the gateway's notices,
    the window's records, refunds)."""

    list_display = ("order_number", "case_number", "amount", "status", "method", "paid_at")
    list_filter = ("status", "method", "gateway")
    search_fields = ("order_number", "case_number", "trade_number")
    list_select_related = ("payee",)
    inlines = [PaymentNoticeInline]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        return [f.name for f in Payment._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("request_number", "amount", "cause", "status", "attempts", "next_attempt_at")
    list_filter = ("status", "cause", "gateway")
    search_fields = ("request_number", "trade_number", "refund_number", "payment__order_number")
    list_select_related = ("payment",)


class DiscrepancyInline(admin.TabularInline):
    model = Discrepancy
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "order_number", "trade_number", "amount", "refund", "found_at")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    list_display = ("day", "gateway", "entries", "matched", "discrepancies", "run_at")
    list_filter = ("gateway",)
    inlines = [DiscrepancyInline]


@admin.register(Discrepancy)
class DiscrepancyAdmin(ReadOnlyAdmin):
    list_display = ("kind", "order_number", "trade_number", "amount", "found_at")
    list_filter = ("kind",)
    search_fields = ("order_number", "trade_number")


@admin.register(LocalTrade)
class LocalTradeAdmin(ReadOnlyAdmin):
    list_display = ("kind", "order_number", "trade_number", "amount", "at")
    list_filter = ("kind",)
