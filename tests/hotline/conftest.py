"""A small hotline world built through the real services: a 大连 12345 centre with an
agent, a 沈阳 centre with its own agent, three organisations with reviewers, and a
published dispatch catalog."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from core.actors import SystemActor
from core.models import Division
from hotline.models import Centre
from hotline.services import TicketIn, open_ticket, publish_dispatch_catalog
from tests import builders


@dataclass
class World:
    centre: Centre
    other_centre: Centre
    agent: Any
    other_agent: Any
    housing: Any
    water: Any
    street: Any
    outsider: Any
    housing_reviewer: Any
    water_reviewer: Any
    street_reviewer: Any
    outsider_reviewer: Any

    def ticket(self, **fields: Any):
        actor = fields.pop("actor", self.agent)
        data = {
            "type": "complaint",
            "division": "210200",
            "description": "小区供暖温度不达标，室温只有 14 度。",
            "caller_name": "王芳",
            "caller_phone": "13904112368",
            **fields,
        }
        return open_ticket(TicketIn(**data), actor=actor)


def make_world() -> World:
    system = SystemActor("test")
    dl_centre_org = builders.organisation("大连市政务服务中心", "210200")
    sy_centre_org = builders.organisation("沈阳市营商环境建设局", "210100")
    centre = Centre.objects.create(
        organisation=dl_centre_org, division=Division.objects.get(code="210200"), name="大连 12345"
    )
    other = Centre.objects.create(
        organisation=sy_centre_org, division=Division.objects.get(code="210100"), name="沈阳 12345"
    )
    housing = builders.organisation("大连市住房和城乡建设局", "210200")
    water = builders.organisation("大连市水务局", "210200")
    street = builders.organisation("中山区人民政府", "210200")
    outsider = builders.organisation("大连市公安局", "210200")
    publish_dispatch_catalog(
        {
            "effective_from": "2024-01-01",
            "categories": [
                {"code": "heating", "name": "供暖", "group": "public_service", "keywords": "暖气"},
                {"code": "water-supply", "name": "供水", "group": "public_service"},
            ],
            "entries": [
                {
                    "category": "heating",
                    "division": "210200",
                    "lead": housing.uscc,
                    "co": [street.uscc],
                },
                {"category": "water-supply", "division": "210200", "lead": water.uscc, "co": []},
            ],
        },
        actor=system,
    )
    return World(
        centre=centre,
        other_centre=other,
        agent=builders.staff("hotline_agent", dl_centre_org),
        other_agent=builders.staff("hotline_agent", sy_centre_org),
        housing=housing,
        water=water,
        street=street,
        outsider=outsider,
        housing_reviewer=builders.staff("reviewer", housing),
        water_reviewer=builders.staff("reviewer", water),
        street_reviewer=builders.staff("reviewer", street),
        outsider_reviewer=builders.staff("reviewer", outsider),
    )


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def today() -> dt.date:
    from django.utils import timezone

    return timezone.localdate()
