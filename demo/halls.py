"""The demo service halls of a node (`demo/data/<node>/halls.json`): the divisions below
the county they sit in, the halls with their windows — what each receives (lists by code,
the items of organisations by their demo slug) and the clerks assigned — and a few counter
consultations. Made through the core and halls services; running it again changes
nothing that is there.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from catalog.models import ItemList, ServiceItem
from core.actors import SystemActor
from core.models import Division, Organisation
from core.services import save_division
from demo.users import ACTOR, demo_accounts, node_data_dir
from halls.models import Consultation, ServiceHall, Window
from halls.services import assign_clerk, record_consultation, save_hall, save_window

HALLS_NAME = "halls.json"


@dataclass
class LoadedHalls:
    halls: int = 0
    windows: int = 0
    consultations: int = 0


def halls_data() -> dict[str, Any]:
    """The node's demo halls file, or nothing if it has none."""
    path = node_data_dir() / HALLS_NAME
    if not path.is_file():
        return {}
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@transaction.atomic
def load_demo_halls(*, actor: SystemActor = ACTOR) -> LoadedHalls:
    """Create the demo halls, windows and consultations that are not there yet; runs after
    the catalog and the demo accounts. Returns how many of each were made."""
    data = halls_data()
    loaded = LoadedHalls()
    if not data:
        return loaded
    for raw in data.get("divisions", []):
        if not Division.objects.filter(code=raw["code"]).exists():
            save_division(
                code=raw["code"],
                name=raw["name"],
                level=raw["level"],
                parent=Division.objects.get(code=raw["parent"]),
                actor=actor,
            )
    uscc_of = {slug: uscc for uscc, slug in demo_accounts().slugs.items()}
    users = get_user_model().objects
    for raw in data.get("halls", []):
        hall = ServiceHall.objects.filter(code=raw["code"]).first()
        if hall is None:
            hall = save_hall(
                code=raw["code"],
                name=raw["name"],
                kind=raw.get("kind", ServiceHall.Kind.CENTRE),
                organisation=Organisation.objects.get(uscc=uscc_of[raw["organisation"]]),
                division=Division.objects.get(code=raw["division"]),
                address=raw["address"],
                opening_hours=raw["opening_hours"],
                phone=raw["phone"],
                directions=raw.get("directions", ""),
                actor=actor,
            )
            loaded.halls += 1
        for w in raw.get("windows", []):
            if Window.objects.filter(hall=hall, number=w["number"]).exists():
                continue
            org = w.get("organisation")
            window = save_window(
                hall,
                number=w["number"],
                name=w["name"],
                organisation=Organisation.objects.get(uscc=uscc_of[org]) if org else None,
                lists=ItemList.objects.filter(code__in=w.get("lists", [])),
                items=ServiceItem.objects.filter(
                    organisation__uscc__in=[uscc_of[s] for s in w.get("items_of", [])]
                ),
                actor=actor,
            )
            for username in w.get("clerks", []):
                assign_clerk(window, users.get(username=username), actor=actor)
            loaded.windows += 1
    if not Consultation.objects.exists():
        for raw in data.get("consultations", []):
            window = Window.objects.get(hall__code=raw["hall"], number=raw["window"])
            item = None
            if raw.get("item_name"):
                item = (
                    ServiceItem.objects.filter(versions__name=raw["item_name"])
                    .order_by("code")
                    .first()
                )
            record_consultation(
                window,
                item=item,
                item_name=raw.get("item_name", ""),
                asker_name=raw.get("asker_name", ""),
                asker_contact=raw.get("asker_contact", ""),
                question=raw["question"],
                answer=raw.get("answer", ""),
                outcome=raw["outcome"],
                actor=users.get(username=raw["clerk"]),
            )
            loaded.consultations += 1
    return loaded
