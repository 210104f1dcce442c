"""Documents in the repository: nothing points outside it, and every link resolves.

Code comments, docstrings, templates, tests and docs cite the documents under docs/
(or state the fact), never notes kept elsewhere. Migrations under migrations/versions
are history and are not read.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEXT = ("*.py", "*.md", "*.html", "*.cfg", "*.toml", "*.json", "*.js", "*.css", "*.po")
SKIP = ("migrations/versions/", "package-lock.json")
THIS = Path(__file__).resolve().relative_to(ROOT).as_posix()

# Documents kept outside this repository, by name or by section.
OUTSIDE = re.compile(
    r"\b(?:SPEC|REFERENCE|DESIGN|STYLE)\.md\b"
    r"|\.\./shared\b"
    r"|\b(?:SPEC|REFERENCE|DESIGN|STYLE)\b"
    r"(?:\s*(?:§|:|\))|\s+(?:\d|[Tt]able\b|section\b|[\"`]))"
    r"|\breference\s*§"
)
MD_NAME = re.compile(r"([\w./-]*\w)\.md\b")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def tracked(*patterns: str) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", *patterns],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(
        name
        for name in out.split("\0")
        if name and name != THIS and not name.startswith(SKIP)
        if (ROOT / name).is_file()
    )


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {
        re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        for title in HEADING.findall(text)
    }


def markdown_docs() -> list[str]:
    return [
        "README.md",
        *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md")),
    ]


def test_no_tracked_text_points_to_a_document_outside_the_repository():
    found = []
    for name in tracked(*TEXT):
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert found == []


def test_every_markdown_file_a_text_names_is_in_the_repository():
    names = {Path(name).name for name in tracked("*.md")} | {Path(THIS).name}
    missing = []
    for name in tracked(*TEXT):
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        for match in MD_NAME.finditer(text):
            if Path(match.group(0)).name not in names:
                missing.append(f"{name}: {match.group(0)}")
    assert missing == []


@pytest.mark.parametrize("doc", markdown_docs())
def test_every_relative_link_points_to_a_file_that_exists(doc):
    source = ROOT / doc
    text = re.sub(r"```.*?```", "", source.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            continue  # https:, mailto: and the like
        path, _, anchor = target.partition("#")
        resolved = (source.parent / path).resolve() if path else source
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(target)
    assert broken == []


def test_the_readme_links_the_architecture_and_every_doc():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = set(LINK.findall(readme))

    assert {f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md")} <= linked
