"""Cases that owe something: an item of the police with a fixed 工本费."""

from __future__ import annotations

from typing import Any

from catalog.services import publish_item_version
from core.actors import SystemActor
from tests import builders
from tests.case_pages import World

FEES = [{"name": "证明工本费", "amount": "20", "basis": "省发展改革委、财政厅核定的收费标准"}]


def fee_item(
    world: World, *, fees: list[dict[str, Any]] | None = None, name: str = "户籍证明开具（收费）"
):
    """An item of the police whose materials are all optional (cases submit at once) and
    which charges `fees` (one 20 元 fee by default)."""
    version = builders.item(
        name, org=world.police, publish=False, fee_charged=True, fees=fees or FEES
    )
    version.materials.update(necessity="optional")
    publish_item_version(version, actor=SystemActor("test"))
    version.refresh_from_db()
    return version
