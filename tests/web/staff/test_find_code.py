"""Finding a participant by code the way people type it: any case, with or without
the dash, or only the number; several matches are offered to choose from."""

from __future__ import annotations

import re

import pytest

from tests.support.factories import make_enrolled, make_staff
from tests.support.pages import page_of


@pytest.fixture
def dozen(staff, clinic, other_clinic):
    people = {}
    for n in range(1, 13):
        person, _ = make_enrolled(staff, clinic, code=f"P-{n:04d}")
        people[person.code] = person
    elsewhere = make_staff(other_clinic, "elsewhere")
    make_enrolled(elsewhere, other_clinic, code="P-0013")
    make_enrolled(elsewhere, other_clinic, code="Q-0099")
    return people


def find(client, typed: str):
    return client.get("/staff/checkin", query_string={"code": typed})


@pytest.mark.parametrize(
    "typed",
    [
        "P-0003",
        "p-0003",
        "p0003",
        "P0003",
        " p0003 ",
        "3",
        "03",
        "0003",
        "p3",
        "P-3",
        "p-03",
    ],
)
def test_a_code_typed_loosely_opens_its_checkin(logged_in, dozen, typed):
    response = find(logged_in, typed)

    assert response.status_code == 302
    assert response.headers["Location"] == (
        f"/staff/participants/{dozen['P-0003'].id}/checkin"
    )


def test_a_number_ending_several_codes_offers_them_to_choose(logged_in, dozen):
    response = find(logged_in, "1")

    page = page_of(response)
    assert response.status_code == 200
    choices = page[page.index('id="choices"') :]
    choices = choices[: choices.index("</ul>")]
    assert "2 participants match" in page
    for code in ("P-0001", "P-0011"):
        url = f"/staff/participants/{dozen[code].id}/checkin"
        assert f'<a href="{url}">{code}</a>' in choices
    assert "P-0010" not in choices


def test_another_clinics_code_is_not_found_in_any_form(logged_in, dozen):
    for typed in ("P-0013", "p0013", "13", "99"):
        response = find(logged_in, typed)

        assert response.status_code == 404
        assert "No participant with that code in this clinic." in page_of(response)


def test_the_board_and_the_checkin_page_focus_the_code_box(logged_in, dozen):
    for path in ("/staff/today", "/staff/checkin"):
        page = page_of(logged_in.get(path))

        box = re.search(r'<input[^>]*id="code"[^>]*>', page).group(0)
        assert " autofocus" in box, path


def test_the_start_of_a_code_offers_every_code_starting_so(logged_in, dozen):
    response = find(logged_in, "p00")

    page = page_of(response)
    assert response.status_code == 200
    choices = page[page.index('id="choices"') :]
    choices = choices[: choices.index("</ul>")]
    assert "12 participants match" in page
    assert re.findall(r">(P-\d{4})</a>", choices) == sorted(dozen)


def test_the_start_of_another_clinics_code_finds_nothing(logged_in, dozen):
    response = find(logged_in, "q00")

    assert response.status_code == 404
    assert "No participant with that code in this clinic." in page_of(response)


def test_letters_and_a_number_without_zeros_find_that_number(logged_in, dozen):
    response = find(logged_in, "p-12")

    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        f"/participants/{dozen['P-0012'].id}/checkin"
    )
