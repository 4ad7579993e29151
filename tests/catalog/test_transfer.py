"""The catalog exchange format: the three encodings, validation of every row (all or
nothing), idempotency, the round trip, and the two commands."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from openpyxl import load_workbook

from catalog import selectors
from catalog.models import (
    ItemList,
    ItemVersion,
    LicenceType,
    ListVersion,
    Material,
    ServiceItem,
)
from catalog.services import draft_item_version, publish_item_version, save_licence_type
from catalog.transfer import (
    FORMAT_NAME,
    dump_catalog,
    export_catalog,
    import_catalog,
    load_catalog,
)
from catalog.transfer.files import read_sheet, write_sheet
from core.actors import SystemActor
from core.exceptions import RuleViolation
from core.models import AuditEvent, Organisation
from tests import builders

ORG = builders.valid_uscc(901, "210000")
LICENCE = builders.valid_uscc(902, "100000") + "001"
ITEM = "210000-TEST-0001"


def small_catalog() -> list[dict[str, str]]:
    """A complete little catalog: one organisation, one item, one list with two versions."""
    item_ref = {"item": ITEM, "version": "1"}
    return [
        {"record": "organisation", "uscc": ORG, "name": "辽宁省公安厅", "division": "210000"},
        {
            "record": "licence_type",
            "code": LICENCE,
            "name": "居民户口簿",
            "defining_organisation": "公安部",
        },
        {
            "record": "item",
            "basic_code": "000107001000",
            "implementation_code": ITEM,
            "organisation": ORG,
            "division": "210000",
            "version": "1",
            "effective_from": "2021-01-01",
            "name": "开具户籍类证明",
            "category_code": "20",
            "handling_level": "province",
            "audience": "person",
            "themes": "household;certification",
            "conditions": "本省户籍居民。",
            "application_channels": "online;window",
            "acceptance_mode": "on_the_spot",
            "procedure_steps": "受理;审查;出具证明",
            "legal_limit": "1",
            "promised_limit": "0",
            "result_type": "certificate",
            "result_name": "户籍证明",
            "result_delivery": "electronic",
            "legal_basis": "《中华人民共和国户口登记条例》",
            "consultation_phone": "12345",
        },
        {
            "record": "material",
            **item_ref,
            "name": "居民户口簿",
            "necessity": "required",
            "source_type": "government",
            "originals": "1",
            "licence_type": LICENCE,
        },
        {
            "record": "form_field",
            **item_ref,
            "name": "purpose",
            "label": "证明用途",
            "type": "choice",
            "choices": "入学;就业;其他",
        },
        {
            "record": "availability",
            **item_ref,
            "scope": "cross_province",
            "mode": "online",
        },
        {
            "record": "list",
            "code": "test-list",
            "name": "测试清单",
            "scope": "cross_province",
        },
        {
            "record": "list_version",
            "list": "test-list",
            "version": "1",
            "effective_from": "2021-06-01",
            "change_note": "首次发布",
        },
        {
            "record": "list_entry",
            "list": "test-list",
            "version": "1",
            "item": ITEM,
            "modes": "online",
        },
    ]


def as_file(records: list[dict[str, Any]], suffix: str) -> tuple[bytes, str]:
    name = f"catalog{suffix}"
    return write_sheet(records, name), name


def import_records(records: list[dict[str, Any]], suffix: str = ".json", **kwargs: Any):
    data, name = as_file(records, suffix)
    return load_catalog(data, name, actor=SystemActor("test"), **kwargs)


def problems_of(records: list[dict[str, Any]], suffix: str = ".json") -> set[tuple[int, str]]:
    with pytest.raises(RuleViolation) as info:
        import_records(records, suffix)
    assert info.value.code == "catalog_import_invalid"
    return {(p.row, p.field) for p in info.value.problems}


def cells(data: bytes, filename: str) -> list[dict[str, str]]:
    return [r.cells for r in read_sheet(data, filename).records]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json"])
def test_import_each_encoding(suffix):
    result = import_records(small_catalog(), suffix)
    assert result.count("item_version", "created") == 1
    version = selectors.current_version_of(ITEM)
    assert version.name == "开具户籍类证明"
    assert version.procedure_steps == [{"name": "受理"}, {"name": "审查"}, {"name": "出具证明"}]
    assert sorted(t.code for t in version.themes.all()) == ["certification", "household"]
    assert version.form_fields == [
        {
            "name": "purpose",
            "label": "证明用途",
            "type": "choice",
            "choices": ["入学", "就业", "其他"],
        }
    ]
    assert version.materials.get().licence_type.name == "居民户口簿"
    list_version = ListVersion.objects.get(item_list__code="test-list")
    assert list_version.is_published and list_version.entries.get().item_version == version


def test_csv_with_and_without_bom_and_chinese_labels():
    records = small_catalog()
    records[2] |= {"audience": "自然人", "acceptance_mode": "即办件", "result_type": "证明"}
    data, name = as_file(records, ".csv")
    assert data.startswith(b"\xef\xbb\xbf")
    load_catalog(data[3:], name, actor=SystemActor("test"))
    version = selectors.current_version_of(ITEM)
    assert (version.audience, version.acceptance_mode) == ("person", "on_the_spot")


def test_import_twice_changes_nothing():
    first = import_records(small_catalog())
    audit_rows = AuditEvent.objects.count()
    second = import_records(small_catalog())
    assert first.changed > 0
    assert second.changed == 0
    assert second.count("item_version", "unchanged") == 1
    assert AuditEvent.objects.count() == audit_rows


def test_changed_published_version_is_refused_with_its_row():
    import_records(small_catalog())
    records = small_catalog()
    records[2]["conditions"] = "任何人。"
    records[3]["originals"] = "2"
    with pytest.raises(RuleViolation) as info:
        import_records(records)
    [problem] = info.value.problems
    assert (problem.row, problem.field) == (3, "version")
    assert "已发布版本不可修改，请新增版本号" in problem.reason
    assert "申请条件" in problem.reason and "申请材料" in problem.reason


def test_published_item_keeps_its_organisation():
    import_records(small_catalog())
    records = small_catalog()
    other = builders.valid_uscc(903, "210100")
    records.insert(
        1, {"record": "organisation", "uscc": other, "name": "沈阳市公安局", "division": "210100"}
    )
    records[3]["organisation"] = other
    assert problems_of(records) == {(4, "organisation")}


def test_new_version_number_is_added_and_master_data_updated():
    import_records(small_catalog())
    records = small_catalog()
    records[0]["short_name"] = "省公安厅"
    item_row = records[2] | {"version": "2", "effective_from": "2022-01-01"}
    item_row |= {"change_note": "增加邮寄送达", "result_delivery": "electronic;post"}
    records += [item_row, *(r | {"version": "2"} for r in records[3:6])]
    result = import_records(records)
    assert result.count("organisation", "updated") == 1
    assert result.count("item_version", "created") == 1
    assert Organisation.objects.get(uscc=ORG).short_name == "省公安厅"
    assert selectors.current_version_of(ITEM).number == 2


BAD_ROWS = {
    "unknown kind": (1, "record", {"record": "department"}),
    "missing required": (3, "conditions", {"conditions": ""}),
    "unknown division": (1, "division", {"division": "999999"}),
    "invalid uscc": (1, "uscc", {"uscc": "91110000600037341X"}),
    "unknown theme": (3, "themes", {"themes": "household;holidays"}),
    "bad date": (3, "effective_from", {"effective_from": "2021-13-01"}),
    "bad number": (3, "legal_limit", {"legal_limit": "二十"}),
    "bad choice": (3, "audience", {"audience": "everyone"}),
    "unknown category": (3, "category_code", {"category_code": "77"}),
    "unknown licence type": (4, "licence_type", {"licence_type": "X" * 21}),
    "bad form field": (5, "choices", {"choices": "", "type": "choice"}),
    "bad form field name": (5, "name", {"name": "证明用途"}),
    "promised over legal": (
        3,
        "promised_limit",
        {"acceptance_mode": "promised", "promised_limit": "5"},
    ),
    "unknown scheme": (6, "scheme", {"scope": "regional", "scheme": "nowhere"}),
    "entry not offered": (9, "item", {"modes": "proxy"}),
    "column of another kind": (4, "scope", {"scope": "regional"}),
    "row without its version": (4, "item", {"version": "2"}),
    "licence type code": (2, "code", {"code": "11100000000013338W01"}),
    "list scheme outside regional": (7, "scheme", {"scheme": "northeast"}),
}


@pytest.mark.parametrize("case", BAD_ROWS, ids=list(BAD_ROWS))
def test_bad_row_is_named_and_nothing_is_imported(case):
    row, field, change = BAD_ROWS[case]
    records = small_catalog()
    records[row - 1] |= change
    orgs = Organisation.objects.count()
    found = problems_of(records)
    assert (row, field) in found, found
    assert not ServiceItem.objects.exists()
    assert not LicenceType.objects.exists()
    assert Organisation.objects.count() == orgs


def test_every_problem_is_reported_once_with_spreadsheet_rows():
    records = small_catalog()
    records[0]["division"] = "999999"  # the organisation: its item and the list are skipped
    records[3]["necessity"] = "maybe"
    records[8]["modes"] = "online;teleport"
    found = problems_of(records, ".xlsx")
    assert found == {(2, "division"), (5, "necessity"), (10, "modes")}


def test_list_version_effective_before_predecessor():
    records = small_catalog()
    records += [
        records[7] | {"version": "2", "effective_from": "2021-03-01", "change_note": "调整"},
        records[8] | {"version": "2"},
    ]
    assert (10, "effective_from") in problems_of(records)
    assert not ItemList.objects.exists()


def test_dry_run_writes_nothing():
    result = import_records(small_catalog(), dry_run=True)
    assert result.dry_run and result.count("item_version", "created") == 1
    assert not ServiceItem.objects.exists()


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("catalog.txt", b"record\n", "catalog_file_type"),
        ("catalog.csv", "record,name\n组织,辽宁".encode("gbk"), "catalog_file_encoding"),
        ("catalog.xlsx", b"PK\x03\x04 not really a workbook", "catalog_file_unreadable"),
        ("catalog.json", b'{"format": "other", "records": []}', "catalog_file_invalid"),
        ("catalog.json", b"{broken", "catalog_file_unreadable"),
        ("catalog.csv", b"name,code\n", "catalog_file_invalid"),
    ],
)
def test_file_guards(name, data, code):
    with pytest.raises(RuleViolation) as info:
        load_catalog(data, name, actor=SystemActor("test"))
    assert info.value.code == code


def test_file_too_large(settings, tmp_path):
    settings.CATALOG_IMPORT_MAX_BYTES = 100
    path = tmp_path / "catalog.json"
    path.write_bytes(write_sheet(small_catalog(), "catalog.json"))
    with pytest.raises(RuleViolation) as info:
        import_catalog(path, actor=SystemActor("test"))
    assert info.value.code == "catalog_file_too_large"


def test_unknown_header_column_is_a_problem_of_row_one():
    data, name = as_file(small_catalog(), ".csv")
    text = data.decode("utf-8-sig").replace("record,", "record,colour,", 1)
    with pytest.raises(RuleViolation) as info:
        load_catalog(text.encode(), name, actor=SystemActor("test"))
    assert (1, "colour") in {(p.row, p.field) for p in info.value.problems}


class _Rollback(Exception):
    pass


# A licence face using every column of a field. The builders' item form has `reason`
# only, so the other face fields are optional (publishing checks the required ones).
FACE = [
    {"name": "reason", "label": "迁入事由", "type": "text", "max_length": 200},
    {
        "name": "kind",
        "label": "户别",
        "type": "choice",
        "choices": ["家庭户", "集体户"],
        "required": False,
    },
    {
        "name": "members",
        "label": "户内人数",
        "type": "number",
        "required": False,
        "min": "1",
        "max": "99.5",
    },
    {
        "name": "moved_on",
        "label": "迁入日期",
        "type": "date",
        "required": False,
        "help": "以准迁日期为准",
    },
]


def _build_catalog() -> None:
    """A catalog with two versions of an item (its result a licence with a face), a
    regional scheme and two list versions."""
    scheme = builders.northeast_scheme()
    licence = builders.licence_type()
    save_licence_type(
        code=licence.code,
        name=licence.name,
        defining_organisation="公安部",
        issuer_kind="公安派出所",
        face_fields=FACE,
        valid_years=3,
        allow_multiple=True,
        actor=SystemActor("t"),
    )
    licence.refresh_from_db()
    org = builders.organisation("辽宁省公安厅", "210000")
    first = builders.item(
        "开具户籍类证明",
        org=org,
        scopes=(("cross_province", "online"), ("regional", "proxy")),
        scheme=scheme,
        fee_charged=True,
        fees=[{"name": "工本费", "amount": "10", "basis": "《户口登记条例》"}],
        special_procedures=[{"name": "实地核查", "limit": 5}],
        result_type="licence",
        result_licence_type=licence,
    )
    second = draft_item_version(
        first.item, effective_from=dt.date(2025, 1, 1), actor=SystemActor("t")
    )
    second.promised_limit = 5
    second.procedure_steps = [{"name": "受理", "role": "窗口"}, {"name": "决定"}]
    second.allows_commitment = True
    second.classified = True
    second.save()
    second.materials.filter(name="结婚证").update(commitment_allowed=True)
    publish_item_version(second, actor=SystemActor("t"))
    other = builders.item("失业登记", org=org, themes=("employment",))
    lst = builders.item_list()
    builders.list_version(lst, [first, other])
    builders.list_version(lst, [first], number=2, effective_from=dt.date(2025, 6, 1))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json"])
def test_round_trip_reproduces_the_catalog(suffix):
    name = f"catalog{suffix}"
    with pytest.raises(_Rollback), transaction.atomic():
        _build_catalog()
        exported = dump_catalog(name)
        raise _Rollback
    assert not ServiceItem.objects.exists()
    load_catalog(exported, name, actor=SystemActor("test"))
    assert cells(dump_catalog(name), name) == cells(exported, name)
    assert ItemVersion.objects.filter(status="published").count() == 3
    licence = LicenceType.objects.get()
    assert licence.face_fields == FACE
    assert (licence.issuer_kind, licence.valid_years, licence.allow_multiple) == (
        "公安派出所",
        3,
        True,
    )
    assert Material.objects.filter(commitment_allowed=True, version__number=2).count() == 1
    assert list(ItemVersion.objects.filter(classified=True).values_list("number", flat=True)) == [2]
    new, old = ListVersion.objects.order_by("-number")
    diff = selectors.diff_list_versions(old, new)
    assert len(diff.removed) == 1 and len(diff.changed) == 1


def test_structured_cells_short_and_json_forms():
    _build_catalog()
    rows = cells(dump_catalog("c.json"), "c.json")
    items = [r for r in rows if r["record"] == "item"]
    assert items[0]["fees"] == "工本费|10|《户口登记条例》"
    assert items[0]["special_procedures"] == "实地核查:5"
    assert items[0]["procedure_steps"] == "受理;审查;决定"
    assert json.loads(items[1]["procedure_steps"])[0] == {"name": "受理", "role": "窗口"}


def test_xlsx_keeps_codes_as_text():
    _build_catalog()
    workbook = load_workbook(io.BytesIO(dump_catalog("c.xlsx")))
    sheet = workbook["catalog"]
    header = [c.value for c in sheet[1]]
    column = header.index("basic_code") + 1
    values = [sheet.cell(row=r, column=column).value for r in range(2, sheet.max_row + 1)]
    assert all(isinstance(v, str) for v in values if v is not None)


def test_commands_import_export_and_report(tmp_path, capsys):
    good = tmp_path / "good.json"
    good.write_bytes(write_sheet(small_catalog(), "good.json"))
    call_command("import_catalog", str(good), "--dry-run")
    assert not ServiceItem.objects.exists()
    call_command("import_catalog", str(good))
    assert ServiceItem.objects.count() == 1

    out = tmp_path / "out.xlsx"
    call_command("export_catalog", str(out))
    assert {r["record"] for r in cells(out.read_bytes(), "out.xlsx")} >= {"item", "list_entry"}

    bad_records = small_catalog()
    bad_records[2]["version"] = "2"
    bad_records[2]["effective_from"] = "2020-01-01"
    for record in bad_records[3:6]:
        record["version"] = "2"
    bad = tmp_path / "bad.json"
    bad.write_bytes(write_sheet(bad_records, "bad.json"))
    with pytest.raises(CommandError):
        call_command("import_catalog", str(bad))
    report = capsys.readouterr().err
    assert "effective_from" in report and "3" in report
    assert ItemVersion.objects.count() == 1


def test_json_document_shape(tmp_path):
    import_records(small_catalog())
    path = Path(tmp_path / "c.json")
    count = export_catalog(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == FORMAT_NAME and document["format_version"] == 1
    assert len(document["records"]) == count
    assert document["records"][0] == {
        "record": "organisation",
        "uscc": ORG,
        "name": "辽宁省公安厅",
        "kind": "department",
        "division": "210000",
    }


def test_examples_of_the_format_document_import_as_one_catalog():
    text = (Path(__file__).resolve().parents[2] / "docs" / "catalog-format.md").read_text()
    *snippets, csv_example = [b.split("```", 1)[0] for b in text.split("```csv\n")[1:]]
    json_example = text.split("```json\n", 1)[1].split("```", 1)[0]
    for snippet in snippets:  # the examples of single record kinds
        assert load_catalog(snippet.encode(), "snippet.csv", actor=SystemActor("test")).changed
    first = load_catalog(csv_example.encode(), "example.csv", actor=SystemActor("test"))
    second = load_catalog(json_example.encode(), "example.json", actor=SystemActor("test"))
    assert first.count("list_version", "created") == 1
    assert second.changed == 0
    assert [f["name"] for f in LicenceType.objects.get().face_fields] == [
        "applicant_name",
        "insured_division",
        "filing_kind",
        "start_date",
    ]


# Licence types: their validity, issuer kind and face ------------------------------------


def with_face(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`small_catalog` with a described licence type: rows 2-5 are the type and its face."""
    face = [
        {"name": "applicant_name", "label": "姓名", "type": "text"},
        {"name": "household_kind", "label": "户别", "type": "choice", "choices": "家庭户;集体户"},
        {"name": "household_address", "label": "住址", "type": "address", "required": "false"},
    ]
    records[1] |= {"issuer_kind": "公安派出所", "valid_years": "", "allow_multiple": "false"}
    return [
        records[0],
        records[1],
        *({"record": "face_field", "licence_type": LICENCE, **f} for f in face),
        *records[2:],
    ]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json"])
def test_licence_type_face_round_trip(suffix):
    records = with_face(small_catalog())
    records[1] |= {"valid_years": "5", "allow_multiple": "是"}
    import_records(records, suffix)
    licence = LicenceType.objects.get()
    assert (licence.issuer_kind, licence.valid_years, licence.allow_multiple) == (
        "公安派出所",
        5,
        True,
    )
    assert licence.face_fields == [
        {"name": "applicant_name", "label": "姓名", "type": "text"},
        {
            "name": "household_kind",
            "label": "户别",
            "type": "choice",
            "choices": ["家庭户", "集体户"],
        },
        {"name": "household_address", "label": "住址", "type": "address", "required": False},
    ]
    name = f"catalog{suffix}"
    rows = cells(dump_catalog(name), name)
    assert [r["record"] for r in rows[:6]] == [
        "organisation",
        "licence_type",
        "face_field",
        "face_field",
        "face_field",
        "item",
    ]
    assert rows[1] == {
        "record": "licence_type",
        "code": LICENCE,
        "name": "居民户口簿",
        "defining_organisation": "公安部",
        "holder_kind": "person",
        "issuer_kind": "公安派出所",
        "valid_years": "5",
        "allow_multiple": "true",
    }
    assert rows[3] == {
        "record": "face_field",
        "licence_type": LICENCE,
        "name": "household_kind",
        "label": "户别",
        "type": "choice",
        "required": "true",
        "choices": "家庭户;集体户",
    }
    again = import_records(records, suffix)
    assert again.changed == 0 and again.count("licence_type", "unchanged") == 1


def test_changed_face_updates_the_licence_type_and_no_face_rows_clear_it():
    import_records(with_face(small_catalog()))
    records = with_face(small_catalog())
    records[2]["label"] = "持证人姓名"
    del records[4]
    result = import_records(records)
    assert result.count("licence_type", "updated") == 1
    face = LicenceType.objects.get().face_fields
    assert [(f["name"], f["label"]) for f in face] == [
        ("applicant_name", "持证人姓名"),
        ("household_kind", "户别"),
    ]
    assert LicenceType.objects.get().valid_years is None  # empty: 长期有效
    import_records(small_catalog())
    assert LicenceType.objects.get().face_fields == []


BAD_FACE_ROWS = {
    "bad field name": (3, "name", {"name": "姓名"}),
    "unknown field type": (3, "type", {"type": "colour"}),
    "choice without choices": (4, "choices", {"choices": ""}),
    "choices on a text field": (3, "choices", {"choices": "甲;乙"}),
    "min above max": (5, "max", {"type": "number", "min": "5", "max": "1"}),
    "duplicate field name": (4, "name", {"name": "applicant_name", "choices": ""}),
    "missing label": (5, "label", {"label": ""}),
    "licence type not in the file": (3, "licence_type", {"licence_type": "X" * 21}),
    "validity of zero years": (2, "valid_years", {"valid_years": "0"}),
    "validity not a number": (2, "valid_years", {"valid_years": "长期"}),
    "bad allow_multiple": (2, "allow_multiple", {"allow_multiple": "maybe"}),
    "face column on an item row": (6, "label", {"label": "事项"}),
}


@pytest.mark.parametrize("case", BAD_FACE_ROWS, ids=list(BAD_FACE_ROWS))
def test_bad_face_row_is_named_and_nothing_is_imported(case):
    row, field, change = BAD_FACE_ROWS[case]
    records = with_face(small_catalog())
    if case == "duplicate field name":
        change = {**change, "type": "text"}
    records[row - 1] |= change
    found = problems_of(records)
    assert (row, field) in found, found
    assert not LicenceType.objects.exists()
    assert not ServiceItem.objects.exists()
    assert not Organisation.objects.filter(uscc=ORG).exists()


def test_bad_face_fields_keep_the_stored_face():
    import_records(with_face(small_catalog()))
    stored = LicenceType.objects.get().face_fields
    records = with_face(small_catalog())
    records[3]["type"] = "number"
    records[3]["min"] = "一"
    assert problems_of(records) == {(4, "min")}
    assert LicenceType.objects.get().face_fields == stored


def test_licence_result_needs_the_face_in_the_form():
    records = with_face(small_catalog())
    records[5] |= {
        "result_type": "licence",
        "result_licence_type": LICENCE,
        "acceptance_mode": "promised",
        "promised_limit": "1",
    }
    # The form has `purpose` only: the required face fields applicant_name and
    # household_kind have nothing to be taken from when the licence is issued.
    [problem] = [p for p in _problems(records) if p.field == "result_licence_type"]
    assert problem.row == 6
    assert "applicant_name（姓名）" in problem.reason and "household_kind（户别）" in problem.reason
    assert "household_address" not in problem.reason  # not required
    assert not ServiceItem.objects.exists()


def _problems(records: list[dict[str, Any]]):
    with pytest.raises(RuleViolation) as info:
        import_records(records)
    return info.value.problems


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://evil.example","点此")', "+1+2", "-2+3", "@SUM(A1)", "\t=1", "'=1", "'"],
)
def test_csv_export_escapes_formulas_and_reads_them_back(text):
    """Decision 86: a cell a spreadsheet would run is written with a leading quote, and
    the quote is taken off again on import, so the round trip keeps the text."""
    import csv
    import io

    records = [{"record": "item", "code": "X1", "name": text}]
    data = write_sheet(records, "catalog.csv")
    header, row = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert row[header.index("name")] == "'" + text
    assert read_sheet(data, "catalog.csv").records[0].cells["name"] == text.strip()
