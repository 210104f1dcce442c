"""The one range check for dates people type (forms, API bodies, query strings).

A date outside these bounds is a typing mistake, and the calendar arithmetic of a
protocol (start + 7 x weeks, the month after a custody month) must stay inside what
`date` can hold: an accepted year 9999 breaks every page that reads it afterwards.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .errors import InvalidInput

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2100, 12, 31)
# Plans (an enrolment start, a pause, a closure, an exemption) reach at most this far
# past the clinic's today: a later date is a mistyped year.
HORIZON = timedelta(days=366)
FAR = "The date is more than a year from today: check the year."


def in_range(value: date, earliest: date = FIRST_DAY, latest: date = LAST_DAY) -> bool:
    return earliest <= value <= latest


def check_date(
    field: str,
    value: object,
    *,
    earliest: date = FIRST_DAY,
    latest: date = LAST_DAY,
    too_late: str | None = None,
) -> date:
    """`value` if it is a date in [earliest, latest]; InvalidInput(field) otherwise,
    saying which bound it crossed (`too_late` replaces the message past `latest`)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidInput(field, "Enter the date as YYYY-MM-DD.")
    if value < earliest:
        raise InvalidInput(field, f"Enter a date from {earliest.isoformat()}.")
    if value > latest:
        raise InvalidInput(
            field, too_late or f"Enter a date up to {latest.isoformat()}."
        )
    return value


def horizon(today: date) -> date:
    """The last date a plan may name: a year after the clinic's today."""
    return min(today + HORIZON, LAST_DAY)
