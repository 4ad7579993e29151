from django.apps import AppConfig


class SharingConfig(AppConfig):
    """Floor 3: data sharing between agencies — the resource catalog, sharing requests on
    the shared process engine, grants, verification and record queries through adapters
    and across nodes, the access log and the alerts."""

    name = "sharing"
    verbose_name = "数据共享"

    def ready(self) -> None:
        from core import scheduler
        from core.process import Effect
        from sharing import exchange, services, tasks
        from sharing.workflow import REQUEST_EFFECTS

        for name, run in services.EFFECTS.items():
            REQUEST_EFFECTS.register(name, Effect(run))
        exchange.register()
        scheduler.register_periodic(
            "sharing.refresh_warnings", tasks.REFRESH_WARNINGS_EVERY_SECONDS, tasks.refresh_warnings
        )
        scheduler.register_periodic(
            "sharing.send_grant_notices",
            tasks.GRANT_NOTICES_EVERY_SECONDS,
            tasks.send_grant_notices,
        )
