"""好差评 demo (Liaoning only), made through the real services on the demo cases and
tickets once `demo/cases.py` and `demo/hotline.py` have run:

| Rater | What | Rating | Then |
| --- | --- | --- | --- |
| citizen-chenjing | 学历公证, application (沈阳公证处) | 非常满意 | — |
| citizen-chenjing | 学历公证, result (沈阳公证处) | 不满意: 办理时间长 | rectification awaiting its callback |
| agent-haichen | 工业产品生产许可证核发, result (省市场监管局) | 非常不满意: 多次跑动 | called back, fixed at once, the company rated the fix 满意: closed |
| citizen-wangfang | her 12345 complaint, handling (大连市政务服务中心) | 满意 | — |

Made once: if any rating exists nothing is done, so `load_demo` twice changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from cases.models import Case
from demo.users import staff_username
from hotline.models import Ticket
from ratings import engine, services
from ratings.models import Rating, Rectification
from ratings.services import RatingIn


def _rate(kind: str, reference: str, event: str, level: int, user, **kw) -> Rating:  # type: ignore[no-untyped-def]
    return services.rate(
        RatingIn(subject_kind=kind, reference=reference, event=event, level=level, **kw),
        actor=user,
    )


@transaction.atomic
def load_demo_ratings() -> int:
    """Rate the demo cases and a ticket; return how many ratings were made."""
    from django.contrib.auth import get_user_model

    if settings.NODE_ID != "liaoning" or Rating.objects.exists():
        return 0
    users = {u.username: u for u in get_user_model().objects.all()}
    made = 0
    chen_case = Case.objects.filter(applicant_person__user__username="citizen-chenjing").first()
    if chen_case is not None:
        chen = users["citizen-chenjing"]
        _rate("case", chen_case.number, "application", 5, chen, options=["convenient"])
        _rate(
            "case",
            chen_case.number,
            "result",
            2,
            chen,
            options=["slow"],
            text="公证书出证比承诺时间晚了两天。",
            channel="mobile",
        )
        made += 2
    company_case = Case.objects.filter(applicant_company__isnull=False, state="closed").first()
    if company_case is not None:
        agent = users["agent-haichen"]
        _rate(
            "case",
            company_case.number,
            "result",
            1,
            agent,
            options=["repeat_visits"],
            text="核查时要求重复提交已承诺的材料。",
        )
        rectification = Rectification.objects.get(rating__reference=company_case.number)
        reviewer = users[staff_username("ln-scjgj", "reviewer")]
        rectification = engine.take_action(
            rectification,
            "call_back",
            actor=reviewer,
            note="电话回访企业经办人，核实核查环节要求重复提交承诺材料的情况属实。",
            data={"caller_name": "省市场监管局 好差评专员", "outcome": "unsatisfied"},
        )
        engine.take_action(
            rectification,
            "fix_at_once",
            actor=reviewer,
            note="已通知核查人员以告知承诺书为准，不再要求重复提交；向企业致歉。",
        )
        _rate("case", company_case.number, "result", 4, agent, follow_up=True)
        made += 2
    ticket = Ticket.objects.filter(
        caller_user__username="citizen-wangfang", outcome="resolved"
    ).first()
    if ticket is not None:
        _rate("ticket", ticket.number, "handling", 4, users["citizen-wangfang"], channel="mobile")
        made += 1
    return made
