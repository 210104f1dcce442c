"""Demo data for `make run`: a clinic, three logins, a reward catalogue and a dozen
participants with history, each with a portal PIN.

Everything is made through the same services staff use, so the demo cannot hold a
state the app itself could not reach.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from ... import rules
from ...extensions import db
from ...models import (
    Clinic,
    Enrollment,
    Exemption,
    FundingProgram,
    Participant,
    Protocol,
    SessionGroup,
)
from ..access import consents
from ..access.actors import SYSTEM, Actor, Recipient, staff_actor
from ..access.passwords import pin_problem
from ..cm import (
    appointments,
    checkins,
    exemptions,
    funding,
    groups,
    ledger,
    participants,
    rewards,
)
from ..cm.timeline import clinic_today, facts_of, spec_of
from ..integrations import fhir, reminders
from . import clinics
from .protocol_admin import protocol_label

DEMO_CLINIC = "Riverside Recovery Clinic (demo)"
# name, prize-bowl tier (None: priced in dollars), price and value in cents, stock.
# A $10.00 bus pass costs a Higgins participant 40 points and a California one 20.
CATALOGUE = (
    ("Coffee card", None, 500, 500, 20),
    ("Bus pass (10 rides)", None, 1000, 1000, 12),
    ("Grocery gift card", None, 2500, 2500, 6),
    ("Snack voucher", "small", None, 100, 40),
    ("Movie ticket", "large", None, 2000, 6),
    ("Phone card", "jumbo", None, 10000, 2),
)
# The clinic's weekly groups (weekday, 0 = Monday): the presets that book group
# sessions (scheduled: true) meet on Tuesday and Thursday, or Wednesday.
GROUPS = (("Tuesday group", 1), ("Wednesday group", 2), ("Thursday group", 3))
GROUP_TIME = time(10)
SPANISH_READER = 2  # P-0002 reads the portal in Spanish
# Opted in to reminders by text and e-mail (fictional 555-01xx numbers and
# example.org addresses; `make run` prints them: docs/reminders.md).
REMINDED = (1, SPANISH_READER)
PORTAL_SHOWN = 3  # portal logins printed with the staff ones
FUNDED_PROTOCOL = "higgins-1994"  # its participants' vouchers: a SAMHSA grant


@dataclass(frozen=True)
class DemoLogins:
    clinic_id: int
    passwords: dict[
        str, str
    ]  # username -> password; empty when the demo was loaded before
    # How to try the portal: the clinic's login path, then (code, PIN, what to see)
    # for a few participants: English and Spanish readers, draws waiting.
    portal: str | None = None
    portal_logins: tuple[tuple[str, str, str], ...] = ()


def demo_pin(seed: int, n: int) -> str:
    """Demo participant n's portal PIN: the same for the same seed, and one that
    check_pin accepts. Printed for anyone trying the demo, so never a real secret."""
    rng = random.Random(f"demo-pin:{seed}:{n}")  # noqa: S311 - a published demo PIN
    while True:
        pin = f"{rng.randrange(10**6):06d}"
        if pin_problem(pin) is None:
            return pin


def load_demo(
    *, now: datetime, secret: bytes, participants_count: int = 12, seed: int = 7
) -> DemoLogins:
    """Load the demo once; a second call finds it and changes nothing."""
    existing = db.session.scalar(select(Clinic.id).where(Clinic.name == DEMO_CLINIC))
    if existing is not None:
        return DemoLogins(clinic_id=existing, passwords={})
    clinic = clinics.create_clinic(SYSTEM, DEMO_CLINIC, "America/Los_Angeles", now=now)
    passwords = {
        name: secrets.token_urlsafe(12) for name in ("admin", "staff", "auditor")
    }
    users = {
        name: clinics.create_staff(SYSTEM, clinic.id, name, name, pw, now=now)
        for name, pw in passwords.items()
    }
    admin = staff_actor(users["admin"])
    for name, tier, cost_cents, value_cents, stock in CATALOGUE:
        rewards.add_reward(
            admin,
            name,
            tier=tier,
            cost_cents=cost_cents,
            value_cents=value_cents,
            stock=stock,
            now=now,
        )
    actor = staff_actor(users["staff"])
    for name, weekday in GROUPS:
        groups.create_group(actor, name, "group", weekday, GROUP_TIME, now=now)
    rng = random.Random(seed)  # noqa: S311 - reproducible demo histories, not secrets
    presets = list(
        db.session.scalars(
            select(Protocol)
            .where(Protocol.clinic_id == clinic.id)
            .order_by(Protocol.key)
        )
    )
    # Vouchers paid from a SAMHSA grant: $750 a year, non-cash items only.
    funder = funding.add_preset(admin, "samhsa-2025", now=now)
    made: list[_Made] = []
    for n in range(1, participants_count + 1):
        protocol = presets[(n - 1) % len(presets)]
        pin = demo_pin(seed, n)
        made.append(
            _demo_participant(actor, clinic, protocol, n, rng, now, secret, pin, funder)
        )
    return DemoLogins(
        clinic_id=clinic.id,
        passwords=passwords,
        portal=f"/me/{clinic.portal_slug}/login",
        portal_logins=tuple(_worth_showing(made, seed)),
    )


def _worth_showing(made: Iterable[_Made], seed: int) -> list[tuple[str, str, str]]:
    """Up to PORTAL_SHOWN participants, those with the most to show first."""
    ranked = sorted(made, key=lambda m: (-len(m.shows), m.n))
    return [
        (f"P-{m.n:04d}", demo_pin(seed, m.n), "; ".join(m.shows) or m.protocol)
        for m in sorted(ranked[:PORTAL_SHOWN], key=lambda m: m.n)
    ]


@dataclass(frozen=True)
class _Made:
    n: int
    protocol: str
    shows: tuple[str, ...]


def _demo_participant(
    actor: Actor,
    clinic: Clinic,
    protocol: Protocol,
    n: int,
    rng: random.Random,
    now: datetime,
    secret: bytes,
    pin: str,
    funder: FundingProgram,
) -> _Made:
    today = clinic_today(clinic, now)
    weeks = 2 + n % 5
    start = today - timedelta(days=today.weekday() + 7 * weeks)
    person = participants.register_participant(
        actor, clinic.id, f"P-{n:04d}", now=now, display_name=None, pin=pin
    )
    enrollment = participants.enroll(actor, person.id, protocol.id, start, now=now)
    spec = spec_of(protocol)
    shows = [protocol_label(protocol)]
    if protocol.key == FUNDED_PROTOCOL:
        funding.assign(actor, enrollment.id, funder.id, start, None, now=now)
        shows.append(f"funded by {funder.name}")
    if n == SPANISH_READER:
        participants.set_language(actor, person.id, "es", now=now)
        shows.insert(0, "Español")
    if n in REMINDED:
        reminders.save(
            actor,
            person.id,
            reminders.Choices(
                sms=True,
                phone=f"+1555010{n:04d}",
                email=True,
                email_address=f"p-{n:04d}@example.org",
                signed_on=start,
            ),
            now=now,
        )
    if "amphetamine" in spec.targets.substances and not _exempted(clinic.id):
        exemptions.add_exemption(
            actor,
            person.id,
            "amphetamine",
            "Adderall (for ADHD)",
            start,
            now=now,
            prescriber="Dr. A. Rivera",
        )
        shows.append("a prescribed amphetamine, exempt")
    p_negative = rng.choice((0.55, 0.7, 0.85, 0.95))
    end = today - timedelta(days=1)
    facts = facts_of(enrollment)
    for day in rules.scheduled_days(spec, facts, start, end):
        _demo_day(actor, person.id, spec, day, rng, p_negative, now)
    _join_groups(actor, clinic, person.id, spec, start)
    # Most booked groups attended (a few late); the rest are missed tonight.
    for booked in appointments.upcoming(person.id, start, limit=200):
        if booked.on <= end and rng.random() < p_negative:
            checkins.record_attendance(
                actor,
                person.id,
                booked.on,
                booked.session_type,
                now=now,
                late=rng.random() < 0.1,
            )
    # Leave some draws waiting, as a clinic would at the end of a day.
    for _ in range(ledger.balance_of(person.id).draws // 2):
        ledger.draw_prize(actor, person.id, now=now, secret=secret)
    if n == SPANISH_READER:
        _share_with_county(actor, person.id, start, now)
        shows.append("records shared under a consent")
    waiting = ledger.balance_of(person.id).draws
    if waiting:
        shows.append(f"{waiting} draw{'s' if waiting > 1 else ''} waiting")
    return _Made(n, protocol_label(protocol), tuple(shows))


COUNTY = "County behavioral health EHR"


def _share_with_county(
    actor: Actor, participant_id: int, signed_on: date, now: datetime
) -> None:
    """A consent to share test results with the county's EHR for treatment, and
    one FHIR export under it: the portal's "Shared with" page has both to show."""
    consents.record_consent(
        actor,
        participant_id,
        recipient=COUNTY,
        recipient_kind="named",
        purposes=["treatment"],
        shares=list(consents.FHIR_SHARES),
        signed_on=signed_on,
        now=now,
    )
    fhir.export_observations(
        actor, participant_id, now=now, recipient=Recipient(COUNTY, "treatment")
    )


def _exempted(clinic_id: int) -> bool:
    """Whether the demo clinic has its one exemption already."""
    found = (
        select(Exemption.id)
        .join(Enrollment, Enrollment.id == Exemption.enrollment_id)
        .join(Participant, Participant.id == Enrollment.participant_id)
        .where(Participant.clinic_id == clinic_id)
    )
    return db.session.scalar(found.limit(1)) is not None


def _demo_day(
    actor: Actor,
    participant_id: int,
    spec: rules.ProtocolSpec,
    day: date,
    rng: random.Random,
    p_negative: float,
    now: datetime,
) -> None:
    roll = rng.random()
    targets = spec.targets.substances or ("cocaine",)
    if roll < 0.05:
        checkins.record_missed(SYSTEM, participant_id, day, now=now)
    elif roll < 0.08:
        checkins.excuse_day(actor, participant_id, day, "Hospital visit", now=now)
    else:
        negative = rng.random() < p_negative
        results = {t: "negative" for t in targets}
        if not negative:
            results[rng.choice(targets)] = "positive"
        checkins.record_specimen(actor, participant_id, day, results, now=now)


def _join_groups(
    actor: Actor,
    clinic: Clinic,
    participant_id: int,
    spec: rules.ProtocolSpec,
    start: date,
) -> None:
    """Put a participant whose protocol books group sessions on those groups'
    rosters from their first day (booked then, so the history has its groups)."""
    weekdays = {
        day
        for phase in spec.phases
        for schedule in phase.attendance
        if schedule.scheduled and "group" in schedule.session_types
        for day in schedule.days
    }
    found = db.session.scalars(
        select(SessionGroup).where(
            SessionGroup.clinic_id == clinic.id, SessionGroup.weekday.in_(weekdays)
        )
    )
    booked_then = datetime.combine(start, GROUP_TIME, UTC)
    for group in found:
        groups.add_member(actor, group.id, participant_id, start, now=booked_then)
