"""Funding programs' caps stacked on the protocol's (docs/funding.md): the smaller
room binds, a program caps only the days it funds, its month and year windows span
the participant's enrollments, and every capped award names the rule."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from cm_service.rules import ProgramCaps, evaluate

from .builders import facts, spec_of, timeline

FAR = date(2028, 1, 1)
DEC = date(2025, 12, 1)  # a Monday; Higgins tests Mon/Wed/Fri for 12 weeks
SAMHSA = ProgramCaps(1, "SAMHSA grant", DEC, date(2025, 12, 31), None, None, 3000)
CA = ProgramCaps(2, "California Recovery Incentives Program", date(2026, 1, 1), None)


def run(spec, tokens, enrollment):
    events = timeline(spec, tokens, enrollment)
    return evaluate(spec, enrollment, events, as_of=FAR)


def cents_by_year(evaluation):
    paid = defaultdict(int)
    for award in evaluation.awards:
        paid[award.on.year] += award.cents
    return dict(paid)


def test_a_change_of_program_on_1_january_stacks_each_with_the_protocol():
    # $30.00 a year under the first program in December, then the second with
    # $40.00 a year; the protocol's own $25.00 a month binds first in January.
    spec = spec_of(caps__per_month_cents=2500)
    second = ProgramCaps(2, "County fund", date(2026, 1, 1), None, None, None, 4000)
    enrollment = facts(start_on=DEC, programs=(SAMHSA, second))

    evaluation = run(spec, " ".join(["N"] * 36), enrollment)

    # December: the month cap ($25) binds before the program's year ($30).
    # January and February: $25 a month, until the second program's $40 binds.
    assert cents_by_year(evaluation) == {2025: 2500, 2026: 4000}
    rules = [a.rule for a in evaluation.awards if a.capped_cents]
    assert any("capped at $25.00 per month:" in r for r in rules)
    assert any("capped at $40.00 per calendar year (County fund):" in r for r in rules)
    assert not any("SAMHSA" in r for r in rules)


def test_the_program_binds_when_its_room_is_smaller_and_names_itself():
    spec = spec_of()  # Higgins: no caps of its own
    enrollment = facts(start_on=DEC, programs=(SAMHSA,))

    evaluation = run(spec, " ".join(["N"] * 18), enrollment)

    december = [a for a in evaluation.awards if a.on.year == 2025]
    assert sum(a.cents for a in december) == 3000
    capped = next(a for a in december if a.capped_cents)
    assert "capped at $30.00 per calendar year (SAMHSA grant): paid" in capped.rule
    # January is funded by no program: nothing caps it.
    january = [a for a in evaluation.awards if a.on.year == 2026]
    assert january
    assert not any(a.capped_cents for a in january)


def test_a_programs_year_cap_counts_what_it_paid_in_other_enrollments():
    spec = spec_of()
    grant = ProgramCaps(7, "SAMHSA grant", date(2026, 1, 1), None, None, None, 75000)
    other = ProgramCaps(8, "Other fund", date(2026, 1, 1), None, None, None, 75000)
    paid = {("program", 7, "year", 2026): 74000, ("program", 7, "year", 2025): 75000}

    same = run(spec, "N N N N N N", facts(programs=(grant,), program_paid_cents=paid))
    another = run(
        spec, "N N N N N N", facts(programs=(other,), program_paid_cents=paid)
    )

    assert sum(a.cents for a in same.awards) == 1000
    assert "capped at $750.00 per calendar year (SAMHSA grant)" in (
        next(a for a in same.awards if a.capped_cents).rule
    )
    assert another.capped_cents == 0


def test_the_per_award_cap_keeps_each_test_under_five_dollars():
    spec = spec_of()
    oig = ProgramCaps(3, "OIG AO 22-04", date(2026, 1, 1), None, 499, 20000, 59900)

    evaluation = run(spec, "N N N N N N", facts(programs=(oig,)))

    by_test = defaultdict(int)
    for award in evaluation.awards:
        by_test[award.on] += award.cents
    assert max(by_test.values()) == 475  # 19 whole points of 25 cents
    assert "capped at $4.99 per award (OIG AO 22-04)" in evaluation.awards[-1].rule


def test_protocol_and_program_caps_that_tie_are_both_named():
    spec = spec_of(caps__per_calendar_year_cents=1000)
    ca = ProgramCaps(2, "California", date(2026, 1, 1), None, None, None, 1000)

    evaluation = run(spec, "N N N N N", facts(programs=(ca,)))

    capped = next(a for a in evaluation.awards if a.capped_cents)
    assert (
        "capped at $10.00 per calendar year and $10.00 per calendar year"
        " (California): paid" in capped.rule
    )


def test_a_checkpoint_resumes_with_the_programs_windows():
    from cm_service.rules import fold_awards
    from cm_service.rules.checkpoint import dump, load

    spec = spec_of()
    enrollment = facts(start_on=DEC, programs=(SAMHSA, CA))
    events = timeline(spec, " ".join(["N"] * 12), enrollment)
    whole = fold_awards(spec, enrollment, events, as_of=FAR).awards
    first = fold_awards(
        spec, enrollment, events, as_of=FAR, checkpoint_on=date(2025, 12, 15)
    )
    resumed = fold_awards(
        spec,
        enrollment,
        events,
        as_of=FAR,
        resume=load(dump(first.checkpoint), enrollment),
    ).awards

    assert [a for a in whole if a.on > date(2025, 12, 15)] == list(resumed)


def test_a_program_counts_prize_draws_at_their_expected_value():
    # The VA protocol's caps do not count draws; a funder's count each draw at
    # its bowl's expected value.
    from cm_service.rules import expected_value_cents, load_preset, validate_spec

    spec = validate_spec(load_preset("va-prize-2014"))
    value = expected_value_cents(spec.phases[0].specimen.bowl)
    grant = ProgramCaps(1, "SAMHSA grant", date(2026, 1, 1), None, None, None, 2000)

    free = run(spec, "N N N N N N", facts())
    funded = run(spec, "N N N N N N", facts(programs=(grant,)))

    assert sum(a.amount for a in free.awards) == 21  # 1 + 2 + ... + 6 draws
    drawn = sum(a.amount for a in funded.awards)
    assert drawn == 2000 // value  # every whole draw that fits in $20.00
    capped = next(a for a in funded.awards if a.capped_cents)
    assert "capped at $20.00 per calendar year (SAMHSA grant): paid" in capped.rule
    assert "draws (at their expected value)" in capped.rule
