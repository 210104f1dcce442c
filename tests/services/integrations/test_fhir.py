"""The FHIR mapping: every analyte codes and round-trips; the LOINC table is sane."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cm_service import rules
from cm_service.services.cm import checkins
from cm_service.services.errors import NotFound
from cm_service.services.integrations import fhir
from tests.support.consents import EHR_TREATMENT, grant
from tests.support.factories import NOW, START, make_enrolled, make_staff

PRESETS = Path(rules.__file__).resolve().parent / "presets"


def preset_targets() -> set[str]:
    found: set[str] = set()
    for path in PRESETS.glob("*.json"):
        spec = json.loads(path.read_text())
        found |= set(spec.get("targets", {}).get("substances", []))
    return found


def test_every_analyte_the_presets_target_has_a_loinc_code():
    targets = preset_targets()

    assert targets
    assert targets <= set(fhir.URINE_LOINC)


def test_the_loinc_table_names_panel_analytes_with_distinct_codes():
    codes = [code for code, _ in fhir.URINE_LOINC.values()] + [fhir.BREATH_LOINC[0]]

    assert set(fhir.URINE_LOINC) <= set(checkins.ANALYTES)
    assert len(codes) == len(set(codes))
    assert all(
        display.endswith(("in Urine", "Screen method"))
        for _, display in (fhir.URINE_LOINC.values())
    )


@pytest.mark.parametrize("result", checkins.RESULTS)
def test_every_analyte_and_result_round_trips(staff, clinic, other_clinic, result):
    person, _ = make_enrolled(staff, clinic)
    panel = dict.fromkeys(checkins.ANALYTES, result)
    checkins.record_specimen(staff, person.id, START, panel, now=NOW)
    elsewhere = make_staff(other_clinic, "elsewhere")
    twin, _ = make_enrolled(elsewhere, other_clinic, code="P-0002")

    grant(staff, person)

    bundle = fhir.export_observations(
        staff, person.id, now=NOW, recipient=EHR_TREATMENT
    )
    imported = fhir.import_observations(elsewhere, twin.id, bundle, now=NOW)

    assert len(bundle["entry"]) == len(checkins.ANALYTES)
    merged = {}
    for _, event in imported.recorded:
        assert event.collected_on == START
        merged.update(event.results)
    assert merged == panel


def test_the_export_of_another_clinics_participant_is_not_found(staff, other_clinic):
    elsewhere = make_staff(other_clinic, "elsewhere")
    person, _ = make_enrolled(elsewhere, other_clinic)

    with pytest.raises(NotFound):
        fhir.export_observations(staff, person.id, now=NOW, recipient=EHR_TREATMENT)
