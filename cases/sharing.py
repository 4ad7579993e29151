"""Cases and data sharing (应享尽享, 716号令 art. 7): a material the catalog marks with a
code that a grant of the handling organisation can obtain is verified or fetched from the
issuing organisation when the case is submitted, instead of being asked of the applicant.

- For a personal resource the applicant first sees what will be read (the preview:
  resource, provider, fields) and consents (`consent_to_sharing`); without consent the
  material is asked for as usual.
- At submission (`obtain_shared_materials`, called by `cases.engine.take_action` before
  any action that requires the materials, whatever the entry point) each such material
  still missing is asked under the grant; a yes / a record makes it provided, with its
  source and answer for the reviewer.
- When the source cannot answer (a department system down, the provider's node stopped)
  the timeline says so and the material stays missing: the applicant is asked to upload
  it, explicitly (`sharing_rows` tells the pages).

The calls are made outside the submission's transaction: their access-log rows must stay
even when the submission is then refused. The check a sharing call relies on — does this
case concern that subject? — is `case_concerns`, registered with the sharing app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Company
from cases import timeline
from cases.models import Case, CaseMaterial
from catalog.models import Material
from core.actors import Actor, SystemActor, user_of
from core.exceptions import RuleViolation
from core.personal_data import lookup_hash
from sharing.calls import Call, Question, call_grant
from sharing.selectors import Offer, offers_for
from sharing.subjects import subject_of

CONSENT = "consent_sharing"
UNAVAILABLE = "sharing_unavailable"
NOT_CONFIRMED = "sharing_not_confirmed"
OBTAINED = "use_shared_data"


def case_concerns(case_number: str, subject_hash: str) -> bool | None:
    """Whether the case `case_number` of this node has the subject (by keyed hash of its
    ID number or 统一社会信用代码) as its applicant; None when the case is not here."""
    case = (
        Case.objects.filter(number=case_number)
        .select_related("applicant_person", "applicant_company")
        .first()
    )
    if case is None:
        return None
    if case.applicant_person is not None:
        return bool(case.applicant_person.id_number_hash == subject_hash)
    company: Company | None = case.applicant_company
    return company is not None and lookup_hash(company.uscc) == subject_hash


def _subject_code(case: Case) -> tuple[str, str]:
    if case.applicant_person is not None:
        return "person", case.applicant_person.id_number
    assert case.applicant_company is not None
    return "company", case.applicant_company.uscc


def offers(case: Case) -> dict[int, Offer]:
    """By material requirement id, the grant the handling organisation can obtain it with
    (only materials whose subject kind is the applicant's). A secret item's (涉密)
    materials are never obtained by sharing: nothing is offered."""
    if case.item_version.classified:
        return {}
    materials = [m for m in case.item_version.materials.all() if m.code]
    found = offers_for(case.handling_org_id, {m.code for m in materials})
    kind = "person" if case.applicant_person_id is not None else "company"
    return {
        m.pk: found[m.code]
        for m in materials
        if m.code in found and found[m.code].subject_kind == kind
    }


def _events(case: Case, action: str) -> list[Any]:
    return [e for e in case.events.all() if e.action == action]


def consented(case: Case) -> set[int]:
    return {pk for e in _events(case, CONSENT) for pk in e.data.get("materials", [])}


@transaction.atomic
def consent_to_sharing(case: Case, *, actor: Actor) -> list[Material]:
    """The applicant (or the window clerk with them) has seen the preview and consents to
    the personal data being read for this case; recorded on the timeline."""
    from cases.materials import applicant_side

    case = Case.objects.select_for_update().get(pk=case.pk)
    organisation = applicant_side(case, actor)
    offered = {pk: o for pk, o in offers(case).items() if o.personal}
    if not offered:
        raise RuleViolation("sharing_not_offered", "本办件没有可共享获取的个人材料")
    materials = list(Material.objects.filter(pk__in=offered).order_by("position"))
    timeline.record_event(
        case,
        actor=actor,
        action=CONSENT,
        organisation=organisation,
        note="同意由办理部门共享获取：" + "、".join(m.name for m in materials),
        data={"materials": [m.pk for m in materials]},
    )
    return materials


@dataclass(frozen=True)
class Obtained:
    obtained: list[str]
    unavailable: list[str]
    not_confirmed: list[str]


def obtain_shared_materials(case: Case, *, actor: Actor) -> Obtained:
    """Verify or fetch every still-missing material the handling organisation can obtain by
    sharing (personal ones only with the applicant's consent). Each answer is its own
    transaction with its timeline row; a source that cannot answer leaves the material to
    upload and says so on the timeline."""
    from cases.materials import missing_materials

    uploader = user_of(actor)
    done = Obtained([], [], [])
    if uploader is None:
        return done
    case = Case.objects.select_related(
        "applicant_person", "applicant_company", "handling_org", "item_version"
    ).get(pk=case.pk)
    offered = offers(case)
    if not offered:
        return done
    agreed = consented(case)
    kind, code = _subject_code(case)
    for requirement in missing_materials(case):
        offer = offered.get(requirement.pk)
        if offer is None or (offer.personal and requirement.pk not in agreed):
            continue
        call = Call(
            grant_number=offer.grant,
            method=offer.method,
            subject=subject_of(kind, code),
            purpose=f"办理“{case.item_version.name}”核验“{requirement.name}”",
            case_number=case.number,
            fields=list(offer.fields) if offer.method == "query" else [],
            question=Question(offer.verify_field, "exists") if offer.method == "verify" else None,
        )
        try:
            answer = call_grant(call, actor=SystemActor("办件共享核验"), consumer=case.handling_org)
        except RuleViolation as exc:
            unavailable = exc.code == "source_unavailable"
            (done.unavailable if unavailable else done.not_confirmed).append(requirement.name)
            timeline.record_event(
                case,
                actor=actor,
                organisation=case.handling_org,
                action=UNAVAILABLE if unavailable else NOT_CONFIRMED,
                note=(
                    f"“{requirement.name}”的数据源（{offer.provider_name}）暂不可用，请上传该材料"
                    if unavailable
                    else f"“{requirement.name}”未能共享获取（{exc.message}），请上传该材料"
                ),
                data={"material": requirement.pk, "code": exc.code},
            )
            continue
        confirmed = answer.match if answer.match is not None else bool(answer.found)
        if not confirmed:
            done.not_confirmed.append(requirement.name)
            timeline.record_event(
                case,
                actor=actor,
                organisation=case.handling_org,
                action=NOT_CONFIRMED,
                note=f"“{requirement.name}”经{offer.provider_name}核验无记录，请上传该材料",
                data={"material": requirement.pk, "code": "no_record"},
            )
            continue
        _record_obtained(case, requirement, offer, answer.as_dict(), uploader, actor)
        done.obtained.append(requirement.name)
    return done


@transaction.atomic
def _record_obtained(
    case: Case,
    requirement: Material,
    offer: Offer,
    answer: dict[str, Any],
    uploader: Any,
    actor: Actor,
) -> CaseMaterial:
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.materials.filter(requirement=requirement, status=CaseMaterial.Status.PROVIDED).exists():
        raise RuleViolation("material_already_provided", f"“{requirement.name}”已提供")
    source = f"{offer.provider_name}·{offer.resource_name}"
    material = CaseMaterial.objects.create(
        case=case,
        requirement=requirement,
        original_name=f"{requirement.name}（共享获取）",
        content_type="application/x-shared-data",
        uploaded_by=uploader,
        shared_source=source[:200],
        shared_grant=offer.grant,
        shared_answer={**answer, "at": timezone.now().isoformat()},
    )
    timeline.record_event(
        case,
        actor=actor,
        organisation=case.handling_org,
        action=OBTAINED,
        note=f"{requirement.name}：由{source}共享{'核验通过' if offer.method == 'verify' else '获取'}，申请人免提交",
        data={"material": requirement.pk, "grant": offer.grant},
    )
    return material


@dataclass(frozen=True)
class MaterialSharing:
    """What a page says about one material obtainable by sharing."""

    material_id: int
    offer: Offer
    consented: bool
    obtained: CaseMaterial | None
    unavailable: bool
    note: str


def sharing_rows(case: Case) -> dict[int, MaterialSharing]:
    """By material requirement id: the offer, the consent, the shared material if obtained,
    and whether the last attempt found the source down (the upload fallback)."""
    offered = offers(case)
    if not offered:
        return {}
    agreed = consented(case)
    provided = list(case.materials.filter(status=CaseMaterial.Status.PROVIDED))
    shared = {m.requirement_id: m for m in provided if m.shared_source}
    given = {m.requirement_id for m in provided}
    last: dict[int, Any] = {}
    for event in case.events.filter(action__in=[UNAVAILABLE, NOT_CONFIRMED, OBTAINED]).order_by(
        "at", "id"
    ):
        last[event.data.get("material")] = event
    rows = {}
    for pk, offer in offered.items():
        attempt = last.get(pk)
        failed = attempt is not None and attempt.action != OBTAINED and pk not in given
        rows[pk] = MaterialSharing(
            pk,
            offer,
            pk in agreed or not offer.personal,
            shared.get(pk),
            failed,
            attempt.note if failed and attempt is not None else "",
        )
    return rows
