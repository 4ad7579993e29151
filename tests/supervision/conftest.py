"""A small province built through the real services: two organisations in 大连 and one in
沈阳, each with staff; a provincial supervisor (辽宁省营商环境建设局), a city supervisor
(大连), an organisation admin; cases taken as far as each test needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from cases import engine, services
from cases import materials as case_materials
from cases import timeline as case_timeline
from tests import builders
from tests.federation.conftest import federation  # noqa: F401 - the signed test directory


@dataclass
class Province:
    dalian: Any
    dalian_water: Any
    shenyang: Any
    item: Any
    water_item: Any
    shenyang_item: Any
    applicant: Any
    staff: dict[str, Any]
    province_supervisor: Any
    city_supervisor: Any
    admin: Any

    def submitted(self, version: Any) -> Any:
        case = services.start_case(
            item_version=version,
            form_data={"reason": "工作调动"},
            person=self.applicant,
            actor=self.applicant.user,
            place=version.item.organisation.division,
        )
        for m in version.materials.all():
            case_materials.add_material(
                case,
                m,
                content=builders.uploaded_pdf(m.name),
                name="a.pdf",
                actor=self.applicant.user,
            )
        return engine.take_action(case, "submit", actor=self.applicant.user)

    def accepted(self, version: Any, monkeypatch: Any = None, on: dt.date | None = None) -> Any:
        case = self.submitted(version)
        org = version.item.organisation_id
        if on is not None:
            monkeypatch.setattr(case_timeline, "today", lambda: on)
        case = engine.take_action(case, "accept", actor=self.staff[org]["reviewer"])
        if on is not None:
            monkeypatch.undo()
        return case

    def decided(
        self,
        version: Any,
        monkeypatch: Any = None,
        on: dt.date | None = None,
        *,
        approve: bool = True,
    ) -> Any:
        case = self.accepted(version, monkeypatch, on)
        org = version.item.organisation_id
        case = engine.take_action(case, "start_review", actor=self.staff[org]["reviewer"])
        return engine.take_action(
            case,
            "approve" if approve else "deny",
            actor=self.staff[org]["approver"],
            note="" if approve else "不符合条件",
        )

    def not_accepted(self, version: Any) -> Any:
        case = self.submitted(version)
        org = version.item.organisation_id
        return engine.take_action(
            case, "refuse_acceptance", actor=self.staff[org]["reviewer"], note="不属于受理范围"
        )


@pytest.fixture
def province(federation) -> Province:  # noqa: F811
    dalian = builders.organisation("大连市公安局", "210200")
    water = builders.organisation("大连市水务局", "210200")
    shenyang = builders.organisation("沈阳市人社局", "210100")
    business = builders.organisation("辽宁省营商环境建设局", "210000")
    dalian_business = builders.organisation("大连市营商环境建设局", "210200")
    staff = {}
    for org in (dalian, water, shenyang):
        staff[org.pk] = {
            "reviewer": builders.staff("reviewer", org),
            "approver": builders.staff("approver", org),
        }
    return Province(
        dalian=dalian,
        dalian_water=water,
        shenyang=shenyang,
        item=builders.item("户口迁移（夫妻投靠）", org=dalian, promised_limit=10, legal_limit=20),
        water_item=builders.item("取水许可", org=water, promised_limit=5, legal_limit=20),
        shenyang_item=builders.item("失业登记", org=shenyang, promised_limit=3, legal_limit=10),
        applicant=builders.person("李四"),
        staff=staff,
        province_supervisor=builders.staff("supervisor", business),
        city_supervisor=builders.staff("supervisor", dalian_business),
        admin=builders.staff("org_admin", water),
    )
