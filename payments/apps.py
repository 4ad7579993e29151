from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """Floor 2: payments (支付) of fees and postage, through a payment gateway adapter (the
    province's 统一公共支付平台, or the local one), with signed payment notices, payments
    recorded at the window (cash, POS) and refunds."""

    name = "payments"
    verbose_name = "支付"

    def ready(self) -> None:
        from django.conf import settings

        from core import scheduler
        from payments import services

        scheduler.register_periodic(
            "payments.retry_refunds",
            settings.PAYMENTS_REFUND_RETRY_SECONDS,
            services.retry_refunds_job,
        )
        scheduler.register_periodic(
            "payments.reconcile", settings.PAYMENTS_RECONCILE_SECONDS, services.reconcile_job
        )
