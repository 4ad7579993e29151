from django.apps import AppConfig


class PortalConfig(AppConfig):
    """Floor 6: the citizen pages, composed from the services below; no rules of its own."""

    name = "portal"
    verbose_name = "门户"
