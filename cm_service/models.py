"""The schema: SQLAlchemy 2 typed models, with named constraints and no business logic.

Events, event voids, ledger entries, draws and audit rows are append-only: the
`_refuse_changes_to_history` guard below refuses UPDATE and DELETE of them in the ORM,
and the migrations add database triggers that refuse them in SQL too.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    TypeDecorator,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from . import clock
from .extensions import db

if TYPE_CHECKING:
    # Flask-SQLAlchemy builds db.Model at runtime (a subclass of Base); mypy sees
    # only that it is a type, so the models are checked against Base itself.
    from .extensions import Base as Model
else:
    Model = db.Model

ROLES = ("admin", "staff", "auditor")
EVENT_KINDS = ("specimen", "breath", "attendance", "excused", "missed")
ACCOUNTS = ("points", "draws")
ENTRY_KINDS = ("award", "bonus", "adjustment", "redemption", "draw", "expiry")
ENROLLMENT_STATUSES = ("active", "completed", "discharged")
# How an off-site session (a twelve-step meeting) was confirmed.
VERIFICATIONS = ("signed_slip", "phone_call", "note")
# 42 CFR Part 2 consent to share (services/access/consents.py): what a consent may be
# for, what it lets be shared, and whether it names one recipient or a class of them.
CONSENT_PURPOSES = (
    "treatment",
    "payment",
    "operations",
    "research",
    "reminders",
    "other",
)
CONSENT_SHARES = ("identity", "test_results", "attendance", "incentives")
RECIPIENT_KINDS = ("named", "class")
# What a catalogue item is to a funder (docs/funding.md): a gift card is
# cash-equivalent, so a non-cash program (SAMHSA) refuses it like cash.
REWARD_KINDS = ("goods", "gift_card", "cash")
CASH_EQUIVALENT = ("gift_card", "cash")


def utcnow() -> datetime:
    return clock.now()


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; pass a timezone-aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Clinic(Model):
    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    # The clinic's own portal login, /me/<portal_slug>/login, printed on participants'
    # cards: the name as a slug and six random characters
    # (services/access/portal_links.py),
    # so no page lists the clinics and they cannot be walked by number or guessed.
    portal_slug: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    # Corrections and manual adjustments need a second staff member's approval.
    maker_checker: Mapped[bool] = mapped_column(default=False)
    # During an outage the nightly job records nothing as missed until an admin
    # reviews the affected dates.
    safe_mode: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(UserMixin, Model):
    """A staff account."""

    __tablename__ = "user"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout-everywhere, password change and deactivation: every session
    # carrying an older version is refused (server-side revocation).
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # The last accepted TOTP time step: a code is accepted once (no replay).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clinic: Mapped[Clinic] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated accounts cannot log in
        return self.active


class Participant(Model):
    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("clinic_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    display_name: Mapped[str | None] = mapped_column(String(120))
    pin_hash: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="active")
    language: Mapped[str] = mapped_column(String(8), default="en")
    # Bumped when a portal session ends (logout, timeout): every portal session
    # carrying an older version is refused, like User.session_version for staff.
    session_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clinic: Mapped[Clinic] = relationship()


class Protocol(Model):
    """One immutable version of a protocol spec; editing a protocol adds a version."""

    __tablename__ = "protocol"
    __table_args__ = (UniqueConstraint("clinic_id", "key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    key: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    is_preset: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Enrollment(Model):
    __tablename__ = "enrollment"
    __table_args__ = (
        CheckConstraint(_in("status", ENROLLMENT_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id"), index=True
    )
    protocol_id: Mapped[int] = mapped_column(ForeignKey("protocol.id"))
    start_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # {"<phase index>": [weekday, ...]} overriding the protocol's testing days.
    testing_days: Mapped[dict[str, list[int]]] = mapped_column(JSON, default=dict)
    # Target analytes overriding the protocol's; null = the protocol's own.
    targets: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clinic: Mapped[Clinic] = relationship()
    participant: Mapped[Participant] = relationship()
    protocol: Mapped[Protocol] = relationship()
    exemptions: Mapped[list[Exemption]] = relationship(
        order_by="Exemption.id", back_populates="enrollment"
    )


class Exemption(Model):
    """A prescription: positives for `analyte` in its dates count as negative."""

    __tablename__ = "exemption"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"), index=True)
    analyte: Mapped[str] = mapped_column(String(40))
    medication: Mapped[str] = mapped_column(String(120))
    prescriber: Mapped[str | None] = mapped_column(String(120))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)

    enrollment: Mapped[Enrollment] = relationship(back_populates="exemptions")


class Event(Model):
    """Something verified that happened; never edited, a correction voids it."""

    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint(_in("kind", EVENT_KINDS), name="kind"),
        Index("ix_event_enrollment_collected_on", "enrollment_id", "collected_on"),
        # An index, not a constraint: SQLite adds it without rebuilding the table
        # (a rebuild would drop the append-only triggers).
        Index("ix_event_clinic_source_ref", "clinic_id", "source_ref", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id"), index=True
    )
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # The clinic-local day it happened and when it was typed in: late entries show.
    collected_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    results: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    refused: Mapped[bool] = mapped_column(default=False)
    # Breath alcohol in thousandths of g/210 L (0.020 -> 20): an integer, never a float.
    brac_milli: Mapped[int | None] = mapped_column(Integer)
    session_type: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    # Where an imported result came from (a FHIR Observation id, a lab file line):
    # unique per clinic, so importing the same thing twice records it once.
    source_ref: Mapped[str | None] = mapped_column(String(200))
    # Attendance: arrived after the protocol's on-time window (docs/attendance.md).
    late: Mapped[bool] = mapped_column(default=False)
    # An off-site session: how it was confirmed and by whom (the staff member
    # recording it is recorded_by/verified_by; this names the outside witness).
    verification: Mapped[str | None] = mapped_column(String(20))
    verification_note: Mapped[str | None] = mapped_column(Text)

    void: Mapped[EventVoid | None] = relationship(back_populates="event")


class SessionGroup(Model):
    """A named recurring session ("Tuesday CBT group, 10:00") with a roster."""

    __tablename__ = "session_group"
    __table_args__ = (
        UniqueConstraint("clinic_id", "name"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    session_type: Mapped[str] = mapped_column(String(40))
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    starts_at: Mapped[time] = mapped_column(Time)  # clinic-local
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    clinic: Mapped[Clinic] = relationship()
    members: Mapped[list[GroupMember]] = relationship(
        order_by="GroupMember.id", back_populates="group"
    )


class GroupMember(Model):
    """A participant on a group's roster from `joined_on` until `left_on`."""

    __tablename__ = "group_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("session_group.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id"), index=True
    )
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    group: Mapped[SessionGroup] = relationship(back_populates="members")
    participant: Mapped[Participant] = relationship()


class Appointment(Model):
    """One booked session of a participant's enrollment (one-off, weekly or a
    group meeting); it ends attended, late, missed or excused (events), unless
    cancelled, which is the only change an appointment takes."""

    __tablename__ = "appointment"
    __table_args__ = (Index("ix_appointment_enrollment_on", "enrollment_id", "on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id"), index=True
    )
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("session_group.id"), index=True
    )
    session_type: Mapped[str] = mapped_column(String(40))
    on: Mapped[date] = mapped_column(Date)  # clinic-local
    starts_at: Mapped[time] = mapped_column(Time)  # clinic-local
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    participant: Mapped[Participant] = relationship()
    group: Mapped[SessionGroup | None] = relationship()


class EventVoid(Model):
    __tablename__ = "event_void"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    voided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship(back_populates="void")


class LedgerEntry(Model):
    """Append-only. Balance = SUM(amount) per participant and account."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint(_in("account", ACCOUNTS), name="account"),
        CheckConstraint(_in("kind", ENTRY_KINDS), name="kind"),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        Index("ix_ledger_entry_participant_account", "participant_id", "account"),
        Index("ix_ledger_entry_enrollment_award_key", "enrollment_id", "award_key"),
        # The board's draws waiting: one clinic's draw balances without reading
        # every participant's ledger.
        Index(
            "ix_ledger_entry_clinic_account_participant",
            "clinic_id",
            "account",
            "participant_id",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    enrollment_id: Mapped[int | None] = mapped_column(ForeignKey("enrollment.id"))
    account: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(Integer)
    # Money value of `amount` (points x the protocol's unit_cents; 0 for draw credits).
    cents: Mapped[int] = mapped_column(Integer, default=0)
    award_key: Mapped[str | None] = mapped_column(String(120))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    on: Mapped[date | None] = mapped_column(Date)
    rule: Mapped[str] = mapped_column(Text, default="")
    # The rule as structured messages (message id + numbers), so pages render it in
    # the reader's language; `rule` is its English text. None on rows from before.
    why: Mapped[list[Any] | None] = mapped_column(JSON)
    memo: Mapped[str | None] = mapped_column(Text)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class Reward(Model):
    """A clinic's catalogue item: a bowl tier's prize or an item priced in money.

    `cost_cents` is the price; a participant pays it in points of their own protocol
    (services/cm/pricing.py), so the same item costs the same money on every protocol.
    """

    __tablename__ = "reward"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    tier: Mapped[str | None] = mapped_column(String(40))
    cost_cents: Mapped[int | None] = mapped_column(Integer)
    value_cents: Mapped[int] = mapped_column(Integer, default=0)
    stock: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # goods, gift_card or cash (REWARD_KINDS); rows from before kinds were goods.
    kind: Mapped[str] = mapped_column(
        String(16), default="goods", server_default="goods"
    )

    __table_args__ = (CheckConstraint("stock >= 0", name="stock_nonnegative"),)


class FundingProgram(Model):
    """A funder whose caps bind the awards it pays for (docs/funding.md): per award,
    per calendar month and per calendar year (cents; None = no such cap), stacked on
    the protocol's caps; `non_cash_only` refuses cash and gift cards."""

    __tablename__ = "funding_program"
    __table_args__ = (UniqueConstraint("clinic_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    per_award_cents: Mapped[int | None] = mapped_column(Integer)
    per_month_cents: Mapped[int | None] = mapped_column(Integer)
    per_year_cents: Mapped[int | None] = mapped_column(Integer)
    non_cash_only: Mapped[bool] = mapped_column(default=False)
    # Where the caps come from (a letter, an advisory opinion, a statute).
    source: Mapped[str] = mapped_column(Text, default="")
    # The preset it was made from (services/cm/funding.py PRESETS), if any.
    preset: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EnrollmentFunding(Model):
    """An enrollment funded by one program from `starts_on` to `ends_on`
    (inclusive; None = open). An enrollment's periods do not overlap."""

    __tablename__ = "enrollment_funding"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"), index=True)
    program_id: Mapped[int] = mapped_column(
        ForeignKey("funding_program.id"), index=True
    )
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    program: Mapped[FundingProgram] = relationship()


class Draw(Model):
    """One prize-bowl draw, decided once; the digest lets an auditor replay it."""

    __tablename__ = "draw"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id"), index=True
    )
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"))
    ledger_entry_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_entry.id"), unique=True
    )
    reference: Mapped[str] = mapped_column(String(120), unique=True)
    digest: Mapped[str] = mapped_column(String(64))
    bowl: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    tier: Mapped[str] = mapped_column(String(40))
    value_cents: Mapped[int] = mapped_column(Integer)
    reward_id: Mapped[int | None] = mapped_column(ForeignKey("reward.id"))
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class AuditLog(Model):
    """Append-only, hash-chained record of every change and every view of a record."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), index=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # staff | participant | system
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id"), index=True
    )
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # HMAC with AUDIT_KEY (rows before the key came in are plain SHA-256).
    keyed: Mapped[bool] = mapped_column(default=False)


class JobRun(Model):
    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "clinic_id", "run_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    run_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)


class FoldCheckpoint(Model):
    """A cache of one enrollment's fold state after `through_on`, so settling folds
    only the days since (the nightly cost follows the day, not the history).

    Not history: rewritten by every settle and ignored whenever `fingerprint` (the
    inputs up to `through_on`) no longer matches; reconciliation never uses it.
    """

    __tablename__ = "fold_checkpoint"

    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollment.id"), primary_key=True
    )
    through_on: Mapped[date] = mapped_column(Date)
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EnrollmentStanding(Model):
    """A cache of where one enrollment stands on the clinic day `as_of` (run, level,
    what the next negative and sessions pay, totals: rules.Standing), so pages read
    it instead of folding.

    Not history: written by settle and by the nightly job, deleted in the same flush
    by any write to what the fold reads (services/cm/standings.py), and read only
    on its day and for the engine that wrote it; reconciliation compares it with a
    fresh fold.
    """

    __tablename__ = "enrollment_standing"

    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("enrollment.id"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date)
    engine: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecoveryCode(Model):
    """A one-time staff second-factor recovery code, stored hashed."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ClinicClosure(Model):
    """A holiday or closure: scheduled tests that day are excused, never missed."""

    __tablename__ = "clinic_closure"
    __table_args__ = (UniqueConstraint("clinic_id", "closed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    closed_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Pause(Model):
    """A pause (hospital, residential stay): its tests are excused, not missed."""

    __tablename__ = "pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginAttempt(Model):
    """Every sign-in attempt; lockout counts recent failures here, across workers."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_account", "kind", "account_key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # staff | participant
    account_key: Mapped[str] = mapped_column(String(120))
    success: Mapped[bool] = mapped_column()
    ip: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Approval(Model):
    """Maker-checker: a correction or manual adjustment waiting for a second person."""

    __tablename__ = "approval"
    __table_args__ = (
        CheckConstraint(
            _in("status", ("pending", "approved", "rejected")), name="status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    kind: Mapped[str] = mapped_column(String(32))  # void_event | adjustment
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StockMovement(Model):
    """Custody of prizes and gift cards: stock received (+) and issued (-), each
    issue tied to the ledger entry or draw that released it."""

    __tablename__ = "stock_movement"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("reward.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draw.id"))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))


class ApiToken(Model):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An outside recipient (a county EHR, a payer): every participant record it
    # reads is a disclosure, made only under a matching consent, for `purpose`.
    # None for the clinic's own staff and auditor tokens, whose reads are not.
    recipient: Mapped[str | None] = mapped_column(String(200))
    # The class of recipients it belongs to ("treating providers"), which a
    # consent may name instead of the recipient itself.
    recipient_class: Mapped[str | None] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(16))


class IdempotentResponse(Model):
    """The first response to an API POST with an Idempotency-Key, replayed on retry."""

    __tablename__ = "idempotent_response"
    __table_args__ = (UniqueConstraint("clinic_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FormDraft(Model):
    """A staff form posted after the session expired, kept until its owner signs in
    again (or it expires), so the work is shown back instead of lost."""

    __tablename__ = "form_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    path: Mapped[str] = mapped_column(String(512))
    # [[name, value], ...] in posted order, so multi-valued fields survive.
    fields: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Consent(Model):
    """A participant's written consent to disclose their records (42 CFR 2.31):
    to whom (one recipient, or a class of them), for what purposes, what may be
    shared, signed on, until when (None: until revoked in writing). Revoking it
    is the one change it takes, effective from the moment it is recorded."""

    __tablename__ = "consent"
    __table_args__ = (
        CheckConstraint(_in("recipient_kind", RECIPIENT_KINDS), name="recipient_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id"), index=True
    )
    recipient: Mapped[str] = mapped_column(String(200))
    recipient_kind: Mapped[str] = mapped_column(String(8), default="named")
    purposes: Mapped[list[str]] = mapped_column(JSON)
    purpose_note: Mapped[str | None] = mapped_column(Text)
    shares: Mapped[list[str]] = mapped_column(JSON)
    signed_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The date on the written revocation, and when it was recorded (from then on
    # nothing is disclosed under the consent).
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    revocation_note: Mapped[str | None] = mapped_column(Text)

    participant: Mapped[Participant] = relationship()


class Disclosure(Model):
    """Append-only: one participant's records sent out of the program under a
    consent, written in the same transaction as the audit row of the export."""

    __tablename__ = "disclosure"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id"), index=True
    )
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(16))
    shared: Mapped[list[str]] = mapped_column(JSON)
    # What sent it: "GET /api/v1/participants/{code}/observations", a CSV export.
    route: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_token.id"))
    audit_log_id: Mapped[int] = mapped_column(ForeignKey("audit_log.id"))

    consent: Mapped[Consent] = relationship()


REMINDER_CHANNELS = ("sms", "email")
REMINDER_KINDS = ("evening", "award", "missed")
OUTBOX_STATUSES = ("pending", "sending", "sent", "dead", "cancelled")


class ReminderSetting(Model):
    """A participant's reminder preferences (docs/reminders.md): quiet hours on the
    wall clock of `timezone` (None: the clinic's), and whether messages may name
    tests (`explicit`); private wording, naming no test or substance, by default."""

    __tablename__ = "reminder_setting"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id"), primary_key=True
    )
    timezone: Mapped[str | None] = mapped_column(String(64))
    quiet_from: Mapped[time] = mapped_column(Time, default=time(21, 0))
    quiet_until: Mapped[time] = mapped_column(Time, default=time(8, 0))
    explicit: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderChannel(Model):
    """A participant's opt-in to reminders on one channel at one address, under a
    consent for the purpose "reminders": who recorded it and when, and who ended
    it (staff, the participant in the portal, or a STOP reply) and when. Opting in
    again starts it anew; the audit log keeps every change."""

    __tablename__ = "reminder_channel"
    __table_args__ = (
        UniqueConstraint("participant_id", "channel"),
        CheckConstraint(_in("channel", REMINDER_CHANNELS), name="channel"),
        Index("ix_reminder_channel_channel_address", "channel", "address"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    channel: Mapped[str] = mapped_column(String(8))
    # E.164 for "sms" (+15551234567), an e-mail address for "email".
    address: Mapped[str] = mapped_column(String(254))
    consent_id: Mapped[int] = mapped_column(ForeignKey("consent.id"), index=True)
    opted_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opted_in_by_type: Mapped[str] = mapped_column(String(16))  # staff | participant
    opted_in_by_id: Mapped[int | None] = mapped_column(Integer)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # staff | participant | stop_reply
    opted_out_by_type: Mapped[str | None] = mapped_column(String(16))
    opted_out_by_id: Mapped[int | None] = mapped_column(Integer)

    consent: Mapped[Consent] = relationship()


class OutboxMessage(Model):
    """A reminder to send, written in the transaction of what caused it.

    `dedupe_key` names the cause and channel, so queueing again adds nothing;
    the scheduler drains it (services/integrations/outbox.py): pending -> sending
    (claimed,
    attempts + 1) -> sent, back to pending with a later `not_before` after a
    failure, dead after the last attempt. Its id is the idempotency key."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_in("channel", REMINDER_CHANNELS), name="channel"),
        CheckConstraint(_in("kind", REMINDER_KINDS), name="kind"),
        CheckConstraint(_in("status", OUTBOX_STATUSES), name="status"),
        Index("ix_outbox_status_not_before", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id"), index=True
    )
    channel: Mapped[str] = mapped_column(String(8))
    address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Not sent before this instant: the end of quiet hours, or the next retry.
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Not sent from this instant on (an evening reminder after its midnight).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # What the provider called it (an SMTP Message-ID, a text message's sid).
    provider_ref: Mapped[str | None] = mapped_column(String(200))

    participant: Mapped[Participant] = relationship()


APPEND_ONLY = (
    Event,
    EventVoid,
    LedgerEntry,
    Draw,
    AuditLog,
    StockMovement,
    Disclosure,
)
APPEND_ONLY_TABLES = tuple(model.__tablename__ for model in APPEND_ONLY)


class AppendOnlyViolation(RuntimeError):
    """Raised on an attempt to change or delete history; always a programming error."""


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_history(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise AppendOnlyViolation(
                f"{type(obj).__tablename__} rows are append-only: post a correction"
            )
        # A protocol version and an enrollment's pin to it are what every amount is
        # reproduced from: editing a protocol adds a version instead.
        if isinstance(obj, Protocol) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise AppendOnlyViolation("protocol versions are immutable: add a version")
        if isinstance(obj, Enrollment) and _repinned(obj):
            raise AppendOnlyViolation("an enrollment's protocol is immutable")


def _repinned(enrollment: Enrollment) -> bool:
    history = inspect(enrollment).attrs.protocol_id.history
    return bool(history.deleted) and history.deleted != history.added
