"""The boards read enrollments from columns (board.lines_of): the facts and events
they classify days with are the ones the timeline gives the fold."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from cm_service.extensions import db
from cm_service.models import Enrollment
from cm_service.services.cm import checkins
from cm_service.services.cm.timeline import load_timelines, to_facts
from cm_service.services.reads import board
from tests.support.factories import NOW, START, make_enrolled

TODAY = NOW.date()  # Monday 2026-02-02
FRIDAY = TODAY - timedelta(days=3)
PETRY = "petry-ctn-2005"


def test_lines_hold_the_timelines_facts_and_the_events_of_their_days(staff, clinic):
    plain, _ = make_enrolled(staff, clinic, code="P-0001")
    days, _ = make_enrolled(staff, clinic, code="P-0002", testing_days={0: [1, 3]})
    panel, _ = make_enrolled(
        staff,
        clinic,
        key=PETRY,
        code="P-0003",
        targets=["cocaine", "amphetamine"],
        exemptions=[
            {
                "analyte": "amphetamine",
                "medication": "Adderall",
                "starts_on": START,
                "ends_on": TODAY,
            },
            {"analyte": "cocaine", "medication": "Trial drug", "starts_on": FRIDAY},
        ],
    )
    make_enrolled(staff, clinic, code="P-0004")
    old = checkins.record_specimen(
        staff, plain.id, FRIDAY - timedelta(days=2), {"cocaine": "negative"}, now=NOW
    )
    friday = checkins.record_specimen(
        staff, plain.id, FRIDAY, {"cocaine": "dilute"}, now=NOW
    )
    checkins.record_specimen(staff, plain.id, TODAY, {"cocaine": "negative"}, now=NOW)
    checkins.void_event(staff, friday.event.id, "Wrong cup", now=NOW)
    checkins.record_specimen(
        staff,
        panel.id,
        FRIDAY,
        {"cocaine": "negative", "amphetamine": "positive"},
        now=NOW,
    )
    checkins.excuse_day(staff, days.id, TODAY, "At court", now=NOW)
    after, through = FRIDAY - timedelta(days=1), TODAY

    lines = board.lines_of(clinic.id, after=after, through=through)

    timelines = load_timelines(
        [db.session.get_one(Enrollment, line.enrollment_id) for line in lines]
    )
    assert [line.participant.code for line in lines] == [
        "P-0001",
        "P-0002",
        "P-0003",
        "P-0004",
    ]
    for line in lines:
        timeline = timelines[line.enrollment_id]
        expected = replace(
            timeline.facts,
            year_paid_cents={},
            bookings=(),
            programs=(),
            program_paid_cents={},
        )
        assert line.facts == expected
        assert line.spec == timeline.spec
        assert line.events == to_facts(
            e for e in timeline.events if after < e.collected_on <= through
        )
    assert old.event.id not in {e.event_id for line in lines for e in line.events}
    assert len(lines[0].events) == 1  # Friday's was voided
    assert lines[2].facts.exemptions
    assert lines[1].facts.testing_days
