"""Structured logs: one JSON object a line (issue 11), for the node's processes and
gunicorn's access log (`tongban/gunicorn.conf.py`).

No personal data: every text goes through `scrub` (ID and mobile numbers masked); the
access log keeps the method, the path without its query string, the status, the size and
the duration — not the query, the referrer or the user agent, where personal data hides.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from core.personal_data import scrub


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            atoms = record.args
            entry.update(
                message="request",
                remote=atoms.get("h"),
                method=atoms.get("m"),
                path=scrub(str(atoms.get("U", ""))),
                status=_int(atoms.get("s")),
                bytes=_int(atoms.get("B")),
                duration_ms=_int(atoms.get("M")),
            )
        else:
            entry["message"] = scrub(record.getMessage())
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
