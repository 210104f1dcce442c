"""Flask-Babel for the participant portal: which language and timezone a request uses.

The logged-in participant's remembered language wins; before login, the choice made
on the portal (kept in the session), else the browser's Accept-Language, else English.
Times are shown in the participant's clinic's timezone. Staff pages carry no
translatable strings, so the selector does not change them.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

from babel.dates import format_skeleton, format_time
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, get_locale

from ..services.reads.portal import LANGUAGES

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
LANGUAGE_KEY = "portal_language"

babel = Babel()


def select_locale() -> str:
    if not has_request_context():
        return "en"
    participant = g.get("portal_participant")
    if participant is not None and participant.language in LANGUAGES:
        return participant.language
    chosen = session.get(LANGUAGE_KEY)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "en"


def select_timezone() -> str | None:
    participant = g.get("portal_participant")
    return participant.clinic.timezone if participant is not None else None


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(
        app, locale_selector=select_locale, timezone_selector=select_timezone
    )


def short_day(on: date) -> str:
    """A near date, short, in the reader's language: "Tue, Feb 3", "mar, 3 feb"."""
    return format_skeleton("MMMEd", on, locale=get_locale() or "en")


def clock(at: time) -> str:
    """A clinic-local start time as the reader's language writes it: "10:00 AM",
    "10:00". Booked times are already local, so no timezone is applied."""
    return format_time(at, "short", locale=get_locale() or "en")
