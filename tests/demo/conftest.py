"""The demo tests run as the Liaoning node unless they say otherwise, whatever
TONGBAN_NODE_ID the shell running them has."""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class DemoNode:
    id: str
    code: str
    division: str
    name: str


NODES = {
    node.id: node
    for node in (
        DemoNode("liaoning", "LN", "210000", "辽宁省政务服务通办平台"),
        DemoNode("jilin", "JL", "220000", "吉林省政务服务通办平台"),
        DemoNode("heilongjiang", "HL", "230000", "黑龙江省政务服务通办平台"),
        DemoNode("neimenggu", "NM", "150000", "内蒙古自治区政务服务通办平台"),
    )
}


def be_node(settings, node_id: str) -> DemoNode:
    """Make the test run as node `node_id`, as its TONGBAN_NODE_* variables would."""
    node = NODES[node_id]
    settings.NODE_ID = node.id
    settings.NODE_CODE = node.code
    settings.NODE_DIVISION = node.division
    settings.NODE_NAME = node.name
    return node


@pytest.fixture(autouse=True)
def _liaoning_node(settings):
    be_node(settings, "liaoning")
