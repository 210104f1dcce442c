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


# Each kind of write has one owner: the one function that makes the row (or
# changes the column), which every use case calls.
ONE_WRITER = {
    "Event": "services/cm/events.py:add_event",
    "LedgerEntry": "services/cm/ledger.py:post_entry",
    "StockMovement": "services/cm/ledger.py:record_custody",
    "Reward.stock": "services/cm/ledger.py:move_stock",
}


def writers(package: Path) -> dict[str, list[str]]:
    """For each write in ONE_WRITER, the functions ("path:function") under
    `package` that do it: construct the model, or change a reward's stock (an
    `update(Reward)` statement, or an assignment to `.stock`)."""
    found: dict[str, list[str]] = {write: [] for write in ONE_WRITER}
    for path in sorted(package.rglob("*.py")):
        where = path.relative_to(package).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function, node in _nodes_in_functions(tree):
            write = _write_of(node)
            if write is not None:
                found[write].append(f"{where}:{function}")
    return found


def _nodes_in_functions(node: ast.AST, function: str = "<module>"):
    """(innermost enclosing function's name, node) for every node below `node`, in
    source order; "<module>" outside any function."""
    for child in ast.iter_child_nodes(node):
        inner = (
            child.name
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            else function
        )
        yield inner, child
        yield from _nodes_in_functions(child, inner)


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _write_of(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        called = _name(node.func)
        if called in ("Event", "LedgerEntry", "StockMovement"):
            return called
        if called == "update" and node.args and _name(node.args[0]) == "Reward":
            return "Reward.stock"
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    if any(isinstance(t, ast.Attribute) and t.attr == "stock" for t in targets):
        return "Reward.stock"
    return None


def test_each_kind_of_write_has_one_owner():
    found = writers(RULES.parent)

    assert found == {write: [owner] for write, owner in ONE_WRITER.items()}


def test_the_write_scan_finds_constructors_stock_updates_and_assignments(tmp_path):
    (tmp_path / "a.py").write_text(
        "def record():\n    return models.Event(kind='x')\n"
        "def take(reward):\n    db.session.execute(update(Reward).values(stock=0))\n"
        "def fix(reward):\n    reward.stock -= 1\n"
        "class Ledger:\n    def post(self):\n        return LedgerEntry()\n",
        encoding="utf-8",
    )

    assert writers(tmp_path) == {
        "Event": ["a.py:record"],
        "LedgerEntry": ["a.py:post"],
        "StockMovement": [],
        "Reward.stock": ["a.py:take", "a.py:fix"],
    }
