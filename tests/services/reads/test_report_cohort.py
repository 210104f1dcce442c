"""Issue 14 "Proof": a cohort built through the services, every figure of its outcome
report computed by hand below and asserted exactly, on SQLite and PostgreSQL.

One clinic (America/Chicago), the window Mon 5 Jan to Sun 26 Apr 2026 (16 weeks),
read on Mon 4 May. The clinic runs day by day: each day's visits at 14:00, then the
nightly job for that day at 03:00 the next morning (it writes missed tests and
sessions and completes finished courses).

- P-01, a dropout: Higgins tested Mon/Thu; N N N P N in weeks 1-3, then nothing.
- P-02, a late starter: Petry CTN from Mon 23 Feb, in week 9 of 12 when the window
  ends; one refusal, one missed test.
- P-03, a re-enrolment: a VA prize course completed in 12 weeks (one positive, one
  excused day; five prizes drawn), then enrolled again on Mon 13 Apr (4 tests in
  the window).
- P-04, an exemption: VA prize from Mon 6 Apr; amphetamine positives turn negative
  once a prescription (Adderall) is recorded.
- P-05, attendance only: weekly Tuesday groups booked for the 16 weeks; one late,
  one left unmarked (missed), one excused.
- P-06, voids: Higgins from Mon 6 Apr; a positive voided and re-entered negative,
  later a negative voided and re-entered positive (an offset the ledger absorbs).
- P-07, California capped: 28 negatives; the real preset's $599 per-enrollment and
  per-year cap binds on the 27th. Redeems $200.00 (paid out, not cost).

Money: Higgins pays 25 cents a point, California 50. A draw is valued at its bowl's
exact expected value: bowl A (VA, attendance) (219 x 100 + 30 x 2000 + 1 x 10000)
/ 500 = 919/5 = 183.8 cents, bowl B (Petry) (209 x 100 + 40 x 2000 + 10000) / 500
= 1109/5 = 221.8 cents.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import Event, EventVoid, LedgerEntry
from cm_service.services.cm import (
    appointments,
    checkins,
    exemptions,
    ledger,
    nightly,
    participants,
)
from cm_service.services.reads import report_exports, reports
from tests.support.factories import START, make_staff, protocol_id

GOLDEN = Path(__file__).parent / "golden"
CHICAGO = ZoneInfo("America/Chicago")
FIRST, LAST = START, date(2026, 4, 26)  # Mon 5 Jan to Sun 26 Apr: 16 weeks
NOW = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)  # Mon 4 May, 10:00 in Chicago
LATE, APRIL, AGAIN = date(2026, 2, 23), date(2026, 4, 6), date(2026, 4, 13)
DRAW_SECRET = b"test-draw-secret"
BOWL_A, BOWL_B = Fraction(919, 5), Fraction(1109, 5)
STIMULANTS = ("cocaine", "amphetamine", "methamphetamine")
CLEAN = dict.fromkeys(STIMULANTS, "negative")
CLEAN_AND_SOBER = CLEAN | {"alcohol": "negative"}  # Petry also tests breath alcohol
MON_THU, MWF = (0, 3), (0, 2, 4)


def at(day: date, hour: int = 14) -> datetime:
    return datetime.combine(day, time(hour), CHICAGO)


def days_on(first: date, weekdays: tuple[int, ...], count: int) -> list[date]:
    found, day = [], first
    while len(found) < count:
        if day.weekday() in weekdays:
            found.append(day)
        day += timedelta(days=1)
    return found


def cocaine(result: str) -> dict[str, str]:
    return {"cocaine": result}


class ClinicDays:
    """The clinic's calendar: what staff do on each day, then that day's nightly job."""

    def __init__(self, staff, clinic) -> None:
        self.staff, self.clinic = staff, clinic
        self.plan: dict[date, list[Callable[[datetime], object]]] = defaultdict(list)
        self.people: dict[str, int] = {}

    def on(self, day: date, action: Callable[[datetime], object]) -> None:
        self.plan[day].append(action)

    def enrol(self, code: str, key: str, start: date, **args) -> None:
        def act(now: datetime) -> None:
            if code not in self.people:
                self.people[code] = participants.register_participant(
                    self.staff, self.clinic.id, code, now=now
                ).id
            participants.enroll(
                self.staff,
                self.people[code],
                protocol_id(self.clinic.id, key),
                start,
                now=now,
                **args,
            )

        self.on(start, act)

    def specimen(self, code: str, day: date, results: dict, **args) -> None:
        self.on(
            day,
            lambda now: checkins.record_specimen(
                self.staff, self.people[code], day, results, now=now, **args
            ),
        )

    def run_through(self, last: date) -> None:
        day = min(self.plan)
        while day <= last:
            for action in self.plan.get(day, []):
                action(at(day))
            nightly.run_nightly(self.clinic.id, day, now=at(day + timedelta(1), 3))
            day += timedelta(days=1)


def live_event(participant_id: int, day: date) -> Event:
    return db.session.scalars(
        select(Event)
        .outerjoin(EventVoid, EventVoid.event_id == Event.id)
        .where(
            Event.participant_id == participant_id,
            Event.collected_on == day,
            EventVoid.id.is_(None),
        )
    ).one()


def build_cohort(staff, clinic) -> dict[str, int]:
    c = ClinicDays(staff, clinic)

    # P-01: Higgins on Mon/Thu; N N N P N, then never seen again.
    c.enrol("P-01", "higgins-1994", START, testing_days={0: list(MON_THU)})
    for day, result in zip(days_on(START, MON_THU, 5), "NNNPN", strict=True):
        c.specimen("P-01", day, cocaine("negative" if result == "N" else "positive"))

    # P-02: Petry from Mon 23 Feb; a refusal on Thu 12 Mar, nothing on Mon 23 Mar.
    c.enrol("P-02", "petry-ctn-2005", LATE)
    tokens = "NN NN NR NN MN NN NN NN NN".replace(" ", "")
    for day, token in zip(days_on(LATE, MON_THU, 18), tokens, strict=True):
        if token == "N":
            c.specimen("P-02", day, CLEAN_AND_SOBER)
        elif token == "R":
            c.specimen("P-02", day, {}, refused=True)

    # P-03: VA prize, 24 tests; the 7th positive, the 12th excused; 5 prizes drawn.
    c.enrol("P-03", "va-prize-2014", START)
    for n, day in enumerate(days_on(START, MON_THU, 24), start=1):
        if n == 7:
            c.specimen("P-03", day, CLEAN | {"methamphetamine": "positive"})
        elif n == 12:
            c.on(
                day,
                lambda now, day=day: checkins.excuse_day(
                    staff, c.people["P-03"], day, "hospital stay", now=now
                ),
            )
        else:
            c.specimen("P-03", day, CLEAN)
    for _ in range(5):
        c.on(
            date(2026, 1, 22),
            lambda now: ledger.draw_prize(
                staff, c.people["P-03"], now=now, secret=DRAW_SECRET
            ),
        )
    # ... the nightly job completes that course on Sun 29 Mar; enrolled again.
    c.enrol("P-03", "va-prize-2014", AGAIN)
    for day, result in zip(days_on(AGAIN, MON_THU, 4), "NPNN", strict=True):
        c.specimen("P-03", day, CLEAN if result == "N" else CLEAN | cocaine("positive"))

    # P-04: VA prize from Mon 6 Apr, on prescribed amphetamine from the start; the
    # prescription is recorded on Fri 10 Apr.
    c.enrol("P-04", "va-prize-2014", APRIL)
    amphetamine = CLEAN | {"amphetamine": "positive"}
    panels = (CLEAN, amphetamine, amphetamine, amphetamine | cocaine("positive"))
    for day, results in zip(
        days_on(APRIL, MON_THU, 6), (*panels, CLEAN, CLEAN), strict=True
    ):
        c.specimen("P-04", day, results)
    c.on(
        date(2026, 4, 10),
        lambda now: exemptions.add_exemption(
            staff,
            c.people["P-04"],
            "amphetamine",
            "Adderall XR",
            APRIL,
            now=now,
            prescriber="Dr. Reyes",
        ),
    )

    # P-05: attendance only; a group every Tuesday for the course's 16 weeks.
    c.enrol("P-05", "attendance-prize", START)
    tuesdays = [START + timedelta(days=1, weeks=n) for n in range(16)]
    c.on(
        START,
        lambda now: appointments.book(
            staff,
            c.people["P-05"],
            "group",
            tuesdays[0],
            time(10),
            weekly=True,
            now=now,
        ),
    )
    for week, day in enumerate(tuesdays, start=1):
        if week == 4:
            continue  # nobody checks them in: the nightly job marks it missed
        if week == 5:
            c.on(
                day,
                lambda now, day=day: checkins.excuse_session(
                    staff, c.people["P-05"], day, "group", "flu", now=now
                ),
            )
        else:
            c.on(
                day,
                lambda now, day=day, late=week == 2: checkins.record_attendance(
                    staff, c.people["P-05"], day, "group", now=now, late=late
                ),
            )

    # P-06: Higgins (Mon/Wed/Fri) from Mon 6 Apr; the 2nd test recorded positive.
    c.enrol("P-06", "higgins-1994", APRIL)
    mwf = days_on(APRIL, MWF, 9)
    for n, day in enumerate(mwf, start=1):
        c.specimen("P-06", day, cocaine("positive" if n == 2 else "negative"))

    def correct(day: date, result: str, why: str) -> Callable[[datetime], None]:
        def act(now: datetime) -> None:
            person = c.people["P-06"]
            checkins.void_event(staff, live_event(person, day).id, why, now=now)
            checkins.record_specimen(staff, person, day, cocaine(result), now=now)

        return act

    c.on(mwf[3], correct(mwf[1], "negative", "Lab mix-up: another cup's result"))
    c.on(mwf[6], correct(mwf[5], "positive", "Entered on the wrong participant"))

    # P-07: California; negative on every test in the window; redeems $200.
    c.enrol("P-07", "ca-recovery-incentives", START)
    weeks_13_to_16 = days_on(START + timedelta(weeks=12), (0,), 4)
    for day in days_on(START, MON_THU, 24) + weeks_13_to_16:
        c.specimen("P-07", day, CLEAN)
    c.on(
        date(2026, 3, 2),
        lambda now: ledger.redeem_points(staff, c.people["P-07"], 400, now=now),
    )

    c.run_through(LAST)
    return c.people


@pytest.fixture
def auditor(clinic):
    return make_staff(clinic, "reader", "auditor")


@pytest.fixture
def cohort(staff, clinic, auditor) -> reports.OutcomeReport:
    people = build_cohort(staff, clinic)
    # A prize draw's tier is HMAC(secret, "participant:<id>:draw:<n>") mod 500:
    # P-03 is the second participant registered (Mon 5 Jan, after P-01), id 2 on
    # both databases, so its five draws are the slips named in the summary test.
    assert people["P-03"] == 2
    return reports.outcome_report(auditor, FIRST, LAST, now=NOW)


def rows_of(report: reports.OutcomeReport) -> dict[tuple[str, int], dict]:
    return {
        (e.participant, e.episode): report_exports.episode_fields(e, report.missing)
        for e in report.episodes
    }


def episode_of(report, code: str, number: int = 1) -> reports.Episode:
    return next(
        e for e in report.episodes if (e.participant, e.episode) == (code, number)
    )


NO_SESSIONS = {
    "sessions_booked": 0,
    "sessions_attended": 0,
    "sessions_late": 0,
    "sessions_excused": 0,
    "sessions_missed": 0,
    "percent_sessions_attended": None,
}

# Every exported figure of every episode, by hand. S scheduled, E excused, N
# negative, P positive, U missed or refused; "w3" is enrolment week 3.
EXPECTED = {
    ("P-01", 1): {
        "participant": "P-01",
        "episode": 1,
        "protocol": "higgins-1994 v1",
        "start_on": "2026-01-05",
        # The nightly job completed the enrolment when its 12 weeks ran out (Sun
        # 29 Mar): recorded "completed", but no specimen in week 12.
        "status": "completed",
        "completed": False,
        "weeks_retained": 3,  # the last specimen, Mon 19 Jan, is in week 3
        # Mon/Thu for 12 weeks: 24 tests; N N N P N, then 19 missed.
        "tests_scheduled": 24,
        "tests_excused": 0,
        "tests_submitted": 5,
        "negatives": 4,
        "positives": 1,
        "missing": 19,
        # The first three negatives: 3 tests at 2 a week = 1.5 weeks. Skipping the
        # misses joins nothing: the positive sits between the runs.
        "lda_tests_missing_positive": 3,
        "lda_weeks_missing_positive": 1.5,
        "lda_tests_missing_ignored": 3,
        "lda_weeks_missing_ignored": 1.5,
        "percent_negative_of_scheduled": 16.67,  # 100 x 4 / 24 = 16.666...
        "percent_negative_of_submitted": 80.0,  # 100 x 4 / 5
        "abstinent_4_weeks": False,
        "abstinent_8_weeks": False,
        "abstinent_12_weeks": False,
        "use_pattern": "---+-" + "o" * 19,
        # w1 "--" -, w2 "-+" *, w3 "-o" - (a result trumps a miss), w4-w12 o.
        "weekly_pattern": "-*-" + "o" * 9,
        "kosten_3_negative_weeks": False,  # no "---"
        "ctn0094_abstinent": False,  # the last 4 weeks are "oooo"
        # o and * count as use: "-+-+++++++++": the first "++++" starts in w4.
        "ctn0094_relapse_week": 4,
        "ctn0094_dropout_week": 4,  # the first "oooo" starts in w4
        # Points 10 + 5 x level (25 cents each), a 40-point bonus every 3rd
        # negative in a row: 10, 15, 20 + 40, (positive: reset), 10 = 95 points.
        "voucher_cents": 2375,
        "draws_earned": 0,
        "cost_cents": 2375,
        "cost_per_negative_cents": 594,  # 2375 / 4 = 593.75
        # Its own course: 24 negatives on Mon/Thu = sum(10 + 5 l, l = 0..23) +
        # 8 bonuses x 40 = 1620 + 320 = 1,940 points = $485.00.
        "maximum_cents": 48500,
        "share_of_maximum": 0.049,  # 2375 / 48500 = 0.04897
        **NO_SESSIONS,
    },
    ("P-02", 1): {
        "participant": "P-02",
        "episode": 1,
        "protocol": "petry-ctn-2005 v1",
        "start_on": "2026-02-23",
        "status": "active",
        # Sun 26 Apr ends week 9 of 12: the course ends Sun 17 May, after the
        # window, so it has not completed (however well it is going).
        "completed": False,
        "weeks_retained": 9,
        # 9 weeks x Mon/Thu: NN NN NR NN MN NN NN NN NN.
        "tests_scheduled": 18,
        "tests_excused": 0,
        "tests_submitted": 16,  # a refusal is not a specimen read
        "negatives": 16,
        "positives": 0,
        "missing": 2,  # the refusal and the miss
        # Runs of 5 | R | 2 | M | 9: 9 tests = 4.5 weeks; skipping the miss joins
        # 2 + 9 = 11 tests = 5.5 weeks (the refusal still breaks).
        "lda_tests_missing_positive": 9,
        "lda_weeks_missing_positive": 4.5,
        "lda_tests_missing_ignored": 11,
        "lda_weeks_missing_ignored": 5.5,
        "percent_negative_of_scheduled": 88.89,  # 100 x 16 / 18
        "percent_negative_of_submitted": 100.0,  # 100 x 16 / (16 + 0)
        "abstinent_4_weeks": True,  # 4.5 >= 4
        "abstinent_8_weeks": False,
        "abstinent_12_weeks": False,
        "use_pattern": "-----+--o---------",
        "weekly_pattern": "--*------",  # w3 "-+" is *, w5 "o-" is -
        "kosten_3_negative_weeks": True,
        "ctn0094_abstinent": True,  # w6-w9 "----"
        "ctn0094_relapse_week": None,
        "ctn0094_dropout_week": None,
        # Draws = 1 + the week level, which rises when a week closes all negative
        # and falls to 0 on a refusal or a miss: w1 1+1, w2 2+2, w3 3 + R, w4 1+1,
        # w5 M + 1, w6 1+1, w7 2+2, w8 3+3, w9 4+4 = 32 draws x 221.8 = 7097.6.
        "voucher_cents": 0,
        "draws_earned": 32,
        "cost_cents": 7098,
        "cost_per_negative_cents": 444,  # 7097.6 / 16 = 443.6
        # 24 negatives: 2 a week at levels 0..11 = 2 x (1 + ... + 12) = 156 draws
        # x 221.8 = 34600.8.
        "maximum_cents": 34601,
        "share_of_maximum": 0.2051,  # 32 / 156
        **NO_SESSIONS,
    },
    ("P-03", 1): {
        "participant": "P-03",
        "episode": 1,
        "protocol": "va-prize-2014 v1",
        "start_on": "2026-01-05",
        "status": "completed",  # by the nightly job on Sun 29 Mar
        "completed": True,  # its 12th week ended in the window, with 2 specimens
        "weeks_retained": 12,
        # 24 tests; the 7th (Mon 26 Jan, w4) positive, the 12th (Thu 12 Feb, w6)
        # excused.
        "tests_scheduled": 24,
        "tests_excused": 1,
        "tests_submitted": 23,
        "negatives": 22,
        "positives": 1,
        "missing": 0,
        # Tests 8-24 less the excused 12th: 16 tests = 8 weeks.
        "lda_tests_missing_positive": 16,
        "lda_weeks_missing_positive": 8.0,
        "lda_tests_missing_ignored": 16,
        "lda_weeks_missing_ignored": 8.0,
        "percent_negative_of_scheduled": 95.65,  # 100 x 22 / (24 - 1)
        "percent_negative_of_submitted": 95.65,  # 100 x 22 / (22 + 1)
        "abstinent_4_weeks": True,
        "abstinent_8_weeks": True,  # 8 >= 8
        "abstinent_12_weeks": False,
        "use_pattern": "------+----_------------",
        "weekly_pattern": "---*--------",  # w4 "+-" is *, w6 "-_" is -
        "kosten_3_negative_weeks": True,
        "ctn0094_abstinent": True,
        "ctn0094_relapse_week": None,
        "ctn0094_dropout_week": None,
        # 1 + 1 per negative in a row, at most 8: 1..6 (21), positive, 1..4 (10),
        # excused (no change), 5..8 (26), eight more at 8 (64) = 121 draws x 183.8.
        "voucher_cents": 0,
        "draws_earned": 121,
        "cost_cents": 22240,  # 22239.8
        "cost_per_negative_cents": 1011,  # 22239.8 / 22 = 1010.9
        # 24 negatives: 1..8 (36) + 16 x 8 (128) = 164 draws x 183.8 = 30143.2.
        "maximum_cents": 30143,
        "share_of_maximum": 0.7378,  # 121 / 164 = 0.73780
        **NO_SESSIONS,
    },
    ("P-03", 2): {
        "participant": "P-03",
        "episode": 2,
        "protocol": "va-prize-2014 v1",
        "start_on": "2026-04-13",
        "status": "active",
        "completed": False,
        "weeks_retained": 2,
        # Mon 13, Thu 16, Mon 20, Thu 23 Apr: N P N N.
        "tests_scheduled": 4,
        "tests_excused": 0,
        "tests_submitted": 4,
        "negatives": 3,
        "positives": 1,
        "missing": 0,
        "lda_tests_missing_positive": 2,
        "lda_weeks_missing_positive": 1.0,
        "lda_tests_missing_ignored": 2,
        "lda_weeks_missing_ignored": 1.0,
        "percent_negative_of_scheduled": 75.0,
        "percent_negative_of_submitted": 75.0,
        "abstinent_4_weeks": False,
        "abstinent_8_weeks": False,
        "abstinent_12_weeks": False,
        "use_pattern": "-+--",
        "weekly_pattern": "*-",
        "kosten_3_negative_weeks": False,
        "ctn0094_abstinent": False,  # fewer than 4 weeks
        "ctn0094_relapse_week": None,  # a word shorter than the window: NA
        "ctn0094_dropout_week": None,
        # Its own draws only: 1, positive, 1, 2 = 4 x 183.8 = 735.2.
        "voucher_cents": 0,
        "draws_earned": 4,
        "cost_cents": 735,
        "cost_per_negative_cents": 245,  # 735.2 / 3 = 245.07
        "maximum_cents": 30143,
        "share_of_maximum": 0.0244,  # 4 / 164 = 0.02439
        **NO_SESSIONS,
    },
    ("P-04", 1): {
        "participant": "P-04",
        "episode": 1,
        "protocol": "va-prize-2014 v1",
        "start_on": "2026-04-06",
        "status": "active",
        "completed": False,
        "weeks_retained": 3,
        # Mon 6 N; Thu 9 and Mon 13 amphetamine-positive, exempt (prescribed from
        # Mon 6), so negative; Thu 16 cocaine-positive; Mon 20 N; Thu 23 N.
        "tests_scheduled": 6,
        "tests_excused": 0,
        "tests_submitted": 6,
        "negatives": 5,
        "positives": 1,
        "missing": 0,
        "lda_tests_missing_positive": 3,
        "lda_weeks_missing_positive": 1.5,
        "lda_tests_missing_ignored": 3,
        "lda_weeks_missing_ignored": 1.5,
        "percent_negative_of_scheduled": 83.33,  # 100 x 5 / 6
        "percent_negative_of_submitted": 83.33,
        "abstinent_4_weeks": False,
        "abstinent_8_weeks": False,
        "abstinent_12_weeks": False,
        "use_pattern": "---+--",
        "weekly_pattern": "-*-",
        "kosten_3_negative_weeks": False,
        "ctn0094_abstinent": False,
        "ctn0094_relapse_week": None,
        "ctn0094_dropout_week": None,
        # 1, 2 (paid when the prescription was recorded), 3, reset, 1, 2 = 9 draws
        # x 183.8 = 1654.2.
        "voucher_cents": 0,
        "draws_earned": 9,
        "cost_cents": 1654,
        "cost_per_negative_cents": 331,  # 1654.2 / 5 = 330.84
        "maximum_cents": 30143,
        "share_of_maximum": 0.0549,  # 9 / 164 = 0.05488
        **NO_SESSIONS,
    },
    ("P-05", 1): {
        "participant": "P-05",
        "episode": 1,
        "protocol": "attendance-prize v1",
        "start_on": "2026-01-05",
        "status": "completed",  # by the nightly job on Sun 26 Apr
        "completed": True,  # attended the group on Tue 21 Apr, in week 16 of 16
        "weeks_retained": 16,
        # No test is scheduled: every specimen figure is blank.
        **dict.fromkeys(report_exports.SPECIMEN_FIELDS),
        # Draws 1, 2 (late: no on-time rule, so attended), 3, missed (reset),
        # excused (no change), 1, 2, 3, 4, 5, then 5 x 6 = 6 + 15 + 30 = 51 x
        # 183.8 = 9373.8.
        "voucher_cents": 0,
        "draws_earned": 51,
        "cost_cents": 9374,
        # The preset's course: 32 groups (Tue and Thu, 16 weeks) all attended =
        # 1 + 2 + 3 + 4 + 28 x 5 = 150 draws x 183.8 = 27570.
        "maximum_cents": 27570,
        "share_of_maximum": 0.34,  # 51 / 150
        "sessions_booked": 16,
        "sessions_attended": 14,  # the late one included
        "sessions_late": 1,
        "sessions_excused": 1,
        "sessions_missed": 1,
        "percent_sessions_attended": 93.33,  # 100 x 14 / (16 - 1)
    },
    ("P-06", 1): {
        "participant": "P-06",
        "episode": 1,
        "protocol": "higgins-1994 v1",
        "start_on": "2026-04-06",
        "status": "active",
        "completed": False,
        "weeks_retained": 3,
        # Mon/Wed/Fri from Mon 6 Apr: as finally recorded, N N N N N P N N N.
        "tests_scheduled": 9,
        "tests_excused": 0,
        "tests_submitted": 9,
        "negatives": 8,
        "positives": 1,
        "missing": 0,
        # 5 tests at 3 a week = 5/3 = 1.67 weeks.
        "lda_tests_missing_positive": 5,
        "lda_weeks_missing_positive": 1.7,
        "lda_tests_missing_ignored": 5,
        "lda_weeks_missing_ignored": 1.7,
        "percent_negative_of_scheduled": 88.89,  # 100 x 8 / 9
        "percent_negative_of_submitted": 88.89,
        "abstinent_4_weeks": False,
        "abstinent_8_weeks": False,
        "abstinent_12_weeks": False,
        "use_pattern": "-----+---",
        "weekly_pattern": "-*-",
        "kosten_3_negative_weeks": False,
        "ctn0094_abstinent": False,
        "ctn0094_relapse_week": None,
        "ctn0094_dropout_week": None,
        # Recorded N P N N: 10, -, 10, 15. Mon 13: the positive voided and
        # re-entered negative: N N N N pays 10, 15, 20 + 40, 25 = 110 points; settle
        # tops up 15 (Wed 8), +10 (Fri 10), 40 (its bonus), +10 (Mon 13). Then 30
        # (Wed 15), 35 + 40 (Fri 17, 6th in a row), 40 (Mon 20) = 255 points.
        # Mon 20: the Fri 17 negative voided and re-entered positive: the fold
        # now pays Fri 17 nothing and Mon 20 10, so the ledger holds 35 + 40 + 30
        # = 105 points above it, never taken back (no_clawback) but withheld from
        # the next awards: Wed 22 (15) and Fri 24 (20 + 40) pay nothing, 30 left.
        # The ledger holds 255 points = 6375 cents (the clean fold: 225 points).
        "voucher_cents": 6375,
        "draws_earned": 0,
        "cost_cents": 6375,
        "cost_per_negative_cents": 797,  # 6375 / 8 = 796.875
        "maximum_cents": 99750,  # the preset's 36 Mon/Wed/Fri tests: $997.50
        "share_of_maximum": 0.0639,  # 6375 / 99750 = 0.06391
        **NO_SESSIONS,
    },
    ("P-07", 1): {
        "participant": "P-07",
        "episode": 1,
        "protocol": "ca-recovery-incentives v1",
        "start_on": "2026-01-05",
        "status": "active",
        "completed": False,  # 24 weeks: the course ends Sun 21 Jun
        "weeks_retained": 16,
        # Mon/Thu in weeks 1-12 (24) and Mondays in weeks 13-16 (4): 28 negatives.
        "tests_scheduled": 28,
        "tests_excused": 0,
        "tests_submitted": 28,
        "negatives": 28,
        "positives": 0,
        "missing": 0,
        # 24 tests at 2 a week + 4 at 1 a week = 12 + 4 = 16 weeks.
        "lda_tests_missing_positive": 28,
        "lda_weeks_missing_positive": 16.0,
        "lda_tests_missing_ignored": 28,
        "lda_weeks_missing_ignored": 16.0,
        "percent_negative_of_scheduled": 100.0,
        "percent_negative_of_submitted": 100.0,
        "abstinent_4_weeks": True,
        "abstinent_8_weeks": True,
        "abstinent_12_weeks": True,
        "use_pattern": "-" * 28,
        "weekly_pattern": "-" * 16,
        "kosten_3_negative_weeks": True,
        "ctn0094_abstinent": True,
        "ctn0094_relapse_week": None,
        "ctn0094_dropout_week": None,
        # 20 + 3 x level points at 50 cents, at most 53: $10.00, $11.50 ... $26.50
        # for the first 12 (438 points = $219.00), then 14 x $26.50 = $371.00 to
        # Mon 6 Apr: $590.00. The $599 per-enrollment (and per-year) cap leaves
        # $9.00 for Mon 13 Apr (18 points) and nothing for Mon 20 Apr.
        "voucher_cents": 59900,
        "draws_earned": 0,
        "cost_cents": 59900,
        "cost_per_negative_cents": 2139,  # 59900 / 28 = 2139.29
        "maximum_cents": 59900,  # 36 negatives reach the same cap
        "share_of_maximum": 1.0,
        **NO_SESSIONS,
    },
}

# What each scheduled test or booked session earned, in order (the long format):
# cents of vouchers and draws, by hand from the derivations above.
EARNED = {
    ("P-01", 1): ([250, 375, 1500, 0, 250] + [0] * 19, [0] * 24),
    ("P-02", 1): ([0] * 18, [1, 1, 2, 2, 3, 0, 1, 1, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4]),
    ("P-03", 1): (
        [0] * 24,
        [1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 0, 5, 6, 7, 8] + [8] * 8,
    ),
    ("P-03", 2): ([0] * 4, [1, 0, 1, 2]),
    ("P-04", 1): ([0] * 6, [1, 2, 3, 0, 1, 2]),
    ("P-05", 1): ([0] * 16, [1, 2, 3, 0, 0, 1, 2, 3, 4, 5] + [5] * 6),
    # Points x 25: 10, 15, 20 + 40, 25, 30, 35 + 40 (now a positive: paid before
    # the correction), 40, then withheld.
    ("P-06", 1): ([250, 375, 1500, 625, 750, 1875, 1000, 0, 0], [0] * 9),
    # Levels 0..11 at (20 + 3 l) x 50, then 2650 to the cap.
    ("P-07", 1): (
        [1000 + 150 * level for level in range(12)] + [2650] * 14 + [900, 0],
        [0] * 28,
    ),
}


# The clinic summary, pooled over the 8 episodes (each counts once).
SUMMARY = {
    "episodes": 8,
    "participants": 7,  # P-03 counts twice as an episode, once as a person
    "episodes_with_tests": 7,  # all but P-05 (attendance only)
    "tests_scheduled": 113,  # 24 + 18 + 24 + 4 + 6 + 9 + 28
    "negatives": 86,  # 4 + 16 + 22 + 3 + 5 + 8 + 28
    "percent_negative_of_scheduled": 76.79,  # 100 x 86 / (113 - 1 excused)
    # Positives 1 + 0 + 1 + 1 + 1 + 1 + 0 = 5: 100 x 86 / 91.
    "percent_negative_of_submitted": 94.51,
    # Of the 7 tested: 4 weeks P-02, P-03/1, P-07; 8 weeks P-03/1, P-07; 12 weeks
    # P-07.
    "percent_abstinent_4_weeks": 42.86,  # 3 / 7
    "percent_abstinent_8_weeks": 28.57,  # 2 / 7
    "percent_abstinent_12_weeks": 14.29,  # 1 / 7
    # Courses ending in the window: P-01 (Sun 29 Mar), P-03/1 (Sun 29 Mar), P-05
    # (Sun 26 Apr); P-03/1 and P-05 completed.
    "episodes_ended": 3,
    "percent_completed": 66.67,
    "mean_weeks_retained": 8.0,  # (3 + 9 + 12 + 2 + 3 + 16 + 3 + 16) / 8
    # Vouchers 2375 + 6375 + 59900 = 68650; bowl A (121 + 4 + 9 + 51) = 185 draws
    # x 183.8 = 34003; bowl B 32 x 221.8 = 7097.6: 109750.6.
    "cost_cents": 109751,
    # Over the episodes with tests (P-05's groups have no negative to divide
    # by): (109750.6 - 9373.8) / 86 = 100376.8 / 86 = 1167.17.
    "cost_per_negative_cents": 1167,
    # (19/388 + 8/39 + 121/164 + 1/41 + 9/164 + 17/50 + 17/266 + 1) / 8 = 0.30939.
    "mean_share_of_maximum": 0.3094,
    "sessions_booked": 16,
    "sessions_attended": 14,
    "percent_sessions_attended": 93.33,
}
NO_SESSIONS_POOLED = {
    "sessions_booked": 0,
    "sessions_attended": 0,
    "percent_sessions_attended": None,
}
# The same, per protocol version.
BY_PROTOCOL = {
    "attendance-prize v1": {
        "episodes": 1,
        "participants": 1,
        "episodes_with_tests": 0,
        "tests_scheduled": 0,
        "negatives": 0,
        "percent_negative_of_scheduled": None,
        "percent_negative_of_submitted": None,
        "percent_abstinent_4_weeks": None,
        "percent_abstinent_8_weeks": None,
        "percent_abstinent_12_weeks": None,
        "episodes_ended": 1,
        "percent_completed": 100.0,
        "mean_weeks_retained": 16.0,
        "cost_cents": 9374,
        "cost_per_negative_cents": None,
        "mean_share_of_maximum": 0.34,
        "sessions_booked": 16,
        "sessions_attended": 14,
        "percent_sessions_attended": 93.33,
    },
    "ca-recovery-incentives v1": {
        "episodes": 1,
        "participants": 1,
        "episodes_with_tests": 1,
        "tests_scheduled": 28,
        "negatives": 28,
        "percent_negative_of_scheduled": 100.0,
        "percent_negative_of_submitted": 100.0,
        "percent_abstinent_4_weeks": 100.0,
        "percent_abstinent_8_weeks": 100.0,
        "percent_abstinent_12_weeks": 100.0,
        "episodes_ended": 0,
        "percent_completed": None,
        "mean_weeks_retained": 16.0,
        "cost_cents": 59900,
        "cost_per_negative_cents": 2139,
        "mean_share_of_maximum": 1.0,
        **NO_SESSIONS_POOLED,
    },
    "higgins-1994 v1": {
        "episodes": 2,  # P-01 and P-06
        "participants": 2,
        "episodes_with_tests": 2,
        "tests_scheduled": 33,  # 24 + 9
        "negatives": 12,  # 4 + 8
        "percent_negative_of_scheduled": 36.36,  # 100 x 12 / 33
        "percent_negative_of_submitted": 85.71,  # 100 x 12 / (12 + 2)
        "percent_abstinent_4_weeks": 0.0,
        "percent_abstinent_8_weeks": 0.0,
        "percent_abstinent_12_weeks": 0.0,
        "episodes_ended": 1,  # P-01, not completed
        "percent_completed": 0.0,
        "mean_weeks_retained": 3.0,
        "cost_cents": 8750,  # 2375 + 6375
        "cost_per_negative_cents": 729,  # 8750 / 12 = 729.17
        "mean_share_of_maximum": 0.0564,  # (19/388 + 17/266) / 2 = 0.05644
        **NO_SESSIONS_POOLED,
    },
    "petry-ctn-2005 v1": {
        "episodes": 1,
        "participants": 1,
        "episodes_with_tests": 1,
        "tests_scheduled": 18,
        "negatives": 16,
        "percent_negative_of_scheduled": 88.89,
        "percent_negative_of_submitted": 100.0,
        "percent_abstinent_4_weeks": 100.0,
        "percent_abstinent_8_weeks": 0.0,
        "percent_abstinent_12_weeks": 0.0,
        "episodes_ended": 0,
        "percent_completed": None,
        "mean_weeks_retained": 9.0,
        "cost_cents": 7098,
        "cost_per_negative_cents": 444,
        "mean_share_of_maximum": 0.2051,
        **NO_SESSIONS_POOLED,
    },
    "va-prize-2014 v1": {
        "episodes": 3,  # P-03 twice, P-04
        "participants": 2,
        "episodes_with_tests": 3,
        "tests_scheduled": 34,  # 24 + 4 + 6
        "negatives": 30,  # 22 + 3 + 5
        "percent_negative_of_scheduled": 90.91,  # 100 x 30 / (34 - 1)
        "percent_negative_of_submitted": 90.91,  # 100 x 30 / (30 + 3)
        "percent_abstinent_4_weeks": 33.33,  # P-03/1 of 3
        "percent_abstinent_8_weeks": 33.33,
        "percent_abstinent_12_weeks": 0.0,
        "episodes_ended": 1,
        "percent_completed": 100.0,
        "mean_weeks_retained": 5.7,  # (12 + 2 + 3) / 3 = 5.67
        "cost_cents": 24629,  # (121 + 4 + 9) = 134 draws x 183.8 = 24629.2
        "cost_per_negative_cents": 821,  # 24629.2 / 30 = 820.97
        "mean_share_of_maximum": 0.2724,  # 134 / 164 / 3 = 0.27236
        **NO_SESSIONS_POOLED,
    },
}


def golden(name: str) -> str:
    with open(GOLDEN / name, encoding="utf-8", newline="") as file:
        return file.read()


def test_every_episode_figure_is_the_hand_computed_one(cohort):
    rows = rows_of(cohort)

    assert list(rows) == list(EXPECTED)  # by participant code, then episode
    for key, expected in EXPECTED.items():
        assert rows[key] == expected, key
    # Each scheduled test and booked session, in date order, earned what the hand
    # fold says, adding up to the episode's totals.
    for episode in cohort.episodes:
        days = sorted(
            [(t.on, t.cents, t.draws) for t in episode.tests]
            + [(s.on, s.cents, s.draws) for s in episode.sessions]
        )
        cents, draws = EARNED[(episode.participant, episode.episode)]
        assert [c for _, c, _ in days] == cents, episode.participant
        assert [d for _, _, d in days] == draws, episode.participant
        assert (sum(cents), sum(draws)) == (
            episode.cost.voucher_cents,
            episode.cost.draws,
        )


def test_the_clinic_summary_and_the_breakdown_by_protocol(cohort):
    summary = report_exports.as_json(cohort)["summary"]

    assert summary == {
        **SUMMARY,
        # Handed out, not earned: P-07's $200.00 redemption and P-03's five
        # prizes, HMAC slips 24 (good job), 436 (small, $1), 41 (good job), 342
        # ($1) and 380 ($1): $3.00.
        "paid_out_cents": 20300,
    }
    assert report_exports.by_protocol(cohort) == BY_PROTOCOL


def test_finding_the_csv_starts_with_its_header_not_comment_lines(cohort):
    # Finding: "The CSV starts with # comment lines": read.csv and DictReader took
    # the first comment for the header. Both exports are the golden files, byte
    # for byte: report_episodes.csv holds the EXPECTED rows (True/False for a
    # boolean, an empty field for a blank), report_tests.csv one line per
    # scheduled test or booked session with the EARNED cents and draws.
    exports = {
        "report_episodes.csv": (report_exports.episodes_csv(cohort, None), 8),
        # 24 + 18 + 24 + 4 + 6 + 16 + 9 + 28 tests and sessions.
        "report_tests.csv": (report_exports.long_csv(cohort, None), 129),
    }

    for name, (text, count) in exports.items():
        assert text == golden(name), name
        assert text.startswith("participant,episode,"), name
        reader = csv.DictReader(io.StringIO(text))
        rows = list(reader)
        assert reader.fieldnames[:2] == ["participant", "episode"]
        assert len(rows) == count == len(text.splitlines()) - 1
        assert (rows[0]["participant"], rows[-1]["participant"]) == ("P-01", "P-07")
    episodes = list(csv.DictReader(io.StringIO(golden("report_episodes.csv"))))
    assert episodes[2]["share_of_maximum"] == "0.7378"  # P-03's first course
    assert episodes[5]["percent_negative_of_scheduled"] == ""  # P-05, blank


def test_finding_a_re_enrolment_reports_both_episodes_with_their_own_figures(cohort):
    # Finding: only the latest enrolment was reported: a participant who completed
    # a course and re-enrolled showed the new episode's 4 tests while still
    # carrying the first episode's earnings.
    first, second = (episode_of(cohort, "P-03", n) for n in (1, 2))

    assert (first.measures.scheduled, second.measures.scheduled) == (24, 4)
    assert [t.on for t in second.tests] == days_on(AGAIN, MON_THU, 4)
    assert (first.cost.draws, second.cost.draws) == (121, 4)
    assert (first.cost.cents, second.cost.cents) == (121 * BOWL_A, 4 * BOWL_A)
    assert (first.completed, second.completed) == (True, False)


def test_finding_completed_is_retention_to_the_end_not_the_calendar_running_out(
    auditor, cohort
):
    # Finding: a participant who dropped out in week 3 showed completed = true.
    dropout = episode_of(cohort, "P-01")
    assert (dropout.status, dropout.course_ended) == ("completed", True)
    assert (dropout.completed, dropout.weeks_retained) == (False, 3)
    # Finding: with the window ending 31 October, a participant in week 9 of 12
    # already showed completed. P-02 is in week 9 of 12 on Sun 26 Apr; and with
    # the window ending Sun 8 Mar, P-03's first course and P-05 are in week 9.
    assert episode_of(cohort, "P-02").completed is False
    early = reports.outcome_report(auditor, FIRST, date(2026, 3, 8), now=NOW)
    for code in ("P-03", "P-05"):
        episode = episode_of(early, code)
        assert (episode.course_ended, episode.completed) == (False, False), code
        assert episode.weeks_retained == 9
    summary = report_exports.summary_of(early.episodes, early.missing)
    assert (summary["episodes_ended"], summary["percent_completed"]) == (0, None)


def test_finding_attendance_only_enrolments_have_no_urine_test_figures(cohort):
    # Finding: a group-only participant showed urine-test figures (0 % negative,
    # "not abstinent") and pulled the clinic's rates down.
    group = episode_of(cohort, "P-05")

    assert (group.measures, group.tests) == (None, ())
    row = rows_of(cohort)[("P-05", 1)]
    assert all(row[name] is None for name in report_exports.SPECIMEN_FIELDS)
    assert [e.participant for e in cohort.tested] == [
        "P-01", "P-02", "P-03", "P-03", "P-04", "P-06", "P-07"
    ]  # fmt: skip
    assert BY_PROTOCOL["attendance-prize v1"]["episodes_with_tests"] == 0


def test_finding_cost_is_what_was_earned_with_draws_at_their_exact_value(cohort):
    # Finding: "Cost is not the CM convention": cost is vouchers earned plus draws
    # at the bowl's exact expected value (not prizes handed out), per negative,
    # and as a share of the episode's all-negative maximum.
    va = episode_of(cohort, "P-03")
    assert va.cost.draw_value_cents == BOWL_A == Fraction(919, 5)
    assert va.cost.cents == Fraction(111199, 5)  # 121 x 919/5 = 22239.8
    assert va.cost_per_negative == Fraction(111199, 110)  # / 22 negatives
    assert va.share_of_maximum == Fraction(121, 164)
    assert episode_of(cohort, "P-02").cost.cents == 32 * BOWL_B == Fraction(35488, 5)
    # P-03 drew 5 prizes worth $3.00 and P-07 redeemed $200.00: paid out, which
    # changes no episode's cost.
    assert cohort.paid_out_cents == 20300
    assert episode_of(cohort, "P-07").cost.cents == 59900
    # Found computing P-06 by hand: cost left out settle's own corrections (kind
    # "adjustment", with the award's key), so the void re-entered negative on Mon
    # 13 Apr lost its 20 points of top-ups: $58.75, not the $63.75 the ledger
    # holds.
    voided = episode_of(cohort, "P-06")
    held = db.session.scalar(
        select(func.sum(LedgerEntry.cents)).where(
            LedgerEntry.enrollment_id == voided.enrollment_id,
            LedgerEntry.award_key.is_not(None),
        )
    )
    assert voided.cost.voucher_cents == held == 6375
    # Found computing P-01 by hand: the maximum ignored the enrolment's testing
    # days, pricing Higgins on Mon/Thu (24 tests, $485.00) as the preset's 36
    # Mon/Wed/Fri tests ($997.50), which halved its share of the maximum.
    assert episode_of(cohort, "P-01").share_of_maximum == Fraction(2375, 48500)
    assert episode_of(cohort, "P-06").maximum_cents == 99750  # the preset's days
