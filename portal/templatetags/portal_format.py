"""Chinese wording of the catalog's stored codes, for the portal's templates."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from cases.models import Commitment
from catalog.form_schema import FIELD_TYPE_LABELS, FieldType
from catalog.models import ItemVersion, Mode, Scope
from catalog.services import CHANNELS, DELIVERY

register = template.Library()

_LIMIT_UNITS = dict(ItemVersion.LimitUnit.choices)


def _label(choices: dict[str, str], value: object) -> str:
    return choices.get(str(value), str(value))


@register.filter
def mode_label(value: str) -> str:
    """业务模式 of a mode code: online → 全程网办."""
    return _label(dict(Mode.choices), value)


@register.filter
def mode_labels(values: list[str]) -> str:
    """Several modes in one phrase: 全程网办、异地代收代办."""
    return "、".join(mode_label(v) for v in values) or "（无）"


@register.filter
def scope_label(value: str) -> str:
    """通办范围 of a scope code: cross_province → 跨省通办."""
    return _label(dict(Scope.choices), value)


@register.filter
def channel_labels(values: list[str]) -> str:
    """申报方式 in one phrase: [online, window] → 网上办理、窗口办理."""
    return "、".join(_label(CHANNELS, v) for v in values) or "—"


@register.filter
def delivery_labels(values: list[str]) -> str:
    """发证方式 in one phrase: [electronic, post] → 电子证照、邮寄送达."""
    return "、".join(_label(DELIVERY, v) for v in values) or "—"


@register.filter
def field_type_label(value: str) -> str:
    """Type of an application-form field in Chinese: id_number → 公民身份号码."""
    try:
        return FIELD_TYPE_LABELS[FieldType(value)]
    except ValueError:
        return str(value)


@register.simple_tag
def time_limit(days: int | None, unit: str | None = None) -> str:
    """A time limit with its unit: 20 个工作日; 0 is 即时办结, None 无规定."""
    if days is None or days == "":
        return "未规定"
    if int(days) == 0:
        return "即时办结"
    return f"{days} 个{_LIMIT_UNITS.get(unit or ItemVersion.LimitUnit.WORKING_DAYS, '工作日')}"


@register.filter
def yuan(amount: object) -> str:
    """A fee amount: numbers get 元, anything else (一个范围、按件计) is shown as stored."""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    return f"{value.normalize():f} 元"


@register.filter
def lockout_minutes(delta: object) -> int:
    """Whole minutes of a lockout period (a timedelta): 0:30:00 → 30."""
    seconds = getattr(delta, "total_seconds", lambda: 0)()
    return int(seconds // 60)


@register.filter
def file_size(size: object) -> str:
    """A file size for people: 2048 → 2 KB, 3 MB with one decimal."""
    try:
        value = int(str(size))
    except ValueError:
        return str(size)
    if value < 1024:
        return f"{value} 字节"
    if value < 1024 * 1024:
        return f"{value / 1024:.0f} KB"
    return f"{value / (1024 * 1024):.1f} MB"


@register.filter
def get_item(mapping: object, key: object) -> object:
    """`mapping[key]` in a template, or "" when absent."""
    if isinstance(mapping, dict):
        return mapping.get(key, "")
    return ""


@register.simple_tag
def day_count(days: int | None, unit: str | None = None) -> str:
    """A number of days with the unit of the item's limits: 3 个工作日, 0 个自然日."""
    return f"{days or 0} 个{_LIMIT_UNITS.get(unit or ItemVersion.LimitUnit.WORKING_DAYS, '工作日')}"


@register.filter
def commitment_status(value: str) -> str:
    """State of a commitment in Chinese: open → 履行中."""
    return _label(dict(Commitment.Status.choices), value)
