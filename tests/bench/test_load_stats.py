"""The load generator's statistics and HTTP handling on known inputs (no timing)."""

import asyncio
import statistics

import pytest

from bench.client import ClientError, multipart, read_response
from bench.stats import Recorder, percentile, summary


def test_percentiles_interpolate_between_ranks():
    values = [float(v) for v in range(1, 11)]  # 1…10
    assert percentile(values, 0) == 1 and percentile(values, 100) == 10
    assert percentile(values, 50) == 5.5
    assert percentile(values, 90) == pytest.approx(9.1)
    assert percentile([3.0, 1.0, 2.0], 50) == 2  # order does not matter
    assert percentile([7.0], 99) == 7
    assert percentile([], 50) is None
    data = [0.5, 2.0, 3.5, 9.0, 12.0, 40.0, 41.0]
    assert percentile(data, 25) == pytest.approx(
        statistics.quantiles(data, n=4, method="inclusive")[0]
    )
    with pytest.raises(ValueError):
        percentile(values, 101)


def test_summary_reports_rate_percentiles_steps_and_errors_in_ms():
    recorder = Recorder()
    for ms in range(1, 101):
        recorder.done(ms / 1000)
        recorder.step("create", ms / 2000)
    recorder.error("create 422")
    recorder.error("create 422")
    result = summary(recorder, elapsed=4.0, clients=8)
    assert result["completed"] == 100 and result["per_s"] == 25
    assert result["p50_ms"] == 50.5 and result["p99_ms"] == 99.01 and result["max_ms"] == 100
    assert result["errors"] == {"create 422": 2}
    assert result["steps"]["create"]["count"] == 100
    assert result["steps"]["create"]["p50_ms"] == 25.25
    empty = summary(Recorder(), elapsed=1.0, clients=1)
    assert empty["per_s"] == 0 and empty["p99_ms"] is None


def _read(raw: bytes):
    async def go():
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        return await read_response(reader)

    return asyncio.run(go())


def test_responses_are_read_by_length_and_by_chunks():
    plain = _read(b'HTTP/1.1 201 Created\r\nContent-Length: 8\r\nX-A: b\r\n\r\n{"a": 1}')
    assert (plain.status, plain.json(), plain.headers["x-a"]) == (201, {"a": 1}, "b")
    chunked = _read(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n"
    )
    assert chunked.body == b"Wikipedia"
    with pytest.raises(ClientError):
        _read(b"SSH-2.0-OpenSSH\r\n\r\n")


def test_multipart_bodies_carry_fields_and_files():
    content_type, body = multipart(
        {"material": "7"}, {"file": ("a.pdf", "application/pdf", b"%PDF")}
    )
    boundary = content_type.split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n".encode()) and body.endswith(
        f"--{boundary}--\r\n".encode()
    )
    assert b'name="material"\r\n\r\n7\r\n' in body
    assert b'filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF\r\n' in body


def test_a_window_counts_only_what_finishes_inside_it():
    import time

    now = time.perf_counter()
    past = Recorder(start=now - 10, end=now - 5)
    future = Recorder(start=now + 60, end=now + 70)
    current = Recorder(start=now - 1, end=now + 60)
    for recorder in (past, future, current):
        recorder.done(3.0)  # started before the window: still counted if it ends inside
        recorder.step("create", 0.1)
        recorder.error("create 500")
    assert past.latencies == future.latencies == [] and past.errors == {} == future.steps
    assert current.latencies == [3.0] and current.steps == {"create": [0.1]}
    assert current.errors == {"create 500": 1}
