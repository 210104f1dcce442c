"""Prize bowls: tiers, exact expected values and replayable draws.

Owns the arithmetic of the fishbowl (Petry): a bowl is data (slips per tier, each tier
with a catalogue value), draws are with replacement (VA REAP trial), and a draw's tier
comes from an HMAC digest so an auditor holding the secret can replay every draw.
Imports only the standard library.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .messages import N_, Cents, Msg, english, msg

# The usual tiers in plain words; a clinic's own tier names are shown as written.
TIER_NAMES = {
    "good_job": N_("Good job!"),
    "small": N_("Small prize"),
    "large": N_("Large prize"),
    "jumbo": N_("Jumbo prize"),
}
CHEERS = {
    "large": "A large prize. Congratulations!",
    "jumbo": "The jumbo prize! Congratulations!",
}


@dataclass(frozen=True)
class Tier:
    """One kind of slip in a bowl: `slips` of them, each worth `value_cents`."""

    tier: str
    slips: int
    value_cents: int


def expected_value_cents(bowl: Sequence[Tier]) -> Fraction:
    """The exact expected value of one draw, in cents (bowl A: 919/5 = 183.8 ¢).

    Raises ValueError for an empty bowl.
    """
    total = sum(tier.slips for tier in bowl)
    if total <= 0:
        raise ValueError("a bowl needs at least one slip")
    return Fraction(sum(tier.slips * tier.value_cents for tier in bowl), total)


def draw_digest(secret: bytes, draw_ref: str) -> bytes:
    """HMAC-SHA256 of the draw's reference under the clinic's secret (32 bytes)."""
    return hmac.new(secret, draw_ref.encode("utf-8"), hashlib.sha256).digest()


def pick_tier(bowl: Sequence[Tier], digest: bytes) -> Tier:
    """The tier a digest selects: big-endian integer mod the slip count, walking tiers.

    Slip r (0-based) belongs to the first tier whose cumulative slips exceed r, so
    every slip is equally likely up to the bias of a 256-bit number mod the slip
    count (below 2^-240 for any real bowl). Raises ValueError for an empty bowl.
    """
    total = sum(tier.slips for tier in bowl)
    if total <= 0:
        raise ValueError("a bowl needs at least one slip")
    slip = int.from_bytes(digest, "big") % total
    for tier in bowl:
        if slip < tier.slips:
            return tier
        slip -= tier.slips
    raise AssertionError("unreachable: the slip index is below the total")


def tier_name(tier: str) -> str:
    """A tier in words: "Small prize", "Good job!"; an unknown `try_again` reads
    "Try again"."""
    return TIER_NAMES.get(tier) or tier.replace("_", " ").strip().capitalize()


def prize_words(tier: str, value_cents: int) -> str:
    """A draw's outcome as the participant hears it: "Small prize: $1.00", or
    "Good job! (no prize this time)" for a slip worth nothing."""
    return english(prize_msg(tier, value_cents))


def prize_msg(tier: str, value_cents: int) -> Msg:
    """`prize_words` as a message: the usual tiers translated, a clinic's own
    tier name as written."""
    name: object = Msg(TIER_NAMES[tier]) if tier in TIER_NAMES else tier_name(tier)
    if value_cents <= 0:
        return msg(N_("%(tier)s (no prize this time)"), tier=name)
    if tier not in TIER_NAMES and "prize" not in tier_name(tier).lower():
        name = msg(N_("%(tier)s prize"), tier=name)
    return msg(N_("%(tier)s: %(value)s"), tier=name, value=Cents(value_cents))


def draw_msg(number: int, tier: str, value_cents: int) -> Msg:
    """A draw's ledger explanation: "Draw 3 — Small prize: $1.00"."""
    return msg(
        N_("Draw %(number)s — %(prize)s"),
        number=number,
        prize=prize_msg(tier, value_cents),
    )


def cheer(tier: str) -> str | None:
    """A short celebratory line for the big tiers (large, jumbo); None otherwise."""
    return CHEERS.get(tier)
