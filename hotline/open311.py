"""Open311 GeoReport v2 at /open311/v2/ (https://wiki.open311.org/GeoReport_v2): the open
standard for service requests, so that apps already written for it can file and follow
12345 tickets.

- `services.json` — the categories of the dispatch catalog in force; each has
  `metadata: true` and its attributes in `services/{service_code}.json`: the ticket type
  and the place (both required), and 接诉即办 (optional).
- `requests.json` — GET lists requests with the standard filters (`service_request_id`,
  `service_code`, `start_date`, `end_date`, `status`; the last 90 days and at most 1,000
  by default); POST files one (`api_key` required: an API token of the client's account;
  a location — `lat`/`long`, `address_string` or `address_id` — and the required
  attributes). Reports (举报) are never listed: the informant is protected; descriptions
  are listed with anything shaped like an ID or mobile number masked, and no caller data.
- `requests/{service_request_id}.json`, `tokens/{token}.json`.

Errors are the standard's: an array of `{"code": <HTTP status>, "description": ...}` with
that status. JSON only; the standard's XML is optional and answered with an error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import re_path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from accounts.services import authenticate_token
from core.exceptions import RuleViolation
from core.personal_data import scrub
from hotline.models import Channel, DispatchCategory, Ticket, TicketType
from hotline.selectors import categories_in_force, category_divisions
from hotline.services import TicketIn, open_ticket

app_name = "open311"

DEFAULT_DAYS = 90
MAX_RESULTS = 1000
ATTRIBUTE_TYPE, ATTRIBUTE_DIVISION, ATTRIBUTE_URGENT = "ticket_type", "division", "urgent"
# Which types a client may file: every one but 咨询, which is answered on the phone.
FILED_TYPES = [t for t in TicketType if t != TicketType.CONSULTATION]


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status, self.description = status, description


def _json(data: Any, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, safe=False, json_dumps_params={"ensure_ascii": False})


def _error(status: int, description: str) -> JsonResponse:
    return _json([{"code": status, "description": description}], status=status)


def _endpoint(
    view: Callable[..., Any], methods: tuple[str, ...] = ("GET",)
) -> Callable[..., HttpResponse]:
    """JSON only; the jurisdiction, when given, must be this node; refusals in the
    standard's error format."""

    def wrapper(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
        if request.method not in methods:
            response = _error(405, f"本接口只接受 {'、'.join(methods)} 请求")
            response["Allow"] = ", ".join(methods)
            return response
        if fmt != "json":
            return _error(400, "本接口只提供 JSON 格式（.json）")
        params = request.POST if request.method == "POST" else request.GET
        jurisdiction = params.get("jurisdiction_id")
        if jurisdiction and jurisdiction != settings.NODE_ID:
            return _error(404, f"jurisdiction_id {jurisdiction} 不是本节点（{settings.NODE_ID}）")
        try:
            return _json(*view(request, **kwargs))
        except Open311Error as exc:
            return _error(exc.status, exc.description)
        except RuleViolation as exc:
            reasons = "；".join(p.reason for p in exc.problems) or exc.message
            return _error(400 if exc.status == 422 else exc.status, reasons)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return csrf_exempt(wrapper)


# Services ----------------------------------------------------------------------------------


def _service(category: DispatchCategory) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": True,
        "type": "batch",
        "keywords": ",".join(k for k in category.keywords.replace("，", ",").split(",") if k),
        "group": category.get_group_display(),
    }


def _category(code: str) -> DispatchCategory:
    category = categories_in_force().filter(code=code).first()
    if category is None:
        raise Open311Error(404, f"service_code {code} 不存在")
    return category


def services(request: HttpRequest) -> tuple[Any, int]:
    """服务（诉求分类）列表。"""
    return [_service(c) for c in categories_in_force()], 200


def _attributes(category: DispatchCategory) -> list[dict[str, Any]]:
    return [
        {
            "variable": True,
            "code": ATTRIBUTE_TYPE,
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": "诉求类型",
            "order": 1,
            "description": "诉求类型",
            "values": [{"key": t.value, "name": t.label} for t in FILED_TYPES],
        },
        {
            "variable": True,
            "code": ATTRIBUTE_DIVISION,
            "datatype": "singlevaluelist",
            "required": True,
            "datatype_description": "行政区划代码（GB/T 2260）",
            "order": 2,
            "description": "发生地",
            "values": [{"key": d.code, "name": d.name} for d in category_divisions(category)],
        },
        {
            "variable": True,
            "code": ATTRIBUTE_URGENT,
            "datatype": "singlevaluelist",
            "required": False,
            "datatype_description": "是否接诉即办（水电气暖等紧急诉求，按小时计时）",
            "order": 3,
            "description": "接诉即办",
            "values": [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}],
        },
    ]


def service_definition(request: HttpRequest, code: str) -> tuple[Any, int]:
    """一个服务的属性定义。"""
    category = _category(code)
    return {"service_code": category.code, "attributes": _attributes(category)}, 200


# Requests ----------------------------------------------------------------------------------


def _iso(moment: dt.datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


def _expected(ticket: Ticket) -> str | None:
    if ticket.due_at is not None:
        return _iso(ticket.due_at)
    if ticket.due_date is not None:
        end = dt.datetime.combine(ticket.due_date, dt.time(23, 59, 59))
        return _iso(timezone.make_aware(end))
    return None


def _request(ticket: Any) -> dict[str, Any]:
    from hotline.engine import PROCESS

    closed = ticket.closed_at is not None
    notes = PROCESS.state_label(ticket)
    if ticket.reply and ticket.replied_at:
        notes = f"{notes}：{scrub(ticket.reply)}"
    return {
        "service_request_id": ticket.number,
        "status": "closed" if closed else "open",
        "status_notes": notes,
        "service_name": ticket.category.name if ticket.category else "",
        "service_code": ticket.category.code if ticket.category else "",
        "description": scrub(ticket.description),
        "agency_responsible": ticket.lead.name if ticket.lead else ticket.centre.name,
        "service_notice": "",
        "requested_datetime": _iso(ticket.created_at),
        "updated_datetime": _iso(ticket.updated or ticket.created_at),
        "expected_datetime": _expected(ticket),
        "address": ticket.address_masked or ticket.division.name,
        "address_id": "",
        "zipcode": "",
        "lat": float(ticket.lat) if ticket.lat is not None else None,
        "long": float(ticket.long) if ticket.long is not None else None,
        "media_url": "",
    }


def _listed() -> QuerySet[Ticket]:
    return (
        Ticket.objects.exclude(type=TicketType.REPORT)
        .select_related("category", "lead", "centre", "division", "workflow")
        .annotate(updated=Max("events__at"))
        .order_by("-created_at", "-id")
    )


def _when(params: Any, name: str) -> dt.datetime | None:
    raw = params.get(name)
    if not raw:
        return None
    moment = parse_datetime(raw.replace(" ", "+"))
    if moment is None:
        raise Open311Error(400, f"{name} 应为 W3C 日期时间，如 2026-01-01T00:00:00+08:00")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def _search(params: Any) -> tuple[Any, int]:
    qs = _listed()
    ids = [i for i in params.get("service_request_id", "").split(",") if i]
    if ids:
        return [_request(t) for t in qs.filter(number__in=ids)[:MAX_RESULTS]], 200
    codes = [c for c in params.get("service_code", "").split(",") if c]
    if codes:
        qs = qs.filter(category__code__in=codes)
    start, end = _when(params, "start_date"), _when(params, "end_date")
    if start is None and end is None:
        start = timezone.now() - dt.timedelta(days=DEFAULT_DAYS)
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lte=end)
    statuses = {s for s in params.get("status", "").split(",") if s}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status 只能是 open 或 closed")
    if statuses == {"open"}:
        qs = qs.filter(closed_at__isnull=True)
    elif statuses == {"closed"}:
        qs = qs.filter(closed_at__isnull=False)
    return [_request(t) for t in qs[:MAX_RESULTS]], 200


def _decimal(params: Any, name: str) -> Decimal | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return Decimal(raw).quantize(Decimal("0.000001"))
    except InvalidOperation as exc:
        raise Open311Error(400, f"{name} 应为十进制经纬度") from exc


def _post(request: HttpRequest) -> tuple[Any, int]:
    params = request.POST
    key = params.get("api_key", "")
    client = authenticate_token(key) if key else None
    if client is None:
        raise Open311Error(403, "提交诉求须提供有效的 api_key" if key else "缺少 api_key")
    code = params.get("service_code", "")
    if not code:
        raise Open311Error(400, "缺少 service_code")
    category = _category(code)
    missing = [
        a["code"]
        for a in _attributes(category)
        if a["required"] and not params.get(f"attribute[{a['code']}]")
    ]
    if missing:
        raise Open311Error(400, f"缺少必填属性：{'、'.join(f'attribute[{m}]' for m in missing)}")
    ticket_type = params[f"attribute[{ATTRIBUTE_TYPE}]"]
    if ticket_type not in {t.value for t in FILED_TYPES}:
        raise Open311Error(400, f"attribute[{ATTRIBUTE_TYPE}] 的取值无效：{ticket_type}")
    division = params[f"attribute[{ATTRIBUTE_DIVISION}]"]
    if division not in {d.code for d in category_divisions(category)}:
        raise Open311Error(400, f"attribute[{ATTRIBUTE_DIVISION}] 不在该服务的范围内：{division}")
    lat, long = _decimal(params, "lat"), _decimal(params, "long")
    address = params.get("address_string", "") or params.get("address_id", "")
    if (lat is None or long is None) and not address:
        raise Open311Error(400, "须提供位置：lat 和 long，或 address_string，或 address_id")
    name = f"{params.get('last_name', '')}{params.get('first_name', '')}".strip()
    phone = params.get("phone", "").strip()
    ticket = open_ticket(
        TicketIn(
            type=ticket_type,
            division=division,
            description=params.get("description", ""),
            channel=Channel.OPEN311,
            urgent=params.get(f"attribute[{ATTRIBUTE_URGENT}]") == "yes",
            anonymous=not (name or phone),
            caller_name=name,
            caller_phone=phone,
            address=address,
            lat=float(lat) if lat is not None else None,
            long=float(long) if long is not None else None,
            category=category.code,
        ),
        actor=client,
    )
    return [
        {
            "service_request_id": ticket.number,
            "token": ticket.token,
            "service_notice": f"已受理登记，工单编号 {ticket.number}，可凭编号查询办理进度",
            "account_id": None,
        }
    ], 201


def requests(request: HttpRequest) -> tuple[Any, int]:
    """诉求列表（GET）与提交诉求（POST）。"""
    if request.method == "POST":
        return _post(request)
    return _search(request.GET)


def request_detail(request: HttpRequest, number: str) -> tuple[Any, int]:
    """一件诉求。"""
    ticket = _listed().filter(number=number).first()
    if ticket is None:
        raise Open311Error(404, f"service_request_id {number} 不存在")
    return [_request(ticket)], 200


def token(request: HttpRequest, token: str) -> tuple[Any, int]:
    """由提交凭证查工单编号。"""
    number = Ticket.objects.filter(token=token).values_list("number", flat=True).first()
    if number is None:
        raise Open311Error(404, f"token {token} 不存在")
    return [{"service_request_id": number, "token": token}], 200


def _unknown(request: HttpRequest, rest: str = "") -> HttpResponse:
    return _error(404, f"没有接口 {request.path}")


_FMT = r"\.(?P<fmt>[a-z]+)$"
urlpatterns = [
    re_path(r"^services" + _FMT, _endpoint(services), name="services"),
    re_path(
        r"^services/(?P<code>[a-z0-9-]+)" + _FMT, _endpoint(service_definition), name="service"
    ),
    re_path(r"^requests" + _FMT, _endpoint(requests, ("GET", "POST")), name="requests"),
    re_path(
        r"^requests/(?P<number>[A-Za-z0-9-]+)" + _FMT, _endpoint(request_detail), name="request"
    ),
    re_path(r"^tokens/(?P<token>[a-f0-9]+)" + _FMT, _endpoint(token), name="token"),
    re_path(r"^(?P<rest>.*)$", _unknown),
]
