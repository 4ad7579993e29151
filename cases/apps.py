from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Floor 4: applications (办件), workflow definitions and engine, deadlines, supplements,
    容缺受理, 告知承诺, the timeline and the archive."""

    name = "cases"
    verbose_name = "办件"

    def ready(self) -> None:
        from cases import exchange, joint, shipping  # noqa: F401 - joint registers its hook
        from delivery import registry as delivery_registry
        from delivery.services import refresh_open_shipments
        from federation import worker

        exchange.register()
        delivery_registry.on_status_change(shipping.on_shipment_status)
        worker.register_periodic("delivery.refresh_open_shipments", 30, refresh_open_shipments)
