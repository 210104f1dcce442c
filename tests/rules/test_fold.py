"""The fold: escalation, resets, recovery, phases, day semantics and attendance."""

from __future__ import annotations

from datetime import date

import pytest

from cm_service.rules import (
    DayOutcome,
    evaluate,
    load_preset,
    scheduled_days,
    validate_spec,
)

from .builders import (
    DELETE,
    START,
    amounts,
    changed,
    day,
    event,
    facts,
    preset,
    spec_of,
    specimen,
    timeline,
)

HIGGINS = preset("higgins-1994")
PETRY = preset("petry-ctn-2005")
CA = preset("ca-recovery-incentives")
FAR = date(2027, 1, 1)


def paid(spec, tokens, **kwargs):
    """Money (points specs) or draws (draw specs) per token, bonuses included."""
    enrollment = kwargs.pop("enrollment", facts())
    events = timeline(spec, tokens, enrollment)
    evaluation = evaluate(spec, enrollment, events, as_of=kwargs.pop("as_of", FAR))
    by_day = {}
    for award in evaluation.awards:
        value = award.cents if award.account == "points" else award.amount
        by_day[award.on] = by_day.get(award.on, 0) + value
    return [by_day.get(e.on, 0) for e in events]


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        ("N N N", [250, 375, 1500]),
        ("N N E N", [250, 375, 0, 1500]),  # excused: neither breaks nor extends
        ("N E E N N", [250, 0, 0, 375, 1500]),
        ("N N M N", [250, 375, 0, 250]),  # missed resets
        ("N N P N", [250, 375, 0, 250]),
        ("N N R N", [250, 375, 0, 250]),
        ("P P N N N", [0, 0, 250, 375, 1500]),  # the bonus counter restarts at a reset
        ("N N P N N N", [250, 375, 0, 250, 375, 1500]),
    ],
)
def test_higgins_values_follow_resets_and_excuses(tokens, expected):
    assert paid(HIGGINS, tokens) == expected


def test_an_outcome_outside_reset_on_neither_pays_nor_resets():
    spec = spec_of(phases__0__specimen__reset_on=["positive", "missed"])
    # A refusal outside reset_on keeps the run: 10, 15, -, 20 points + the bonus.
    assert paid(spec, "N N R N") == [250, 375, 0, 500 + 1000]


def test_california_resets_on_a_refusal_as_a_failure_to_provide():
    # Regression (issue 12, finding 5): a refusal kept California's escalation.
    assert paid(CA, "N N R N") == [1000, 1150, 0, 1000]


def test_california_pays_an_episode_spanning_new_year_at_most_599_dollars():
    # Regression (issue 12, finding 5): 24 weeks from November paid $855.
    start = date(2026, 11, 2)
    negatives = " ".join(["N"] * 36)
    values = paid(
        CA, negatives, enrollment=facts(start_on=start), as_of=date(2028, 1, 1)
    )
    assert sum(values) == 59900


def test_a_second_lapse_during_recovery_keeps_the_higher_remembered_level():
    tokens = "N N N N N N P N N P N N N N N N"

    values = paid(HIGGINS, tokens)

    # ℓ was 6 at the first lapse and 2 at the second; five negatives restore 6,
    # so the sixth negative after the second lapse pays 10 + 6×5 = 40 points (+ bonus).
    assert values[10:] == [250, 375, 1500, 625, 750, 1000 + 1000]


def test_without_recovery_a_reset_restarts_from_the_start_for_good():
    spec = spec_of(phases__0__specimen__recovery_after=None)

    assert paid(spec, "N N N N N N P N N N N N N N")[7:] == [
        250, 375, 1500, 625, 750, 1875, 1000,
    ]  # fmt: skip


def test_recovery_never_lowers_the_level_reached_since_the_reset():
    spec = spec_of(phases__0__specimen__recovery_after=3)

    # Saved level 1; three negatives since the reset reach level 3 > 1: keep 3.
    assert paid(spec, "N P N N N N") == [250, 0, 250, 375, 1500, 625]


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        ("N N N N", [1, 1, 2, 2]),
        (
            "N N N P N N N N",
            [1, 1, 2, 0, 1, 1, 2, 2],
        ),  # a lapse week resets and does not count
        ("N E N N", [1, 0, 2, 2]),  # negative + excused is a clean week
        ("E E N N", [0, 0, 1, 1]),  # a week with no negative does not advance
        ("N M N N", [1, 0, 1, 1]),
    ],
)
def test_per_week_escalation_advances_only_after_a_clean_week(tokens, expected):
    assert paid(PETRY, tokens) == expected


def test_a_week_with_a_test_still_unrecorded_does_not_advance_the_level():
    enrollment = facts()
    events = [
        specimen(1, day(0), **dict.fromkeys(PETRY.targets.substances, "negative"))
    ]
    events.append(
        specimen(2, day(7), **dict.fromkeys(PETRY.targets.substances, "negative"))
    )

    evaluation = evaluate(PETRY, enrollment, events, as_of=day(7))

    # Thursday of week 1 has nothing recorded: week 1 is not clean, no reset either.
    assert amounts(evaluation) == [
        ("specimen:2026-01-05", 1),
        ("specimen:2026-01-12", 1),
    ]
    assert evaluation.run == 2


def test_a_clean_week_closes_when_as_of_passes_it():
    events = timeline(PETRY, "N N")

    assert evaluate(PETRY, facts(), events, as_of=day(6)).level == 0
    assert evaluate(PETRY, facts(), events, as_of=day(7)).level == 1


def test_phases_carry_level_and_run_and_apply_their_own_schedule():
    document = changed(
        load_preset("higgins-1994"),
        phases__0__weeks=[1, 1],
        phases__0__specimen__bonus=None,
    )
    second = {
        "weeks": [2, 3],
        "testing_days": ["mon"],
        "specimen": {**document["phases"][0]["specimen"], "start": 100, "step": 1},
    }
    spec = validate_spec({**document, "phases": [document["phases"][0], second]})

    evaluation = evaluate(spec, facts(), timeline(spec, "N N N N N"), as_of=FAR)

    # Week 1 (M/W/F): levels 0-2 at 10 + 5ℓ; weeks 2-3 (Mon): levels 3, 4 at 100 + ℓ.
    assert [a.amount for a in evaluation.awards] == [10, 15, 20, 103, 104]
    assert evaluation.run == 5


def test_a_phase_without_a_specimen_schedule_pays_nothing_but_keeps_the_streak():
    document = load_preset("higgins-1994")
    first = {**document["phases"][0], "weeks": [1, 1]}
    pause = {"weeks": [2, 2], "testing_days": ["mon"], "specimen": None}
    last = {**document["phases"][0], "weeks": [3, 3]}
    spec = validate_spec({**document, "phases": [first, pause, last]})

    # The unpaid Monday extends the run (4 in a row) but not the level (3).
    assert paid(spec, "N N N N N") == [250, 375, 1500, 0, 625]


def test_a_fixed_schedule_pays_the_same_amount_for_every_negative():
    spec = spec_of(phases__0__specimen={"type": "fixed", "amount": 40})

    assert paid(spec, "N P N N") == [1000, 0, 1000, 1000]


def test_the_award_describes_itself_in_plain_language():
    evaluation = evaluate(HIGGINS, facts(), timeline(HIGGINS, "N N N"), as_of=FAR)

    assert [(a.key, a.kind, a.amount, a.cents) for a in evaluation.awards] == [
        ("specimen:2026-01-05", "award", 10, 250),
        ("specimen:2026-01-07", "award", 15, 375),
        ("specimen:2026-01-09", "award", 20, 500),
        ("bonus:2026-01-09", "bonus", 40, 1000),
    ]
    assert [a.rule for a in evaluation.awards] == [
        "1st consecutive negative: the starting value, 10 points ($2.50)",
        "2nd consecutive negative: 10 + 1×5 = 15 points ($3.75)",
        "3rd consecutive negative: 10 + 2×5 = 20 points ($5.00)",
        "Bonus for 3 negatives in a row: 40 points ($10.00)",
    ]
    assert {(a.account, a.schedule, a.capped_cents) for a in evaluation.awards} == {
        ("points", "specimen", 0)
    }
    assert [a.event_id for a in evaluation.awards] == [1, 2, 3, 3]


def test_two_specimens_on_one_day_make_one_award_keyed_by_the_day():
    events = [
        specimen(8, day(0), cocaine="negative"),
        specimen(3, day(0), cocaine="negative"),
    ]

    evaluation = evaluate(HIGGINS, facts(), events, as_of=day(0))

    assert [(a.key, a.amount, a.event_id) for a in evaluation.awards] == [
        ("specimen:2026-01-05", 10, 3)
    ]


def test_a_voided_and_re_entered_day_keeps_its_award_key():
    first = evaluate(
        HIGGINS, facts(), [specimen(1, day(0), cocaine="negative")], as_of=day(0)
    )
    again = evaluate(
        HIGGINS, facts(), [specimen(9, day(0), cocaine="negative")], as_of=day(0)
    )

    assert [a.key for a in first.awards] == [a.key for a in again.awards]


def test_a_recollected_day_pays_when_the_valid_specimen_arrives():
    spec = spec_of(results__dilute="recollect")
    pending = [specimen(1, day(0), cocaine="dilute")]

    assert evaluate(spec, facts(), pending, as_of=day(0)).awards == ()
    resolved = evaluate(
        spec, facts(), [*pending, specimen(2, day(0), cocaine="negative")], as_of=day(0)
    )
    assert amounts(resolved) == [("specimen:2026-01-05", 10)]


def test_a_pending_recollect_changes_nothing_until_it_is_decided():
    spec = spec_of(results__dilute="recollect")
    events = [*timeline(spec, "N N"), specimen(3, day(4), cocaine="dilute")]
    events.append(specimen(4, day(7), cocaine="negative"))

    # The pending Friday neither pays nor breaks the run: Monday is the 3rd negative.
    assert amounts(evaluate(spec, facts(), events, as_of=day(7)))[-2:] == [
        ("specimen:2026-01-12", 20),
        ("bonus:2026-01-12", 40),
    ]


EXTRA = [
    specimen(1, day(0), cocaine="negative"),
    specimen(2, day(1), cocaine="negative"),  # Tuesday: not a Higgins test day
    specimen(3, day(2), cocaine="negative"),
]


def test_an_extra_negative_neither_pays_nor_advances_the_escalation():
    # Regression (issue 12, finding 7): a Sunday test paid "4th consecutive
    # negative", so coming in more often sped up escalation.
    evaluation = evaluate(HIGGINS, facts(), EXTRA, as_of=day(2))

    assert amounts(evaluation) == [
        ("specimen:2026-01-05", 10),
        ("specimen:2026-01-07", 15),
    ]
    assert evaluation.run == 2
    assert [d.scheduled for d in evaluation.days] == [True, False, True]


def test_ignored_extra_tests_never_change_the_fold():
    spec = spec_of(extra_tests="ignore")
    events = [*EXTRA, specimen(4, day(3), cocaine="positive")]  # Thursday: extra

    evaluation = evaluate(spec, facts(), events, as_of=day(4))

    assert [d.on for d in evaluation.days] == [day(0), day(2), day(4)]
    assert evaluation.run == 2


def test_counted_extra_tests_pay_in_date_order():
    evaluation = evaluate(spec_of(extra_tests="count"), facts(), EXTRA, as_of=day(2))

    assert amounts(evaluation) == [
        ("specimen:2026-01-05", 10),
        ("specimen:2026-01-06", 15),
        ("specimen:2026-01-07", 20),
        ("bonus:2026-01-07", 40),
    ]
    assert "(extra test)" in evaluation.awards[1].rule
    assert [d.scheduled for d in evaluation.days] == [True, False, True]


def test_an_extra_positive_resets_like_a_scheduled_one():
    events = [*timeline(HIGGINS, "N N"), specimen(9, day(3), cocaine="positive")]
    events.append(specimen(10, day(4), cocaine="negative"))

    assert amounts(evaluate(HIGGINS, facts(), events, as_of=day(4)))[-1] == (
        "specimen:2026-01-09",
        10,
    )


@pytest.mark.parametrize(
    ("enrollment", "on"),
    [
        (facts(), day(84)),  # week 13: after the Higgins protocol's last phase
        (facts(), day(-3)),  # before the enrollment starts
        (facts(ends_on=day(30)), day(32)),  # after discharge
    ],
)
def test_events_outside_the_protocol_or_after_discharge_pay_nothing(enrollment, on):
    evaluation = evaluate(
        HIGGINS, enrollment, [specimen(1, on, cocaine="negative")], as_of=FAR
    )

    assert evaluation.awards == ()
    assert on not in [d.on for d in evaluation.days]


def test_events_after_as_of_are_not_folded_yet():
    events = timeline(HIGGINS, "N N N")

    evaluation = evaluate(HIGGINS, facts(), events, as_of=day(2))

    assert [a.key for a in evaluation.awards] == [
        "specimen:2026-01-05",
        "specimen:2026-01-07",
    ]


def test_days_list_each_scheduled_day_up_to_as_of_with_nothing_recorded_as_none():
    evaluation = evaluate(HIGGINS, facts(), timeline(HIGGINS, "N"), as_of=day(7))

    assert evaluation.days == (
        DayOutcome(day(0), True, "negative", 1, 1, 0),
        DayOutcome(day(2), True, None, None, 1, 0),
        DayOutcome(day(4), True, None, None, 1, 0),
        DayOutcome(day(7), True, None, None, 2, 0),
    )


def test_the_evaluation_reports_run_level_longest_run_and_totals():
    evaluation = evaluate(
        HIGGINS, facts(), timeline(HIGGINS, "N N N N P N N"), as_of=FAR
    )

    assert (evaluation.run, evaluation.level, evaluation.longest_run) == (2, 2, 4)
    assert evaluation.total_points == 10 + 15 + 20 + 40 + 25 + 10 + 15
    assert evaluation.total_cents == evaluation.total_points * 25
    assert (evaluation.total_draws, evaluation.capped_cents) == (0, 0)


# The preset books its groups (scheduled: true); these tests pay sessions as they come.
WALK_IN = changed(
    load_preset("attendance-prize"),
    phases__0__attendance__scheduled=DELETE,
    phases__0__attendance__reset_on=[],
)
ATTENDANCE = validate_spec(WALK_IN)


def session(event_id, on, session_type="group", **kwargs):
    return event(event_id, "attendance", on, session_type=session_type, **kwargs)


def test_attended_group_sessions_escalate_draws_and_never_reset():
    events = [session(i, day(i)) for i in range(1, 8)]
    events += [event(20, "missed", day(2)), specimen(21, day(3), cocaine="positive")]
    events.append(session(30, day(9), "individual"))  # not a paid session type

    evaluation = evaluate(ATTENDANCE, facts(), events, as_of=FAR)

    assert amounts(evaluation) == [
        (f"attendance:{day(i).isoformat()}:group", min(i, 5)) for i in range(1, 8)
    ]
    assert {(a.account, a.schedule) for a in evaluation.awards} == {
        ("draws", "attendance")
    }
    assert evaluation.awards[2].rule == "3rd attended group session: 1 + 2×1 = 3 draws"


def test_an_attendance_bonus_has_its_own_key_beside_the_specimen_schedule():
    document = load_preset("higgins-1994")
    attendance = {
        "type": "fixed",
        "amount": 8,
        "session_types": ["individual"],
    }
    spec = validate_spec(changed(document, phases__0__attendance=attendance))
    events = [*timeline(spec, "N"), session(50, day(0), "individual")]

    evaluation = evaluate(spec, facts(), events, as_of=FAR)

    assert amounts(evaluation) == [
        ("specimen:2026-01-05", 10),
        ("attendance:2026-01-05:individual", 8),
    ]

    escalating = {
        "type": "escalating",
        "start": 4,
        "step": 2,
        "max": None,
        "bonus": {"every": 2, "amount": 12},
        "session_types": ["group"],
    }
    spec = validate_spec(changed(document, phases__0__attendance=escalating))
    sessions = [session(60, day(1)), session(61, day(3))]
    assert amounts(evaluate(spec, facts(), sessions, as_of=FAR)) == [
        ("attendance:2026-01-06:group", 4),
        ("attendance:2026-01-08:group", 6),
        ("attendance-bonus:2026-01-08:group", 12),
    ]


def test_testing_day_overrides_move_the_scheduled_days_of_a_phase():
    enrollment = facts(testing_days={0: (1, 3)})  # Tue/Thu instead of M/W/F
    evaluation = evaluate(HIGGINS, enrollment, [], as_of=day(6))

    assert [d.on for d in evaluation.days] == [day(1), day(3)]


def test_the_start_date_defines_enrollment_weeks():
    enrollment = facts(start_on=START.replace(day=7))  # a Wednesday start
    evaluation = evaluate(HIGGINS, enrollment, [], as_of=START.replace(day=14))

    assert [(d.on.day, d.week) for d in evaluation.days] == [
        (7, 1),
        (9, 1),
        (12, 1),
        (14, 2),
    ]


def test_a_result_mapped_to_missed_resets_like_a_missed_test():
    spec = spec_of(results__invalid="missed")
    events = [*timeline(spec, "N N"), specimen(3, day(4), cocaine="invalid")]
    events.append(specimen(4, day(7), cocaine="negative"))

    evaluation = evaluate(spec, facts(), events, as_of=day(7))

    assert evaluation.days[2].outcome == "missed"
    assert amounts(evaluation)[-1] == ("specimen:2026-01-12", 10)


def test_a_merged_urine_and_breath_day_is_decided_by_its_lowest_event_id():
    stimulants = dict.fromkeys(
        ["cocaine", "amphetamine", "methamphetamine"], "negative"
    )
    events = [
        specimen(12, day(0), **stimulants),
        event(11, "breath", day(0), results={"alcohol": "negative"}),
    ]

    evaluation = evaluate(PETRY, facts(), events, as_of=day(0))

    assert [(a.key, a.amount, a.event_id) for a in evaluation.awards] == [
        ("specimen:2026-01-05", 1, 11)
    ]


def test_each_attendance_schedule_of_a_phase_pays_its_own_sessions():
    group = {
        "type": "escalating",
        "start": 1,
        "step": 1,
        "max": 3,
        "session_types": ["group"],
    }
    individual = {"type": "fixed", "amount": 20, "session_types": ["individual"]}
    document = load_preset("higgins-1994")
    spec = validate_spec(changed(document, phases__0__attendance=[group, individual]))
    events = [
        session(1, day(1)),
        session(2, day(1), "individual"),
        session(3, day(3)),
        session(4, day(8), "individual"),
        session(5, day(10)),
    ]

    evaluation = evaluate(spec, facts(), events, as_of=FAR)

    # The group streak escalates 1, 2, 3; individual sessions pay 20 each and do
    # not advance the group's streak.
    assert amounts(evaluation) == [
        ("attendance:2026-01-06:group", 1),
        ("attendance:2026-01-06:individual", 20),
        ("attendance:2026-01-08:group", 2),
        ("attendance:2026-01-13:individual", 20),
        ("attendance:2026-01-15:group", 3),
    ]


def test_the_attendance_preset_schedules_no_tests():
    assert scheduled_days(ATTENDANCE, facts(), START, FAR) == []
    evaluation = evaluate(ATTENDANCE, facts(), [session(1, day(1))], as_of=day(30))
    assert [d.outcome for d in evaluation.days] == []  # no phantom missed tests
