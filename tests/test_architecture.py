"""Architecture: the rules engine stays pure (docs/architecture.md)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from cm_service.rules import validate_spec

RULES = Path(__file__).resolve().parent.parent / "cm_service" / "rules"
FORBIDDEN = (
    "flask",
    "flask_sqlalchemy",
    "sqlalchemy",
    "werkzeug",
    "cm_service.models",
    "cm_service.services",
    "cm_service.extensions",
)
RULES_FILES = sorted(RULES.rglob("*.py"))


def imported_modules(path: Path) -> list[str]:
    """Absolute names of everything `path` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(RULES.parent.parent).with_suffix("").parts[:-1])
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(_absolute(package, node))
    return names


def _absolute(package: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    keep = len(parts) - node.level + 1
    base = parts[:keep]
    if keep < 1:  # climbs above the top-level package: report it as written
        return "." * node.level + (node.module or "")
    return ".".join([*base, node.module] if node.module else base)


def test_the_rules_package_has_python_files_to_check():
    assert len(RULES_FILES) >= 8


@pytest.mark.parametrize("path", RULES_FILES, ids=lambda p: p.name)
def test_rules_modules_import_no_framework_database_or_service_code(path):
    imported = imported_modules(path)

    bad = [
        name
        for name in imported
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert bad == []


@pytest.mark.parametrize("path", RULES_FILES, ids=lambda p: p.name)
def test_rules_modules_import_nothing_outside_the_rules_package(path):
    imported = imported_modules(path)

    escaping = [
        name
        for name in imported
        if name.startswith(".")
        or (name.startswith("cm_service") and not name.startswith("cm_service.rules"))
    ]
    assert escaping == []


def test_the_import_resolver_resolves_relative_imports_that_escape_rules():
    tree = ast.parse(
        "from ...models import Event\nfrom .. import spec\nfrom .....x import y\n"
    )
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]

    assert [_absolute("cm_service.rules.nested", n) for n in nodes] == [
        "cm_service.models",
        "cm_service.rules",
        ".....x",
    ]


@pytest.mark.parametrize(
    "path", sorted((RULES / "presets").glob("*.json")), ids=lambda p: p.name
)
def test_every_preset_file_validates(path):
    document = json.loads(path.read_text(encoding="utf-8"))

    assert validate_spec(document).key == path.stem


def test_one_user_loader_is_registered_and_it_checks_the_session_version(app):
    from cm_service.staff import sessions

    package = RULES.parent
    registrations = [
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if "user_loader" in path.read_text(encoding="utf-8")
    ]

    # A second loader would silently replace the first (Flask-Login keeps one).
    assert registrations == ["staff/sessions.py"]
    assert app.login_manager._user_callback is sessions._load_user  # noqa: SLF001
