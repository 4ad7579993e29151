"""Demo electronic seals: one for every demo organisation that has none in force, so that
items whose result is a licence can be decided on a demo node (deciding one issues the
licence, signed with the handling organisation's seal). Made through
`licences.services.create_seal`, like any seal; running it again changes nothing."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from core.actors import Actor
from core.models import Organisation
from licences.models import Seal
from licences.services import create_seal


@transaction.atomic
def load_demo_seals(usccs: list[str], *, actor: Actor) -> int:
    """Give each organisation of `usccs` without a usable seal a new one; return how many."""
    now = timezone.now()
    sealed = set(
        Seal.objects.filter(
            organisation__uscc__in=usccs,
            status=Seal.Status.ACTIVE,
            valid_from__lte=now,
            valid_until__gt=now,
        ).values_list("organisation__uscc", flat=True)
    )
    made = 0
    for organisation in Organisation.objects.filter(uscc__in=usccs).exclude(uscc__in=sealed):
        create_seal(organisation, actor=actor)
        made += 1
    return made
