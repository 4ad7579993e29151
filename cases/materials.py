"""Materials of a case: uploads checked by content, 免提交 licences in their place, and
what is still missing. Each change is one transaction with its timeline row."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from dataclasses import dataclass

import filetype
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.agents import check_agent
from accounts.models import AgentAction, Role
from accounts.selectors import staff_user
from cases import timeline
from cases.models import (
    Case,
    CaseMaterial,
    Commitment,
)
from cases.selectors import get_case_for, is_applicant, material_reader
from cases.timeline import applicant_label
from cases.workflow import has_tag
from catalog.models import Material
from core import blobs
from core.actors import Actor, user_of
from core.exceptions import ProblemList, RuleViolation
from core.models import Organisation, PersonalDataAccess
from core.personal_data import lookup_hash
from core.process import Transition
from licences.models import Licence
from licences.recognition import recognise
from licences.services import (
    check_token,
    record_use,
)

ALLOWED_UPLOADS = {
    "application/pdf": {".pdf"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/png": {".png"},
    "application/zip": {".ofd"},
}


# Materials ---------------------------------------------------------------------------------


def _sniff(content: bytes, name: str) -> str:
    """The content type of an upload, by its bytes; refused if not allowed, if its name
    has no extension or another type's, or if its structure is not that type's (decision
    89)."""
    kind = filetype.guess(content)
    mime = kind.mime if kind else ""
    if mime not in ALLOWED_UPLOADS:
        raise RuleViolation(
            "file_type_not_allowed", "只接受 PDF、JPEG、PNG 或 OFD 文件（按文件内容判断）"
        )
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if not suffix:
        raise RuleViolation(
            "file_extension_required", "文件名须带扩展名（.pdf、.jpg、.png 或 .ofd）"
        )
    if suffix not in ALLOWED_UPLOADS[mime]:
        raise RuleViolation(
            "file_type_mismatch", f"文件名为 {suffix} 但内容是 {kind.extension.upper()} 文件"
        )  # type: ignore[union-attr]
    problem = STRUCTURE_CHECKS[mime](content)
    if problem:
        raise RuleViolation("file_structure_invalid", f"文件已损坏或不是真正的{problem}")
    return mime


# Markup a browser would run if the file were ever opened as HTML: no document type we
# accept has any business carrying it in clear.
_MARKUP = re.compile(rb"<\s*(?:html|script|body|iframe|svg|!doctype\s+html)\b", re.IGNORECASE)


def _pdf_problem(content: bytes) -> str:
    """A PDF starts with its header and ends with `%%EOF` (trailing whitespace allowed)."""
    if not re.match(rb"%PDF-[12]\.[0-9]", content) or b"%%EOF" not in content[-1024:]:
        return " PDF 文件"
    if _MARKUP.search(content):
        return " PDF 文件（含网页代码）"
    return ""


def _png_problem(content: bytes) -> str:
    """The signature, an IHDR chunk first, and the IEND chunk last."""
    if content[8:16] != b"\x00\x00\x00\rIHDR" or not content.endswith(b"IEND\xaeB`\x82"):
        return " PNG 图片"
    return ""


def _jpeg_problem(content: bytes) -> str:
    """The SOI marker first and an EOI marker at the end (cameras may pad after it)."""
    if not content.startswith(b"\xff\xd8\xff") or b"\xff\xd9" not in content[-256:]:
        return " JPEG 图片"
    if _MARKUP.search(content[-4096:]):
        return " JPEG 图片（含网页代码）"
    return ""


def _ofd_problem(content: bytes) -> str:
    """An OFD file (GB/T 33190) is a ZIP package with `OFD.xml` at its root."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            names = package.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return " OFD 文件"
    return "" if "OFD.xml" in names else " OFD 文件（缺少 OFD.xml）"


STRUCTURE_CHECKS = {
    "application/pdf": _pdf_problem,
    "image/jpeg": _jpeg_problem,
    "image/png": _png_problem,
    "application/zip": _ofd_problem,
}


def check_upload(content: bytes, name: str) -> str:
    """The content type of an upload that may be kept: not empty, within
    `CASE_UPLOAD_MAX_BYTES`, an allowed type by its bytes matching its name. Every upload
    of the platform (case materials, hotline attachments) passes here."""
    if not content:
        raise RuleViolation("file_empty", "文件为空")
    if len(content) > settings.CASE_UPLOAD_MAX_BYTES:
        raise RuleViolation(
            "file_too_large", f"文件超过 {settings.CASE_UPLOAD_MAX_BYTES // (1024 * 1024)} MB 上限"
        )
    return _sniff(content, name)


@dataclass(frozen=True)
class _MaterialSlot:
    """A material requirement of a locked case that the actor may fill now."""

    case: Case
    organisation: Organisation | None
    uploader: User
    deficient: bool


def _open_slot(case: Case, requirement: Material, actor: Actor) -> _MaterialSlot:
    """Lock the case and check that `actor` may give `requirement` now: while the applicant
    side prepares or supplements, or for a material promised under 容缺. A material given
    as a verified licence cannot be replaced."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if requirement.version_id != case.item_version_id:
        raise RuleViolation("material_not_of_item", f"“{requirement.name}”不是该事项的申请材料")
    deficient = case.commitments.filter(
        kind=Commitment.Kind.DEFICIENCY, status=Commitment.Status.OPEN, materials=requirement
    ).exists()
    if not has_tag(case, "materials_open") and not deficient:
        raise RuleViolation("materials_closed", "当前状态下不能提交材料", status=409)
    org = applicant_side(case, actor)
    uploader = user_of(actor)
    if uploader is None:  # _applicant_side admits only signed-in users
        raise RuleViolation("actor_required", "须以登录账号提交材料", status=401)
    current = case.materials.filter(requirement=requirement, status=CaseMaterial.Status.PROVIDED)
    if current.filter(Q(licence__isnull=False) | ~Q(foreign_licence="")).exists():
        raise RuleViolation(
            "material_licence_verified",
            f"“{requirement.name}”已以核验过的电子证照提供，不可更改",
            status=409,
        )
    current.update(status=CaseMaterial.Status.SUPERSEDED)
    return _MaterialSlot(case, org, uploader, deficient)


def _after_material(slot: _MaterialSlot, actor: Actor) -> None:
    if slot.deficient:
        _fulfil_deficiency(slot.case, actor)


@transaction.atomic
def add_material(
    case: Case,
    requirement: Material,
    *,
    content: bytes,
    name: str,
    actor: Actor,
    paper_custody: str = "",
) -> CaseMaterial:
    """Attach a file for one material requirement (replacing an earlier one)."""
    mime = check_upload(content, name)
    slot = _open_slot(case, requirement, actor)
    digest, path = blobs.store(content, area="cases")
    material = CaseMaterial.objects.create(
        case=slot.case,
        requirement=requirement,
        file=path,
        original_name=name[:200],
        content_type=mime,
        size=len(content),
        sha256=digest,
        uploaded_by=slot.uploader,
        paper_custody=paper_custody[:200],
    )
    timeline.record_event(
        slot.case,
        actor=actor,
        action="add_material",
        organisation=slot.organisation,
        note=requirement.name,
        data={"sha256": digest, "size": len(content)},
    )
    _after_material(slot, actor)
    return material


@transaction.atomic
def use_licence(
    case: Case, requirement: Material, licence: Licence, *, actor: Actor
) -> CaseMaterial:
    """免提交: give the applicant's own electronic licence in place of a material the catalog
    says that licence type can replace. The licence is verified now (signature, status,
    validity); the material then counts as provided and cannot be altered."""
    if (
        requirement.licence_type_id is None
        or requirement.licence_type_id != licence.licence_type_id
    ):
        raise RuleViolation(
            "licence_type_not_accepted",
            f"“{requirement.name}”不接受以“{licence.licence_type.name}”代替",
        )
    holder_code = (
        case.applicant_person.id_number
        if case.applicant_person is not None
        else case.applicant_company.uscc  # type: ignore[union-attr]
    )
    if licence.holder_code_hash != lookup_hash(holder_code):
        raise RuleViolation(
            "licence_not_applicants", "该电子证照的持证主体不是本办件的申请人", status=403
        )
    check = check_token(licence.token)
    if check.outcome != "valid":
        raise RuleViolation(
            "licence_not_valid", f"电子证照核验未通过（{check.label}）：{check.reason}"
        )
    slot = _open_slot(case, requirement, actor)
    material = CaseMaterial.objects.create(
        case=slot.case,
        requirement=requirement,
        licence=licence,
        licence_verified_at=timezone.now(),
        original_name=licence.identifier,
        content_type="application/x-licence",
        uploaded_by=slot.uploader,
    )
    record_use(licence, case_number=slot.case.number, actor=actor)
    timeline.record_event(
        slot.case,
        actor=actor,
        action="use_licence",
        organisation=slot.organisation,
        note=f"{requirement.name}：以电子证照 {licence.identifier} 代替（核验有效）",
        data={"identifier": licence.identifier},
    )
    _after_material(slot, actor)
    return material


def use_foreign_licence(
    case: Case, requirement: Material, token: str, *, actor: Actor
) -> CaseMaterial:
    """免提交 with a licence another node of the federation issued: its QR token is checked
    offline against the seal keys in the directory, and the issuer is asked whether it is
    still valid and held by this case's applicant. Nothing is stored unless all three hold.
    The question goes out before the case is locked (no lock is held over the network)."""
    if requirement.licence_type_id is None:
        raise RuleViolation(
            "licence_type_not_accepted", f"“{requirement.name}”不接受以电子证照代替"
        )
    holder_code = (
        case.applicant_person.id_number
        if case.applicant_person is not None
        else case.applicant_company.uscc  # type: ignore[union-attr]
    )
    result = recognise(token, holder_code=holder_code)
    if result.local and result.licence is not None:
        return use_licence(case, requirement, result.licence, actor=actor)
    if result.type_code and result.type_code != requirement.licence_type.code:  # type: ignore[union-attr]
        raise RuleViolation(
            "licence_type_not_accepted",
            f"“{requirement.name}”不接受以“{result.licence_type_name}”代替",
        )
    if result.holder_matches is False:
        raise RuleViolation(
            "licence_not_applicants", "该电子证照的持证主体不是本办件的申请人", status=403
        )
    if not result.valid_for_holder:
        raise RuleViolation("licence_not_valid", f"电子证照核验未通过：{result.reason}")
    with transaction.atomic():
        slot = _open_slot(case, requirement, actor)
        material = CaseMaterial.objects.create(
            case=slot.case,
            requirement=requirement,
            foreign_licence=result.identifier,
            foreign_licence_node=result.node_id,
            licence_verified_at=result.checked_at,
            original_name=result.identifier,
            content_type="application/x-licence",
            uploaded_by=slot.uploader,
        )
        timeline.record_event(
            slot.case,
            actor=actor,
            action="use_licence",
            organisation=slot.organisation,
            note=(
                f"{requirement.name}：以{result.node_label or result.node_name}签发的"
                f"{result.licence_type_name} {result.identifier} 代替（已向签发节点核验有效）"
            ),
            data={"identifier": result.identifier, "node": result.node_id},
        )
        _after_material(slot, actor)
    return material


def applicant_side(
    case: Case, actor: Actor, *, agent_action: str = AgentAction.SUPPLEMENT
) -> Organisation | None:
    """The applicant, or a window clerk of the receiving organisation, may give materials
    (or change the draft: `agent_action` apply). An agent of a company applicant acts
    within their authorisation's scope only."""
    if is_applicant(case, actor):
        if case.applicant_company_id is not None:
            check_agent(
                case.applicant_company,  # type: ignore[arg-type]
                actor,
                action=agent_action,
                item_code=case.item_version.item.code,
            )
        return None
    if staff_user(actor, [Role.WINDOW_CLERK], [case.receiving_org]) is not None:
        return case.receiving_org
    raise RuleViolation("action_forbidden", "只有申请人或收件窗口人员可以提交材料", status=403)


def _provided_ids(case: Case) -> set[int]:
    return set(
        case.materials.filter(status=CaseMaterial.Status.PROVIDED).values_list(
            "requirement_id", flat=True
        )
    )


def _fulfil_deficiency(case: Case, actor: Actor) -> None:
    provided = _provided_ids(case)
    for commitment in case.commitments.filter(
        kind=Commitment.Kind.DEFICIENCY, status=Commitment.Status.OPEN
    ):
        if {m.pk for m in commitment.materials.all()} <= provided:
            commitment.status = Commitment.Status.FULFILLED
            commitment.resolved_at = timezone.now()
            commitment.save(update_fields=["status", "resolved_at"])
            timeline.record_event(
                case, actor=actor, action="fulfil_deficiency", note="容缺材料已全部补齐"
            )


def missing_materials(case: Case) -> list[Material]:
    """Required materials neither provided nor covered by a commitment."""
    provided = _provided_ids(case)
    covered = {m.pk for c in case.commitments.all() for m in c.materials.all()}
    return [
        m
        for m in case.item_version.materials.all()
        if m.necessity != Material.Necessity.OPTIONAL
        and m.pk not in provided
        and m.pk not in covered
    ]


def require_materials(t: Transition[Case]) -> None:
    """Effect of submitting, forwarding and the formal check: every required material is
    given or covered by a signed commitment."""
    missing = missing_materials(t.process)
    if missing:
        problems = ProblemList()
        for m in missing:
            problems.add(f"缺少必要材料“{m.name}”", field=f"materials[{m.pk}]")
        problems.raise_if_any(
            "materials_missing", "申请材料不齐，缺少：" + "、".join(m.name for m in missing)
        )


@transaction.atomic
def receive_material(
    case: Case,
    *,
    position: int,
    name: str,
    content: bytes,
    sha256: str,
    original_name: str,
    content_type: str,
    paper_custody: str,
    licence: str,
    node: str,
    uploader: User,
) -> CaseMaterial:
    """A material the counterpart node gave for the case (a file, or a licence it verified
    in place of one): matched to the requirement by position and name, checked against
    its digest, stored like an upload, replacing the one given before."""
    requirement = case.item_version.materials.filter(position=position).first()
    if requirement is None or requirement.name != name:
        raise RuleViolation("material_unknown", f"事项版本中没有第 {position} 项材料“{name}”")
    path = ""
    if content:
        if hashlib.sha256(content).hexdigest() != sha256:
            raise RuleViolation("material_digest_mismatch", f"材料“{name}”的摘要与内容不符")
        _sniff(content, original_name or f"material.{_extension(content_type)}")
        _, path = blobs.store(content, area="cases")
    case.materials.filter(requirement=requirement, status=CaseMaterial.Status.PROVIDED).update(
        status=CaseMaterial.Status.SUPERSEDED
    )
    return CaseMaterial.objects.create(
        case=case,
        requirement=requirement,
        file=path,
        original_name=original_name or (f"电子证照 {licence}" if licence else ""),
        content_type=content_type,
        size=len(content),
        sha256=sha256,
        uploaded_by=uploader,
        paper_custody=paper_custody,
        node=node,
        exchanged_at=timezone.now(),
    )


def _extension(content_type: str) -> str:
    return next(iter(sorted(ALLOWED_UPLOADS.get(content_type, {".bin"}))))[1:]


# Reading a material ------------------------------------------------------------------------


@dataclass(frozen=True)
class MaterialFile:
    material: CaseMaterial
    content: bytes


READ_PURPOSE = "审查申请材料"


def read_material(
    number: str, material_id: int, *, viewer: Actor, purpose: str = ""
) -> MaterialFile:
    """The clear bytes of one uploaded material of a case, checked against its recorded
    digest. The applicant reads their own; staff holding a handling role (window clerk,
    reviewer, approver) in the receiving, handling or a step organisation read it, and each
    such read is logged with its purpose like a personal-data reveal. A case the viewer
    cannot see, or a material not of it, is 404; a material given as a licence has no file."""
    case = get_case_for(viewer, number)
    material = next((m for m in case.materials.all() if m.pk == material_id), None)
    if material is None or not material.file:
        raise RuleViolation("material_not_found", "该办件没有这份材料文件", status=404)
    reader = None
    if not is_applicant(case, viewer):
        reader = material_reader(case, viewer)
        if reader is None:
            raise RuleViolation("action_forbidden", "无权查阅该办件的申请材料", status=403)
    content = blobs.read(str(material.file.name), material.sha256)
    if reader is not None:
        PersonalDataAccess.objects.create(
            actor=reader,
            subject=applicant_label(case),
            context=f"办件 {case.number}",
            purpose=(purpose.strip() or READ_PURPOSE)[:200],
            fields=[f"材料：{material.requirement.name}（{material.original_name}）"],
        )
    return MaterialFile(material, content)
