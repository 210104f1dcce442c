"""Sign-in throttling kept in the database, so it holds across every worker.

After MAX_FAILURES failures within WINDOW an account is locked until the window has
passed since the latest failure: a temporary lock, so nobody can lock a colleague out
for good (ASVS 6.1.1), and every attempt is recorded (ASVS 16.3.1).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from ...extensions import db
from ...models import LoginAttempt

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
# Spraying one PIN over many codes never locks any one code: failures are also
# counted per source address, and across the clinic (a distributed spray). The
# clinic-wide limit is high, as a spray can then slow every participant's login;
# both last only WINDOW.
MAX_FAILURES_PER_SOURCE = 20
MAX_FAILURES_PER_SCOPE = 200


def is_locked(kind: str, account_key: str, *, now: datetime) -> bool:
    """True when the account had MAX_FAILURES failures since its last success, all
    within WINDOW of now."""
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.kind == kind,
            LoginAttempt.account_key == account_key,
            LoginAttempt.success.is_(True),
        )
    )
    since = now - WINDOW
    if last_success is not None and last_success > since:
        since = last_success
    failures = db.session.execute(
        select(func.count()).where(
            LoginAttempt.kind == kind,
            LoginAttempt.account_key == account_key,
            LoginAttempt.success.is_(False),
            LoginAttempt.at > since,
        )
    ).scalar_one()
    return failures >= MAX_FAILURES


def record_attempt(
    kind: str, account_key: str, success: bool, *, now: datetime, ip: str | None
) -> None:
    """Add the attempt to the current transaction (the caller commits)."""
    db.session.add(
        LoginAttempt(
            kind=kind, account_key=account_key[:120], success=success, ip=ip, at=now
        )
    )


def is_throttled(kind: str, *, ip: str | None, scope: str, now: datetime) -> bool:
    """True when the source address, or everyone in `scope` (an account-key
    prefix, e.g. a clinic's "12:"), failed too often within WINDOW."""
    since = now - WINDOW
    failed = (
        LoginAttempt.kind == kind,
        LoginAttempt.success.is_(False),
        LoginAttempt.at > since,
    )
    if ip is not None:
        from_source = db.session.execute(
            select(func.count()).where(*failed, LoginAttempt.ip == ip)
        ).scalar_one()
        if from_source >= MAX_FAILURES_PER_SOURCE:
            return True
    in_scope = db.session.execute(
        select(func.count()).where(
            *failed, LoginAttempt.account_key.startswith(scope, autoescape=True)
        )
    ).scalar_one()
    return in_scope >= MAX_FAILURES_PER_SCOPE
