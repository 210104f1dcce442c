"""Who is near the information-return threshold, per payer and calendar year.

A payer is the funding program that funded the enrollment on the day of the
payment (services/cm/funding.py), or the clinic itself on days no program funds. A
payment is what the ledger awarded (points at their protocol's value, corrections
included) plus the value of every prize drawn, on its clinic-local day. The
threshold is per calendar year: $600 for payments through 2025 and $2,000 for
payments after 31 December 2025 (configurable per year, TAX_THRESHOLDS_CENTS);
"approaching" is at least TAX_APPROACHING_PERCENT of it (80 by default). The
report is for the clinic's own filing: reading it is audited, it is no
disclosure (docs/funding.md).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from ... import rules
from ...extensions import db
from ...models import Clinic, Draw, Enrollment, FundingProgram, LedgerEntry, Participant
from ...rules.money import format_cents
from ..access import audit
from ..access.actors import Actor
from ..cm import funding
from ..cm.timeline import clinic_today, not_null
from ..errors import Forbidden, InvalidInput

READERS = ("admin", "auditor")
APPROACHING_PERCENT = 80
CLINIC = "The clinic (no funding program)"


def default_threshold(year: int) -> int:
    """Cents: $600 for payments through 2025, $2,000 after 31 December 2025."""
    return 60000 if year <= 2025 else 200000


@dataclass(frozen=True)
class TaxRow:
    payer: str
    program_id: int | None
    code: str
    participant_id: int
    paid_cents: int
    status: str  # "over" (at or over the threshold) or "approaching"


@dataclass(frozen=True)
class TaxReport:
    year: int
    threshold_cents: int
    approaching_percent: int
    rows: list[TaxRow]

    @property
    def approaching_cents(self) -> int:
        return -(-self.threshold_cents * self.approaching_percent // 100)


def tax_report(
    actor: Actor,
    year: int,
    *,
    now: datetime,
    thresholds: Mapping[int, int] | None = None,
    approaching_percent: int = APPROACHING_PERCENT,
) -> TaxReport:
    """Participants at or over `approaching_percent` of the year's threshold, per
    payer, most paid first. Raises InvalidInput("year")."""
    actor.require(*READERS)
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput("year", "Enter a year from 2000 to 2100.")
    if actor.clinic_id is None:
        raise Forbidden("The tax report is a clinic's: this needs a clinic's staff.")
    threshold = (thresholds or {}).get(year, default_threshold(year))
    paid = _paid(actor.clinic_id, year)
    floor = -(-threshold * approaching_percent // 100)
    programs = {
        p.id: p.name
        for p in db.session.scalars(
            select(FundingProgram).where(FundingProgram.clinic_id == actor.clinic_id)
        )
    }
    codes = dict(
        db.session.execute(
            select(Participant.id, Participant.code).where(
                Participant.clinic_id == actor.clinic_id
            )
        ).all()
    )
    rows = [
        TaxRow(
            payer=programs.get(program_id, CLINIC) if program_id else CLINIC,
            program_id=program_id,
            code=codes[participant_id],
            participant_id=participant_id,
            paid_cents=cents,
            status="over" if cents >= threshold else "approaching",
        )
        for (program_id, participant_id), cents in paid.items()
        if cents >= floor
    ]
    rows.sort(key=lambda r: (r.payer, -r.paid_cents, r.code))
    audit.append(
        actor,
        "view_tax_report",
        "clinic",
        actor.clinic_id,
        now=now,
        clinic_id=actor.clinic_id,
        detail={"year": year, "rows": len(rows)},
    )
    db.session.commit()
    return TaxReport(year, threshold, approaching_percent, rows)


def _paid(clinic_id: int, year: int) -> dict[tuple[int | None, int], int]:
    """(program id or None, participant id) -> cents paid in `year`."""
    enrollments = {
        e.id: e
        for e in db.session.scalars(
            select(Enrollment).where(Enrollment.clinic_id == clinic_id)
        )
    }
    periods = funding.program_caps(enrollments)
    paid: dict[tuple[int | None, int], int] = defaultdict(int)
    start, end = date(year, 1, 1), date(year, 12, 31)
    awards = db.session.execute(
        select(LedgerEntry.enrollment_id, LedgerEntry.on, LedgerEntry.cents).where(
            LedgerEntry.clinic_id == clinic_id,
            LedgerEntry.account == "points",
            LedgerEntry.kind.in_(funding.PAID_KINDS),
            LedgerEntry.on >= start,
            LedgerEntry.on <= end,
        )
    )
    for enrollment_id, on, cents in awards:
        enrollment = enrollments[not_null(enrollment_id)]
        _count(paid, periods, enrollment, not_null(on), cents)
    clinic = db.session.get_one(Clinic, clinic_id)
    draws = db.session.execute(
        select(Draw.enrollment_id, Draw.drawn_at, Draw.value_cents).where(
            Draw.clinic_id == clinic_id, Draw.value_cents > 0
        )
    )
    for enrollment_id, drawn_at, cents in draws:
        on = clinic_today(clinic, drawn_at)
        if on.year == year:
            _count(paid, periods, enrollments[enrollment_id], on, cents)
    return paid


def _count(
    paid: dict[tuple[int | None, int], int],
    periods: Mapping[int, tuple[rules.ProgramCaps, ...]],
    enrollment: Enrollment,
    on: date,
    cents: int,
) -> None:
    program = rules.program_on(periods.get(enrollment.id, ()), on)
    key = (program.program if program else None, enrollment.participant_id)
    paid[key] += cents


FIELDS = ("year", "payer", "participant", "paid", "threshold", "status")


def to_csv(report: TaxReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for row in report.rows:
        writer.writerow(
            [
                report.year,
                row.payer,
                row.code,
                f"{row.paid_cents / 100:.2f}",
                f"{report.threshold_cents / 100:.2f}",
                "at or over" if row.status == "over" else "approaching",
            ]
        )
    return out.getvalue()


def describe(report: TaxReport) -> str:
    return (
        f"Threshold for {report.year}: {format_cents(report.threshold_cents)};"
        f" approaching from {report.approaching_percent}%"
        f" ({format_cents(report.approaching_cents)})."
    )
