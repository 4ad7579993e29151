"""Statistics of a load run: percentiles and the summary a scenario reports.

Pure functions over latencies in seconds, so that the tests check them on known inputs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def percentile(values: Sequence[float], p: float) -> float | None:
    """The `p`-th percentile (0–100) of `values` by linear interpolation between the two
    closest ranks (the "linear" method of NumPy and of `statistics.quantiles(...,
    method="inclusive")`); None for no values."""
    if not 0 <= p <= 100:
        raise ValueError("percentile must lie between 0 and 100")
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


@dataclass
class Recorder:
    """What the clients of one scenario observed: the latency of each completed operation
    (one request, or one whole flow such as a submission), per-step latencies, errors.

    With a window (`start`, `end` on the `time.perf_counter` clock), only what finishes
    inside it counts: the warm-up before and the stragglers after are left out, and an
    operation that started during the warm-up is counted with its whole latency."""

    start: float = float("-inf")
    end: float = float("inf")
    latencies: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    def _counts(self) -> bool:
        return self.start <= time.perf_counter() <= self.end

    def done(self, seconds: float) -> None:
        if self._counts():
            self.latencies.append(seconds)

    def step(self, name: str, seconds: float) -> None:
        if self._counts():
            self.steps.setdefault(name, []).append(seconds)

    def error(self, what: str) -> None:
        if self._counts():
            self.errors[what] = self.errors.get(what, 0) + 1


def summary(recorder: Recorder, *, elapsed: float, clients: int) -> dict[str, Any]:
    """Rate and latency percentiles (milliseconds) of a finished scenario."""
    lat = recorder.latencies
    return {
        "clients": clients,
        "seconds": round(elapsed, 3),
        "completed": len(lat),
        "per_s": round(len(lat) / elapsed, 2) if elapsed > 0 else None,
        "p50_ms": _ms(percentile(lat, 50)),
        "p95_ms": _ms(percentile(lat, 95)),
        "p99_ms": _ms(percentile(lat, 99)),
        "max_ms": _ms(max(lat)) if lat else None,
        "errors": dict(sorted(recorder.errors.items())),
        "steps": {
            name: {
                "count": len(values),
                "p50_ms": _ms(percentile(values, 50)),
                "p99_ms": _ms(percentile(values, 99)),
            }
            for name, values in sorted(recorder.steps.items())
        },
    }
