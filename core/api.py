"""JSON endpoints of core: divisions, organisations, the working-day calendar.

Every handler parses, calls one selector or calendar function, and lets the schema
serialise; lookups that fail raise `NotFound` / `RuleViolation`, which tongban.api turns
into problem documents.
"""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from core import selectors
from core.calendar import add_working_days, working_days_between
from core.models import Division, Organisation
from core.schemas import (
    MAX_PAGE,
    DeadlineOut,
    DeadlineQuery,
    DivisionDetailOut,
    DivisionOut,
    OrganisationOut,
    ProblemOut,
    WorkingDaysOut,
    WorkingDaysQuery,
    YearCalendarOut,
    YearQuery,
)

router = Router(tags=["基础数据"])


# One page shape for every listing of the API: `?page=&page_size=` (20 by default, at most
# 100), answered as `{"items": [...], "count": n}`.
class BoundedPages(PageNumberPagination):
    """Ninja's page numbers, bounded: `?page=9223372036854775807` is a 422 problem, not an
    offset the database cannot hold (decision 84)."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE)


paginated = paginate(BoundedPages, page_size=20, max_page_size=100)
CALENDAR_TAGS = ["工作日历"]


def _division_or_national(code: str | None) -> Division | None:
    return selectors.known_division(code) if code else None


@router.get(
    "/divisions",
    response={200: list[DivisionOut], 422: ProblemOut},
    summary="行政区划列表",
    description="按代码排序；可按层级（province、prefecture、county、functional_zone、township、village）"
    "或上级区划代码筛选。",
)
def list_divisions(
    request: HttpRequest,
    level: str | None = Query(None, description="区划层级"),
    parent: str | None = Query(None, description="上级区划代码：只列其直接下级"),
) -> QuerySet[Division]:
    return selectors.list_divisions(level=level, parent=parent)


@router.get(
    "/divisions/{code}",
    response={200: DivisionDetailOut, 404: ProblemOut},
    summary="行政区划详情（含上级与直接下级）",
)
def get_division(request: HttpRequest, code: str) -> Division:
    return selectors.get_division(code)


@router.get(
    "/organisations",
    response={200: list[OrganisationOut], 422: ProblemOut},
    summary="部门机构列表（分页）",
)
@paginated
def list_organisations(
    request: HttpRequest,
    division: str | None = Query(None, description="行政区划代码：含其下辖区划的部门机构"),
    q: str | None = Query(None, description="名称或简称包含的文字"),
) -> QuerySet[Organisation]:
    return selectors.filter_organisations(division=division, q=q)


@router.get(
    "/organisations/{uscc}",
    response={200: OrganisationOut, 404: ProblemOut},
    summary="部门机构详情",
)
def get_organisation(request: HttpRequest, uscc: str) -> Organisation:
    return selectors.get_organisation(uscc)


@router.get(
    "/calendar/deadline",
    response={200: DeadlineOut, 422: ProblemOut},
    tags=CALENDAR_TAGS,
    summary="按工作日推算期限",
    description="起算日当日不计入，从次日起数满 `days` 个工作日的日期（`days=0` 为起算日本身）。"
    "途经尚未载入国务院节假日安排的年份时按周一至周五计算，并标为 `provisional`。",
)
def deadline(request: HttpRequest, query: Query[DeadlineQuery]) -> dict[str, object]:
    division = _division_or_national(query.division)
    result = add_working_days(query.start, query.days, division)
    return {
        "division": division,
        "start": query.start,
        "days": query.days,
        "deadline": result.date,
        "provisional": result.provisional,
        "provisional_years": list(result.provisional_years),
    }


@router.get(
    "/calendar/working-days",
    response={200: WorkingDaysOut, 422: ProblemOut},
    tags=CALENDAR_TAGS,
    summary="两个日期之间的工作日数",
    description="`start` 之后至 `end`（含）的工作日数；`end` 早于 `start` 时为负数。",
)
def working_days(request: HttpRequest, query: Query[WorkingDaysQuery]) -> dict[str, object]:
    division = _division_or_national(query.division)
    result = working_days_between(query.start, query.end, division)
    return {
        "division": division,
        "start": query.start,
        "end": query.end,
        "working_days": result.days,
        "provisional": result.provisional,
        "provisional_years": list(result.provisional_years),
    }


@router.get(
    "/calendar/days",
    response={200: YearCalendarOut, 422: ProblemOut},
    tags=CALENDAR_TAGS,
    summary="某年的节假日与调休上班日",
    description="只列与“周一至周五上班”不同的日子；`provisional` 表示该年尚未载入官方安排。",
)
def calendar_days(request: HttpRequest, query: Query[YearQuery]) -> selectors.YearCalendar:
    return selectors.year_calendar(query.year, _division_or_national(query.division))
