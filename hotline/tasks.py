"""The hotline's periodic job, run by the node's worker (`core.scheduler`; registered in
`HotlineConfig.ready()`): the yellow/red warnings of the tickets."""

from __future__ import annotations

from hotline.engine import PROCESS

REFRESH_WARNINGS_EVERY_SECONDS = 60


def refresh_warnings() -> str:
    counts = PROCESS.refresh_warnings()
    return f"工单预警：黄色 {counts['yellow']} 件；红色 {counts['red']} 件"
