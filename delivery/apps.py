from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """Floor 2: postal shipments (materials between windows, results to applicants) with
    tracking numbers and status events, through a carrier adapter."""

    name = "delivery"
    verbose_name = "寄递"
