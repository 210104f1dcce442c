"""Prize bowls: exact expected values and replayable HMAC draws."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from fractions import Fraction

import pytest

from cm_service.rules import (
    Tier,
    bowl_of,
    draw_digest,
    expected_value_cents,
    pick_tier,
)

from .builders import preset

BOWL_A = tuple(preset("va-prize-2014").phases[0].specimen.bowl)
SMALL = (Tier("a", 1, 0), Tier("b", 2, 100), Tier("c", 3, 500))


@pytest.mark.parametrize(
    ("key", "expected"),
    [("va-prize-2014", Fraction(919, 5)), ("petry-ctn-2005", Fraction(1109, 5))],
)
def test_the_expected_value_per_draw_is_an_exact_fraction(key, expected):
    assert expected_value_cents(bowl_of(preset(key))) == expected


def test_bowl_a_is_worth_183_point_8_cents_a_draw():
    assert expected_value_cents(BOWL_A) * 10 == 1838


def test_each_slip_index_maps_to_exactly_one_tier_in_proportion():
    picks = Counter(pick_tier(SMALL, r.to_bytes(32, "big")).tier for r in range(600))

    assert picks == {"a": 100, "b": 200, "c": 300}


@pytest.mark.parametrize(
    ("residue", "tier"), [(0, "a"), (1, "b"), (2, "b"), (3, "c"), (5, "c")]
)
def test_the_digest_is_read_big_endian_mod_the_slip_count(residue, tier):
    digest = (6 * 12345 + residue).to_bytes(32, "big")

    assert pick_tier(SMALL, digest).tier == tier


def test_a_draw_is_the_hmac_of_its_reference_and_replays_identically():
    secret, reference = b"clinic-secret", "participant:7:draw:3"
    expected = hmac.new(secret, reference.encode(), hashlib.sha256).digest()
    slip = int.from_bytes(expected, "big") % 500

    digest = draw_digest(secret, reference)

    assert digest == expected
    assert pick_tier(BOWL_A, digest) == pick_tier(
        BOWL_A, draw_digest(secret, reference)
    )
    assert pick_tier(BOWL_A, digest) == _walk(BOWL_A, slip)


def _walk(bowl, slip):
    for tier in bowl:
        if slip < tier.slips:
            return tier
        slip -= tier.slips
    raise AssertionError


def test_many_digests_land_roughly_in_proportion_to_the_slips():
    picks = Counter(
        pick_tier(BOWL_A, draw_digest(b"k", f"draw:{n}")).tier for n in range(5000)
    )

    assert 2300 < picks["good_job"] < 2700
    assert 1970 < picks["small"] < 2410
    assert 200 < picks["large"] < 410


def test_an_empty_bowl_is_an_error():
    with pytest.raises(ValueError, match="at least one slip"):
        pick_tier((), b"\x00")
    with pytest.raises(ValueError, match="at least one slip"):
        expected_value_cents(())


def test_a_protocol_without_draws_has_no_bowl():
    assert bowl_of(preset("higgins-1994")) == ()
    assert bowl_of(preset("attendance-prize"))[0] == Tier("good_job", 250, 0)
