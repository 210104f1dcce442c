"""Reminders that reach participants: who opted in, on which channel, and what to
queue (docs/reminders.md).

A participant opts in per channel (text message, e-mail) under a consent for the
purpose "reminders" (recorded like any other consent, models.Consent), with quiet
hours on their own wall clock and private wording unless they chose to have tests
named. Three causes queue a message in the outbox (services/integrations/outbox.py),
each in
the transaction of its cause and under a dedupe key naming it, so doing the same
thing again queues nothing: an award (ledger settle), a missed test day (the
nightly job) and the evening before a test or booked session (`queue_evenings`,
once per clinic-local day). Amounts come from the portal's read model: the rules'
Evaluation.next_negative and next_sessions. The text is written when queued, in
the participant's language, through the translation catalogue.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError

from ... import clock, rules
from ...extensions import db
from ...i18n_messages import render
from ...models import (
    Clinic,
    ClinicClosure,
    Consent,
    Enrollment,
    Event,
    JobRun,
    LedgerEntry,
    OutboxMessage,
    Participant,
    Pause,
    ReminderChannel,
    ReminderSetting,
)
from ...rules.messages import DRAWS, N_, NN_, Cents, Join, Msg, msg, plural
from ..access import audit, consents
from ..access.actors import SYSTEM, Actor
from ..access.scope import get_participant
from ..cm import appointments
from ..cm.evaluation import evaluate_enrollment, standing
from ..cm.timeline import clinic_today, facts_of, spec_of
from ..errors import InvalidInput, NotFound

CHANNELS = ("sms", "email")
CHANNEL_NAMES = {"sms": "text message", "email": "e-mail"}
EVENING_JOB = "evening"
DEFAULT_EVENING_HOUR = 18  # clinic-local: the evening-before reminders are queued
# The consent a reminder opt-in rests on (models.Consent, purpose "reminders").
# Marked for the catalogue: the portal shows this recipient in the reader's language.
CONSENT_RECIPIENT = N_("Reminder messages to the participant (text-message and e-mail)")
CONSENT_SHARES = ["identity", "attendance", "incentives"]
PHONE = re.compile(r"^\+[1-9]\d{7,14}$")
EMAIL = re.compile(
    r"^[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$"
)
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "PARAR"}
AWARD_KINDS = ("award", "bonus")
TESTS = ("specimen", "breath")


# -- quiet hours ---------------------------------------------------------------------


def quiet_end(at: datetime, zone: ZoneInfo, start: time, end: time) -> datetime | None:
    """When `at` falls in the quiet hours [start, end) on `zone`'s wall clock, the
    UTC instant they end; None when it does not (or start == end: none). The end
    is a wall time on a calendar day, converted by the zone's rules for that day,
    so a DST change in between moves the instant, not the wall time."""
    if start == end:
        return None
    local = at.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    if start < end:
        if not start <= now < end:
            return None
        day = local.date()
    else:  # overnight: 21:00-08:00
        if end <= now < start:
            return None
        day = local.date() + timedelta(days=1) if now >= start else local.date()
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


def send_after(at: datetime, setting: ReminderSetting, clinic: Clinic) -> datetime:
    """The first instant from `at` outside the participant's quiet hours."""
    zone = zone_of(setting, clinic)
    return quiet_end(at, zone, setting.quiet_from, setting.quiet_until) or at


def zone_of(setting: ReminderSetting, clinic: Clinic) -> ZoneInfo:
    return ZoneInfo(setting.timezone or clinic.timezone)


# -- preferences ---------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    participant: Participant
    setting: ReminderSetting
    channels: dict[str, ReminderChannel]  # every channel ever opted into
    consent: Consent | None  # the active consent for reminders, if any

    def on(self, channel: str) -> bool:
        row = self.channels.get(channel)
        return row is not None and row.opted_out_at is None

    def address(self, channel: str) -> str:
        row = self.channels.get(channel)
        return row.address if row is not None else ""


@dataclass(frozen=True)
class Choices:
    """What staff record: channels and addresses, the date the consent for
    reminders was signed (needed for a first opt-in), quiet hours, wording and
    the participant's time zone (blank: the clinic's)."""

    sms: bool = False
    phone: str = ""
    email: bool = False
    email_address: str = ""
    signed_on: date | None = None
    quiet_from: time = time(21, 0)
    quiet_until: time = time(8, 0)
    explicit: bool = False
    timezone: str = ""


def default_setting(participant_id: int) -> ReminderSetting:
    return ReminderSetting(
        participant_id=participant_id,
        timezone=None,
        quiet_from=time(21, 0),
        quiet_until=time(8, 0),
        explicit=False,
    )


def preferences_of(participant: Participant, today: date) -> Preferences:
    setting = db.session.get(ReminderSetting, participant.id) or default_setting(
        participant.id
    )
    channels = {
        row.channel: row
        for row in db.session.scalars(
            select(ReminderChannel).where(
                ReminderChannel.participant_id == participant.id
            )
        )
    }
    return Preferences(
        participant, setting, channels, _reminder_consent(participant, today)
    )


def preferences(
    actor: Actor, participant_id: int, *, now: datetime, again: bool = False
) -> Preferences:
    """A participant's reminder preferences, for staff. Reading the contact
    details is logged like a view of the record, unless `again` (the same page
    shown back with a refused form's errors)."""
    actor.require("admin", "staff", "auditor")
    participant = get_participant(actor, participant_id)
    if again:
        return preferences_of(participant, clinic_today(participant.clinic, now))
    audit.append(
        actor,
        "view_reminders",
        "participant",
        participant.id,
        now=now,
        participant_id=participant.id,
    )
    db.session.commit()
    return preferences_of(participant, clinic_today(participant.clinic, now))


def own_preferences(actor: Actor, *, now: datetime) -> Preferences:
    """The logged-in participant's own reminder preferences (the portal)."""
    participant = _own(actor)
    return preferences_of(participant, clinic_today(participant.clinic, now))


def _own(actor: Actor) -> Participant:
    participant = (
        db.session.get(Participant, actor.id) if actor.kind == "participant" else None
    )
    if participant is None or participant.clinic_id != actor.clinic_id:
        raise NotFound("No such participant.", "participant")
    return participant


def masked(address: str) -> str:
    """An address as the portal shows it on a shared screen: "•••• 4567",
    "p•••@example.org"."""
    if not address:
        return ""
    if "@" in address:
        name, _, domain = address.partition("@")
        return f"{name[:1]}•••@{domain}"
    return f"•••• {address[-4:]}"


def _reminder_consent(participant: Participant, today: date) -> Consent | None:
    for consent in db.session.scalars(
        select(Consent)
        .where(Consent.participant_id == participant.id, Consent.revoked_at.is_(None))
        .order_by(Consent.id.desc())
    ):
        if "reminders" in (consent.purposes or []) and _in_force(consent, today):
            return consent
    return None


def _in_force(consent: Consent, today: date) -> bool:
    return (
        consent.revoked_at is None
        and consent.signed_on <= today
        and (consent.expires_on is None or today <= consent.expires_on)
    )


def normalize_phone(raw: str) -> str:
    """A US or international number as E.164: "(555) 123-4567" -> "+15551234567".
    Raises InvalidInput("phone")."""
    text = (raw or "").strip()
    digits = re.sub(r"[\s().\-]", "", text)
    if re.fullmatch(r"\d{10}", digits):
        digits = "+1" + digits
    elif re.fullmatch(r"1\d{10}", digits):
        digits = "+" + digits
    if not PHONE.match(digits):
        raise InvalidInput(
            "phone", "Enter a mobile number, e.g. (555) 123-4567 or +15551234567."
        )
    return digits


def normalize_email(raw: str) -> str:
    text = (raw or "").strip()
    if len(text) > 254 or not EMAIL.match(text):
        raise InvalidInput("email_address", "Enter an e-mail address, e.g. a@b.org.")
    return text


def check_timezone(name: str) -> str | None:
    name = (name or "").strip()
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(
            "timezone", "Enter a time zone such as America/Los_Angeles."
        ) from None
    return name


def save(
    actor: Actor, participant_id: int, choices: Choices, *, now: datetime
) -> Preferences:
    """Record the participant's reminder choices (staff). Keeping any channel on
    with no consent for reminders in force (a first opt-in, or after the consent
    was revoked or expired) records a new consent signed on `signed_on`, and the
    channels rest on it. Raises InvalidInput naming the field."""
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    today = clinic_today(participant.clinic, now)
    current = preferences_of(participant, today)
    wanted = {
        "sms": normalize_phone(choices.phone) if choices.sms else None,
        "email": normalize_email(choices.email_address) if choices.email else None,
    }
    timezone = check_timezone(choices.timezone)
    consent = current.consent
    changes: dict[str, Any] = {}
    # Every channel kept on rests on a consent in force: none (never, revoked,
    # expired) means a new one, signed on `signed_on`.
    if any(wanted.values()) and consent is None:
        if choices.signed_on is None:
            raise InvalidInput(
                "signed_on",
                "Enter the date the participant signed the consent for reminders.",
            )
        consent = consents.add_consent(
            actor,
            participant.id,
            recipient=CONSENT_RECIPIENT,
            recipient_kind="class",
            purposes=["reminders"],
            shares=list(CONSENT_SHARES),
            signed_on=choices.signed_on,
            now=now,
        )
        changes["consent_id"] = consent.id
    for channel in CHANNELS:
        row = current.channels.get(channel)
        address = wanted[channel]
        if address and not current.on(channel):
            if consent is None:  # never: a wanted address made one above
                raise ValueError("opting in without a consent for reminders")
            row = _opt_in(row, participant, channel, address, consent, actor, now)
            changes[channel] = "on"
        elif address and row is not None:
            if row.address != address:
                row.address = address
                changes[channel] = "address"
            if consent is not None and row.consent_id != consent.id:
                row.consent_id = consent.id
                changes[f"{channel}_consent_id"] = consent.id
        elif not address and row is not None and current.on(channel):
            _opt_out(row, actor.kind, actor.id, now)
            changes[channel] = "off"
    setting = db.session.get(ReminderSetting, participant.id)
    if setting is None:
        setting = default_setting(participant.id)
        db.session.add(setting)
    new = (choices.quiet_from, choices.quiet_until, choices.explicit, timezone)
    old = (setting.quiet_from, setting.quiet_until, setting.explicit, setting.timezone)
    if new != old or setting.updated_at is None:
        setting.quiet_from, setting.quiet_until = (
            choices.quiet_from,
            choices.quiet_until,
        )
        setting.explicit, setting.timezone = choices.explicit, timezone
        setting.updated_at = now
        changes["settings"] = {
            "quiet": f"{choices.quiet_from:%H:%M}-{choices.quiet_until:%H:%M}",
            "explicit": choices.explicit,
            "timezone": timezone,
        }
    if changes:
        db.session.flush()
        audit.append(
            actor,
            "reminder_preferences",
            "participant",
            participant.id,
            now=now,
            participant_id=participant.id,
            detail=changes,
        )
    _cancel_pending(participant.id, [c for c in CHANNELS if not wanted[c]], now)
    db.session.commit()
    return preferences_of(participant, today)


def _opt_in(
    row: ReminderChannel | None,
    participant: Participant,
    channel: str,
    address: str,
    consent: Consent,
    actor: Actor,
    now: datetime,
) -> ReminderChannel:
    if row is None:
        row = ReminderChannel(participant_id=participant.id, channel=channel)
        db.session.add(row)
    row.address, row.consent_id = address, consent.id
    row.opted_in_at, row.opted_in_by_type, row.opted_in_by_id = (
        now,
        actor.kind,
        actor.id,
    )
    row.opted_out_at = row.opted_out_by_type = row.opted_out_by_id = None
    return row


def _opt_out(row: ReminderChannel, by: str, by_id: int | None, now: datetime) -> None:
    row.opted_out_at, row.opted_out_by_type, row.opted_out_by_id = now, by, by_id


def _cancel_pending(participant_id: int, channels: Sequence[str], now: datetime) -> int:
    """Messages queued but not yet sent on channels that were switched off."""
    if not channels:
        return 0
    rows = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.participant_id == participant_id,
            OutboxMessage.channel.in_(channels),
            OutboxMessage.status == "pending",
        )
    ).all()
    for row in rows:
        row.status, row.last_error = "cancelled", "opted out"
        row.claimed_at = now
    return len(rows)


def set_by_participant(
    actor: Actor,
    *,
    sms: bool,
    email: bool,
    explicit: bool,
    quiet_from: time,
    quiet_until: time,
    now: datetime,
) -> Preferences:
    """The portal: a participant switches channels off (or back on, while an
    address and the consent for reminders stand), chooses the wording and quiet
    hours. Raises InvalidInput("sms"/"email") for a channel staff never set up."""
    participant = _own(actor)
    today = clinic_today(participant.clinic, now)
    current = preferences_of(participant, today)
    wanted = {"sms": sms, "email": email}
    changes: dict[str, Any] = {}
    for channel in CHANNELS:
        row = current.channels.get(channel)
        if wanted[channel] and not current.on(channel):
            if row is None or current.consent is None:
                raise InvalidInput(channel, "Ask staff to set this up with you first.")
            _opt_in(row, participant, channel, row.address, current.consent, actor, now)
            changes[channel] = "on"
        elif not wanted[channel] and row is not None and current.on(channel):
            _opt_out(row, "participant", participant.id, now)
            changes[channel] = "off"
    setting = db.session.get(ReminderSetting, participant.id)
    if setting is None:
        setting = default_setting(participant.id)
        db.session.add(setting)
    if (setting.explicit, setting.quiet_from, setting.quiet_until) != (
        explicit,
        quiet_from,
        quiet_until,
    ) or setting.updated_at is None:
        setting.explicit, setting.quiet_from = explicit, quiet_from
        setting.quiet_until, setting.updated_at = quiet_until, now
        changes["settings"] = {
            "quiet": f"{quiet_from:%H:%M}-{quiet_until:%H:%M}",
            "explicit": explicit,
        }
    if changes:
        db.session.flush()
        audit.append(
            actor,
            "reminder_preferences",
            "participant",
            participant.id,
            now=now,
            participant_id=participant.id,
            detail=changes,
        )
    _cancel_pending(participant.id, [c for c in CHANNELS if not wanted[c]], now)
    db.session.commit()
    return preferences_of(participant, today)


def stop_reply(phone: str, *, now: datetime) -> int:
    """A STOP reply from `phone` (the provider's webhook): end text reminders to
    every participant at that number. Returns how many opt-ins ended."""
    try:
        number = normalize_phone(phone)
    except InvalidInput:
        return 0
    rows = db.session.scalars(
        select(ReminderChannel).where(
            ReminderChannel.channel == "sms",
            ReminderChannel.address == number,
            ReminderChannel.opted_out_at.is_(None),
        )
    ).all()
    for row in rows:
        _opt_out(row, "stop_reply", None, now)
        participant = db.session.get(Participant, row.participant_id)
        audit.append(
            SYSTEM,
            "reminder_stop_reply",
            "participant",
            row.participant_id,
            now=now,
            clinic_id=participant.clinic_id if participant else None,
            participant_id=row.participant_id,
            detail={"channel": "sms"},
        )
        _cancel_pending(row.participant_id, ["sms"], now)
    db.session.commit()
    return len(rows)


def is_stop(body: str) -> bool:
    return (body or "").strip().upper().rstrip(".!") in STOP_WORDS


# -- who may be sent what ------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    participant: Participant
    setting: ReminderSetting
    channels: tuple[ReminderChannel, ...]


def recipients(participant_ids: Iterable[int], today: date) -> dict[int, Recipient]:
    """Participants with at least one channel on under a consent in force."""
    ids = sorted(set(participant_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        select(ReminderChannel, Consent)
        .join(Consent, Consent.id == ReminderChannel.consent_id)
        .where(
            ReminderChannel.participant_id.in_(ids),
            ReminderChannel.opted_out_at.is_(None),
            Consent.revoked_at.is_(None),
        )
        .order_by(ReminderChannel.id)
    ).all()
    channels: dict[int, list[ReminderChannel]] = defaultdict(list)
    for channel, consent in rows:
        if _in_force(consent, today):
            channels[channel.participant_id].append(channel)
    found = {}
    for participant_id, active in channels.items():
        participant = db.session.get(Participant, participant_id)
        if participant is None or participant.status != "active":
            continue
        setting = db.session.get(ReminderSetting, participant_id) or default_setting(
            participant_id
        )
        found[participant_id] = Recipient(participant, setting, tuple(active))
    return found


def still_wanted(message: OutboxMessage, today: date) -> bool:
    """At send time: the channel is still on, at the same address, under a consent
    in force (an opt-out, a STOP or a revocation since queueing stops it)."""
    found = recipients([message.participant_id], today).get(message.participant_id)
    return found is not None and any(
        c.channel == message.channel and c.address == message.address
        for c in found.channels
    )


# -- wording -------------------------------------------------------------------------

SUBJECT = N_("Reminder from %(clinic)s")
SMS_FOOTER = N_("Reply STOP to end these messages.")
EMAIL_FOOTER = N_(
    "To stop these e-mails, turn them off under Reminders in your portal, or ask staff."
)
EVENING = {
    # (explicit, test, session, amount known) -> message id
    (False, "visit", True): N_(
        "Reminder from %(clinic)s: your visit tomorrow earns %(amount)s."
    ),
    (False, "visit", False): N_("Reminder from %(clinic)s: you have a visit tomorrow."),
    (False, "visit_at", True): N_(
        "Reminder from %(clinic)s: your visit tomorrow at %(time)s earns %(amount)s."
    ),
    (False, "visit_at", False): N_(
        "Reminder from %(clinic)s: you have a visit tomorrow at %(time)s."
    ),
    (True, "test", True): N_("Tomorrow your test earns %(amount)s."),
    (True, "test", False): N_("Reminder from %(clinic)s: you have a test tomorrow."),
    (True, "session", True): N_("Tomorrow your session at %(time)s earns %(amount)s."),
    (True, "session", False): N_(
        "Reminder from %(clinic)s: you have a session tomorrow at %(time)s."
    ),
    (True, "both", True): N_(
        "Tomorrow your test and your session at %(time)s earn %(amount)s."
    ),
    (True, "both", False): N_(
        "Reminder from %(clinic)s: you have a test and a session at %(time)s tomorrow."
    ),
}
POINTS = NN_("%(num)s point", "%(num)s points")
AWARD_PRIVATE = N_("Reminder from %(clinic)s: you earned %(amount)s. Well done!")
AWARD_TEST = N_("Your negative test earned %(amount)s. Well done!")
MISSED = {
    (False, True): N_(
        "Reminder from %(clinic)s: we missed you yesterday. Your next visit still "
        "earns %(amount)s."
    ),
    (False, False): N_(
        "Reminder from %(clinic)s: we missed you yesterday. We hope to see you at "
        "your next visit."
    ),
    (True, True): N_(
        "We missed you at your test yesterday. Your next test still earns %(amount)s."
    ),
    (True, False): N_(
        "We missed you at your test yesterday. We hope to see you at the next one."
    ),
}


def earns(points: int, cents: int, draws: int) -> Any | None:
    """An amount as a message argument: money, draws, both; None for nothing."""
    parts: list[Any] = []
    if cents > 0:
        parts.append(Cents(cents))
    elif points > 0:
        parts.append(plural(POINTS, points))
    if draws > 0:
        parts.append(plural(DRAWS, draws))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Join("and", tuple(parts))


def evening_message(
    clinic: str, explicit: bool, test: bool, at: time | None, amount: Any | None
) -> Msg:
    if explicit:
        what = "both" if test and at else ("test" if test else "session")
    else:
        what = "visit_at" if at else "visit"
    named: dict[str, Any] = {"clinic": clinic}
    if amount is not None:
        named["amount"] = amount
    if at is not None and what != "test" and what != "visit":
        named["time"] = f"{at:%H:%M}"
    return msg(EVENING[(explicit, what, amount is not None)], named)


def language_of(participant: Participant) -> str:
    return participant.language if participant.language in ("en", "es") else "en"


def text_of(message: Msg, channel: str, language: str) -> str:
    footer = SMS_FOOTER if channel == "sms" else EMAIL_FOOTER
    return f"{render(message, language)} {render(Msg(footer), language)}"


# -- queueing ------------------------------------------------------------------------


def queue(
    recipient: Recipient,
    kind: str,
    cause: str,
    message: Msg,
    *,
    now: datetime,
    expires_at: datetime | None = None,
) -> int:
    """Add the message to the outbox on each of the recipient's channels, in the
    caller's transaction; a (kind, cause, channel) already queued adds nothing.
    Held until the participant's quiet hours end; not queued at all when that is
    after `expires_at`. Returns how many rows were added."""
    participant = recipient.participant
    clinic = participant.clinic
    language = language_of(participant)
    not_before = send_after(now, recipient.setting, clinic)
    if expires_at is not None and not_before >= expires_at:
        return 0
    subject = render(msg(SUBJECT, clinic=clinic.name), language)
    added = 0
    for channel in recipient.channels:
        values = {
            "clinic_id": participant.clinic_id,
            "participant_id": participant.id,
            "channel": channel.channel,
            "address": channel.address,
            "kind": kind,
            "dedupe_key": f"{kind}:{cause}:{channel.channel}",
            "language": language,
            "subject": subject[:200],
            "body": text_of(message, channel.channel, language),
            "status": "pending",
            "attempts": 0,
            "not_before": not_before,
            "expires_at": expires_at,
            "created_at": now,
        }
        added += _insert_once(values)
    return added


def _insert_once(values: dict[str, Any]) -> int:
    """INSERT ... ON CONFLICT (dedupe_key) DO NOTHING: never fails the transaction
    of the cause, also when another process queued the same key first."""
    dialect = db.session.get_bind().dialect.name
    make = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = make(OutboxMessage).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    try:
        # An INSERT's result is a CursorResult (it has the rowcount); Session.execute
        # is typed as returning any Result.
        result = cast(CursorResult[Any], db.session.execute(statement))
        return result.rowcount or 0
    except IntegrityError:  # pragma: no cover - on_conflict covers it
        return 0


def queue_awards(entries: Sequence[LedgerEntry], *, now: datetime) -> int:
    """After a settle: tell each opted-in participant what a new award earned (one
    message per event, or per enrollment-day without one). Recent awards only: a
    correction settling old days tells nobody "well done" for last month."""
    wanted = [
        e
        for e in entries
        if e.kind in AWARD_KINDS and e.amount > 0 and e.enrollment_id is not None
    ]
    opted = _opted_in({e.participant_id for e in wanted})
    wanted = [e for e in wanted if e.participant_id in opted]
    if not wanted:
        return 0
    groups: dict[tuple[int, Any], list[LedgerEntry]] = defaultdict(list)
    for entry in wanted:
        cause = entry.event_id or (entry.on.isoformat() if entry.on else entry.id)
        groups[(entry.participant_id, cause)].append(entry)
    found: dict[int, Recipient | None] = {}
    added = 0
    for (participant_id, _), group in groups.items():
        if participant_id not in found:
            found[participant_id] = _recipient_now(participant_id, now)
        recipient = found[participant_id]
        if recipient is None:
            continue
        clinic = recipient.participant.clinic
        today = clinic_today(clinic, now)
        if any(e.on is not None and e.on < today - timedelta(days=1) for e in group):
            continue
        amount = earns(
            sum(e.amount for e in group if e.account == "points"),
            sum(e.cents for e in group),
            sum(e.amount for e in group if e.account == "draws"),
        )
        if amount is None:
            continue
        test = _from_test(group)
        wording = AWARD_TEST if recipient.setting.explicit and test else AWARD_PRIVATE
        message = msg(wording, clinic=clinic.name, amount=amount)
        cause = f"{min(e.id for e in group)}"
        added += queue(recipient, "award", cause, message, now=now)
    return added


def _opted_in(participant_ids: set[int]) -> set[int]:
    """Of these participants, those with a channel on: one query, so a settle of
    many enrollments costs nothing more when nobody opted in."""
    found: set[int] = set()
    ids = sorted(participant_ids)
    for start in range(0, len(ids), 500):
        found.update(
            db.session.scalars(
                select(ReminderChannel.participant_id).where(
                    ReminderChannel.participant_id.in_(ids[start : start + 500]),
                    ReminderChannel.opted_out_at.is_(None),
                )
            )
        )
    return found


def _recipient_now(participant_id: int, now: datetime) -> Recipient | None:
    participant = db.session.get(Participant, participant_id)
    if participant is None:
        return None
    today = clinic_today(participant.clinic, now)
    return recipients([participant_id], today).get(participant_id)


def _from_test(entries: Sequence[LedgerEntry]) -> bool:
    ids = {e.event_id for e in entries if e.event_id}
    if not ids:
        return False
    kinds = db.session.scalars(select(Event.kind).where(Event.id.in_(ids))).all()
    return any(kind in TESTS for kind in kinds)


def queue_missed(
    clinic: Clinic, missed: Sequence[Enrollment], day: date, *, now: datetime
) -> int:
    """After the nightly job recorded `day`'s tests as missed: "we missed you; your
    next test still earns ...", for yesterday only (a catch-up after downtime does
    not send a week of them)."""
    today = clinic_today(clinic, now)
    if day != today - timedelta(days=1) or not missed:
        return 0
    found = recipients({e.participant_id for e in missed}, today)
    added = 0
    for enrollment in missed:
        recipient = found.get(enrollment.participant_id)
        if recipient is None:
            continue
        evaluation = standing(enrollment, today)
        nxt = evaluation.next_negative
        amount = earns(nxt.points, nxt.cents, nxt.draws) if nxt.on else None
        explicit = recipient.setting.explicit
        named: dict[str, Any] = {"clinic": clinic.name}
        if amount is not None:
            named["amount"] = amount
        message = msg(MISSED[(explicit, amount is not None)], named)
        cause = f"{enrollment.id}:{day.isoformat()}"
        added += queue(recipient, "missed", cause, message, now=now)
    return added


# -- the evening before --------------------------------------------------------------


@dataclass(frozen=True)
class Tomorrow:
    test: bool
    starts_at: time | None
    points: int = 0
    cents: int = 0
    draws: int = 0


def tomorrow_of(enrollment: Enrollment, today: date) -> Tomorrow | None:
    """What tomorrow holds for the enrollment: a scheduled test, booked sessions,
    and what they earn (the portal's read model: Evaluation.next_negative and
    next_sessions); None when nothing, or the clinic is closed or they are paused."""
    tomorrow = today + timedelta(days=1)
    spec, facts = spec_of(enrollment.protocol), facts_of(enrollment)
    if tomorrow > rules.last_day(spec, facts) or _excused(enrollment, tomorrow):
        return None
    test = bool(rules.scheduled_days(spec, facts, tomorrow, tomorrow))
    booked = [
        a
        for a in appointments.upcoming(enrollment.participant_id, tomorrow, limit=8)
        if a.on == tomorrow and a.enrollment_id == enrollment.id
    ]
    if not test and not booked:
        return None
    points = cents = draws = 0
    evaluation = standing(enrollment, today)
    nxt = evaluation.next_negative
    if test and nxt.on != tomorrow:
        # Today's test is still open: tomorrow's is the one after it.
        nxt = evaluate_enrollment(enrollment, tomorrow).next_negative
    if test and nxt.on == tomorrow:
        points, cents, draws = nxt.points, nxt.cents, nxt.draws
    types = {a.session_type for a in booked}
    for session in evaluation.next_sessions:
        if session.on == tomorrow and session.session_type in types:
            points += session.points
            cents += session.cents
            draws += session.draws
    return Tomorrow(test, booked[0].starts_at if booked else None, points, cents, draws)


def _excused(enrollment: Enrollment, on: date) -> bool:
    closed = db.session.scalar(
        select(ClinicClosure.id).where(
            ClinicClosure.clinic_id == enrollment.clinic_id,
            ClinicClosure.closed_on == on,
        )
    )
    paused = db.session.scalar(
        select(Pause.id).where(
            Pause.enrollment_id == enrollment.id,
            Pause.starts_on <= on,
            or_(Pause.ends_on.is_(None), Pause.ends_on >= on),
        )
    )
    return closed is not None or paused is not None


def evening_hour() -> int:
    return int(current_app.config.get("REMINDER_EVENING_HOUR", DEFAULT_EVENING_HOUR))


def queue_evenings(now: datetime) -> dict[int, int]:
    """Once per clinic-local day, from the evening hour on: queue tomorrow's
    reminders. Returns the messages queued per clinic (run this evening)."""
    queued = {}
    for clinic in db.session.scalars(select(Clinic).order_by(Clinic.id)).all():
        local = now.astimezone(ZoneInfo(clinic.timezone))
        if local.hour < evening_hour():
            continue
        try:
            count = _queue_evening(clinic, local.date(), now)
        except IntegrityError:  # another scheduler ran the same evening first
            db.session.rollback()
            continue
        if count is not None:
            queued[clinic.id] = count
    return queued


def _queue_evening(clinic: Clinic, today: date, now: datetime) -> int | None:
    done = db.session.scalar(
        select(JobRun.id).where(
            JobRun.job == EVENING_JOB,
            JobRun.clinic_id == clinic.id,
            JobRun.run_on == today,
        )
    )
    if done is not None:
        db.session.rollback()
        return None
    run = JobRun(job=EVENING_JOB, clinic_id=clinic.id, run_on=today, started_at=now)
    db.session.add(run)
    db.session.flush()  # claims the evening: a second scheduler fails here
    enrollments = db.session.scalars(
        select(Enrollment).where(
            Enrollment.clinic_id == clinic.id,
            Enrollment.status == "active",
            Enrollment.start_on <= today + timedelta(days=1),
        )
    ).all()
    found = recipients({e.participant_id for e in enrollments}, today)
    zone = ZoneInfo(clinic.timezone)
    # Not sent after the clinic's midnight: "tomorrow" would then be today.
    expires = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone)
    added = 0
    for enrollment in enrollments:
        recipient = found.get(enrollment.participant_id)
        if recipient is None:
            continue
        plan = tomorrow_of(enrollment, today)
        if plan is None:
            continue
        message = evening_message(
            clinic.name,
            recipient.setting.explicit,
            plan.test,
            plan.starts_at,
            earns(plan.points, plan.cents, plan.draws),
        )
        cause = f"{enrollment.participant_id}:{(today + timedelta(days=1)).isoformat()}"
        added += queue(
            recipient,
            "evening",
            cause,
            message,
            now=now,
            expires_at=expires.astimezone(UTC),
        )
    run.status, run.counts = "succeeded", {"queued": added}
    run.finished_at = clock.now()
    db.session.commit()
    return added
