"""What an enrollment's protocol prescribes now, for the screens that show it.

`evaluate_enrollment` is what pages and check-in answers show (the run, what the next
negative earns, totals); `evaluate_history` also lists every day since enrolment, for
the pages that show them (history, progress).
"""

from __future__ import annotations

from datetime import date

from .. import rules
from ..models import Enrollment
from .timeline import load_timeline


def evaluate_enrollment(enrollment: Enrollment, as_of: date) -> rules.Evaluation:
    """What the enrollment's protocol prescribes for its events up to `as_of`."""
    return evaluate_history(enrollment, as_of)


def evaluate_history(enrollment: Enrollment, as_of: date) -> rules.Evaluation:
    """The same, with every day and award since the enrollment began."""
    return load_timeline(enrollment).evaluate(as_of)
