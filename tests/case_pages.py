"""Test data and page helpers for the case pages of the portal and the console.

The data is built through the real services (tests/builders.py); the helpers drive the
pages through the Django test client as a person would, form by form.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import Company, Person
from accounts.services import register_company
from cases import engine, services
from cases import materials as case_materials
from cases.models import Case
from catalog.models import ItemVersion, LicenceType, Material
from catalog.services import publish_item_version
from core.actors import SystemActor
from core.models import Organisation
from licences import canonical
from licences import services as licence_services
from licences.models import Licence, Seal
from tests import builders

EVERY_FIELD_TYPE = [
    {"name": "purpose", "label": "用途", "type": "text", "max_length": 50},
    {"name": "detail", "label": "情况说明", "type": "textarea", "required": False},
    {"name": "move_date", "label": "迁入日期", "type": "date"},
    {"name": "members", "label": "随迁人数", "type": "number", "min": 0, "max": 10},
    {"name": "relation", "label": "与户主关系", "type": "choice", "choices": ["配偶", "子女"]},
    {"name": "from_division", "label": "迁出地", "type": "division"},
    {"name": "contact_id", "label": "联系人公民身份号码", "type": "id_number"},
    {"name": "employer", "label": "工作单位代码", "type": "uscc", "required": False},
    {"name": "phone", "label": "联系电话", "type": "phone"},
    {"name": "address", "label": "现住址", "type": "address"},
]


@dataclass
class World:
    """Two organisations of Liaoning, an item of the first with 容缺 and 告知承诺, its
    staff, a citizen, a company with its agent, and a clerk of the second organisation."""

    police: Organisation
    shenyang: Organisation
    version: ItemVersion
    every_field: ItemVersion
    applicant: Person
    company: Company
    agent: Any
    clerk: Any
    reviewer: Any
    approver: Any
    org_admin: Any
    foreign_clerk: Any
    foreign_reviewer: Any

    def material(self, name: str, version: ItemVersion | None = None) -> Material:
        return (version or self.version).materials.get(name=name)


def _publish_with_proof(version: ItemVersion) -> ItemVersion:
    Material.objects.create(
        version=version,
        position=3,
        name="无违法犯罪记录证明",
        necessity="required",
        source_type="government",
        originals=1,
        commitment_allowed=True,
    )
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    return version


def build_world() -> World:
    police = builders.organisation("大连市公安局", "210200")
    shenyang = builders.organisation("沈阳市公安局", "210100")
    version = builders.item(
        "户口迁移（夫妻投靠）",
        org=police,
        scopes=(("in_province", "online"), ("in_province", "proxy")),
        allows_commitment=True,
        special_procedures=[{"name": "实地核查", "limit": 5, "unit": "working_days"}],
        form_fields=[
            {"name": "reason", "label": "迁移原因", "type": "text"},
            {
                "name": "contact_id",
                "label": "联系人公民身份号码",
                "type": "id_number",
                "required": False,
            },
            {"name": "phone", "label": "联系电话", "type": "phone", "required": False},
        ],
        publish=False,
    )
    version = builders.offered(_publish_with_proof(version))
    every_field = builders.item(
        "居住证申领",
        org=police,
        scopes=(("in_province", "online"),),
        form_fields=EVERY_FIELD_TYPE,
    )
    applicant = builders.person("张三丰", mobile="13800138000")
    agent_person = builders.person("王经办")
    company = register_company(
        uscc=builders.valid_uscc(900, "210200"),
        name="大连海洋科技有限公司",
        legal_representative="王大海",
        agent=agent_person.user,
        actor=SystemActor("test"),
    )
    clerk = builders.staff("window_clerk", police, username="dl_clerk")
    foreign_clerk = builders.staff("window_clerk", shenyang, username="sy_clerk")
    builders.at_window(clerk, version, every_field)
    builders.at_window(foreign_clerk, version, every_field)
    return World(
        police=police,
        shenyang=shenyang,
        version=version,
        every_field=every_field,
        applicant=applicant,
        company=company,
        agent=agent_person.user,
        clerk=clerk,
        reviewer=builders.staff("reviewer", police, username="dl_reviewer"),
        approver=builders.staff("approver", police, username="dl_approver"),
        org_admin=builders.staff("org_admin", police, username="dl_admin"),
        foreign_clerk=foreign_clerk,
        foreign_reviewer=builders.staff("reviewer", shenyang, username="sy_reviewer"),
    )


def pdf(name: str = "scan.pdf", marker: str = "1") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, builders.uploaded_pdf(marker), content_type="application/pdf")


def png_named_pdf(name: str = "photo.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "application/pdf")


def case_number(response: Any) -> str:
    """The case number in a redirect to a case page (portal or console)."""
    match = re.search(r"/cases/([A-Z]+-\d{8}-\d{6})/", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def working_days_ahead(days: int) -> dt.date:
    """A date `days` Monday–Friday days after today: safely inside any limit ≥ `days`."""
    current = timezone.localdate()
    while days:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def field_names(version: ItemVersion, answers: dict[str, str]) -> dict[str, str]:
    return {f"form-{name}": value for name, value in answers.items()}


def apply_online(
    client: Client,
    version: ItemVersion,
    answers: dict[str, str],
    *,
    applicant: str = "person",
    files: dict[str, Any] | None = None,
    deficiency: tuple[list[Material], dt.date] | None = None,
    notification: bool = False,
    submit: bool = True,
    place: str = "",
) -> str:
    """Apply through the four pages; return the case number. `place`: the applicant's
    常住地 (the item's own division by default: a local application)."""
    code = version.item.code
    page = client.get(f"/items/{code}/apply/")
    assert page.status_code == 200, page.content.decode()[:2000]
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page.content.decode())
    assert key
    response = client.post(
        f"/items/{code}/apply/",
        {
            "applicant": applicant,
            "place": place or version.item.division.code,
            "idempotency_key": key.group(1),
            **field_names(version, answers),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    number = case_number(response)
    uploads = {}
    for name, upload in (files or {}).items():
        uploads[f"material_{version.materials.get(name=name).pk}"] = upload
    response = client.post(f"/my/cases/{number}/materials/", uploads)
    assert response.status_code == 302, response.content.decode()[:3000]
    if deficiency is not None:
        materials, due = deficiency
        response = client.post(
            f"/my/cases/{number}/commitments/",
            {
                "kind": "deficiency",
                "deficiency-materials": [m.pk for m in materials],
                "deficiency-due_date": due.isoformat(),
            },
        )
        assert response.status_code == 302, response.content.decode()[:3000]
    if notification:
        response = client.post(
            f"/my/cases/{number}/commitments/", {"kind": "notification", "notification-agree": "on"}
        )
        assert response.status_code == 302, response.content.decode()[:3000]
    if submit:
        response = client.post(f"/my/cases/{number}/submit/")
        assert response.status_code == 302, response.content.decode()[:3000]
    return number


def act(client: Client, number: str, action: str, **fields: Any) -> Any:
    """Take an action on the console's case page."""
    data = {f"{action}-{name}": value for name, value in fields.items()}
    return client.post(f"/console/cases/{number}/actions/{action}/", data)


def submitted_case(world: World) -> Case:
    """A case of the citizen with every material, submitted (built through the services)."""
    applicant = world.applicant
    case = services.start_case(
        item_version=world.version,
        form_data={"reason": "投靠"},
        person=applicant,
        actor=applicant.user,
    )
    for material in world.version.materials.all():
        case_materials.add_material(
            case,
            material,
            content=builders.uploaded_pdf(material.name),
            name="a.pdf",
            actor=applicant.user,
        )
    return engine.take_action(case, "submit", actor=applicant.user)


def quick_item(world: World, name: str = "户籍证明开具") -> ItemVersion:
    """An item of the police whose materials are all optional, so cases submit at once."""
    version = builders.item(name, org=world.police, publish=False)
    version.materials.update(necessity="optional")
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    return version


def submitted(world: World, version: ItemVersion, *, person: Person | None = None) -> Case:
    """A case of `version` (all materials optional) submitted by `person`."""
    person = person or world.applicant
    case = services.start_case(
        item_version=version, form_data={"reason": "x"}, person=person, actor=person.user
    )
    return engine.take_action(case, "submit", actor=person.user)


# Licences ---------------------------------------------------------------------------------

HOUSEHOLD_FACE = [{"name": "registered_address", "label": "户籍地址", "type": "address"}]
REGISTERED_ADDRESS = "辽宁省大连市中山区人民路1号"


def household_licence_type(*, allow_multiple: bool = True) -> LicenceType:
    """居民户籍证明, a licence type of the police with one face field."""
    licence_type, _ = LicenceType.objects.update_or_create(
        code="11100000000013338W011",
        defaults={
            "name": "居民户籍证明",
            "face_fields": HOUSEHOLD_FACE,
            "valid_years": 1,
            "allow_multiple": allow_multiple,
        },
    )
    return licence_type


def police_seal(world: World) -> Seal:
    return licence_services.create_seal(world.police, actor=SystemActor("test"))


def issue_licence(
    world: World, person: Person | None = None, licence_type: LicenceType | None = None
) -> Licence:
    """A licence of the police for `person` (the world's applicant), issued directly; the
    police need a seal (`police_seal`)."""
    person = person or world.applicant
    return licence_services.issue_licence(
        licence_type=licence_type or household_licence_type(),
        holder=licence_services.Holder.of_person(person),
        issuer=world.police,
        face_data={"registered_address": REGISTERED_ADDRESS},
        case_number="LN-20260101-000001",
        actor=SystemActor("test"),
    )


def licence_item(world: World, licence_type: LicenceType) -> ItemVersion:
    """开具户籍证明: an item of the police whose result is a licence (all materials optional)."""
    version = builders.item(
        "开具户籍证明",
        org=world.police,
        result_type="licence",
        result_licence_type=licence_type,
        form_fields=[{"name": "registered_address", "label": "户籍地址", "type": "address"}],
        publish=False,
    )
    version.materials.update(necessity="optional")
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    return version


def approved_licence_case(world: World, version: ItemVersion, person: Person | None = None) -> Case:
    """A case of a licence-producing item, submitted and approved (the licence is issued)."""
    person = person or world.applicant
    case = services.start_case(
        item_version=version,
        form_data={"registered_address": REGISTERED_ADDRESS},
        person=person,
        actor=person.user,
    )
    case = engine.take_action(case, "submit", actor=person.user)
    for name in ("accept", "start_review"):
        case = engine.take_action(case, name, actor=world.reviewer)
    return engine.take_action(case, "approve", actor=world.approver)


def accept_licence_for(
    version: ItemVersion, material_name: str, licence_type: LicenceType
) -> Material:
    """Let `licence_type` replace a material of a published version. Setup only: published
    versions are frozen to services, so the row is marked in the database."""
    material = version.materials.get(name=material_name)
    Material.objects.filter(pk=material.pk).update(licence_type=licence_type)
    material.refresh_from_db()
    return material


def tampered_token(token: str) -> str:
    """`token` with one character of its payload changed such that the payload still reads
    as JSON: only the signature check can tell (as with a forged date or name)."""
    prefix, payload, signature = token.split(".")
    for position in range(len(payload) // 2, len(payload) - 1):
        for replacement in "ABCDEFGH":
            if replacement == payload[position]:
                continue
            changed = payload[:position] + replacement + payload[position + 1 :]
            try:
                json.loads(canonical.unb64url(changed))
            except ValueError:
                continue
            return f"{prefix}.{changed}.{signature}"
    raise AssertionError("no single-character change keeps the payload readable")
