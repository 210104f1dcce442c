"""A protocol's short name: its spec's label, else its preset's for a version
stored before presets had labels, else its name."""

from __future__ import annotations

import copy

from cm_service.models import Protocol
from cm_service.rules import load_preset
from cm_service.services.admin import clinics
from cm_service.services.admin.protocol_admin import protocol_label
from tests.support.factories import NOW, make_staff, protocol_id


def _unlabelled(preset: str, **changes) -> dict:
    document = copy.deepcopy(load_preset(preset))
    del document["label"]
    return {**document, **changes}


def test_a_labelled_version_is_named_by_its_label(clinic):
    preset = clinics.protocols_of(clinic.id)[0]

    assert protocol_label(preset) == preset.spec["label"]
    assert protocol_label(preset) != preset.name


def test_a_version_stored_before_labels_keeps_its_presets_short_name(clinic):
    # A row as an existing clinic has it: the preset's name, no label.
    old = Protocol(
        clinic_id=clinic.id, key="higgins-1994", version=99,
        name=load_preset("higgins-1994")["name"], spec=_unlabelled("higgins-1994"),
        is_preset=True, created_at=NOW,
    )  # fmt: skip

    assert protocol_label(old) == "Escalating vouchers, cocaine"


def test_a_renamed_copy_of_a_preset_is_named_by_its_own_name(clinic):
    admin = make_staff(clinic, "boss", role="admin")
    document = _unlabelled("higgins-1994", name="Our cocaine vouchers")

    version = clinics.add_protocol_version(admin, clinic.id, document, now=NOW)

    assert protocol_label(version) == "Our cocaine vouchers"
    assert version.id != protocol_id(clinic.id, "higgins-1994")


def test_a_clinics_own_protocol_without_a_label_is_named_by_its_name(clinic):
    admin = make_staff(clinic, "boss", role="admin")
    document = _unlabelled("va-prize-2014", key="our-draws", name="Our draws")

    version = clinics.add_protocol_version(admin, clinic.id, document, now=NOW)

    assert protocol_label(version) == "Our draws"
