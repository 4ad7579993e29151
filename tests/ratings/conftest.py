"""A small ratings world built through the real services: the 大连市公安局 with a
reviewer, an approver and an admin, a supervisor at the 大连市营商环境建设局, an outsider
organisation's reviewer, an applicant, and a case taken to its end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from cases import engine, services
from cases import materials as case_materials
from tests import builders
from tests.federation.conftest import federation  # noqa: F401 - the signed test directory


@dataclass
class World:
    org: Any
    other_org: Any
    version: Any
    applicant: Any
    stranger: Any
    reviewer: Any
    approver: Any
    supervisor: Any
    org_supervisor: Any
    outsider: Any

    def submitted(self):
        case = services.start_case(
            item_version=self.version,
            form_data={"purpose": "入学"},
            person=self.applicant,
            actor=self.applicant.user,
        )
        for m in self.version.materials.all():
            case_materials.add_material(
                case,
                m,
                content=builders.uploaded_pdf(m.name),
                name="a.pdf",
                actor=self.applicant.user,
            )
        return engine.take_action(case, "submit", actor=self.applicant.user)

    def closed(self):
        case = self.submitted()
        for name, who in [
            ("accept", self.reviewer),
            ("start_review", self.reviewer),
            ("approve", self.approver),
            ("issue_result", self.reviewer),
            ("close", self.approver),
        ]:
            case = engine.take_action(case, name, actor=who)
        return case


@pytest.fixture
def world() -> World:
    org = builders.organisation("大连市公安局", "210200")
    business = builders.organisation("大连市营商环境建设局", "210200")
    other = builders.organisation("大连市水务局", "210200")
    version = builders.item(
        "开具户籍类证明",
        org=org,
        promised_limit=10,
        form_fields=[{"name": "purpose", "label": "用途", "type": "text"}],
    )
    return World(
        org=org,
        other_org=other,
        version=version,
        applicant=builders.person("李四"),
        stranger=builders.person("王五"),
        reviewer=builders.staff("reviewer", org),
        approver=builders.staff("approver", org),
        supervisor=builders.staff("supervisor", business),
        org_supervisor=builders.staff("supervisor", org),
        outsider=builders.staff("reviewer", other),
    )
