"""Money caps: every scope, both crossing rules, the cross-enrollment year cap."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from cm_service.rules import evaluate, load_preset, validate_spec

from .builders import amounts, changed, facts, preset, spec_of, timeline

FAR = date(2028, 1, 1)


def capped(**caps):
    return spec_of(**{f"caps__{name}": value for name, value in caps.items()})


def run(spec, tokens, enrollment=None):
    enrollment = enrollment or facts()
    return evaluate(spec, enrollment, timeline(spec, tokens, enrollment), as_of=FAR)


@pytest.mark.parametrize(
    ("crossing", "bonus_points", "capped_cents"),
    [("partial", 20, 500), ("none", 0, 1000)],
)
def test_the_per_test_cap_covers_the_award_and_its_bonus(
    crossing, bonus_points, capped_cents
):
    spec = capped(per_test_cents=1000, crossing=crossing)

    evaluation = run(spec, "N N N")

    # Test 3 is worth 20 + 40 points ($15.00) against a $10.00 cap per test.
    assert amounts(evaluation)[-2:] == [
        ("specimen:2026-01-09", 20),
        ("bonus:2026-01-09", bonus_points),
    ]
    assert evaluation.awards[-1].capped_cents == capped_cents
    assert "capped at $10.00 per test" in evaluation.awards[-1].rule


@pytest.mark.parametrize(
    ("crossing", "week_one", "week_two_first"),
    [("partial", [10, 15, 20, 35], 25), ("none", [10, 15, 20, 0], 25)],
)
def test_the_per_week_cap_binds_within_an_iso_week_only(
    crossing, week_one, week_two_first
):
    spec = capped(per_week_cents=2000, crossing=crossing)

    evaluation = run(spec, "N N N N")

    assert [a.amount for a in evaluation.awards] == [*week_one, week_two_first]


def test_a_partial_award_is_floored_to_whole_points():
    spec = capped(
        per_enrollment_cents=1010
    )  # 250 + 375 paid, 385 left: 15 points = 375

    evaluation = run(spec, "N N N")

    assert [(a.amount, a.cents, a.capped_cents) for a in evaluation.awards] == [
        (10, 250, 0),
        (15, 375, 0),
        (15, 375, 125),
        (0, 0, 1000),
    ]
    assert evaluation.total_cents == 1000
    assert evaluation.capped_cents == 1125


def test_the_per_month_cap_starts_again_in_the_next_calendar_month():
    spec = capped(per_month_cents=5000)

    evaluation = run(spec, " ".join(["N"] * 18))  # 2026-01-05 .. 2026-02-06

    by_month: dict[int, int] = {}
    for award in evaluation.awards:
        by_month[award.on.month] = by_month.get(award.on.month, 0) + award.cents
    assert by_month[1] == 5000
    assert by_month[2] > 0


@pytest.mark.parametrize("crossing", ["partial", "none"])
def test_the_per_enrollment_cap_is_never_exceeded(crossing):
    spec = capped(per_enrollment_cents=10000, crossing=crossing)

    evaluation = run(spec, " ".join(["N"] * 36))

    assert evaluation.total_cents <= 10000
    assert evaluation.total_cents + evaluation.capped_cents == 99750
    assert (evaluation.total_cents == 10000) is (crossing == "partial")


def test_the_year_cap_counts_what_other_enrollments_paid_that_year():
    enrollment = facts(year_paid_cents={2026: 59000, 2025: 59900})

    evaluation = run(preset("ca-recovery-incentives"), "N N N", enrollment)

    assert [(a.cents, a.capped_cents) for a in evaluation.awards] == [
        (900, 100),
        (0, 1150),
        (0, 1300),
    ]
    assert evaluation.awards[0].rule.endswith(
        "capped at $599.00 per calendar year: paid $9.00 of $10.00"
    )


def test_the_year_cap_starts_again_on_the_first_of_january():
    enrollment = facts(start_on=date(2026, 12, 14))
    spec = capped(per_calendar_year_cents=1000)

    evaluation = run(spec, " ".join(["N"] * 9), enrollment)

    december = sum(a.cents for a in evaluation.awards if a.on.year == 2026)
    january = sum(a.cents for a in evaluation.awards if a.on.year == 2027)
    assert (december, january) == (1000, 1000)


def test_the_tightest_cap_names_itself_in_the_explanation():
    spec = capped(per_week_cents=2000, per_enrollment_cents=1000)

    evaluation = run(spec, "N N N")

    assert "capped at $10.00 per enrollment" in evaluation.awards[2].rule


def test_draws_ignore_money_caps_unless_counted_at_expected_value():
    document = changed(load_preset("va-prize-2014"), caps__per_enrollment_cents=1000)
    uncounted = validate_spec(document)
    counted = validate_spec(changed(document, caps__count_draws_at_expected_value=True))

    assert run(uncounted, "N N N N").total_draws == 10
    evaluation = run(counted, "N N N N")

    # 183.8 cents a draw: 1 + 2 draws use 551.4; 2 of the next 3 fit in 448.6.
    assert [a.amount for a in evaluation.awards] == [1, 2, 2, 0]
    assert [a.cents for a in evaluation.awards] == [0, 0, 0, 0]
    assert evaluation.awards[2].capped_cents == 184  # one draw at 919/5 cents, half up
    assert evaluation.awards[3].capped_cents == round(4 * Fraction(919, 5))
    assert "paid 2 of 3 draws" in evaluation.awards[2].rule


def test_caps_apply_across_the_specimen_and_attendance_schedules():
    attendance = {"type": "fixed", "amount": 40, "session_types": ["group"]}
    spec = spec_of(phases__0__attendance=attendance, caps__per_week_cents=1500)
    enrollment = facts()
    events = timeline(spec, "N")
    events.append(
        events[0].__class__(7, "attendance", events[0].on, session_type="group")
    )

    evaluation = evaluate(spec, enrollment, events, as_of=FAR)

    assert [(a.key, a.cents) for a in evaluation.awards] == [
        ("specimen:2026-01-05", 250),
        ("attendance:2026-01-05:group", 1000),
    ]
    more = evaluate(spec, enrollment, timeline(spec, "N N") + events[1:], as_of=FAR)
    assert sum(a.cents for a in more.awards) == 1500
