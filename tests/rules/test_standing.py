"""A standing kept as JSON reads back as the very standing a fold gives (issue 19)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cm_service.rules import Fact, evaluate, scheduled_days, standing_of, with_next
from cm_service.rules.standing import dump, load

from .builders import START, facts
from .test_checkpoint import SETTINGS, SPECS, timelines


def _messages(standing):
    """The explanations as messages: `why` is left out of a record's equality."""
    return (
        standing.next_negative.why,
        tuple(session.why for session in standing.next_sessions),
    )


@pytest.mark.parametrize("key", sorted(SPECS))
@SETTINGS
@given(data=st.data())
def test_a_kept_standing_reads_back_as_the_standing_of_a_fold(key, data):
    spec = SPECS[key]
    enrollment, events, as_of = data.draw(timelines(spec))
    evaluation = evaluate(spec, enrollment, events, as_of=as_of)
    standing = standing_of(evaluation, as_of)

    kept = load(json.loads(json.dumps(dump(standing))))

    assert kept == standing
    assert _messages(kept) == _messages(standing)
    assert kept.next_negative.explanation == evaluation.next_negative.explanation
    assert kept.run == evaluation.run
    assert kept.level == evaluation.level
    assert kept.total_cents == evaluation.total_cents
    assert all(s.on == as_of for s in kept.sessions)
    assert kept.sessions == tuple(s for s in evaluation.sessions if s.on == as_of)


def test_a_standing_remembers_the_level_recovery_would_restore():
    spec = SPECS["higgins-1994"]  # a positive resets; recovery restores the level
    enrollment = facts()
    negative = dict.fromkeys(spec.targets.substances, "negative")
    positive = dict.fromkeys(spec.targets.substances, "positive")
    days = scheduled_days(spec, enrollment, START, START + timedelta(days=20))
    results = [negative] * 5 + [positive]
    events = [
        Fact(n, "specimen", on, result)
        for n, (on, result) in enumerate(zip(days, results, strict=False), start=1)
    ]
    as_of = days[5] + timedelta(days=1)

    standing = standing_of(evaluate(spec, enrollment, events, as_of=as_of), as_of)

    assert standing.run == 0
    assert standing.saved_level is not None
    assert standing.saved_level > standing.level
    kept = load(json.loads(json.dumps(dump(standing))))
    assert kept is not None
    assert kept.saved_level == standing.saved_level


def test_a_standing_kept_in_another_format_is_not_read():
    standing = standing_of(
        evaluate(SPECS["higgins-1994"], facts(), [], as_of=START), START
    )
    assert load({**dump(standing), "format": 0}) is None


def test_saying_what_the_next_awards_pay_leaves_the_day_records_unmade():
    spec = SPECS["higgins-1994"]
    enrollment = facts()
    negative = dict.fromkeys(spec.targets.substances, "negative")
    days = scheduled_days(spec, enrollment, START, START + timedelta(days=20))
    events = [Fact(n, "specimen", on, negative) for n, on in enumerate(days, 1)]
    evaluation = evaluate(spec, enrollment, events, as_of=days[-1])
    cheaper = replace(evaluation.next_negative, points=1)

    changed = with_next(evaluation, cheaper, ())

    assert "days" not in changed.__dict__
    assert "awards" not in changed.__dict__
    assert changed.next_negative.points == 1
    assert changed == replace(evaluation, next_negative=cheaper, next_sessions=())
