"""Funding programs through the services, on SQLite and PostgreSQL: their caps
stack with the protocol's and are held on the ledger across a change of program on
1 January, across two enrollments and under corrections; a non-cash program
refuses cash-equivalent rewards (docs/funding.md)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.i18n_messages import render
from cm_service.models import Event, EventVoid, LedgerEntry
from cm_service.rules.messages import from_json
from cm_service.services.cm import checkins, funding, participants, rewards
from cm_service.services.errors import Conflict, InvalidInput
from tests.support.factories import make_enrolled, make_staff, protocol_id, scheduled

NEG = {"cocaine": "negative"}
STIMULANTS_NEG = dict.fromkeys(
    ("methamphetamine", "amphetamine", "cocaine"), "negative"
)
MWF = (0, 2, 4)


@pytest.fixture
def admin(clinic):
    return make_staff(clinic, "boss", "admin")


def at(clinic, day: date) -> datetime:
    return datetime.combine(day, time(14), ZoneInfo(clinic.timezone))


def program(admin, name, *, award=None, month=None, year=None, non_cash=False):
    return funding.add_program(
        admin,
        name,
        per_award_cents=award,
        per_month_cents=month,
        per_year_cents=year,
        non_cash_only=non_cash,
        source="test",
        now=at(admin_clinic(admin), date(2025, 1, 1)),
    )


def admin_clinic(actor):
    from cm_service.models import Clinic

    return db.session.get(Clinic, actor.clinic_id)


def entries(participant_id: int) -> list[LedgerEntry]:
    return list(
        db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.participant_id == participant_id,
                LedgerEntry.award_key.is_not(None),
            )
            .order_by(LedgerEntry.on, LedgerEntry.id)
        )
    )


def cents_by(participant_id: int, key) -> dict:
    sums: dict = defaultdict(int)
    for entry in entries(participant_id):
        sums[key(entry.on)] += entry.cents
    return dict(sums)


def capped_rules(participant_id: int) -> list[str]:
    return [e.rule for e in entries(participant_id) if "capped at" in e.rule]


def test_a_change_of_program_on_1_january_stacks_with_the_protocol(
    staff, admin, clinic
):
    # California's protocol caps $599 per enrollment (and per calendar year). An
    # old fund pays 2025 with $500 a year; SAMHSA's $750 a year pays 2026, where
    # the enrollment's $599 leaves only $99: the smaller room binds each year.
    old = program(admin, "Old fund", year=50000)
    samhsa = funding.add_preset(admin, "samhsa-2025", now=at(clinic, date(2025, 9, 1)))
    start = date(2025, 10, 6)
    person, enrollment = make_enrolled(
        staff, clinic, "ca-recovery-incentives", start=start
    )
    now = at(clinic, start)
    funding.assign(staff, enrollment.id, old.id, start, date(2025, 12, 31), now=now)
    funding.assign(staff, enrollment.id, samhsa.id, date(2026, 1, 1), None, now=now)
    days = scheduled(start, (0, 3), 24) + scheduled(
        start + timedelta(weeks=12), (0,), 12
    )
    for day in days:
        checkins.record_specimen(
            staff, person.id, day, STIMULANTS_NEG, now=at(clinic, day)
        )

    assert cents_by(person.id, lambda on: on.year) == {2025: 50000, 2026: 9900}
    rules_text = capped_rules(person.id)
    assert any(
        "capped at $500.00 per calendar year (Old fund):" in r for r in rules_text
    )
    assert any("capped at $599.00 per enrollment" in r for r in rules_text)
    assert not any("SAMHSA" in r for r in rules_text)


def test_a_programs_year_cap_spans_the_participants_enrollments(staff, admin, clinic):
    grant = program(admin, "Grant", year=4000)
    start = date(2026, 1, 5)
    person, first = make_enrolled(staff, clinic, start=start)
    funding.assign(staff, first.id, grant.id, start, None, now=at(clinic, start))
    days = scheduled(start, MWF, 12)
    for day in days[:4]:  # $2.50, $3.75, $5.00 + $10.00 bonus, $6.25
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))
    participants.end_enrollment(
        staff, person.id, "completed", days[3], now=at(clinic, days[4])
    )
    second = participants.enroll(
        staff,
        person.id,
        protocol_id(clinic.id, "higgins-1994"),
        days[4],
        now=at(clinic, days[4]),
    )
    funding.assign(staff, second.id, grant.id, days[4], None, now=at(clinic, days[4]))
    for day in days[4:]:
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))

    assert cents_by(person.id, lambda on: on.year) == {2026: 4000}
    last = capped_rules(person.id)[0]
    assert "capped at $40.00 per calendar year (Grant): paid $1.25 of $10.00" in last
    entry = next(e for e in entries(person.id) if "capped at" in e.rule)
    assert "por año calendario (Grant)" in render(from_json(entry.why), "es")


def test_another_programs_payments_do_not_count(staff, admin, clinic):
    grant, other = (
        program(admin, "Grant", year=4000),
        program(admin, "Other", year=4000),
    )
    start = date(2026, 1, 5)
    person, first = make_enrolled(staff, clinic, start=start)
    funding.assign(staff, first.id, grant.id, start, None, now=at(clinic, start))
    days = scheduled(start, MWF, 8)
    for day in days[:4]:
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))
    participants.end_enrollment(
        staff, person.id, "completed", days[3], now=at(clinic, days[4])
    )
    second = participants.enroll(
        staff,
        person.id,
        protocol_id(clinic.id, "higgins-1994"),
        days[4],
        now=at(clinic, days[4]),
    )
    funding.assign(staff, second.id, other.id, days[4], None, now=at(clinic, days[4]))
    for day in days[4:]:
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))

    assert capped_rules(person.id) == []


def test_corrections_and_late_results_never_cross_a_programs_month_cap(
    staff, admin, clinic
):
    fund = program(admin, "Month fund", award=499, month=2000)
    start = date(2026, 1, 5)
    person, enrollment = make_enrolled(staff, clinic, start=start)
    funding.assign(staff, enrollment.id, fund.id, start, None, now=at(clinic, start))
    days = scheduled(start, MWF, 12)

    def check():
        month = cents_by(person.id, lambda on: (on.year, on.month))
        assert max(month.values(), default=0) <= 2000
        test = cents_by(person.id, lambda on: on)
        assert max(test.values(), default=0) <= 499

    for day in days[:8]:
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))
        check()
    assert cents_by(person.id, lambda on: on.month) == {1: 2000}
    # Void an early negative, re-enter it, and let a late result fill a gap.
    early = db.session.scalars(
        select(Event)
        .outerjoin(EventVoid, EventVoid.event_id == Event.id)
        .where(Event.enrollment_id == enrollment.id, Event.collected_on == days[1])
        .where(EventVoid.id.is_(None))
    ).one()
    checkins.void_event(staff, early.id, "Wrong cup", now=at(clinic, days[8]))
    check()
    checkins.record_specimen(staff, person.id, days[1], NEG, now=at(clinic, days[8]))
    check()
    for day in days[9:]:
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))
        check()
    checkins.record_specimen(staff, person.id, days[8], NEG, now=at(clinic, days[-1]))
    check()
    assert capped_rules(person.id)
    assert all("(Month fund)" in r for r in capped_rules(person.id))


def test_a_backdated_enrollment_is_capped_by_its_program(staff, admin, clinic):
    fund = program(admin, "Year fund", year=2500)
    start = date(2026, 1, 5)
    days = scheduled(start, MWF, 9)
    later = at(clinic, days[-1] + timedelta(days=1))
    person, enrollment = make_enrolled(staff, clinic, start=start)
    funding.assign(staff, enrollment.id, fund.id, start, None, now=later)

    for day in days:
        checkins.record_specimen(staff, person.id, day, NEG, now=later)

    assert cents_by(person.id, lambda on: on.year) == {2026: 2500}


def test_a_period_over_what_was_already_paid_is_refused(staff, admin, clinic):
    small = program(admin, "Small fund", year=1000)
    start = date(2026, 1, 5)
    person, enrollment = make_enrolled(staff, clinic, start=start)
    days = scheduled(start, MWF, 6)
    for day in days:
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))

    with pytest.raises(InvalidInput) as refused:
        funding.assign(
            staff, enrollment.id, small.id, start, None, now=at(clinic, days[-1])
        )

    assert refused.value.field == "starts_on"
    assert "over its cap of $10.00 per calendar year" in refused.value.message
    assert funding.periods_of([enrollment.id]) == {}
    # From a later date nothing paid counts under it: accepted.
    funding.assign(
        staff,
        enrollment.id,
        small.id,
        days[-1] + timedelta(days=1),
        None,
        now=at(clinic, days[-1]),
    )


def test_periods_of_one_enrollment_cannot_overlap(staff, admin, clinic):
    one, two = program(admin, "One"), program(admin, "Two")
    person, enrollment = make_enrolled(staff, clinic)
    now = at(clinic, date(2026, 1, 5))
    funding.assign(
        staff, enrollment.id, one.id, date(2026, 1, 5), date(2026, 6, 30), now=now
    )

    with pytest.raises(InvalidInput) as overlapping:
        funding.assign(staff, enrollment.id, two.id, date(2026, 6, 1), None, now=now)

    assert "One already funds this enrollment" in overlapping.value.message
    funding.assign(staff, enrollment.id, two.id, date(2026, 7, 1), None, now=now)


def test_a_non_cash_program_refuses_gift_cards_and_cash(staff, admin, clinic):
    samhsa = funding.add_preset(admin, "samhsa-2025", now=at(clinic, date(2026, 1, 1)))
    start = date(2026, 1, 5)
    person, enrollment = make_enrolled(staff, clinic, start=start)
    funding.assign(staff, enrollment.id, samhsa.id, start, None, now=at(clinic, start))
    for day in scheduled(start, MWF, 6):
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))
    now = at(clinic, date(2026, 1, 20))
    card = rewards.add_reward(
        admin,
        "Grocery gift card",
        tier=None,
        cost_cents=500,
        value_cents=500,
        stock=3,
        now=now,
        kind="gift_card",
    )
    socks = rewards.add_reward(
        admin,
        "Warm socks",
        tier=None,
        cost_cents=500,
        value_cents=500,
        stock=3,
        now=now,
    )

    with pytest.raises(Conflict) as refused:
        rewards.redeem(staff, person.id, card.id, "n1", now=now)

    assert refused.value.code == "non_cash_program"
    assert "Grocery gift card is a gift card: SAMHSA grant pays for non-cash" in (
        refused.value.message
    )
    assert rewards.redeem(staff, person.id, socks.id, "n2", now=now).amount < 0


def test_a_non_cash_program_refuses_a_gift_card_as_a_prize(staff, admin, clinic):
    from cm_service.services.cm import ledger

    nominal = funding.add_preset(
        admin, "nominal-value", now=at(clinic, date(2026, 1, 1))
    )
    start = date(2026, 1, 5)
    person, enrollment = make_enrolled(staff, clinic, "va-prize-2014", start=start)
    funding.assign(staff, enrollment.id, nominal.id, start, None, now=at(clinic, start))
    for day in scheduled(start, (0, 3), 8):
        checkins.record_specimen(
            staff, person.id, day, STIMULANTS_NEG, now=at(clinic, day)
        )
    now = at(clinic, date(2026, 2, 2))
    draw = None
    while draw is None or draw.tier == "good_job":
        draw = ledger.draw_prize(staff, person.id, now=now, secret=b"s")
    card = rewards.add_reward(
        admin, "Coffee card", tier=draw.tier, cost_cents=None, value_cents=500,
        stock=2, now=now, kind="gift_card",
    )  # fmt: skip
    mug = rewards.add_reward(
        admin, "Mug", tier=draw.tier, cost_cents=None, value_cents=500, stock=2,
        now=now,
    )  # fmt: skip

    with pytest.raises(Conflict) as refused:
        rewards.hand_out_prize(staff, draw.id, card.id, now=now)

    assert "Nominal-value guidance pays for non-cash incentives only" in (
        refused.value.message
    )
    assert rewards.hand_out_prize(staff, draw.id, mug.id, now=now).quantity == -1


def test_the_tax_report_names_each_years_payer(staff, admin, clinic):
    from cm_service.services.reads import tax_report

    old = program(admin, "Old fund")
    new = program(admin, "New fund")
    start = date(2025, 12, 1)
    person, enrollment = make_enrolled(staff, clinic, start=start)
    now = at(clinic, start)
    funding.assign(staff, enrollment.id, old.id, start, date(2025, 12, 31), now=now)
    funding.assign(staff, enrollment.id, new.id, date(2026, 1, 1), None, now=now)
    for day in scheduled(start, MWF, 24):
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))
    paid = cents_by(person.id, lambda on: on.year)
    later = at(clinic, date(2026, 2, 1))

    old_year = tax_report.tax_report(
        admin, 2025, now=later, thresholds={2025: paid[2025]}
    )
    new_year = tax_report.tax_report(
        admin, 2026, now=later, thresholds={2026: paid[2026] + 1}
    )
    default = tax_report.tax_report(admin, 2026, now=later)

    assert [(r.payer, r.code, r.paid_cents, r.status) for r in old_year.rows] == [
        ("Old fund", "P-0001", paid[2025], "over")
    ]
    assert [(r.payer, r.status) for r in new_year.rows] == [("New fund", "approaching")]
    assert default.threshold_cents == 200000
    assert default.rows == []  # far below 80% of $2,000


def test_ending_an_open_period_lets_another_program_fund_the_next_year(
    staff, admin, clinic
):
    this, that = (
        program(admin, "This year", year=1000),
        program(admin, "Next", year=2000),
    )
    start = date(2026, 11, 30)
    person, enrollment = make_enrolled(staff, clinic, start=start)
    now = at(clinic, start)
    first = funding.assign(staff, enrollment.id, this.id, start, None, now=now)
    with pytest.raises(InvalidInput):
        funding.assign(staff, enrollment.id, that.id, date(2027, 1, 1), None, now=now)

    with pytest.raises(InvalidInput) as early:
        funding.end_period(staff, first.id, date(2026, 11, 1), now=now)
    funding.end_period(staff, first.id, date(2026, 12, 31), now=now)
    funding.assign(staff, enrollment.id, that.id, date(2027, 1, 1), None, now=now)
    for day in scheduled(start, MWF, 18):
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))

    assert early.value.field == "ends_on"
    assert cents_by(person.id, lambda on: on.year) == {2026: 1000, 2027: 2000}


def test_a_programs_per_award_cap_refuses_a_dearer_item(staff, admin, clinic):
    oig = funding.add_preset(admin, "oig-ao-22-04", now=at(clinic, date(2026, 1, 1)))
    start = date(2026, 1, 5)
    person, enrollment = make_enrolled(staff, clinic, start=start)
    funding.assign(staff, enrollment.id, oig.id, start, None, now=at(clinic, start))
    for day in scheduled(start, MWF, 6):
        checkins.record_specimen(staff, person.id, day, NEG, now=at(clinic, day))
    now = at(clinic, date(2026, 1, 20))
    ticket = rewards.add_reward(
        admin, "Movie ticket", tier=None, cost_cents=1250, value_cents=1250,
        stock=3, now=now,
    )  # fmt: skip
    coffee = rewards.add_reward(
        admin, "Coffee", tier=None, cost_cents=400, value_cents=400, stock=3, now=now
    )

    with pytest.raises(Conflict) as refused:
        rewards.redeem(staff, person.id, ticket.id, "n1", now=now)
    screen = rewards.redeem_screen(staff, person.id, now=now)

    assert refused.value.code == "program_item_cap"
    assert (
        "Movie ticket is worth $12.50: OIG AO 22-04 allows at most $4.99 an incentive"
        in refused.value.message
    )
    assert [r.name for r, _ in screen.items] == ["Coffee"]
    assert screen.item_cap == ("OIG AO 22-04", 499)
    assert rewards.redeem(staff, person.id, coffee.id, "n2", now=now).amount < 0
