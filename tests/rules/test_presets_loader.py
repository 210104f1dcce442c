from __future__ import annotations

from fractions import Fraction

import pytest

from cm_service.rules import format_cents, load_preset, preset_keys
from cm_service.rules.money import ordinal, round_half_up


def test_the_six_published_presets_ship():
    assert preset_keys() == [
        "attendance-prize",
        "ca-recovery-incentives",
        "higgins-1994",
        "mcdonell-etg-2017",
        "petry-ctn-2005",
        "va-prize-2014",
    ]


def test_an_unknown_preset_is_a_key_error():
    with pytest.raises(KeyError):
        load_preset("higgins-1991")


def test_load_preset_returns_a_fresh_raw_document():
    first = load_preset("higgins-1994")
    first["name"] = "changed"

    assert load_preset("higgins-1994")["name"] != "changed"


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (0, "$0.00"),
        (5, "$0.05"),
        (99750, "$997.50"),
        (123450, "$1,234.50"),
        (-250, "-$2.50"),
    ],
)
def test_money_displays_as_dollars_with_separators(cents, text):
    assert format_cents(cents) == text


@pytest.mark.parametrize(
    ("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (11, "11th"), (22, "22nd")]
)
def test_ordinals_read_naturally(n, text):
    assert ordinal(n) == text


def test_rounding_is_half_up_from_exact_fractions():
    assert [round_half_up(Fraction(n, 2)) for n in (1, 3, 5, -1)] == [1, 2, 3, 0]
