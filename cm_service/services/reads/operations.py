"""The operations page's reads: the clinic's nightly runs and reconciliations, its
closures, and the outbox's dead letters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from ...extensions import db
from ...models import Clinic, ClinicClosure, JobRun
from ..access.actors import Actor
from ..admin.clinics import own_clinic
from ..cm import nightly
from ..cm.timeline import clinic_today
from ..integrations import outbox

# A run needs a look when it did not finish cleanly or when it did something.
UNSETTLED = ("failed", "held", "running")
CLOSURES_SHOWN = 30
CHECKS_SHOWN = 14


@dataclass(frozen=True)
class Operations:
    clinic: Clinic
    today: date
    runs: list[JobRun]
    checks: list[JobRun]
    closures: list[ClinicClosure]
    dead_letters: list[Any]
    outbox_counts: dict[str, int]

    @property
    def attention(self) -> list[JobRun]:
        return [run for run in self.runs if needs_attention(run)]

    @property
    def checks_found(self) -> list[JobRun]:
        """Reconciliations that found a difference, or did not finish."""
        return [
            run
            for run in self.checks
            if run.status in UNSETTLED or run.counts.get("reconcile_differences")
        ]


def needs_attention(run: JobRun) -> bool:
    """A run staff should see without unfolding the full table: failed, held or
    still running, or one that recorded something (a missed test, an award)."""
    return run.status in UNSETTLED or any(run.counts.values())


def operations(actor: Actor, now: datetime) -> Operations:
    clinic = own_clinic(actor)
    return Operations(
        clinic=clinic,
        today=clinic_today(clinic, now),
        runs=nightly.recent_runs(clinic.id),
        checks=list(
            nightly.recent_runs(clinic.id, CHECKS_SHOWN, nightly.RECONCILE_JOB)
        ),
        closures=list(
            db.session.scalars(
                select(ClinicClosure)
                .where(ClinicClosure.clinic_id == clinic.id)
                .order_by(ClinicClosure.closed_on.desc())
                .limit(CLOSURES_SHOWN)
            )
        ),
        dead_letters=list(outbox.dead_letters(actor)),
        outbox_counts=dict(outbox.counts_of(actor)),
    )
