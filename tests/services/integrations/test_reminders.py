"""Reminders: who opted in, the wording, and what each cause queues in the outbox
(delivery itself: tests/jobs/test_outbox_delivery.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import Consent, JobRun, OutboxMessage, Participant
from cm_service.services.cm import appointments, checkins, nightly
from cm_service.services.cm.evaluation import evaluate_enrollment
from cm_service.services.errors import InvalidInput
from cm_service.services.integrations import reminders
from cm_service.services.integrations.reminders import Choices, quiet_end
from cm_service.services.reads.portal import participant_actor
from tests.support.factories import make_enrolled

NEG = {"cocaine": "negative"}
# Tuesday 3 February 2026, 18:30 in Chicago: Higgins tests Mon/Wed/Fri, so
# tomorrow (Wednesday) is a test day.
TUESDAY_EVENING = datetime(2026, 2, 4, 0, 30, tzinfo=UTC)
WEDNESDAY = date(2026, 2, 4)
BOTH = Choices(
    sms=True,
    phone="(555) 123-4567",
    email=True,
    email_address="p@example.org",
    signed_on=date(2026, 2, 1),
)
LA = ZoneInfo("America/Los_Angeles")


def opt_in(staff, person, choices: Choices = BOTH, now=TUESDAY_EVENING):
    return reminders.save(staff, person.id, choices, now=now)


def outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_nothing_is_queued_for_someone_who_did_not_opt_in(staff, clinic):
    make_enrolled(staff, clinic)

    reminders.queue_evenings(TUESDAY_EVENING)

    assert outbox() == []


def test_the_evening_before_a_test_queues_private_wording_once(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic)
    opt_in(staff, person)
    earns = evaluate_enrollment(enrollment, WEDNESDAY - timedelta(days=1))
    cents = earns.next_negative.cents
    assert earns.next_negative.on == WEDNESDAY
    assert cents > 0

    reminders.queue_evenings(TUESDAY_EVENING)
    reminders.queue_evenings(TUESDAY_EVENING + timedelta(hours=1))  # job runs again

    rows = outbox()
    assert [(r.channel, r.kind, r.status) for r in rows] == [
        ("sms", "evening", "pending"),
        ("email", "evening", "pending"),
    ]
    money = f"${cents // 100}.{cents % 100:02d}"
    assert rows[0].body == (
        f"Reminder from Test Clinic: your visit tomorrow earns {money}. "
        "Reply STOP to end these messages."
    )
    assert rows[0].address == "+15551234567"
    assert rows[1].address == "p@example.org"
    assert rows[1].subject == "Reminder from Test Clinic"
    for row in rows:
        assert "test" not in row.body.replace("Test Clinic", "").lower()
        assert "cocaine" not in row.body.lower()
        assert row.not_before == TUESDAY_EVENING  # 18:30: not in quiet hours
        assert row.expires_at == datetime(2026, 2, 4, 6, 0, tzinfo=UTC)  # midnight
    runs = db.session.scalars(select(JobRun).where(JobRun.job == "evening")).all()
    assert len(runs) == 1


def test_the_same_evening_queued_again_by_a_second_run_adds_nothing(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person)
    reminders.queue_evenings(TUESDAY_EVENING)
    db.session.execute(db.delete(JobRun))  # as if the first run's claim were lost
    db.session.commit()

    reminders.queue_evenings(TUESDAY_EVENING + timedelta(minutes=5))

    assert len(outbox()) == 2


def test_explicit_wording_names_the_test_when_the_participant_chose_it(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person, Choices(**{**vars(BOTH), "explicit": True, "email": False}))

    reminders.queue_evenings(TUESDAY_EVENING)

    (row,) = outbox()
    assert row.body.startswith("Tomorrow your test earns $")


def test_a_spanish_reader_gets_the_reminder_in_spanish(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person)
    db.session.get(Participant, person.id).language = "es"
    db.session.commit()

    reminders.queue_evenings(TUESDAY_EVENING)

    sms, email = outbox()
    assert sms.language == "es"
    assert sms.body.startswith("Recordatorio de Test Clinic: su visita de mañana")
    assert "Responda STOP" in sms.body
    assert email.subject == "Recordatorio de Test Clinic"


def test_no_evening_reminder_before_the_evening_hour_or_without_a_test(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person)

    reminders.queue_evenings(TUESDAY_EVENING - timedelta(hours=2))  # 16:30
    assert outbox() == []
    reminders.queue_evenings(TUESDAY_EVENING + timedelta(days=1))  # Wed: Thu no test
    assert outbox() == []


def test_an_award_queues_a_message_in_the_same_transaction(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person, Choices(**{**vars(BOTH), "email": False}))
    at = datetime(2026, 2, 4, 16, 0, tzinfo=UTC)  # Wednesday 10:00 in Chicago

    result = checkins.record_specimen(staff, person.id, WEDNESDAY, NEG, now=at)

    (row,) = outbox()
    cents = sum(e.cents for e in result.posted)
    assert row.kind == "award"
    assert cents > 0
    assert row.body.startswith(
        f"Reminder from Test Clinic: you earned ${cents // 100}.{cents % 100:02d}."
    )
    assert "test" not in row.body.replace("Test Clinic", "").lower()


def test_a_missed_day_queues_we_missed_you_once(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person, Choices(**{**vars(BOTH), "email": False}))
    after = datetime(2026, 2, 5, 15, 0, tzinfo=UTC)  # Thursday 09:00 in Chicago

    nightly.run_nightly(clinic.id, WEDNESDAY, now=after)
    nightly.run_nightly(clinic.id, WEDNESDAY, now=after + timedelta(hours=1))

    missed = [r for r in outbox() if r.kind == "missed"]
    assert len(missed) == 1
    assert missed[0].body.startswith(
        "Reminder from Test Clinic: we missed you yesterday. Your next visit still "
        "earns $"
    )


def test_an_opt_out_in_the_portal_cancels_what_waits_and_ends_the_channel(
    staff, clinic
):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person)
    reminders.queue_evenings(TUESDAY_EVENING)

    reminders.set_by_participant(
        participant_actor(person),
        sms=False,
        email=True,
        explicit=False,
        quiet_from=time(21),
        quiet_until=time(8),
        now=TUESDAY_EVENING + timedelta(minutes=1),
    )
    reminders.queue_evenings(TUESDAY_EVENING + timedelta(days=2))  # Thu for Fri

    assert [(r.channel, r.status) for r in outbox()] == [
        ("sms", "cancelled"),
        ("email", "pending"),
        ("email", "pending"),
    ]


def test_a_stop_reply_ends_text_reminders_to_that_number(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person)

    assert reminders.stop_reply("+1 555 123 4567", now=TUESDAY_EVENING) == 1
    reminders.queue_evenings(TUESDAY_EVENING)

    assert [r.channel for r in outbox()] == ["email"]
    prefs = reminders.preferences(staff, person.id, now=TUESDAY_EVENING)
    assert prefs.channels["sms"].opted_out_by_type == "stop_reply"


def test_a_revoked_consent_for_reminders_stops_them(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person)
    consent = db.session.scalars(select(Consent)).one()
    assert consent.purposes == ["reminders"]
    consent.revoked_at = TUESDAY_EVENING - timedelta(hours=1)
    db.session.commit()

    reminders.queue_evenings(TUESDAY_EVENING)

    assert outbox() == []


def test_a_first_opt_in_needs_the_consent_date_and_a_valid_address(staff, clinic):
    person, _ = make_enrolled(staff, clinic)

    with pytest.raises(InvalidInput) as no_date:
        opt_in(staff, person, Choices(sms=True, phone="5551234567"))
    with pytest.raises(InvalidInput) as bad_phone:
        opt_in(staff, person, Choices(**{**vars(BOTH), "phone": "12"}))
    with pytest.raises(InvalidInput) as bad_mail:
        opt_in(staff, person, Choices(**{**vars(BOTH), "email_address": "nope"}))

    assert (no_date.value.field, bad_phone.value.field, bad_mail.value.field) == (
        "signed_on",
        "phone",
        "email_address",
    )
    assert db.session.scalars(select(Consent)).all() == []


def test_the_evening_reminder_waits_for_quiet_hours_in_the_participants_zone(
    staff, clinic
):
    person, _ = make_enrolled(staff, clinic)
    # Chicago clinic, participant in Los Angeles with quiet hours from 16:00.
    choices = Choices(**{**vars(BOTH), "timezone": "America/Los_Angeles"})
    opt_in(staff, person, Choices(**{**vars(choices), "quiet_from": time(16)}))

    reminders.queue_evenings(TUESDAY_EVENING)  # 16:30 in Los Angeles: quiet

    # Until 08:00 in Los Angeles, past Chicago's midnight: "tomorrow" would be
    # wrong by then, so nothing is queued.
    assert outbox() == []


# -- quiet hours across daylight-saving changes ---------------------------------------


def test_quiet_hours_end_at_eight_local_on_the_spring_forward_morning():
    # Sat 7 March 2026, 22:00 PST; clocks go forward at 02:00 on Sunday 8 March.
    at = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)

    end = quiet_end(at, LA, time(21), time(8))

    assert end == datetime(2026, 3, 8, 15, 0, tzinfo=UTC)  # 08:00 PDT, 9 h later
    assert end.astimezone(LA).hour == 8


def test_quiet_hours_end_at_eight_local_on_the_fall_back_morning():
    # Sat 31 October 2026, 22:00 PDT; clocks go back at 02:00 on Sunday 1 Nov.
    at = datetime(2026, 11, 1, 5, 0, tzinfo=UTC)

    end = quiet_end(at, LA, time(21), time(8))

    assert end == datetime(2026, 11, 1, 16, 0, tzinfo=UTC)  # 08:00 PST, 11 h later
    assert end.astimezone(LA).hour == 8


def test_outside_quiet_hours_or_without_them_a_message_goes_at_once():
    noon = datetime(2026, 3, 8, 20, 0, tzinfo=UTC)  # 13:00 PDT

    assert quiet_end(noon, LA, time(21), time(8)) is None
    assert quiet_end(noon, LA, time(9), time(9)) is None
    assert quiet_end(noon, LA, time(12), time(14)) == datetime(
        2026, 3, 8, 21, 0, tzinfo=UTC
    )


def test_early_morning_is_quiet_until_the_end_the_same_day():
    at = datetime(2026, 3, 8, 11, 30, tzinfo=UTC)  # 04:30 PDT, after the change

    assert quiet_end(at, LA, time(21), time(8)) == datetime(
        2026, 3, 8, 15, 0, tzinfo=UTC
    )


def test_awards_and_missed_days_of_someone_not_opted_in_queue_nothing(staff, clinic):
    opted, _ = make_enrolled(staff, clinic, code="P-0001")
    other, _ = make_enrolled(staff, clinic, code="P-0002")
    opt_in(staff, opted, Choices(**{**vars(BOTH), "email": False}))
    at = datetime(2026, 2, 4, 16, 0, tzinfo=UTC)

    checkins.record_specimen(staff, other.id, WEDNESDAY, NEG, now=at)
    nightly.run_nightly(clinic.id, WEDNESDAY, now=at + timedelta(days=1))

    assert {r.participant_id for r in outbox()} == {opted.id}
    assert [r.kind for r in outbox()] == ["missed"]


def test_a_spanish_reader_who_chose_explicit_words_reads_them_in_spanish(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person, Choices(**{**vars(BOTH), "explicit": True, "email": False}))
    db.session.get(Participant, person.id).language = "es"
    db.session.commit()

    reminders.queue_evenings(TUESDAY_EVENING)

    (row,) = outbox()
    assert row.body.startswith("Mañana su prueba le da ")


def test_the_evening_before_a_booked_session_names_its_time_and_draws(staff, clinic):
    person, enrollment = make_enrolled(staff, clinic, key="attendance-prize")
    thursday = date(2026, 2, 5)
    appointments.book(
        staff, person.id, "group", thursday, time(10), now=TUESDAY_EVENING
    )
    opt_in(staff, person, Choices(**{**vars(BOTH), "email": False}))
    evening = TUESDAY_EVENING + timedelta(days=1)  # Wednesday 18:30 in Chicago
    (session,) = [
        n
        for n in evaluate_enrollment(
            enrollment, thursday - timedelta(days=1)
        ).next_sessions
        if n.on == thursday
    ]
    assert session.draws > 0

    reminders.queue_evenings(evening)

    (row,) = outbox()
    draws = f"{session.draws} draw{'' if session.draws == 1 else 's'}"
    assert row.body.startswith(
        f"Reminder from Test Clinic: your visit tomorrow at 10:00 earns {draws}."
    )


def test_after_a_revocation_keeping_a_channel_on_needs_a_new_consent(staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    opt_in(staff, person)
    first = db.session.scalars(select(Consent)).one()
    first.revoked_at = TUESDAY_EVENING - timedelta(hours=1)
    db.session.commit()
    undated = Choices(**{**vars(BOTH), "signed_on": None})

    with pytest.raises(InvalidInput) as refused:
        opt_in(staff, person, undated)
    opt_in(staff, person, Choices(**{**vars(BOTH), "signed_on": date(2026, 2, 3)}))
    reminders.queue_evenings(TUESDAY_EVENING)

    assert refused.value.field == "signed_on"
    second = db.session.scalars(select(Consent).where(Consent.id != first.id)).one()
    prefs = reminders.preferences(staff, person.id, now=TUESDAY_EVENING)
    assert {c.consent_id for c in prefs.channels.values()} == {second.id}
    assert len(outbox()) == 2
