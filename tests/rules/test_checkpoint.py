"""Folding on from a stored checkpoint pays exactly what a fold from day one pays."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cm_service.rules import (
    Fact,
    ProgramCaps,
    evaluate,
    fold_awards,
    last_day,
    preset_keys,
    scheduled_days,
)
from cm_service.rules.checkpoint import dump, load

from .builders import START, facts, preset, spec_of

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
GROUP = {"type": "fixed", "amount": 4, "session_types": ["group"]}
SPECS = {key: preset(key) for key in preset_keys()}
# Caps that bind often: per test, per week and per month, across both schedules.
SPECS["capped"] = spec_of(
    phases__0__attendance=GROUP,
    caps__per_test_cents=900,
    caps__per_week_cents=2000,
    caps__per_month_cents=6000,
)


PROGRAMS = (
    ProgramCaps(1, "First", START, START + timedelta(days=40), 499, 3000, None),
    ProgramCaps(2, "Second", START + timedelta(days=41), None, None, 4000, 9000),
)


@st.composite
def timelines(draw, spec):
    """Random events over the protocol, ids in recording order: most scheduled days
    tested (negative, positive, dilute, refused) or missed or excused, some left
    open, extra tests and group sessions on any day."""
    enrollment = facts(
        year_paid_cents=draw(st.sampled_from([{}, {2026: 40_000}, {2026: 59_000}])),
        # Funding programs (docs/funding.md): none, or one whose caps bind often,
        # handing over to another partway, with money it paid elsewhere.
        programs=draw(st.sampled_from([(), PROGRAMS])),
        program_paid_cents={("program", 2, "year", 2026): 1_000},
    )
    end = last_day(spec, enrollment)
    span = (end - START).days + 1
    scheduled = scheduled_days(spec, enrollment, START, end)
    tokens = draw(
        st.lists(
            st.sampled_from("NNNNNNPDRME-"),
            min_size=len(scheduled),
            max_size=len(scheduled),
        )
    )
    planned = [
        (on, token) for on, token in zip(scheduled, tokens, strict=True) if token != "-"
    ]
    extras = draw(
        st.lists(
            st.tuples(st.integers(0, span - 1), st.sampled_from("NPG")), max_size=40
        )
    )
    planned += [(START + timedelta(days=n), token) for n, token in extras]
    targets = spec.targets.substances
    events = [
        _event(n, on, token, targets)
        for n, (on, token) in enumerate(sorted(planned), start=1)
    ]
    as_of = START + timedelta(days=draw(st.integers(0, span + 7)))
    return enrollment, events, as_of


def _event(n, on, token, targets):
    if token == "G":
        return Fact(n, "attendance", on, session_type="group")
    if token in "MR":
        return (
            Fact(n, "missed", on)
            if token == "M"
            else Fact(n, "specimen", on, refused=True)
        )
    if token == "E":
        return Fact(n, "excused", on)
    result = {"N": "negative", "P": "positive", "D": "dilute"}[token]
    return Fact(n, "specimen", on, dict.fromkeys(targets, result))


@pytest.mark.parametrize("key", sorted(SPECS))
@SETTINGS
@given(data=st.data())
def test_resuming_from_a_stored_checkpoint_pays_what_a_full_fold_pays(key, data):
    spec = SPECS[key]
    enrollment, events, as_of = data.draw(timelines(spec))
    # The checkpoint was taken earlier, before the later events were recorded.
    taken_on = START + timedelta(days=data.draw(st.integers(0, (as_of - START).days)))
    through = taken_on - timedelta(days=data.draw(st.integers(0, 3)))
    earlier = [e for e in events if e.on <= taken_on]
    first = fold_awards(
        spec, enrollment, earlier, as_of=taken_on, checkpoint_on=through
    )
    stored = json.loads(json.dumps(dump(first.checkpoint)))

    resumed = fold_awards(
        spec, enrollment, events, as_of=as_of, resume=load(stored, enrollment)
    )

    full = evaluate(spec, enrollment, events, as_of=as_of).awards
    assert resumed.awards == tuple(a for a in full if a.on > through)
    assert first.awards == evaluate(spec, enrollment, earlier, as_of=taken_on).awards


@pytest.mark.parametrize("key", sorted(SPECS))
@SETTINGS
@given(data=st.data())
def test_an_evaluation_resumed_from_a_checkpoint_shows_what_a_full_one_shows(key, data):
    spec = SPECS[key]
    enrollment, events, as_of = data.draw(timelines(spec))
    if as_of == START:
        return  # no checkpoint can be taken before the first day
    through = START + timedelta(
        days=data.draw(st.integers(0, (as_of - START).days - 1))
    )
    taken = fold_awards(
        spec,
        enrollment,
        [e for e in events if e.on <= through],
        as_of=through,
        checkpoint_on=through,
    ).checkpoint
    stored = load(json.loads(json.dumps(dump(taken))), enrollment)

    resumed = evaluate(spec, enrollment, events, as_of=as_of, resume=stored)

    full = evaluate(spec, enrollment, events, as_of=as_of)
    assert resumed.since == through
    assert resumed.awards == tuple(a for a in full.awards if a.on > through)
    assert resumed.days == tuple(d for d in full.days if d.on > through)
    shown = ("run", "level", "longest_run", "next_negative", "total_points")
    shown += ("total_cents", "total_draws", "capped_cents", "cents_by_year")
    for name in shown:
        assert getattr(resumed, name) == getattr(full, name), name
    by_year = {}
    for a in full.awards:
        by_year[a.on.year] = by_year.get(a.on.year, 0) + a.cents
    assert full.cents_by_year == by_year
    assert full.total_cents == sum(a.cents for a in full.awards)
    assert full.capped_cents == sum(a.capped_cents for a in full.awards)
    for account in ("points", "draws"):
        total = getattr(full, f"total_{account}")
        assert total == sum(a.amount for a in full.awards if a.account == account)


def test_an_evaluation_cannot_resume_from_its_own_day_or_later():
    spec = SPECS["higgins-1994"]
    taken = fold_awards(spec, facts(), [], as_of=START, checkpoint_on=START).checkpoint
    with pytest.raises(ValueError, match="before its as_of"):
        evaluate(spec, facts(), [], as_of=START, resume=taken)


@pytest.mark.parametrize("key", ["ca-recovery-incentives", "capped", "higgins-1994"])
@SETTINGS
@given(data=st.data())
def test_a_chain_of_checkpoints_pays_each_award_once(key, data):
    spec = SPECS[key]
    enrollment, events, as_of = data.draw(timelines(spec))
    cuts = sorted(
        START + timedelta(days=n)
        for n in data.draw(st.lists(st.integers(0, (as_of - START).days), max_size=5))
    )
    paid, resume = [], None
    for cut in [*cuts, as_of]:
        folded = fold_awards(
            spec,
            enrollment,
            [e for e in events if e.on <= cut],
            as_of=cut,
            resume=resume,
            checkpoint_on=cut,
        )
        new = [a for a in folded.awards if resume is None or a.on > resume.through]
        paid += [a for a in new if a.on <= cut]
        if folded.checkpoint is not None:
            resume = load(dump(folded.checkpoint), enrollment)

    assert tuple(paid) == evaluate(spec, enrollment, events, as_of=as_of).awards


def test_a_checkpoint_in_another_format_is_not_used():
    assert load({"format": 0}, facts()) is None


def test_no_checkpoint_is_taken_beyond_the_folded_days_or_before_the_resume_point():
    spec = SPECS["higgins-1994"]
    negative = Fact(1, "specimen", START, {"cocaine": "negative"})
    assert (
        fold_awards(
            spec,
            facts(),
            [negative],
            as_of=START,
            checkpoint_on=START + timedelta(days=1),
        ).checkpoint
        is None
    )
    taken = fold_awards(
        spec,
        facts(),
        [negative],
        as_of=START + timedelta(days=3),
        checkpoint_on=START + timedelta(days=2),
    ).checkpoint
    again = fold_awards(
        spec,
        facts(),
        [negative],
        as_of=START + timedelta(days=3),
        resume=taken,
        checkpoint_on=START + timedelta(days=1),
    )
    assert again.checkpoint is None
    assert again.awards == ()
