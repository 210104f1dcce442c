"""Small builders for pure rules tests: specs, facts and token timelines."""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta
from typing import Any

from cm_service.rules import (
    EnrollmentFacts,
    Fact,
    ProtocolSpec,
    load_preset,
    scheduled_days,
    session_days,
    session_type_on,
    validate_spec,
)

START = date(2026, 1, 5)  # a Monday


def day(n: int) -> date:
    """The n-th day of the enrollment (0 = the start, a Monday)."""
    return START + timedelta(days=n)


def preset(key: str) -> ProtocolSpec:
    return validate_spec(load_preset(key))


def changed(document: dict[str, Any], **paths: Any) -> dict[str, Any]:
    """A deep copy of `document` with dotted/indexed paths set (`__` stands for `.`)."""
    result = copy.deepcopy(document)
    for path, value in paths.items():
        set_path(result, path.replace("__", "."), value)
    return result


def set_path(document: Any, path: str, value: Any) -> None:
    """Set `phases[0].specimen.step` style paths; a value of DELETE removes the key."""
    parts = [int(p) if p.isdigit() else p for p in re.findall(r"[^.\[\]]+", path)]
    target = document
    for part in parts[:-1]:
        target = target[part]
    if value is DELETE:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value


DELETE = object()


def spec_of(**paths: Any) -> ProtocolSpec:
    """The Higgins preset with some fields changed, validated."""
    return validate_spec(changed(load_preset("higgins-1994"), **paths))


def facts(**kwargs: Any) -> EnrollmentFacts:
    return EnrollmentFacts(start_on=kwargs.pop("start_on", START), **kwargs)


def specimen(event_id: int, on: date, **results: str) -> Fact:
    return Fact(event_id, "specimen", on, results)


def event(event_id: int, kind: str, on: date, **kwargs: Any) -> Fact:
    return Fact(event_id, kind, on, **kwargs)


def timeline(
    spec: ProtocolSpec, tokens: str, enrollment: EnrollmentFacts | None = None
) -> list[Fact]:
    """One event per token on the scheduled days: N P M R E (ids are ordinals)."""
    enrollment = enrollment or facts()
    far = date(2100, 1, 1)
    days = scheduled_days(spec, enrollment, enrollment.start_on, far)
    if not days:  # attendance only: one token per session (A L M E)
        days = session_days(spec, enrollment, enrollment.start_on, far)
    targets = enrollment.targets or spec.targets.substances
    events = []
    for n, (on, token) in enumerate(zip(days, tokens.split(), strict=False), start=1):
        kind = session_type_on(spec, enrollment, on)
        events.append(_token_event(n, on, token, targets, kind))
    return events


def _token_event(
    n: int, on: date, token: str, targets: tuple[str, ...], session: str | None = None
) -> Fact:
    if token in ("A", "L"):
        return Fact(n, "attendance", on, session_type=session)
    if token in ("N", "P"):
        result = "negative" if token == "N" else "positive"
        return Fact(n, "specimen", on, dict.fromkeys(targets, result))
    if token == "R":
        return Fact(n, "specimen", on, refused=True)
    return Fact(n, {"M": "missed", "E": "excused"}[token], on)


def amounts(evaluation: Any) -> list[tuple[str, int]]:
    return [(award.key, award.amount) for award in evaluation.awards]
