"""Template filters of the hotline pages: a ticket's state as its definition names it."""

from __future__ import annotations

from django import template

from hotline.engine import PROCESS
from hotline.models import Ticket

register = template.Library()


@register.filter
def state_label(ticket: Ticket) -> str:
    """The label of the ticket's state in its pinned definition (parsed once per version)."""
    return PROCESS.state_label(ticket)
