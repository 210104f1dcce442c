"""The tests' own layout: what tests share lives in `tests/support`, and a conftest
module only holds fixtures, which pytest hands out by name: nothing imports one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = sorted((ROOT / "tests").rglob("*.py")) + sorted((ROOT / "bench").glob("*.py"))


def conftest_imports(path: Path) -> list[str]:
    """Each import of a conftest module in `path`, as `line: statement`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            modules = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        if any("conftest" in module.split(".") for module in modules):
            found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_scan_covers_the_suite_and_the_benches():
    names = {path.relative_to(ROOT).as_posix() for path in SCANNED}
    assert {"tests/conftest.py", "tests/support/__init__.py"} <= names
    assert any(name.startswith("bench/") for name in names)


def test_the_scan_catches_every_spelling(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from tests.web.staff.conftest import page_of\n"
        "import tests.conftest\n"
        "from .conftest import PIN\n"
        "from . import conftest\n"
        "from tests.support.pages import page_of\n",
        encoding="utf-8",
    )
    assert conftest_imports(sample) == [
        "1: from tests.web.staff.conftest import page_of",
        "2: import tests.conftest",
        "3: from .conftest import PIN",
        "4: from . import conftest",
    ]


def test_no_module_imports_from_a_conftest():
    offending = [
        f"{path.relative_to(ROOT).as_posix()}:{line}"
        for path in SCANNED
        for line in conftest_imports(path)
    ]
    assert offending == [], "import helpers from tests/support instead:\n" + "\n".join(
        offending
    )
