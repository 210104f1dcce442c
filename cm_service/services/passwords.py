"""Password and PIN hashing (argon2id, at the cost configured for this app) and the
staff password policy: a minimum length, no composition rules (ASVS 6.2.5), and no
common, breached-list or guessable password (ASVS 6.2.4, 6.2.12)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from .errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256  # ASVS 6.2.9: at least 64 allowed; bounded for argon2's sake
COMMON_PASSWORDS = (
    Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
)
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
