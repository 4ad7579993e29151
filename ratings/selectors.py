"""Reads of the ratings app, shared by pages and the API, each in a constant number of
queries: the public results, the rectification queue, a case's rating card."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet

from catalog.models import ItemVersion
from core.exceptions import NotFound, RuleViolation
from core.models import Organisation
from ratings.models import Invitation, Level, Rating, RatingOption, Rectification

GROUPS = {"organisation": "organisation_id", "item": "item_id", "window": "window"}
STATS_PARAMETERS = frozenset({"organisation", "item", "window", "group", "page"})
# What the public results never answer about: who rated.
EVALUATOR_WORDS = ("evaluator", "rater", "user", "person", "citizen")


@dataclass
class StatsRow:
    """The public results of one organisation, item or window (computed from ratings)."""

    key: str
    name: str
    counts: dict[int, int] = field(default_factory=dict)
    total: int = 0
    satisfied: int = 0
    bad: int = 0
    rectified: int = 0
    rectification_days: float | None = None

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率: 非常满意 + 满意 + 基本满意 over all counted ratings."""
        return round(100 * self.satisfied / self.total, 1) if self.total else None

    @property
    def rectification_rate(self) -> float | None:
        """差评整改率: bad ratings whose fix is done over all bad ratings."""
        return round(100 * self.rectified / self.bad, 1) if self.bad else None

    @property
    def level_counts(self) -> list[int]:
        """Counts from 非常满意 down to 非常不满意 (the table's column order)."""
        return [self.counts.get(level, 0) for level in (5, 4, 3, 2, 1)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "counts": {str(level): self.counts.get(level, 0) for level in (5, 4, 3, 2, 1)},
            "total": self.total,
            "satisfaction_rate": self.satisfaction_rate,
            "bad": self.bad,
            "rectified": self.rectified,
            "rectification_rate": self.rectification_rate,
            "rectification_days": self.rectification_days,
        }


def refuse_evaluator_fields(params: dict[str, Any]) -> None:
    """The public results carry no evaluator: asking for one (a parameter or a requested
    field naming the evaluator) is refused with a stable code, as is an unknown parameter."""
    for name, value in params.items():
        text = f"{name}={value}".lower()
        if any(word in text for word in EVALUATOR_WORDS):
            raise RuleViolation(
                "stats_evaluator_refused",
                "评价结果公开不含评价人信息，不能按评价人查询或返回评价人字段",
                field=name,
            )
        if name not in STATS_PARAMETERS:
            raise RuleViolation("stats_parameter_unknown", f"未知的查询参数：{name}", field=name)


def counted_ratings(
    *, organisation: str = "", item: str = "", window: str = ""
) -> QuerySet[Rating]:
    """The first ratings of this node's organisations that count (not annulled)."""
    rows = Rating.objects.counted().filter(round=1, organisation__node="")
    if organisation:
        rows = rows.filter(organisation__uscc=organisation)
    if item:
        rows = rows.filter(item__code=item)
    if window:
        rows = rows.filter(window=window)
    return rows


def stats(
    *, organisation: str = "", item: str = "", window: str = "", group: str = "organisation"
) -> list[StatsRow]:
    """The public results grouped per organisation, item or window: counts per level, the
    satisfaction rate, the bad-rating rectification rate and its mean time (calendar days
    from the rating to the fix). Four queries whatever the number of ratings."""
    if group not in GROUPS:
        raise RuleViolation(
            "stats_group_invalid", "分组应为 organisation、item 或 window", field="group"
        )
    key = GROUPS[group]
    rows = counted_ratings(organisation=organisation, item=item, window=window)
    if group == "window":
        rows = rows.exclude(window="")
    if group == "item":
        rows = rows.exclude(item=None)
    per_level = {f"l{level}": Count("pk", filter=Q(level=level)) for level in (1, 2, 3, 4, 5)}
    aggregated = list(
        rows.values(key)
        .annotate(
            total=Count("pk"),
            bad_count=Count("pk", filter=Q(bad=True)),
            rectified=Count("pk", filter=Q(bad=True, rectification__fixed_at__isnull=False)),
            **per_level,
        )
        .order_by(key)
    )
    times: dict[Any, list[float]] = defaultdict(list)
    for value, created, fixed in Rectification.objects.filter(
        rating__in=rows, fixed_at__isnull=False
    ).values_list(f"rating__{key}", "rating__created_at", "fixed_at"):
        times[value].append((fixed - created).total_seconds() / 86400)
    names = _names(group, [r[key] for r in aggregated])
    out = []
    for r in aggregated:
        counts = {level: r[f"l{level}"] for level in (1, 2, 3, 4, 5)}
        spent = times.get(r[key])
        out.append(
            StatsRow(
                key=str(names.get(r[key], (r[key], ""))[0]),
                name=names.get(r[key], ("", str(r[key])))[1],
                counts=counts,
                total=r["total"],
                satisfied=counts[3] + counts[4] + counts[5],
                bad=r["bad_count"],
                rectified=r["rectified"],
                rectification_days=round(sum(spent) / len(spent), 1) if spent else None,
            )
        )
    return sorted(out, key=lambda row: (-row.total, row.name))


def _names(group: str, keys: list[Any]) -> dict[Any, tuple[str, str]]:
    if group == "organisation":
        return {
            pk: (uscc, name)
            for pk, uscc, name in Organisation.objects.filter(pk__in=keys).values_list(
                "pk", "uscc", "name"
            )
        }
    if group == "item":
        names: dict[Any, tuple[str, str]] = {}
        # The latest version's name (an item's name lives on its versions).
        for pk, code, name in (
            ItemVersion.objects.filter(item_id__in=keys)
            .order_by("item_id", "-number")
            .values_list("item_id", "item__code", "name")
        ):
            names.setdefault(pk, (code, name))
        return names
    return {k: (k, k) for k in keys}


# Rectifications ------------------------------------------------------------------------------


def rectifications_for(user: Any, *, state: str = "", warning: str = "") -> QuerySet[Rectification]:
    rows = Rectification.objects.for_user(user).select_related("organisation", "rating", "workflow")
    if state:
        rows = rows.filter(state=state)
    if warning:
        rows = rows.filter(warning=warning)
    return rows.order_by("closed_at", "due_date", "pk")


def get_rectification_for(user: Any, number: str) -> Rectification:
    found = (
        Rectification.objects.for_user(user)
        .select_related("organisation__division", "rating__item", "workflow", "ledger")
        .filter(number=number)
        .first()
    )
    if found is None:
        raise NotFound("rectification_not_found", f"整改 {number} 不存在或无权查看")
    return found


# Invitations and options -----------------------------------------------------------------


def invitation_by_token(token: str) -> Invitation:
    found = Invitation.objects.select_related("rating").filter(token=token).first()
    if found is None:
        raise NotFound("invitation_not_found", "评价链接无效或已失效")
    return found


def invitations_for_case(user: Any, number: str) -> list[Invitation]:
    """The rating card of a case page: the invitations of `user` for the case."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(
        Invitation.objects.filter(subject_kind="case", reference=number, rater=user)
        .select_related("rating")
        .order_by("created_at", "pk")
    )


def invitations_of_case(number: str) -> list[Invitation]:
    return list(
        Invitation.objects.filter(subject_kind="case", reference=number).order_by(
            "created_at", "pk"
        )
    )


def options_by_level(option_set_id: int) -> dict[int, list[RatingOption]]:
    out: dict[int, list[RatingOption]] = {level: [] for level in (5, 4, 3, 2, 1)}
    for option in RatingOption.objects.filter(option_set_id=option_set_id):
        out[option.level].append(option)
    return out


def level_label(level: int) -> str:
    return str(Level(level).label)


def ratings_of_event(kind: str, reference: str, event: str) -> list[Rating]:
    return list(
        Rating.objects.filter(subject_kind=kind, reference=reference, event=event).order_by("round")
    )
