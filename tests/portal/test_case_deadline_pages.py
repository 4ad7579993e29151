"""The deadline as the applicant and the staff see it: acceptance date, limit, each pause
and the days paused, and a due date in a year without a published holiday schedule shown
as 暂定 with the reason."""

from __future__ import annotations

import datetime as dt

from django.test import Client

from cases import engine
from cases import timeline as case_timeline
from tests.case_pages import submitted_case
from tests.portal.html import text


def test_a_provisional_due_date_is_marked_and_explained(world, monkeypatch):
    case = submitted_case(world)
    # Accepted just before New Year: ten working days later lies in a year whose holiday
    # schedule the State Council has not published (the seeded calendar ends earlier).
    monkeypatch.setattr(case_timeline, "today", lambda: dt.date(2026, 12, 28))
    case = engine.take_action(case, "accept", actor=world.reviewer)
    monkeypatch.undo()
    assert case.due_provisional and case.due_date.year == 2027
    for user, url in (
        (world.applicant.user, f"/my/cases/{case.number}/"),
        (world.reviewer, f"/console/cases/{case.number}/"),
    ):
        client = Client()
        client.force_login(user)
        page = text(client.get(url).content)
        assert "暂定" in page and "法定节假日安排尚未公布" in page, url
        assert "2026年12月28日" in page  # the acceptance date
        assert f"{case.due_date.year}年{case.due_date.month}月{case.due_date.day}日" in page
    client = Client()
    client.force_login(world.applicant.user)
    assert "暂定" in text(client.get("/my/cases/").content)
