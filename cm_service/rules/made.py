"""Frozen records made without their `__init__`, and fields made when first read.

A frozen dataclass's `__init__` sets each field through `object.__setattr__`: about
1.5 µs for ten fields, more than the fold spends on the arithmetic of a test. `made`
fills a new instance's `__dict__` directly (every field must be given); the result
is the same frozen, comparable, hashable record. A class that mixes in `Later` may
leave fields out and say, in `_later`, how each is made from what was kept: the
field is made the first time anything reads it (eq, hash, repr and
`dataclasses.replace` read it too), then stays. Imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_new = object.__new__


def made(cls: type[T], fields: dict[str, Any]) -> T:
    """An instance of the frozen dataclass `cls` whose `__dict__` is `fields`."""
    record = _new(cls)
    record.__dict__.update(fields)
    return record


class Later:
    """Mixin: a field absent from `__dict__` is made by `_later[name](self)`."""

    __slots__ = ()
    _later: dict[str, Callable[[Any], Any]] = {}

    def __getattr__(self, name: str) -> Any:
        # Only called when the normal lookup failed: a field not made yet.
        make = type(self)._later.get(name)
        if make is None:
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            )
        value = make(self)
        self.__dict__[name] = value
        return value
