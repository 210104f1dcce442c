"""The OpenAPI 3.1 description of API v1, written by hand next to the views.

A test checks that every route of the blueprint is described here, so the two cannot
drift apart silently.
"""

from __future__ import annotations

from typing import Any

from ..models import CONSENT_PURPOSES
from ..rules.facts import RESULT_VALUES
from ..services.cm.checkins import SESSION_TYPES as _SESSIONS

SESSION_TYPES = list(_SESSIONS)

DAY = {"type": "string", "format": "date", "example": "2026-01-07"}
# The episode fields the API contract promises (issue 14); the CSV has them all.
EPISODE_REQUIRED = (
    "participant", "episode", "protocol", "start_on", "completed", "weeks_retained",
    "tests_scheduled", "tests_submitted", "negatives", "lda_tests_missing_positive",
    "lda_tests_missing_ignored", "use_pattern", "cost_cents",
    "cost_per_negative_cents", "share_of_maximum", "sessions_booked",
    "sessions_attended",
)  # fmt: skip
REPORT_QUERY = [
    {"name": "from", "in": "query", "required": True, "schema": DAY},
    {"name": "to", "in": "query", "required": True, "schema": DAY},
    {
        "name": "format",
        "in": "query",
        "required": False,
        "schema": {"enum": ["json", "csv"]},
    },
    {
        "name": "missing",
        "in": "query",
        "required": False,
        "schema": {"enum": ["positive", "ignored"]},
    },
    {
        "name": "deidentified",
        "in": "query",
        "required": False,
        "description": "1: per-export pseudonyms, dates as days since the start.",
        "schema": {"enum": ["0", "1"]},
    },
]
# Who an identifiable export goes to (42 CFR Part 2, docs/consent.md): a token
# issued to an outside recipient is its own recipient and ignores these.
RECIPIENT_QUERY = [
    {
        "name": "recipient",
        "in": "query",
        "required": False,
        "description": (
            "The outside recipient this identifiable export is for, as the "
            "participant's consent names it (e.g. County EHR). Required from the "
            "clinic's own tokens: without it the answer is 403 consent_required "
            "with field recipient."
        ),
        "schema": {"type": "string", "maxLength": 200},
    },
    {
        "name": "recipient_class",
        "in": "query",
        "required": False,
        "description": "The class of recipients it belongs to, which a consent "
        "may name instead (e.g. treating providers).",
        "schema": {"type": "string", "maxLength": 200},
    },
    {
        "name": "purpose",
        "in": "query",
        "required": False,
        "description": "What it is for (default: research for the outcome "
        "exports, treatment for the FHIR export).",
        "schema": {"enum": list(CONSENT_PURPOSES)},
    },
]
PART2_HEADERS = {
    "X-Part2-Notice": {
        "description": "The 42 CFR 2.32 notice (identifiable), or that a "
        "de-identified export needs no consent.",
        "schema": {"type": "string"},
    },
    "X-Part2-Left-Out": {
        "description": "Identifiable: participants left out for want of a "
        "matching consent (X-Part2-Left-Out-Reasons says why).",
        "schema": {"type": "string"},
    },
}
FHIR_JSON = "application/fhir+json"
CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "description": "The participant's pseudonymous code, e.g. P-0042.",
    "schema": {"type": "string", "maxLength": 40},
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Retrying a POST with the same key and body returns the first response "
        "instead of recording twice; the same key with another body is a 409 "
        "idempotency_key_reused. If the server stopped after carrying out the "
        "request but before keeping its response, a retry is a 409 "
        "idempotency_key_completed: the request was done once, so read its result."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def _errors(*statuses: int) -> dict[str, Any]:
    meaning = {
        400: "Malformed JSON (field is null).",
        401: "Missing, unknown or revoked token.",
        403: (
            "forbidden: the token's role may not do this (auditor tokens only "
            "read); or consent_required: no active consent of the participant "
            "covers this disclosure (42 CFR Part 2), and `field` and `missing` name "
            "what is missing (recipient, purpose, shares, expires_on, revoked_on)."
        ),
        404: "No such participant or event in the token's clinic.",
        409: "Conflict: see `error` (e.g. insufficient_balance).",
        422: "Invalid input: `field` names the JSON path.",
    }
    return {str(s): _json(_ref("Error"), meaning[s]) for s in (401, *statuses)}


def _post(
    summary: str, body: str | None, ok: int, result: str, *errors: int
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "parameters": [IDEMPOTENCY_KEY],
        "responses": {
            str(ok): _json(_ref(result), "Done."),
            **_errors(400, 403, 404, 409, 422, *errors),
        },
    }
    if body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return {"post": operation}


def _get(
    summary: str,
    result: str,
    *,
    extra: list | None = None,
    errors: tuple[int, ...] = (403, 404),
    csv: bool = False,
    headers: dict[str, Any] | None = None,
) -> dict[str, Any]:
    found = _json(_ref(result), "Found.")
    if csv:
        found["content"]["text/csv"] = {"schema": {"type": "string"}}
    if headers:
        found["headers"] = headers
    return {
        "get": {
            "summary": summary,
            "parameters": extra or [],
            "responses": {"200": found, **_errors(*errors)},
        }
    }


def _with_code(item: dict[str, Any]) -> dict[str, Any]:
    return {"parameters": [CODE], **item}


def _import(summary: str, content: dict[str, Any]) -> dict[str, Any]:
    done = "Recorded what was new (201) or found it all recorded already (200)."
    return {
        "post": {
            "summary": summary,
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": {"required": True, "content": content},
            "responses": {
                "201": _json(_ref("Import"), done),
                "200": _json(_ref("Import"), done),
                **_errors(400, 403, 404, 409),
                "422": _json(_ref("BatchError"), "Invalid input: `field` names where."),
            },
        }
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "field", "message"],
        "properties": {
            "error": {"type": "string"},
            "field": {"type": ["string", "null"]},
            "message": {"type": "string"},
            "missing": {
                "type": "array",
                "items": {"type": "string"},
                "description": "consent_required: what no consent covers.",
            },
        },
    },
    "NewParticipant": {
        "type": "object",
        "additionalProperties": False,
        "required": ["code"],
        "properties": {
            "code": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{1,38}$"},
            "display_name": {"type": ["string", "null"], "maxLength": 120},
            "pin": {"type": ["string", "null"], "pattern": "^[0-9]{6,12}$"},
        },
    },
    "Participant": {"type": "object"},
    "NewEnrollment": {
        "type": "object",
        "additionalProperties": False,
        "required": ["start_on"],
        "properties": {
            "protocol": {"type": "string", "description": "Key; latest version."},
            "protocol_id": {"type": "integer", "minimum": 1},
            "start_on": DAY,
            "testing_days": {
                "type": "object",
                "description": 'Phase index -> weekdays (0 = Monday): {"0": [0, 3]}',
                "additionalProperties": {
                    "type": "array",
                    "items": {"type": "integer", "minimum": 0, "maximum": 6},
                },
            },
            "targets": {"type": "array", "items": {"type": "string"}},
            "exemptions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["analyte", "medication", "starts_on"],
                    "properties": {
                        "analyte": {"type": "string"},
                        "medication": {"type": "string", "maxLength": 120},
                        "prescriber": {"type": ["string", "null"], "maxLength": 120},
                        "starts_on": DAY,
                        "ends_on": {"type": ["string", "null"], "format": "date"},
                    },
                },
            },
        },
    },
    "Enrollment": {"type": "object"},
    "NewEvent": {
        "type": "object",
        "additionalProperties": False,
        "required": ["kind", "on"],
        "properties": {
            "kind": {"enum": ["specimen", "breath", "attendance", "excused"]},
            "on": DAY,
            "results": {
                "type": "object",
                "description": 'Specimen: analyte -> result, {"cocaine": "negative"}',
                "additionalProperties": {"enum": list(RESULT_VALUES)},
            },
            "refused": {
                "type": "boolean",
                "description": "Specimen refused: send no results with it (422).",
            },
            "brac": {
                "type": "string",
                "pattern": "^0?\\.[0-9]{1,3}$",
                "description": 'Breath: BrAC in g/210 L as a string, e.g. "0.020".',
            },
            "session_type": {
                "enum": SESSION_TYPES,
                "description": (
                    "Attendance: the session. Excused: the booked session excused "
                    "(without it, the test day is excused)."
                ),
            },
            "late": {
                "type": "boolean",
                "description": "Attendance: arrived after the on-time window.",
            },
            "verification": {
                "enum": ["signed_slip", "phone_call", "note"],
                "description": "Attendance off site (twelve_step: required): how.",
            },
            "verification_note": {
                "type": "string",
                "maxLength": 500,
                "description": "Who confirmed it (required with verification).",
            },
            "reason": {"type": "string", "description": "Excused: why."},
        },
    },
    "NewAppointment": {
        "type": "object",
        "additionalProperties": False,
        "required": ["session_type", "on", "starts_at"],
        "properties": {
            "session_type": {"enum": SESSION_TYPES},
            "on": DAY,
            "starts_at": {
                "type": "string",
                "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$",
                "description": "Clinic-local start time, HH:MM.",
            },
            "weekly": {
                "type": "boolean",
                "description": "Book every week from `on` (to `until` or the "
                "protocol's end, at most 52 weeks).",
            },
            "until": DAY,
        },
    },
    "Appointments": {
        "type": "object",
        "description": "Booked sessions (and, after booking, dates already booked).",
        "properties": {
            "appointments": {"type": "array", "items": {"type": "object"}},
            "already_booked": {"type": "array", "items": DAY},
        },
    },
    "Appointment": {"type": "object"},
    "Cancel": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 3, "maxLength": 500}},
    },
    "Checkin": {
        "type": "object",
        "description": "The event, the ledger entries it posted, the new balance.",
        "required": ["event", "awards", "balance"],
        "properties": {
            "event": {"type": "object"},
            "awards": {"type": "array", "items": {"type": "object"}},
            "balance": {"type": "object"},
        },
    },
    "Void": {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 3}},
    },
    "Balance": {
        "type": "object",
        "required": ["points", "cents", "draws", "run", "next_negative"],
        "properties": {
            "points": {"type": "integer"},
            "cents": {"type": "integer"},
            "draws": {"type": "integer"},
            "run": {"type": "integer"},
            "next_negative": {
                "type": "object",
                "properties": {
                    "points": {"type": "integer"},
                    "cents": {"type": "integer"},
                    "draws": {"type": "integer"},
                },
            },
        },
    },
    "Ledger": {"type": "object"},
    "NewRedemption": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "points": {
                "type": "integer",
                "minimum": 1,
                "description": (
                    "Points to redeem. With a priced reward_id leave it out (the "
                    "price decides) or send exactly the price in points (422 else)."
                ),
            },
            "reward_id": {"type": "integer", "minimum": 1},
            "memo": {"type": "string"},
        },
    },
    "RewardPrices": {
        "type": "object",
        "description": (
            "Catalogue items priced in cents, each in the participant's points: "
            "points = cost_cents / unit_cents rounded up (rounded_up says when). "
            "unit_cents and points are null when no protocol of theirs pays points."
        ),
        "required": ["code", "unit_cents", "balance", "rewards"],
        "properties": {
            "code": {"type": "string"},
            "unit_cents": {"type": ["integer", "null"], "minimum": 1},
            "balance": {"type": "object"},
            "rewards": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "id",
                        "name",
                        "cost_cents",
                        "value_cents",
                        "stock",
                        "points",
                        "rounded_up",
                    ],
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "cost_cents": {"type": "integer", "minimum": 1},
                        "value_cents": {"type": "integer"},
                        "stock": {"type": "integer"},
                        "points": {"type": ["integer", "null"], "minimum": 1},
                        "rounded_up": {"type": ["boolean", "null"]},
                    },
                },
            },
        },
    },
    "Redemption": {"type": "object"},
    "Draw": {"type": "object"},
    "OutcomeReport": {
        "type": "object",
        "required": ["from", "to", "as_of", "summary", "by_protocol", "episodes"],
        "properties": {
            "from": DAY,
            "to": DAY,
            "as_of": DAY,
            "missing_convention": {"enum": ["positive", "ignored"]},
            "summary": {"type": "object"},
            "by_protocol": {"type": "object"},
            "episodes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": list(EPISODE_REQUIRED),
                },
            },
        },
    },
    "OutcomeTests": {
        "type": "object",
        "properties": {"tests": {"type": "array", "items": {"type": "object"}}},
    },
    "Fidelity": {
        "type": "object",
        "properties": {
            "staff_weeks": {"type": "array", "items": {"type": "object"}},
            "clinic_weeks": {"type": "array", "items": {"type": "object"}},
        },
    },
    "ReportDictionary": {
        "type": "object",
        "properties": {
            "window": {"type": "string"},
            "episodes": {"type": "array", "items": {"type": "object"}},
            "tests": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Coding": {
        "type": "object",
        "properties": {
            "system": {"type": "string"},
            "code": {"type": "string"},
            "display": {"type": "string"},
        },
    },
    "CodeableConcept": {
        "type": "object",
        "properties": {
            "coding": {"type": "array", "items": _ref("Coding")},
            "text": {"type": "string"},
        },
    },
    "Observation": {
        "type": "object",
        "description": (
            "FHIR R4 Observation of one analyte result. `code`: a LOINC code of the "
            "table in cm_service/services/integrations/fhir.py (e.g. 3397-7 cocaine in "
            "urine, "
            "104133-4 breath alcohol) or urn:cm-service:analyte. "
            "`valueCodeableConcept.text`: negative, positive, dilute, invalid, "
            "adulterated, substituted or insufficient. A breath result carries its "
            "BrAC (g/210 L) in `component[0].valueQuantity.value`."
        ),
        "required": [
            "resourceType",
            "identifier",
            "status",
            "code",
            "effectiveDateTime",
        ],
        "properties": {
            "resourceType": {"const": "Observation"},
            "identifier": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["system", "value"],
                    "properties": {
                        "system": {"type": "string"},
                        "value": {"type": "string"},
                    },
                },
            },
            "status": {"enum": ["final", "amended", "corrected"]},
            "category": {"type": "array", "items": _ref("CodeableConcept")},
            "code": _ref("CodeableConcept"),
            "subject": {
                "type": "object",
                "description": "Exported: the clinic code. Not read on import.",
            },
            "effectiveDateTime": {
                "type": "string",
                "description": "The collection date, or a time with its zone.",
                "example": "2026-01-06",
            },
            "valueCodeableConcept": _ref("CodeableConcept"),
            "component": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": _ref("CodeableConcept"),
                        "valueQuantity": {
                            "type": "object",
                            "properties": {
                                "value": {"type": "number"},
                                "unit": {"type": "string"},
                                "system": {"type": "string"},
                                "code": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
    "ObservationBundle": {
        "type": "object",
        "description": "FHIR R4 Bundle of Observations.",
        "required": ["resourceType", "entry"],
        "properties": {
            "resourceType": {"const": "Bundle"},
            "type": {"type": "string"},
            "timestamp": {"type": "string"},
            "entry": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["resource"],
                    "properties": {"resource": _ref("Observation")},
                },
            },
        },
    },
    "Import": {
        "type": "object",
        "description": (
            "What was recorded and what was already recorded (not recorded again); "
            "`source` is the entry (entry[2]) or the file line (line 7)."
        ),
        "required": ["message", "recorded", "already_recorded", "awards"],
        "properties": {
            "message": {"type": "string"},
            "recorded": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["source", "event"],
                    "properties": {
                        "source": {"type": "string"},
                        "event": {"type": "object"},
                    },
                },
            },
            "already_recorded": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["source", "event_id"],
                    "properties": {
                        "source": {"type": "string"},
                        "event_id": {"type": "integer"},
                    },
                },
            },
            "awards": {"type": "array", "items": {"type": "object"}},
        },
    },
    "BatchError": {
        "allOf": [_ref("Error")],
        "description": "Every problem of a refused batch; nothing was recorded.",
        "properties": {
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {
                        "field": {"type": "string"},
                        "message": {"type": "string"},
                    },
                },
            }
        },
    },
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cm-service API",
            "version": "1",
            "description": (
                "Contingency-management rewards for one clinic (the token's). "
                "Amounts are integers: points, draws, cents. Errors are always "
                '{"error", "field", "message"}. A token issued to an outside '
                "recipient (flask cm token create --role auditor --recipient NAME "
                "--purpose PURPOSE [--recipient-class CLASS]) only reads, and every "
                "participant record it reads is a disclosure under 42 CFR Part 2: "
                "made only under the participant's active consent naming it (or "
                "its class), for its purpose, covering what the route sends (a "
                "record: identity; appointments: attendance; balance, ledger and "
                "prices: incentives; observations: test results), and logged; "
                "otherwise 403 consent_required. The clinic's own staff and "
                "auditor tokens read records without disclosing, but name the "
                "recipient of an identifiable export (recipient, purpose)."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A staff or auditor token of one clinic; an "
                    "auditor token may carry an outside recipient and purpose.",
                }
            },
            "schemas": SCHEMAS,
        },
        "paths": PATHS,
    }


PATHS: dict[str, Any] = {
    "/openapi.json": {
        "get": {
            "summary": "This document (no token needed).",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1"}},
        }
    },
    "/participants": _post(
        "Register a participant.", "NewParticipant", 201, "Participant"
    ),
    "/participants/{code}": _with_code(_get("A participant.", "Participant")),
    "/participants/{code}/enrollments": _with_code(
        _post("Enrol on a protocol version.", "NewEnrollment", 201, "Enrollment")
    ),
    "/participants/{code}/events": _with_code(
        _post("Record a verified event and settle.", "NewEvent", 201, "Checkin")
    ),
    "/events/{event_id}/void": {
        "parameters": [
            {
                "name": "event_id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        ],
        **_post("Void a wrong event with a reason.", "Void", 200, "Checkin"),
    },
    "/participants/{code}/appointments": _with_code(
        {
            **_get("Booked sessions from today on (audited).", "Appointments"),
            **_post(
                "Book a session, once or weekly (sessions by appointment).",
                "NewAppointment",
                201,
                "Appointments",
            ),
        }
    ),
    "/appointments/{appointment_id}/cancel": {
        "parameters": [
            {
                "name": "appointment_id",
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        ],
        **_post(
            "Cancel a booked session with a reason (never then missed).",
            "Cancel",
            200,
            "Appointment",
        ),
    },
    "/participants/{code}/balance": _with_code(
        _get("Balance, run and the next negative's value.", "Balance")
    ),
    "/participants/{code}/ledger": _with_code(_get("Ledger entries.", "Ledger")),
    "/participants/{code}/redemptions": _with_code(
        _post("Redeem points.", "NewRedemption", 201, "Redemption")
    ),
    "/participants/{code}/rewards": _with_code(
        _get(
            "The catalogue's prices in the participant's points (audited).",
            "RewardPrices",
        )
    ),
    "/participants/{code}/draws": _with_code(
        _post("Make one earned prize draw.", None, 201, "Draw")
    ),
    "/reports/outcomes": _get(
        "One row per episode (enrolment) overlapping the window, the clinic summary "
        "and its per-protocol breakdown; definitions at /reports/dictionary and the "
        "window in the X-Report-* headers. Episode-level data: admin and auditor "
        "tokens only (403 for a staff token); every call is audited. Identifiable "
        "(not deidentified=1), it is a disclosure to the named recipient: it holds "
        "only participants whose consent covers it (the others counted in "
        "X-Part2-Left-Out and the body's left_out), 403 consent_required when none "
        "does; each carries the 42 CFR 2.32 notice.",
        "OutcomeReport",
        errors=(403, 422),
        csv=True,
        extra=REPORT_QUERY + RECIPIENT_QUERY,
        headers=PART2_HEADERS,
    ),
    "/reports/tests": _get(
        "The long format: one row per scheduled test or booked session of every "
        "episode (participant, episode, date, week, kind, outcome, pattern, cents, "
        "draws). Audited; admin and auditor tokens only; identifiable, a disclosure "
        "under consent as /reports/outcomes.",
        "OutcomeTests",
        errors=(403, 422),
        csv=True,
        extra=REPORT_QUERY + RECIPIENT_QUERY,
        headers=PART2_HEADERS,
    ),
    "/reports/fidelity": _get(
        "Fidelity from the data: per staff member and ISO week, awards posted the "
        "day of collection, minutes to award, draws made the day earned, manual "
        "adjustments per 100 awards; per week, scheduled tests collected.",
        "Fidelity",
        errors=(403, 422),
        extra=REPORT_QUERY[:2],
    ),
    "/reports/dictionary": _get(
        "The data dictionary: every exported column's definition in plain words.",
        "ReportDictionary",
        errors=(403,),
    ),
    "/participants/{code}/observations": _with_code(
        {
            "get": {
                "summary": (
                    "Verified, non-voided specimen and breath results as a FHIR R4 "
                    "Bundle of Observations: a disclosure to the recipient (the "
                    "token's own, else the query's), made only under the "
                    "participant's consent covering identity and test results, "
                    "logged; labelled 42CFRPart2 in meta.security with the 42 CFR "
                    "2.32 notice in a meta extension."
                ),
                "parameters": RECIPIENT_QUERY,
                "responses": {
                    "200": {
                        "description": "Found.",
                        "content": {FHIR_JSON: {"schema": _ref("ObservationBundle")}},
                        "headers": {"X-Part2-Notice": PART2_HEADERS["X-Part2-Notice"]},
                    },
                    **_errors(403, 404),
                },
            },
            **_import(
                "Record a Bundle's Observations: each once (by identifier), all or "
                "nothing; an Observation this service exported names its event.",
                {
                    FHIR_JSON: {"schema": _ref("ObservationBundle")},
                    "application/json": {"schema": _ref("ObservationBundle")},
                },
            ),
        }
    ),
    "/results:import": _import(
        "Import a lab's CSV (participant_code, collected_on, analyte, result, value "
        "optional), all or nothing; lines imported before are not recorded again.",
        {"text/csv": {"schema": {"type": "string"}}},
    ),
}
