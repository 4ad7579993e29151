from django.contrib import admin

from payments.models import Payment, PaymentNotice


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
