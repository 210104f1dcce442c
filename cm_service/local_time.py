"""Staff pages read stored UTC instants in the clinic's own time zone.

Instants are stored UTC (models.UTCDateTime); a person at the clinic reads them on
the wall clock there, with the zone's abbreviation so a summer and a winter time
cannot be confused: "Sun 29 Nov 2026, 18:19 CST". The clinic is the logged-in staff
member's unless one is given. The portal localises its own pages (portal.i18n).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import has_request_context
from flask_login import current_user

from .models import Clinic

NOTHING = "—"


def zone_of(clinic: Clinic | None = None) -> ZoneInfo:
    """The clinic's zone; by default the logged-in staff member's; else UTC."""
    if clinic is None and has_request_context() and current_user.is_authenticated:
        clinic = current_user.clinic
    return ZoneInfo(clinic.timezone if clinic is not None else "UTC")


def to_local(value: datetime, clinic: Clinic | None = None) -> datetime:
    """The instant on the clinic's wall clock (a naive value is taken as UTC)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(zone_of(clinic))


def local_time(value: datetime | None, clinic: Clinic | None = None) -> str:
    """An instant as the clinic reads it, "Sun 29 Nov 2026, 18:19 CST"; None is "—"."""
    if value is None:
        return NOTHING
    at = to_local(value, clinic)
    return f"{at:%a} {at.day} {at:%b %Y, %H:%M %Z}"


def local_date(value: datetime | None, clinic: Clinic | None = None) -> str:
    """The clinic-local day of an instant, "2026-11-29" (the day clinic_today gives
    at that instant); None is "—"."""
    return NOTHING if value is None else to_local(value, clinic).date().isoformat()
