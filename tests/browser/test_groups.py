"""Groups in the browser at tablet width: start a group, fill its roster, check a
12-person meeting in with one submit, see a missed meeting reset the next award,
book a participant's sessions, and confirm an off-site meeting at check-in."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import groups, nightly, participants
from tests.browser.test_staff_checkin import TABLET, log_in
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.clock import freeze
from tests.support.factories import NOW, START, make_staff, protocol_id

pytestmark = pytest.mark.browser
TUESDAY = START + timedelta(days=1)  # Tue 6 Jan 2026, the preset's first group day
NAMES = (
    "Ana", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo", "Kit", "Lu",
)  # fmt: skip


def at(day: date, hour: int = 14) -> datetime:
    return datetime.combine(day, time(hour), ZoneInfo("America/Chicago"))


@pytest.fixture
def clinic(live_app):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    make_staff(clinic, "tech")
    return clinic


class Person(NamedTuple):
    """What the test keeps of a participant once its database session ends."""

    id: int
    code: str


def enrolled(clinic, count: int) -> list[Person]:
    """Participants on the attendance-prize preset from Mon 5 Jan."""
    staff = make_staff(clinic, "setup")
    people = []
    for n, name in enumerate(NAMES[:count], 1):
        person = participants.register_participant(
            staff, clinic.id, f"G-{n:03d}", now=NOW, display_name=name
        )
        participants.enroll(
            staff, person.id, protocol_id(clinic.id, "attendance-prize"), START, now=NOW
        )
        people.append(Person(person.id, person.code))
    return people


def at_the_desk(page: Page, base: str, monkeypatch, now: datetime) -> None:
    """The server's clock at `now`, and staff logged in on a tablet."""
    freeze(monkeypatch, lambda: now.astimezone(UTC))
    release_database()
    page.set_viewport_size(TABLET)
    log_in(page, base)


def member_row(page: Page, code: str):
    return page.locator("li.member").filter(has_text=code)


def answer_row(page: Page, code: str):
    return page.locator("#answers tbody tr").filter(has_text=code)


def test_staff_check_a_twelve_person_group_in_with_one_submit(
    page: Page, live_server, clinic, monkeypatch
):
    # Given twelve participants on the attendance preset, on a Tuesday afternoon
    people = enrolled(clinic, 12)
    at_the_desk(page, live_server, monkeypatch, at(TUESDAY))

    # When staff start a weekly Tuesday group and add the twelve by code
    page.get_by_role("link", name="Groups", exact=True).click()
    page.get_by_label("Name").fill("Tuesday group")
    page.get_by_label("Session type").select_option("group")
    page.get_by_label("Meets every").select_option("Tuesday")
    page.get_by_label("Starts at").fill("10:00")
    page.get_by_role("button", name="Start the group").click()
    expect(page.get_by_role("heading", name="Tuesday group")).to_be_visible()
    for person in people:
        page.get_by_label("Participant code").fill(person.code.lower())
        page.get_by_role("button", name="Add to the group").click()
        expect(page.get_by_role("status")).to_contain_text(f"Added {person.code}")
    expect(page.locator("#roster tbody tr")).to_have_count(12)
    screenshot(page, "staff-group-roster")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="Groups", exact=True).click()
    expect(page.locator("#groups tbody tr")).to_contain_text("12")
    assert serious_accessibility_violations(page) == []

    # And open today's meeting: one form with every member
    page.get_by_role("link", name=re.compile("^Check in Tuesday group")).click()
    expect(page.locator("li.member fieldset")).to_have_count(12)
    screenshot(page, "staff-group-meeting")
    assert serious_accessibility_violations(page) == []

    # And mark everyone attended, then one late and one excused, and submit once
    page.get_by_role("button", name="Mark everyone attended").click()
    member_row(page, "G-011").get_by_label("Late").check()
    excused = member_row(page, "G-012")
    excused.get_by_label("Excused", exact=True).check()
    expect(excused.get_by_label("Excuse reason")).to_be_visible()
    expect(member_row(page, "G-001").get_by_label("Excuse reason")).to_be_hidden()
    excused.get_by_label("Excuse reason").fill("Court date")
    screenshot(page, "staff-group-meeting-marked")
    page.get_by_role("button", name="Check in the meeting").click()

    # Then each member's earnings and next session show on one answer page
    expect(page.locator("#recorded")).to_have_text(
        "Checked in: 10 attended · 1 excused · 1 late."
    )
    for person in people[:10]:
        row = answer_row(page, person.code)
        expect(row.locator(".earned")).to_have_text("+1 draw")
        expect(row.locator(".next")).to_have_text(
            "next group session Tue 13 Jan earns 2 draws"
        )
    expect(answer_row(page, "G-011").locator(".earned")).to_have_text("+1 draw")
    expect(answer_row(page, "G-012").locator(".earned")).to_have_text("excused")
    expect(answer_row(page, "G-012").locator(".next")).to_have_text(
        "next group session Tue 13 Jan earns 1 draw"
    )
    screenshot(page, "staff-group-meeting-answer")
    assert serious_accessibility_violations(page) == []


def test_a_missed_meeting_resets_what_the_next_one_pays(
    page: Page, live_server, clinic, monkeypatch
):
    # Given a group of two who both came on 6 Jan; on 13 Jan only G-001 came, and
    # the nightly job closed that day with G-002 unmarked
    staff = make_staff(clinic, "counsellor")
    kept, lapsed = enrolled(clinic, 2)
    group = groups.create_group(
        staff, "Tuesday group", "group", 1, time(10), now=at(START)
    )
    for person in (kept, lapsed):
        groups.add_member(staff, group.id, person.id, START, now=at(START))
    second = TUESDAY + timedelta(weeks=1)
    _, first_lines = groups.roster(staff, group.id, TUESDAY)
    groups.check_in_meeting(
        staff,
        group.id,
        TUESDAY,
        {line.appointment.id: "attended" for line in first_lines},
        now=at(TUESDAY),
    )
    _, second_lines = groups.roster(staff, group.id, second)
    came = next(ln for ln in second_lines if ln.appointment.participant_id == kept.id)
    groups.check_in_meeting(
        staff, group.id, second, {came.appointment.id: "attended"}, now=at(second)
    )
    closed = nightly.run_nightly(clinic.id, second, now=at(second + timedelta(1), 3))
    assert closed.counts.missed_sessions == 1
    third = second + timedelta(weeks=1)
    meeting = f"{live_server}/staff/groups/{group.id}/meetings/{third.isoformat()}"
    at_the_desk(page, live_server, monkeypatch, at(third))

    # When staff check both in at the third meeting
    page.goto(meeting)
    page.get_by_role("button", name="Mark everyone attended").click()
    page.get_by_role("button", name="Check in the meeting").click()

    # Then the run kept pays 3 draws, and the missed meeting reset G-002 to 1
    expect(answer_row(page, "G-001").locator(".earned")).to_have_text("+3 draws")
    expect(answer_row(page, "G-002").locator(".earned")).to_have_text("+1 draw")
    expect(answer_row(page, "G-002").locator(".next")).to_have_text(
        "next group session Tue 27 Jan earns 2 draws"
    )
    screenshot(page, "staff-group-meeting-after-missed")

    # And the meeting's roster now shows each outcome instead of inputs
    page.get_by_role("link", name="This meeting's roster").click()
    expect(page.get_by_text("Everyone booked is checked in.")).to_be_visible()
    expect(page.locator("li.member.done .tag-attended")).to_have_count(2)
    screenshot(page, "staff-group-meeting-done")


def test_staff_book_weekly_sessions_and_cancel_one(
    page: Page, live_server, clinic, monkeypatch
):
    # Given a participant on the attendance preset, on Monday 5 Jan
    (person,) = enrolled(clinic, 1)
    at_the_desk(page, live_server, monkeypatch, at(START))

    # When staff open their sessions from the record and book weekly groups
    page.goto(f"{live_server}/staff/participants/{person.id}")
    page.get_by_role("link", name="Sessions").click()
    expect(page.get_by_text("Nothing booked ahead.")).to_be_visible()
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Session type").select_option("group")
    page.get_by_label("First session").fill("2026-01-06")
    page.get_by_label("Starts at").fill("10:00")
    page.get_by_label("Repeat weekly").check()
    page.get_by_label("Last date (optional)").fill("2026-01-27")
    page.get_by_role("button", name="Book", exact=True).click()

    # Then the four sessions are listed, with what the next one earns
    expect(page.get_by_role("status")).to_have_text(
        "Booked 4 group sessions: Tue 06 Jan 2026 to Tue 27 Jan 2026."
    )
    expect(page.locator("#upcoming tbody tr")).to_have_count(4)
    expect(page.locator("#next-sessions")).to_have_text(
        "Next group session Tue 6 Jan earns 1 draw"
    )
    screenshot(page, "staff-sessions")
    assert serious_accessibility_violations(page) == []

    # And cancelling one needs a reason
    page.get_by_role("button", name="Cancel the session on Tue 13 Jan 2026").click()
    expect(page.locator("#upcoming .error")).to_have_text(
        "Say why the session is cancelled."
    )
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Reason for cancelling the session on Tue 13 Jan 2026").fill(
        "Clinic closed for training"
    )
    page.get_by_role("button", name="Cancel the session on Tue 13 Jan 2026").click()
    expect(page.get_by_role("status")).to_have_text(
        "Cancelled the group session on Tue 13 Jan 2026."
    )
    expect(page.locator("#upcoming tbody tr")).to_have_count(3)


def test_an_off_site_meeting_is_confirmed_at_check_in(
    page: Page, live_server, clinic, monkeypatch
):
    # Given a participant at the front desk with a signed 12-step slip
    (person,) = enrolled(clinic, 1)
    at_the_desk(page, live_server, monkeypatch, at(TUESDAY))
    page.goto(f"{live_server}/staff/participants/{person.id}/checkin")

    # Then the confirmation questions show only for an off-site session type
    offsite = page.locator("#a-offsite")
    expect(offsite).to_be_hidden()
    page.get_by_label("Session type").select_option("twelve_step")
    expect(offsite).to_be_visible()
    screenshot(page, "staff-checkin-off-site")
    assert serious_accessibility_violations(page) == []

    # When staff record it with how and by whom it was confirmed
    offsite.get_by_label("Signed slip").check()
    page.get_by_label("Confirmed by").fill("R. Diaz, meeting secretary")
    page.get_by_role("button", name="Record attendance").click()

    # Then the answer page shows the session recorded
    expect(page.locator("#recorded")).to_contain_text("twelve_step session")
