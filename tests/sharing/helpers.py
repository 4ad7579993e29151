"""Sharing test data, built through the sharing services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from core.actors import SystemActor
from sharing import engine, services
from sharing.models import DataResource, Grant, SharingRequest
from tests import builders

HOUSEHOLD_FIELDS = [
    {"name": "name", "label": "姓名", "type": "string", "sensitivity": "personal"},
    {
        "name": "household_division",
        "label": "户籍所在地",
        "type": "division",
        "sensitivity": "personal",
    },
    {"name": "address", "label": "户籍地址", "type": "string", "sensitivity": "sensitive"},
]


def household_resource(provider: Any = None, **overrides: Any) -> DataResource:
    provider = provider or builders.organisation("大连市公安局", seed=9001)
    kwargs: dict[str, Any] = {
        "code": "LN-GA-HJ-001",
        "name": "居民户籍信息",
        "provider": provider,
        "subject_kind": "person",
        "fields": HOUSEHOLD_FIELDS,
        "sharing_class": "conditional",
        "legal_basis": "《户口登记条例》；《政务信息资源共享管理暂行办法》第九条",
        "update_frequency": "realtime",
        "methods": ["verify", "query"],
        "adapter": "records",
        "material_codes": ["HJ-HKB"],
        "actor": SystemActor("test"),
    }
    kwargs.update(overrides)
    return services.register_resource(**kwargs)


def request(resource: DataResource, consumer: Any, **overrides: Any) -> SharingRequest:
    kwargs: dict[str, Any] = {
        "resource": resource,
        "consumer": consumer,
        "fields": ["household_division"],
        "methods": ["verify"],
        "purpose": "户口迁移（夫妻投靠）审核户籍所在地",
        "legal_basis": "《户口登记条例》第十条",
        "valid_until": timezone.localdate() + dt.timedelta(days=365),
        "scene_items": ["户口迁移"],
        "actor": SystemActor("test"),
    }
    kwargs.update(overrides)
    return services.submit_request(**kwargs)


def granted(resource: DataResource, consumer: Any, **overrides: Any) -> tuple[Grant, str]:
    req = request(resource, consumer, **overrides)
    reviewer = builders.staff("reviewer", resource.provider)
    req = engine.take_action(req, "approve", actor=reviewer)
    return req.grant, req.issued_credential  # type: ignore[attr-defined]
