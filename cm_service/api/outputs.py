"""The JSON shapes of API responses: rows and use-case results as plain dicts.

Amounts are integers (points, draws, cents); dates are ISO strings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import rules
from ..services.cm.checkins import CheckinResult
from ..services.cm.ledger import Balance
from ..services.cm.rewards import RedeemScreen
from ..services.integrations.results_import import ImportResult

if TYPE_CHECKING:
    from ..models import Appointment, Draw, Enrollment, Event, LedgerEntry, Participant


def participant(row: Participant, enrollment: Enrollment | None) -> dict[str, Any]:
    return {
        "code": row.code,
        "display_name": row.display_name,
        "status": row.status,
        "has_pin": row.pin_hash is not None,
        "enrollment": None if enrollment is None else enrollment_of(enrollment),
    }


def enrollment_of(row: Enrollment) -> dict[str, Any]:
    return {
        "id": row.id,
        "protocol": {
            "id": row.protocol.id,
            "key": row.protocol.key,
            "version": row.protocol.version,
        },
        "start_on": row.start_on.isoformat(),
        "ends_on": row.ends_on.isoformat() if row.ends_on else None,
        "status": row.status,
        "testing_days": row.testing_days or {},
        "targets": row.targets,
        "exemptions": [
            {
                "analyte": x.analyte,
                "medication": x.medication,
                "prescriber": x.prescriber,
                "starts_on": x.starts_on.isoformat(),
                "ends_on": x.ends_on.isoformat() if x.ends_on else None,
            }
            for x in row.exemptions
        ],
    }


def event_of(row: Event) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "on": row.collected_on.isoformat(),
        "results": row.results or {},
        "refused": row.refused,
        "brac_milli": row.brac_milli,
        "session_type": row.session_type,
        "late": bool(row.late),
        "verification": row.verification,
        "verification_note": row.verification_note,
        "reason": row.reason,
    }


def appointment_of(row: Appointment) -> dict[str, Any]:
    return {
        "id": row.id,
        "session_type": row.session_type,
        "on": row.on.isoformat(),
        "starts_at": row.starts_at.strftime("%H:%M"),
        "group_id": row.group_id,
        "cancelled": row.cancelled_at is not None,
        "cancel_reason": row.cancel_reason,
    }


def next_session_of(nxt: rules.NextSession) -> dict[str, Any]:
    return {
        "on": nxt.on.isoformat(),
        "session_type": nxt.session_type,
        "booked": nxt.booked,
        "points": nxt.points,
        "cents": nxt.cents,
        "draws": nxt.draws,
        "explanation": nxt.explanation,
    }


def entry_of(row: LedgerEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "account": row.account,
        "kind": row.kind,
        "amount": row.amount,
        "cents": row.cents,
        "award_key": row.award_key,
        "event_id": row.event_id,
        "on": row.on.isoformat() if row.on else None,
        "rule": row.rule,
        "posted_at": row.posted_at.isoformat(),
    }


def balance_of(
    balance: Balance, evaluation: rules.Standing | rules.Evaluation | None
) -> dict[str, Any]:
    nxt = evaluation.next_negative if evaluation else None
    return {
        "points": balance.points,
        "cents": balance.cents,
        "draws": balance.draws,
        "run": evaluation.run if evaluation else 0,
        "next_negative": {
            "points": nxt.points + nxt.bonus_points if nxt else 0,
            "cents": nxt.cents if nxt else 0,
            "draws": nxt.draws + nxt.bonus_draws if nxt else 0,
            "on": nxt.on.isoformat() if nxt and nxt.on else None,
            "explanation": nxt.explanation if nxt else "Not enrolled.",
        },
        "next_sessions": [
            next_session_of(s) for s in (evaluation.next_sessions if evaluation else ())
        ],
    }


def checkin_of(result: CheckinResult) -> dict[str, Any]:
    return {
        "event": event_of(result.event),
        "awards": [entry_of(entry) for entry in result.posted],
        "balance": {
            "points": result.balance.points,
            "cents": result.balance.cents,
            "draws": result.balance.draws,
            "run": result.run,
            "next_negative": {
                "points": result.next_points,
                "cents": result.next_cents,
                "draws": result.next_draws,
            },
            "next_sessions": [next_session_of(s) for s in result.next_sessions],
        },
    }


def draw_of(row: Draw, balance: Balance) -> dict[str, Any]:
    return {
        "draw": {
            "id": row.id,
            "reference": row.reference,
            "tier": row.tier,
            "value_cents": row.value_cents,
            "drawn_at": row.drawn_at.isoformat(),
        },
        "balance": {
            "points": balance.points,
            "cents": balance.cents,
            "draws": balance.draws,
        },
    }


def import_of(result: ImportResult) -> dict[str, Any]:
    recorded, repeated = len(result.recorded), len(result.already_recorded)
    return {
        "message": (
            f"Recorded {recorded}; {repeated} already recorded (not recorded again)."
        ),
        "recorded": [
            {"source": label, "event": event_of(event)}
            for label, event in result.recorded
        ],
        "already_recorded": [
            {"source": label, "event_id": event.id}
            for label, event in result.already_recorded
        ],
        "awards": [entry_of(entry) for entry in result.posted],
    }


def reward_prices(screen: RedeemScreen) -> dict[str, Any]:
    """The catalogue items with a price, each priced in the participant's points:
    the price in cents over `unit_cents`, rounded up (`rounded_up` says when)."""
    balance = screen.standing.balance
    return {
        "code": screen.standing.participant.code,
        "unit_cents": screen.unit_cents,
        "balance": {
            "points": balance.points,
            "cents": balance.cents,
            "draws": balance.draws,
        },
        "rewards": [
            {
                "id": reward.id,
                "name": reward.name,
                "cost_cents": reward.cost_cents,
                "value_cents": reward.value_cents,
                "stock": reward.stock,
                "points": price.points if price else None,
                "rounded_up": price.rounded_up if price else None,
            }
            for reward, price in screen.items
        ],
    }
