"""Who acts: a signed-in user, the platform itself, or another node of the federation.

Authority follows the type, never the spelling of a name: only a `SystemActor` may take an
action a workflow reserves for the system (容缺 expiry, the end of 多地联办 steps), and only
a `NodeActor` stands for what another province's node reported.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User


@dataclass(frozen=True)
class SystemActor:
    """The platform acting on its own: a scheduled scan, a command, an import. `name` says
    which part of it ("容缺到期", "load_demo") and is what timelines and audit rows show."""

    name: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class NodeActor:
    """Someone on another node, as that node reported them: its node id and the label it
    gave (a clerk's account name, or the node's own name)."""

    node: str
    label: str

    def __str__(self) -> str:
        return self.label


Actor = User | AnonymousUser | SystemActor | NodeActor | None


def actor_label(actor: Actor) -> str:
    """How an actor is named on timelines and audit rows."""
    if actor is None:
        return "系统"
    if isinstance(actor, (SystemActor, NodeActor)):
        return str(actor)[:128]
    if isinstance(actor, AnonymousUser):
        return "匿名用户"
    return str(actor.get_username())


def user_of(actor: Actor) -> User | None:
    """The signed-in account behind `actor`, if it is one."""
    return actor if isinstance(actor, User) else None
