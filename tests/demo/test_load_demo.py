"""The demo data: loads through the catalog import, twice without change, and gives every
page something real to show (complete guides, three lists with a history)."""

from __future__ import annotations

from django.core.management import call_command

from catalog import selectors
from catalog.models import (
    PLATFORM_DEFINING_BODY,
    Availability,
    ItemList,
    ItemVersion,
    LicenceType,
    Material,
    PublicationStatus,
    Scope,
)
from core.models import AuditEvent, Organisation

GUIDE_FIELDS = (
    "name",
    "keywords",
    "conditions",
    "application_channels",
    "acceptance_mode",
    "procedure_steps",
    "legal_limit",
    "promised_limit",
    "result_type",
    "result_name",
    "result_delivery",
    "legal_basis",
    "location",
    "office_hours",
    "consultation_phone",
    "complaint_phone",
    "form_fields",
)


def test_load_demo_twice_gives_a_complete_catalog():
    call_command("load_demo")
    audit_rows = AuditEvent.objects.count()
    call_command("load_demo")
    assert AuditEvent.objects.count() == audit_rows

    versions = list(
        ItemVersion.objects.filter(status=PublicationStatus.PUBLISHED)
        .select_related("item__organisation")
        .prefetch_related("themes", "materials", "availabilities")
    )
    for version in versions:
        missing = [f for f in GUIDE_FIELDS if getattr(version, f) in (None, "", [])]
        assert not missing, (version, missing)
        assert version.themes.all(), version
        assert version.materials.all(), version
        assert version.availabilities.all(), version
        assert version.item.organisation.division.code[:2] == "21", version
        assert version.promised_limit == 0 or version.acceptance_mode == "promised"
        assert not version.fee_charged or version.fees

    cross_province = {
        v.item_id for v in versions for a in v.availabilities.all() if a.scope == "cross_province"
    }
    assert len(cross_province) >= 30
    assert {v.audience for v in versions} >= {"person", "company", "both"}
    assert Material.objects.filter(necessity="deficiency_allowed").exists()
    assert Material.objects.filter(licence_type__isnull=False).exists()
    assert Material.objects.filter(commitment_allowed=True, version__allows_commitment=True)
    assert {Scope.REGIONAL, Scope.IN_PROVINCE} <= set(
        Availability.objects.values_list("scope", flat=True)
    )
    field_types = {f["type"] for v in versions for f in v.form_fields}
    assert field_types >= {
        "text",
        "date",
        "choice",
        "division",
        "id_number",
        "uscc",
        "phone",
        "address",
        "number",
    }
    assert Organisation.objects.filter(name="辽宁省公安厅").exists()

    codes = set(ItemList.objects.values_list("code", flat=True))
    assert codes == {"national-cross-province", "northeast-regional", "liaoning-in-province"}
    for item_list in ItemList.objects.all():
        published = list(selectors.published_list_versions(item_list))
        assert len(published) >= 2, item_list
        newest, previous = published[0], published[1]
        assert newest.change_note and newest.effective_from <= selectors.today()
        diff = selectors.diff_list_versions(previous, newest)
        assert diff.added and diff.removed and diff.changed, item_list


def test_every_demo_licence_type_has_a_face_its_items_fill():
    call_command("load_demo")
    # The platform's own result-document types (licences/documents.py) are not the catalog's.
    types = list(LicenceType.objects.exclude(code__startswith=PLATFORM_DEFINING_BODY))
    assert len(types) == 19
    for licence_type in types:
        assert licence_type.face_fields, licence_type
        assert licence_type.issuer_kind, licence_type
    by_name = {t.name: t for t in types}
    assert by_name["营业执照"].valid_years is None  # 长期有效
    assert by_name["异地就医备案凭证"].valid_years == 1
    assert by_name["居民身份证"].valid_years == 10
    assert not by_name["居民身份证"].allow_multiple and by_name["排污许可证"].allow_multiple
    licence_face = [f["name"] for f in by_name["营业执照"].face_fields]
    assert licence_face[:3] == ["company_name", "uscc", "company_kind"]
    assert by_name["营业执照"].face_fields[1]["type"] == "uscc"

    producing = ItemVersion.objects.filter(
        status=PublicationStatus.PUBLISHED, result_type="licence"
    ).select_related("result_licence_type")
    produced = {v.result_licence_type.name for v in producing}
    assert {"营业执照", "居民户口簿", "居民身份证", "异地就医备案凭证"} <= produced
    for version in producing:
        form = {f["name"]: f for f in version.form_fields}
        for face in version.result_licence_type.face_fields:
            if face.get("required", True):
                assert face["name"] in form, (version, face["name"])
            if face["name"] in form:
                assert _fits(form[face["name"]], face), (version, face["name"])


def _fits(form_field: dict, face_field: dict) -> bool:
    """Whatever the form field accepts, the face field accepts too."""
    if face_field["type"] in ("text", "textarea"):
        return True
    if form_field["type"] != face_field["type"]:
        return False
    return set(form_field.get("choices", [])) <= set(face_field.get("choices", []))
