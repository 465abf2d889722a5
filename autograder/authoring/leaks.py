"""Find reference-solution code and hidden-test code in what is handed to students.

A line is *secret* when it is substantive (more than 12 characters, not a comment) and occurs
only inside the solution markers of ``solutions/*.py`` or in a hidden suite, never in anything
the kit ships on purpose (code outside the markers, the public tests, the student template,
the kit's own package and README).
:func:`scan_archive` reads a zip, and every archive inside it (a wheel is a zip), and reports
each secret line it finds in any text member.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from autograder.authoring.stubgen import find_blocks
from autograder.core.assignments import REPO_ROOT, TEMPLATE_DIR, all_assignments

MIN_LINE = 12
ARCHIVE_SUFFIXES = (".zip", ".whl")
MAX_MEMBER_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Leak:
    """A secret line found in ``where`` (an archive member path, ``outer.zip!inner.whl!a.py``)."""

    where: str
    line: str


def _substantive(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) > MIN_LINE and not stripped.startswith("#")


def marked_and_shipped_lines(source: str) -> tuple[set[str], set[str]]:
    """Substantive lines inside solution blocks, and every line outside them (stripped)."""
    inside: set[int] = set()
    for block in find_blocks(source):
        inside.update(range(block.begin, block.end + 1))
    marked, shipped = set(), set()
    for number, line in enumerate(source.splitlines()):
        if number not in inside:
            shipped.add(line.strip())
        elif _substantive(line):
            marked.add(line.strip())
    return marked, shipped


def _lines(path: Path) -> set[str]:
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines()}


def secret_lines() -> set[str]:
    """Every line of the references' solution blocks and of the hidden suites not shipped."""
    marked: set[str] = set()
    hidden: set[str] = set()
    shipped: set[str] = set()
    for assignment in all_assignments():
        inside, outside = marked_and_shipped_lines(assignment.solution_file.read_text("utf-8"))
        marked |= inside
        shipped |= outside
        for test in assignment.public_dir.glob("*.py"):
            shipped |= _lines(test)
        for test in assignment.hidden_dir.rglob("*.py"):
            hidden |= {line for line in _lines(test) if _substantive(line)}
    for path in TEMPLATE_DIR.rglob("*.py"):
        shipped |= _lines(path)
    for path in [REPO_ROOT / "README.md", *Path(__file__).parents[1].rglob("*.py")]:
        if path.is_file():  # the kit's own code and docs are shipped on purpose
            shipped |= _lines(path)
    return (marked | hidden) - shipped


def scan_text(text: str, secrets: set[str], where: str) -> list[Leak]:
    """The secret lines that occur (as whole, stripped lines) in ``text``."""
    found = {line.strip() for line in text.splitlines()} & secrets
    return [Leak(where, line) for line in sorted(found)]


def scan_archive(data: bytes | Path, secrets: set[str], where: str = "") -> list[Leak]:
    """Scan every member of a zip (recursing into archives inside it) for secret lines."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    label = where or (data.name if isinstance(data, Path) else "archive")
    leaks: list[Leak] = []
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for member in archive.infolist():
            if member.is_dir() or member.file_size > MAX_MEMBER_BYTES:
                continue
            content = archive.read(member)
            inner = f"{label}!{member.filename}"
            if member.filename.endswith(ARCHIVE_SUFFIXES) or zipfile.is_zipfile(
                io.BytesIO(content)
            ):
                leaks += scan_archive(content, secrets, inner)
                continue
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError:
                continue
            leaks += scan_text(text, secrets, inner)
    return leaks
