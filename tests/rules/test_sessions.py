"""Attendance by appointment (docs/attendance.md): booked sessions end attended,
late, missed or excused, and late and missed reset the next award when `reset_on`
says so."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cm_service.rules import (
    Booking,
    SpecError,
    evaluate,
    fold_awards,
    load_preset,
    session_after_offset,
    simulate_outcomes,
    validate_spec,
)

from .builders import DELETE, START, changed, event, facts

PRESET = load_preset("attendance-prize")  # group draws 1, +1 to 5; reset on missed
GROUP = validate_spec(PRESET)
FAR = date(2027, 1, 1)


def tuesdays(n: int) -> list[date]:
    first = START + timedelta(days=(1 - START.weekday()) % 7)
    return [first + timedelta(weeks=i) for i in range(n)]


def booked(days, session_type="group", **kwargs):
    return facts(bookings=tuple(Booking(on, session_type) for on in days), **kwargs)


def attended(event_id, on, session_type="group", **kwargs):
    return event(event_id, "attendance", on, session_type=session_type, **kwargs)


def draws(evaluation):
    return [(a.on, a.amount) for a in evaluation.awards]


def on_time_spec(reset_on=("missed", "late"), minutes=10):
    return validate_spec(
        changed(
            PRESET,
            phases__0__attendance__on_time_minutes=minutes,
            phases__0__attendance__reset_on=list(reset_on),
        )
    )


def test_only_booked_sessions_pay_when_sessions_are_by_appointment():
    days = tuesdays(3)
    events = [attended(i, on) for i, on in enumerate(days, start=1)]

    evaluation = evaluate(GROUP, booked(days[:2]), events, as_of=FAR)

    assert draws(evaluation) == [(days[0], 1), (days[1], 2)]
    assert [s.outcome for s in evaluation.sessions] == ["attended", "attended"]


def test_a_missed_booked_session_resets_the_next_award_to_the_start():
    days = tuesdays(4)
    events = [attended(1, days[0]), attended(2, days[1])]
    events += [event(3, "missed", days[2], session_type="group")]
    events += [attended(4, days[3])]

    evaluation = evaluate(GROUP, booked(days), events, as_of=FAR)

    assert draws(evaluation) == [(days[0], 1), (days[1], 2), (days[3], 1)]
    assert evaluation.sessions[2].outcome == "missed"


def test_a_booked_session_left_empty_is_missed_once_its_day_is_closed():
    days = tuesdays(3)
    events = [attended(1, days[0]), attended(3, days[2])]

    open_day = evaluate(GROUP, booked(days), events, as_of=FAR)
    closed = evaluate(GROUP, booked(days, closed_through=days[1]), events, as_of=FAR)

    # Not yet closed: the second group is still open, so the run goes on.
    assert draws(open_day) == [(days[0], 1), (days[2], 2)]
    assert draws(closed) == [(days[0], 1), (days[2], 1)]
    assert [s.outcome for s in closed.sessions] == ["attended", "missed", "attended"]
    assert closed.sessions[1].event_id is None  # derived: the nightly job writes it


def test_a_missed_group_is_not_a_missed_test_on_an_attendance_only_protocol():
    days = tuesdays(2)
    events = [event(1, "missed", days[0], session_type="group")]

    evaluation = evaluate(
        GROUP, booked(days, closed_through=days[1]), events, as_of=FAR
    )

    assert evaluation.days == ()  # no specimens scheduled, none missed
    assert [s.outcome for s in evaluation.sessions] == ["missed", "missed"]


def test_an_excused_session_neither_breaks_nor_extends_the_run():
    days = tuesdays(3)
    events = [attended(1, days[0]), event(2, "excused", days[1], session_type="group")]
    events.append(attended(3, days[2]))

    evaluation = evaluate(
        GROUP, booked(days, closed_through=days[2]), events, as_of=FAR
    )

    assert draws(evaluation) == [(days[0], 1), (days[2], 2)]


def test_a_late_arrival_pays_nothing_and_resets_when_reset_on_has_late():
    days = tuesdays(3)
    events = [attended(1, days[0]), attended(2, days[1], late=True)]
    events.append(attended(3, days[2]))

    evaluation = evaluate(on_time_spec(), booked(days), events, as_of=FAR)

    assert draws(evaluation) == [(days[0], 1), (days[2], 1)]
    assert evaluation.sessions[1].outcome == "late"


def test_a_late_arrival_pays_nothing_but_keeps_the_run_when_late_does_not_reset():
    days = tuesdays(3)
    events = [attended(1, days[0]), attended(2, days[1], late=True)]
    events.append(attended(3, days[2]))

    evaluation = evaluate(
        on_time_spec(reset_on=("missed",)), booked(days), events, as_of=FAR
    )

    assert draws(evaluation) == [(days[0], 1), (days[2], 2)]


def test_late_is_attended_when_the_protocol_sets_no_on_time_window():
    days = tuesdays(2)
    events = [attended(1, days[0]), attended(2, days[1], late=True)]

    evaluation = evaluate(GROUP, booked(days), events, as_of=FAR)

    assert draws(evaluation) == [(days[0], 1), (days[1], 2)]
    assert evaluation.sessions[1].outcome == "attended"


def test_recovery_restores_the_session_level_after_the_attended_sessions_it_names():
    spec = validate_spec(changed(PRESET, phases__0__attendance__recovery_after=2))
    days = tuesdays(7)
    events = [attended(i, on) for i, on in enumerate(days[:4], start=1)]
    events.append(event(5, "missed", days[4], session_type="group"))
    events += [attended(6, days[5]), attended(7, days[6])]

    evaluation = evaluate(spec, booked(days), events, as_of=FAR)

    # 1 2 3 4, missed (level 4 saved), 1, then the 2nd since the reset restores
    # the level, so the session after it would pay 5.
    assert [amount for _, amount in draws(evaluation)] == [1, 2, 3, 4, 1, 2]
    assert "Level restored to 4" in evaluation.awards[-1].rule
    assert evaluation.next_sessions == ()  # nothing else booked


def test_two_schedules_keep_their_own_runs_and_accounts():
    document = changed(
        PRESET,
        phases__0__attendance=[
            PRESET["phases"][0]["attendance"],
            {"type": "fixed", "amount": 5, "session_types": ["individual"]},
        ],
    )
    spec = validate_spec(document)
    days = tuesdays(3)
    events = [attended(1, days[0]), event(2, "missed", days[1], session_type="group")]
    events += [attended(3, days[1], "individual"), attended(4, days[2])]

    evaluation = evaluate(spec, booked(days), events, as_of=FAR)

    assert [(a.key, a.account, a.amount) for a in evaluation.awards] == [
        (f"attendance:{days[0]}:group", "draws", 1),
        (f"attendance:{days[1]}:individual", "points", 5),
        (f"attendance:{days[2]}:group", "draws", 1),
    ]


def test_the_next_booked_session_says_what_it_earns_and_when():
    days = tuesdays(4)
    events = [attended(1, days[0]), attended(2, days[1])]

    evaluation = evaluate(GROUP, booked(days), events, as_of=days[1])

    (upcoming,) = evaluation.next_sessions
    assert (upcoming.on, upcoming.session_type, upcoming.booked) == (
        days[2],
        "group",
        True,
    )
    assert (upcoming.draws, upcoming.run) == (3, 2)
    assert upcoming.explanation.startswith(
        f"Attending the group session on Tue {days[2]}: 3rd attended group session"
    )


def test_after_a_missed_session_the_next_one_earns_the_start_again():
    days = tuesdays(4)
    events = [attended(1, days[0]), attended(2, days[1])]
    events.append(event(3, "missed", days[2], session_type="group"))

    evaluation = evaluate(GROUP, booked(days), events, as_of=days[2])

    assert [(s.on, s.draws) for s in evaluation.next_sessions] == [(days[3], 1)]


def test_a_fold_resumed_from_a_checkpoint_counts_sessions_as_a_full_fold_does():
    days = tuesdays(6)
    enrollment = booked(days, closed_through=days[5])
    events = [attended(1, days[0]), attended(2, days[1]), attended(4, days[3])]
    events.append(attended(6, days[5]))

    full = fold_awards(GROUP, enrollment, events, as_of=FAR, checkpoint_on=days[2])
    resumed = fold_awards(GROUP, enrollment, events, as_of=FAR, resume=full.checkpoint)

    after = [a for a in full.awards if a.on > days[2]]
    assert [(a.key, a.amount) for a in resumed.awards] == [
        (a.key, a.amount) for a in after
    ]
    assert [a.amount for a in after] == [1, 1]  # days[2] and days[4] were missed


def test_a_late_token_resets_a_simulated_course_when_the_protocol_says_so():
    result = simulate_outcomes(on_time_spec(), "A A L A")

    assert [(t.outcome, t.draws) for t in result.tests] == [
        ("attended", 1),
        ("attended", 2),
        ("late", 0),
        ("attended", 1),
    ]


@pytest.mark.parametrize(
    ("paths", "path", "message"),
    [
        (
            {"phases__0__attendance__reset_on": ["missed", "late"]},
            "phases[0].attendance.on_time_minutes",
            'is required when reset_on has "late"',
        ),
        (
            {
                "phases__0__attendance__scheduled": DELETE,
                "phases__0__attendance__reset_on": [],
                "phases__0__attendance__on_time_minutes": 10,
            },
            "phases[0].attendance.on_time_minutes",
            "needs scheduled: true",
        ),
        (
            {"phases__0__attendance__reset_on": ["positive"]},
            "phases[0].attendance.reset_on[0]",
            'must be one of "missed", "late"',
        ),
        (
            {"phases__0__attendance__scheduled": "yes"},
            "phases[0].attendance.scheduled",
            "must be true or false",
        ),
        (
            {"phases__0__attendance__on_time_minutes": 600},
            "phases[0].attendance.on_time_minutes",
            "at most 240",
        ),
    ],
)
def test_a_bad_appointment_setting_names_its_field(paths, path, message):
    with pytest.raises(SpecError) as raised:
        validate_spec(changed(PRESET, **paths))

    assert [error.path for error in raised.value.errors] == [path]
    assert message in raised.value.errors[0].message


def test_the_next_session_says_what_an_offset_withholds_from_it():
    days = tuesdays(3)
    evaluation = evaluate(GROUP, booked(days), [attended(1, days[0])], as_of=days[0])
    (upcoming,) = evaluation.next_sessions

    kept = session_after_offset(GROUP, upcoming, {"draws": 1, "points": -40})

    assert (upcoming.draws, kept.draws, kept.withheld) == (2, 1, 1)
    assert "Withheld 1 draw of it: 1 draw already paid" in kept.explanation
    assert session_after_offset(GROUP, upcoming, {"points": -40}) == upcoming


def test_the_run_of_each_schedule_is_known_with_nothing_booked_ahead():
    days = tuesdays(3)
    events = [attended(i, on) for i, on in enumerate(days, start=1)]

    evaluation = evaluate(GROUP, booked(days), events, as_of=days[-1])

    assert evaluation.next_sessions == ()
    assert evaluation.session_runs == (3,)
