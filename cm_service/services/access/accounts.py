"""Staff sign-in, sign-out and account security: one answer for every failure, and
an audit row either way.

Every attempt is recorded as a LoginAttempt; after lockout.MAX_FAILURES failures an
account is locked for lockout.WINDOW, and a locked account fails even with the right
password, with the same answer as any other failure. For an account with a second
factor (services/access/totp.py) a right password is only half a sign-in: it is not
recorded
as a success, so wrong codes keep counting towards the lock.

Sessions are revoked on the server: each staff session carries the account's
session_version, and logging out, changing the password or deactivating the account
bumps it, which ends every session of that account on every worker at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ...extensions import db
from ...models import User
from ..errors import InvalidInput, NotFound
from ..validation import check_text
from . import audit, lockout
from .actors import SYSTEM, Actor, staff_actor
from .passwords import check_password, check_secret, hash_secret

# Verified against when the username is unknown, so both failures cost the same time.
_DUMMY_HASH: list[str] = []


def session_user(user_id: object, version: object = None) -> User | None:
    """The active account a session names (its id as the cookie keeps it, a
    string or an int), at `version` when one is given; None for any other."""
    if isinstance(user_id, str):
        user_id = int(user_id) if user_id.isdigit() else None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not user.active:
        return None
    if version is not None and user.session_version != version:
        return None
    return user


def second_step(user: User) -> str | None:
    """What signing in still needs after the password: "code" (a TOTP or recovery
    code), "enrol" (an admin without a second factor sets one up first), or None."""
    if user.totp_secret:
        return "code"
    if user.role == "admin":
        return "enrol"
    return None


def authenticate(
    username: str, password: str, *, now: datetime, ip: str | None = None
) -> User | None:
    """The active, unlocked user with these credentials, or None.

    Records the attempt and audits it. When `second_step(user)` is not None the
    caller must complete it before the user is logged in. Raises
    InvalidInput("username") for text no username can be.
    """
    # A username no account can have (a NUL, a control character, past the
    # column) is refused before it is looked up or recorded as an attempt.
    username = check_text("username", username, max_length=80)
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
    pending = user is not None and ok and second_step(user) is not None
    if not pending:
        lockout.record_attempt("staff", username, ok, now=now, ip=ip)
    actor = staff_actor(user) if user is not None and ok else SYSTEM
    if ok:
        action = "login_password_ok" if pending else "login"
    else:
        action = "login_locked" if locked else "login_failed"
    audit.append(
        actor,
        action,
        "user",
        user.id if user else None,
        now=now,
        clinic_id=user.clinic_id if user else None,
        detail={} if ok else {"username": (username or "")[:80]},
    )
    db.session.commit()
    return user if ok else None


def _revoke_sessions(user: User) -> None:
    user.session_version = (user.session_version or 0) + 1


def log_out(user: User, *, now: datetime, everywhere: bool = False) -> None:
    """End every session of this account (the logout button and "log out
    everywhere" alike: a stolen copy of the cookie dies with the one logged out)."""
    _revoke_sessions(user)
    audit.append(
        staff_actor(user),
        "logout_everywhere" if everywhere else "logout",
        "user",
        user.id,
        now=now,
    )
    db.session.commit()


def session_expired(user_id: int, reason: str, *, now: datetime) -> None:
    """Audit a session that ended by itself (idle or too old); nothing is revoked."""
    user = db.session.get(User, user_id)
    if user is None:
        return
    audit.append(
        staff_actor(user),
        "session_expired",
        "user",
        user.id,
        now=now,
        detail={"reason": reason},
    )
    db.session.commit()


def change_password(
    user: User,
    current_password: str,
    new_password: str,
    *,
    now: datetime,
    ip: str | None = None,
) -> None:
    """Set a new password after checking the current one; ends the account's other
    sessions (the caller re-issues its own with the new session_version).

    A wrong current password counts as a failed sign-in (a stolen session cannot
    guess its way to the password), and a locked account cannot change it.
    """
    locked = lockout.is_locked("staff", user.username, now=now)
    if locked or not check_secret(user.password_hash, current_password or ""):
        lockout.record_attempt("staff", user.username, False, now=now, ip=ip)
        audit.append(
            staff_actor(user), "password_change_failed", "user", user.id, now=now
        )
        db.session.commit()
        raise InvalidInput("current_password", "That is not your current password.")
    check_password(
        new_password,
        username=user.username,
        clinic_name=user.clinic.name,
        field="new_password",
    )
    if check_secret(user.password_hash, new_password):
        raise InvalidInput("new_password", "Choose a password you are not using now.")
    user.password_hash = hash_secret(new_password)
    _revoke_sessions(user)
    audit.append(staff_actor(user), "password_changed", "user", user.id, now=now)
    db.session.commit()


def set_active(actor: Actor, user_id: int, active: bool, *, now: datetime) -> User:
    """An admin deactivates (or reactivates) a staff account of their own clinic.

    Deactivating ends every session of the account at once (ASVS 7.4.2).
    """
    actor.require("admin")
    user = db.session.get(User, user_id)
    if user is None or not actor.may_see_clinic(user.clinic_id):
        raise NotFound("There is no such staff account.")
    if not active and actor.kind == "staff" and actor.id == user.id:
        raise InvalidInput("active", "You cannot deactivate your own account.")
    if user.active != active:
        user.active = active
        _revoke_sessions(user)
        audit.append(
            actor,
            "reactivate_staff" if active else "deactivate_staff",
            "user",
            user.id,
            now=now,
            clinic_id=user.clinic_id,
        )
    db.session.commit()
    return user
