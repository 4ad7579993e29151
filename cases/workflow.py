"""What case workflow definitions (`cases/workflows/<mode>.json`, format in core/workflow.py)
may say: the case vocabulary — who acts for which side, the state tags the rest of the
code asks about, the payloads and the effects.

State tags of cases:

| Tag | Meaning |
| --- | --- |
| `before_submission` | the applicant side is still preparing: commitments can be signed, the window's intake steps run |
| `materials_open` | the applicant side may add or replace materials |
| `awaiting_supplement` | a 补正 request is open; the applicant is shown what to give |
| `awaiting_payment` | the case waits for its fees and postage to be paid (cases/payment.py) |
| `decided` | the handling side is done: the handling segment of a two-node case ends here |
| `result_delivery` | the result is being or has been handed over |
| `steps_running` | the 多地联办 steps are running |
| `post:<purpose>` | a parcel of that purpose (`materials`, `supplement`, `result`) may be posted |
| `outcome:<outcome>` | entering the state records how the case ended (`approved`, `denied` …) |

Action tags: `rate:<event>` — the action completes a service event the applicant is asked
to rate (好差评: `consultation`, `application`, `supplement`, `payment`, `result`,
`delivery`); listeners registered with `cases.engine.on_transition` act on it.

Effects are registered by the modules that own them in `CasesConfig.ready()`; see
docs/checklists.md for adding a state, an action or an effect.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from accounts.models import Role
from cases.models import Case, ClockPause, WorkflowDefinition
from cases.payloads import PAYLOADS
from catalog.models import ItemVersion, Mode
from catalog.offers import WINDOW
from core.exceptions import ProblemList
from core.process import Effect, effects_registry, payloads_registry
from core.registry import Registry
from core.workflow import ActionSpec, Definition, Vocabulary, parse_stored
from delivery.models import Shipment

DEFINITIONS_DIR = Path(__file__).resolve().parent / "workflows"
APPLICANT, SYSTEM = "applicant", "system"
HANDLING, RECEIVING = "handling", "receiving"
# The service events of a case that are rated (好差评, GB/T 39734: 咨询、申报、补正、缴费、办结、签收).
RATED_EVENTS = ("consultation", "application", "supplement", "payment", "result", "delivery")

CASE_EFFECTS = effects_registry("case")
# When an action with a payload is offered at all (the case's own facts, not who acts):
# payload name -> predicate. 核定收费 is offered only on a case whose fee the department
# assesses (cases/payment.py `fee_assessable`); the action's effects check it again.
PAYLOAD_OFFERED: Registry[Callable[[Case], bool]] = Registry("case payload condition")
CASE_PAYLOADS = payloads_registry("case")
for _name, _schema in PAYLOADS.items():
    CASE_PAYLOADS.register(_name, _schema)


def _check(definition: Definition, problems: ProblemList) -> None:
    """Rules of case definitions beyond the format: the steps of 多地联办 run in a state
    that says so, and a case is forwarded only as it leaves the applicant's side."""
    running = definition.tagged("steps_running")
    if len(running) > 1:
        problems.add("只能有一个联办环节办理中的状态（steps_running）", field="states")
    for action in definition.actions:
        if "create_steps" in action.effects and action.to not in running:
            problems.add(
                f"分派联办环节的操作 {action.name} 须进入 steps_running 状态", field="actions"
            )
        if "forward_to_handling_node" in action.effects and not all(
            definition.has_tag(state, "before_submission") for state in action.from_
        ):
            problems.add(
                f"转递业务属地的操作 {action.name} 只能从提交前的状态出发", field="actions"
            )


VOCABULARY = Vocabulary(
    kind="case",
    staff_roles=frozenset(Role.values),
    parties=frozenset({APPLICANT, SYSTEM}),
    scopes=frozenset({HANDLING, RECEIVING}),
    tags=frozenset(
        {
            "before_submission",
            "materials_open",
            "awaiting_supplement",
            "awaiting_payment",
            "decided",
            "result_delivery",
            "steps_running",
        }
    ),
    tag_params={
        "post": frozenset(Shipment.Purpose.values),
        "outcome": frozenset(Case.Outcome.values),
    },
    action_tag_params={"rate": frozenset(RATED_EVENTS)},
    pause_reasons=frozenset(ClockPause.Reason.values),
    payloads=CASE_PAYLOADS,
    effects=CASE_EFFECTS,
    codes=frozenset(Mode.values),
    check=_check,
)


def definition_code(mode: str) -> str:
    """The workflow a case of `mode` runs: its own, except a case received at the owner's
    counter (窗口受理), which runs the 全程网办 workflow — its window steps are the counter's."""
    return Mode.ONLINE if mode == WINDOW else mode


def offered(case: Case, action: ActionSpec) -> bool:
    """Whether `action` is offered on `case` (see `PAYLOAD_OFFERED`)."""
    if action.payload is None or action.payload not in PAYLOAD_OFFERED:
        return True
    return PAYLOAD_OFFERED[action.payload](case)


def register_effect(name: str, run: Effect) -> None:
    CASE_EFFECTS.register(name, run)


def definition_of(case: Case) -> Definition:
    """The parsed definition `case` is pinned to (parsed once per process)."""
    stored: WorkflowDefinition = case.workflow
    return parse_stored(stored)


def category_of(case: Case) -> str:
    """The label set of the definition that applies to `case`: the national item category
    code (行政许可 "01" reads 准予许可 / 不予许可), except that an item whose result is a
    证明 reads the plain labels (准予办理 / 不予办理) whatever its category, as does a
    category of a local code system."""
    version = case.item_version
    category = version.category
    if category.system != "national" or version.result_type == ItemVersion.ResultType.CERTIFICATE:
        return ""
    return str(category.code)


def state_label(case: Case, state: str | None = None) -> str:
    """The label of `state` (the case's own by default) in the words of the case's item:
    the one function portal, console, API, notifications and messages read it through."""
    return definition_of(case).label(state or case.state, category_of(case))


def action_label(case: Case, action: ActionSpec) -> str:
    """The label of `action` in the words of the case's item (see `state_label`)."""
    return definition_of(case).action_label(action, category_of(case))


def has_tag(case: Case, tag: str) -> bool:
    return definition_of(case).has_tag(case.state, tag)
