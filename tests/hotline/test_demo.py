"""The 12345 demo data: tickets of every type in different states, made by the demo staff
through the services, one of them overdue; a dispatch catalog of the demo organisations."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from hotline.models import Centre, DispatchEntry, Ticket, TicketType
from hotline.selectors import catalog_in_force


def test_the_demo_has_tickets_of_every_type_in_various_states():
    call_command("load_demo", stdout=StringIO())
    tickets = Ticket.objects.all()
    assert set(tickets.values_list("type", flat=True)) == set(TicketType.values)
    states = set(tickets.values_list("state", flat=True))
    assert {"answered", "received", "handling", "merged", "closed", "replied", "refused"} <= states
    assert tickets.filter(warning="red").count() == 1
    assert tickets.get(state="merged").merged_into.state == "handling"
    assert tickets.filter(assignments__returned_at__isnull=False).count() == 1
    closed = tickets.get(state="closed")
    assert (
        closed.callback_outcome == "satisfied" and closed.caller_user.username == "citizen-wangfang"
    )
    assert tickets.get(state="answered").answered_guide is not None
    version = catalog_in_force()
    assert version is not None and DispatchEntry.objects.filter(version=version).count() == 7
    centre = Centre.objects.get()
    assert centre.organisation.staff_roles.get(role="hotline_agent").user.username == (
        "dl-zwfwzx-hotline-agent"
    )
