"""APScheduler wiring only: one interval tick in UTC that runs the nightly catch-up
and the reconciliation slices, and a one-minute tick that queues the evening
reminders and drains the outbox (services/integrations/reminders.py and
services/integrations/outbox.py).

Not a cron at local midnight: APScheduler 3.11 skips the day after the spring DST
change for cron jobs in the 00:00-00:59 local hour (measured). A 15-minute UTC tick
plus the idempotent catch-up handles every clinic's time zone, DST and downtime the
same way.
"""

from __future__ import annotations

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask

from . import clock
from .extensions import db
from .services.cm import nightly
from .services.integrations import outbox, reminders

TICK_MINUTES = 15
OUTBOX_SECONDS = 60


def build_scheduler(app: Flask, scheduler: BaseScheduler) -> BaseScheduler:
    scheduler.add_job(
        run_due_nightlies,
        "interval",
        minutes=TICK_MINUTES,
        args=[app],
        id="nightly",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        # Catch up at once on start-up, after downtime, rather than in 15 minutes.
        next_run_time=clock.now(),
    )
    scheduler.add_job(
        run_outbox,
        "interval",
        seconds=OUTBOX_SECONDS,
        args=[app],
        id="outbox",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=clock.now(),
    )
    return scheduler


def run_due_nightlies(app: Flask) -> None:
    # Module level, so APScheduler can reference it (its FAQ).
    with app.app_context():
        nightly.tick(clock.now())


def run_outbox(app: Flask) -> None:
    """Queue the evening-before reminders once a clinic's evening has come, then
    send what is due (claim, send, mark: services/integrations/outbox.py)."""
    with app.app_context():
        try:
            reminders.queue_evenings(clock.now())
        finally:
            outbox.drain()
            db.session.remove()
