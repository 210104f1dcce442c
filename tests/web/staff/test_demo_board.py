"""The demo clinic's board on a Sunday, when nobody tests: it names the next clinic
day, and that day has people due."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from cm_service.services.admin import demo
from tests.support.clock import freeze
from tests.support.pages import page_of
from tests.support.web import log_in

SUNDAY = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)  # noon in Los Angeles


@pytest.fixture
def demo_staff(app, client, monkeypatch):
    freeze(monkeypatch, lambda: SUNDAY)
    logins = demo.load_demo(
        now=SUNDAY, secret=b"demo draws", participants_count=6, seed=7
    )
    assert log_in(client, "staff", logins.passwords["staff"]).status_code == 302
    return client


def test_the_demo_board_on_a_sunday_names_monday_and_monday_has_people_due(
    demo_staff,
):
    sunday = page_of(demo_staff.get("/staff/today"))
    monday = page_of(demo_staff.get("/staff/today?day=2026-12-07"))

    note = sunday[sunday.index('id="next-day"') :]
    note = re.sub(r"<[^>]+>", "", note[: note.index("</p>")])
    assert "Nothing due today — next: Mon 7 Dec" in note
    due = monday[monday.index('id="waiting"') : monday.index('id="checked-in"')]
    assert len(re.findall(r"href=\"/staff/participants/\d+\"", due)) >= 3
