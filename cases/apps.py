from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Floor 4: applications (办件), workflow definitions and engine, deadlines, supplements,
    容缺受理, 告知承诺, the timeline and the archive."""

    name = "cases"
    verbose_name = "办件"

    def ready(self) -> None:
        from cases import exchange

        exchange.register()
