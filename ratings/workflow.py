"""What rectification workflow definitions (`ratings/workflows/*.json`, format in
core/workflow.py) may say.

Sides (`scope`): `owner` — the organisation that did the rated part and answers for the
rectification (谁办理、谁负责: its reviewers, approvers, admins and window clerks);
`supervision` — a supervisor of a division containing it, never one of the owner's own
staff. Parties: `evaluator` (the citizen who gave the bad rating), `system`.

| State tag | Meaning |
| --- | --- |
| `with_owner` | the owning organisation has the next step: its queue |
| `with_supervisor` | a supervisor decides (申诉复核) |
| `awaiting_rerating` | the fix is done; the citizen is asked to rate it |
| `outcome:<outcome>` | entering it records how the rectification ended |
"""

from __future__ import annotations

from pathlib import Path

from accounts.models import Role
from core.process import effects_registry, payloads_registry
from core.workflow import Vocabulary
from ratings.payloads import PAYLOADS

DEFINITIONS_DIR = Path(__file__).resolve().parent / "workflows"
OWNER, SUPERVISION = "owner", "supervision"
EVALUATOR, SYSTEM = "evaluator", "system"
OUTCOMES = frozenset({"rectified", "unrated", "annulled"})

RECTIFICATION_EFFECTS = effects_registry("rectification")
RECTIFICATION_PAYLOADS = payloads_registry("rectification")
for _name, _schema in PAYLOADS.items():
    RECTIFICATION_PAYLOADS.register(_name, _schema)

VOCABULARY = Vocabulary(
    kind="rectification",
    staff_roles=frozenset(Role.values),
    parties=frozenset({EVALUATOR, SYSTEM}),
    scopes=frozenset({OWNER, SUPERVISION}),
    tags=frozenset({"with_owner", "with_supervisor", "awaiting_rerating"}),
    tag_params={"outcome": OUTCOMES},
    payloads=RECTIFICATION_PAYLOADS,
    effects=RECTIFICATION_EFFECTS,
    codes=frozenset({"rectification"}),
)
