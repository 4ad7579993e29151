"""The JSON shapes of service halls and their windows."""

from __future__ import annotations

from ninja import Field, Schema


class HallDivisionOut(Schema):
    code: str
    name: str
    level: str


class HallOrgOut(Schema):
    uscc: str
    name: str


class HallRowOut(Schema):
    code: str
    name: str
    kind: str
    kind_label: str = Field(validation_alias="get_kind_display")
    division: HallDivisionOut
    organisation: HallOrgOut
    address: str
    opening_hours: list[str] = Field(validation_alias="hours_lines")
    phone: str
    window_count: int


class WindowListOut(Schema):
    code: str
    name: str


class WindowOut(Schema):
    id: int = Field(description="窗口 id（窗口人员申请时 POST /api/v1/cases 的 window）")
    number: str
    name: str
    organisation: HallOrgOut = Field(description="受理机构")
    lists: list[WindowListOut] = Field(description="入驻清单：收取其现行版本中的全部事项")
    items: list[str] = Field(description="单独入驻的事项编码")


class ReceivedItemOut(Schema):
    code: str
    name: str
    organisation: str
    modes: list[str]
    windows: list[str]


class ReceivedGroupOut(Schema):
    item_list: WindowListOut | None = Field(description="清单；空为单独入驻的事项")
    windows: list[str]
    items: list[ReceivedItemOut]


class HallOut(HallRowOut):
    directions: str
    windows: list[WindowOut]
    received: list[ReceivedGroupOut] = Field(description="可办理的事项，按清单分组")
