"""What sharing-request workflow definitions (`sharing/workflows/*.json`, format in
core/workflow.py) may say.

Sides (`scope`): `provider` — the staff of the organisation providing the resource;
`consumer` — the staff of the organisation asking for it; `authority` — a supervisor of
a division containing the provider (the data authority that settles disputes). Parties:
`consumer_node` (the node of a consuming organisation of another province, acting for it
through the federation) and `system`.

| State tag | Meaning |
| --- | --- |
| `with_provider` | the provider reviews it: its queue |
| `with_consumer` | refused; the consumer accepts or disputes |
| `with_authority` | the data authority settles a dispute |
| `outcome:<outcome>` | entering it records how the request ended |
"""

from __future__ import annotations

from pathlib import Path

from accounts.models import Role
from core.process import effects_registry, payloads_registry
from core.workflow import Vocabulary
from sharing.payloads import PAYLOADS

DEFINITIONS_DIR = Path(__file__).resolve().parent / "workflows"
PROVIDER, CONSUMER, AUTHORITY = "provider", "consumer", "authority"
CONSUMER_NODE, SYSTEM = "consumer_node", "system"
OUTCOMES = frozenset({"granted", "refused", "withdrawn"})

REQUEST_EFFECTS = effects_registry("sharing_request")
REQUEST_PAYLOADS = payloads_registry("sharing_request")
for _name, _schema in PAYLOADS.items():
    REQUEST_PAYLOADS.register(_name, _schema)

VOCABULARY = Vocabulary(
    kind="sharing_request",
    staff_roles=frozenset(Role.values),
    parties=frozenset({CONSUMER_NODE, SYSTEM}),
    scopes=frozenset({PROVIDER, CONSUMER, AUTHORITY}),
    tags=frozenset({"with_provider", "with_consumer", "with_authority"}),
    tag_params={"outcome": OUTCOMES},
    payloads=REQUEST_PAYLOADS,
    effects=REQUEST_EFFECTS,
    codes=frozenset({"sharing_request"}),
)
