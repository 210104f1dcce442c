"""The participant portal's use cases: sign in and out, choose a language, and read
one's own standing, history, weekly progress, rewards and who looked at the record.

Every read takes a participant actor and returns only that participant's rows; no
function here accepts another participant's id. Writes (sign-in attempts, language)
follow the service order: validate, write, audit, commit once. Imports models,
the other services and the rules engine; never Flask's request or session.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from fractions import Fraction
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ... import rules
from ...extensions import db
from ...models import (
    AuditLog,
    Clinic,
    Draw,
    Enrollment,
    LedgerEntry,
    Participant,
    Reward,
    StockMovement,
)
from ...transactions import begin_writing
from ..access import audit, lockout
from ..access.actors import SYSTEM, Actor
from ..access.passwords import check_secret, hash_secret
from ..cm import appointments
from ..cm.evaluation import evaluate_history, standing
from ..cm.ledger import Balance, balance_of
from ..cm.participants import (
    CODE_PATTERN,
    PIN_PATTERN,
    latest_enrollment,
    participant_with_code,
)
from ..cm.pricing import Price, unit_cents_of
from ..cm.timeline import bookings_of, clinic_today, facts_of, not_null, spec_of
from ..errors import InvalidInput, NotFound
from .outlook import Outlook, outlook_of, plain

LANGUAGES = ("en", "es")
LOCKOUT_KIND = "participant"
HISTORY_PAGE_SIZE = 15
VIEWS_PAGE_SIZE = 20
UPCOMING_SESSIONS = 4  # the next fortnight of twice-weekly groups, on one phone screen

# Verified against when the code is unknown, so both failures cost the same time.
_DUMMY_HASH: list[str] = []


def participant_actor(participant: Participant) -> Actor:
    return Actor(
        kind="participant",
        id=participant.id,
        clinic_id=participant.clinic_id,
        role="participant",
    )


def own_record(actor: Actor) -> Participant:
    """The actor's own participant row; NotFound for anyone who is not a participant."""
    participant = (
        db.session.get(Participant, actor.id) if actor.kind == "participant" else None
    )
    if participant is None or participant.clinic_id != actor.clinic_id:
        raise NotFound("No such participant.", "participant")
    return participant


# -- signing in and out ------------------------------------------------------------


@dataclass(frozen=True)
class LoginResult:
    participant: Participant | None
    locked: bool = False


def log_in(
    clinic_id: int | None, code: str, pin: str, *, now: datetime, ip: str | None
) -> LoginResult:
    """Check a participant's code and PIN at a clinic (the clinic of the login link
    they came by: portal_links.clinic_of).

    Malformed input raises InvalidInput (field "clinic", "code" or "pin") and writes
    nothing. A well-formed attempt is always recorded for lockout and audited, with
    one answer for an unknown code and a wrong PIN. While the clinic:code is locked
    out (lockout.MAX_FAILURES in lockout.WINDOW), or the source address or the
    whole clinic has failed too often (a PIN sprayed over many codes), the PIN is
    not even checked.
    """
    clinic = db.session.get(Clinic, clinic_id) if clinic_id else None
    if clinic is None:
        raise InvalidInput("clinic", "Choose your clinic.")
    code = (code or "").strip().upper()
    if not CODE_PATTERN.match(code):
        raise InvalidInput("code", "Enter your participant code, e.g. P-0042.")
    if not PIN_PATTERN.match(pin or ""):
        raise InvalidInput("pin", "Your PIN is 6 to 12 digits.")
    key = f"{clinic.id}:{code}"
    participant = participant_with_code(clinic.id, code)
    locked = lockout.is_locked(LOCKOUT_KIND, key, now=now) or lockout.is_throttled(
        LOCKOUT_KIND, ip=ip, scope=f"{clinic.id}:", now=now
    )
    ok = not locked and _pin_matches(participant, pin)
    lockout.record_attempt(LOCKOUT_KIND, key, ok, now=now, ip=ip)
    audit.append(
        participant_actor(participant) if ok and participant else SYSTEM,
        "portal_login" if ok else "portal_login_failed",
        "participant",
        participant.id if participant else None,
        now=now,
        clinic_id=clinic.id,
        participant_id=participant.id if participant else None,
        detail={} if ok else {"code": code, "locked": locked},
    )
    db.session.commit()
    return LoginResult(participant if ok else None, locked=locked)


def _pin_matches(participant: Participant | None, pin: str) -> bool:
    if participant is None or participant.pin_hash is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_secret("000000000"))
        check_secret(_DUMMY_HASH[0], pin)
        return False
    return check_secret(participant.pin_hash, pin)


def log_out(actor: Actor, *, now: datetime, reason: str = "logout") -> None:
    """End the participant's portal sessions on the server and audit it (a logout,
    an idle timeout or the absolute lifetime): bumping session_version refuses every
    session cookie issued before, copies included (portal/access.py). A timeout
    is noticed on a GET: its deferred SQLite read ends before anything is written."""
    begin_writing()
    participant = own_record(actor)
    participant.session_version = (participant.session_version or 0) + 1
    audit.append(
        actor,
        "portal_logout",
        "participant",
        participant.id,
        now=now,
        participant_id=participant.id,
        detail={"reason": reason},
    )
    db.session.commit()


def set_language(actor: Actor, language: str, *, now: datetime) -> Participant:
    """Remember the participant's portal language. Raises InvalidInput("language")."""
    participant = own_record(actor)
    if language not in LANGUAGES:
        raise InvalidInput("language", "Choose English or Spanish.")
    if participant.language == language:
        return participant
    before = participant.language
    participant.language = language
    audit.append(
        actor,
        "set_language",
        "participant",
        participant.id,
        now=now,
        participant_id=participant.id,
        detail={"from": before, "to": language},
    )
    db.session.commit()
    return participant


# -- home ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CapProgress:
    """Money paid so far against one of the protocol's caps."""

    kind: str  # "year" | "enrollment"
    paid_cents: int
    cap_cents: int
    year: int | None = None


@dataclass(frozen=True)
class UpcomingSession:
    """A session booked for the participant, and what attending it earns when that
    is known (the next session of its schedule; later ones depend on this one)."""

    on: date
    starts_at: time
    session_type: str
    earns: rules.NextSession | None = None


@dataclass(frozen=True)
class Home:
    participant: Participant
    today: date
    balance: Balance
    enrollment: Enrollment | None
    evaluation: rules.Standing | None
    week: int = 0
    weeks: int = 0
    caps: tuple[CapProgress, ...] = ()
    # Which lines fit the protocol (tests, sessions, money, draws: outlook.py).
    outlook: Outlook | None = None
    upcoming: tuple[UpcomingSession, ...] = ()

    @property
    def next_negative(self) -> rules.NextNegative | None:
        return self.evaluation.next_negative if self.evaluation else None


def _program_year(enrollment: Enrollment, today: date) -> list[CapProgress]:
    """Progress toward the yearly cap of the funding program funding the
    enrollment today, if it has one (docs/funding.md): what it paid the
    participant this year, in this enrollment and their others."""
    from ..cm import funding

    programs = funding.program_caps([enrollment.id]).get(enrollment.id, ())
    program = rules.program_on(programs, today)
    if program is None or program.per_calendar_year_cents is None:
        return []
    window = funding.program_windows(program, today, None)["per_calendar_year_cents"]
    paid = Fraction(funding.paid_elsewhere([enrollment])[enrollment.id].get(window, 0))
    # What the ledger holds (what the caps are held on), draws at expected value.
    for _, _, on, money in funding.paid_rows([enrollment.id]):
        if on.year == today.year and rules.program_on(programs, on) == program:
            paid += money
    cents = math.ceil(paid)
    return [CapProgress("year", cents, program.per_calendar_year_cents, today.year)]


def home(actor: Actor, *, now: datetime) -> Home:
    """Where the participant stands: balance, runs, what the next negative test and
    the next session earn, the sessions booked ahead, the week of the protocol and
    progress toward its money caps."""
    participant = own_record(actor)
    today = clinic_today(participant.clinic, now)
    enrollment = latest_enrollment(participant.id)
    balance = balance_of(participant.id)
    if enrollment is None:
        return Home(participant, today, balance, None, None, outlook=plain(balance))
    spec = spec_of(enrollment.protocol)
    facts = facts_of(enrollment)
    evaluation = standing(enrollment, today)
    upcoming = _upcoming(participant.id, today, evaluation)
    starts = {(u.on, u.session_type): u.starts_at for u in upcoming}
    outlook = outlook_of(enrollment, evaluation, balance, today, starts)
    week = min(rules.week_of(facts, today), spec.end_week)
    caps = []
    yearly = []
    if spec.caps.per_calendar_year_cents:
        paid = facts.year_paid_cents.get(today.year, 0) + evaluation.cents_by_year.get(
            today.year, 0
        )
        yearly.append(
            CapProgress("year", paid, spec.caps.per_calendar_year_cents, today.year)
        )
    yearly += _program_year(enrollment, today)
    if yearly:
        # The yearly limit with the least room left is the one that binds.
        caps.append(min(yearly, key=lambda c: c.cap_cents - c.paid_cents))
    if spec.caps.per_enrollment_cents:
        caps.append(
            CapProgress(
                "enrollment", evaluation.total_cents, spec.caps.per_enrollment_cents
            )
        )
    return Home(
        participant,
        today,
        balance,
        enrollment,
        evaluation,
        week=week,
        weeks=spec.end_week,
        caps=tuple(caps),
        outlook=outlook,
        upcoming=() if outlook.ended else upcoming,
    )


def _upcoming(
    participant_id: int, today: date, evaluation: rules.Standing
) -> tuple[UpcomingSession, ...]:
    """The sessions booked from today, less today's already attended, excused or
    missed; the next session of each schedule says what it earns."""
    decided = {(s.on, s.session_type) for s in evaluation.sessions if s.on == today}
    earns = {(n.on, n.session_type): n for n in evaluation.next_sessions}
    booked = appointments.upcoming(participant_id, today, limit=UPCOMING_SESSIONS)
    return tuple(
        UpcomingSession(a.on, a.starts_at, a.session_type, earns.get(slot))
        for a in booked
        if (slot := (a.on, a.session_type)) not in decided
    )


# -- history -------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryItem:
    """One line of the participant's history, newest first.

    kind: "day" (a test day and what it earned), "session" (a counted or booked
    session of `session_type` and what it earned), "redemption", "draw",
    "correction" or "expiry". Amounts are points, cents and draw credits. A
    session's outcome: attended, late, missed, excused, "not_recorded" (booked,
    past, nothing recorded yet) or None (only its ledger entries remain)."""

    on: date
    kind: str
    outcome: str | None = None
    scheduled: bool = True
    entries: tuple[LedgerEntry, ...] = ()
    points: int = 0
    cents: int = 0
    draws: int = 0
    tier: str | None = None
    reward: str | None = None
    session_type: str | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    number: int = 1
    pages: int = 1
    total: int = 0


@dataclass(frozen=True)
class HistoryPage(Page[HistoryItem]):
    """A page of history, and what the participant's protocols reward (the words
    of its introduction): `tests`, and `sessions` (Rewarded.sessions)."""

    tests: bool = True
    sessions: str | None = None


@dataclass(frozen=True)
class Rewarded:
    """What protocols reward, for the words of the history and progress pages:
    negative tests, and sessions named by `sessions` (a session type, "other" for
    several types, None when no session pays)."""

    tests: bool
    sessions: str | None


def rewarded(specs: Iterable[rules.ProtocolSpec]) -> Rewarded:
    specs = list(specs)
    if not specs:
        return Rewarded(True, None)
    tests = any(p.specimen is not None for spec in specs for p in spec.phases)
    types = {
        t
        for spec in specs
        for phase in spec.phases
        for schedule in phase.attendance
        for t in schedule.session_types
    }
    noun = None if not types else types.pop() if len(types) == 1 else "other"
    return Rewarded(tests, noun)


def history(actor: Actor, page: int, *, now: datetime) -> HistoryPage:
    """The participant's test days, sessions, earnings, redemptions and draws,
    newest first, HISTORY_PAGE_SIZE a page. Out-of-range pages show the nearest
    page."""
    participant = own_record(actor)
    today = clinic_today(participant.clinic, now)
    tz = ZoneInfo(participant.clinic.timezone)
    entries = list(
        db.session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.participant_id == participant.id)
            .order_by(LedgerEntry.id)
        )
    )
    enrollments = list(
        db.session.scalars(
            select(Enrollment)
            .where(Enrollment.participant_id == participant.id)
            .order_by(Enrollment.id)
        )
    )
    evaluations = {e.id: evaluate_history(e, today) for e in enrollments}
    items = _day_items(enrollments, evaluations, today, entries, tz)
    items += _other_items(participant.id, entries, tz)
    items.sort(key=lambda item: (item.on, _KIND_ORDER.get(item.kind, 9)), reverse=True)
    found = _paged(items, page, HISTORY_PAGE_SIZE)
    words = rewarded(spec_of(e.protocol) for e in enrollments)
    return HistoryPage(
        found.items,
        found.number,
        found.pages,
        found.total,
        tests=words.tests,
        sessions=words.sessions,
    )


_ENTRY_ORDER = {"award": 0, "bonus": 1, "adjustment": 2}
_KIND_ORDER = {"day": 0, "session": 1, "correction": 2, "draw": 3, "redemption": 4}


def _entry_on(entry: LedgerEntry, tz: ZoneInfo) -> date:
    return entry.on or entry.posted_at.astimezone(tz).date()


def _day_items(
    enrollments: list[Enrollment],
    evaluations: dict[int, rules.Evaluation],
    today: date,
    entries: list[LedgerEntry],
    tz: ZoneInfo,
) -> list[HistoryItem]:
    """Test days and sessions with what each earned. Attendance award keys end in
    the session type (docs/protocol-spec.md: attendance:<date>:<type>)."""
    earned: dict[tuple[date, str], list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        if entry.kind in ("award", "bonus", "adjustment") and entry.award_key:
            if entry.award_key.startswith("attendance"):
                slot = entry.award_key.rpartition(":")[2]
            else:
                slot = ""  # the test day
            earned[(_entry_on(entry, tz), slot)].append(entry)
    outcomes: dict[date, rules.DayOutcome] = {}
    sessions: dict[tuple[date, str], str | None] = {}
    for enrollment in enrollments:
        evaluation = evaluations[enrollment.id]
        outcomes.update((d.on, d) for d in evaluation.days)
        sessions.update(session_marks(enrollment, evaluation, today))
    items = []
    for on in outcomes.keys() | {on for on, slot in earned if slot == ""}:
        day = outcomes.get(on)
        outcome: str | None = day.outcome if day else None
        if outcome is None and on < today:
            # Past and still empty: the nightly job has not recorded it as missed.
            outcome = "not_recorded"
        items.append(
            _earned_item(
                on,
                "day",
                earned.pop((on, ""), []),
                outcome=outcome,
                scheduled=day.scheduled if day else False,
            )
        )
    for (on, session_type), outcome in sessions.items():
        if outcome is None and on >= today:
            continue  # still to come: the home lists it with the upcoming sessions
        items.append(
            _earned_item(
                on,
                "session",
                earned.pop((on, session_type), []),
                outcome=outcome or "not_recorded",
                session_type=session_type,
            )
        )
    # What a session that no longer counts (voided, say) was paid, and corrected.
    for (on, session_type), group_entries in sorted(earned.items()):
        items.append(
            _earned_item(on, "session", group_entries, session_type=session_type)
        )
    return items


def session_marks(
    enrollment: Enrollment, evaluation: rules.Evaluation, today: date
) -> dict[tuple[date, str], str | None]:
    """Every session of the enrollment up to `today` by (day, type), in date order:
    how it ended (attended, late, missed, excused, from `evaluation`), or None for
    a booked session nothing is recorded for yet (today's, or a past one the
    nightly job has not closed)."""
    spec, facts = spec_of(enrollment.protocol), facts_of(enrollment)
    found: dict[tuple[date, str], str | None] = {
        (s.on, s.session_type): s.outcome for s in evaluation.sessions
    }
    last = min(today, rules.last_day(spec, facts))
    for booking in bookings_of([enrollment.id]).get(enrollment.id, ()):
        slot = (booking.on, booking.session_type)
        if slot in found or not facts.start_on <= booking.on <= last:
            continue
        where = rules.schedule_for(spec, facts, booking.on, booking.session_type)
        if where is not None and where[2].scheduled:
            found[slot] = None
    return dict(sorted(found.items()))


def _earned_item(
    on: date,
    kind: str,
    entries: list[LedgerEntry],
    *,
    outcome: str | None = None,
    scheduled: bool = True,
    session_type: str | None = None,
) -> HistoryItem:
    entries = sorted(entries, key=lambda e: (_ENTRY_ORDER.get(e.kind, 9), e.id))
    return HistoryItem(
        on=on,
        kind=kind,
        outcome=outcome,
        scheduled=scheduled,
        entries=tuple(entries),
        points=sum(e.amount for e in entries if e.account == "points"),
        cents=sum(e.cents for e in entries),
        draws=sum(e.amount for e in entries if e.account == "draws"),
        session_type=session_type,
    )


def _other_items(
    participant_id: int, entries: list[LedgerEntry], tz: ZoneInfo
) -> list[HistoryItem]:
    rewards = _rewards_by_entry(participant_id)
    items = []
    for entry in entries:
        if entry.kind in ("redemption", "expiry") or (
            entry.kind == "adjustment" and not entry.award_key
        ):
            items.append(
                HistoryItem(
                    on=_entry_on(entry, tz),
                    kind="correction" if entry.kind == "adjustment" else entry.kind,
                    entries=(entry,),
                    points=entry.amount if entry.account == "points" else 0,
                    cents=entry.cents,
                    draws=entry.amount if entry.account == "draws" else 0,
                    reward=rewards.get(entry.id),
                )
            )
    # The prize handed out for a draw is its stock movement's item (a draw row is
    # append-only, so Draw.reward_id is never filled in after the draw).
    draws = db.session.execute(
        select(Draw, Reward.name)
        .outerjoin(StockMovement, StockMovement.draw_id == Draw.id)
        .outerjoin(Reward, Reward.id == StockMovement.reward_id)
        .where(Draw.participant_id == participant_id)
    )
    for draw, reward_name in draws:
        items.append(
            HistoryItem(
                on=draw.drawn_at.astimezone(tz).date(),
                kind="draw",
                cents=draw.value_cents,
                draws=-1,
                tier=draw.tier,
                reward=reward_name,
            )
        )
    return items


def _rewards_by_entry(participant_id: int) -> dict[int, str]:
    rows = db.session.execute(
        select(StockMovement.ledger_entry_id, Reward.name)
        .join(Reward, Reward.id == StockMovement.reward_id)
        .where(
            StockMovement.participant_id == participant_id,
            StockMovement.ledger_entry_id.is_not(None),
        )
    )
    return {not_null(entry_id): name for entry_id, name in rows}


def _paged(items: list[T], page: int, size: int) -> Page[T]:
    pages = max(1, -(-len(items) // size))
    number = min(max(1, page), pages)
    start = (number - 1) * size
    return Page(items[start : start + size], number, pages, len(items))


# -- weekly progress -----------------------------------------------------------------


@dataclass(frozen=True)
class WeekProgress:
    week: int
    cents: int
    points: int
    draws: int
    outcomes: tuple[str | None, ...]  # one per scheduled test day, in date order
    # One per counted or booked session up to today, in date order: attended,
    # late, missed, excused, or None while nothing is recorded (session_marks).
    sessions: tuple[str | None, ...] = ()

    @property
    def negatives(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome == "negative")

    @property
    def attended(self) -> int:
        """Sessions the participant came to, late included."""
        return sum(1 for outcome in self.sessions if outcome in ("attended", "late"))


@dataclass(frozen=True)
class Progress:
    weeks: tuple[WeekProgress, ...]
    end_week: int
    counts_draws: bool  # a prize-bowl protocol: chart draws earned, not money
    # What the protocol rewards: the chart marks and table columns that fit it.
    tests: bool = True
    sessions: str | None = None  # Rewarded.sessions

    @property
    def draws_too(self) -> bool:
        """Money is charted, and draws were earned as well (a combined protocol)."""
        return not self.counts_draws and any(w.draws for w in self.weeks)


def progress(actor: Actor, *, now: datetime) -> Progress:
    """Per enrollment week of the latest enrollment, up to this week: what was
    earned (cents, points, draw credits: tests' and sessions' awards), each
    scheduled test day's outcome and each session's."""
    participant = own_record(actor)
    enrollment = latest_enrollment(participant.id)
    if enrollment is None:
        return Progress((), 0, False)
    today = clinic_today(participant.clinic, now)
    spec = spec_of(enrollment.protocol)
    facts = facts_of(enrollment)
    current = max(1, min(rules.week_of(facts, today), spec.end_week))
    cents: dict[int, int] = defaultdict(int)
    points: dict[int, int] = defaultdict(int)
    draws: dict[int, int] = defaultdict(int)
    for entry in db.session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.enrollment_id == enrollment.id,
            LedgerEntry.kind.in_(("award", "bonus", "adjustment")),
            LedgerEntry.on.is_not(None),
        )
    ):
        week = rules.week_of(facts, not_null(entry.on))
        target = draws if entry.account == "draws" else points
        target[week] += entry.amount
        cents[week] += entry.cents
    evaluation = evaluate_history(enrollment, today)
    outcomes: dict[int, list[str | None]] = defaultdict(list)
    for day in evaluation.days:
        if day.scheduled:
            outcomes[day.week].append(day.outcome)
    sessions: dict[int, list[str | None]] = defaultdict(list)
    for (on, _), outcome in session_marks(enrollment, evaluation, today).items():
        sessions[rules.week_of(facts, on)].append(outcome)
    weeks = tuple(
        WeekProgress(
            w, cents[w], points[w], draws[w], tuple(outcomes[w]), tuple(sessions[w])
        )
        for w in range(1, current + 1)
    )
    counts_draws = not any(points.values()) and any(draws.values())
    words = rewarded([spec])
    return Progress(weeks, spec.end_week, counts_draws, words.tests, words.sessions)


# -- rewards -------------------------------------------------------------------------


@dataclass(frozen=True)
class RewardOption:
    reward: Reward
    # The price in the participant's own points; None for a prize-bowl item, or
    # when none of their protocols pays points.
    price: Price | None
    affordable: bool
    points_short: int


def rewards(actor: Actor) -> tuple[Balance, list[RewardOption]]:
    """The active catalogue of the participant's clinic, priced in the participant's
    points (pricing.py), and what they can afford now."""
    participant = own_record(actor)
    balance = balance_of(participant.id)
    unit = unit_cents_of(participant.id)
    catalogue = db.session.scalars(
        select(Reward)
        .where(Reward.clinic_id == participant.clinic_id, Reward.active.is_(True))
        .order_by(Reward.cost_cents.is_(None), Reward.cost_cents, Reward.name)
    )
    options = []
    for reward in catalogue:
        price = None
        if reward.cost_cents is not None and unit is not None:
            price = Price(reward.cost_cents, unit)
        short = max(0, price.points - balance.points) if price else 0
        affordable = price is not None and short == 0 and reward.stock > 0
        options.append(RewardOption(reward, price, affordable, short))
    return balance, options


# -- who looked at my record ---------------------------------------------------------


def record_views(actor: Actor, page: int) -> Page[tuple[datetime, str | None, str]]:
    """When staff viewed or changed the participant's record: role, time and action
    of each staff audit row (never who, beyond the role), newest first."""
    participant = own_record(actor)
    mine = (AuditLog.participant_id == participant.id) & (
        AuditLog.actor_type == "staff"
    )
    total = db.session.scalar(select(func.count()).where(mine)) or 0
    pages = max(1, -(-total // VIEWS_PAGE_SIZE))
    number = min(max(1, page), pages)
    rows = db.session.execute(
        select(AuditLog.at, AuditLog.actor_role, AuditLog.action)
        .where(mine)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(VIEWS_PAGE_SIZE)
        .offset((number - 1) * VIEWS_PAGE_SIZE)
    )
    views = [(at, role, action) for at, role, action in rows]
    return Page(views, number, pages, total)
