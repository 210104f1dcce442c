"""The pure rules engine: protocol specs, outcome classification and the award fold.

Owns everything cm-service computes from a protocol and a timeline, and nothing that
touches a request, a session or a database: it imports only the standard library (a
test enforces it). The services layer turns rows into `Fact`s and posts the `Award`s.
"""

from __future__ import annotations

from .caps import ProgramCaps, program_on
from .days import (
    last_day,
    phase_at,
    scheduled_days,
    session_days,
    session_type_on,
    week_of,
)
from .draws import Tier, draw_digest, expected_value_cents, pick_tier
from .escalation import Streak
from .evaluate import (
    Award,
    Checkpoint,
    Evaluation,
    Folded,
    NextNegative,
    NextSession,
    evaluate,
    fold_awards,
    with_next,
)
from .facts import Booking, EnrollmentFacts, Exemption, Fact
from .money import format_cents
from .outcomes import (
    DayOutcome,
    Outcome,
    classify_results,
    day_outcomes,
    outcome_of_day,
)
from .presets import load_preset, preset_keys
from .sessions import SessionOutcome, next_slots, schedule_for, session_outcomes
from .settlement import (
    Held,
    LedgerRow,
    Posting,
    Settlement,
    Withheld,
    after_offset,
    ledger_windows,
    program_unit_value,
    session_after_offset,
    settle_awards,
    unit_value,
    units_text,
)
from .simulate import (
    CohortResult,
    SimulationError,
    SimulationResult,
    format_table,
    simulate_cohort,
    simulate_outcomes,
    theoretical_maximum,
)
from .spec import (
    Bonus,
    Caps,
    FieldError,
    Phase,
    ProtocolSpec,
    Schedule,
    SpecError,
    Targets,
    bowl_of,
    validate_spec,
)
from .standing import Standing, standing_of

__all__ = [
    "after_offset",
    "Award",
    "Booking",
    "Bonus",
    "Caps",
    "Checkpoint",
    "CohortResult",
    "DayOutcome",
    "EnrollmentFacts",
    "Evaluation",
    "Exemption",
    "Fact",
    "FieldError",
    "Folded",
    "Held",
    "LedgerRow",
    "Posting",
    "ProgramCaps",
    "Settlement",
    "Withheld",
    "NextNegative",
    "NextSession",
    "SessionOutcome",
    "Outcome",
    "Phase",
    "ProtocolSpec",
    "Schedule",
    "SimulationError",
    "SimulationResult",
    "SpecError",
    "Standing",
    "Streak",
    "Targets",
    "Tier",
    "bowl_of",
    "classify_results",
    "day_outcomes",
    "draw_digest",
    "evaluate",
    "expected_value_cents",
    "fold_awards",
    "format_cents",
    "format_table",
    "last_day",
    "ledger_windows",
    "load_preset",
    "outcome_of_day",
    "phase_at",
    "pick_tier",
    "preset_keys",
    "program_on",
    "program_unit_value",
    "scheduled_days",
    "standing_of",
    "with_next",
    "next_slots",
    "schedule_for",
    "session_after_offset",
    "session_days",
    "session_outcomes",
    "session_type_on",
    "settle_awards",
    "simulate_cohort",
    "simulate_outcomes",
    "theoretical_maximum",
    "unit_value",
    "units_text",
    "validate_spec",
    "week_of",
]
