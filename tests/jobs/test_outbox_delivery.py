"""Draining the outbox against a real SMTP server (aiosmtpd) and a local HTTP server
standing in for the text-message provider (Twilio's Messages API): exactly once,
retries and the dead-letter list, a crash between send and mark, and the real
APScheduler job."""

from __future__ import annotations

import base64
import itertools
import json
import multiprocessing
import os
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from cm_service import create_app
from cm_service.extensions import db
from cm_service.models import OutboxMessage
from cm_service.scheduler import build_scheduler
from cm_service.security import UnsafeConfiguration, check_production_config
from cm_service.services.errors import Conflict
from cm_service.services.integrations import outbox, reminders
from cm_service.services.integrations.reminders import Choices
from tests.support.config import TEST_CONFIG
from tests.support.factories import make_enrolled

TUESDAY_EVENING = datetime(2026, 2, 4, 0, 30, tzinfo=UTC)  # 18:30 in Chicago
SID, TOKEN = "AC0123456789", "secret-token"
BOTH = Choices(
    sms=True,
    phone="+15551234567",
    email=True,
    email_address="p@example.org",
    signed_on=date(2026, 2, 1),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """The test's SMTP server: every delivery, and the inbox a mail store keeps
    (one message per Message-ID)."""

    def __init__(self) -> None:
        self.deliveries: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.deliveries.append(message_from_bytes(envelope.content))
        return "250 OK"

    @property
    def inbox(self) -> dict[str, Message]:
        return {m["Message-ID"]: m for m in self.deliveries}


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class Provider:
    """The stand-in text-message provider: Twilio's Messages resource, with its
    basic auth; it honours an Idempotency-Key (one message per key)."""

    def __init__(self) -> None:
        self.posts: list[dict[str, str]] = []
        self.messages: dict[str, dict[str, str]] = {}  # key -> message
        self.fail_with: int | None = None
        self.ids = itertools.count(1)


def _provider_handler(provider: Provider):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def _authorised(self) -> bool:
            expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
            return self.headers.get("Authorization") == f"Basic {expected}"

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            path = f"/2010-04-01/Accounts/{SID}/Messages.json"
            if self.path != path or not self._authorised():
                return self._answer(401, {"message": "Authenticate"})
            provider.posts.append(form)
            if provider.fail_with:
                return self._answer(provider.fail_with, {"message": "failed"})
            key = self.headers.get("Idempotency-Key") or f"none-{len(provider.posts)}"
            if key not in provider.messages:
                provider.messages[key] = {
                    "sid": f"SM{next(provider.ids):032d}",
                    "to": form["To"],
                    "from": form["From"],
                    "body": form["Body"],
                    "status": "queued",
                }
            return self._answer(201, provider.messages[key])

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if not self._authorised():
                return self._answer(401, {"message": "Authenticate"})
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            found = [m for m in provider.messages.values() if m["to"] == query["To"]]
            return self._answer(200, {"messages": found})

    return Handler


@pytest.fixture
def provider() -> Iterator[tuple[Provider, str]]:
    stand_in = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _provider_handler(stand_in))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stand_in, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def delivery_config(smtp_port: int, provider_url: str) -> dict:
    return {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "SMTP_STARTTLS": False,
        "SMTP_FROM": "reminders@clinic.example",
        "REMINDER_SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_FROM": "+15550000000",
        "TWILIO_BASE_URL": provider_url,
    }


@pytest.fixture
def wired(app, mailbox, provider):
    box, port = mailbox
    stand_in, url = provider
    app.config.update(delivery_config(port, url))
    return box, stand_in


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def queued_evening(staff, clinic, choices: Choices = BOTH):
    person, _ = make_enrolled(staff, clinic)
    reminders.save(staff, person.id, choices, now=TUESDAY_EVENING)
    reminders.queue_evenings(TUESDAY_EVENING)
    return person


def test_an_email_and_a_text_are_each_delivered_once(wired, staff, clinic):
    box, stand_in = wired
    queued_evening(staff, clinic)
    reminders.queue_evenings(TUESDAY_EVENING + timedelta(minutes=1))  # again

    first = outbox.drain(TUESDAY_EVENING + timedelta(minutes=1))
    second = outbox.drain(TUESDAY_EVENING + timedelta(minutes=2))

    assert (first.sent, second.sent) == (2, 0)
    sms, email = rows()
    assert (sms.status, email.status) == ("sent", "sent")
    (mail,) = box.deliveries
    assert mail["To"] == "p@example.org"
    assert mail["Subject"] == "Reminder from Test Clinic"
    assert mail["Message-ID"] == f"<outbox-{email.id}@clinic.example>"
    assert email.provider_ref == mail["Message-ID"]
    assert "your visit tomorrow earns $" in mail.get_payload()
    (text,) = stand_in.posts
    assert text["To"] == "+15551234567"
    assert text["From"] == "+15550000000"
    assert text["Body"] == sms.body
    assert sms.provider_ref.startswith("SM")


def test_a_failing_provider_is_retried_with_backoff_then_dead_lettered(
    wired, staff, clinic
):
    _, stand_in = wired
    queued_evening(staff, clinic, Choices(**{**vars(BOTH), "email": False}))
    stand_in.fail_with = 503
    at = TUESDAY_EVENING
    waits = []
    for _ in range(5):
        outbox.drain(at)
        (row,) = rows()
        if row.status == "dead":
            break
        waits.append(row.not_before - at)
        at = row.not_before

    assert waits == [timedelta(minutes=m) for m in (1, 4, 16, 64)]
    assert (row.status, row.attempts) == ("dead", 5)
    assert "HTTP 503" in row.last_error


def test_a_dead_letter_is_retried_by_staff_and_then_sent(wired, staff, clinic):
    _, stand_in = wired
    queued_evening(staff, clinic, Choices(**{**vars(BOTH), "email": False}))
    stand_in.fail_with = 400  # the provider refuses: dead at once
    outbox.drain(TUESDAY_EVENING)
    (dead,) = outbox.dead_letters(staff)
    assert dead.attempts == 1

    stand_in.fail_with = None
    outbox.retry(staff, dead.id, now=TUESDAY_EVENING + timedelta(minutes=5))
    outbox.drain(TUESDAY_EVENING + timedelta(minutes=5))

    (row,) = rows()
    assert row.status == "sent"
    assert outbox.dead_letters(staff) == []
    assert len(stand_in.messages) == 1


def test_only_a_dead_letter_can_be_retried_and_a_refusal_names_why(
    wired, staff, clinic
):
    queued_evening(staff, clinic, Choices(**{**vars(BOTH), "email": False}))
    (queued,) = rows()

    with pytest.raises(Conflict) as refused:
        outbox.retry(staff, queued.id, now=TUESDAY_EVENING)

    assert refused.value.code == "not_dead"
    assert refused.value.status == 409
    assert "could not be sent" in refused.value.message
    (row,) = rows()
    assert (row.status, row.attempts) == ("pending", 0)


def test_an_opt_out_after_queueing_cancels_the_message_at_send_time(
    wired, staff, clinic
):
    box, stand_in = wired
    person = queued_evening(staff, clinic)
    reminders.stop_reply("+15551234567", now=TUESDAY_EVENING)

    outbox.drain(TUESDAY_EVENING + timedelta(minutes=1))

    assert [(r.channel, r.status) for r in rows()] == [
        ("sms", "cancelled"),
        ("email", "sent"),
    ]
    assert stand_in.posts == []
    assert len(box.deliveries) == 1
    assert person.id


def test_an_evening_reminder_is_not_sent_after_its_midnight(wired, staff, clinic):
    box, stand_in = wired
    queued_evening(staff, clinic)

    outbox.drain(TUESDAY_EVENING + timedelta(hours=6))  # 00:30 on the test day

    assert {r.status for r in rows()} == {"cancelled"}
    assert box.deliveries == []
    assert stand_in.posts == []


# -- a crash between send and mark ---------------------------------------------------


def _crash_after_send(db_url: str, config: dict, at: str) -> None:
    """A job process that sends and dies before it can mark the row sent."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url, **config})
    with app.app_context():
        outbox.mark_sent = lambda *args, **kwargs: os._exit(3)
        outbox.drain(datetime.fromisoformat(at))
    os._exit(0)  # not reached: the first send ends the process


def test_a_crash_between_send_and_mark_delivers_once_per_key(
    wired, staff, clinic, db_url, mailbox, provider
):
    box, stand_in = wired
    queued_evening(staff, clinic)
    config = delivery_config(mailbox[1], provider[1])
    db.session.remove()  # SQLite: no lock held while the job process writes

    for _ in range(2):  # each run sends one message (the first due) and dies
        ctx = multiprocessing.get_context("spawn")
        proc = ctx.Process(
            target=_crash_after_send,
            args=(db_url, config, TUESDAY_EVENING.isoformat()),
        )
        proc.start()
        proc.join(120)
        assert proc.exitcode == 3

    # Both rows are visibly "sending": their sends left, their marks did not.
    assert [r.status for r in rows()] == ["sending", "sending"]
    assert len(box.deliveries) == 1
    assert len(stand_in.posts) == 1
    db.session.remove()

    soon = outbox.drain(TUESDAY_EVENING + timedelta(minutes=5))  # within timeout
    assert soon.sent == 0
    later = outbox.drain(TUESDAY_EVENING + timedelta(minutes=11))

    assert later.sent == 2
    sms, email = rows()
    assert (sms.status, email.status) == ("sent", "sent")
    assert (sms.attempts, email.attempts) == (2, 2)
    # E-mail: sent again with the same Message-ID, so the inbox holds one.
    assert len(box.deliveries) == 2
    assert list(box.inbox) == [f"<outbox-{email.id}@clinic.example>"]
    # Text: the provider's list showed it accepted, so it was not sent again.
    assert len(stand_in.posts) == 1
    assert len(stand_in.messages) == 1
    assert sms.provider_ref == next(iter(stand_in.messages.values()))["sid"]


def _drain_once(db_url: str, config: dict, at: str, results) -> None:
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url, **config})
    with app.app_context():
        drained = outbox.drain(datetime.fromisoformat(at))
        db.engine.dispose()
    results.put(drained.sent)


def test_two_job_processes_draining_at_once_send_each_message_once(
    wired, staff, clinic, db_url, mailbox, provider
):
    box, _ = wired
    for n in range(12):
        person, _ = make_enrolled(staff, clinic, code=f"P-{n:04d}")
        reminders.save(
            staff,
            person.id,
            Choices(**{**vars(BOTH), "sms": False}),
            now=TUESDAY_EVENING,
        )
    reminders.queue_evenings(TUESDAY_EVENING)
    config = delivery_config(mailbox[1], provider[1])
    db.session.remove()
    db.engine.dispose()

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    at = (TUESDAY_EVENING + timedelta(minutes=1)).isoformat()
    procs = [
        ctx.Process(target=_drain_once, args=(db_url, config, at, results))
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    sent = [results.get(timeout=180) for _ in procs]
    for proc in procs:
        proc.join(30)

    assert sum(sent) == 12
    assert len(box.deliveries) == 12
    assert len(box.inbox) == 12  # twelve different Message-IDs
    assert {(r.status, r.attempts) for r in rows()} == {("sent", 1)}


# -- the real scheduler ------------------------------------------------------------


def test_the_real_scheduler_drains_the_outbox(app, staff, clinic, capsys):
    person, _ = make_enrolled(staff, clinic)
    now = datetime.now(UTC)
    quiet_never = Choices(
        sms=True,
        phone="+15551234567",
        signed_on=date(2026, 1, 1),
        quiet_from=time(0),
        quiet_until=time(0),
    )
    reminders.save(staff, person.id, quiet_never, now=now)
    (recipient,) = reminders.recipients([person.id], date.today()).values()
    message = reminders.msg(reminders.AWARD_PRIVATE, clinic="Test Clinic", amount=5)
    reminders.queue(recipient, "award", "scheduler-test", message, now=now)
    db.session.commit()
    db.session.remove()  # SQLite: release the writer lock for the job's thread

    done = threading.Event()
    errors: list[BaseException] = []

    def listener(event) -> None:
        if event.job_id != "outbox":
            return
        if event.exception:
            errors.append(event.exception)
        done.set()

    scheduler = build_scheduler(app, BackgroundScheduler(timezone=UTC))
    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    try:
        assert done.wait(90), "the outbox job did not run"
    finally:
        scheduler.shutdown(wait=True)

    assert errors == []
    (row,) = rows()
    assert row.status == "sent"
    assert row.provider_ref == f"outbox-{row.id}"  # the console backend
    assert "you earned 5" in capsys.readouterr().out


def test_a_misconfigured_backend_is_retried_and_shown_not_lost(app, staff, clinic):
    app.config["REMINDER_SMS_BACKEND"] = "carrier-pigeon"
    queued_evening(staff, clinic, Choices(**{**vars(BOTH), "email": False}))

    drained = outbox.drain(TUESDAY_EVENING)

    (row,) = rows()
    assert drained.failed == 1
    assert (row.status, row.attempts) == ("pending", 1)
    assert "carrier-pigeon" in row.last_error
    assert row.not_before == TUESDAY_EVENING + timedelta(minutes=1)


def test_production_refuses_twilio_without_its_credentials():
    config = {
        "CM_ENV": "production",
        "SECRET_KEY": "s" * 32,
        "AUDIT_KEY": "a" * 32,
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/cm",
        "REMINDER_SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": SID,
        "TWILIO_FROM": "+15550000000",
    }

    with pytest.raises(UnsafeConfiguration, match="TWILIO_AUTH_TOKEN"):
        check_production_config(config)
    check_production_config({**config, "TWILIO_AUTH_TOKEN": TOKEN})
