"""Layering (docs/architecture.md): pages and commands parse, call one service and
render; only services query and write, only services and `transactions.py` commit;
services never reach for the request; only the outbox's delivery backends talk to
the network."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from cm_service.extensions import Base

PACKAGE = Path(__file__).resolve().parent.parent / "cm_service"


def _files(*names: str) -> list[Path]:
    found: list[Path] = []
    for name in names:
        path = PACKAGE / name
        found += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return found


# The audiences' pages and the commands: the edge of the app.
EDGE = _files("staff", "portal", "api", "commands", "hooks.py", "cli.py")
SERVICES = _files("services")
# Where a transaction may be committed.
COMMITTERS = {*SERVICES, PACKAGE / "transactions.py"}
MAPPED = {mapper.class_.__name__ for mapper in Base.registry.mappers}
QUERYING = {"scalar", "scalars", "execute", "get", "query", "commit", "flush", "add"}


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).as_posix()


def _runtime_nodes(tree: ast.Module):
    """Every node outside `if TYPE_CHECKING:` blocks (annotations only)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(child) for child in ast.walk(node)}
    return [node for node in ast.walk(tree) if id(node) not in skip]


def mapped_classes_imported(path: Path) -> list[str]:
    """Model classes `path` imports from cm_service.models at run time."""
    found = []
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("models"):
            found += [alias.name for alias in node.names if alias.name in MAPPED]
    return found


def session_calls(path: Path) -> list[str]:
    """`db.session.<x>(...)` calls that query or write, with their line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in QUERYING
            and ast.unparse(node.func.value) == "db.session"
        ):
            found.append(f"{node.lineno}: {ast.unparse(node.func)}")
    return found


def commits(path: Path) -> list[str]:
    return [
        f"{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "commit"
    ]


def request_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module == "flask":
            found += [
                alias.name
                for alias in node.names
                if alias.name in {"request", "session", "g"}
            ]
        elif isinstance(node, ast.Attribute) and ast.unparse(node) == "flask.request":
            found.append("flask.request")
    return found


def test_there_are_pages_and_services_to_check():
    assert len(EDGE) >= 30
    assert len(SERVICES) >= 50
    assert {"Event", "LedgerEntry", "Participant"} <= MAPPED


@pytest.mark.parametrize("path", EDGE, ids=_name)
def test_pages_and_commands_use_no_model_class(path):
    assert mapped_classes_imported(path) == []


@pytest.mark.parametrize("path", EDGE, ids=_name)
def test_pages_and_commands_neither_query_nor_write(path):
    assert session_calls(path) == []


@pytest.mark.parametrize("path", _files("."), ids=_name)
def test_only_services_and_the_transaction_module_commit(path):
    if path in COMMITTERS:
        return
    assert commits(path) == []


@pytest.mark.parametrize("path", SERVICES, ids=_name)
def test_services_never_reach_for_the_request(path):
    assert request_imports(path) == []


NETWORK = {"smtplib", "urllib.request", "http.client", "socket", "requests", "httpx"}
DELIVERY = PACKAGE / "services" / "integrations" / "delivery.py"


def network_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name in NETWORK]
        elif isinstance(node, ast.ImportFrom) and node.module in NETWORK:
            found.append(node.module or "")
    return found


def test_the_delivery_backends_are_what_talks_to_the_network():
    assert network_imports(DELIVERY) != []


@pytest.mark.parametrize("path", _files("."), ids=_name)
def test_side_effects_leave_only_through_the_outbox_delivery(path):
    # A message or webhook made inside a use case could go out for a transaction
    # that then rolls back; the outbox sends after the commit (docs/reminders.md).
    if path == DELIVERY:
        return
    assert network_imports(path) == []


@pytest.mark.parametrize(
    ("source", "check", "expected"),
    [
        ("from ..models import Event, ROLES\n", mapped_classes_imported, ["Event"]),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from ..models import Event\n",
            mapped_classes_imported,
            [],
        ),
        ("x = db.session.get(User, 1)\n", session_calls, ["1: db.session.get"]),
        ("db.session.rollback()\n", session_calls, []),
        ("db.session.commit()\n", commits, ["1: db.session.commit()"]),
        ("from flask import current_app, request\n", request_imports, ["request"]),
        (
            "import smtplib\nfrom urllib.request import urlopen\n",
            network_imports,
            ["smtplib", "urllib.request"],
        ),
    ],
)
def test_the_checks_find_what_they_look_for(tmp_path, source, check, expected):
    path = tmp_path / "module.py"
    path.write_text(source)

    assert check(path) == expected
