"""What ticket workflow definitions (`hotline/workflows/*.json`, format in core/workflow.py)
may say: who acts for which side of a ticket, the state tags the rest of the code asks
about, the payloads and the effects.

Sides (`scope`) of a ticket: `centre` — the 12345 centre that took it (its agents accept,
dispatch, call back, close); `lead` — the organisation it is dispatched to (主办);
`co` — a co-organiser (协办). Parties: `caller`, `system`.

| State tag | Meaning |
| --- | --- |
| `at_centre` | the centre has the next step: the agent's queue |
| `with_organisation` | an organisation has it: the organisation's inbox |
| `dispatch_pending` | waiting to be (re-)dispatched |
| `merge_target` | open: a duplicate may be merged into it |
| `notify_caller` | entering it tells a signed-in caller |
| `outcome:<outcome>` | entering it records how the ticket ended |

Action tags: `rate:<event>` — the action completes a service event the caller may rate
(好差评: `consultation` answered on the spot, `handling` closed after reply and callback).
"""

from __future__ import annotations

from pathlib import Path

from accounts.models import Role
from core.process import effects_registry, payloads_registry
from core.workflow import Vocabulary
from hotline.payloads import PAYLOADS

DEFINITIONS_DIR = Path(__file__).resolve().parent / "workflows"
CENTRE, LEAD, CO = "centre", "lead", "co"
CALLER, SYSTEM = "caller", "system"
OUTCOMES = frozenset({"resolved", "answered", "refused", "merged"})
RATED_EVENTS = frozenset({"consultation", "handling"})

TICKET_EFFECTS = effects_registry("ticket")
TICKET_PAYLOADS = payloads_registry("ticket")
for _name, _schema in PAYLOADS.items():
    TICKET_PAYLOADS.register(_name, _schema)

VOCABULARY = Vocabulary(
    kind="ticket",
    staff_roles=frozenset(Role.values),
    parties=frozenset({CALLER, SYSTEM}),
    scopes=frozenset({CENTRE, LEAD, CO}),
    tags=frozenset(
        {"at_centre", "with_organisation", "dispatch_pending", "merge_target", "notify_caller"}
    ),
    tag_params={"outcome": OUTCOMES},
    action_tag_params={"rate": RATED_EVENTS},
    payloads=TICKET_PAYLOADS,
    effects=TICKET_EFFECTS,
    codes=frozenset({"ticket"}),
)
