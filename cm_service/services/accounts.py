"""Staff sign-in: one answer for every failure, and an audit row either way."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import User
from . import audit
from .actors import SYSTEM, staff_actor
from .passwords import check_secret, hash_secret

# Verified against when the username is unknown, so both failures cost the same time.
_DUMMY_HASH: list[str] = []


def authenticate(username: str, password: str, *, now: datetime) -> User | None:
    """The active user with these credentials, or None. Audits the attempt."""
    user = db.session.scalars(
        select(User).where(User.username == (username or "").strip())
    ).first()
    if user is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_secret("not a real password"))
        check_secret(_DUMMY_HASH[0], password or "")
        ok = False
    else:
        ok = user.active and check_secret(user.password_hash, password or "")
    actor = staff_actor(user) if ok else SYSTEM
    audit.append(
        actor,
        "login" if ok else "login_failed",
        "user",
        user.id if user else None,
        now=now,
        clinic_id=user.clinic_id if user else None,
        detail={} if ok else {"username": (username or "")[:80]},
    )
    db.session.commit()
    return user if ok else None
