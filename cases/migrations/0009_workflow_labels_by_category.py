"""Words from the item's category (issue 9): a decision reads 准予许可 / 不予许可 only on a
行政许可 item; every other item reads 准予办理 / 不予办理. Version 3 of the shipped case
workflows says so with labels per category. The stored definitions that running cases are
pinned to (versions 1 and 2 in the current format) get the same labels in place: only
labels change, never the graph, so no running case changes course — the way 0007 upgraded
the format."""

import hashlib
import json

from django.db import migrations

# (part, name) -> (plain label, 行政许可 label)
LABELS = {
    ("states", "approved"): ("准予办理", "准予许可"),
    ("states", "denied"): ("不予办理", "不予许可"),
    ("actions", "approve"): ("准予办理", "准予许可"),
    ("actions", "deny"): ("不予办理", "不予许可"),
}
LICENSING = "01"


def _checksum(raw):
    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _relabel(raw):
    changed = False
    for name, spec in raw.get("states", {}).items():
        words = LABELS.get(("states", name))
        if words and spec.get("label") == words[1] and not spec.get("labels"):
            spec["label"], spec["labels"] = words[0], {LICENSING: words[1]}
            changed = True
    for spec in raw.get("actions", []):
        words = LABELS.get(("actions", spec.get("name")))
        if words and spec.get("label") == words[1] and not spec.get("labels"):
            spec["label"], spec["labels"] = words[0], {LICENSING: words[1]}
            changed = True
    return changed


def relabel(apps, schema_editor):
    WorkflowDefinition = apps.get_model("cases", "WorkflowDefinition")
    for stored in WorkflowDefinition.objects.filter(version__lt=3):
        raw = stored.definition
        if "kind" in raw and _relabel(raw):
            stored.definition, stored.checksum = raw, _checksum(raw)
            stored.save(update_fields=["definition", "checksum"])


def unlabel(apps, schema_editor):
    WorkflowDefinition = apps.get_model("cases", "WorkflowDefinition")
    for stored in WorkflowDefinition.objects.filter(version__lt=3):
        raw = stored.definition
        specs = [*raw.get("states", {}).values(), *raw.get("actions", [])]
        touched = False
        for spec in specs:
            licensing = spec.get("labels", {}).get(LICENSING)
            if licensing and tuple(spec.get("labels")) == (LICENSING,):
                spec["label"] = licensing
                del spec["labels"]
                touched = True
        if touched:
            stored.definition, stored.checksum = raw, _checksum(raw)
            stored.save(update_fields=["definition", "checksum"])


class Migration(migrations.Migration):
    dependencies = [("cases", "0008_add_case_scope_place")]
    operations = [migrations.RunPython(relabel, unlabel)]
