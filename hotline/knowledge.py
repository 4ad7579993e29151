"""The knowledge base agents search while on a call (知识库).

Two kinds of article, found by one search:

- **Guide articles** are derived on read from the catalog: the 办事指南 of the item
  version in force, rendered as the answer an agent reads out (conditions, materials,
  channels, limits, fees, where and when). Nothing is stored, so an article is always the
  current version's — a new version, or one published ahead of its date, shows the day it
  takes effect — and the catalog's own search (catalog.search) finds them.
- **Hand-written articles** (`KnowledgeArticle`) for what no guide says, searched the same
  way: their documents are built from the catalog's tokens (jieba words, pinyin, initials)
  and indexed by the same `FullTextIndex` (FTS5 on SQLite, tsvector on PostgreSQL).

A search is a handful of queries, whatever the size of the catalog (docs/hotline.md has the
timings over the demo catalog).
"""

from __future__ import annotations

from dataclasses import dataclass

from catalog.models import ItemVersion
from catalog.search import FullTextIndex, search_item_ids
from catalog.selectors import current_item_versions, current_version_of
from core.exceptions import NotFound
from hotline.models import KnowledgeArticle

ARTICLE_INDEX = FullTextIndex("hotline_knowledgearticle", "hotline_article_fts", "id")
# How many of each kind one search shows.
RESULTS = 10

CHANNELS = {"online": "网上办理", "window": "窗口办理", "post": "邮寄办理", "mobile": "移动端办理"}
DELIVERY = {"electronic": "电子送达", "window": "窗口领取", "post": "邮寄送达"}


@dataclass(frozen=True)
class Section:
    heading: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Article:
    """One answer of the knowledge base: a guide article (`guide` = the item code, pinned
    to `version`) or a hand-written one (`article_id`)."""

    title: str
    summary: str
    sections: tuple[Section, ...]
    guide: str = ""
    version: ItemVersion | None = None
    article_id: int | None = None

    @property
    def kind(self) -> str:
        return "办事指南" if self.guide else "知识库"

    def text(self) -> str:
        """The article as plain text: what the agent reads out and records as the reply."""
        parts = [self.title]
        for section in self.sections:
            parts.append(f"{section.heading}：" + "；".join(section.lines))
        return "\n".join(parts)


def guide_article(version: ItemVersion, *, full: bool = True) -> Article:
    """The guide of `version` as an article. `full` adds the materials (prefetched by the
    caller: `guide_prefetches`)."""
    limit = f"{version.promised_limit} 个{version.get_promised_limit_unit_display()}"
    sections = [
        Section("办理机构", (version.item.organisation.name,)),
        Section("申请条件", (version.conditions,)),
        Section(
            "申报方式",
            tuple(CHANNELS.get(c, c) for c in version.application_channels) or ("窗口办理",),
        ),
        Section(
            "办理时限",
            (
                f"承诺 {limit}（{version.get_acceptance_mode_display()}）",
                f"到现场 {version.visits_required} 次",
            ),
        ),
        Section("收费", ("收费，详见办事指南",) if version.fee_charged else ("不收费",)),
        Section(
            "办理结果",
            (
                version.result_name or version.get_result_type_display(),
                *(DELIVERY.get(d, d) for d in version.result_delivery),
            ),
        ),
    ]
    if full:
        sections.insert(
            2,
            Section(
                "申请材料",
                tuple(f"{m.name}（{m.get_necessity_display()}）" for m in version.materials.all())
                or ("无需提交材料",),
            ),
        )
    if version.location or version.office_hours:
        sections.append(
            Section(
                "办理地点和时间", tuple(x for x in (version.location, version.office_hours) if x)
            )
        )
    return Article(
        title=version.name,
        summary=f"{version.item.organisation.name} · 承诺时限 {limit} · 第 {version.number} 版",
        sections=tuple(sections),
        guide=version.item.code,
        version=version,
    )


def written_article(article: KnowledgeArticle) -> Article:
    return Article(
        title=article.title,
        summary=article.body[:80],
        sections=(Section("答复口径", (article.body,)),),
        article_id=article.pk,
    )


def search(query: str) -> list[Article]:
    """Articles matching `query` by Chinese words or pinyin initials: hand-written ones
    first (they answer what guides do not), then guides of items in force, best first."""
    if not query.strip():
        return []
    out: list[Article] = []
    ids = ARTICLE_INDEX.search(query) or []
    if ids:
        rank = {pk: i for i, pk in enumerate(ids)}
        rows = KnowledgeArticle.objects.filter(pk__in=ids[:RESULTS], published=True)
        out.extend(written_article(a) for a in sorted(rows, key=lambda a: rank[a.pk]))
    item_ids = search_item_ids(query) or []
    if item_ids:
        rank = {pk: i for i, pk in enumerate(item_ids)}
        versions = current_item_versions().filter(item_id__in=item_ids[: RESULTS * 2])
        ordered = sorted(versions, key=lambda v: rank[v.item_id])[:RESULTS]
        out.extend(guide_article(v, full=False) for v in ordered)
    return out


def get_guide_article(code: str) -> Article:
    """The guide article of item `code` as in force today (materials included)."""
    return guide_article(current_version_of(code))


def get_written_article(pk: int) -> Article:
    article = KnowledgeArticle.objects.filter(pk=pk, published=True).first()
    if article is None:
        raise NotFound("article_not_found", "知识库条目不存在或未发布")
    return written_article(article)
