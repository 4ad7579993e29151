"""JSON endpoints of 好差评: rate, the public results, the rectification queue and its
actions. Rating and rectifications need a bearer token or the portal session; the
results are public and never carry the evaluator."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Status

from accounts.auth import API_AUTH
from core.api import paginated
from core.exceptions import RuleViolation
from core.schemas import ProblemOut
from ratings import engine, selectors, services
from ratings.models import BAD_LEVELS, Rating, Rectification
from ratings.schemas import (
    ActionIn,
    OptionSetOut,
    RatingIn,
    RatingOut,
    RectificationOut,
    StatsOut,
)

router = Router(tags=["好差评"])

ERRORS = {401: ProblemOut, 403: ProblemOut, 404: ProblemOut, 409: ProblemOut, 422: ProblemOut}


def rating_out(rating: Rating) -> dict[str, Any]:
    rectification = Rectification.objects.filter(rating=rating).values_list("number", flat=True)
    return {
        "uid": rating.uid,
        "subject_kind": rating.subject_kind,
        "reference": rating.reference,
        "event": rating.event,
        "round": rating.round,
        "level": rating.level,
        "level_label": rating.get_level_display(),
        "bad": rating.bad,
        "channel": rating.channel,
        "options": rating.options,
        "text": rating.text,
        "organisation": rating.organisation.name,
        "created_at": rating.created_at,
        "rectification": rectification.first(),
    }


def rectification_out(r: Rectification, user: Any) -> Rectification:
    """The rectification with the actions `user` may take now (for RectificationOut)."""
    r.allowed_actions = [a.name for a in engine.PROCESS.allowed(r, user)]  # type: ignore[attr-defined]
    return r


@router.post(
    "/ratings",
    response={201: RatingOut, **ERRORS},
    auth=API_AUTH,
    summary="评价（一次一评、一事一评；可追加评价一次）",
)
def create_rating(request: HttpRequest, payload: RatingIn) -> Status[dict[str, Any]]:
    if bool(payload.case) == bool(payload.ticket):
        raise RuleViolation(
            "rating_subject_required", "请指明办件编号（case）或工单编号（ticket）之一"
        )
    kind, reference = ("case", payload.case) if payload.case else ("ticket", payload.ticket)
    rating = services.rate(
        services.RatingIn(
            subject_kind=kind,
            reference=reference or "",
            event=payload.event,
            level=payload.level,
            options=payload.options,
            text=payload.text,
            channel=payload.channel,
            follow_up=payload.follow_up,
        ),
        actor=request.user,
    )
    return Status(201, rating_out(rating))


@router.get(
    "/ratings/options",
    response={200: OptionSetOut, 409: ProblemOut},
    summary="现行评价选项（按等级；评价时选项须属于所选等级）",
)
def rating_options(request: HttpRequest) -> dict[str, Any]:
    option_set = services.option_set_in_force()
    by_level = selectors.options_by_level(option_set.pk)
    return {
        "version": option_set.version,
        "effective_from": option_set.effective_from,
        "levels": [
            {
                "level": level,
                "label": selectors.level_label(level),
                "bad": level in BAD_LEVELS,
                "options": [{"code": o.code, "label": o.label} for o in options],
            }
            for level, options in by_level.items()
        ],
    }


@router.get(
    "/ratings/stats",
    response={200: StatsOut, 422: ProblemOut},
    summary="评价结果公开（按单位、事项或窗口；不含评价人信息）",
)
def rating_stats(
    request: HttpRequest,
    organisation: str = "",
    item: str = "",
    window: str = "",
    group: str = "organisation",
) -> dict[str, Any]:
    selectors.refuse_evaluator_fields(dict(request.GET.items()))
    rows = selectors.stats(organisation=organisation, item=item, window=window, group=group)
    return {"group": group, "rows": [row.as_dict() for row in rows]}


@router.get(
    "/rectifications",
    response={200: list[RectificationOut], **ERRORS},
    auth=API_AUTH,
    summary="差评整改（本单位人员与监督人员可见）",
)
@paginated
def list_rectifications(
    request: HttpRequest, state: str = "", warning: str = ""
) -> QuerySet[Rectification]:
    return selectors.rectifications_for(request.user, state=state, warning=warning)


@router.get(
    "/rectifications/{number}",
    response={200: RectificationOut, **ERRORS},
    auth=API_AUTH,
    summary="一件差评整改",
)
def get_rectification(request: HttpRequest, number: str) -> Rectification:
    return rectification_out(selectors.get_rectification_for(request.user, number), request.user)


@router.post(
    "/rectifications/{number}/actions/{action}",
    response={200: RectificationOut, **ERRORS},
    auth=API_AUTH,
    summary="整改操作（回访、定性、整改、申诉复核、办结）",
)
def act_on_rectification(
    request: HttpRequest, number: str, action: str, payload: ActionIn
) -> Rectification:
    found = selectors.get_rectification_for(request.user, number)
    changed = engine.take_action(
        found, action, actor=request.user, note=payload.note, data=payload.data
    )
    return rectification_out(
        selectors.get_rectification_for(request.user, changed.number), request.user
    )
