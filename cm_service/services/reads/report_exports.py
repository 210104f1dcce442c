"""The outcome report's exported shapes: episode rows, the clinic summary and its
per-protocol breakdown, the long format (one row per scheduled test or booked
session), the data dictionary, CSV and de-identification.

A CSV starts with its header line and holds nothing else but rows, so R's
`read.csv` and a spreadsheet import read it as it is; the window and the definitions
travel in the data dictionary and in the response headers instead, and so does the
42 CFR Part 2 notice (`X-Part2-Notice`, with how many participants an identifiable
export left out for want of consent; a de-identified one says it needs none).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ...rules import ctnote
from ...rules import outcomes_report as measures
from ...rules.money import round_half_up
from ..access.consents import DEIDENTIFIED_NOTICE, NOTICE
from .reports import Episode, Export, OutcomeReport, SessionDay, TestDay


def shown(value: Fraction | None, places: int = 2) -> float | None:
    """The display edge: exact until here, then half up to `places` decimals."""
    if value is None:
        return None
    scale: int = 10**places
    return round_half_up(value * scale) / scale


def cents(value: Fraction | None) -> int | None:
    return None if value is None else round_half_up(value)


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # string | integer | number | boolean | date
    definition: str


# The data dictionary: every exported column, in plain words, with its convention.
EPISODE_FIELDS = (
    Field(
        "participant",
        "string",
        "The participant's code (a pseudonym when de-identified).",
    ),
    Field(
        "episode",
        "integer",
        "1 for the participant's first enrolment, 2 for the next, and so on.",
    ),
    Field("protocol", "string", "The protocol and its version."),
    Field("start_on", "date", "The episode's first day (empty when de-identified)."),
    Field("status", "string", "active, completed or discharged, as recorded."),
    Field(
        "completed",
        "boolean",
        "The episode's last scheduled week ended inside the window, the "
        "participant was not discharged before it, and gave a specimen or "
        "attended a booked session in that week.",
    ),
    Field(
        "weeks_retained",
        "integer",
        "Enrolment weeks from the start to the week of the last specimen given "
        "or session attended (inside the window).",
    ),
    Field(
        "tests_scheduled",
        "integer",
        "Scheduled tests inside the window (S), excused ones included.",
    ),
    Field(
        "tests_excused",
        "integer",
        "Scheduled tests excused: a staff excuse, a clinic closure or a pause (E).",
    ),
    Field(
        "tests_submitted",
        "integer",
        "Specimens given and read as negative or positive (N + P).",
    ),
    Field(
        "negatives",
        "integer",
        "Negative scheduled tests (N; Ling et al. 1998, treatment-effectiveness "
        "score).",
    ),
    Field("positives", "integer", "Positive scheduled tests (P)."),
    Field(
        "missing",
        "integer",
        "Missed, refused or not clearly negative scheduled tests (U).",
    ),
    Field(
        "lda_tests_missing_positive",
        "integer",
        "Longest run of consecutive negative tests, a missed test breaking the "
        "run (the CM norm; excused tests neither extend nor break it).",
    ),
    Field(
        "lda_weeks_missing_positive",
        "number",
        "The same run in weeks (each test counts 1 / tests per week of its phase).",
    ),
    Field(
        "lda_tests_missing_ignored",
        "integer",
        "Longest run with missed tests skipped (the sensitivity analysis); a "
        "refusal still breaks it.",
    ),
    Field("lda_weeks_missing_ignored", "number", "The same run in weeks."),
    Field(
        "percent_negative_of_scheduled",
        "number",
        "100 x N / (S - E): misses count against (Pani et al. 2000 TEC; Mattick "
        "et al. 2003 TEP).",
    ),
    Field(
        "percent_negative_of_submitted",
        "number",
        "100 x N / (N + P): misses are left out (Pani PCC; Mattick PCU); "
        "overstates abstinence when people stop coming.",
    ),
    Field(
        "abstinent_4_weeks",
        "boolean",
        "Longest abstinence of at least 4 weeks, under the report's missing "
        "convention.",
    ),
    Field("abstinent_8_weeks", "boolean", "At least 8 weeks."),
    Field("abstinent_12_weeks", "boolean", "At least 12 weeks."),
    Field(
        "use_pattern",
        "string",
        "One character per scheduled test in order (CTNote): - negative, + "
        "positive or refused, o missed, * not clearly negative, _ excused or "
        "closed.",
    ),
    Field(
        "weekly_pattern",
        "string",
        "One character per week with a test due (CTN-0094's weekly word): a week "
        "with a positive and a negative is *, else any positive +, any negative -, "
        "none o. Weeks with no test expected are left out.",
    ),
    Field(
        "kosten_3_negative_weeks",
        "boolean",
        "At least 3 consecutive negative weeks (Kosten et al. 1993); a missed or "
        "mixed week breaks the run.",
    ),
    Field(
        "ctn0094_abstinent",
        "boolean",
        "In the last 4 weeks with a test due: no positive or mixed week and at most "
        "one missed week (CTN-0094, via CTNote).",
    ),
    Field(
        "ctn0094_relapse_week",
        "integer",
        "The week starting the first run of 4 weeks each positive, mixed or missed "
        "(CTN-0094 relapse); empty without one.",
    ),
    Field(
        "ctn0094_dropout_week",
        "integer",
        "The week starting the first run of 4 missed weeks (CTN-0094 dropout); "
        "empty without one.",
    ),
    Field(
        "voucher_cents",
        "integer",
        "Vouchers (points) earned inside the window, in cents, net of "
        "correction offsets.",
    ),
    Field(
        "draws_earned",
        "integer",
        "Prize draws earned inside the window, net of offsets.",
    ),
    Field(
        "cost_cents",
        "integer",
        "What was earned, the CM convention: vouchers plus draws at the prize "
        "bowl's exact expected value (rounded to the cent here).",
    ),
    Field(
        "cost_per_negative_cents",
        "integer",
        "cost_cents / negatives (empty without a negative).",
    ),
    Field(
        "maximum_cents",
        "integer",
        "The episode's course all negative (all attended), as the simulator prices it.",
    ),
    Field(
        "share_of_maximum",
        "number",
        "cost / maximum: the proportion of the maximum possible earnings (Petry "
        "et al. 2004).",
    ),
    Field(
        "sessions_booked",
        "integer",
        "Booked sessions inside the window (not cancelled; today's once recorded).",
    ),
    Field(
        "sessions_attended",
        "integer",
        "Booked sessions attended, late arrivals included.",
    ),
    Field("sessions_late", "integer", "Booked sessions attended late."),
    Field("sessions_excused", "integer", "Booked sessions excused."),
    Field(
        "sessions_missed",
        "integer",
        "Booked sessions nobody checked in after their day.",
    ),
    Field(
        "percent_sessions_attended",
        "number",
        "100 x attended / (booked - excused) (Ledgerwood et al. 2008).",
    ),
)
# Blank for an attendance-only episode: it has no scheduled test to measure.
SPECIMEN_FIELDS = (
    "tests_scheduled", "tests_excused", "tests_submitted", "negatives", "positives",
    "missing", "lda_tests_missing_positive", "lda_weeks_missing_positive",
    "lda_tests_missing_ignored", "lda_weeks_missing_ignored",
    "percent_negative_of_scheduled", "percent_negative_of_submitted",
    "abstinent_4_weeks", "abstinent_8_weeks", "abstinent_12_weeks", "use_pattern",
    "weekly_pattern", "kosten_3_negative_weeks", "ctn0094_abstinent",
    "ctn0094_relapse_week", "ctn0094_dropout_week", "cost_per_negative_cents",
)  # fmt: skip
LONG_FIELDS = (
    Field("participant", "string", "As in the episode rows."),
    Field("episode", "integer", "As in the episode rows."),
    Field(
        "date",
        "date",
        "The clinic-local date (days since the episode's start when de-identified).",
    ),
    Field("week", "integer", "The enrolment week (week 1 = start + 0..6 days)."),
    Field("kind", "string", "test (a scheduled test) or session (a booked session)."),
    Field(
        "session_type",
        "string",
        "For a session: individual, group, cbt, family, twelve_step, other.",
    ),
    Field(
        "outcome",
        "string",
        "Test: negative, positive, refused, missed, excused, recollect. "
        "Session: attended, late, excused, missed.",
    ),
    Field("pattern", "string", "For a test, its use-pattern character."),
    Field(
        "cents", "integer", "Voucher cents the test or session earned (net of offsets)."
    ),
    Field("draws", "integer", "Prize draws the test or session earned."),
)
DICTIONARY_FIELDS = (
    Field("table", "string", "episodes or tests (the long format)."),
    Field("name", "string", "The column."),
    Field("type", "string", "string, integer, number, boolean or date."),
    Field("definition", "string", "What it means, in plain words."),
)
WINDOW = (
    "Episodes are enrolments overlapping the window [from, to]; each is measured "
    "inside the window, up to today. Clinic rates count episodes: a participant "
    "enrolled twice counts twice. Specimen measures and rates leave out episodes "
    "whose protocol schedules no tests (attendance only)."
)


def dictionary(report: OutcomeReport | None = None) -> dict[str, Any]:
    """The data dictionary: the window's convention and every column's definition."""
    found: dict[str, Any] = {
        "window": WINDOW,
        "missing": (
            "missing=positive (default, the CM norm): an unexcused missed test "
            "breaks an abstinence run. missing=ignored (sensitivity): it is skipped."
        ),
        "episodes": [_field(f) for f in EPISODE_FIELDS],
        "tests": [_field(f) for f in LONG_FIELDS],
    }
    if report is not None:
        found |= window_of(report)
    return found


def _field(field: Field) -> dict[str, str]:
    return {"name": field.name, "type": field.kind, "definition": field.definition}


def window_of(report: OutcomeReport) -> dict[str, str]:
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "as_of": report.as_of.isoformat(),
        "missing_convention": report.missing,
    }


def headers_of(report: OutcomeReport, dictionary_url: str) -> dict[str, str]:
    """Response headers carrying the window and where the definitions are."""
    window = window_of(report)
    return {
        "X-Report-From": window["from"],
        "X-Report-To": window["to"],
        "X-Report-As-Of": window["as_of"],
        "X-Report-Missing": window["missing_convention"],
        "Link": f'<{dictionary_url}>; rel="describedby"',
    }


def notice_headers(export: Export) -> dict[str, str]:
    """The notice an export carries beside its rows (a CSV holds nothing else):
    the 42 CFR 2.32 notice, and how many participants were left out and why; or
    that a de-identified export needs no consent."""
    if export.deidentified:
        return {"X-Part2-Notice": DEIDENTIFIED_NOTICE}
    headers = {"X-Part2-Notice": NOTICE, "X-Part2-Left-Out": str(export.left_out_count)}
    if export.left_out:
        headers["X-Part2-Left-Out-Reasons"] = export.left_out_words()
    return headers


def part2(export: Export) -> dict[str, object]:
    """The same in a JSON export's body."""
    if export.deidentified:
        return {"notice": DEIDENTIFIED_NOTICE, "deidentified": True}
    return {
        "notice": NOTICE,
        "deidentified": False,
        "left_out": export.left_out_count,
        "left_out_reasons": export.left_out,
    }


Rename = Callable[[Episode], str]


def episode_fields(
    episode: Episode, missing: str, rename: Rename | None = None
) -> dict[str, object]:
    """One episode's flat record, as the API, the CSV and the page show it."""
    m = episode.measures
    return {
        "participant": rename(episode) if rename else episode.participant,
        "episode": episode.episode,
        "protocol": episode.protocol,
        "start_on": None if rename else episode.start_on.isoformat(),
        "status": episode.status,
        "completed": episode.completed,
        "weeks_retained": episode.weeks_retained,
        **(_specimen(episode, m, missing) if m else dict.fromkeys(SPECIMEN_FIELDS)),
        "voucher_cents": episode.cost.voucher_cents,
        "draws_earned": episode.cost.draws,
        "cost_cents": cents(episode.cost.cents),
        "maximum_cents": cents(episode.maximum_cents),
        "share_of_maximum": shown(episode.share_of_maximum, 4),
        **_attendance(episode.attendance),
    }


def _specimen(
    episode: Episode, m: measures.Measures, missing: str
) -> dict[str, object]:
    return {
        "tests_scheduled": m.scheduled,
        "tests_excused": m.excused,
        "tests_submitted": m.negatives + m.positives,
        "negatives": m.negatives,
        "positives": m.positives,
        "missing": m.missing,
        "lda_tests_missing_positive": m.lda.tests,
        "lda_weeks_missing_positive": shown(m.lda.weeks, 1),
        "lda_tests_missing_ignored": m.lda_missing_ignored.tests,
        "lda_weeks_missing_ignored": shown(m.lda_missing_ignored.weeks, 1),
        "percent_negative_of_scheduled": shown(m.percent_of_scheduled),
        "percent_negative_of_submitted": shown(m.percent_of_submitted),
        **{
            f"abstinent_{weeks}_weeks": m.reached(weeks, missing)  # type: ignore[arg-type]
            for weeks in measures.THRESHOLD_WEEKS
        },
        "use_pattern": episode.use_pattern,
        **_named(episode.weekly_pattern),
        "cost_per_negative_cents": cents(episode.cost_per_negative),
    }


def _named(weekly: str) -> dict[str, object]:
    """CTNote's named definitions over the episode's weekly word."""
    relapse = ctnote.relapse_ctn0094(weekly) if weekly else None
    dropout = ctnote.dropout_ctn0094(weekly) if weekly else None
    return {
        "weekly_pattern": weekly,
        "kosten_3_negative_weeks": ctnote.abstinent_kosten_1993(weekly),
        "ctn0094_abstinent": ctnote.abstinent_ctn0094(weekly),
        "ctn0094_relapse_week": relapse.time if relapse and relapse.event else None,
        "ctn0094_dropout_week": dropout.time if dropout and dropout.event else None,
    }


def _attendance(a: measures.Attendance) -> dict[str, object]:
    return {
        "sessions_booked": a.booked,
        "sessions_attended": a.attended,
        "sessions_late": a.late,
        "sessions_excused": a.excused,
        "sessions_missed": a.missed,
        "percent_sessions_attended": shown(a.percent_attended),
    }


def summary_of(episodes: Sequence[Episode], missing: str) -> dict[str, object]:
    """Pooled measures over episodes (each episode counts once)."""
    tested = [e.measures for e in episodes if e.measures is not None]
    negatives = sum(m.negatives for m in tested)
    cost = sum((e.cost.cents for e in episodes), Fraction(0))
    # Per negative: what the episodes with tests earned (attendance-only ones have
    # no negative to divide by).
    tested_cost = sum(
        (e.cost.cents for e in episodes if e.measures is not None), Fraction(0)
    )
    # Completion is a rate over the episodes whose course ended in the window.
    ended = [e for e in episodes if e.course_ended]
    maxima = [e.share_of_maximum for e in episodes if e.share_of_maximum is not None]
    return {
        "episodes": len(episodes),
        "participants": len({e.participant_id for e in episodes}),
        "episodes_with_tests": len(tested),
        "tests_scheduled": sum(m.scheduled for m in tested),
        "negatives": negatives,
        "percent_negative_of_scheduled": shown(
            measures.pooled_percent(
                (m.negatives, m.scheduled - m.excused) for m in tested
            )
        ),
        "percent_negative_of_submitted": shown(
            measures.pooled_percent(
                (m.negatives, m.negatives + m.positives) for m in tested
            )
        ),
        **{
            f"percent_abstinent_{weeks}_weeks": shown(
                _share(sum(m.reached(weeks, missing) for m in tested), len(tested))  # type: ignore[arg-type]
            )
            for weeks in measures.THRESHOLD_WEEKS
        },
        "episodes_ended": len(ended),
        "percent_completed": shown(_share(sum(e.completed for e in ended), len(ended))),
        "mean_weeks_retained": shown(
            Fraction(sum(e.weeks_retained for e in episodes), len(episodes))
            if episodes
            else None,
            1,
        ),
        "cost_cents": cents(cost),
        "cost_per_negative_cents": cents(tested_cost / negatives)
        if negatives
        else None,
        "mean_share_of_maximum": shown(
            sum(maxima, Fraction(0)) / len(maxima) if maxima else None, 4
        ),
        "sessions_booked": sum(e.attendance.booked for e in episodes),
        "sessions_attended": sum(e.attendance.attended for e in episodes),
        "percent_sessions_attended": shown(
            measures.pooled_percent(
                (e.attendance.attended, e.attendance.booked - e.attendance.excused)
                for e in episodes
            )
        ),
    }  # fmt: skip


def _share(part: int, whole: int) -> Fraction | None:
    return Fraction(100 * part, whole) if whole else None


def by_protocol(report: OutcomeReport) -> dict[str, dict[str, object]]:
    groups: dict[str, list[Episode]] = {}
    for episode in report.episodes:
        groups.setdefault(episode.protocol, []).append(episode)
    return {
        name: summary_of(found, report.missing)
        for name, found in sorted(groups.items())
    }


def as_json(report: OutcomeReport, rename: Rename | None = None) -> dict[str, object]:
    return {
        **window_of(report),
        "summary": {
            **summary_of(report.episodes, report.missing),
            "paid_out_cents": report.paid_out_cents,
        },
        "by_protocol": by_protocol(report),
        "episodes": [
            episode_fields(e, report.missing, rename) for e in report.episodes
        ],
    }


def long_rows(
    report: OutcomeReport, rename: Rename | None = None
) -> list[dict[str, object]]:
    """One row per scheduled test or booked session of every episode, in order."""
    rows: list[dict[str, object]] = []
    for episode in report.episodes:
        who = rename(episode) if rename else episode.participant
        when = _relative(episode) if rename else (lambda on: on.isoformat())
        items = [(t.on, _test_row(t)) for t in episode.tests]
        items += [(s.on, _session_row(s)) for s in episode.sessions]
        for on, row in sorted(items, key=lambda item: (item[0], item[1]["kind"])):
            rows.append(
                {
                    "participant": who,
                    "episode": episode.episode,
                    "date": when(on),
                    **row,
                }
            )
    return rows


def _test_row(test: TestDay) -> dict[str, object]:
    return {
        "week": test.week,
        "kind": "test",
        "session_type": None,
        "outcome": test.outcome,
        "pattern": ctnote.use_pattern([test.outcome]),
        "cents": test.cents,
        "draws": test.draws,
    }


def _session_row(session: SessionDay) -> dict[str, object]:
    return {
        "week": session.week,
        "kind": "session",
        "session_type": session.session_type,
        "outcome": session.outcome,
        "pattern": None,
        "cents": session.cents,
        "draws": session.draws,
    }


def _relative(episode: Episode) -> Callable[[Any], int]:
    return lambda on: (on - episode.start_on).days


def pseudonyms() -> Rename:
    """Per-export pseudonyms: stable inside one export (the same participant keeps
    the same one across their episodes), unlinkable across exports."""
    salt = secrets.token_bytes(16)

    def rename(episode: Episode) -> str:
        digest = hmac.new(salt, episode.participant.encode(), hashlib.sha256)
        return "S-" + digest.hexdigest()[:10]

    return rename


def to_csv(rows: Iterable[Mapping[str, object]], fields: Sequence[Field]) -> str:
    """The header line, then one line per row: nothing else."""
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=[f.name for f in fields], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def episodes_csv(report: OutcomeReport, rename: Rename | None = None) -> str:
    return to_csv(
        (episode_fields(e, report.missing, rename) for e in report.episodes),
        EPISODE_FIELDS,
    )


def long_csv(report: OutcomeReport, rename: Rename | None = None) -> str:
    return to_csv(long_rows(report, rename), LONG_FIELDS)
