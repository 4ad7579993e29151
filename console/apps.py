from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """Floor 6: the staff pages (工作台) — case inbox, case handling, window intake —
    composed from the services below; no rules of its own."""

    name = "console"
    verbose_name = "工作台"
