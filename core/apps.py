from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Floor 1: divisions, organisations, validators, the working-day calendar, audit."""

    name = "core"
    verbose_name = "基础数据"

    def ready(self) -> None:
        from core import checks  # noqa: F401  (registers the settings checks)
