"""Explanations as messages (rules/messages.py): the English the engine has always
written, stored as JSON and back, and every message id translated into Spanish."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from cm_service.rules import (
    load_preset,
    preset_keys,
    settlement,
    simulate_outcomes,
    validate_spec,
)
from cm_service.rules.messages import (
    Cents,
    Day,
    IsoDate,
    Join,
    Msg,
    Ordinal,
    Term,
    english,
    from_json,
    message_ids,
    msg,
    to_json,
)
from cm_service.rules.simulate import SimulationError

SPANISH_PO = (
    Path(__file__).resolve().parents[2]
    / "cm_service"
    / "translations"
    / "es"
    / "LC_MESSAGES"
    / "messages.po"
)


def outcomes(seed: int, count: int, alphabet: str) -> str:
    pick = random.Random(seed)
    return " ".join(pick.choice(alphabet) for _ in range(count))


def folded(key: str):
    """Every message and English text folding `key` through simulate gives: awards,
    the next negative and sessions, a settlement that corrects and withholds."""
    spec = validate_spec(load_preset(key))
    found = []
    for seed in range(12):
        result = None
        # Tests, else sessions (an attendance-only protocol); fewer when the
        # protocol has fewer scheduled.
        for alphabet in ("NNNNNPMRE", "AAAALME"):
            for count in (5 + 4 * seed, 12, 4):
                try:
                    result = simulate_outcomes(spec, outcomes(seed, count, alphabet))
                    break
                except SimulationError:
                    continue
            if result is not None:
                break
        assert result is not None
        evaluation = result.evaluation
        found += [(a.rule, a.why) for a in evaluation.awards]
        nxt = evaluation.next_negative
        found.append((nxt.explanation, nxt.why))
        found += [(s.explanation, s.why) for s in evaluation.next_sessions]
        # A ledger that holds more for the first award and less for the next ones:
        # corrections, offsets and withheld notes.
        awards = list(evaluation.awards)
        held = {}
        for n, award in enumerate(awards[:3]):
            extra = 3 if n == 0 else -1
            held[award.key] = settlement.Held(
                award.account, max(award.amount + extra, 0), 1, award.on
            )
        settled = settlement.settle_awards(spec, awards, held)
        found += [(p.rule, p.why) for p in settled.postings]
        found += [(w.explanation, w.why) for w in settled.withheld]
        offset = {"points": 5, "draws": 2}
        later = settlement.after_offset(spec, nxt, offset)
        found.append((later.explanation, later.why))
        for session in evaluation.next_sessions:
            later = settlement.session_after_offset(spec, session, offset)
            found.append((later.explanation, later.why))
    return found


@pytest.mark.parametrize("key", preset_keys())
def test_every_explanation_of_a_preset_is_its_messages_english(key):
    found = folded(key)

    assert found
    for text, why in found:
        assert isinstance(why, Msg)
        assert english(why) == text
        assert str(why) == text


@pytest.mark.parametrize("key", preset_keys())
def test_every_message_of_a_preset_survives_json(key):
    for _, why in folded(key):
        stored = to_json(why)
        assert from_json(stored) == why
        assert english(from_json(stored)) == english(why)


def test_a_message_of_every_argument_type_round_trips():
    why = msg(
        "%(a)s %(b)s %(c)s %(d)s %(e)s %(f)s %(g)s",
        a=3,
        b=Cents(-125),
        c=Ordinal(22),
        d=Day(date(2026, 1, 5)),
        e=IsoDate(date(2026, 1, 8)),
        f=Term("session type", "group"),
        g=Join(
            "and", (Cents(100), Msg("%(num)s draw", (("num", 2),), "%(num)s draws"))
        ),
    )

    assert (
        english(why)
        == "3 -$1.25 22nd Mon 2026-01-05 2026-01-08 group $1.00 and 2 draws"
    )
    assert from_json(to_json(why)) == why


@pytest.mark.parametrize(
    "data", [None, True, 1.5, [], ["x", 1], ["m", "id"], ["c", "ten"], ["j", "or", []]]
)
def test_stored_data_that_is_no_message_is_refused(data):
    with pytest.raises(ValueError, match="not a stored message"):
        from_json(data)


def _catalogue():
    with SPANISH_PO.open("rb") as f:
        return read_po(f)


def test_every_message_the_rules_use_has_a_spanish_translation():
    catalogue = _catalogue()
    used = set()
    for key in preset_keys():
        for _, why in folded(key):
            used |= message_ids(why)

    missing = []
    for id, plural in sorted(used, key=str):
        entry = catalogue.get(id if plural is None else id)
        if entry is None:
            missing.append(id)
        elif plural is not None and (
            not entry.pluralizable or not all(entry.string) or entry.id[1] != plural
        ):
            missing.append(id)
        elif plural is None and not entry.string:
            missing.append(id)
    assert missing == []
    assert len(used) >= 20  # the presets exercise most of the messages


def test_every_message_id_marked_in_the_rules_is_translated():
    from babel.messages.extract import extract_from_dir

    rules_dir = SPANISH_PO.parents[3] / "rules"
    keywords = {"N_": None, "NN_": (1, 2), "NP_": ((1, "c"), 2)}
    marked = [
        message
        for _, _, message, _, context in extract_from_dir(
            str(rules_dir),
            method_map=[("**.py", "python")],
            keywords=keywords,
        )
    ]
    catalogue = _catalogue()

    assert len(marked) > 40
    for message in marked:
        key = message if isinstance(message, str) else message[0]
        entries = [
            m
            for m in catalogue
            if m.id and (m.id if isinstance(m.id, str) else m.id[0]) == key
        ]
        assert entries, key
        assert all(all(m.string) if m.pluralizable else m.string for m in entries), key
