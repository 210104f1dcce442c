"""SIGKILL the app server in the middle of a batch of check-ins, on both databases.

A client thread logs in as staff and records an all-negative specimen for each of
BATCH participants through the check-in form (GET the form, POST it with its CSRF
token), as a technician's browser would. Once a third of the batch is acknowledged the
server (gunicorn master and workers) is SIGKILLed while a POST is in flight.

What an auditor then checks: every acknowledged check-in is in the database with its
award; nothing is half-written (each event has its audit row, the audit row names
exactly the ledger entries posted with it, and no ledger entry or audit row lacks its
event); the audit hash chain verifies. After a restart the technician resends what was
not acknowledged, and the batch completes with one award per participant and day.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter

from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import AuditLog, Event, LedgerEntry
from cm_service.services.access import audit
from tests.faults.server import Client
from tests.support.faults import PASSWORD, Enrolled, enrol_clinic

BATCH = 36
FIRST_AWARD = 10  # Higgins 1994: the first negative specimen earns 10 points
RESULT = re.compile(r"/staff/checkins/(\d+)$")


class CheckinBatch(threading.Thread):
    """Records one all-negative specimen per participant, in order, until the batch
    is done or the server stops answering."""

    def __init__(self, port: int, enrolled: Enrolled, people: list[int]) -> None:
        super().__init__(daemon=True)
        self.port, self.enrolled, self.people = port, enrolled, people
        self.acked: dict[int, int] = {}  # participant id -> event id of the answer
        self.in_flight: int | None = None
        self.post_sent = threading.Event()
        self.cut_off: str | None = None  # the connection error that ended the batch
        self.wrong: str | None = None  # an answer that was neither success nor cut

    def run(self) -> None:
        try:
            client = Client(self.port)
            client.log_in_staff(self.enrolled.username, PASSWORD)
            for pid in self.people:
                form = f"/staff/participants/{pid}/checkin"
                token = client.csrf(form)
                self.in_flight = pid
                self.post_sent.set()
                answer = client.post(
                    f"{form}/negative",
                    form={
                        "csrf_token": token,
                        "n-collected_on": self.enrolled.day.isoformat(),
                    },
                )
                found = RESULT.search(answer.headers.get("Location", ""))
                if answer.status != 302 or not found:
                    self.wrong = (
                        f"participant {pid}: {answer.status} {answer.body[:300]}"
                    )
                    return
                self.acked[pid] = int(found.group(1))
                self.in_flight = None
        except OSError as error:  # refused, reset, or cut mid-response
            self.cut_off = repr(error)


def _state(people: list[int]):
    """Events, ledger entries and record_specimen audit rows of these participants."""
    events = db.session.scalars(
        select(Event).where(Event.participant_id.in_(people)).order_by(Event.id)
    ).all()
    entries = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.participant_id.in_(people))
    ).all()
    audits = db.session.scalars(
        select(AuditLog).where(
            AuditLog.participant_id.in_(people),
            AuditLog.action == "record_specimen",
        )
    ).all()
    chain = audit.verify()
    found = (list(events), list(entries), list(audits), chain)
    db.session.remove()  # hold no transaction while the server runs
    return found


def _assert_nothing_half_written(events, entries, audits, chain) -> None:
    assert chain is None, f"audit hash chain broken at row {chain}"
    event_ids = {e.id for e in events}
    audit_of = {a.object_id: a for a in audits}
    assert len(audit_of) == len(audits), "two audit rows for one event"
    assert set(audit_of) == event_ids, (
        f"events without audit: {sorted(event_ids - set(audit_of))}; "
        f"audit rows without event: {sorted(set(audit_of) - event_ids)}"
    )
    for entry in entries:
        assert entry.event_id in event_ids, f"ledger entry {entry.id} has no event"
    for event in events:
        posted = sorted(
            [e.award_key, e.amount] for e in entries if e.event_id == event.id
        )
        assert sorted(audit_of[event.id].detail["posted"]) == posted, (
            f"event {event.id}: the audit row and the ledger disagree"
        )


def test_sigkill_mid_batch_loses_no_acknowledged_checkin_and_no_award_doubles(
    app, server, db_url
):
    enrolled = enrol_clinic(BATCH)
    people = sorted(enrolled.people)
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    server.start()
    batch = CheckinBatch(server.port, enrolled, people)
    batch.start()

    deadline = time.monotonic() + 90
    while len(batch.acked) < BATCH // 3:
        assert batch.is_alive(), f"batch ended early: {batch.wrong or batch.cut_off}"
        assert time.monotonic() < deadline, "a third of the batch took over 90 s"
        time.sleep(0.01)
    batch.post_sent.clear()
    assert batch.post_sent.wait(10), "no check-in POST was sent within 10 s"
    time.sleep(rng.uniform(0, 0.05))  # somewhere inside that request
    server.kill()
    batch.join(30)
    assert not batch.is_alive(), "the client did not notice the server died"
    assert batch.wrong is None, batch.wrong
    assert batch.cut_off is not None, f"batch finished before the kill (seed {seed})"
    acked = dict(batch.acked)
    unacked = [pid for pid in people if pid not in acked]
    assert len(acked) < BATCH, "the kill landed after the whole batch"

    # After the crash, before anything else touches the database.
    events, entries, audits, chain = _state(people)
    _assert_nothing_half_written(events, entries, audits, chain)
    per_person = Counter(e.participant_id for e in events)
    assert all(per_person[pid] == 1 for pid in acked), "an acknowledged check-in lost"
    for pid, event_id in acked.items():
        event = next(e for e in events if e.id == event_id)
        assert (event.participant_id, event.kind) == (pid, "specimen")
        assert event.collected_on == enrolled.day
        award = [e for e in entries if e.event_id == event_id]
        assert [(e.kind, e.amount) for e in award] == [("award", FIRST_AWARD)]
    # At most the request in flight at the kill committed without an answer.
    committed_unacked = [pid for pid in unacked if per_person[pid]]
    assert set(committed_unacked) <= {batch.in_flight}, (seed, committed_unacked)

    # Restart; the technician resends every check-in that got no answer.
    server.start()
    resend = CheckinBatch(server.port, enrolled, unacked)
    resend.run()
    assert resend.wrong is None, resend.wrong
    assert resend.cut_off is None, resend.cut_off
    assert sorted(resend.acked) == sorted(unacked)
    server.stop()

    events, entries, audits, chain = _state(people)
    _assert_nothing_half_written(events, entries, audits, chain)
    per_person = Counter(e.participant_id for e in events)
    assert set(per_person) == set(people), "the batch is not complete"
    # A resent check-in that had committed is recorded twice (the form has no
    # nonce), but the day-keyed award pays it once.
    assert {pid for pid, n in per_person.items() if n > 1} == set(committed_unacked)
    keys = Counter((e.participant_id, e.award_key) for e in entries)
    assert max(keys.values()) == 1, "an award was posted twice"
    points = Counter()
    for entry in entries:
        points[entry.participant_id] += entry.amount
    assert points == dict.fromkeys(people, FIRST_AWARD), "balances are not exact"
