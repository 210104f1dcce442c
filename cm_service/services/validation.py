"""The one set of checks for what people type (forms, API bodies, query strings, the
CLI): dates, text, whole numbers and JSON documents. A refusal is InvalidInput naming
the field, raised before anything is written, so no bad value ever reaches the
database (where PostgreSQL would refuse it with a 500: a NUL, a number past INTEGER,
a string past its column) or a page that reads it afterwards.

Dates: a date outside these bounds is a typing mistake, and the calendar arithmetic
of a protocol (start + 7 x weeks, the month after a custody month) must stay inside
what `date` can hold: an accepted year 9999 breaks every page that reads it afterwards.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from .errors import InvalidInput

FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2100, 12, 31)
# Plans (an enrolment start, a pause, a closure, an exemption) reach at most this far
# past the clinic's today: a later date is a mistyped year.
HORIZON = timedelta(days=366)
FAR = "The date is more than a year from today: check the year."

# PostgreSQL INTEGER, the type of every count, amount and id column.
INT_MAX = 2**31 - 1
# A reason, memo or note: a few sentences, as every form's textarea allows.
REASON_MAX = 500
# How deep a JSON document may nest: a protocol spec or a FHIR Bundle needs about 8
# levels; parsing and walking a document recurse once per level.
MAX_DEPTH = 32
# Direction embeddings, overrides and isolates (Unicode TR 9): they reorder how the
# text around them is displayed ("Trojan Source", CVE-2021-42574), so a memo could
# read otherwise than what is stored. The marks LRM and RLM stay allowed.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKS = frozenset("\n\r\t")


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


def check_text(
    field: str,
    value: object,
    *,
    max_length: int,
    required: bool = False,
    multiline: bool = False,
) -> str:
    """`value` stripped, if it is text a person could have typed: a string that
    encodes as UTF-8 (no lone surrogate), without NUL or other control characters
    (`multiline` text may hold line breaks and tabs), without direction overrides,
    and at most `max_length` characters (the column's width). Text that shows
    nothing (only zero-width characters) is blank: "" (refused when `required`).
    None is "". Raises InvalidInput(field) otherwise."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(field, "Expected text.")
    if not _encodes(value):
        raise InvalidInput(field, "The text has an invalid character: retype it.")
    value = value.strip()
    bad = _unwanted(value, multiline)
    if bad is not None:
        raise InvalidInput(field, f"Remove the invisible control character {bad}.")
    if len(value) > max_length:
        raise InvalidInput(field, f"Use at most {max_length} characters.")
    if not _shows_something(value):
        if required:
            raise InvalidInput(field, "This field is required.")
        return ""
    return value


def check_reason(reason: object, message: str, field: str = "reason") -> str:
    """A reason, memo or note: multiline text of 3 to REASON_MAX characters;
    `message` says what to write when it is blank or shorter."""
    text = check_text(field, reason, max_length=REASON_MAX, multiline=True)
    if len(text) < 3:
        raise InvalidInput(field, message)
    return text


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _unwanted(text: str, multiline: bool) -> str | None:
    """The first control character `text` must not hold, as U+XXXX, or None."""
    for char in text:
        if char in _BIDI_CONTROLS:
            return f"U+{ord(char):04X}"
        if multiline and char in _LINE_BREAKS:
            continue
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return f"U+{ord(char):04X}"
    return None


def _shows_something(text: str) -> bool:
    return any(
        not char.isspace() and unicodedata.category(char) != "Cf" for char in text
    )


def check_int(
    field: str,
    value: object,
    *,
    minimum: int,
    maximum: int,
    message: str | None = None,
) -> int:
    """`value` if it is a whole number (not a bool, not a float) in [minimum,
    maximum]; InvalidInput(field, `message` or the range) otherwise. `maximum` is
    the field's sensible cap, never past INT_MAX (the column's)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, message or "Enter a whole number.")
    if not minimum <= value <= min(maximum, INT_MAX):
        range_ = f"from {minimum:,} to {min(maximum, INT_MAX):,}"
        raise InvalidInput(field, message or f"Enter a whole number {range_}.")
    return value


# A JSON string or a structural character: brackets inside strings are not nesting.
_JSON_PIECE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]')


def too_deep(text: str | bytes, max_depth: int = MAX_DEPTH) -> str | None:
    """Where a JSON text nests deeper than `max_depth`, as the path of the member
    holding the too-deep value ("entry[0].resource.code", "" for the document
    itself), or None. Found by scanning, not parsing: json.loads recurses once per
    level, so a 50,000-deep text would raise RecursionError."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    stack: list[str | int | None] = []  # per open container: its key or index
    expect_key = False
    for match in _JSON_PIECE.finditer(text):
        piece = match.group()
        if piece in ("[", "{"):
            if len(stack) >= max_depth:
                return _member(stack)
            stack.append(None if piece == "{" else 0)
            expect_key = piece == "{"
        elif piece in ("]", "}"):
            if stack:
                stack.pop()
            expect_key = False
        elif piece == ",":
            if stack and isinstance(stack[-1], int):
                stack[-1] += 1
            expect_key = bool(stack) and not isinstance(stack[-1], int)
        elif piece != ":" and expect_key:
            stack[-1] = piece[1:-1]  # an object's key, kept escaped
            expect_key = False
    return None


def _member(stack: list[str | int | None]) -> str:
    """ "entry", 0, "code", 0, 0 -> "entry[0].code": the member, not its items."""
    while stack and not isinstance(stack[-1], str):
        stack = stack[:-1]
    path = ""
    for part in stack:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part is not None:
            path += f".{part}" if path else part
    return path


def json_values(value: object, path: str = "") -> Iterator[tuple[str, object, int]]:
    """Every value of a parsed JSON document with its path and depth (the document
    is depth 1), walked without recursion. An object's keys come too, under the
    object's own path (a bad key is not repeated in the path naming it)."""
    pending: list[tuple[str, object, int]] = [(path, value, 1)]
    while pending:
        here, item, depth = pending.pop()
        yield here, item, depth
        if isinstance(item, dict):
            for key, child in item.items():
                yield here, key, depth
                name = f"{here}.{key}" if here else str(key)
                pending.append((name, child, depth + 1))
        elif isinstance(item, list):
            pending.extend((f"{here}[{i}]", c, depth + 1) for i, c in enumerate(item))


def check_depth(field: str, document: object, max_depth: int = MAX_DEPTH) -> None:
    """InvalidInput(field) when a parsed document nests deeper than `max_depth`
    (before anything recursive, deepcopy or validation, walks it)."""
    for path, _, depth in json_values(document):
        if depth > max_depth:
            where = f"{field}.{path}" if path and field else (path or field)
            raise InvalidInput(where, f"Nest at most {max_depth} levels deep.")
