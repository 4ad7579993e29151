"""Template filters of the sharing pages: a node by its directory name, methods and
fields by their Chinese labels."""

from __future__ import annotations

from typing import Any

from django import template

from sharing.models import DataResource, Method

register = template.Library()
METHOD_LABELS = dict(Method.choices)


@register.filter
def node_label(node: str, names: dict[str, str]) -> str:
    """`node` as the directory names it (`names`: `federation.directory.node_names()`)."""
    return names.get(node) or f"{node} 节点"


@register.filter
def method_labels(methods: list[str]) -> str:
    return "、".join(METHOD_LABELS.get(m, m) for m in methods)


@register.filter
def field_labels(fields: list[str], resource: DataResource | Any) -> str:
    """Field names with their labels from `resource` (a `DataResource`)."""
    if not isinstance(resource, DataResource):
        return "、".join(fields)
    return "、".join(f"{resource.field_label(f)}（{f}）" for f in fields)
