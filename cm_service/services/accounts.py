"""Staff sign-in: one answer for every failure, and an audit row either way.

Every attempt is recorded as a LoginAttempt; after lockout.MAX_FAILURES failures an
account is locked for lockout.WINDOW, and a locked account fails even with the right
password, with the same answer as any other failure.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import User
from . import audit, lockout
from .actors import SYSTEM, staff_actor
from .passwords import check_secret, hash_secret

# Verified against when the username is unknown, so both failures cost the same time.
_DUMMY_HASH: list[str] = []


def authenticate(
    username: str, password: str, *, now: datetime, ip: str | None = None
) -> User | None:
    """The active, unlocked user with these credentials, or None.

    Records the attempt and audits it.
    """
    username = (username or "").strip()
    locked = lockout.is_locked("staff", username, now=now)
    user = db.session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_secret("not a real password"))
        check_secret(_DUMMY_HASH[0], password or "")
        ok = False
    else:
        # Checked even when locked, so a locked account answers no faster.
        ok = check_secret(user.password_hash, password or "") and user.active
        ok = ok and not locked
    lockout.record_attempt("staff", username, ok, now=now, ip=ip)
    actor = staff_actor(user) if ok else SYSTEM
    audit.append(
        actor,
        "login" if ok else ("login_locked" if locked else "login_failed"),
        "user",
        user.id if user else None,
        now=now,
        clinic_id=user.clinic_id if user else None,
        detail={} if ok else {"username": (username or "")[:80]},
    )
    db.session.commit()
    return user if ok else None
