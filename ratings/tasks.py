"""The ratings app's periodic jobs, run by the node's worker (`core.scheduler`; registered
in `RatingsConfig.ready()`): the default ratings, the rectifications whose citizen did not
rate the fix in time, and the yellow/red warnings of the rectifications."""

from __future__ import annotations

from ratings import engine, services

EVERY_SECONDS = 300
REFRESH_WARNINGS_EVERY_SECONDS = 60


def give_default_ratings() -> str | None:
    given = services.give_default_ratings()
    closed = services.close_unrated()
    if not given and not closed:
        return None
    return f"默认评价 {given} 条；逾期未评价整改办结 {closed} 件"


def refresh_warnings() -> str:
    counts = engine.PROCESS.refresh_warnings()
    return f"整改预警：黄色 {counts['yellow']} 件；红色 {counts['red']} 件"
