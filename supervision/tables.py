"""The dashboard's tables: each figure as rows and columns, the same data the charts
draw, the screen reader reads and the export writes (CSV and XLSX, exports.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from supervision import figures
from supervision.figures import Scope


@dataclass
class Column:
    key: str
    label: str
    # The drill-down figure this column counts (selectors.FIGURE_FILTERS), if any.
    figure: str = ""
    unit: str = ""


@dataclass
class Table:
    name: str
    caption: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    # What a row's key narrows the drill-down to: "level" (organisation, city, item), or
    # "scope_key", "mode", "month" (a filter on the cases behind the figure).
    row_link: str = ""
    chart: str = "bar"
    notes: list[str] = field(default_factory=list)

    def cells(self) -> list[list[Any]]:
        return [[row.get(c.key) for c in self.columns] for row in self.rows]


CASE_COLUMNS = [
    Column("label", "名称"),
    Column("received", "收件", "received"),
    Column("accepted", "受理", "accepted"),
    Column("not_accepted", "不予受理", "not_accepted"),
    Column("decided", "办结", "decided"),
    Column("on_time", "按时办结", "on_time"),
    Column("late", "超期办结", "late"),
    Column("open", "办理中", "open"),
    Column("paused", "暂停计时", "paused"),
    Column("on_time_rate", "按时办结率", unit="%"),
    Column("mean_days", "平均办理用时", unit="工作日"),
    Column("mean_limit", "平均承诺时限", unit="工作日"),
    Column("deficiency_used", "容缺受理", "deficiency_used"),
    Column("deficiency_failed", "容缺未履行", "deficiency_failed"),
    Column("notification_used", "告知承诺", "notification_used"),
    Column("notification_failed", "承诺核查不实", "notification_failed"),
]

BREAKDOWN_LINKS = {
    "organisation": "organisation",
    "division": "city",
    "item": "item",
    "scope": "scope_key",
    "mode": "mode",
    "month": "month",
}


def breakdown_table(scope: Scope, by: str) -> Table:
    return Table(
        name=by,
        caption=f"按{figures.BREAKDOWNS[by]}统计办件",
        columns=CASE_COLUMNS,
        rows=figures.breakdown(scope, by),
        row_link=BREAKDOWN_LINKS[by],
        chart="line" if by == "month" else ("treemap" if by == "division" else "bar"),
    )


def reductions_table(scope: Scope, items: list[dict[str, Any]] | None = None) -> Table:
    rows = [
        {
            "label": r.name,
            "key": r.item_id,
            "received": r.received,
            "materials": r.materials,
            "materials_by_licence": r.materials_by_licence,
            "licence_uses": r.licence_uses,
            "steps": r.steps,
            "visits_required": r.visits_required,
            "legal_limit": r.legal_limit,
            "promised_limit": r.promised_limit,
            "days_saved_promised": r.days_saved_promised,
            "mean_days": r.mean_days,
            "days_saved_actual": r.days_saved_actual,
        }
        for r in figures.reductions(scope, rows=items)
    ]
    return Table(
        name="reductions",
        caption="四减：减材料、减环节、减跑动次数、减时间（按事项）",
        columns=[
            Column("label", "事项"),
            Column("received", "收件"),
            Column("materials", "申请材料"),
            Column("materials_by_licence", "可由电子证照替代"),
            Column("licence_uses", "实际以证照免提交"),
            Column("steps", "审核环节"),
            Column("visits_required", "到现场次数"),
            Column("legal_limit", "法定时限", unit="工作日"),
            Column("promised_limit", "承诺时限", unit="工作日"),
            Column("days_saved_promised", "承诺压缩", unit="工作日"),
            Column("mean_days", "实际平均用时", unit="工作日"),
            Column("days_saved_actual", "实际压缩", unit="工作日"),
        ],
        rows=rows,
        row_link="item",
    )


def lists_table() -> Table:
    return Table(
        name="lists",
        caption="清单目标完成情况",
        columns=[
            Column("phase", "阶段"),
            Column("list", "清单"),
            Column("mode_label", "业务模式"),
            Column("target", "目标事项数"),
            Column("done", "已上线事项数"),
            Column("rate", "完成率", unit="%"),
            Column("due_date", "完成期限"),
            Column("overdue_label", "状态"),
        ],
        rows=[
            {
                **r,
                "overdue_label": "逾期未完成"
                if r["overdue"]
                else ("已完成" if r["done"] >= r["target"] else "推进中"),
            }
            for r in figures.list_progress()
        ],
    )


def services_table(scope: Scope) -> Table:
    """Licences, ratings, hotline and sharing in one table of label and value."""
    lic = figures.licence_figures(scope)
    rat = figures.rating_figures(scope)
    hot = figures.hotline_figures(scope)
    share = figures.sharing_figures(scope)
    rows: list[dict[str, Any]] = [
        {"group": "电子证照", "label": "签发电子证照", "value": lic["issued"], "unit": "件"},
        {
            "group": "电子证照",
            "label": "应入库（准予且结果为证照）",
            "value": lic["approved_licence_cases"],
            "unit": "件",
        },
        {"group": "电子证照", "label": "已入库", "value": lic["in_library"], "unit": "件"},
        {"group": "电子证照", "label": "入库率", "value": lic["library_rate"], "unit": "%"},
        {"group": "好差评", "label": "评价", "value": rat["total"], "unit": "次"},
        {"group": "好差评", "label": "差评", "value": rat["bad"], "unit": "次"},
        {"group": "好差评", "label": "好评率", "value": rat["good_rate"], "unit": "%"},
        {"group": "好差评", "label": "差评整改", "value": rat["rectifications"], "unit": "件"},
        {"group": "好差评", "label": "整改完成率", "value": rat["rectification_rate"], "unit": "%"},
        {
            "group": "好差评",
            "label": "平均整改用时",
            "value": rat["rectification_days"],
            "unit": "天",
        },
        {
            "group": "好差评",
            "label": "整改超期（红牌）",
            "value": rat["rectification_red"],
            "unit": "件",
        },
        {"group": "12345 热线", "label": "工单", "value": hot["total"], "unit": "件"},
        {"group": "12345 热线", "label": "已办结", "value": hot["closed"], "unit": "件"},
        {"group": "12345 热线", "label": "按期办结率", "value": hot["on_time_rate"], "unit": "%"},
        {"group": "12345 热线", "label": "超期未办结（红牌）", "value": hot["red"], "unit": "件"},
    ]
    if share is None:
        rows.append(
            {
                "group": "数据共享",
                "label": "共享申请按期答复率",
                "value": None,
                "unit": "尚未接入数据共享模块",
            }
        )
    else:
        rows.append(
            {"group": "数据共享", "label": "共享申请", "value": share.get("total"), "unit": "件"}
        )
        rows.append(
            {"group": "数据共享", "label": "按期答复率", "value": share.get("rate"), "unit": "%"}
        )
    return Table(
        name="services",
        caption="电子证照、好差评、12345 热线与数据共享",
        columns=[
            Column("group", "类别"),
            Column("label", "指标"),
            Column("value", "数值"),
            Column("unit", "单位"),
        ],
        rows=rows,
        chart="",
    )


TABLES = [
    "organisation",
    "division",
    "item",
    "month",
    "scope",
    "mode",
    "reductions",
    "services",
    "lists",
]


def table(scope: Scope, name: str) -> Table:
    if name in figures.BREAKDOWNS:
        return breakdown_table(scope, name)
    if name == "reductions":
        return reductions_table(scope)
    if name == "services":
        return services_table(scope)
    if name == "lists":
        return lists_table()
    raise KeyError(name)


DASHBOARD = ["month", "division", "organisation", "item", "scope", "mode", "reductions", "services"]


def dashboard_tables(scope: Scope) -> list[Table]:
    """Every table of a dashboard, in page order (the list targets on a province's)."""
    names = DASHBOARD + (["lists"] if scope.level == "province" else [])
    shown: dict[str, Table] = {}
    for name in names:
        if name == "reductions":
            # The busiest items are the item table's first rows: group them once.
            shown[name] = reductions_table(scope, shown["item"].rows)
        else:
            shown[name] = table(scope, name)
    return [shown[name] for name in names]
