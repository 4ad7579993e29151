from django.apps import AppConfig


class HotlineConfig(AppConfig):
    """Floor 5: the 12345 hotline — tickets and their workflow, the dispatch catalog, the
    deadline table, the knowledge base and the Open311 GeoReport v2 API."""

    name = "hotline"
    verbose_name = "12345 热线"

    def ready(self) -> None:
        from core import scheduler
        from core.process import Effect
        from hotline import services, tasks
        from hotline.workflow import TICKET_EFFECTS

        # The effects the workflow definitions name (hotline/workflows/*.json).
        for name, effect in {
            "pin_deadline": Effect(services.pin_deadline),
            "record_referral": Effect(services.record_referral),
            "record_article_answer": Effect(services.record_article_answer),
            "dispatch_ticket": Effect(services.dispatch_ticket),
            "return_ticket": Effect(services.return_ticket),
            "request_extension": Effect(services.request_extension),
            "approve_extension": Effect(services.approve_extension),
            "refuse_extension": Effect(services.refuse_extension),
            "record_reply": Effect(services.record_reply),
            "record_callback": Effect(services.record_callback),
            "require_callback": Effect(services.require_callback),
            "merge_ticket": Effect(services.merge_ticket),
        }.items():
            TICKET_EFFECTS.register(name, effect)
        # 好差评: tickets are a rated subject kind (hotline/rating.py).
        from hotline.rating import SUBJECT_KIND, resolve_ticket
        from ratings.models import RatedService
        from ratings.registry import register_subject_kind

        register_subject_kind(
            SUBJECT_KIND,
            lambda reference, event: RatedService(**resolve_ticket(reference, event).as_dict()),
        )
        # Yellow/red warnings of tickets, set-based (core.process.Process.refresh_warnings).
        scheduler.register_periodic(
            "hotline.refresh_warnings", tasks.REFRESH_WARNINGS_EVERY_SECONDS, tasks.refresh_warnings
        )
