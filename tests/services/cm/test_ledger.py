from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from cm_service import rules
from cm_service.extensions import db
from cm_service.models import AppendOnlyViolation, AuditLog, Draw, Event, LedgerEntry
from cm_service.services.access import audit
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import checkins, ledger
from cm_service.services.errors import Conflict, NotFound
from tests.support.factories import NOW, START, make_enrolled, make_staff, scheduled

NEG = {"cocaine": "negative"}
POS = {"cocaine": "positive"}
MWF = (0, 2, 4)


def entries(participant_id: int) -> list[tuple[str, str, int, int]]:
    rows = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.participant_id == participant_id)
        .order_by(LedgerEntry.id)
    )
    return [(e.award_key, e.kind, e.amount, e.cents) for e in rows]


def test_a_negative_is_paid_at_once_with_its_explanation(staff, clinic):
    person, _ = make_enrolled(staff, clinic)

    result = checkins.record_specimen(staff, person.id, START, NEG, now=NOW)

    assert [(e.award_key, e.amount, e.cents) for e in result.posted] == [
        ("specimen:2026-01-05", 10, 250)
    ]
    assert "10" in result.posted[0].rule
    assert result.balance.points == 10
    assert result.run == 1
    assert (result.next_points, result.next_cents) == (15, 375)


def test_higgins_run_of_six_reaches_the_published_running_total(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    for day in scheduled(START, MWF, 6):
        checkins.record_specimen(staff, person.id, day, NEG, now=NOW)

    # Higgins 1994: $53.75 after six consecutive negatives, two bonuses.
    assert ledger.balance_of(person.id).cents == 5375
    assert [k for k, kind, _, _ in entries(person.id) if kind == "bonus"] == [
        "bonus:2026-01-09",
        "bonus:2026-01-16",
    ]


def test_second_settle_posts_nothing(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic)
    for day in scheduled(START, MWF, 4):
        checkins.record_specimen(staff, person.id, day, NEG, now=NOW)
    before = entries(person.id)

    assert ledger.settle_enrollment(SYSTEM, enrollment.id, now=NOW) == []
    assert ledger.settle_enrollment(SYSTEM, enrollment.id, now=NOW) == []
    assert entries(person.id) == before


def test_positive_resets_and_the_next_negative_pays_the_start_value(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    days = scheduled(START, MWF, 4)
    for day in days[:2]:
        checkins.record_specimen(staff, person.id, day, NEG, now=NOW)
    reset = checkins.record_specimen(staff, person.id, days[2], POS, now=NOW)
    after = checkins.record_specimen(staff, person.id, days[3], NEG, now=NOW)

    assert reset.posted == []
    assert reset.run == 0
    assert [e.amount for e in after.posted] == [10]


def test_voiding_a_wrong_positive_pays_what_the_later_tests_should_have_earned(
    staff, clinic
):
    person, _ = make_enrolled(staff, clinic)
    days = scheduled(START, MWF, 3)
    checkins.record_specimen(staff, person.id, days[0], NEG, now=NOW)
    wrong = checkins.record_specimen(staff, person.id, days[1], POS, now=NOW)
    checkins.record_specimen(staff, person.id, days[2], NEG, now=NOW)
    assert ledger.balance_of(person.id).points == 20

    checkins.void_event(staff, wrong.event.id, "Lab confirmation: negative", now=NOW)
    fixed = checkins.record_specimen(staff, person.id, days[1], NEG, now=NOW)

    # Without the positive: 10 + 15 + (20 + 40 bonus) = 85 points. Jan 9 was paid
    # 10, then 15 once the void joined it to Jan 5, then 20 with Jan 7 negative.
    assert ledger.balance_of(person.id).points == 85
    adjustments = [e for e in entries(person.id) if e[1] == "adjustment"]
    assert adjustments == [("specimen:2026-01-09", "adjustment", 5, 125)] * 2
    assert fixed.run == 3


def test_no_clawback_keeps_an_award_a_correction_removes(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    first = checkins.record_specimen(staff, person.id, START, NEG, now=NOW)

    checkins.void_event(staff, first.event.id, "Wrong participant", now=NOW)

    assert ledger.balance_of(person.id).points == 10
    assert len(entries(person.id)) == 1


def test_clawback_posts_the_signed_difference(staff, clinic):
    spec = {
        **rules.load_preset("higgins-1994"),
        "key": "higgins-clawback",
        "corrections": "clawback",
    }
    clinics.add_protocol_version(make_admin(clinic), clinic.id, spec, now=NOW)
    person, _ = make_enrolled(staff, clinic, key="higgins-clawback")
    first = checkins.record_specimen(staff, person.id, START, NEG, now=NOW)

    checkins.void_event(staff, first.event.id, "Wrong participant", now=NOW)

    assert entries(person.id) == [
        ("specimen:2026-01-05", "award", 10, 250),
        ("specimen:2026-01-05", "adjustment", -10, -250),
    ]
    assert ledger.balance_of(person.id).points == 0


def make_admin(clinic):
    return make_staff(clinic, "boss", "admin")


def test_voiding_and_reentering_a_day_never_pays_it_twice(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    first = checkins.record_specimen(staff, person.id, START, NEG, now=NOW)
    checkins.void_event(staff, first.event.id, "Typed the wrong panel", now=NOW)
    checkins.record_specimen(staff, person.id, START, NEG, now=NOW)

    assert ledger.balance_of(person.id).points == 10


def test_a_ledger_row_cannot_be_updated_through_the_orm(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    checkins.record_specimen(staff, person.id, START, NEG, now=NOW)
    entry = db.session.scalars(select(LedgerEntry)).one()

    entry.amount = 1000
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    assert ledger.balance_of(person.id).points == 10


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entry SET amount = 1000",
        "DELETE FROM ledger_entry",
        "UPDATE event SET collected_on = collected_on",
        "DELETE FROM event_void",
        "UPDATE audit_log SET action = 'nothing'",
        "DELETE FROM audit_log",
    ],
)
def test_history_rows_cannot_be_changed_in_sql(staff, clinic, statement):
    person, _ = make_enrolled(staff, clinic)
    result = checkins.record_specimen(staff, person.id, START, NEG, now=NOW)
    checkins.void_event(staff, result.event.id, "Wrong participant", now=NOW)

    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(text(statement))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 1


def test_redemption_never_takes_the_balance_below_zero(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    checkins.record_specimen(staff, person.id, START, NEG, now=NOW)

    with pytest.raises(Conflict) as refused:
        ledger.redeem_points(staff, person.id, 11, now=NOW)

    assert refused.value.code == "insufficient_balance"
    entry = ledger.redeem_points(staff, person.id, 10, now=NOW)
    assert (entry.amount, entry.cents) == (-10, -250)
    assert ledger.balance_of(person.id) == ledger.Balance(0, 0, 0)


def test_a_retried_redemption_with_the_same_nonce_debits_once(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    checkins.record_specimen(staff, person.id, START, NEG, now=NOW)

    first = ledger.redeem_points(staff, person.id, 4, now=NOW, nonce="form-1")
    again = ledger.redeem_points(staff, person.id, 4, now=NOW, nonce="form-1")

    assert first.id == again.id
    assert ledger.balance_of(person.id).points == 6


STIMULANTS_NEG = {a: "negative" for a in ("cocaine", "amphetamine", "methamphetamine")}


def test_a_prize_draw_is_recorded_once_and_can_be_replayed(staff, clinic, app):
    person, _ = make_enrolled(staff, clinic, key="va-prize-2014")
    for offset in (0, 3):
        checkins.record_specimen(
            staff, person.id, START + timedelta(days=offset), STIMULANTS_NEG, now=NOW
        )
    assert ledger.balance_of(person.id).draws == 3

    secret = app.config["DRAW_SECRET"].encode()
    draw = ledger.draw_prize(staff, person.id, now=NOW, secret=secret)

    bowl = rules.bowl_of(rules.validate_spec(rules.load_preset("va-prize-2014")))
    replay = rules.pick_tier(bowl, rules.draw_digest(secret, draw.reference))
    assert (draw.tier, draw.value_cents) == (replay.tier, replay.value_cents)
    assert ledger.balance_of(person.id).draws == 2
    # A later settle never re-rolls or refunds the draw.
    checkins.record_specimen(
        staff, person.id, START + timedelta(days=7), STIMULANTS_NEG, now=NOW
    )
    assert db.session.scalars(select(Draw)).one().tier == draw.tier


def test_no_draw_without_an_earned_credit(staff, clinic, app):
    person, _ = make_enrolled(staff, clinic, key="va-prize-2014")

    with pytest.raises(Conflict) as refused:
        ledger.draw_prize(staff, person.id, now=NOW, secret=b"s")

    assert refused.value.code == "no_draws"
    assert db.session.scalar(select(func.count()).select_from(Draw)) == 0


def test_another_clinics_participant_is_not_found(staff, clinic, other_clinic):
    outsider, _ = make_enrolled(make_staff(other_clinic, "other"), other_clinic)

    with pytest.raises(NotFound):
        checkins.record_specimen(staff, outsider.id, START, NEG, now=NOW)
    with pytest.raises(NotFound):
        ledger.redeem_points(staff, outsider.id, 1, now=NOW)
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_every_change_is_in_an_intact_audit_chain(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    result = checkins.record_specimen(staff, person.id, START, NEG, now=NOW)
    checkins.void_event(staff, result.event.id, "Wrong cup", now=NOW)
    ledger.redeem_points(staff, person.id, 5, now=NOW)

    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-5:] == [
        "register_participant",
        "enroll",
        "record_specimen",
        "void_event",
        "redeem",
    ]
    assert audit.verify() is None


def test_a_redemption_for_an_item_debits_stock_and_custody_in_one_transaction(
    staff, clinic, monkeypatch
):
    from cm_service.models import Reward, StockMovement
    from cm_service.services.cm import rewards

    admin = make_staff(clinic, "boss", "admin")
    item = rewards.add_reward(
        admin, "Bus pass", tier=None, cost_cents=500, value_cents=500, stock=2, now=NOW
    )
    person, _ = make_enrolled(staff, clinic)
    for day in scheduled(START, MWF, 2):
        checkins.record_specimen(staff, person.id, day, NEG, now=NOW)

    def power_cut(*_args, **_kwargs):
        raise RuntimeError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(ledger.audit, "append", power_cut)
        with pytest.raises(RuntimeError):
            ledger.redeem_points(staff, person.id, None, now=NOW, reward_id=item.id)
    db.session.rollback()
    issued = select(StockMovement).where(StockMovement.quantity < 0)
    assert (
        db.session.get(Reward, item.id).stock,
        db.session.scalars(issued).all(),
    ) == (
        2,
        [],
    )

    entry = ledger.redeem_points(staff, person.id, None, now=NOW, reward_id=item.id)

    (movement,) = db.session.scalars(issued).all()
    assert (movement.ledger_entry_id, movement.participant_id) == (entry.id, person.id)
    assert db.session.get(Reward, item.id).stock == 1
    assert ledger.balance_of(person.id).points == 25 - 20
