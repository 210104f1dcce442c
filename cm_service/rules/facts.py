"""What the engine is told about one enrollment: its facts and its verified events.

Owns the input dataclasses of the fold. The services layer builds them from rows
(verified, non-voided events only); the simulator builds them from tokens. Imports only
the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from .caps import ProgramCaps

EVENT_KINDS = ("specimen", "breath", "attendance", "excused", "missed")
RESULT_VALUES = (
    "negative",
    "positive",
    "dilute",
    "invalid",
    "adulterated",
    "substituted",
    "insufficient",
)


def _empty() -> Mapping[Any, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Exemption:
    """A prescribed medication: a positive for `analyte` on a day in
    [starts_on, ends_on] counts as negative (the MRO downgrade)."""

    analyte: str
    starts_on: date
    ends_on: date | None = None
    note: str = ""

    def covers(self, analyte: str, on: date) -> bool:
        if self.analyte.casefold() != analyte.casefold() or on < self.starts_on:
            return False
        return self.ends_on is None or on <= self.ends_on


@dataclass(frozen=True)
class Booking:
    """A booked session (an appointment or a group meeting): the day and type that
    an attendance schedule with `scheduled: true` expects the participant at."""

    on: date
    session_type: str


@dataclass(frozen=True)
class EnrollmentFacts:
    """The per-enrollment settings the protocol leaves open.

    `testing_days` maps a phase index to weekdays (0 = Monday) replacing that phase's
    testing days; `year_paid_cents` is money already paid per calendar year in the
    participant's other enrollments (the year cap spans enrollments); no award is made
    for a day after `ends_on` (discharge). A scheduled day up to `closed_through`
    (the last date the clinic's nightly job closed) with nothing recorded is missed,
    however late the enrollment or the void that emptied it was entered; so is a
    booked session (`bookings`) up to that date with nothing recorded.
    `programs` are the funding programs of the enrollment's periods, whose caps
    stack with the protocol's; `program_paid_cents` what each program's month and
    year windows (caps.ProgramCaps.windows) hold from the participant's other
    enrollments.
    """

    start_on: date
    targets: tuple[str, ...] | None = None
    testing_days: Mapping[int, tuple[int, ...]] = field(default_factory=_empty)
    exemptions: tuple[Exemption, ...] = ()
    year_paid_cents: Mapping[int, int] = field(default_factory=_empty)
    ends_on: date | None = None
    closed_through: date | None = None
    bookings: tuple[Booking, ...] = ()
    programs: tuple[ProgramCaps, ...] = ()
    program_paid_cents: Mapping[tuple[Any, ...], int] = field(default_factory=_empty)


@dataclass(frozen=True)
class Fact:
    """One verified, non-voided event as the database holds it.

    `results` maps analyte -> one of RESULT_VALUES; `on` is the clinic-local day.
    A session's events (attended, or a session's `missed`/`excused`) carry its
    `session_type`; `late` marks an arrival after the protocol's on-time window.
    """

    event_id: int
    kind: str
    on: date
    results: Mapping[str, str] = field(default_factory=_empty)
    refused: bool = False
    session_type: str | None = None
    late: bool = False

    @property
    def is_session(self) -> bool:
        """About a session, not a test day (a session's missed/excused too)."""
        return self.kind == "attendance" or self.session_type is not None
