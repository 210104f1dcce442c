"""The breath-alcohol (BrAC) rule: what reading counts as positive, and which
readings are possible at all.

Readings are whole thousandths of g/210 L (0.020 -> 20), never float. Check-ins,
the JSON API and FHIR imports all read a BrAC through here. Imports only the
standard library.
"""

from __future__ import annotations

from decimal import Decimal

BRAC_POSITIVE_AT_MILLI = 20  # 0.020 g/210 L, the usual breath-alcohol cutoff
BRAC_MAX_MILLI = 600  # 0.600 g/210 L: above any reading a living person gives
BRAC_OUT_OF_RANGE = "Enter the BrAC reading, between 0.000 and 0.600."


def brac_in_range(milli: int | Decimal) -> bool:
    """A possible reading: thousandths from 0 to BRAC_MAX_MILLI. A Decimal (a
    parsed reading, compared before it becomes an int) is compared as it is."""
    return 0 <= milli <= BRAC_MAX_MILLI


def brac_result(milli: int) -> str:
    """The alcohol result a reading gives: "positive" from the cutoff up."""
    return "positive" if milli >= BRAC_POSITIVE_AT_MILLI else "negative"
