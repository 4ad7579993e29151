from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Floor 1: divisions, organisations, validators, the working-day calendar, audit."""

    name = "core"
    verbose_name = "基础数据"
