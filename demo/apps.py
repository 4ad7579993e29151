from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo data of a node (`manage.py load_demo`): composes the apps' own services."""

    name = "demo"
    verbose_name = "演示数据"
