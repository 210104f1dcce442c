from __future__ import annotations

from decimal import Decimal

import pytest

from cm_service.rules.breath import (
    BRAC_MAX_MILLI,
    BRAC_OUT_OF_RANGE,
    BRAC_POSITIVE_AT_MILLI,
    brac_in_range,
    brac_result,
)


def test_the_cutoff_is_0_020_and_the_most_is_0_600():
    assert (BRAC_POSITIVE_AT_MILLI, BRAC_MAX_MILLI) == (20, 600)
    assert "0.600" in BRAC_OUT_OF_RANGE


@pytest.mark.parametrize(
    ("milli", "result"), [(0, "negative"), (19, "negative"), (20, "positive")]
)
def test_a_reading_from_the_cutoff_up_is_positive(milli, result):
    assert brac_result(milli) == result


@pytest.mark.parametrize("milli", [0, 20, 600, Decimal("600"), Decimal("0")])
def test_readings_from_zero_to_the_most_are_in_range(milli):
    assert brac_in_range(milli)


@pytest.mark.parametrize("milli", [-1, 601, Decimal("-1"), Decimal("600.5")])
def test_readings_below_zero_or_above_the_most_are_not(milli):
    assert not brac_in_range(milli)
