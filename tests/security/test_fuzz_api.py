"""Fuzzing of the whole JSON API with schemathesis (issue 11, decision 89): every
operation of the OpenAPI document, with data that fits the schema and data that does not,
anonymous and as a citizen and a window clerk with bearer tokens. The node must answer
no 5xx, only documented status codes and content types, and bodies that match their
schemas.

Bounded and deterministic: hypothesis is derandomised (the same requests every run) and
each operation gets `TONGBAN_FUZZ_EXAMPLES` examples per mode and identity (5 by
default; raise it for a longer run). The requests run in-process through the WSGI application,
inside the test's transaction, so nothing they write outlives the test.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import builders

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("TONGBAN_FUZZ_EXAMPLES", "5"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Tally:
    requests: int = 0
    server_errors: int = 0
    unsatisfiable: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def _identities() -> dict[str, dict[str, str]]:
    org = builders.organisation("大连市公安局", "210200")
    version = builders.item(
        "开具户籍类证明",
        org=org,
        promised_limit=10,
        form_fields=[{"name": "purpose", "label": "用途", "type": "text"}],
    )
    citizen = builders.person("王五")
    from cases import services

    services.start_case(
        item_version=version, form_data={"purpose": "入学"}, person=citizen, actor=citizen.user
    )
    clerk = builders.staff("window_clerk", org)
    return {
        "anonymous": {},
        "citizen": {"Authorization": builders.bearer(citizen.user)["HTTP_AUTHORIZATION"]},
        "clerk": {"Authorization": builders.bearer(clerk)["HTTP_AUTHORIZATION"]},
    }


def _fuzz(operation, mode: GenerationMode, headers: dict[str, str], tally: Tally) -> None:
    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        tally.requests += 1
        status = 0
        try:
            response = case.call(headers=headers)
            status = response.status_code
            if status >= 500:
                tally.server_errors += 1
            case.validate_response(response, checks=CHECKS, headers=headers)
        except Exception as exc:  # schemathesis raises a failure group per case
            label = f"{operation.label} [{mode.value}] → {status}"
            tally.failures.setdefault(label, str(exc)[:600])

    try:
        run()
    except Unsatisfiable:
        # Nothing to negate (an operation without parameters or body): nothing to send.
        tally.unsatisfiable += 1


@pytest.fixture
def _connection_kept_open():
    """The WSGI handler closes the database connection when a request finishes; the test
    client does not, and neither may this test, whose data lives in its transaction."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@pytest.mark.usefixtures("_connection_kept_open")
def test_the_api_answers_every_fuzzed_request_as_documented(settings):
    settings.VERIFY_RATE_LIMIT = 10**6  # the fuzzer is one client address
    identities = _identities()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    tally = Tally()
    started = time.monotonic()
    for headers in identities.values():
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                _fuzz(operation, mode, headers, tally)
    elapsed = time.monotonic() - started
    print(
        f"\nschemathesis: {tally.requests} requests over {len(operations)} operations × "
        f"{len(identities)} identities in {elapsed:.0f} s; {tally.server_errors} 5xx; "
        f"{len(tally.failures)} failing operation/mode/status combinations"
    )
    report = "\n\n".join(f"{label}\n{text}" for label, text in sorted(tally.failures.items()))
    assert tally.server_errors == 0 and not tally.failures, report
