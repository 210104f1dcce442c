"""What browser tests share: ending the test's transaction, screenshots, and
axe-core's accessibility check."""

from __future__ import annotations

import json
from pathlib import Path

from cm_service.extensions import db

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = ROOT / "test-results" / "screenshots"


def release_database() -> None:
    """End the test thread's transaction: on SQLite it holds the one writer lock,
    which the live server's requests need."""
    db.session.remove()


def screenshot(page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def serious_accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical violations on the current page."""
    # Evaluated through the DevTools protocol: the page's CSP (no inline script)
    # stays on while axe runs.
    page.evaluate(AXE.read_text())
    found = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        f"{v['id']}: {v['help']} at {json.dumps([n['target'] for n in v['nodes']])}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]
