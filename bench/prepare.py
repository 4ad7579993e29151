"""Prepare the bench database and write what the load generator needs.

`python -m bench.prepare --items N --citizens N --out FILE` (with the node's settings in
the environment): loads the demo data (idempotent), makes sure the generated catalog holds
N items and that N citizens exist with fresh bearer tokens, and writes FILE (JSON) with
the tokens, the item the submissions apply for with a valid form and its required
materials, real licence tokens to verify, the search queries, and one licence signature
for the in-process raw verification rate.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import os
import time
from pathlib import Path
from typing import Any

# The item citizens apply for online: 开具户籍类证明 (沈阳市公安局) of the Liaoning demo.
SUBMIT_ITEM = "200000100000-210100000000-000-11210100001234501H-3-00"


def form_answers(fields: list[dict[str, Any]]) -> dict[str, Any]:
    """Valid answers to a form: every field but the applicant's own (filled by the
    service from the applicant's record), by type."""
    from catalog.form_schema import APPLICANT_FIELDS

    today = dt.date.today()
    answers: dict[str, Any] = {}
    for field in fields:
        name = field["name"]
        if name in APPLICANT_FIELDS["person"]:
            continue
        kind = field.get("type", "text")
        answers[name] = {
            "date": today.isoformat(),
            "number": "1",
            "choice": (field.get("choices") or [""])[0],
            "division": "210102",
            "phone": "13800000000",
            "id_number": "110101199003070079",
            "uscc": "91110000802100433B",
            "address": "辽宁省沈阳市和平区南京北街 1 号",
        }.get(kind, "基准测试")
    return answers


def prepare(items: int, citizens: int, submit_item: str) -> dict[str, Any]:
    from django.core.management import call_command

    from bench.catalog import generate_items, search_queries
    from bench.database import analyze
    from bench.people import ensure_citizens, issue_tokens
    from catalog.models import Material
    from catalog.selectors import current_version_of
    from demo.pdf import demo_pdf
    from licences.canonical import split_token
    from licences.models import Licence, Seal

    timings: dict[str, float] = {}
    started = time.perf_counter()
    call_command("load_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    timings["load_demo_s"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    generated = generate_items(items, progress=True)
    analyze()
    timings["generate_items_s"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    people = ensure_citizens(citizens)
    tokens = issue_tokens(people)
    timings["citizens_s"] = round(time.perf_counter() - started, 1)

    version = current_version_of(submit_item)
    required = [
        {"id": m.pk, "name": m.name}
        for m in version.materials.all()
        if m.necessity == Material.Necessity.REQUIRED
    ]
    licences = list(
        Licence.objects.filter(status="valid").order_by("pk").values_list("token", flat=True)
    )
    if not licences:
        raise SystemExit("没有可核验的演示证照：load_demo 未签发证照")
    payload_bytes, payload, signature = split_token(licences[0])
    seal = Seal.objects.get(fingerprint=payload["kid"])
    return {
        "timings": timings,
        "items_generated": generated.created,
        "items_total": generated.total,
        "tokens": tokens,
        "submit": {
            "item": submit_item,
            "form": form_answers(version.form_fields),
            "materials": required,
        },
        "pdf": base64.b64encode(demo_pdf("基准测试材料", ["tongban bench"])).decode(),
        "licence_tokens": licences,
        "search_queries": list(search_queries()),
        "raw_verify": {
            "algorithm": seal.algorithm,
            "public_pem": seal.public_pem,
            "data": base64.b64encode(payload_bytes).decode(),
            "signature": base64.b64encode(signature).decode(),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, required=True)
    parser.add_argument("--citizens", type=int, required=True)
    parser.add_argument("--submit-item", default=SUBMIT_ITEM)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongban.settings")
    import django

    django.setup()
    data = prepare(args.items, args.citizens, args.submit_item)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
