"""Importing verified results from outside: a lab's CSV file, and the recorder that
FHIR import (`fhir.py`) shares.

One external result (a file line, a FHIR Observation) becomes one verified event whose
`source_ref` says where it came from. The unique index on (clinic, source_ref) makes
each source record at most once: importing it again is a no-op that is reported as
"already recorded". The rules engine merges a day's events into the day's single
outcome, and `settle_many` runs once over every enrollment touched, so an import
awards exactly what staff check-ins of the same results would.

A batch is all-or-nothing: every item is validated (and every error collected) before
anything is written, then the events, the settle and one audit row per event are a
single transaction. May import models, extensions and the other services.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Clinic, Enrollment, Event, LedgerEntry, Participant
from ..access import audit
from ..access.actors import Actor
from ..cm.checkins import ANALYTES, RESULTS, enrollment_on, replace_missed
from ..cm.events import add_event
from ..cm.ledger import settle_many
from ..cm.timeline import chunks
from ..errors import CMError, Conflict, InvalidInput, NotFound
from ..validation import in_range

COLUMNS = ("participant_code", "collected_on", "analyte", "result", "value")
REQUIRED_COLUMNS = COLUMNS[:4]
MAX_FILE_BYTES = 5_000_000
MAX_LINES = 20_000
MAX_REPORTED_ERRORS = 100
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A lab's level as printed: "150", "150 ng/mL", "<50 ng/mL", "0.020 g/210L".
LEVEL = re.compile(
    r"^(?:[<>]=?)?\d{1,9}(?:\.\d{1,6})?(?:\s?[A-Za-z%/][A-Za-z0-9%/.()]{0,19})?$"
)


class InvalidFile(CMError):
    """A batch with errors: nothing was recorded. `errors` lists every
    (field, message), e.g. ("line 7: collected_on", "Enter a date as YYYY-MM-DD.")."""

    status = 422
    code = "invalid_file"

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        field, message = errors[0]
        if len(errors) > 1:
            message = f"{message} ({len(errors)} errors; nothing was recorded)"
        super().__init__(message, field)
        self.errors = list(errors)


@dataclass(frozen=True)
class Incoming:
    """One external result, parsed and waiting to be recorded.

    `date_field` and `ref_field` are where errors about its date or its source are
    reported (a JSON path, or "line 7: collected_on").
    """

    participant: Participant
    collected_on: date
    kind: str  # "specimen" | "breath"
    results: dict[str, str]
    source_ref: str
    label: str  # "line 7", "entry[2]": how the sender finds it in the batch
    date_field: str
    ref_field: str
    brac_milli: int | None = None
    detail: dict[str, str] = field(default_factory=dict)
    # The event that already holds this result, when the source names one of ours
    # (an Observation this service exported): it is never recorded again.
    recorded_as: Event | None = None


@dataclass(frozen=True)
class ImportResult:
    """What a batch did: events recorded, items found already recorded (each with
    its label in the batch), and the ledger entries settle posted."""

    recorded: list[tuple[str, Event]]
    already_recorded: list[tuple[str, Event]]
    posted: list[LedgerEntry]


def record_results(
    actor: Actor, items: Sequence[Incoming], *, now: datetime, via: str
) -> ImportResult:
    """Record every item not recorded before, settle, audit, commit once.

    Raises InvalidFile listing every item that cannot be recorded (not enrolled on
    the date, a future date, a source already recorded for someone else or with
    another result, the same source twice in the batch); nothing is written then.
    Conflict("import_conflict") if a concurrent import recorded the same source.
    """
    actor.require("admin", "staff")
    known = _recorded_sources(items)
    errors: list[tuple[str, str]] = []
    fresh: list[tuple[Incoming, Enrollment]] = []
    repeated: list[tuple[str, Event]] = []
    seen: dict[str, str] = {}
    for item in items:
        if item.source_ref in seen:
            errors.append((item.ref_field, f"Repeats {seen[item.source_ref]}."))
            continue
        seen[item.source_ref] = item.ref_field
        found = item.recorded_as or known.get(item.source_ref)
        if found is not None:
            problem = _mismatch(found, item)
            if problem:
                errors.append((item.ref_field, problem))
            else:
                repeated.append((item.label, found))
            continue
        try:
            enrollment = enrollment_on(item.participant, item.collected_on, now)
        except InvalidInput as error:
            errors.append((item.date_field, error.message))
            continue
        fresh.append((item, enrollment))
    if errors:
        raise InvalidFile(errors)
    if not fresh:
        return ImportResult([], repeated, [])
    return _write(actor, fresh, repeated, now=now, via=via)


def _mismatch(found: Event, item: Incoming) -> str | None:
    if found.participant_id != item.participant.id:
        return "This result is already recorded for another participant."
    results = found.results or {}
    same = (
        found.collected_on == item.collected_on
        and all(results.get(k) == v for k, v in item.results.items())
        and (item.brac_milli is None or found.brac_milli == item.brac_milli)
    )
    if not same:
        return (
            f"Already recorded differently (event {found.id}); void that event to "
            "correct it."
        )
    return None


def _recorded_sources(items: Sequence[Incoming]) -> dict[str, Event]:
    """Events already holding the items' source refs, per clinic, in a few queries."""
    by_clinic: dict[int, set[str]] = {}
    for item in items:
        if item.recorded_as is not None:
            continue
        by_clinic.setdefault(item.participant.clinic_id, set()).add(item.source_ref)
    found: dict[str, Event] = {}
    for clinic_id, refs in by_clinic.items():
        for part in chunks(sorted(refs)):
            found.update(
                (event.source_ref, event)
                for event in db.session.scalars(
                    select(Event).where(
                        Event.clinic_id == clinic_id, Event.source_ref.in_(part)
                    )
                )
                if event.source_ref is not None
            )
    return found


def _write(
    actor: Actor,
    fresh: Sequence[tuple[Incoming, Enrollment]],
    repeated: list[tuple[str, Event]],
    *,
    now: datetime,
    via: str,
) -> ImportResult:
    recorded = [(item.label, _event(actor, item, e, now)) for item, e in fresh]
    try:
        db.session.flush()
    except IntegrityError:
        # A concurrent import claimed one of the same sources (the unique index).
        db.session.rollback()
        raise Conflict(
            "import_conflict",
            "Another import recorded some of these results at the same moment; "
            "send the batch again: what is recorded will be reported as such.",
        ) from None
    replace_missed([event for _, event in recorded], actor_id=actor.user_id, now=now)
    enrollments = {e.id: e for _, e in fresh}
    posted = settle_many(list(enrollments.values()), now=now, actor_id=actor.user_id)
    for (item, _), (_, event) in zip(fresh, recorded, strict=True):
        _audit(actor, event, item, posted, now=now, via=via)
    db.session.commit()
    return ImportResult(recorded, repeated, posted)


def _event(
    actor: Actor, item: Incoming, enrollment: Enrollment, now: datetime
) -> Event:
    return add_event(
        enrollment,
        item.kind,
        item.collected_on,
        now=now,
        by_id=actor.user_id,
        results=item.results,
        brac_milli=item.brac_milli,
        source_ref=item.source_ref,
    )


def _audit(
    actor: Actor,
    event: Event,
    item: Incoming,
    posted: Iterable[LedgerEntry],
    *,
    now: datetime,
    via: str,
) -> None:
    detail: dict[str, object] = {
        "on": event.collected_on.isoformat(),
        "results": item.results,
        "source_ref": item.source_ref,
        "via": via,
        **item.detail,
        "posted": [[e.award_key, e.amount] for e in posted if e.event_id == event.id],
    }
    if item.brac_milli is not None:
        detail["brac_milli"] = item.brac_milli
    audit.append(
        actor,
        f"record_{event.kind}",
        "event",
        event.id,
        now=now,
        clinic_id=event.clinic_id,
        participant_id=event.participant_id,
        detail=detail,
    )


# --- Lab CSV files ---------------------------------------------------------------


def import_lab_file(
    actor: Actor, clinic_id: int, raw: bytes, *, now: datetime
) -> ImportResult:
    """Import a lab's CSV file of results into a clinic, all or nothing.

    Columns (a header line first, any order): participant_code, collected_on
    (YYYY-MM-DD, clinic-local), analyte, result, and optionally value (the lab's
    level, e.g. "150 ng/mL", kept in the audit row). Each line is one result; its
    source_ref is `lab:` + the SHA-256 of the normalised line, so importing the same
    file again records nothing twice. Raises NotFound for a clinic outside the
    actor's reach, InvalidFile with one (line, field) error per problem.
    """
    actor.require("admin", "staff")
    if db.session.get(Clinic, clinic_id) is None or not actor.may_see_clinic(clinic_id):
        raise NotFound("No such clinic.", "clinic")
    rows = _read_rows(raw)
    people = _participants(
        clinic_id, {row[1].get("participant_code", "") for row in rows}
    )
    errors: list[tuple[str, str]] = []
    items = []
    for line, row in rows:
        item = _lab_line(line, row, people, errors)
        if item is not None:
            items.append(item)
    if errors:
        raise InvalidFile(errors[:MAX_REPORTED_ERRORS])
    return record_results(actor, items, now=now, via="lab_file")


def _read_rows(raw: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: stripped text}) for every non-blank data line."""
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidFile([("file", f"The file is over {MAX_FILE_BYTES} bytes.")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidFile([("file", "The file is not UTF-8 text.")]) from None
    if "\x00" in text:
        raise InvalidFile([("file", "The file contains a NUL character.")])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = _header(next(reader, None))
        rows = []
        for fields in reader:
            if reader.line_num > MAX_LINES:
                raise InvalidFile([("file", f"Send at most {MAX_LINES} lines.")])
            if not any(f.strip() for f in fields):
                continue
            rows.append((reader.line_num, _row(reader.line_num, header, fields)))
    except csv.Error as error:
        raise InvalidFile([(f"line {reader.line_num}", f"Not CSV: {error}.")]) from None
    if not rows:
        raise InvalidFile([("file", "The file has no result lines.")])
    return rows


def _header(fields: list[str] | None) -> list[str]:
    if fields is None or not any(f.strip() for f in fields):
        raise InvalidFile(
            [("line 1", f"Start with the header line: {','.join(COLUMNS)}.")]
        )
    names = [f.strip().lower() for f in fields]
    for name in names:
        if name not in COLUMNS:
            raise InvalidFile([("line 1", f"Unknown column '{name[:40]}'.")])
    if len(set(names)) != len(names):
        raise InvalidFile([("line 1", "A column is named twice.")])
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise InvalidFile([("line 1", f"Missing column(s): {', '.join(missing)}.")])
    return names


def _row(line: int, header: list[str], fields: list[str]) -> dict[str, str]:
    if len(fields) != len(header):
        raise InvalidFile(
            [(f"line {line}", f"Expected {len(header)} fields, found {len(fields)}.")]
        )
    return {name: value.strip() for name, value in zip(header, fields, strict=True)}


def _participants(clinic_id: int, codes: set[str]) -> dict[str, Participant]:
    wanted = sorted({c.strip().upper() for c in codes if c.strip()})
    found: dict[str, Participant] = {}
    for part in chunks(wanted):
        found.update(
            (p.code, p)
            for p in db.session.scalars(
                select(Participant).where(
                    Participant.clinic_id == clinic_id, Participant.code.in_(part)
                )
            )
        )
    return found


def _lab_line(
    line: int,
    row: dict[str, str],
    people: dict[str, Participant],
    errors: list[tuple[str, str]],
) -> Incoming | None:
    at = f"line {line}"
    before = len(errors)
    code = row["participant_code"].upper()
    person = people.get(code)
    if person is None:
        errors.append((f"{at}: participant_code", _no_participant(code)))
    on = parse_day(row["collected_on"])
    if on is None:
        errors.append((f"{at}: collected_on", "Enter a date as YYYY-MM-DD."))
    analyte = row["analyte"].lower()
    if analyte not in ANALYTES:
        errors.append((f"{at}: analyte", f"Unknown analyte '{row['analyte'][:40]}'."))
    result = row["result"].lower()
    if result not in RESULTS:
        errors.append(
            (f"{at}: result", f"Result must be one of: {', '.join(RESULTS)}.")
        )
    value = " ".join(row.get("value", "").split())
    if value and not LEVEL.match(value):
        errors.append((f"{at}: value", 'Give a level such as "150" or "150 ng/mL".'))
    if len(errors) > before or person is None or on is None:
        return None
    normalised = "\t".join([code, on.isoformat(), analyte, result, value])
    return Incoming(
        participant=person,
        collected_on=on,
        kind="specimen",
        results={analyte: result},
        source_ref="lab:" + hashlib.sha256(normalised.encode()).hexdigest(),
        label=at,
        date_field=f"{at}: collected_on",
        ref_field=at,
        detail={"value": value} if value else {},
    )


def _no_participant(code: str) -> str:
    if not code:
        return "This field is required."
    return f"No participant {code[:40]} in this clinic."


def parse_day(value: str) -> date | None:
    """A strict YYYY-MM-DD date from 1970 to 2100, or None."""
    if not ISO_DAY.match(value):
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if in_range(day) else None
