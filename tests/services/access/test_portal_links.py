"""Each clinic's portal link (issue 15): a slug of its name and six random letters
or digits, so the clinics cannot be listed by counting or guessing."""

from __future__ import annotations

import re

import pytest

from cm_service.services.access import portal_links
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.errors import NotFound
from tests.support.factories import NOW

SUFFIX = r"[a-z0-9]{6}"


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("Riverside Recovery", "riverside-recovery"),
        ("  Clínica Río Grande (Norte) ", "clinica-rio-grande-norte"),
        ("St. Mary's — Unit 4", "st-mary-s-unit-4"),
        ("東京クリニック", "clinic"),  # nothing Latin to keep
        ("A" * 200, "a" * portal_links.NAME_PART_MAX),
    ],
)
def test_a_slug_is_the_name_in_plain_letters_and_six_random_characters(name, start):
    slug = portal_links.new_slug(name)

    assert re.fullmatch(rf"{re.escape(start)}-{SUFFIX}", slug), slug
    assert len(slug) <= portal_links.SLUG_MAX


def test_slugs_of_one_name_differ():
    assert len({portal_links.new_slug("Same Name") for _ in range(50)}) == 50


def test_a_new_clinic_gets_its_own_link(app):
    first = clinics.create_clinic(SYSTEM, "Same Name", "UTC", now=NOW)
    second = clinics.create_clinic(SYSTEM, "Same Name", "UTC", now=NOW)

    assert re.fullmatch(rf"same-name-{SUFFIX}", first.portal_slug)
    assert re.fullmatch(rf"same-name-{SUFFIX}", second.portal_slug)
    assert first.portal_slug != second.portal_slug
    assert portal_links.clinic_of(first.portal_slug).id == first.id


def test_a_clinic_never_gets_a_slug_already_taken(app, monkeypatch):
    taken = clinics.create_clinic(SYSTEM, "Same Name", "UTC", now=NOW).portal_slug
    offered = iter([taken, taken, "same-name-zzzzzz"])
    monkeypatch.setattr(portal_links, "new_slug", lambda _name: next(offered))

    clinic = clinics.create_clinic(SYSTEM, "Same Name", "UTC", now=NOW)

    assert clinic.portal_slug == "same-name-zzzzzz"


@pytest.mark.parametrize("slug", ["", "nope", "5", "x" * 300])
def test_an_unknown_slug_is_not_found(app, slug):
    clinics.create_clinic(SYSTEM, "Test Clinic", "UTC", now=NOW)

    with pytest.raises(NotFound):
        portal_links.clinic_of(slug)
