"""The OpenAPI document describes what the node answers (decision 89): every problem
response as `application/problem+json`, the common problem codes on every operation, one
entry per status code, unique schema names; and /api/v1/docs renders."""

from __future__ import annotations

import json

from ninja import Schema

from tests.api.helpers import get_json

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}


def test_every_operation_documents_its_problems(client):
    schema = get_json(client, "/api/v1/openapi.json")
    raw = client.get("/api/v1/openapi.json").content.decode()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert all(isinstance(code, str) for code in responses), (path, method)
            for code in ("400", "405", "413", "422"):
                assert responses[code]["content"] == PROBLEM, (path, method, code)
            if operation.get("security"):
                assert responses["401"]["content"] == PROBLEM, (path, method)
                assert responses["403"]["content"] == PROBLEM, (path, method)
            for code, answer in responses.items():
                if code.startswith(("4", "5")):
                    assert answer["content"] == PROBLEM, (path, method, code)
    seal = schema["paths"]["/api/v1/seals/{seal_id}"]["get"]["responses"]
    assert seal["200"]["content"] == {"application/x-pem-file": {}}
    # No status code appears twice in the text (a number and a string key of one object).
    parsed = json.loads(raw, object_pairs_hook=_no_duplicate_keys)
    assert parsed["paths"]
    verify = schema["paths"]["/api/v1/licences/verify"]["post"]["responses"]
    assert verify["429"]["content"] == PROBLEM


def _no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), keys
    return dict(pairs)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_schema_names_are_unique():
    """Ninja names components by class name: two schemas of one name would silently
    describe one with the other (as DeadlineOut and MaterialOut once did)."""
    ours = [
        cls
        for cls in set(_subclasses(Schema))
        if cls.__module__.split(".")[0]
        in {"core", "accounts", "catalog", "cases", "licences", "hotline", "delivery"}
        and cls.__name__ != "Input"
    ]
    names = [cls.__name__ for cls in ours]
    assert len(ours) > 20
    assert sorted(n for n in names if names.count(n) > 1) == []


def test_docs_render(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert "swagger" in response.content.decode().lower()
