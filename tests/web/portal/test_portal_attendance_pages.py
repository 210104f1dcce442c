"""The portal's progress and history pages speak of what the protocol rewards
(issue 13): sessions for someone paid for coming to group, tests and sessions for a
combined protocol, tests alone (as before) for a specimen-only one; in English and
Spanish, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import Event
from cm_service.services.cm import checkins, nightly
from tests.support.portal import PIN, portal_log_in
from tests.web.attendance import (
    NEXT_TUESDAY,
    attendance_only,
    combined,
    section,
    words,
)
from tests.web.portal.test_portal_language import choose
from tests.web.portal.test_portal_pages import record_negatives

THURSDAY_5 = NEXT_TUESDAY.replace(day=5)  # Thu 5 February 2026, week 5


def page_of(client, clinic, code: str, path: str) -> str:
    portal_log_in(client, clinic.id, code=code)
    return client.get(path).get_data(as_text=True)


def main_of(page: str) -> str:
    return words(section(page, "<main", "</main>"))


def row(page: str, week: int) -> str:
    """One row of the weekly table, as read: "Week 4 2 of 2 3 draws"."""
    return words(section(page, f'<tr id="week-{week}">', "</tr>"))


def history_items(page: str) -> list[str]:
    listed = section(page, '<ol class="history" id="history">', "</ol>")
    return [words(item) for item in re.findall(r"<li\b.*?</li>", listed, re.S)]


def marks(page: str, kind: str) -> int:
    return page.count(f'class="mark {kind}"')


def after_thursday(clock) -> None:
    """Thursday 5 February, afternoon in Chicago: Tuesday's group is over."""
    clock.now = datetime(2026, 2, 5, 20, 0, tzinfo=UTC)


# -- attendance only -------------------------------------------------------------


def test_progress_counts_group_sessions_not_tests(client, staff, clinic):
    attendance_only(staff, clinic, pin=PIN)

    page = page_of(client, clinic, "P-0100", "/me/progress")

    text = main_of(page)
    assert (
        "What you earned each week, and whether you attended each group session" in text
    )
    assert "Weeks 1 to 5: 3 prize draws earned; 2 of 2 group sessions attended." in text
    assert "Marks: one per group session." in text
    assert "Group sessions attended" in text
    assert row(page, 4) == "Week 4 2 of 2 3 draws"
    assert row(page, 5) == "Week 5 0 0 draws"
    assert marks(page, "session-attended") == 2
    assert 'class="mark test-' not in page
    assert "test" not in text.lower()
    assert "negative" not in text.lower()
    assert "$" not in text


def test_history_lists_each_group_session_newest_first(client, staff, clinic):
    attendance_only(staff, clinic, pin=PIN)

    page = page_of(client, clinic, "P-0100", "/me/history")

    text = main_of(page)
    assert "Newest first: each group session and what it earned" in text
    items = history_items(page)
    assert items[0].startswith(
        "Jan 29, 2026 Group session: Attended Earned 2 prize draws"
    )
    assert items[1].startswith(
        "Jan 27, 2026 Group session: Attended Earned 1 prize draw"
    )
    assert len(items) == 2
    assert "test" not in text.lower()
    assert "You attended a session" not in text


def test_a_group_the_nightly_job_marks_missed_reads_missed(
    client, clock, staff, clinic
):
    person = attendance_only(staff, clinic, pin=PIN)
    # Wednesday night the job closes Tuesday: nobody checked them in.
    nightly.run_nightly(
        clinic.id, NEXT_TUESDAY, now=datetime(2026, 2, 5, 9, 0, tzinfo=UTC)
    )
    after_thursday(clock)
    checkins.record_attendance(staff, person.id, THURSDAY_5, "group", now=clock.now)
    missed = db.session.scalars(
        select(Event).where(Event.participant_id == person.id, Event.kind == "missed")
    ).one()
    assert (missed.collected_on, missed.session_type) == (NEXT_TUESDAY, "group")

    progress = page_of(client, clinic, "P-0100", "/me/progress")
    history = client.get("/me/history").get_data(as_text=True)

    assert row(progress, 5) == "Week 5 1 of 2 1 draw"
    assert marks(progress, "session-missed") == 1
    assert marks(progress, "session-attended") == 3
    assert "3 of 4 group sessions attended" in main_of(progress)
    items = history_items(history)
    # Back to 1 draw after the missed group (the preset resets on missed).
    assert items[0].startswith("Feb 5, 2026 Group session: Attended Earned 1 prize")
    assert items[1] == "Feb 3, 2026 Group session: Missed"
    assert items[2].startswith("Jan 29, 2026 Group session: Attended")


def test_an_excused_group_and_one_not_yet_recorded(client, clock, staff, clinic):
    person = attendance_only(staff, clinic, pin=PIN)
    clock.now = datetime(2026, 2, 6, 18, 0, tzinfo=UTC)  # Friday; no nightly run
    checkins.excuse_session(
        staff, person.id, NEXT_TUESDAY, "group", "At the hospital", now=clock.now
    )

    progress = page_of(client, clinic, "P-0100", "/me/progress")
    history = client.get("/me/history").get_data(as_text=True)

    assert row(progress, 5) == "Week 5 0 of 2 0 draws"
    assert marks(progress, "session-excused") == 1
    assert marks(progress, "session-pending") == 1
    items = history_items(history)
    assert items[:2] == [
        "Feb 5, 2026 Group session: No attendance recorded yet",
        "Feb 3, 2026 Group session: Excused",
    ]


def test_progress_and_history_read_in_spanish(client, staff, clinic):
    attendance_only(staff, clinic, pin=PIN)
    portal_log_in(client, clinic.id, code="P-0100")
    choose(client, "es")

    progress = client.get("/me/progress").get_data(as_text=True)
    history = client.get("/me/history").get_data(as_text=True)

    text = main_of(progress)
    assert "Lo que ganó cada semana y si asistió a cada sesión de grupo" in text
    assert (
        "Semanas 1 a 5: ganó 3 sorteos de premio; asistió a 2 de 2 sesiones de grupo."
        in text
    )
    assert "Marcas: una por sesión de grupo." in text
    assert "Sesiones de grupo a las que asistió" in text
    assert row(progress, 4) == "Semana 4 2 de 2 3 sorteos"
    assert "prueba" not in text.lower()
    items = history_items(history)
    assert items[0].startswith(
        "29 ene 2026 Sesión de grupo: Asistió Ganó 2 sorteos de premio"
    )
    assert "Lo más reciente primero: cada sesión de grupo y lo que ganó" in main_of(
        history
    )
    for page in (progress, history):
        assert "Group" not in main_of(page)
        assert "attended" not in main_of(page)


# -- combined --------------------------------------------------------------------


def test_a_combined_progress_shows_tests_and_sessions_labelled(client, staff, clinic):
    combined(staff, clinic, pin=PIN)

    page = page_of(client, clinic, "P-0200", "/me/progress")

    text = main_of(page)
    assert (
        "What you earned each week, each test's result and whether you attended "
        "each group session" in text
    )
    assert (
        "Weeks 1 to 5: $6.25 and 3 prize draws earned; 2 negative tests out of 13; "
        "2 of 2 group sessions attended." in text
    )
    assert (
        "Bars: the money you earned each week (the week number is under each bar). "
        "The prize draws you earned are in the table." in text
    )
    assert "Round marks: one per test." in text
    assert "Square marks: one per group session." in text
    assert "Week Tests and group sessions Earned" in text
    assert row(page, 1) == (
        "Week 1 Negative tests: 2 of 3 Group sessions attended: 0 $6.25"
    )
    assert row(page, 4) == (
        "Week 4 Negative tests: 0 of 3 Group sessions attended: 2 of 2 3 draws"
    )
    assert marks(page, "test-negative") == 2
    assert marks(page, "session-attended") == 2


def test_a_combined_history_lists_test_days_and_sessions(client, staff, clinic):
    combined(staff, clinic, pin=PIN)

    page = page_of(client, clinic, "P-0200", "/me/history")

    assert (
        "Newest first: each test day and group session and what it earned"
        in main_of(page)
    )
    items = history_items(page)
    thursday = [item for item in items if item.startswith("Jan 29, 2026")]
    assert [item.split(" Earned")[0] for item in thursday] == [
        "Jan 29, 2026 Group session: Attended"
    ]
    assert any(
        item.startswith("Jan 30, 2026 Test day: No result recorded") for item in items
    )
    assert any(
        item.startswith("Jan 7, 2026 Test day: Negative Earned 15 points")
        for item in items
    )


# -- specimen only: as before ----------------------------------------------------


def test_a_specimen_only_progress_and_history_say_nothing_of_sessions(
    client, staff, clinic, person
):
    record_negatives(staff, person, 3)

    progress = page_of(client, clinic, "P-0001", "/me/progress")
    history = client.get("/me/history").get_data(as_text=True)

    text = main_of(progress)
    assert "What you earned each week, and each test's result" in text
    assert "Weeks 1 to 5: $21.25 earned; 3 negative tests out of 13." in text
    assert "Marks: one per test." in text
    assert row(progress, 1) == "Week 1 3 of 3 $21.25"
    assert marks(progress, "test-negative") == 3
    assert "session" not in text.lower()
    assert "session" not in main_of(history).lower()
    assert history_items(history)[0] == "Feb 2, 2026 Test day: No result yet"
