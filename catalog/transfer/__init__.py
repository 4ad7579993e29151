"""The catalog exchange format: import and export of the whole catalog as one table.

A catalog file is a sequence of records, each naming its kind in the `record` column
(organisation, licence_type, face_field, scheme, item, material, form_field, availability,
list, list_version, list_entry) and filling the columns of that kind. The same table is written
as CSV, XLSX or JSON, chosen by the file's extension. `docs/catalog-format.md` describes
every kind and column.

- `columns`: the kinds, their columns, and the text of a cell ⇄ a value.
- `files`: the three encodings, and the guards on a file (type, size, encoding, damage).
- `exporting`: the catalog in the database as records.
- `importing`: a file into the database through the services, all or nothing.
"""

from __future__ import annotations

from pathlib import Path

from catalog.transfer.columns import HEADER, KINDS, Record
from catalog.transfer.exporting import catalog_records
from catalog.transfer.files import (
    EXTENSIONS,
    FORMAT_NAME,
    FORMAT_VERSION,
    check_size,
    encoding_of,
    read_sheet,
    write_sheet,
)
from catalog.transfer.importing import ImportResult, Progress, import_sheet
from core.actors import Actor
from core.exceptions import RuleViolation

__all__ = [
    "EXTENSIONS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HEADER",
    "KINDS",
    "ImportResult",
    "Progress",
    "Record",
    "dump_catalog",
    "encoding_of",
    "export_catalog",
    "import_catalog",
    "load_catalog",
]


def load_catalog(
    data: bytes,
    filename: str,
    *,
    actor: Actor,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the catalog file `data` named `filename` (its extension chooses the
    encoding). All or nothing: on any problem raise RuleViolation naming every row."""
    return import_sheet(read_sheet(data, filename), actor=actor, dry_run=dry_run, progress=progress)


def import_catalog(
    path: Path | str,
    *,
    actor: Actor,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportResult:
    """Import the catalog file at `path`; see `load_catalog`."""
    path = Path(path)
    encoding_of(path.name)
    try:
        check_size(path.stat().st_size)
        data = path.read_bytes()
    except OSError as exc:
        raise RuleViolation(
            "catalog_file_unreadable", f"无法读取文件 {path}：{exc.strerror}"
        ) from exc
    return load_catalog(data, path.name, actor=actor, dry_run=dry_run, progress=progress)


def dump_catalog(filename: str) -> bytes:
    """The published catalog encoded as the file `filename` names (.csv, .xlsx, .json)."""
    encoding_of(filename)
    return write_sheet([record.cells() for record in catalog_records()], filename)


def export_catalog(path: Path | str) -> int:
    """Write the published catalog to `path`; return the number of records written."""
    path = Path(path)
    records = [record.cells() for record in catalog_records()]
    path.write_bytes(write_sheet(records, path.name))
    return len(records)
