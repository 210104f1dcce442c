"""JSON API v1 for integrations: token-authenticated, scoped to the token's clinic.

Each view parses its body (`inputs`), calls the use case as the token's actor and
returns the `outputs` shape. Participants are named by their code; a code or event
id from another clinic is a 404, exactly like one that does not exist.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request, url_for

from .. import clock
from ..extensions import db
from ..services.access import api_tokens, consents
from ..services.access.actors import Actor
from ..services.admin import clinics
from ..services.cm import appointments, checkins, ledger, participants, rewards
from ..services.errors import CMError, InvalidInput, NotFound
from ..services.integrations import fhir, results_import
from ..services.reads import fidelity, report_exports, reports
from . import inputs, outputs
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")

WRITERS = ("admin", "staff")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _actor() -> Actor:
    return g.api_actor


def _body(*allowed: str) -> dict[str, Any]:
    return inputs.json_object(request.get_data(cache=True), allowed)


def error_body(error: CMError) -> dict[str, Any]:
    body = {"error": error.code, "field": error.field, "message": error.message}
    if isinstance(error, consents.ConsentRequired):
        body["missing"] = list(error.missing)
    if isinstance(error, results_import.InvalidFile):
        body["errors"] = [{"field": f, "message": m} for f, m in error.errors]
    return body


@bp.errorhandler(CMError)
def _refused(error: CMError):
    # Some use cases flush before their last check; a refusal must leave nothing.
    db.session.rollback()
    return error_body(error), error.status


@bp.before_request
def _authenticate():
    if request.endpoint == "api.openapi":
        return None
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    secret = secret.strip()
    token = None
    if scheme.lower() == "bearer" and secret:
        token = api_tokens.authenticate(secret)
    if token is None:
        body = {
            "error": "unauthorized",
            "field": None,
            "message": "Send a valid API token: Authorization: Bearer <token>.",
        }
        return body, 401, {"WWW-Authenticate": 'Bearer realm="cm-service"'}
    g.api_actor = api_tokens.api_actor(token)
    if request.method not in SAFE_METHODS and g.api_actor.role not in WRITERS:
        # A reader is refused before anything is looked up or parsed, so a 404 or
        # 422 never tells it what exists or what a body would need.
        body = {
            "error": "forbidden",
            "field": None,
            "message": "This token may only read.",
        }
        return body, 403
    return None


def idempotent(view: Callable[..., tuple[dict[str, Any], int]]) -> Callable[..., Any]:
    """Honour an `Idempotency-Key` header: the first response is stored and every
    retry with the same key and body gets it back, without running the use case.

    The key is claimed in the use case's transaction, so the claim commits with the
    use case's writes or not at all; the response is stored just after.
    """

    @wraps(view)
    def wrapped(**kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(**kwargs)
        actor = _actor()
        actor.require(*WRITERS)  # readers must not leave even a stored response
        if not (0 < len(key) <= 255 and key.isascii() and key.isprintable()):
            raise InvalidInput(
                "Idempotency-Key", "Use 1 to 255 printable ASCII characters."
            )
        fingerprint = hashlib.sha256(
            f"{request.method} {request.path}\n".encode() + request.get_data(cache=True)
        ).hexdigest()
        stored = api_tokens.claim_idempotency_key(
            actor, key, fingerprint, now=clock.now()
        )
        if stored is not None:
            return stored.body, stored.status, {"Idempotent-Replayed": "true"}
        try:
            body, status = view(**kwargs)
        except CMError as error:
            body, status = error_body(error), error.status
            api_tokens.store_refusal(
                actor, key, fingerprint, status, body, now=clock.now()
            )
            return body, status
        except Exception:
            api_tokens.release_idempotency_key()
            raise
        api_tokens.store_response(actor, key, status, body)
        return body, status

    return wrapped


@bp.get("/openapi.json")
def openapi():
    return openapi_document()


@bp.post("/participants")
@idempotent
def create_participant():
    body = _body("code", "display_name", "pin")
    person = participants.register_participant(
        _actor(),
        _actor().clinic_id,
        inputs.text(body, "code", required=True, max_length=40) or "",
        now=clock.now(),
        display_name=inputs.text(body, "display_name", max_length=120),
        pin=inputs.text(body, "pin", max_length=12),
    )
    return outputs.participant(person, None), 201


def _route() -> str:
    rule = request.url_rule.rule if request.url_rule else request.path
    return f"{request.method} {rule}"


def _disclose(person: Any, shared: tuple[str, ...]) -> None:
    """An outside recipient's token reading a record: refused without a matching
    consent (403 consent_required), else the disclosure is logged first."""
    consents.disclose_record(
        _actor(), person.id, shared, route=_route(), now=clock.now()
    )


@bp.get("/participants/<code>")
def participant(code: str):
    person = participants.participant_by_code(_actor(), code)
    _disclose(person, ("identity",))
    record = participants.view_participant(_actor(), person.id, now=clock.now())
    return outputs.participant(record.participant, record.enrollment)


@bp.post("/participants/<code>/enrollments")
@idempotent
def create_enrollment(code: str):
    body = _body(
        "protocol", "protocol_id", "start_on", "testing_days", "targets", "exemptions"
    )
    person = participants.participant_by_code(_actor(), code)
    enrollment = participants.enroll(
        _actor(),
        person.id,
        _protocol_id(body),
        inputs.day(body, "start_on", required=True),  # type: ignore[arg-type]
        now=clock.now(),
        testing_days=inputs.testing_days(body),
        targets=inputs.string_list(body, "targets"),
        exemptions=inputs.exemptions(body),
    )
    return outputs.enrollment_of(enrollment), 201


def _protocol_id(body: dict[str, Any]) -> int:
    """The protocol version: by id, or the latest version of a key."""
    clinic_id = _actor().clinic_id
    versions = clinics.protocols_of(clinic_id) if clinic_id is not None else []
    if body.get("protocol_id") is not None:
        wanted = inputs.whole_number(body, "protocol_id")
        found = [p for p in versions if p.id == wanted]
    else:
        key = inputs.text(body, "protocol", required=True, max_length=80)
        found = [p for p in versions if p.key == key]
    if not found:
        field = "protocol_id" if "protocol_id" in body else "protocol"
        raise InvalidInput(field, "Choose one of this clinic's protocols.")
    return max(found, key=lambda p: p.version).id


EVENT_FIELDS = {
    "specimen": ("results", "refused"),
    "breath": ("brac",),
    "attendance": ("session_type", "late", "verification", "verification_note"),
    # With a session_type the excuse is for that session, else for the test day.
    "excused": ("reason", "session_type"),
}


@bp.post("/participants/<code>/events")
@idempotent
def create_event(code: str):
    body = _body("kind", "on", *{f for fs in EVENT_FIELDS.values() for f in fs})
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in EVENT_FIELDS:
        raise InvalidInput("kind", f"Kind must be one of: {', '.join(EVENT_FIELDS)}.")
    for field in body.keys() - {"kind", "on", *EVENT_FIELDS[kind]}:
        raise InvalidInput(field, f"Not used for {kind} events.")
    on = inputs.day(body, "on", required=True)
    person = participants.participant_by_code(_actor(), code)
    try:
        result = _record(kind, body, person.id, on)
    except InvalidInput as error:
        if error.field == "collected_on":  # the services' name for the API's "on"
            raise InvalidInput("on", error.message) from None
        raise
    return outputs.checkin_of(result), 201


def _record(kind: str, body: dict[str, Any], participant_id: int, on: Any):
    actor, now = _actor(), clock.now()
    if kind == "specimen":
        results, refused = inputs.specimen(body)
        return checkins.record_specimen(
            actor, participant_id, on, results, now=now, refused=refused
        )
    if kind == "breath":
        brac = inputs.brac_milli(body)
        if brac is None:
            raise InvalidInput("brac", "This field is required.")
        return checkins.record_breath(actor, participant_id, on, brac, now=now)
    if kind == "attendance":
        session = inputs.text(body, "session_type", required=True, max_length=40)
        return checkins.record_attendance(
            actor,
            participant_id,
            on,
            session or "",
            now=now,
            late=inputs.flag(body, "late"),
            verification=inputs.text(body, "verification", max_length=20),
            verification_note=inputs.text(body, "verification_note", max_length=500),
        )
    reason = inputs.text(body, "reason", required=True) or ""
    session = inputs.text(body, "session_type", max_length=40)
    if session is not None:
        return checkins.excuse_session(
            actor, participant_id, on, session, reason, now=now
        )
    return checkins.excuse_day(actor, participant_id, on, reason, now=now)


@bp.get("/participants/<code>/appointments")
def list_appointments(code: str):
    """Booked sessions from today on (a view of the record: audited)."""
    person = participants.participant_by_code(_actor(), code)
    _disclose(person, ("identity", "attendance"))
    record = participants.view_participant(_actor(), person.id, now=clock.now())
    found = appointments.upcoming(person.id, record.today, limit=100)
    return {"appointments": [outputs.appointment_of(a) for a in found]}


@bp.post("/participants/<code>/appointments")
@idempotent
def book_appointments(code: str):
    body = _body("session_type", "on", "starts_at", "weekly", "until")
    person = participants.participant_by_code(_actor(), code)
    booked = appointments.book(
        _actor(),
        person.id,
        inputs.text(body, "session_type", required=True, max_length=40) or "",
        inputs.day(body, "on", required=True),
        inputs.clock_time(body, "starts_at", required=True),
        now=clock.now(),
        weekly=inputs.flag(body, "weekly"),
        until=inputs.day(body, "until"),
    )
    return {
        "appointments": [outputs.appointment_of(a) for a in booked.appointments],
        "already_booked": [on.isoformat() for on in booked.already],
    }, 201


@bp.post("/appointments/<int:appointment_id>/cancel")
@idempotent
def cancel_appointment(appointment_id: int):
    body = _body("reason")
    reason = inputs.text(body, "reason", required=True, max_length=500) or ""
    if appointment_id > inputs.MAX_ID:
        raise NotFound("No such booked session.", "appointment")
    cancelled = appointments.cancel(_actor(), appointment_id, reason, now=clock.now())
    return outputs.appointment_of(cancelled), 200


@bp.post("/events/<int:event_id>/void")
@idempotent
def void_event(event_id: int):
    body = _body("reason")
    reason = inputs.text(body, "reason", required=True) or ""
    if event_id > inputs.MAX_ID:
        raise NotFound("No such event.", "event")
    result = checkins.void_event(_actor(), event_id, reason, now=clock.now())
    return outputs.checkin_of(result), 200


@bp.get("/participants/<code>/balance")
def balance(code: str):
    person = participants.participant_by_code(_actor(), code)
    _disclose(person, ("identity", "incentives"))
    record = participants.view_balance(_actor(), person.id, now=clock.now())
    return outputs.balance_of(record.balance, record.evaluation)


@bp.get("/participants/<code>/ledger")
def ledger_entries(code: str):
    person = participants.participant_by_code(_actor(), code)
    _disclose(person, ("identity", "incentives"))
    record = participants.view_participant(_actor(), person.id, now=clock.now())
    return {
        "code": person.code,
        "entries": [outputs.entry_of(entry) for entry in record.entries],
        "balance": outputs.balance_of(record.balance, record.evaluation),
    }


@bp.post("/participants/<code>/redemptions")
@idempotent
def redeem(code: str):
    body = _body("points", "reward_id", "memo")
    points = inputs.whole_number(body, "points")
    reward_id = inputs.whole_number(body, "reward_id")
    memo = inputs.text(body, "memo")
    person = participants.participant_by_code(_actor(), code)
    entry = ledger.redeem_points(
        _actor(),
        person.id,
        points,
        now=clock.now(),
        reward_id=reward_id,
        nonce=_nonce(),
        memo=memo,
    )
    balance = ledger.balance_of(person.id)
    return {
        "redemption": outputs.entry_of(entry),
        "balance": {
            "points": balance.points,
            "cents": balance.cents,
            "draws": balance.draws,
        },
    }, 201


@bp.get("/participants/<code>/rewards")
def reward_prices(code: str):
    person = participants.participant_by_code(_actor(), code)
    _disclose(person, ("identity", "incentives"))
    screen = rewards.view_redeem(_actor(), person.id, now=clock.now())
    return outputs.reward_prices(screen)


def _nonce() -> str | None:
    # The ledger's idempotency key has room for a digest, not for any header value.
    key = request.headers.get("Idempotency-Key")
    return hashlib.sha256(key.encode()).hexdigest() if key else None


@bp.post("/participants/<code>/draws")
@idempotent
def draw(code: str):
    _body()
    person = participants.participant_by_code(_actor(), code)
    made = ledger.draw_prize(
        _actor(),
        person.id,
        now=clock.now(),
        secret=current_app.config["DRAW_SECRET"].encode(),
    )
    return outputs.draw_of(made, ledger.balance_of(person.id)), 201


def _report_query() -> tuple[reports.OutcomeReport, str, bool]:
    """The report the query asks for, its format and whether to de-identify it."""
    _actor().require(*reports.READERS)  # refused before reading the query
    args = request.args
    fmt = args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise InvalidInput("format", "Use format=json or format=csv.")
    deidentified = args.get("deidentified", "0")
    if deidentified not in ("0", "1"):
        raise InvalidInput("deidentified", "Use deidentified=1 or leave it out.")
    start = inputs.day(args, "from", required=True)
    end = inputs.day(args, "to", required=True)
    report = reports.outcome_report(
        _actor(),
        start,  # type: ignore[arg-type]
        end,  # type: ignore[arg-type]
        now=clock.now(),
        missing=args.get("missing", "positive"),
    )
    return report, fmt, deidentified == "1"


def _report_answer(what: str, shape: Callable, table: Callable) -> Response:
    report, fmt, deidentified = _report_query()
    rename = report_exports.pseudonyms() if deidentified else None
    recipient = None
    if not deidentified:
        recipient = _named_recipient(default_purpose="research")
    export = reports.record_disclosure(
        _actor(),
        report,
        fmt,
        now=clock.now(),
        deidentified=deidentified,
        what=what,
        recipient=recipient,
        route=_route(),
    )
    report = export.report
    headers = report_exports.headers_of(report, url_for("api.report_dictionary"))
    headers.update(report_exports.notice_headers(export))
    if fmt == "json":
        response = jsonify({**shape(report, rename), **report_exports.part2(export)})
        response.headers.update(headers)
        return response
    name = f"{what}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return Response(table(report, rename), mimetype="text/csv", headers=headers)


def _named_recipient(*, default_purpose: str) -> Any:
    """The recipient an export is for: the token's own (an outside recipient's),
    else the one the query names (`recipient`, `purpose`, `recipient_class`)."""
    args = request.args
    return consents.recipient_for(
        _actor(),
        args.get("recipient"),
        args.get("purpose"),
        args.get("recipient_class"),
        default_purpose=default_purpose,
    )


@bp.get("/reports/outcomes")
def outcome_report():
    """One row per episode, the clinic summary and the per-protocol breakdown."""
    return _report_answer(
        "outcomes", report_exports.as_json, report_exports.episodes_csv
    )


@bp.get("/reports/tests")
def outcome_tests():
    """The long format: one row per scheduled test or booked session."""
    return _report_answer(
        "tests",
        lambda report, rename: {
            **report_exports.window_of(report),
            "tests": report_exports.long_rows(report, rename),
        },
        report_exports.long_csv,
    )


@bp.get("/reports/fidelity")
def report_fidelity():
    """How CM was delivered, per staff member and week, and tests collected."""
    report, _, _ = _report_query()
    return {
        **report_exports.window_of(report),
        **fidelity.fidelity(_actor(), report.start, report.end, report=report),
    }


@bp.get("/reports/dictionary")
def report_dictionary():
    """Every exported column's definition, and the window's convention."""
    _actor().require(*reports.READERS)
    return report_exports.dictionary()


@bp.get("/participants/<code>/observations")
def observations(code: str):
    person = participants.participant_by_code(_actor(), code)
    recipient = _named_recipient(default_purpose="treatment")
    bundle = fhir.export_observations(
        _actor(), person.id, now=clock.now(), recipient=recipient, route=_route()
    )
    return Response(
        json.dumps(bundle),
        mimetype="application/fhir+json",
        headers={"X-Part2-Notice": consents.NOTICE},
    )


@bp.post("/participants/<code>/observations")
@idempotent
def import_observations(code: str):
    bundle = inputs.json_document(request.get_data(cache=True))
    person = participants.participant_by_code(_actor(), code)
    result = fhir.import_observations(_actor(), person.id, bundle, now=clock.now())
    return outputs.import_of(result), 201 if result.recorded else 200


@bp.post("/results:import")
@idempotent
def import_results():
    actor = _actor()
    result = results_import.import_lab_file(
        actor, actor.clinic_id, request.get_data(cache=True), now=clock.now()
    )
    return outputs.import_of(result), 201 if result.recorded else 200
