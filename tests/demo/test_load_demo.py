"""The demo data: loads through the catalog import, twice without change, and gives every
page something real to show (complete guides, three lists with a history)."""

from __future__ import annotations

import json

from django.core.management import call_command

from catalog import selectors
from catalog.models import (
    Availability,
    ItemList,
    ItemVersion,
    Material,
    PublicationStatus,
    Scope,
)
from catalog.transfer import dump_catalog
from core.models import AuditEvent, Organisation
from demo.management.commands.load_demo import DEMO_CATALOG

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


def test_demo_file_is_what_export_writes():
    call_command("load_demo")
    exported = json.loads(dump_catalog("catalog.json"))
    assert exported == json.loads(DEMO_CATALOG.read_text(encoding="utf-8"))
