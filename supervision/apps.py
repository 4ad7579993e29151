from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    """Floor 5: the figures from the operational data and their rollups, dashboards, the
    regional view through the federation, warning cards, the work ledger and bulletins."""

    name = "supervision"
    verbose_name = "督查督办"

    def ready(self) -> None:
        from django.conf import settings

        from cases.engine import on_transition
        from core import scheduler
        from supervision import facts, figures, region, services

        on_transition("supervision.mark_dirty", facts.mark_dirty)
        figures.FIGURE_SOURCES.register(figures.SHARING_FIGURE, figures.sharing_figure)
        scheduler.register_periodic(
            "supervision.refresh_figures", settings.SUPERVISION_REFRESH_SECONDS, facts.refresh_job
        )
        scheduler.register_periodic(
            "supervision.route_warnings",
            settings.SUPERVISION_CARDS_SECONDS,
            services.route_warnings_job,
        )
        region.register()
        scheduler.register_periodic(
            "supervision.sync_region", region.REGION_EVERY_SECONDS, region.sync_job
        )
