"""The main menu marks the area a page belongs to, one link at a time."""

from __future__ import annotations

import re

import pytest

from tests.support.factories import make_staff
from tests.support.pages import page_of
from tests.support.web import log_in

MENU = re.compile(r'<nav aria-label="Main">(.*?)</nav>', re.S)
CURRENT = re.compile(r'aria-current="page">([^<]+)</a>')


@pytest.mark.parametrize(
    ("path", "marked"),
    [
        ("/staff/today", ["Today"]),
        ("/staff/checkin", ["Check in"]),
        ("/staff/participants", ["Participants"]),
        ("/staff/participants/new", ["Participants"]),
        ("/staff/participants/{id}", ["Participants"]),
        ("/staff/participants/{id}/consents", ["Participants"]),
        ("/staff/participants/{id}/reminders", ["Participants"]),
        ("/staff/participants/{id}/funding", ["Participants"]),
        ("/staff/participants/{id}/sessions", ["Participants"]),
        ("/staff/participants/{id}/draws", ["Participants"]),
        ("/staff/participants/{id}/checkin", ["Check in"]),
        ("/staff/groups", ["Groups"]),
        ("/staff/rewards", ["Rewards"]),
        ("/staff/funding", ["Funding"]),
        ("/staff/custody", ["Custody"]),
        ("/staff/protocols", ["Protocols"]),
        ("/staff/protocols/build", ["Protocols"]),
        ("/staff/approvals", ["Approvals"]),
        ("/staff/ops/", ["Operations"]),
        ("/staff/reports/", ["Reports"]),
        ("/staff/account/", []),  # "My account" is marked, outside the menu
    ],
)
def test_the_menu_marks_the_pages_area(client, clinic, person, path, marked):
    make_staff(clinic, "boss", "admin")
    make_staff(clinic, "reader", "auditor")
    user = "boss" if "/build" in path or "/new" in path else "tech"
    if "/reports" in path:
        user = "reader"
    log_in(client, user)

    page = page_of(client.get(path.format(id=person.id)))

    assert CURRENT.findall(MENU.search(page).group(1)) == marked
