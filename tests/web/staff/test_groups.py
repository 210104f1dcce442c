"""The group pages: the list and a new group, the roster, and one meeting checked in
from one form, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import (
    Appointment,
    AuditLog,
    Event,
    GroupMember,
    SessionGroup,
)
from cm_service.services.cm import groups, participants
from tests.support.clock import freeze
from tests.support.factories import NOW, make_enrolled, make_staff
from tests.support.pages import history, page_of
from tests.support.web import csrf_token, log_in

TUESDAY = date(2026, 2, 3)  # week 5 of the attendance preset, a group day
AT_TUESDAY = datetime(2026, 2, 3, 20, 0, tzinfo=UTC)  # 14:00 in Chicago
TEN = time(10)


@pytest.fixture(autouse=True)
def tuesday(monkeypatch):
    freeze(monkeypatch, lambda: AT_TUESDAY)


@pytest.fixture
def group(staff):
    return groups.create_group(staff, "Tuesday group", "group", 1, TEN, now=NOW)


def member(staff, clinic, group, code: str):
    person, _ = make_enrolled(staff, clinic, "attendance-prize", code)
    groups.add_member(staff, group.id, person.id, TUESDAY, now=AT_TUESDAY)
    return person


def appointment_of(person) -> Appointment:
    return db.session.scalars(
        select(Appointment).where(
            Appointment.participant_id == person.id, Appointment.on == TUESDAY
        )
    ).one()


def post(client, path: str, data: dict, page: str | None = None):
    # The token is the session's: any staff page gives it (the groups list is
    # not a view of anyone's record, so fetching it writes no audit row).
    token = csrf_token(client, page or "/staff/groups")
    return client.post(path, data={"csrf_token": token, **data})


def add_by_code(client, group, code: str, joined_on: str = "2026-02-03"):
    path = f"/staff/groups/{group.id}"
    data = {"participant": code, "joined_on": joined_on}
    return post(client, f"{path}/members", data, page=path)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def field_error(page: str, field: str) -> str:
    match = re.search(
        rf'<p class="error" id="{re.escape(field)}-error">([^<]*)</p>', page
    )
    assert match, f"no error shown for {field}"
    return match.group(1)


MEETING = "/staff/groups/{}/meetings/2026-02-03"


def test_the_list_shows_this_clinics_groups_with_a_check_in_link(
    logged_in, staff, clinic, other_clinic, group
):
    elsewhere = make_staff(other_clinic, "elsewhere")
    groups.create_group(elsewhere, "Their group", "group", 1, TEN, now=NOW)
    member(staff, clinic, group, "P-0001")

    page = page_of(logged_in.get("/staff/groups"))

    assert "Tuesday group" in page
    assert "Their group" not in page
    row = page[
        page.index("Tuesday group") : page.index("</tr>", page.index("Tuesday group"))
    ]
    assert "Tuesdays at 10:00" in row
    assert '<td class="num">1</td>' in row
    assert "Tue 03 Feb (today)" in row
    assert f'href="{MEETING.format(group.id)}"' in row
    assert 'href="/staff/groups" aria-current="page">Groups</a>' in page


def test_staff_start_a_group_from_the_form(logged_in, clinic):
    response = post(
        logged_in,
        "/staff/groups",
        {
            "name": " Thursday CBT ",
            "session_type": "cbt",
            "weekday": "3",
            "starts_at": "17:30",
        },
    )

    made = db.session.scalars(select(SessionGroup)).one()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/staff/groups/{made.id}"
    assert (made.name, made.session_type, made.weekday, made.starts_at) == (
        "Thursday CBT",
        "cbt",
        3,
        time(17, 30),
    )
    assert "Created Thursday CBT" in page_of(
        logged_in.get(response.headers["Location"])
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "  "}, "name", "Name the group, e.g. Tuesday CBT group."),
        (
            {"name": "Tuesday group"},
            "name",
            "There is already a group called Tuesday group.",
        ),
        ({"session_type": ""}, "session_type", "Choose the type of session."),
        ({"session_type": "yoga"}, "session_type", "Choose the type of session."),
        ({"weekday": ""}, "weekday", "Choose the day of the week the group meets."),
        ({"weekday": "9"}, "weekday", "Choose the day of the week the group meets."),
        ({"starts_at": ""}, "starts_at", "Enter the start time as HH:MM."),
        ({"starts_at": "10am"}, "starts_at", "Enter the start time as HH:MM."),
    ],
)
def test_a_bad_group_is_shown_next_to_its_field_and_writes_nothing(
    logged_in, group, change, field, message
):
    before = history(), count(SessionGroup)
    good = {
        "name": "Friday group",
        "session_type": "group",
        "weekday": "4",
        "starts_at": "10:00",
    }

    response = post(logged_in, "/staff/groups", good | change)

    assert response.status_code == 422
    assert field_error(page_of(response), field) == message.replace("'", "&#39;")
    assert (history(), count(SessionGroup)) == before


def test_a_member_is_added_by_their_code_as_typed(logged_in, staff, clinic, group):
    person, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0042")

    response = add_by_code(logged_in, group, " p-0042 ")

    assert response.status_code == 302
    page = page_of(logged_in.get(f"/staff/groups/{group.id}"))
    roster = page[page.index('id="roster"') :]
    assert "P-0042" in roster
    assert "Tue 03 Feb 2026" in roster
    assert "Added P-0042: booked into every meeting from Tue 03 Feb 2026" in page
    booked = db.session.scalars(
        select(Appointment.on).where(Appointment.participant_id == person.id)
    ).all()
    assert booked[0] == TUESDAY
    assert len(booked) == 12  # weeks 5 to 16 of the preset


def test_the_joined_date_defaults_to_the_clinics_today(logged_in, group):
    page = page_of(logged_in.get(f"/staff/groups/{group.id}"))

    assert 'name="joined_on" required type="date" value="2026-02-03"' in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"participant": "P-9999"},
            "participant",
            "No participant with that code in this clinic.",
        ),
        ({"participant": "P-0001"}, "participant", "P-0001 is already in the group."),
        (
            {"participant": "P-0002"},
            "joined_on",
            "P-0002 is not enrolled on Tue 03 Feb 2026.",
        ),
        ({"participant": ""}, "participant", "Enter a participant code."),
        ({"joined_on": "3 Feb"}, "joined_on", "Enter the date as YYYY-MM-DD."),
        (
            {"joined_on": "2027-06-01"},
            "joined_on",
            "The date is more than a year from today: check the year.",
        ),
    ],
)
def test_a_bad_member_is_shown_next_to_its_field_and_writes_nothing(
    logged_in, staff, clinic, group, data, field, message
):
    member(staff, clinic, group, "P-0001")
    participants.register_participant(staff, clinic.id, "P-0002", now=NOW)
    before = history(), count(Appointment), count(GroupMember)
    typed = {"participant": "P-0001", "joined_on": "2026-02-03"} | data

    response = add_by_code(logged_in, group, typed["participant"], typed["joined_on"])

    assert response.status_code == 422
    assert field_error(page_of(response), field) == message
    assert (history(), count(Appointment), count(GroupMember)) == before


def test_removing_a_member_asks_first_then_cancels_their_meetings_ahead(
    logged_in, staff, clinic, group
):
    person = member(staff, clinic, group, "P-0001")
    path = f"/staff/groups/{group.id}/members/{person.id}/remove"

    ask = logged_in.get(path)
    response = post(logged_in, path, {})

    assert "Remove P-0001 from Tuesday group?" in page_of(ask)
    assert response.status_code == 302
    left = db.session.scalars(select(GroupMember)).one()
    assert left.left_on == TUESDAY
    open_ones = select(func.count(Appointment.id)).where(
        Appointment.cancelled_at.is_(None)
    )
    assert db.session.scalar(open_ones) == 0
    assert (
        "P-0001"
        not in page_of(logged_in.get(f"/staff/groups/{group.id}")).split('id="roster"')[
            1
        ]
    )


def test_a_member_joining_later_can_be_removed(logged_in, staff, clinic, group):
    person, _ = make_enrolled(staff, clinic, "attendance-prize", "P-0001")
    groups.add_member(staff, group.id, person.id, date(2026, 2, 17), now=AT_TUESDAY)

    page = page_of(logged_in.get(f"/staff/groups/{group.id}"))
    response = post(
        logged_in, f"/staff/groups/{group.id}/members/{person.id}/remove", {}
    )

    assert "joins later" in page
    assert response.status_code == 302
    assert (
        db.session.scalar(
            select(func.count(Appointment.id)).where(Appointment.cancelled_at.is_(None))
        )
        == 0
    )


def test_a_meeting_is_checked_in_with_one_form_and_each_member_answered(
    logged_in, staff, clinic, group
):
    came, late, excused, absent = (
        member(staff, clinic, group, f"P-000{n}") for n in range(1, 5)
    )
    form = page_of(logged_in.get(MEETING.format(group.id)))
    ids = {p.code: appointment_of(p).id for p in (came, late, excused, absent)}

    response = post(
        logged_in,
        MEETING.format(group.id),
        {
            f"mark-{ids['P-0001']}": "attended",
            f"mark-{ids['P-0002']}": "late",
            f"mark-{ids['P-0003']}": "excused",
            f"reason-{ids['P-0003']}": "Court date",
            f"mark-{ids['P-0004']}": "",
        },
    )

    assert form.count('type="radio"') == 4 * 4
    assert response.status_code == 200
    page = page_of(response)
    row = {code: _row(page, i) for code, i in ids.items()}
    assert "+1 draw" in row["P-0001"]
    assert "next group session Tue 10 Feb earns 2 draws" in row["P-0001"]
    assert "+1 draw" in row["P-0002"]  # the preset sets no on-time window
    assert "excused" in row["P-0003"]
    assert "next group session Tue 10 Feb earns 1 draw" in row["P-0003"]
    assert "nothing: marked missed tonight" in row["P-0004"]
    kinds = db.session.scalars(select(Event.kind).order_by(Event.id)).all()
    assert kinds == ["attendance", "attendance", "excused"]
    assert db.session.scalars(
        select(Event.reason).where(Event.kind == "excused")
    ).one() == ("Court date")


def _row(page: str, appointment_id: int) -> str:
    start = page.index(f'id="answer-{appointment_id}"')
    return page[start : page.index("</tr>", start)]


def test_members_already_checked_in_show_their_outcome_not_inputs(
    logged_in, staff, clinic, group
):
    first = member(staff, clinic, group, "P-0001")
    member(staff, clinic, group, "P-0002")
    groups.check_in_meeting(
        staff, group.id, TUESDAY, {appointment_of(first).id: "late"}, now=AT_TUESDAY
    )

    page = page_of(logged_in.get(MEETING.format(group.id)))

    assert page.count('type="radio"') == 4
    done = page[page.index(f'id="member-{appointment_of(first).id}"') :]
    assert '<span class="tag tag-late">late</span>' in done[: done.index("</li>")]


def test_the_answer_shows_a_member_checked_in_before_as_recorded(
    logged_in, staff, clinic, group
):
    first = member(staff, clinic, group, "P-0001")
    second = member(staff, clinic, group, "P-0002")
    groups.check_in_meeting(
        staff, group.id, TUESDAY, {appointment_of(first).id: "late"}, now=AT_TUESDAY
    )

    response = post(
        logged_in,
        MEETING.format(group.id),
        {f"mark-{appointment_of(second).id}": "attended"},
    )

    page = page_of(response)
    row = _row(page, appointment_of(first).id)
    assert '<span class="tag tag-late">late</span>' in row
    assert "already recorded" in row
    assert "missed" not in row
    assert "not marked" not in page
    assert "1 attended" in page


def test_a_meeting_sent_twice_records_each_member_once(logged_in, staff, clinic, group):
    person = member(staff, clinic, group, "P-0001")
    data = {f"mark-{appointment_of(person).id}": "attended"}

    post(logged_in, MEETING.format(group.id), data)
    again = post(logged_in, MEETING.format(group.id), data)

    assert again.status_code == 200
    assert "already recorded: attended" in page_of(again)
    assert count(Event) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"mark-{id}": "present"}, "mark-{id}", "Choose attended, late or excused."),
        (
            {"mark-{id}": "attended", "reason-{id}": "Court"},
            "reason-{id}",
            "Choose Excused, or clear the reason.",
        ),
        (
            {"mark-{id}": "excused", "reason-{id}": "ok"},
            "reason-{id}",
            "Say why the session is excused.",
        ),
    ],
)
def test_a_bad_mark_is_shown_on_that_members_row_and_writes_nothing(
    logged_in, staff, clinic, group, data, field, message
):
    first = member(staff, clinic, group, "P-0001")
    second = member(staff, clinic, group, "P-0002")
    one, two = appointment_of(first).id, appointment_of(second).id
    before = history()

    response = post(
        logged_in,
        MEETING.format(group.id),
        {f"mark-{two}": "attended"} | {k.format(id=one): v for k, v in data.items()},
    )

    assert response.status_code == 422
    page = page_of(response)
    assert field_error(page, field.format(id=one)) == message
    # The other member's mark is kept for the second try.
    assert re.search(rf'name="mark-{two}" value="attended" checked', page)
    assert history() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Mark at least one member attended, late or excused."),
        ({"mark-999999": "attended"}, "That person is not booked into this meeting."),
    ],
)
def test_a_meeting_form_without_marks_for_its_roster_is_refused(
    logged_in, staff, clinic, group, data, message
):
    member(staff, clinic, group, "P-0001")
    before = history()

    response = post(logged_in, MEETING.format(group.id), data)

    assert response.status_code == 422
    assert f'<p class="error" role="alert">{message}</p>' in page_of(response)
    assert history() == before


def test_a_future_meeting_shows_its_roster_but_cannot_be_checked_in(
    logged_in, staff, clinic, group
):
    person = member(staff, clinic, group, "P-0001")
    later = f"/staff/groups/{group.id}/meetings/2026-02-10"
    appointment = db.session.scalars(
        select(Appointment).where(Appointment.on == date(2026, 2, 10))
    ).one()

    page = page_of(logged_in.get(later))
    response = post(
        logged_in,
        later,
        {f"mark-{appointment.id}": "attended"},
        page=f"/staff/groups/{group.id}",
    )

    assert "P-0001" in page
    assert "it can be checked in from that day" in page
    assert 'type="radio"' not in page
    assert response.status_code == 422
    assert "This meeting has not happened yet." in page_of(response)
    assert count(Event) == 0
    assert person.code == "P-0001"


@pytest.mark.parametrize("day", ["2026-02-31", "tuesday", "20260203"])
def test_a_meeting_date_that_is_not_a_date_is_not_found(logged_in, group, day):
    assert logged_in.get(f"/staff/groups/{group.id}/meetings/{day}").status_code == 404


def test_another_clinics_group_is_not_found(logged_in, staff, other_clinic):
    theirs = groups.create_group(
        make_staff(other_clinic, "elsewhere"), "Theirs", "group", 1, TEN, now=NOW
    )
    token = csrf_token(logged_in, "/staff/groups")

    pages = [
        logged_in.get(f"/staff/groups/{theirs.id}"),
        logged_in.get(MEETING.format(theirs.id)),
        logged_in.post(MEETING.format(theirs.id), data={"csrf_token": token}),
        logged_in.post(
            f"/staff/groups/{theirs.id}/members",
            data={
                "csrf_token": token,
                "participant": "P-0001",
                "joined_on": "2026-02-03",
            },
        ),
        logged_in.get(f"/staff/groups/{theirs.id}/members/1/remove"),
    ]

    assert [p.status_code for p in pages] == [404] * 5


def test_another_clinics_participant_code_cannot_join(logged_in, other_clinic, group):
    make_enrolled(
        make_staff(other_clinic, "elsewhere"),
        other_clinic,
        "attendance-prize",
        "P-0777",
    )

    response = add_by_code(logged_in, group, "P-0777")

    assert response.status_code == 422
    assert count(GroupMember) == 0


def test_an_auditor_reads_the_group_pages_and_changes_nothing(
    client, staff, clinic, group
):
    person = member(staff, clinic, group, "P-0001")
    make_staff(clinic, "auditor", role="auditor")
    assert log_in(client, "auditor").status_code == 302
    token = csrf_token(client, "/staff/groups")
    appointment = appointment_of(person).id

    reads = [
        client.get("/staff/groups"),
        client.get(f"/staff/groups/{group.id}"),
        client.get(MEETING.format(group.id)),
    ]
    writes = [
        client.post("/staff/groups", data={"csrf_token": token, "name": "New"}),
        client.post(
            f"/staff/groups/{group.id}/members",
            data={"csrf_token": token, "participant": "P-0001"},
        ),
        client.post(
            f"/staff/groups/{group.id}/members/{person.id}/remove",
            data={"csrf_token": token},
        ),
        client.post(
            MEETING.format(group.id),
            data={"csrf_token": token, f"mark-{appointment}": "attended"},
        ),
    ]

    assert [r.status_code for r in reads] == [200, 200, 200]
    assert [w.status_code for w in writes] == [403] * 4
    assert 'type="radio"' not in page_of(reads[2])
    assert "Start the group" not in page_of(reads[0])
    assert count(Event) == 0


def test_opening_a_meeting_is_a_view_of_each_members_record(
    logged_in, staff, clinic, group
):
    first = member(staff, clinic, group, "P-0001")
    second = member(staff, clinic, group, "P-0002")

    response = logged_in.get(MEETING.format(group.id))

    assert response.status_code == 200
    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "view_group_meeting")
    ).one()
    assert sorted(row.detail["participants"]) == sorted([first.id, second.id])
    assert row.detail["on"] == "2026-02-03"


def test_a_member_discharged_after_booking_stops_the_check_in_before_any_write(
    logged_in, staff, clinic, group
):
    first = member(staff, clinic, group, "P-0001")
    second = member(staff, clinic, group, "P-0002")
    participants.end_enrollment(
        staff, second.id, "discharged", date(2026, 2, 1), now=NOW
    )
    one, two = appointment_of(first).id, appointment_of(second).id
    before = count(Event)

    response = post(
        logged_in,
        MEETING.format(group.id),
        {f"mark-{one}": "attended", f"mark-{two}": "attended"},
    )

    assert response.status_code == 422
    assert "was not enrolled" in page_of(response)
    assert count(Event) == before
