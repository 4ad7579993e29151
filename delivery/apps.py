from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Floor 2: postal shipments (materials between windows, results to applicants) with
    tracking numbers and status events, through a carrier adapter."""

    name = "delivery"
    verbose_name = "寄递"

    def ready(self) -> None:
        from core import scheduler
        from delivery import tasks

        scheduler.register_periodic(
            "delivery.refresh_shipments", tasks.REFRESH_EVERY_SECONDS, tasks.refresh_shipments
        )
