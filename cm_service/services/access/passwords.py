"""Password and PIN hashing (argon2id, at the cost configured for this app) and the
staff password policy: a minimum length, no composition rules (ASVS 6.2.5), and no
common, breached-list or guessable password (ASVS 6.2.4, 6.2.12)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from ..errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # ASVS 6.2.9: at least 64 allowed; bounded for argon2's sake
COMMON_PASSWORDS = Path(__file__).resolve().parents[2] / "data" / "common-passwords.txt"
# A name shorter than this is refused only as the whole password, not inside it.
_MIN_NAME_INSIDE = 4


def _hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=current_app.config["ARGON2_TIME_COST"],
        memory_cost=current_app.config["ARGON2_MEMORY_KIB"],
        parallelism=1,
    )


def hash_secret(secret: str) -> str:
    return _hasher().hash(secret)


def check_secret(stored_hash: str | None, secret: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher().verify(stored_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list (cm_service/data/common-passwords.txt), case-folded."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().casefold()
        for line in lines
        if line.strip() and not line.startswith("#")
    )


def _squash(text: str) -> str:
    return "".join(text.casefold().split())


def _repetitive(text: str) -> bool:
    """One character, or a short run of up to 4, repeated: aaaaaaaaaaaa, 121212."""
    for size in range(1, 5):
        unit = text[:size]
        if (
            len(text) >= 2 * size
            and unit * (len(text) // size) + unit[: len(text) % size] == text
        ):
            return True
    return False


def _sequential(text: str) -> bool:
    """Each character one up (or one down) from the last: abcdef..., 123456789012
    (digits wrap from 9 to 0), 987654."""
    if len(text) < 3:
        return False
    steps = set()
    for before, after in zip(text, text[1:], strict=False):
        step = ord(after) - ord(before)
        if before.isdigit() and after.isdigit():
            step = (int(after) - int(before)) % 10
            step = -1 if step == 9 else step
        steps.add(step)
    return steps in ({1}, {-1})


def _guessable(text: str) -> str | None:
    folded = text.casefold()
    if not folded.strip():
        return "Use characters other than spaces."
    if _repetitive(folded) or _sequential(folded):
        return "Do not use a repeated or sequential run of characters."
    return None


def password_problem(
    password: str | None,
    *,
    username: str | None = None,
    clinic_name: str | None = None,
) -> str | None:
    """Why this password may not be used, or None when it may."""
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Use at most {MAX_PASSWORD_LENGTH} characters."
    guessable = _guessable(password)
    if guessable:
        return guessable
    folded, squashed = password.casefold().strip(), _squash(password)
    common = common_passwords()
    if folded in common or squashed in common:
        return "That password is on a list of common passwords: choose another."
    for name in (username, clinic_name):
        name = _squash(name or "")
        if not name:
            continue
        if squashed == name or (len(name) >= _MIN_NAME_INSIDE and name in squashed):
            return "Do not use your username or the clinic's name in your password."
    return None


def check_password(
    password: str | None,
    *,
    username: str | None = None,
    clinic_name: str | None = None,
    field: str = "password",
) -> None:
    """Raise InvalidInput(field) when `password_problem` finds one."""
    problem = password_problem(password, username=username, clinic_name=clinic_name)
    if problem:
        raise InvalidInput(field, problem)


# ASCII digits, anchored with \Z: `\d` takes any Unicode digit and `$` a trailing
# newline, neither of which a participant can type at the kiosk.
PIN_PATTERN = re.compile(r"[0-9]{6,12}\Z")
# The most common PIN shapes beyond runs and repeats (DataGenetics' 4- and 6-digit
# PIN analyses: keypad lines, dates-as-pins are allowed).
COMMON_PINS = frozenset(
    {"112233", "123321", "123654", "147258", "159753", "159357", "147852",
     "258456", "258369", "789456", "456789", "102030", "111222", "112358",
     "121314", "131313", "520520", "696969", "123123123", "123456789"}
)  # fmt: skip


def pin_problem(pin: object) -> str | None:
    """Why this PIN may not be used: not 6-12 ASCII digits, or easily guessed."""
    if not isinstance(pin, str) or not PIN_PATTERN.match(pin):
        return "The PIN is 6 to 12 digits."
    if _repetitive(pin) or _sequential(pin) or pin in COMMON_PINS:
        return "That PIN is too easy to guess: avoid runs, repeats and common PINs."
    return None


def check_pin(pin: object, field: str = "pin") -> None:
    problem = pin_problem(pin)
    if problem:
        raise InvalidInput(field, problem)
