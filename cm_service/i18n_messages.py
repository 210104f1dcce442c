"""The rules' explanations (rules/messages.py) in the reader's language.

One renderer for staff and portal pages: `render` takes a message (or the JSON a
ledger row stores) and writes it through the translation catalogue (Flask-Babel's
gettext/ngettext, ids marked N_ in the rules) with numbers, money, dates and
ordinals as the language writes them. English is the rules' own text, so staff
pages (English) show exactly what the engine wrote. `explain_entry` falls back to a
ledger row's English `rule` when it has no `why` (rows posted before it existed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from flask import has_request_context
from flask_babel import force_locale, get_locale, get_translations

from .rules.messages import (
    N_,
    Cents,
    Day,
    IsoDate,
    Join,
    Msg,
    Ordinal,
    Term,
    english,
    from_json,
)

_JOINERS = {"semicolon": "; ", "comma": ", "}


def current_language() -> str:
    locale = get_locale() if has_request_context() else None
    return locale.language if locale is not None else "en"


def render(value: Any, language: str | None = None) -> str:
    """`value` (a Msg, an argument, or a stored message) in `language` (default: the
    request's). English is exactly the rules' English text."""
    if isinstance(value, list):
        value = from_json(value)
    current = current_language()
    language = language or current
    if language == "en":
        return english(value)
    if language == current:
        return _translated(value, language)
    with force_locale(language):  # the catalogue of the language asked for
        return _translated(value, language)


def _translated(value: Any, language: str) -> str:
    if isinstance(value, Msg):
        named = {name: _translated(arg, language) for name, arg in value.args}
        catalogue = get_translations()
        if value.plural is not None:
            count = int(value.kwargs.get("num", 1))
            text = catalogue.ngettext(value.id, value.plural, count)
        else:
            text = catalogue.gettext(value.id)
        return text % named if named else text
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return format_decimal(value, locale=f"{language}_US")
    if isinstance(value, Cents):
        return format_currency(
            Decimal(value.cents) / 100, "USD", locale=f"{language}_US"
        )
    if isinstance(value, Ordinal):
        return _ordinal(value.n, language)
    if isinstance(value, Day):
        return format_date(value.on, "EEE d MMM y", locale=language)
    if isinstance(value, IsoDate):
        return format_date(value.on, "long", locale=language)
    if isinstance(value, Term):
        return get_translations().pgettext(value.context, value.word)
    if isinstance(value, Join):
        parts = [_translated(item, language) for item in value.items]
        if value.how == "and":
            return _and(parts)
        return _JOINERS[value.how].join(parts)
    return str(value)


def _and(parts: list[str]) -> str:
    if not parts:
        return ""
    text = parts[0]
    for part in parts[1:]:
        text = get_translations().gettext(N_("%(first)s and %(second)s")) % {
            "first": text,
            "second": part,
        }
    return text


def _ordinal(n: int, language: str) -> str:
    if language == "es":
        # Feminine: the rules count pruebas and sesiones ("3.ª prueba").
        return f"{n}.ª"
    return english(Ordinal(n))


def explain_entry(entry: Any, language: str | None = None) -> str:
    """A ledger row's reason in `language`: its stored message when it has one,
    else its English `rule` (English) or "" (another language: the page says
    something general instead)."""
    language = language or current_language()
    why = getattr(entry, "why", None)
    if why:
        try:
            return render(why, language)
        except ValueError:
            pass
    return (getattr(entry, "rule", None) or "") if language == "en" else ""


def explain(value: Any, fallback: str = "", language: str | None = None) -> str:
    """A Msg (or None) in `language`; `fallback` (English text) when it is None."""
    if value is None:
        return fallback if (language or current_language()) == "en" else ""
    return render(value, language)


def staff_rule(entry: Any) -> str:
    """What staff pages show for a row or award: always English, the same text the
    rules wrote (`rule`), from its message when it has one."""
    return explain_entry(entry, "en") or getattr(entry, "rule", "") or ""


def init_app(app: Any) -> None:
    app.add_template_filter(explain_entry, "explain_entry")
    app.add_template_filter(explain, "explain")
    app.add_template_filter(staff_rule, "staff_rule")
