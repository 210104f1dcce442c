"""Forms posted after a staff session expired: kept, shown back once, then gone.

A staff member whose session ended (idle or too old) while they filled in a form
loses nothing: the POST is kept here as a FormDraft, tied to the account the expired
session belonged to, for LIFETIME; after that same account signs in again (password,
and the second factor when it has one) the page shows the form filled in with "Not
saved yet". The POST itself is never acted on.

What is kept: the posted fields in order, except the CSRF token and anything that
looks like a secret (passwords, PINs, codes, TOTP and recovery codes), within
MAX_FIELDS fields of MAX_VALUE_CHARS characters each; a bigger or unreadable post is
refused whole (InvalidInput), never kept in part. A draft may hold participant data:
keeping and showing one is audited (its path and field count, never its values), and
expired drafts are purged on every write and by the scheduler's tick.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import delete, select
from sqlalchemy.engine import CursorResult

from ...extensions import db
from ...models import FormDraft, User
from ...transactions import begin_writing
from ..errors import InvalidInput
from ..validation import check_text
from . import audit
from .actors import staff_actor

LIFETIME = timedelta(minutes=30)
MAX_FIELDS = 300
MAX_VALUE_CHARS = 4000  # a few KB: every textarea of the app allows at most 500
MAX_NAME_CHARS = 100
MAX_PATH_CHARS = 512  # FormDraft.path
TOO_LARGE = "The form was too large to keep."
# Never stored: a field whose name holds one of these words (split at -, _, . and
# the like), or contains one of the longer ones anywhere.
_SECRET_WORDS = frozenset(
    {"pin", "code", "codes", "otp", "token", "confirm", "recovery", "pw", "pass"}
)
_SECRET_PARTS = ("password", "passwd", "passphrase", "secret", "totp", "csrf")
_WORDS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Draft:
    """A claimed draft: the form's path and its fields, [(name, value), ...]."""

    path: str
    fields: list[tuple[str, str]]


def is_secret(name: str) -> bool:
    """Whether a field named `name` may hold a password, PIN, code or token."""
    lowered = name.lower()
    if any(part in lowered for part in _SECRET_PARTS):
        return True
    return any(word in _SECRET_WORDS for word in _WORDS.split(lowered))


def kept_fields(pairs: list[tuple[str, str]]) -> list[list[str]]:
    """The fields worth keeping from a post, in order, checked; InvalidInput("form")
    when the post is too large or holds text no one could type."""
    if len(pairs) > MAX_FIELDS:
        raise InvalidInput("form", TOO_LARGE)
    kept: list[list[str]] = []
    for name, value in pairs:
        if is_secret(name):
            continue
        name = check_text("form", name, max_length=MAX_NAME_CHARS)
        if len(value) > MAX_VALUE_CHARS:
            raise InvalidInput("form", TOO_LARGE)
        value = check_text("form", value, max_length=MAX_VALUE_CHARS, multiline=True)
        if name:
            kept.append([name, value])
    return kept


def keep(
    user: User, path: str, pairs: list[tuple[str, str]], *, now: datetime
) -> FormDraft:
    """Keep what `user` posted to `path` after their session expired; commits.

    Raises InvalidInput("form") for a post too large to keep (nothing is stored)."""
    if not path.startswith("/") or len(path) > MAX_PATH_CHARS:
        raise InvalidInput("form", TOO_LARGE)
    fields = kept_fields(pairs)
    begin_writing()
    _purge(now)
    draft = FormDraft(
        token=secrets.token_urlsafe(32),
        user_id=user.id,
        path=path,
        fields=fields,
        created_at=now.astimezone(UTC),
        expires_at=(now + LIFETIME).astimezone(UTC),
    )
    db.session.add(draft)
    db.session.flush()
    audit.append(
        staff_actor(user),
        "form_draft_kept",
        "form_draft",
        draft.id,
        now=now,
        detail={"path": path, "fields": len(fields)},
    )
    db.session.commit()
    return draft


def _by_token(token: object, *, lock: bool = False) -> FormDraft | None:
    if not isinstance(token, str) or not 0 < len(token) <= 64:
        return None
    query = select(FormDraft).where(FormDraft.token == token)
    if lock:
        query = query.with_for_update()
    return db.session.scalars(query).first()


def waiting(token: object, *, now: datetime) -> bool:
    """Whether a draft with this token is waiting for its owner to sign in."""
    draft = _by_token(token)
    return draft is not None and _as_utc(draft.expires_at) > now


def claim(user: User, token: object, *, now: datetime) -> Draft | None:
    """The draft `token` names if `user` owns it and it has not expired, deleted as
    it is handed over (it is shown once); None otherwise (another user's draft is
    left for its owner). Commits when it deletes anything."""
    if not isinstance(token, str) or not 0 < len(token) <= 64:
        return None
    begin_writing()
    draft = _by_token(token, lock=True)  # two tabs at once: shown in one
    if draft is None or draft.user_id != user.id:
        db.session.commit()
        return None
    if _as_utc(draft.expires_at) <= now:
        _purge(now)
        db.session.commit()
        return None
    shown = Draft(draft.path, [(str(n), str(v)) for n, v in draft.fields])
    audit.append(
        staff_actor(user),
        "form_draft_shown",
        "form_draft",
        draft.id,
        now=now,
        detail={"path": draft.path, "fields": len(shown.fields)},
    )
    db.session.delete(draft)
    db.session.commit()
    return shown


def purge(*, now: datetime) -> int:
    """Delete every expired draft; how many. Commits."""
    begin_writing()
    count = _purge(now)
    db.session.commit()
    return count


def _purge(now: datetime) -> int:
    # A DELETE's result is a CursorResult (it has the rowcount).
    result = cast(
        CursorResult[Any],
        db.session.execute(
            delete(FormDraft).where(FormDraft.expires_at <= now.astimezone(UTC)),
            execution_options={"synchronize_session": False},
        ),
    )
    return int(result.rowcount or 0)


def _as_utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
