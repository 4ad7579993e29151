from django.apps import AppConfig


class RatingsConfig(AppConfig):
    """Floor 5: 好差评 — ratings of service events, the invitations and default ratings,
    rectification of bad ratings on the shared process engine, the public results."""

    name = "ratings"
    verbose_name = "好差评"

    def ready(self) -> None:
        from cases.engine import on_transition
        from core import scheduler
        from core.process import Effect
        from ratings import inbound, services, subjects, tasks
        from ratings.registry import register_subject_kind
        from ratings.workflow import RECTIFICATION_EFFECTS

        for name, run in services.EFFECTS.items():
            RECTIFICATION_EFFECTS.register(name, Effect(run))
        register_subject_kind(subjects.SUBJECT_KIND, subjects.resolve_case)
        on_transition("ratings.invite", subjects.invite_after_event)
        inbound.register()
        scheduler.register_periodic(
            "ratings.give_default_ratings", tasks.EVERY_SECONDS, tasks.give_default_ratings
        )
        scheduler.register_periodic(
            "ratings.refresh_warnings", tasks.REFRESH_WARNINGS_EVERY_SECONDS, tasks.refresh_warnings
        )
