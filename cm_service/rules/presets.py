"""The built-in protocol presets: one JSON file per published protocol.

Owns finding and reading `presets/<key>.json` through importlib.resources, so presets
work from a wheel or a zip as well as from a checkout. Each file cites its `source` and
states unconfirmed numbers in `confidence` (docs/protocol-spec.md, "Presets"). Imports
only the standard library.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

_PACKAGE = "cm_service.rules"


def _folder() -> Any:
    return resources.files(_PACKAGE).joinpath("presets")


def preset_keys() -> list[str]:
    """The keys of the built-in presets, sorted."""
    names = (entry.name for entry in _folder().iterdir())
    return sorted(
        name.removesuffix(".json") for name in names if name.endswith(".json")
    )


def load_preset(key: str) -> dict[str, Any]:
    """The raw JSON document of preset `key` (validate it with validate_spec).

    Raises KeyError for an unknown key.
    """
    if key not in preset_keys():
        raise KeyError(key)
    text = _folder().joinpath(f"{key}.json").read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
