"""Factories that build test state through the services, never around them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cm_service.services.access.actors import SYSTEM, Actor, staff_actor
from cm_service.services.admin import clinics
from cm_service.services.cm import participants

# A Monday, so preset testing days line up with the week numbers in the tests.
START = date(2026, 1, 5)
NOW = datetime(2026, 2, 2, 20, 0, tzinfo=UTC)  # week 5 of START


def make_staff(clinic, username: str = "tech", role: str = "staff") -> Actor:
    user = clinics.create_staff(
        SYSTEM, clinic.id, username, role, "correct horse battery", now=NOW
    )
    return staff_actor(user)


def protocol_id(clinic_id: int, key: str) -> int:
    return next(p.id for p in clinics.protocols_of(clinic_id) if p.key == key)


def make_enrolled(
    actor: Actor,
    clinic,
    key: str = "higgins-1994",
    code: str = "P-0001",
    start: date = START,
    **enroll_args,
):
    person = participants.register_participant(actor, clinic.id, code, now=NOW)
    enrollment = participants.enroll(
        actor, person.id, protocol_id(clinic.id, key), start, now=NOW, **enroll_args
    )
    return person, enrollment


def scheduled(start: date, weekdays: tuple[int, ...], count: int) -> list[date]:
    """The first `count` days on `weekdays` from `start`."""
    days, day = [], start
    while len(days) < count:
        if day.weekday() in weekdays:
            days.append(day)
        day += timedelta(days=1)
    return days
