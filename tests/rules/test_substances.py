from __future__ import annotations

from cm_service.rules.substances import (
    SUBSTANCE_WORDS,
    substance_label,
    substance_list,
    substance_words,
)
from cm_service.services.cm.checkins import ANALYTES


def test_every_panel_code_has_plain_words():
    assert set(SUBSTANCE_WORDS) == set(ANALYTES)


def test_codes_read_as_people_say_them():
    assert substance_label("mdma") == "MDMA/ecstasy"
    assert substance_label("pcp") == "PCP"
    assert substance_label("etg") == "Alcohol (EtG)"
    assert substance_label("cocaine") == "Cocaine"
    assert substance_words("cannabis") == "cannabis (THC)"
    assert substance_list(["cocaine", "etg"]) == "cocaine, alcohol (EtG)"


def test_an_unknown_code_is_shown_as_it_is():
    assert substance_words("kryptonite") == "kryptonite"
