"""The JSON API's access: bearer tokens and idempotency keys.

Tokens are `secrets.token_urlsafe(32)` strings shown once; only their SHA-256 is
stored, so a database dump holds nothing that authenticates. An `Idempotency-Key` is
claimed in the use case's own transaction and holds the first response afterwards, so
a client that retries after a timeout gets that response back instead of a second
record, and a crash can never leave a claim without the work it claimed.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import (
    CONSENT_PURPOSES,
    ApiToken,
    Clinic,
    IdempotentResponse,
)
from ...transactions import reading
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import check_text
from . import audit
from .actors import Actor, Recipient

API_ROLES = ("staff", "auditor")
# The status of a claim whose use case committed but whose response was not stored:
# the process died in between (or another request is storing it at this moment).
UNANSWERED = 0
ANSWER_WAIT = 2.0  # seconds a retry waits for the first request's stored response


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_actor(token: ApiToken) -> Actor:
    recipient = (
        Recipient(token.recipient, token.purpose or "", token.recipient_class)
        if token.recipient
        else None
    )
    return Actor(
        kind="api",
        id=token.id,
        clinic_id=token.clinic_id,
        role=token.role,
        recipient=recipient,
    )


def create_token(
    actor: Actor,
    clinic_id: int,
    role: str,
    *,
    now: datetime,
    name: str | None = None,
    recipient: str | None = None,
    recipient_class: str | None = None,
    purpose: str | None = None,
) -> tuple[ApiToken, str]:
    """Create an API token for a clinic; returns the row and the secret (shown once).

    With `recipient` (a county EHR, a payer) the token is an outside recipient's:
    it only reads (auditor role), for `purpose`, and every participant record it
    reads is a disclosure made under a consent (services/access/consents.py).

    Raises InvalidInput for an unknown clinic, a role other than staff/auditor, a
    name over 120 characters, a recipient's token that could write or has no
    purpose, or a class or purpose without a recipient.
    """
    actor.require("admin")
    if db.session.get(Clinic, clinic_id) is None or not actor.may_see_clinic(clinic_id):
        raise InvalidInput("clinic", f"There is no clinic {clinic_id}.")
    if role not in API_ROLES:
        raise InvalidInput("role", f"Role must be one of: {', '.join(API_ROLES)}.")
    name = check_text("name", name, max_length=120) or None
    recipient = check_text("recipient", recipient, max_length=200) or None
    recipient_class = (
        check_text("recipient_class", recipient_class, max_length=200) or None
    )
    purpose = check_text("purpose", purpose, max_length=16) or None
    if recipient is None and (recipient_class or purpose):
        field = "recipient_class" if recipient_class else "purpose"
        raise InvalidInput(field, "Only a token with a recipient has one.")
    if recipient is not None:
        if role != "auditor":
            raise InvalidInput(
                "role", "An outside recipient's token only reads: use role auditor."
            )
        if purpose not in CONSENT_PURPOSES:
            raise InvalidInput(
                "purpose",
                f"Give the purpose of its reads: one of {', '.join(CONSENT_PURPOSES)}.",
            )
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        clinic_id=clinic_id,
        role=role,
        token_hash=token_hash(secret),
        name=name,
        created_at=now,
        recipient=recipient,
        recipient_class=recipient_class,
        purpose=purpose,
    )
    db.session.add(token)
    db.session.flush()
    detail: dict[str, Any] = {"role": role, "name": name}
    if recipient is not None:
        detail |= {
            "recipient": recipient,
            "recipient_class": recipient_class,
            "purpose": purpose,
        }
    audit.append(
        actor,
        "create_api_token",
        "api_token",
        token.id,
        now=now,
        clinic_id=clinic_id,
        detail=detail,
    )
    db.session.commit()
    return token, secret


def revoke_token(actor: Actor, token_id: int, *, now: datetime) -> ApiToken:
    """Revoke a token: every later request carrying it is refused with 401.

    Raises NotFound for an unknown token, Conflict("already_revoked").
    """
    actor.require("admin")
    token = db.session.get(ApiToken, token_id)
    if token is None or not actor.may_see_clinic(token.clinic_id):
        raise NotFound("No such token.", "token")
    if token.revoked_at is not None:
        raise Conflict("already_revoked", f"Token {token_id} is already revoked.")
    token.revoked_at = now
    audit.append(
        actor,
        "revoke_api_token",
        "api_token",
        token.id,
        now=now,
        clinic_id=token.clinic_id,
    )
    db.session.commit()
    return token


def authenticate(secret: str) -> ApiToken | None:
    """The live token whose secret this is, or None (unknown or revoked)."""
    token = db.session.scalars(
        select(ApiToken).where(ApiToken.token_hash == token_hash(secret))
    ).first()
    return token if token is not None and token.revoked_at is None else None


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: dict[str, Any]


def claim_idempotency_key(
    actor: Actor, key: str, request_hash: str, *, now: datetime
) -> StoredResponse | None:
    """Claim `key` for a request, or return the response already stored for it.

    None means the caller holds the claim, written but not committed: run the use
    case, whose commit commits the claim with its writes (or whose rollback drops
    it), then `store_response` or `store_refusal`. Raises
    Conflict("idempotency_key_reused") when the key came with a different request,
    Conflict("idempotency_key_completed") when the first request was carried out but
    its response was not stored.
    """
    found = _stored(actor.clinic_id, key)
    if found is None:
        db.session.add(
            IdempotentResponse(
                clinic_id=actor.clinic_id,
                key=key,
                request_hash=request_hash,
                status=UNANSWERED,
                body={},
                created_at=now,
            )
        )
        try:
            # Flushed, not committed: a crash before the use case commits leaves no
            # claim behind. A concurrent request with the same key waits here on the
            # UNIQUE (clinic, key) index until this transaction ends (PostgreSQL);
            # on SQLite, BEGIN IMMEDIATE makes it wait before its first read.
            db.session.flush()
            return None
        except IntegrityError:
            # The concurrent request committed the key first: answer as it did.
            db.session.rollback()
            found = _stored(actor.clinic_id, key)
            if found is None:
                raise
    if found.request_hash != request_hash:
        raise Conflict(
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request.",
            "Idempotency-Key",
        )
    if found.status == UNANSWERED:
        found = _answer_of(actor.clinic_id, key)
    if found.status == UNANSWERED:
        raise Conflict(
            "idempotency_key_completed",
            "The request with this Idempotency-Key was carried out, but its response "
            "is not available; read the result instead of sending it again.",
            "Idempotency-Key",
        )
    return StoredResponse(found.status, found.body)


def store_response(actor: Actor, key: str, status: int, body: dict[str, Any]) -> None:
    """Keep the response to a claimed key once its use case has returned, for replay
    to every retry. The claim is committed with its use case's writes already, or
    (a use case that wrote nothing) is committed now."""
    found = _stored(actor.clinic_id, key)
    if found is not None and found.status == UNANSWERED:
        found.status, found.body = status, body
        db.session.commit()


def store_refusal(
    actor: Actor,
    key: str,
    request_hash: str,
    status: int,
    body: dict[str, Any],
    *,
    now: datetime,
) -> None:
    """Keep the refusal of a claimed key's use case, for replay to every retry.

    The refused use case left its transaction open, claim included: roll it back,
    then claim the key again with the refusal as its response. If a concurrent
    request with the key claimed it in between, its response stands.
    """
    db.session.rollback()
    db.session.add(
        IdempotentResponse(
            clinic_id=actor.clinic_id,
            key=key,
            request_hash=request_hash,
            status=status,
            body=body,
            created_at=now,
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def release_idempotency_key() -> None:
    """Drop an unfinished claim (the use case failed unexpectedly) by rolling back
    the transaction that holds it, so a retry runs afresh. A claim whose use case
    had committed stays, and retries are told the request was carried out."""
    db.session.rollback()


def _answer_of(clinic_id: int | None, key: str) -> IdempotentResponse:
    """The first request committed its work and is about to keep its response:
    wait a moment for it (each look in a fresh transaction, holding no lock the
    first request needs), rather than answer a retry that it is unavailable. Still
    unanswered after ANSWER_WAIT, the first request crashed in between."""
    deadline = time.monotonic() + ANSWER_WAIT
    while True:
        db.session.rollback()  # end this transaction: see what has been committed
        db.session.expire_all()  # and reload the row, not the copy already loaded
        with reading():  # no SQLite write lock, which the first request needs
            found = _stored(clinic_id, key)
        if found is None or found.status != UNANSWERED:
            return found  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            return found
        time.sleep(0.05)


def _stored(clinic_id: int | None, key: str) -> IdempotentResponse | None:
    return db.session.scalars(
        select(IdempotentResponse).where(
            IdempotentResponse.clinic_id == clinic_id, IdempotentResponse.key == key
        )
    ).first()
