"""Explanations as data: a message id and typed arguments, rendered per language.

The rules explain every amount ("3rd consecutive negative: 10 + 2×5 = 20 points
($5.00)"). They build a `Msg`: an English msgid with %(name)s placeholders (the key
of the translation catalogue) and its arguments, typed so each language can write
numbers, money, dates and ordinals its own way: plain ints, `Cents`, `Ordinal`,
`Day`, `IsoDate`, `Term` (a word the catalogue may translate, e.g. a session type),
`Join` (a list of parts) and nested `Msg`. `english()` gives the English text the
engine has always produced; a translated rendering lives outside the rules
(cm_service/i18n_messages.py). `to_json`/`from_json` store a message in a ledger
row. Building one formats nothing, so the fold stays cheap; text is made when read.
Imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .money import format_cents, ordinal


def N_(message: str) -> str:
    """Mark a msgid for extraction (babel.cfg keyword); returns it unchanged."""
    return message


def NP_(context: str, message: str) -> str:
    """Mark a msgid with a context for extraction; returns the message unchanged."""
    return message


def NN_(singular: str, plural_id: str) -> tuple[str, str]:
    """Mark a counted msgid and its plural for extraction."""
    return singular, plural_id


@dataclass(frozen=True, slots=True)
class Msg:
    """A message: `id` an English msgid with %(name)s placeholders, `args` its
    arguments as (name, value) pairs (a tuple, so a message is hashable), and
    `plural` the plural msgid when the message counts `args["num"]`."""

    id: str
    args: tuple[tuple[str, Any], ...] = ()
    plural: str | None = None

    def __str__(self) -> str:
        return english(self)

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.args)


def msg(id: str, args: Mapping[str, Any] | None = None, /, **named: Any) -> Msg:
    """A message from a mapping or keywords: msg(N_("%(n)s points"), n=3)."""
    pairs = tuple((args or {}).items()) + tuple(named.items())
    return Msg(id, pairs)


def plural(ids: tuple[str, str], num: int, **named: Any) -> Msg:
    """A counted message (`ids` from NN_): the singular id for 1, the plural one
    otherwise in English; the catalogue's plural forms elsewhere. `num` counts."""
    return Msg(ids[0], (("num", num), *named.items()), ids[1])


DRAWS = NN_("%(num)s draw", "%(num)s draws")
POINTS_WORTH = NN_("%(num)s point (%(money)s)", "%(num)s points (%(money)s)")


@dataclass(frozen=True, slots=True)
class Cents:
    """Money in whole cents: "$5.00"."""

    cents: int


@dataclass(frozen=True, slots=True)
class Ordinal:
    """A position in a run: "3rd" (Spanish "3.ª")."""

    n: int


@dataclass(frozen=True, slots=True)
class Day:
    """A near day with its weekday: "Mon 2026-01-05"."""

    on: date


@dataclass(frozen=True, slots=True)
class IsoDate:
    """A date on its own: "2026-01-08"."""

    on: date


@dataclass(frozen=True, slots=True)
class Term:
    """A word from data the catalogue may know under `context`, e.g. a session
    type ("group"); English shows it as written."""

    context: str
    word: str


@dataclass(frozen=True, slots=True)
class Join:
    """Parts joined: `how` is "and" ("a and b"), "semicolon" ("a; b") or "comma"."""

    how: str
    items: tuple[Any, ...]


# Words from data the rules name (spec.py session types), for the catalogue.
SESSION_TYPES = (
    NP_("session type", "individual"),
    NP_("session type", "group"),
    NP_("session type", "cbt"),
    NP_("session type", "family"),
    NP_("session type", "twelve_step"),
    NP_("session type", "other"),
)

_JOINERS = {"and": " and ", "semicolon": "; ", "comma": ", "}


def english(value: Any) -> str:
    """The English text of a message or argument, exactly as the engine writes it."""
    if isinstance(value, Msg):
        text = value.id
        named = {}
        for name, arg in value.args:
            named[name] = english(arg)
            if name == "num" and value.plural is not None and arg != 1:
                text = value.plural
        return text % named if named else text
    if isinstance(value, Cents):
        return format_cents(value.cents)
    if isinstance(value, Ordinal):
        return ordinal(value.n)
    if isinstance(value, Day):
        return f"{value.on:%a} {value.on.isoformat()}"
    if isinstance(value, IsoDate):
        return value.on.isoformat()
    if isinstance(value, Term):
        return value.word
    if isinstance(value, Join):
        return _JOINERS[value.how].join(english(item) for item in value.items)
    return str(value)


def message_ids(value: Any) -> set[tuple[str, str | None]]:
    """Every (msgid, plural) a message uses, nested ones included."""
    found: set[tuple[str, str | None]] = set()
    if isinstance(value, Msg):
        found.add((value.id, value.plural))
        for _, arg in value.args:
            found |= message_ids(arg)
    elif isinstance(value, Join):
        for item in value.items:
            found |= message_ids(item)
    return found


# -- storage: JSON-able lists ---------------------------------------------------------


def to_json(value: Any) -> Any:
    """A message as JSON-able data: strings and ints as they are, every other type
    a list tagged by its first item ("m" message, "c" cents, ...)."""
    if isinstance(value, Msg):
        args = [[name, to_json(arg)] for name, arg in value.args]
        return ["m", value.id, args, value.plural]
    if isinstance(value, Cents):
        return ["c", value.cents]
    if isinstance(value, Ordinal):
        return ["o", value.n]
    if isinstance(value, Day):
        return ["d", value.on.isoformat()]
    if isinstance(value, IsoDate):
        return ["i", value.on.isoformat()]
    if isinstance(value, Term):
        return ["t", value.context, value.word]
    if isinstance(value, Join):
        return ["j", value.how, [to_json(item) for item in value.items]]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"not a message argument: {value!r}")
    return value


def from_json(data: Any) -> Any:
    """The message `to_json` stored. Raises ValueError for data it did not write."""
    if isinstance(data, bool):
        raise ValueError("not a stored message")
    if isinstance(data, int | str):
        return data
    if not isinstance(data, list) or not data:
        raise ValueError("not a stored message")
    tag, rest = data[0], data[1:]
    try:
        if tag == "m":
            id, args, plural_id = rest
            pairs = tuple((str(name), from_json(arg)) for name, arg in args)
            return Msg(str(id), pairs, plural_id)
        if tag == "c":
            return Cents(int(rest[0]))
        if tag == "o":
            return Ordinal(int(rest[0]))
        if tag == "d":
            return Day(date.fromisoformat(rest[0]))
        if tag == "i":
            return IsoDate(date.fromisoformat(rest[0]))
        if tag == "t":
            return Term(str(rest[0]), str(rest[1]))
        if tag == "j" and rest[0] in _JOINERS:
            return Join(rest[0], tuple(from_json(item) for item in rest[1]))
    except (TypeError, ValueError, IndexError) as error:
        raise ValueError("not a stored message") from error
    raise ValueError("not a stored message")
