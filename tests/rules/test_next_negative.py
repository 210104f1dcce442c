"""What the next negative would pay: the number the therapist tells the participant."""

from __future__ import annotations

from datetime import date

from cm_service.rules import NextNegative, evaluate

from .builders import day, facts, preset, spec_of, specimen, timeline

HIGGINS = preset("higgins-1994")


def next_after(spec, tokens, as_of, enrollment=None):
    enrollment = enrollment or facts()
    events = timeline(spec, tokens, enrollment)
    return evaluate(spec, enrollment, events, as_of=as_of).next_negative


def test_before_the_start_the_next_negative_is_the_first_test_at_the_start_value():
    found = next_after(HIGGINS, "", day(-2))

    assert (found.on, found.points, found.cents, found.bonus_points) == (
        day(0),
        10,
        250,
        0,
    )


def test_the_next_negative_includes_the_bonus_it_would_complete():
    found = next_after(HIGGINS, "N N", day(2))

    assert (found.on, found.points, found.bonus_points, found.cents) == (
        day(4),
        20,
        40,
        1500,
    )
    assert found.explanation == (
        "A negative on Fri 2026-01-09: 3rd consecutive negative: 10 + 2×5 = 20 points "
        "($5.00); Bonus for 3 negatives in a row: 40 points ($10.00)."
    )


def test_today_counts_as_the_next_test_while_its_result_is_pending():
    assert next_after(HIGGINS, "N", day(2)).on == day(2)
    spec = spec_of(results__dilute="recollect")
    events = [*timeline(spec, "N"), specimen(2, day(2), cocaine="dilute")]
    assert evaluate(spec, facts(), events, as_of=day(2)).next_negative.on == day(2)


def test_after_a_reset_the_next_negative_is_back_at_the_start():
    found = next_after(HIGGINS, "N N N N P", day(9))

    assert (found.points, found.cents) == (10, 250)


def test_a_per_week_protocol_shows_the_level_after_the_week_closes():
    petry = preset("petry-ctn-2005")

    assert (
        next_after(petry, "N N", day(3)).draws == 2
    )  # next Monday, after a clean week
    assert next_after(petry, "N P", day(3)).draws == 1


def test_draw_protocols_report_draws_and_no_money():
    found = next_after(preset("va-prize-2014"), "N N N", day(8))

    assert (found.draws, found.points, found.cents) == (4, 0, 0)


def test_the_next_negative_shows_what_the_caps_would_let_through():
    ca = preset("ca-recovery-incentives")
    enrollment = facts(year_paid_cents={2026: 59500})

    found = next_after(ca, "", day(-1), enrollment)

    assert (found.points, found.cents) == (8, 400)
    assert "paid $4.00 of $10.00" in found.explanation


def test_nothing_is_next_after_the_protocol_ends():
    assert next_after(HIGGINS, "N", date(2026, 3, 30)) == NextNegative(
        0, 0, 0, 0, 0, None, "No further awards: the protocol has ended."
    )


def test_nothing_is_next_after_discharge():
    found = next_after(HIGGINS, "N N", day(2), facts(ends_on=day(3)))

    assert (found.on, found.points, found.cents) == (None, 0, 0)
    assert found.explanation == "No further awards: discharged on 2026-01-08."
