"""Staff second factor: TOTP (RFC 6238, 30-second steps, 6 digits) and one-time
recovery codes.

A code is accepted once: the step it matched is stored (User.totp_last_step) and the
same or an older step is refused, so a code seen over a shoulder cannot be replayed
(ASVS 6.5.1). One step of clock drift either way is allowed (valid_window 1). Wrong
codes count as failed sign-ins in the lockout service, so guessing is throttled like
passwords. The secret is never logged or put in an audit row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from flask import current_app
from sqlalchemy import delete, select

from ...extensions import db
from ...models import RecoveryCode, User
from ..errors import Forbidden, InvalidInput
from . import audit, lockout
from .actors import staff_actor
from .passwords import check_secret, hash_secret

ISSUER = "cm-service"
STEP_SECONDS = 30
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
ADMIN_ROLES = ("admin",)


def required(user: User) -> bool:
    """Admins must have a second factor; staff and auditors may."""
    return user.role in ADMIN_ROLES


def enrolment_secret(user: User, nonce: str) -> str:
    """The secret offered while enrolling: derived from the app's key and a random
    per-enrolment nonce, so only the nonce travels in the session cookie."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    message = f"totp-enrolment:{user.id}:{user.session_version}:{nonce}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:20]  # 160 bits
    return base64.b32encode(digest).decode()


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(
        name=f"{user.username}@{user.clinic.name}", issuer_name=ISSUER
    )


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an authenticator by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def step_at(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def _matching_step(
    secret: str, code: str, now: datetime, last_step: int | None
) -> int | None:
    """The step this code belongs to, within the window and newer than last_step."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = step_at(now)
    found = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        # Every candidate is compared, so the time taken says nothing about which.
        if hmac.compare_digest(totp.generate_otp(step), code) and found is None:
            found = step
    if found is None or (last_step is not None and found <= last_step):
        return None
    return found


def _fail(user: User, action: str, *, now: datetime, ip: str | None) -> None:
    lockout.record_attempt("staff", user.username, False, now=now, ip=ip)
    audit.append(staff_actor(user), action, "user", user.id, now=now)
    db.session.commit()


def _complete_login(user: User, method: str, *, now: datetime, ip: str | None) -> None:
    lockout.record_attempt("staff", user.username, True, now=now, ip=ip)
    audit.append(
        staff_actor(user),
        "login",
        "user",
        user.id,
        now=now,
        detail={"second_factor": method},
    )


def enrol(
    user: User,
    secret: str,
    code: str,
    *,
    now: datetime,
    ip: str | None = None,
    login: bool = False,
) -> list[str]:
    """Turn TOTP on once `code` proves the authenticator holds `secret`; return the
    new recovery codes (shown once, stored hashed). With login=True this is also the
    last step of signing in. Raises InvalidInput("code") on a wrong code."""
    if user.totp_secret:
        raise InvalidInput("code", "A second factor is already set up.")
    if lockout.is_locked("staff", user.username, now=now):
        raise InvalidInput("code", "Too many wrong codes. Try again in 15 minutes.")
    step = _matching_step(secret, code, now, None)
    if step is None:
        _fail(user, "totp_enrol_failed", now=now, ip=ip)
        raise InvalidInput(
            "code", "That code did not match. Check the key and try again."
        )
    user.totp_secret = secret
    user.totp_last_step = step
    codes = _replace_recovery_codes(user, now=now)
    audit.append(
        staff_actor(user),
        "totp_enrolled",
        "user",
        user.id,
        now=now,
        detail={"recovery_codes": len(codes)},
    )
    if login:
        _complete_login(user, "totp", now=now, ip=ip)
    db.session.commit()
    return codes


def _new_recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits from the CSPRNG (ASVS 6.5.3)
    return f"{raw[:5]}-{raw[5:]}"


def _normal_recovery_code(code: str) -> str:
    return "".join(ch for ch in (code or "").casefold() if ch.isalnum())


def _replace_recovery_codes(user: User, *, now: datetime) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(
            RecoveryCode(
                user_id=user.id,
                code_hash=hash_secret(_normal_recovery_code(code)),
                created_at=now,
            )
        )
    return codes


def new_recovery_codes(user: User, password: str, *, now: datetime) -> list[str]:
    """Replace the recovery codes (the old ones stop working); needs the password."""
    if not user.totp_secret:
        raise InvalidInput("password", "Set up a second factor first.")
    if not check_secret(user.password_hash, password or ""):
        raise InvalidInput("password", "That is not your current password.")
    codes = _replace_recovery_codes(user, now=now)
    audit.append(
        staff_actor(user),
        "recovery_codes_replaced",
        "user",
        user.id,
        now=now,
        detail={"recovery_codes": len(codes)},
    )
    db.session.commit()
    return codes


def unused_recovery_codes(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        ).all()
    )


def _use_recovery_code(user: User, code: str, *, now: datetime) -> bool:
    code = _normal_recovery_code(code)
    if len(code) != 10:
        return False
    unused = db.session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    for row in unused:
        if check_secret(row.code_hash, code):
            row.used_at = now
            return True
    return False


def verify_login(
    user: User, code: str, *, now: datetime, ip: str | None = None
) -> bool:
    """The second step of signing in: a fresh TOTP code or an unused recovery code.

    On success the sign-in is recorded and audited; a wrong code is a failed sign-in
    (it counts towards the lockout), and a locked account fails even with a good code.
    """
    if not user.totp_secret or not user.active:
        return False
    locked = lockout.is_locked("staff", user.username, now=now)
    step = _matching_step(user.totp_secret, code, now, user.totp_last_step)
    if step is not None and not locked:
        user.totp_last_step = step
        audit.append(staff_actor(user), "totp_ok", "user", user.id, now=now)
        _complete_login(user, "totp", now=now, ip=ip)
        db.session.commit()
        return True
    if step is None and not locked and _use_recovery_code(user, code, now=now):
        left = unused_recovery_codes(user)
        audit.append(
            staff_actor(user),
            "recovery_code_used",
            "user",
            user.id,
            now=now,
            detail={"left": left},
        )
        _complete_login(user, "recovery_code", now=now, ip=ip)
        db.session.commit()
        return True
    _fail(user, "totp_locked" if locked else "totp_failed", now=now, ip=ip)
    return False


def disable(user: User, password: str, *, now: datetime) -> None:
    """Turn the second factor off (not for admins, who must keep it); needs the
    current password (re-authentication for a security change, ASVS 7.5.1)."""
    if required(user):
        raise Forbidden("Admins must keep a second factor.")
    if not check_secret(user.password_hash, password or ""):
        raise InvalidInput("password", "That is not your current password.")
    user.totp_secret = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.append(staff_actor(user), "totp_disabled", "user", user.id, now=now)
    db.session.commit()
