"""Bulletins (通报): generated from the figures of a month or a quarter, reviewed and
published by a supervisor, shown on the public portal as HTML and as a PDF with charts in
an embedded CJK font (licences.rendering.cjk_font, the licence PDFs' font).

The content is a snapshot (plain JSON, no personal data: organisations, items, case
numbers and counts only) so that a published bulletin says forever what it said when
published, whatever the figures do later.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cases.models import Case
from core.exceptions import RuleViolation
from core.services import record_audit
from licences.rendering import cjk_font
from ratings.models import Rating
from supervision import figures
from supervision.figures import Scope, next_month
from supervision.models import Bulletin, CaseFact
from supervision.selectors import home_scope, require_supervisor

PRAISE_SIZE = 3
LIST_SIZE = 20


def period_of(kind: str, start: dt.date) -> tuple[dt.date, dt.date]:
    """First and last month (first days) of the period beginning at `start`."""
    if kind == Bulletin.Period.MONTH:
        first = start.replace(day=1)
        return first, first
    if kind == Bulletin.Period.QUARTER:
        first = dt.date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
        last = next_month(next_month(first))
        return first, last
    raise RuleViolation("bulletin_period_unknown", "通报周期只能是月度或季度")


def title_of(kind: str, first: dt.date, place: str) -> str:
    if kind == Bulletin.Period.MONTH:
        return (
            f"{place}政务服务“跨省通办”“区域通办”“省内通办”工作通报（{first:%Y}年{first.month}月）"
        )
    quarter = (first.month - 1) // 3 + 1
    return f"{place}政务服务“跨省通办”“区域通办”“省内通办”工作通报（{first:%Y}年第{quarter}季度）"


def compose(scope: Scope) -> dict[str, Any]:
    """The bulletin's content from the figures of `scope` (which carries the period)."""
    summary = figures.summary(scope)
    orgs = figures.breakdown(scope, "organisation", limit=1000)
    ranked = sorted(
        (o for o in orgs if o["decided"]),
        key=lambda o: (-(o["on_time_rate"] or 0), o["mean_days"] or 0, str(o["label"])),
    )
    praise = [o for o in ranked if not o["late"]][:PRAISE_SIZE]
    criticised = sorted((o for o in orgs if o["late"]), key=lambda o: (-o["late"], str(o["label"])))
    late = (
        CaseFact.objects.filter(scope.rollup_filter(), late=True)
        .select_related("case__item_version", "organisation")
        .order_by("organisation__name", "case_id")[:LIST_SIZE]
    )
    red = (
        Case.objects.filter(scope.org_filter("handling_org"), warning=Case.Warning.RED)
        .filter(
            submitted_at__date__lt=next_month(scope.until or timezone.localdate().replace(day=1))
        )
        .select_related("item_version", "handling_org")
        .order_by("due_date", "id")[:LIST_SIZE]
    )
    bad = (
        Rating.objects.filter(
            scope.org_filter("organisation"), scope.time_filter("created_at"), bad=True
        )
        .select_related("organisation")
        .order_by("-created_at")[:LIST_SIZE]
    )
    ratings = figures.rating_figures(scope)
    hotline = figures.hotline_figures(scope)
    licences = figures.licence_figures(scope)
    return {
        "summary": {
            k: summary[k]
            for k in (
                "received",
                "accepted",
                "decided",
                "on_time",
                "late",
                "red",
                "on_time_rate",
                "mean_days",
                "mean_limit",
            )
        },
        "ranking": [
            {
                "name": o["label"],
                "received": o["received"],
                "decided": o["decided"],
                "on_time_rate": o["on_time_rate"],
                "mean_days": o["mean_days"],
                "late": o["late"],
            }
            for o in ranked
        ],
        "praise": [o["label"] for o in praise],
        "criticism": [{"name": o["label"], "late": o["late"]} for o in criticised],
        "late_cases": [
            {
                "number": f.case.number,
                "item": f.case.item_version.name,
                "organisation": f.organisation.name,
                "decided_on": f.decided_on.isoformat() if f.decided_on else "",
            }
            for f in late
        ],
        "red_cases": [
            {
                "number": c.number,
                "item": c.item_version.name,
                "organisation": c.handling_org.name,
                "due_date": c.due_date.isoformat() if c.due_date else "",
            }
            for c in red
        ],
        "bad_ratings": [
            {
                "service": r.service_name,
                "organisation": r.organisation.name,
                "level": r.get_level_display(),
                "date": timezone.localdate(r.created_at).isoformat(),
            }
            for r in bad
        ],
        "ratings": ratings,
        "hotline": hotline,
        "licences": licences,
    }


@transaction.atomic
def generate_bulletin(*, period: str, start: dt.date, actor: User) -> Bulletin:
    """Generate (or regenerate, while not yet published) the bulletin of a period over the
    supervisor's division."""
    require_supervisor(actor)
    first, last = period_of(period, start)
    home = home_scope(actor)
    scope = home.narrowed(since=first, until=last)
    existing = (
        Bulletin.objects.select_for_update()
        .filter(period=period, starts_on=first, prefix=home.prefix)
        .first()
    )
    if existing is not None and existing.status == Bulletin.Status.PUBLISHED:
        raise RuleViolation("bulletin_published", "该期通报已发布，不能重新生成")
    content = compose(scope)
    fields = {
        "ends_on": next_month(last) - dt.timedelta(days=1),
        "title": title_of(period, first, home.title),
        "content": content,
        "generated_by": actor,
    }
    if existing is None:
        bulletin = Bulletin.objects.create(
            period=period, starts_on=first, prefix=home.prefix, **fields
        )
    else:
        for name, value in fields.items():
            setattr(existing, name, value)
        existing.save()
        bulletin = existing
    record_audit(actor=actor, action="bulletin.generate", obj=bulletin, summary=bulletin.title)
    return bulletin


@transaction.atomic
def publish_bulletin(bulletin: Bulletin, *, note: str, actor: User) -> Bulletin:
    """审核发布: a supervisor over the bulletin's division publishes it with a review note."""
    require_supervisor(actor)
    home = home_scope(actor)
    if not bulletin.prefix.startswith(home.prefix):
        raise RuleViolation("bulletin_forbidden", "只能发布本辖区的通报", status=403)
    locked = Bulletin.objects.select_for_update().get(pk=bulletin.pk)
    if locked.status == Bulletin.Status.PUBLISHED:
        raise RuleViolation("bulletin_published", "该期通报已发布")
    if not note.strip():
        raise RuleViolation("bulletin_note_required", "请填写审核意见")
    locked.status = Bulletin.Status.PUBLISHED
    locked.review_note = note.strip()[:500]
    locked.published_at = timezone.now()
    locked.published_by = actor
    locked.save(update_fields=["status", "review_note", "published_at", "published_by"])
    record_audit(actor=actor, action="bulletin.publish", obj=locked, summary=locked.title)
    return locked


# PDF ---------------------------------------------------------------------------------------


def _bar_chart(
    font: str, title: str, labels: list[str], series: list[tuple[str, list[float]]]
) -> Drawing:
    width, height = 170 * mm, 80 * mm
    drawing = Drawing(width, height)
    # The renderer starts from this font, not Helvetica (which would not be embedded).
    drawing.initialFontName = font
    chart = VerticalBarChart()
    chart.x, chart.y = 14 * mm, 18 * mm
    chart.width, chart.height = width - 24 * mm, height - 30 * mm
    chart.data = [values or [0] for _, values in series]
    chart.categoryAxis.categoryNames = [label[:8] for label in labels] or ["—"]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.categoryAxis.labels.angle = 20
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.valueMin = 0
    palette = [colors.HexColor("#1f5fa8"), colors.HexColor("#2e9d5b"), colors.HexColor("#c0392b")]
    for index in range(len(series)):
        chart.bars[index].fillColor = palette[index % len(palette)]
    drawing.add(chart)
    drawing.add(
        String(width / 2, height - 8, title, fontName=font, fontSize=10, textAnchor="middle")
    )
    x = 14 * mm
    for index, (name, _) in enumerate(series):
        drawing.add(
            String(
                x,
                4,
                f"■ {name}",
                fontName=font,
                fontSize=8,
                fillColor=palette[index % len(palette)],
            )
        )
        x += 30 * mm
    return drawing


def render_pdf(bulletin: Bulletin) -> bytes:
    """The bulletin as an A4 PDF: text, ranking table and bar charts, all in the embedded
    CJK font."""
    font = cjk_font()
    c = bulletin.content
    styles = {
        "title": ParagraphStyle(
            "t", fontName=font, fontSize=16, leading=22, alignment=1, spaceAfter=8
        ),
        "h": ParagraphStyle(
            "h", fontName=font, fontSize=12, leading=18, spaceBefore=8, spaceAfter=4
        ),
        "p": ParagraphStyle("p", fontName=font, fontSize=10, leading=16),
    }
    s = c["summary"]
    story: list[Any] = [
        Paragraph(bulletin.title, styles["title"]),
        Paragraph(
            f"统计期：{bulletin.starts_on:%Y-%m-%d} 至 {bulletin.ends_on:%Y-%m-%d}。", styles["p"]
        ),
        Paragraph("一、总体情况", styles["h"]),
        Paragraph(
            f"收件 {s['received']} 件，受理 {s['accepted']} 件，办结 {s['decided']} 件，其中按时办结 {s['on_time']} 件、"
            f"超期办结 {s['late']} 件，按时办结率 {s['on_time_rate'] if s['on_time_rate'] is not None else '—'}%；"
            f"平均办理用时 {s['mean_days'] if s['mean_days'] is not None else '—'} 个工作日（平均承诺时限 {s['mean_limit'] if s['mean_limit'] is not None else '—'}）。"
            f"当前超期未办结（红牌）{s['red']} 件。好差评 {c['ratings']['total']} 次，差评 {c['ratings']['bad']} 次；"
            f"12345 工单 {c['hotline']['total']} 件；签发电子证照 {c['licences']['issued']} 件。",
            styles["p"],
        ),
    ]
    ranking = c["ranking"][:12]
    if ranking:
        story.append(
            _bar_chart(
                font,
                "各单位收件与办结",
                [r["name"] for r in ranking],
                [
                    ("收件", [r["received"] for r in ranking]),
                    ("办结", [r["decided"] for r in ranking]),
                    ("超期", [r["late"] for r in ranking]),
                ],
            )
        )
    story.append(Paragraph("二、按时办结排名", styles["h"]))
    rows = [["名次", "单位", "收件", "办结", "按时办结率", "平均用时（工作日）"]] + [
        [
            str(i + 1),
            r["name"],
            str(r["received"]),
            str(r["decided"]),
            f"{r['on_time_rate']}%" if r["on_time_rate"] is not None else "—",
            str(r["mean_days"] if r["mean_days"] is not None else "—"),
        ]
        for i, r in enumerate(c["ranking"])
    ]
    table = Table(
        rows, repeatRows=1, colWidths=[14 * mm, 62 * mm, 18 * mm, 18 * mm, 26 * mm, 30 * mm]
    )
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), font),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7")),
            ]
        )
    )
    story.append(table)
    story.append(Paragraph("三、表扬", styles["h"]))
    story.append(
        Paragraph(
            "、".join(c["praise"]) + "：按时办结、无超期，予以表扬。"
            if c["praise"]
            else "本期无。",
            styles["p"],
        )
    )
    story.append(Paragraph("四、批评", styles["h"]))
    story.append(
        Paragraph(
            "；".join(f"{x['name']}超期办结 {x['late']} 件" for x in c["criticism"])
            + "，予以通报批评，限期整改。"
            if c["criticism"]
            else "本期无。",
            styles["p"],
        )
    )
    story.append(Paragraph("五、超期办件与差评", styles["h"]))
    lines = [f"{x['number']} {x['item']}（{x['organisation']}）超期办结" for x in c["late_cases"]]
    lines += [
        f"{x['number']} {x['item']}（{x['organisation']}）超期未办结，期限 {x['due_date']}"
        for x in c["red_cases"]
    ]
    lines += [
        f"{x['service']}（{x['organisation']}）{x['level']}，{x['date']}" for x in c["bad_ratings"]
    ]
    for line in lines or ["本期无。"]:
        story.append(Paragraph(line, styles["p"]))
    if bulletin.review_note:
        story.append(Spacer(1, 6 * mm))
        story.append(Paragraph(f"审核意见：{bulletin.review_note}", styles["p"]))
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=bulletin.title,
        initialFontName=font,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    document.build(story)
    return buffer.getvalue()
