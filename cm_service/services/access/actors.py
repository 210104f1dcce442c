"""Who is acting: staff, a participant, or the system (CLI, scheduler)."""

from __future__ import annotations

from dataclasses import dataclass

from ...models import User
from ..errors import Forbidden


@dataclass(frozen=True)
class Recipient:
    """Who records are disclosed to (42 CFR Part 2), and for what: a named
    recipient, the class of recipients it belongs to (if any) and the purpose."""

    name: str
    purpose: str
    class_name: str | None = None


@dataclass(frozen=True)
class Actor:
    kind: str  # "staff" | "participant" | "system" | "api"
    id: int | None
    clinic_id: int | None  # None only for the system actor, which is not scoped
    role: str  # admin | staff | auditor | participant | system
    # An API token issued to an outside recipient: every participant record it
    # reads is a disclosure (services/access/consents.py). None for the clinic's own.
    recipient: Recipient | None = None

    def require(self, *roles: str) -> None:
        if self.role != "system" and self.role not in roles:
            raise Forbidden(f"this needs the {' or '.join(roles)} role")

    def may_see_clinic(self, clinic_id: int) -> bool:
        return self.kind == "system" or self.clinic_id == clinic_id

    @property
    def user_id(self) -> int | None:
        return self.id if self.kind == "staff" else None


SYSTEM = Actor(kind="system", id=None, clinic_id=None, role="system")


def staff_actor(user: User) -> Actor:
    return Actor(kind="staff", id=user.id, clinic_id=user.clinic_id, role=user.role)
