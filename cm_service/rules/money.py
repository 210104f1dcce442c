"""Money display and the one rounding rule of the engine.

Owns how cents are shown ($1,234.50) and how an exact Fraction of cents becomes whole
cents (half up), used only at display or report edges. Imports only the standard
library.
"""

from __future__ import annotations

import math
from fractions import Fraction


def format_cents(cents: int) -> str:
    """Whole cents as dollars with thousands separators: 123450 -> "$1,234.50"."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


def round_half_up(value: Fraction | int) -> int:
    """The nearest integer, halves rounded up (183.5 -> 184): the display rule."""
    if type(value) is int:  # whole cents already (no Fraction arithmetic)
        return value
    return math.floor(value + Fraction(1, 2))


def ordinal(n: int) -> str:
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = (
        "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    )
    return f"{n}{suffix}"
