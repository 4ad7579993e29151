"""`bench.dashboard` measures the province dashboard over the cases the database holds,
building the facts once per data set (recorded in the bench's bookkeeping table)."""

from __future__ import annotations

import json

from bench import dashboard


def test_dashboard_bench_reports_p95(capsys, settings):
    settings.NODE_DIVISION = "210000"
    assert dashboard.main(["--rounds", "3", "--rebuild"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["rounds"] == 3 and result["dashboard_p95_ms"] >= result["dashboard_p50_ms"] > 0
    assert result["cases"] == result["facts"] == 0 and result["errors"] == 0
    assert result["rebuilt"] is True
