"""Idempotency-Key claims: made in the use case's transaction, answered after it."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import IdempotentResponse
from cm_service.services.access import api_tokens
from cm_service.services.access.actors import SYSTEM
from cm_service.services.errors import Conflict
from tests.support.factories import NOW

KEY, REQUEST = "visit-0105", "a" * 64
REFUSED = {"error": "insufficient_balance", "field": "points", "message": "No."}


@pytest.fixture
def actor(clinic):
    token, _ = api_tokens.create_token(SYSTEM, clinic.id, "staff", now=NOW)
    return api_tokens.api_actor(token)


def claims() -> int:
    return db.session.scalar(select(func.count()).select_from(IdempotentResponse))


def test_a_claim_rolled_back_with_its_use_case_leaves_the_key_free(actor):
    assert api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW) is None

    db.session.rollback()  # the use case failed, or the process died, before commit

    assert claims() == 0
    assert api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW) is None


def test_a_claim_committed_without_its_response_is_reported_done(actor):
    api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW)
    db.session.commit()  # the use case's commit; then the process dies

    with pytest.raises(Conflict) as refused:
        api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW)

    assert (refused.value.code, refused.value.field) == (
        "idempotency_key_completed",
        "Idempotency-Key",
    )


def test_a_stored_response_is_replayed(actor):
    api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW)
    db.session.commit()
    api_tokens.store_response(actor, KEY, 201, {"id": 7})

    replay = api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW)

    assert replay == api_tokens.StoredResponse(201, {"id": 7})


def test_a_refusal_is_kept_although_its_claim_was_rolled_back(actor):
    api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW)

    api_tokens.store_refusal(actor, KEY, REQUEST, 409, REFUSED, now=NOW)

    replay = api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW)
    assert replay == api_tokens.StoredResponse(409, REFUSED)


@pytest.mark.parametrize("answered", [True, False])
def test_a_late_refusal_never_replaces_a_committed_claim(actor, answered):
    # Another request with the key committed its work after this one rolled back.
    api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW)
    db.session.commit()
    if answered:
        api_tokens.store_response(actor, KEY, 201, {"id": 7})

    api_tokens.store_refusal(actor, KEY, REQUEST, 409, REFUSED, now=NOW)

    stored = db.session.scalars(select(IdempotentResponse)).one()
    assert (stored.status, stored.body) == ((201, {"id": 7}) if answered else (0, {}))


def test_a_retry_waits_for_the_response_being_stored(app, actor):
    # Issue 15, defect 9: a retry landing between the first request's commit and
    # its stored response was told 409 "completed" instead of getting the answer.
    import threading
    import time

    api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW)
    db.session.commit()  # the first request's use case has committed

    def first_request_stores_its_answer():
        with app.app_context():
            time.sleep(0.3)
            api_tokens.store_response(actor, KEY, 201, {"id": 7})
            db.session.remove()

    storing = threading.Thread(target=first_request_stores_its_answer)
    storing.start()
    try:
        replay = api_tokens.claim_idempotency_key(actor, KEY, REQUEST, now=NOW)
    finally:
        storing.join(10)

    assert replay == api_tokens.StoredResponse(201, {"id": 7})
