"""Hostile input on every field anyone can type into (issue 15, defect 4).

Every staff and portal form field (found by introspecting the form classes of each
POST route), every API body and query field (walked from /api/v1/openapi.json) and
every API path parameter gets the same hostile values: far dates, huge, negative and
fractional numbers, a NUL, a lone surrogate, 10,000 characters, direction and
zero-width controls, and (for JSON) nesting 50,000 deep. On SQLite and PostgreSQL:

- never a 5xx;
- a value the field cannot take is a 4xx naming the field (the API's `field`, a
  form page's `<field id>-error`), and writes nothing at all (every table is read
  before and after; a GET page may add only its audit "view" rows);
- a value the field may take (the text "9999-12-31" is a fine reason) may be
  accepted, and the page it leads to must not fail either.

One database per backend is set up once for the module and shared by the cases:
what a case wrote is undone after it (SQLite: the file copied back; PostgreSQL: the
rows put back), so each starts from the same state. About a minute per backend.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import psycopg
import pytest
from flask import Flask
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    TimeField,
)
from wtforms.fields.core import UnboundField

from cm_service import create_app, rules
from cm_service.api import views as api_views
from cm_service.api.openapi import openapi_document
from cm_service.extensions import db
from cm_service.portal import forms as portal_forms
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.admin import protocol_builder as builder
from cm_service.services.cm import (
    appointments,
    checkins,
    corrections,
    exemptions,
    funding,
    groups,
    ledger,
    participants,
    rewards,
)
from cm_service.staff import consent_forms, ops_forms
from cm_service.staff import draws as staff_draws
from cm_service.staff import forms as staff_forms
from cm_service.staff import funding as staff_funding
from cm_service.staff import reminders as staff_reminders
from tests.support.api import make_token
from tests.support.clock import freeze
from tests.support.config import TEST_CONFIG, dsn
from tests.support.consents import grant
from tests.support.factories import NOW, START, make_enrolled, make_staff, protocol_id
from tests.support.web import CSRF, ENROL, csrf_token, log_in, totp_code
from tests.support.web import SECRET as TOTP_KEY

TODAY = "2026-02-02"  # NOW in the clinic's zone (America/Chicago)
PIN = "246810"
DEPTH = 50_000

# ---- the hostile values ------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    name: str
    form: str  # percent-encoded, as a browser (or an attacker) sends it
    json: str  # raw JSON text


def _q(text: str) -> str:
    return quote_plus(text)


HOSTILE = (
    Hostile("far_future", _q("9999-12-31"), '"9999-12-31"'),
    Hostile("far_past", _q("0001-01-01"), '"0001-01-01"'),
    Hostile("huge", "99999999999999999999", "99999999999999999999"),
    Hostile("int32", "2147483648", "2147483648"),
    Hostile("negative", "-1", "-1"),
    Hostile("fraction", "1.5", "1.5"),
    Hostile("exponent", "1e9", "1e9"),
    Hostile("nul", "a%00b", '"a\\u0000b"'),
    # A lone surrogate: its (invalid) UTF-8 bytes in a form, the escape in JSON.
    Hostile("surrogate", "%ED%A0%80", '"\\ud800"'),
    Hostile("long", "x" * 10_000, json.dumps("x" * 10_000)),
    Hostile("rtl_override", _q("\u202e"), '"\\u202e"'),
    Hostile("zero_width", _q("\u200b"), '"\\u200b"'),
    Hostile("deep", _q("[" * DEPTH + "]" * DEPTH), "[" * DEPTH + "]" * DEPTH),
)
NUMBERS = frozenset({"huge", "int32", "negative", "fraction", "exponent"})
DATES = frozenset({"far_future", "far_past"})


@dataclass(frozen=True)
class Kind:
    """What a field takes: the hostile values it may accept (in a form, in JSON);
    every other one must be refused with the field named."""

    name: str
    may_form: frozenset[str] = frozenset()
    may_json: frozenset[str] = frozenset()
    json_text: bool = False  # a form field holding a JSON document

    def may(self, hostile: Hostile, *, in_json: bool) -> bool:
        return hostile.name in (self.may_json if in_json else self.may_form)


# Free text: dates and numbers are fine words; a form turns the bytes of a lone
# surrogate into U+FFFD, an ordinary character. Zero-width spaces may be accepted
# (joiners are needed in some scripts); direction overrides never are.
TEXT = Kind(
    "text",
    may_form=DATES | NUMBERS | {"surrogate", "zero_width"},
    may_json=DATES | {"zero_width"},
)
# A secret or a code checked against what is stored: any wrong one is a failed
# attempt, recorded, unless it cannot be one at all.
SECRET = Kind("secret", may_form=TEXT.may_form | {"nul", "rtl_override", "deep"})
# A username: any wrong one is a failed attempt, one no account can have is refused.
USERNAME = Kind("username", may_form=TEXT.may_form)
DATE = Kind("date")
CHOICE = Kind("choice")
FLAG = Kind("flag", may_form=frozenset(h.name for h in HOSTILE))  # any value: ticked
IGNORED = Kind(
    "ignored", frozenset(h.name for h in HOSTILE), frozenset(h.name for h in HOSTILE)
)
MONEY = Kind("money", may_form=frozenset({"fraction"}))  # 1.5 is $1.50
JSON_TEXT = Kind("json", json_text=True)


def whole(minimum: int, maximum: int) -> Kind:
    """A whole number in [minimum, maximum]."""
    fits = frozenset(
        h.name
        for h in HOSTILE
        if re.fullmatch(r"-?\d+", h.json) and minimum <= int(h.json) <= maximum
    )
    return Kind(f"whole[{minimum},{maximum}]", may_form=fits, may_json=fits)


def pattern(regex: str, *, upper: bool = False) -> Kind:
    """Text that must match `regex` (e.g. a participant code)."""

    def matches(h: Hostile) -> bool:
        text = json.loads(h.json) if h.json.startswith('"') else h.json
        text = text.upper() if upper else text
        return re.search(regex, text) is not None

    form = frozenset(h.name for h in HOSTILE if h.name != "deep" and matches(h))
    strings = frozenset(
        h.name for h in HOSTILE if h.json.startswith('"') and matches(h)
    )
    return Kind(f"pattern {regex}", may_form=form, may_json=strings)


CODE = pattern(r"^[A-Z0-9][A-Z0-9-]{1,38}$", upper=True)
PIN_KIND = pattern(r"^[0-9]{6,12}$")


def applies(hostile: Hostile, kind: Kind, *, in_json: bool) -> bool:
    # Deep nesting is a JSON body's problem, or a field that takes a JSON document.
    return hostile.name != "deep" or in_json or kind.json_text


# ---- one database per backend, set up once ------------------------------------------


Rows = dict[str, dict[tuple, dict[str, Any]]]  # table -> primary key -> row


@dataclass
class World:
    app: Flask
    ids: dict[str, Any]
    clients: dict[str, Any]
    csrf: dict[str, str]
    tokens: dict[str, str]
    undo: Callable[[Rows, Rows], None] = lambda before, after: None

    def snapshot(self) -> Rows:
        """Every row of every table, by primary key."""
        # The requests' session may still hold a transaction (SQLite's write lock).
        db.session.remove()
        found: Rows = {}
        with db.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                keys = [c.name for c in table.primary_key.columns]
                rows = conn.execute(select(table)).mappings().all()
                found[table.name] = {
                    tuple(row[k] for k in keys): dict(row) for row in rows
                }
        return found


def _changes(before: Rows, after: Rows) -> dict[str, list[str]]:
    changed = {}
    for table, rows in after.items():
        old = before.get(table, {})
        diff = [repr(row) for key, row in rows.items() if old.get(key) != row]
        diff += [f"deleted {key}" for key in old if key not in rows]
        if diff:
            changed[table] = diff
    return changed


def _views_only(changes: dict[str, list[str]]) -> bool:
    """Only new audit rows of reads (a GET page's "view" rows)."""
    if set(changes) - {"audit_log"}:
        return False
    return all(
        re.search(r"'action': '(view|list)_[a-z_]+'", row)
        for row in changes.get("audit_log", [])
    )


def _sqlite(request, tmp_path: Path) -> tuple[str, Callable[[], Callable]]:
    """A work file, and after setup its copy, put back after a case wrote."""
    work, snap = tmp_path / "work.sqlite3", tmp_path / "snap.sqlite3"
    shutil.copy(request.getfixturevalue("sqlite_template"), work)

    def keep() -> Callable[[Rows, Rows], None]:
        shutil.copy(work, snap)

        def undo(_before: Rows, _after: Rows) -> None:
            db.engine.dispose()
            for suffix in ("-wal", "-shm"):
                Path(f"{work}{suffix}").unlink(missing_ok=True)
            shutil.copy(snap, work)

        return undo

    return f"sqlite:///{work}", keep


def _postgresql(request) -> tuple[str, Callable[[], Callable]]:
    """A database of its own; a case's rows are put back one by one (recreating
    the database from a template costs 150 ms, too much for hundreds of cases)."""
    cluster = request.getfixturevalue("pg_cluster")
    name = f"hostile_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn(cluster, "postgres"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE cm_template")
    return cluster.url(name), lambda: _put_back


def _put_back(before: Rows, after: Rows) -> None:
    with db.engine.begin() as conn:
        # The triggers keep history append-only; a test undoing its case is not
        # changing history. (Foreign keys are triggers too: any order works.)
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for table in db.metadata.sorted_tables:
            old, new = before[table.name], after[table.name]
            columns = list(table.primary_key.columns)
            for key, row in new.items():
                where = [c == v for c, v in zip(columns, key, strict=True)]
                if key not in old:
                    conn.execute(table.delete().where(*where))
                elif old[key] != row:
                    conn.execute(table.update().where(*where).values(**old[key]))
            for key, row in old.items():
                if key not in new:
                    conn.execute(table.insert().values(**row))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory) -> Iterator[World]:
    if request.param == "sqlite":
        url, keep = _sqlite(request, tmp_path_factory.mktemp("hostile"))
    else:
        url, keep = _postgresql(request)
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with pytest.MonkeyPatch.context() as patch, app.app_context():
        freeze(patch, NOW)
        built = _build(app)
        db.session.remove()
        db.engine.dispose()
        built.undo = keep()
        yield built
        db.session.remove()
        db.engine.dispose()


def _build(app: Flask) -> World:
    """The clinic every case starts from, built through the services."""
    clinic = clinics.create_clinic(SYSTEM, "Test Clinic", "America/Chicago", now=NOW)
    admin = make_staff(clinic, "boss", "admin")
    tech = make_staff(clinic, "tech")
    p1, enrolled = make_enrolled(tech, clinic)
    event = checkins.record_specimen(
        tech, p1.id, START, {"cocaine": "negative"}, now=NOW
    ).event
    corrections.adjust_points(tech, p1.id, 100_000, "Opening balance", now=NOW)
    exemption = exemptions.add_exemption(
        tech, p1.id, "benzodiazepines", "Diazepam", START, now=NOW
    ).exemption
    p2 = participants.register_participant(tech, clinic.id, "P-0002", now=NOW)
    consent = grant(tech, p1)
    draw = _a_prize_draw(tech, clinic)
    p4, enrolled4 = make_enrolled(tech, clinic, code="P-0004")
    # A funding program without caps, funding P-0004 (docs/funding.md).
    program = funding.add_program(
        admin, "County fund", per_award_cents=None, per_month_cents=None,
        per_year_cents=None, non_cash_only=False, source="", now=NOW,
    )  # fmt: skip
    period = funding.assign(tech, enrolled4.id, program.id, START, None, now=NOW)
    p5 = participants.register_participant(tech, clinic.id, "P-0005", now=NOW, pin=PIN)
    participants.enroll(
        tech, p5.id, protocol_id(clinic.id, "higgins-1994"), START, now=NOW
    )
    priced = rewards.add_reward(
        admin, "Gift card", tier=None, cost_cents=1000, value_cents=1000, stock=50,
        now=NOW,
    )  # fmt: skip
    prize = rewards.add_reward(
        admin, "Snack", tier=draw.tier if draw.tier in rewards.TIERS else "small",
        cost_cents=None, value_cents=100, stock=50, now=NOW,
    )  # fmt: skip
    group = groups.create_group(tech, "Monday group", "group", 0, time(10), now=NOW)
    groups.add_member(tech, group.id, p1.id, date(2026, 2, 2), now=NOW)
    meeting = groups.roster(tech, group.id, date(2026, 2, 2))[1][0].appointment
    booked = appointments.book(
        tech, p1.id, "individual", date(2026, 2, 4), time(9), now=NOW
    ).appointments[0]
    ids = {
        "p1": p1.id, "p2": p2.id, "p4": p4.id, "event": event.id,
        "exemption": exemption.id, "draw": draw.id, "priced": priced.id,
        "consent": consent.id,
        "prize": prize.id, "group": group.id, "meeting": meeting.id,
        "appointment": booked.id, "higgins": protocol_id(clinic.id, "higgins-1994"),
        "clinic": clinic.id, "p3": draw.participant_id,
        "portal_login": portal_login_path(app, clinic),
        "enrollment": enrolled.id, "program": program.id, "period": period.id,
    }  # fmt: skip
    return World(app, ids, *_clients(app, clinic), _tokens(clinic))


def _a_prize_draw(tech, clinic):
    """A drawn prize waiting to be handed out (a draw of the bowl's "good job" slip
    has nothing to hand out, so draw again)."""
    person, _ = make_enrolled(tech, clinic, "va-prize-2014", "P-0003")
    negative = dict.fromkeys(("cocaine", "amphetamine", "methamphetamine"), "negative")
    for day in (START, date(2026, 1, 8), date(2026, 1, 12)):
        checkins.record_specimen(tech, person.id, day, negative, now=NOW)
    for _ in range(3):
        draw = ledger.draw_prize(tech, person.id, now=NOW, secret=b"test-draw-secret")
        if draw.value_cents:
            break
    return draw


def portal_login_path(app: Flask, clinic) -> str:
    """The clinic's own portal login: by its link's slug, or by its id."""
    rule = next(
        r for r in app.url_map.iter_rules() if r.endpoint == "portal.clinic_login"
    )
    if "slug" in rule.arguments:
        return f"/me/{clinic.portal_slug}/login"
    return f"/me/{clinic.id}/login"


def _second_factor(client) -> None:
    """Set up TOTP for the logged-in staff member, as the account page does."""
    page = client.get(ENROL).get_data(as_text=True)
    secret = "".join(TOTP_KEY.search(page).group(1).split())
    token = CSRF.search(page).group(1)
    client.post(ENROL, data={"code": totp_code(secret), "csrf_token": token})


def _clients(app: Flask, clinic) -> tuple[dict, dict]:
    admin, tech, nurse = app.test_client(), app.test_client(), app.test_client()
    log_in(admin, "boss")
    log_in(tech, "tech")
    make_staff(clinic, "nurse")
    log_in(nurse, "nurse")
    _second_factor(nurse)  # a staff member who may turn it off again
    portal = app.test_client()
    path = portal_login_path(app, clinic)
    portal.post(
        path,
        data={"code": "P-0005", "pin": PIN, "csrf_token": csrf_token(portal, path)},
    )
    staff = {"admin": admin, "tech": tech, "nurse": nurse}
    csrf = {name: csrf_token(c, "/staff/account/") for name, c in staff.items()}
    csrf["portal"] = csrf_token(portal, "/me/")
    clients = {**staff, "portal": portal}
    return clients, csrf


def _tokens(clinic) -> dict[str, str]:
    return {"staff": make_token(clinic), "auditor": make_token(clinic, "auditor")}


# ---- running one case ----------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    status: int
    text: str
    json: Any


def check(
    world: World,
    send: Callable[[], Sent],
    *,
    refused: bool,
    names_field: Callable[[Sent], bool],
    reading: bool = False,
) -> None:
    """Send one hostile request and judge the answer and what it wrote; then put
    back whatever it wrote, so the next case starts from the same state."""
    before = world.snapshot()
    try:
        sent = send()
    finally:
        after = world.snapshot()
        changes = _changes(before, after)
        if changes:
            world.undo(before, after)
    assert sent.status < 500, _shown(sent)
    if not refused:
        return
    assert 400 <= sent.status < 500, _shown(sent)
    assert names_field(sent), _shown(sent)
    assert not changes or (reading and _views_only(changes)), changes


def _shown(sent: Sent) -> str:
    """What an answer said: the API's body, or a page's error messages."""
    if sent.json is not None:
        return f"{sent.status} {sent.json}"
    errors = re.findall(
        r'<p class="error"[^>]*>.*?</p>|role="alert"[^>]*>[^<]*', sent.text
    )
    return f"{sent.status} {errors or sent.text[:500]}"


# ---- forms -------------------------------------------------------------------------


def kind_of(unbound: UnboundField) -> Kind:
    """A form field's kind, from its WTForms class."""
    cls = unbound.field_class
    if issubclass(cls, BooleanField):
        return FLAG
    if issubclass(cls, DateField | TimeField):
        return DATE
    if issubclass(cls, IntegerField):
        return whole(-(2**31), 2**31 - 1)  # narrowed per field below
    if issubclass(cls, SelectField | SelectMultipleField | RadioField):
        return CHOICE
    if issubclass(cls, staff_forms.MoneyField):
        return MONEY
    if issubclass(cls, HiddenField):
        return CHOICE  # a nonce or a choice the page made
    return TEXT


def fields_of(form_class: type[FlaskForm]) -> dict[str, Kind]:
    """The typed fields of a form class, by name, and their kinds."""
    return {
        name: kind_of(value)
        for name, value in inspect.getmembers(form_class)
        if isinstance(value, UnboundField) and name != "csrf_token"
    }


@dataclass(frozen=True)
class Route:
    """One form's POST (or GET) route, a valid submission and its field kinds."""

    name: str
    path: str  # formatted with the world's ids
    forms: tuple[type[FlaskForm], ...]
    base: Mapping[str, str | list[str]]
    client: str = "admin"
    method: str = "POST"
    prefix: str = ""
    kinds: Mapping[str, Kind] = field(default_factory=dict)  # beyond the classes'
    markers: Mapping[str, str] = field(default_factory=dict)  # field -> proof
    tied: Mapping[str, str] = field(default_factory=dict)  # sent with the same value

    def fields(self) -> dict[str, Kind]:
        """The form classes' fields (prefixed), and fields built per request
        (a specimen's results, a meeting's marks) or read from the query."""
        found: dict[str, Kind] = {}
        for form in self.forms:
            found.update(fields_of(form))
        return {
            **{f"{self.prefix}{name}": kind for name, kind in found.items()},
            **self.kinds,
        }


def _nonce() -> str:
    return uuid.uuid4().hex


ADJUST = whole(-100_000, 100_000)
ROUTES: tuple[Route, ...] = (
    Route(
        "login", "/staff/login", (staff_forms.LoginForm,),
        {"username": "boss", "password": "wrong but well-formed"}, client="anonymous",
        kinds={"username": USERNAME, "password": SECRET},
    ),
    Route(
        "login_code", "/staff/login/code", (staff_forms.CodeForm,), {"code": "000000"},
        client="pending", kinds={"code": SECRET},
    ),
    Route(
        "password", "/staff/account/password", (staff_forms.PasswordChangeForm,),
        {
            "current_password": "correct horse battery",
            "new_password": "a much longer passphrase here",
            "confirm": "a much longer passphrase here",
        },
        kinds={"current_password": SECRET}, tied={"new_password": "confirm"},
    ),
    Route(
        "enrol_second_factor", "/staff/account/second-factor", (staff_forms.CodeForm,),
        {"code": "000000"}, client="tech", kinds={"code": SECRET},
    ),
    Route(
        "second_factor_off", "/staff/account/second-factor/off",
        (staff_forms.PasswordConfirmForm,), {"off-password": "wrong password"},
        client="nurse", prefix="off-", kinds={"off-password": SECRET},
    ),
    Route(
        "recovery_codes", "/staff/account/recovery-codes",
        (staff_forms.PasswordConfirmForm,), {"codes-password": "wrong password"},
        prefix="codes-", kinds={"codes-password": SECRET},
    ),
    Route(
        "find", "/staff/checkin", (staff_forms.FindForm,), {"code": "P-0001"},
        method="GET",
    ),
    Route(
        "specimen", "/staff/participants/{p1}/checkin/specimen",
        (staff_forms.SpecimenForm,),
        {"s-collected_on": TODAY, "s-result_cocaine": "negative", "s-nonce": "NONCE"},
        prefix="s-", kinds={"s-result_cocaine": CHOICE, "s-brac": CHOICE},
        markers={"s-nonce": "Reload the form and try again."},
    ),
    Route(
        "all_negative", "/staff/participants/{p1}/checkin/negative",
        (staff_forms.AllNegativeForm,), {"n-collected_on": TODAY, "n-nonce": "NONCE"},
        prefix="n-", markers={"n-nonce": "Reload the form and try again."},
    ),
    Route(
        "attendance", "/staff/participants/{p1}/checkin/attendance",
        (staff_forms.AttendanceForm,),
        {
            "a-on": TODAY, "a-session_type": "twelve_step", "a-verification": "note",
            "a-verification_note": "Meeting chair", "a-nonce": "NONCE",
        },
        prefix="a-", markers={"a-nonce": "Reload the form and try again."},
    ),
    Route(
        "excuse", "/staff/participants/{p1}/checkin/excuse", (staff_forms.ExcuseForm,),
        {"e-on": TODAY, "e-reason": "Clinic closed early", "e-nonce": "NONCE"},
        prefix="e-", markers={"e-nonce": "Reload the form and try again."},
    ),
    Route(
        "void", "/staff/events/{event}/void", (staff_forms.VoidForm,),
        {"reason": "Recorded for the wrong person"},
    ),
    Route(
        "adjust", "/staff/participants/{p1}/adjust", (staff_forms.AdjustForm,),
        {"points": "5", "memo": "Helped at the open day"}, kinds={"points": ADJUST},
    ),
    Route(
        "set_pin", "/staff/participants/{p1}/pin", (staff_forms.PinForm,),
        {"pin": "583920", "pin_again": "583920"},
        kinds={"pin": PIN_KIND, "pin_again": CHOICE}, tied={"pin": "pin_again"},
    ),
    Route(
        "set_language", "/staff/participants/{p1}/language",
        (staff_forms.LanguageForm,), {"language": "es"},
    ),
    Route(
        "add_exemption", "/staff/participants/{p1}/exemptions",
        (staff_forms.ExemptionForm,),
        {
            "x-analyte": "opiates", "x-medication": "Codeine", "x-prescriber": "Dr Lee",
            "x-starts_on": TODAY, "x-ends_on": "",
        },
        prefix="x-",
    ),
    Route(
        "end_exemption", "/staff/participants/{p1}/exemptions/{exemption}/end",
        (staff_forms.EndExemptionForm,), {"end-{exemption}-ends_on": TODAY},
        prefix="end-{exemption}-",
    ),
    Route(
        "record_consent", "/staff/participants/{p1}/consents",
        (consent_forms.ConsentForm,),
        {
            "recipient": "County EHR", "recipient_kind": "named",
            "purposes": ["treatment"], "shares": ["identity"],
            "signed_on": "2026-01-05",
        },
    ),
    Route(
        "revoke_consent", "/staff/participants/{p1}/consents/{consent}/revoke",
        (consent_forms.RevokeConsentForm,),
        {
            "revoke-{consent}-revoked_on": TODAY,
            "revoke-{consent}-revocation_note": "Signed revocation form",
        },
        prefix="revoke-{consent}-",
    ),
    Route(
        "redeem", "/staff/participants/{p1}/redeem", (staff_forms.RedeemForm,),
        {"nonce": "NONCE", "reward": "{priced}"},
        markers={"nonce": "Reload the form and try again."},
    ),
    Route(
        "prize", "/staff/draws/{draw}/prize", (staff_forms.PrizeForm,),
        {"reward": "{prize}"}, markers={"reward": 'id="draw-problem"'},
    ),
    Route(
        "add_reward", "/staff/rewards", (staff_forms.RewardForm,),
        {"name": "Bus pass", "tier": "", "cost": "10.00", "value": "10.00",
         "stock": "5"},
        kinds={"stock": whole(0, 10_000), "value": CHOICE},
    ),
    Route(
        "receive_stock", "/staff/rewards/{priced}/stock", (staff_forms.StockForm,),
        {"quantity": "3", "note": "Supplier A"},
        kinds={"quantity": whole(1, 10_000)},
        markers={"quantity": 'id="quantity-{priced}-error"',
                 "note": 'id="note-{priced}-error"'},
    ),
    Route("custody", "/staff/custody", (), {"month": "2026-01"}, method="GET",
          kinds={"month": DATE}, markers={"month": 'id="month-error"'}),
    Route(
        "register", "/staff/participants/new", (staff_forms.RegisterForm,),
        {"code": "P-0100", "display_name": "Sam", "pin": ""},
        kinds={"code": CODE, "pin": PIN_KIND},
    ),
    Route(
        "enroll", "/staff/participants/{p2}/enroll", (staff_forms.EnrollForm,),
        {
            "protocol": "{higgins}", "start_on": TODAY, "testing_days": [],
            "targets": [], "exempt_analyte": "opiates", "exempt_medication": "Codeine",
            "exempt_from": TODAY, "exempt_until": "",
        },
    ),
    Route(
        "end_enrollment", "/staff/participants/{p4}/end", (staff_forms.EndForm,),
        {"status": "discharged", "ends_on": TODAY},
    ),
    Route(
        "protocols", "/staff/protocols", (staff_forms.ProtocolForm,),
        {"spec": "SPEC"}, kinds={"spec": JSON_TEXT},
    ),
    Route(
        "create_group", "/staff/groups", (staff_forms.GroupForm,),
        {"name": "Tuesday CBT", "session_type": "cbt", "weekday": "1",
         "starts_at": "10:00"},
    ),
    Route(
        "add_member", "/staff/groups/{group}/members", (staff_forms.MemberForm,),
        {"participant": "P-0004", "joined_on": TODAY},
    ),
    Route(
        "meeting_mark", "/staff/groups/{group}/meetings/2026-02-02", (),
        {"mark-{meeting}": "attended"}, kinds={"mark-{meeting}": CHOICE},
    ),
    Route(
        "meeting_reason", "/staff/groups/{group}/meetings/2026-02-02", (),
        {"mark-{meeting}": "excused", "reason-{meeting}": "Sick note"},
        kinds={"reason-{meeting}": TEXT},
    ),
    Route(
        "book", "/staff/participants/{p1}/sessions", (staff_forms.BookForm,),
        {"session_type": "individual", "first_on": "2026-02-03", "starts_at": "10:00",
         "weekly": "y", "until": "2026-02-24"},
    ),
    Route(
        "cancel_session", "/staff/participants/{p1}/sessions/{appointment}/cancel",
        (staff_forms.CancelSessionForm,),
        {"cancel-{appointment}-reason": "Participant is ill"},
        prefix="cancel-{appointment}-",
    ),
    Route(
        "closure", "/staff/ops/closures", (ops_forms.ClosureForm,),
        {"closure-closed_on": "2026-02-16", "closure-reason": "Presidents' Day"},
        prefix="closure-",
    ),
    Route(
        "pause", "/staff/ops/pauses", (ops_forms.PauseForm,),
        {"pause-code": "P-0001", "pause-starts_on": TODAY, "pause-ends_on": "",
         "pause-reason": "In hospital"},
        prefix="pause-",
    ),
    Route(
        "reports", "/staff/reports/", (),
        {"from": "2026-01-05", "to": "2026-02-01", "missing": "positive"},
        method="GET", kinds={"from": DATE, "to": DATE, "missing": CHOICE},
        markers={n: 'id="window-error"' for n in ("from", "to", "missing")},
    ),
    Route(
        "builder_start", "/staff/protocols/build", (), {},
        method="GET", kinds={"from": CHOICE, "preset": CHOICE, "start": IGNORED},
        markers={n: "" for n in ("from", "preset", "start")},
    ),
    Route(
        "board", "/staff/today", (), {}, method="GET",
        kinds={"day": DATE, "week": CHOICE},
        markers={"day": 'id="day-error"', "week": 'id="day-error"'},
    ),
    # A link's arguments: a bad one is left out (the page opens as plainly).
    Route(
        "checkin_page", "/staff/participants/{p1}/checkin", (), {}, method="GET",
        kinds={"on": IGNORED, "session": IGNORED},
    ),
    Route(
        "draw_screen", "/staff/participants/{p3}/draws", (), {}, method="GET",
        kinds={"made": IGNORED},
    ),
    Route(
        "make_draw", "/staff/participants/{p3}/draws", (staff_draws.DrawForm,),
        {"nonce": "NONCE", "count": "1"},
        markers={"nonce": 'id="draw-problem"', "count": 'id="draw-problem"'},
    ),
    Route(
        "portal_login", "{portal_login}", (portal_forms.LoginForm,),
        {"clinic": "{clinic}", "code": "P-0005", "pin": "135790"},
        client="portal_anonymous",
        kinds={"code": CODE, "pin": PIN_KIND},
    ),
    Route(
        "portal_language", "/me/language", (portal_forms.LanguageForm,),
        {"language": "es", "next": "/me/"}, client="portal",
        kinds={"next": IGNORED}, markers={"language": "Choose English or Spanish."},
    ),
    Route(
        "reminders", "/staff/participants/{p1}/reminders",
        (staff_reminders.ReminderForm,),
        {"sms": "y", "phone": "(555) 123-4567", "email": "y",
         "email_address": "p@example.org", "signed_on": "2026-02-01",
         "quiet_from": "21:00", "quiet_until": "08:00",
         "timezone": "America/Chicago"},
    ),
    Route(
        "add_funding_program", "/staff/funding", (staff_funding.ProgramForm,),
        {"name": "State fund", "per_award": "4.99", "per_month": "200.00",
         "per_year": "599.00", "non_cash_only": "y", "source": "A letter"},
    ),
    Route(
        "add_funding_preset", "/staff/funding/presets", (staff_funding.PresetForm,),
        {"preset": "samhsa-2025"}, kinds={"preset": CHOICE},
        markers={"preset": "Choose one of:"},
    ),
    Route(
        "assign_funding", "/staff/participants/{p1}/funding",
        (staff_funding.AssignForm,),
        {"enrollment": "{enrollment}", "program": "{program}",
         "starts_on": "2026-01-05", "ends_on": ""},
    ),
    Route(
        "end_funding", "/staff/participants/{p4}/funding/{period}/end",
        (staff_funding.EndForm,), {"ends_on": TODAY},
        markers={"ends_on": 'id="ends-on-{period}-error"'},
    ),
    Route(
        "portal_reminders", "/me/reminders", (portal_forms.ReminderForm,),
        {"quiet_from": "21:00", "quiet_until": "08:00"}, client="portal",
    ),
    # A page number that is none shows the first page.
    Route("portal_history", "/me/history", (), {"page": "1"}, client="portal",
          method="GET", kinds={"page": IGNORED}),
    Route("portal_who_looked", "/me/who-looked", (), {"page": "1"}, client="portal",
          method="GET", kinds={"page": IGNORED}),
)  # fmt: skip


def _builder_fields() -> dict[str, Kind]:
    """The protocol builder's inputs (no form class: nested fields, named as a
    browser posts them) and its row buttons."""
    base = _builder_base()
    kinds: dict[str, Kind] = dict.fromkeys(builder.ACTIONS, IGNORED)
    for name in sorted(builder.field_names(_preset_fields())):
        if name in ("phases", "bowl") or name.endswith("-weeks"):
            continue  # a group's error, not an input
        kinds[name] = _builder_kind(name, base)
    return kinds


ESCALATION = ("start", "step", "max", "bonus_every", "bonus_amount", "reset_on")


def _builder_kind(name: str, base: Mapping[str, Any]) -> Kind:
    last = name.rsplit("-", 1)[-1]
    kind = base.get(f"{name.rsplit('-', 1)[0]}-type")
    if name in ("key", "name", "label", "source", "confidence") or last == "tier":
        return TEXT
    if name == "target_choices":
        return IGNORED  # which boxes the page offers, not what is saved
    # The inputs of another type of schedule, shown only for it: not read.
    if kind == "fixed" and last in (*ESCALATION, "recovery_after"):
        return IGNORED
    if kind not in (None, "fixed") and last == "amount":
        return IGNORED
    if last == "per" and "-attendance-" in name:
        return IGNORED
    if last in ("unit", "value") or name.startswith("caps-per_"):
        return MONEY
    if name == "caps-count_draws" or last == "scheduled":
        return FLAG
    if re.search(r"weeks_|amount|start|step|max|every|after|slips|minutes", last):
        return whole(0, 0)  # no hostile value is a count the form or spec takes
    return CHOICE


def _preset_fields() -> dict[str, Any]:
    fields, _ = builder.fields_from_document(rules.load_preset("mcdonell-etg-2017"))
    return fields


def _builder_base() -> dict[str, str | list[str]]:
    fields = {**_preset_fields(), "key": "hostile-test"}
    base: dict[str, str | list[str]] = {}
    for name, value in builder.flatten(fields):
        if name in base:
            current = base[name]
            base[name] = [*(current if isinstance(current, list) else [current]), value]
        else:
            base[name] = value
    return {**base, "save": "1"}


BUILDER = Route(
    "builder", "/staff/protocols/build", (), _builder_base(), kinds=_builder_fields()
)
FORM_ROUTES = (*ROUTES, BUILDER)


def _spec_document(**change: Any) -> str:
    document = rules.load_preset("higgins-1994")
    document["key"] = "hostile-test"
    return json.dumps({**document, **change})


def _form_cases() -> Iterator[Any]:
    for route in FORM_ROUTES:
        for name, kind in route.fields().items():
            for hostile in HOSTILE:
                if applies(hostile, kind, in_json=False):
                    yield pytest.param(
                        route,
                        name,
                        kind,
                        hostile,
                        id=f"{route.name}-{name}-{hostile.name}",
                    )


def _fill(text: str, ids: Mapping[str, Any]) -> str:
    return text.format(**ids)


def _encoded(route: Route, world: World, name: str, hostile: Hostile) -> str:
    """The submission with `name` (and any field tied to it) set to the hostile
    value, percent-encoded by hand: a lone surrogate has no str to encode."""
    ids = world.ids
    target = _fill(name, ids)
    tied = {_fill(route.tied.get(name, ""), ids)} - {""}
    pairs: list[tuple[str, str]] = [
        ("csrf_token", _q(world.csrf.get(route.client, "")))
    ]
    filled = {_fill(k, ids): v for k, v in route.base.items()}
    filled.setdefault(target, "")
    for key, value in filled.items():
        if key == target or key in tied:
            pairs.append((key, hostile.form))
            continue
        for item in value if isinstance(value, list) else [value]:
            item = _nonce() if item == "NONCE" else item
            item = _spec_document() if item == "SPEC" else _fill(item, ids)
            pairs.append((key, _q(item)))
    return "&".join(f"{_q(k)}={v}" for k, v in pairs)


def _client(world: World, route: Route):
    if route.client == "anonymous":
        client = world.app.test_client()
        world.csrf["anonymous"] = csrf_token(client, "/staff/login")
        return client
    if route.client == "portal_anonymous":
        client = world.app.test_client()
        world.csrf["portal_anonymous"] = csrf_token(client, world.ids["portal_login"])
        return client
    if route.client == "pending":
        client = world.app.test_client()
        token = csrf_token(client, "/staff/login")
        client.post(
            "/staff/login",
            data={"username": "boss", "password": "correct horse battery",
                  "csrf_token": token},
        )  # fmt: skip
        world.csrf["pending"] = csrf_token(client, "/staff/login/code")
        return client
    return world.clients[route.client]


def _marker(route: Route, name: str, ids: Mapping[str, Any]) -> str:
    if name in route.markers:
        return _fill(route.markers[name], ids)
    return f'id="{_fill(name, ids)}-error"'


@pytest.mark.parametrize(("route", "name", "kind", "hostile"), list(_form_cases()))
def test_a_form_field_refuses_hostile_input(world, route, name, kind, hostile):
    client = _client(world, route)
    path = _fill(route.path, world.ids)

    def send() -> Sent:
        body = _encoded(route, world, name, hostile)
        # Followed: an accepted value must not break the page shown next either.
        if route.method == "GET":
            response = client.get(f"{path}?{body}", follow_redirects=True)
        else:
            response = client.post(
                path,
                data=body,
                content_type="application/x-www-form-urlencoded",
                follow_redirects=True,
            )
        return Sent(response.status_code, response.get_data(as_text=True), None)

    marker = _marker(route, name, world.ids)
    check(
        world,
        send,
        refused=not kind.may(hostile, in_json=False),
        names_field=lambda sent: marker in sent.text,
        reading=route.method == "GET",
    )


# The members of a protocol document pasted as JSON (the builder posts the same ones
# as fields): each replaced by the hostile JSON text.
SPEC_MEMBERS = {
    "key": pattern(r"^[a-z0-9][a-z0-9-]*$"),
    "name": TEXT,
    "label": TEXT,
    "source": TEXT,
    "confidence": TEXT,
    "unit_cents": whole(1, 2**31 - 1),
    "targets.substances[0]": TEXT,
    "phases[0].weeks[1]": whole(1, 2**31 - 1),
    "phases[0].testing_days[0]": CHOICE,
    "phases[0].specimen.start": whole(0, 2**31 - 1),
    "phases[0].specimen.bonus.amount": whole(0, 2**31 - 1),
    "caps.per_week_cents": whole(0, 2**31 - 1),
}


def _spec_member_cases() -> Iterator[Any]:
    for path, kind in SPEC_MEMBERS.items():
        for hostile in HOSTILE:
            yield pytest.param(path, kind, hostile, id=f"{path}-{hostile.name}")


@pytest.mark.parametrize(("path", "kind", "hostile"), list(_spec_member_cases()))
def test_a_pasted_protocol_document_refuses_hostile_members(world, path, kind, hostile):
    document = json.loads(_spec_document())
    text = _raw_body(document, path, hostile, world.ids)
    client = world.clients["admin"]

    def send() -> Sent:
        body = f"csrf_token={_q(world.csrf['admin'])}&spec={_q(text)}"
        response = client.post(
            "/staff/protocols",
            data=body,
            content_type="application/x-www-form-urlencoded",
            follow_redirects=True,
        )
        return Sent(response.status_code, response.get_data(as_text=True), None)

    check(
        world,
        send,
        refused=not kind.may(hostile, in_json=True),
        names_field=lambda sent: 'id="spec-error"' in sent.text,
    )


# ---- the API, walked from its OpenAPI document -------------------------------------

MAX_ID = 2**31 - 1
API_BASES: dict[str, dict[str, Any]] = {
    "POST /participants": {"code": "P-0100", "display_name": "Sam", "pin": "583920"},
    "POST /participants/{code}/enrollments": {
        "protocol": "higgins-1994",
        "protocol_id": None,
        "start_on": TODAY,
        "testing_days": {"0": [0, 2, 4]},
        "targets": ["cocaine"],
        "exemptions": [
            {
                "analyte": "opiates",
                "medication": "Codeine",
                "prescriber": "Dr Lee",
                "starts_on": TODAY,
                "ends_on": "2026-03-01",
            }
        ],
    },  # fmt: skip
    "POST /participants/{code}/appointments": {
        "session_type": "individual",
        "on": "2026-02-03",
        "starts_at": "10:00",
        "weekly": True,
        "until": "2026-02-24",
    },
    "POST /appointments/{appointment_id}/cancel": {"reason": "Participant is ill"},
    "POST /events/{event_id}/void": {"reason": "Recorded for the wrong person"},
    "POST /participants/{code}/redemptions": {
        "points": None,
        "reward_id": "{priced}",
        "memo": "Gift card",
    },
}
EVENT_BASES: dict[str, dict[str, Any]] = {
    "specimen": {"kind": "specimen", "on": TODAY, "results": {"cocaine": "negative"},
                 "refused": False},
    "breath": {"kind": "breath", "on": TODAY, "brac": "0.000"},
    "attendance": {"kind": "attendance", "on": TODAY, "session_type": "twelve_step",
                   "late": False, "verification": "note",
                   "verification_note": "Meeting chair"},
    "excused": {"kind": "excused", "on": TODAY, "reason": "Clinic closed early"},
}  # fmt: skip
OBSERVATION = {
    "resourceType": "Observation",
    "identifier": [{"system": "urn:lab:acme", "value": "A-1"}],
    "status": "final",
    "category": [
        {"coding": [{"system": "urn:x", "code": "laboratory"}], "text": "lab"}
    ],
    "code": {
        "coding": [{"system": "http://loinc.org", "code": "104133-4", "display": "x"}],
        "text": "Breath alcohol",
    },
    "subject": {"reference": "Patient/1"},
    "effectiveDateTime": TODAY,
    "valueCodeableConcept": {"coding": [], "text": "negative"},
    "component": [
        {
            "code": {"coding": [], "text": "BrAC"},
            "valueQuantity": {"value": 0.0, "unit": "g/210L", "system": "urn:u",
                              "code": "g"},
        }
    ],
}  # fmt: skip
BUNDLE = {
    "resourceType": "Bundle",
    "type": "collection",
    "timestamp": "2026-02-02T12:00:00Z",
    "entry": [{"resource": OBSERVATION}],
}
REPORT_QUERY = {"from": "2026-01-05", "to": "2026-02-01", "format": "json",
                "missing": "positive", "deidentified": "0",
                # The consent the world's P-0001 gave (tests/support/consents.py).
                "recipient": "County EHR", "recipient_class": "",
                "purpose": "treatment"}  # fmt: skip
# Read by nobody, so anything goes (FHIR display texts, the subject, categories).
API_IGNORED = re.compile(
    r"\.(category|subject)\b|\.(display|text|unit|system|code)$"
    r"|component\[0\]\.code|valueQuantity\.(unit|system|code)|^(type|timestamp)$"
)
API_READ_TEXT = re.compile(
    r"(valueCodeableConcept\.text|identifier\[0\]\.(system|value)|code\.coding\[0\]"
    r"\.(system|code)|valueCodeableConcept\.coding\[0\]\.(system|code))$"
)


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        return _resolve(spec["components"]["schemas"][ref.rsplit("/", 1)[-1]], spec)
    if "allOf" in schema:
        merged = dict(schema)
        for part in schema["allOf"]:
            merged.update(_resolve(part, spec))
        return merged
    return schema


def _api_kind(schema: dict[str, Any], path: str) -> Kind:
    if API_IGNORED.search(path) and not API_READ_TEXT.search(path):
        return IGNORED
    types = schema.get("type")
    types = set(types) if isinstance(types, list) else {types}
    if "enum" in schema or "const" in schema:
        return CHOICE
    if schema.get("format") == "date" or path.endswith("effectiveDateTime"):
        return DATE
    if "integer" in types:
        return whole(schema.get("minimum", -MAX_ID), schema.get("maximum", MAX_ID))
    if "string" in types and "pattern" in schema:
        return pattern(schema["pattern"])
    if "string" in types:
        return TEXT
    return CHOICE  # numbers in a range, booleans, objects, lists: no hostile fits


def _walk(
    schema: dict[str, Any], spec: dict[str, Any], base: Any, path: str
) -> Iterator[tuple[str, Kind]]:
    """Every field path of `schema` that the base body has a place for."""
    schema = _resolve(schema, spec)
    if path:
        yield path, _api_kind(schema, path)
    if isinstance(base, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        for key in base:
            child = properties.get(key) or (extra if isinstance(extra, dict) else None)
            if child is not None:
                yield from _walk(child, spec, base[key], f"{path}.{key}".lstrip("."))
    elif isinstance(base, list) and base and "items" in schema:
        yield from _walk(schema["items"], spec, base[0], f"{path}[0]")


def _body_schema(operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    for media in ("application/json", "application/fhir+json"):
        if media in content:
            return content[media]["schema"]
    return None


def _api_bases(label: str, key: str | None) -> dict[str, Any] | None:
    if label == "POST /participants/{code}/events":
        kinds = [k for k, fs in api_views.EVENT_FIELDS.items() if key in fs]
        return EVENT_BASES[kinds[0] if kinds else "specimen"]
    if label == "POST /participants/{code}/observations":
        return BUNDLE
    return API_BASES.get(label)


def _api_operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    spec = openapi_document()
    for template, item in spec["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post"):
                yield f"{method.upper()} {template}", template, operation


def _api_body_cases() -> Iterator[Any]:
    spec = openapi_document()
    for label, _, operation in _api_operations():
        schema = _body_schema(operation)
        if schema is None:
            continue
        top = _resolve(schema, spec).get("properties", {})
        for key in top:
            base = _api_bases(label, key)
            assert base is not None, f"no valid body for {label}: add one"
            body = {k: v for k, v in base.items() if v is not None or k == key}
            body.setdefault(key, None)
            for path, kind in _walk(
                top[key], spec, body[key] or _sample(top[key], spec), key
            ):
                for hostile in HOSTILE:
                    yield pytest.param(
                        label, body, path, kind, hostile,
                        id=f"{label}-{path}-{hostile.name}",
                    )  # fmt: skip


def _sample(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """A place holder for a field the base body leaves out (walk its children)."""
    schema = _resolve(schema, spec)
    return {} if schema.get("type") == "object" else None


def _raw_body(body: dict[str, Any], path: str, hostile: Hostile, ids) -> str:
    """The JSON text of `body` with the value at `path` replaced by the raw hostile
    JSON text (a lone surrogate or 50,000 brackets have no Python value to dump)."""
    marker = "HOSTILE-VALUE-MARKER"
    filled = json.loads(json.dumps(body).replace('"{priced}"', str(ids["priced"])))
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    node = filled
    for part in parts[:-1]:
        node = node[int(part[1:-1])] if part.startswith("[") else node[part]
    last = parts[-1]
    if last.startswith("["):
        node[int(last[1:-1])] = marker
    else:
        node[last] = marker
    return json.dumps(filled).replace(f'"{marker}"', hostile.json)


def _api_path(template: str, ids: Mapping[str, Any], code: str = "P-0001") -> str:
    if template.endswith("/enrollments"):
        code = "P-0002"
    return (
        template.replace("{code}", code)
        .replace("{event_id}", str(ids["event"]))
        .replace("{appointment_id}", str(ids["appointment"]))
    )


def _names(path: str) -> Callable[[Sent], bool]:
    """The API named `path`, the object holding it (FHIR names the identifier, not
    its value) or a member of it (an entry that is no object names its resource)."""

    def named(sent: Sent) -> bool:
        found = (sent.json or {}).get("field")
        if not isinstance(found, str):
            return False
        inner, outer = sorted((found, path), key=len, reverse=True)
        return inner == outer or inner.startswith((f"{outer}.", f"{outer}["))

    return named


def _send_json(world: World, method: str, path: str, raw: str, token: str) -> Sent:
    client = world.app.test_client()
    headers = {"Authorization": f"Bearer {world.tokens[token]}"}
    response = client.open(
        f"/api/v1{path}",
        method=method,
        data=raw.encode("utf-8", "surrogatepass"),
        headers=headers,
        content_type="application/json",
    )
    return _api_sent(response)


def _api_sent(response) -> Sent:
    body = response.get_json(silent=True) if response.is_json else None
    return Sent(response.status_code, response.get_data(as_text=True), body)


@pytest.mark.parametrize(
    ("label", "body", "path", "kind", "hostile"), list(_api_body_cases())
)
def test_an_api_body_field_refuses_hostile_input(
    world, label, body, path, kind, hostile
):
    template = label.split(" ", 1)[1]
    raw = _raw_body(body, path, hostile, world.ids)
    check(
        world,
        lambda: _send_json(world, "POST", _api_path(template, world.ids), raw, "staff"),
        refused=not kind.may(hostile, in_json=True),
        names_field=_names(path),
    )


def _api_query_cases() -> Iterator[Any]:
    for label, template, operation in _api_operations():
        names = [p for p in operation.get("parameters", []) if p["in"] == "query"]
        for parameter in names:
            kind = _api_kind(parameter["schema"], parameter["name"])
            for hostile in HOSTILE:
                if applies(hostile, kind, in_json=False):
                    yield pytest.param(
                        template, [p["name"] for p in names], parameter["name"], kind,
                        hostile, id=f"{label}-{parameter['name']}-{hostile.name}",
                    )  # fmt: skip


@pytest.mark.parametrize(
    ("template", "names", "name", "kind", "hostile"), list(_api_query_cases())
)
def test_an_api_query_field_refuses_hostile_input(
    world, template, names, name, kind, hostile
):
    query = "&".join(
        f"{n}={hostile.form if n == name else _q(REPORT_QUERY[n])}" for n in names
    )

    def send() -> Sent:
        client = world.app.test_client()
        headers = {"Authorization": f"Bearer {world.tokens['auditor']}"}
        path = template.replace("{code}", "P-0001")  # the FHIR export's query
        response = client.get(f"/api/v1{path}?{query}", headers=headers)
        return Sent(
            response.status_code, response.get_data(as_text=True), response.json
        )

    check(
        world,
        send,
        refused=not kind.may(hostile, in_json=False),
        names_field=_names(name),
        reading=True,
    )


def _api_path_cases() -> Iterator[Any]:
    for label, template, _ in _api_operations():
        for name in re.findall(r"\{(\w+)\}", template):
            for hostile in HOSTILE:
                if hostile.name != "deep":
                    yield pytest.param(
                        label, template, name, hostile, id=f"{label}-{hostile.name}"
                    )


@pytest.mark.parametrize(
    ("label", "template", "name", "hostile"), list(_api_path_cases())
)
def test_an_api_path_parameter_refuses_hostile_input(
    world, label, template, name, hostile
):
    method, _ = label.split(" ", 1)
    path = template.replace(f"{{{name}}}", quote(hostile.form, safe="%"))
    path = _api_path(path, world.ids)
    schema = _body_schema(dict(_api_operations_by_label()[label]))
    body = json.dumps(_api_bases(label, None) or {}) if schema else "{}"
    body = body.replace('"{priced}"', str(world.ids["priced"]))
    token = "auditor" if "/reports" in template else "staff"
    check(
        world,
        lambda: _send_json(world, method, path, body, token),
        refused=True,
        names_field=lambda sent: sent.status in (404, 422),
        reading=method == "GET",
    )


def _api_operations_by_label() -> dict[str, dict[str, Any]]:
    return {label: operation for label, _, operation in _api_operations()}


# ---- path segments of pages ---------------------------------------------------------

PAGE_PATHS = {
    "portal_link": ("/me/{}/login", "portal_anonymous"),
    "participant_id": ("/staff/participants/{}", "admin"),
    "event_id": ("/staff/checkins/{}", "admin"),
}


def _page_path_cases() -> Iterator[Any]:
    for name, (template, client) in PAGE_PATHS.items():
        for hostile in HOSTILE:
            if hostile.name != "deep":
                yield pytest.param(
                    template, client, hostile, id=f"{name}-{hostile.name}"
                )


@pytest.mark.parametrize(("template", "client", "hostile"), list(_page_path_cases()))
def test_a_page_path_segment_refuses_hostile_input(world, template, client, hostile):
    path = template.format(quote(hostile.form, safe="%"))
    page = world.app.test_client() if client != "admin" else world.clients["admin"]

    def send() -> Sent:
        response = page.get(path)
        return Sent(response.status_code, response.get_data(as_text=True), None)

    check(
        world,
        send,
        refused=True,
        names_field=lambda sent: sent.status == 404,
        reading=True,
    )


# ---- every route and every form is walked -------------------------------------------

# POST routes whose only input is the CSRF token (or that take no body at all).
NOTHING_TYPED = {
    "staff.account.logout", "staff.account.logout_everywhere",
    "staff.corrections.decide", "staff.groups.remove_group_member",
    "staff.ops.toggle_safe_mode", "staff.ops.toggle_maker_checker",
    "staff.ops.release_held", "portal.logout", "staff.rewards.owe_prize",
    "portal.login",  # the form of portal.clinic_login (or, now, no form at all)
    "staff.ops.retry_message",
    # Signed by the provider, not a form: tests/web/test_reminder_pages.py.
    "hooks.twilio_reply",
}  # fmt: skip


def test_every_form_route_and_form_class_is_walked(world):
    walked = set()
    for route in FORM_ROUTES:
        adapter = world.app.url_map.bind("localhost")
        endpoint, _ = adapter.match(_fill(route.path, world.ids), method=route.method)
        walked.add(endpoint)
    for rule in world.app.url_map.iter_rules():
        if "POST" in (rule.methods or ()) and not rule.endpoint.startswith("api."):
            assert rule.endpoint in walked | NOTHING_TYPED, rule.endpoint
    used = {form for route in FORM_ROUTES for form in route.forms}
    for cls in _form_classes(FlaskForm):
        # Bases and forms built per request (type(...) in a view, alive or not
        # as the garbage collector decides) are walked through what they build.
        built = getattr(sys.modules[cls.__module__], cls.__name__, None) is not cls
        if not cls.__name__.startswith("_") and cls is not staff_forms.MeetingForm:
            if fields_of(cls) and cls.__module__.startswith("cm_service."):
                assert built or cls in used, f"{cls.__module__}.{cls.__name__}"


def _form_classes(base: type) -> Iterator[type]:
    for cls in base.__subclasses__():
        yield cls
        yield from _form_classes(cls)


def test_every_api_operation_with_a_body_is_walked():
    labels = {case.values[0] for case in _api_body_cases()}
    for label, _, operation in _api_operations():
        if _body_schema(operation) is not None:
            assert label in labels, label
