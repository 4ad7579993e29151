"""Stored workflow definitions in the second format: the same states and transitions,
now carrying state tags, payloads and effects (core/workflow.py). A stored definition is
replaced by the shipped file of the same code and version only when both describe the
same graph — same states, and the same actions with the same sources, target, actors,
clock and note rule — so no running case changes course. Each case then records the
outcome its timeline reached (`outcome:<x>` tags of the states it entered)."""

import hashlib
import json
from pathlib import Path

from django.db import migrations

# The version-1 definitions in the second format, as they were shipped with this change
# (later releases ship later versions in cases/workflows/).
WORKFLOWS = Path(__file__).resolve().parent / "workflows_v1"


def _graph(raw):
    actions = sorted(
        (
            a["name"],
            tuple(a["from"]),
            a["to"],
            tuple(sorted((b["role"], b.get("scope") or "") for b in a["by"])),
            a.get("clock") or "",
            bool(a.get("note_required")),
        )
        for a in raw["actions"]
    )
    return (raw["initial"], tuple(sorted(raw["states"])), tuple(actions))


def _checksum(raw):
    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def upgrade(apps, schema_editor):
    WorkflowDefinition = apps.get_model("cases", "WorkflowDefinition")
    Case = apps.get_model("cases", "Case")
    CaseEvent = apps.get_model("cases", "CaseEvent")
    shipped = {}
    for path in WORKFLOWS.glob("*.json"):
        raw = json.loads(path.read_text(encoding="utf-8"))
        shipped[(raw["code"], raw["version"])] = raw
    outcomes = {}
    for stored in WorkflowDefinition.objects.all():
        raw = stored.definition
        if "kind" not in raw:
            new = shipped.get((stored.code, stored.version))
            if new is None or _graph(new) != _graph(raw):
                raise RuntimeError(
                    f"stored workflow {stored.code} v{stored.version} has no shipped "
                    "counterpart with the same graph; it cannot be upgraded"
                )
            stored.definition, stored.checksum = new, _checksum(new)
            stored.save(update_fields=["definition", "checksum"])
            raw = new
        outcomes[stored.pk] = {
            name: tag.split(":", 1)[1]
            for name, spec in raw["states"].items()
            for tag in spec.get("tags", [])
            if tag.startswith("outcome:")
        }
    for case in Case.objects.filter(outcome="").only("pk", "workflow_id"):
        ends = outcomes.get(case.workflow_id, {})
        reached = [
            ends[state]
            for state in CaseEvent.objects.filter(case_id=case.pk)
            .order_by("at", "id")
            .values_list("to_state", flat=True)
            if state in ends
        ]
        if reached:
            Case.objects.filter(pk=case.pk).update(outcome=reached[-1])


class Migration(migrations.Migration):
    dependencies = [("cases", "0006_case_process_fields")]
    operations = [migrations.RunPython(upgrade, migrations.RunPython.noop)]
