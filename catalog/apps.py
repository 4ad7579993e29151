from django.apps import AppConfig

SEARCH_REFRESH_SECONDS = 300


class CatalogConfig(AppConfig):
    """Floor 2: service items and their versions, licence types, lists and regional schemes."""

    name = "catalog"
    verbose_name = "事项目录"

    def ready(self) -> None:
        # The regional zone across nodes: answer `catalog.zone`, sync the members' items.
        from catalog import services, zone
        from core import scheduler

        zone.register()
        scheduler.register_periodic("catalog.sync_zone", zone.SYNC_EVERY_SECONDS, zone.sync_job)
        # A version published ahead takes effect at midnight: its search entry follows.
        scheduler.register_periodic(
            "catalog.refresh_search", SEARCH_REFRESH_SECONDS, services.refresh_search_job
        )
