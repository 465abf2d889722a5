"""Handout notebooks, generated from a readable Markdown source.

Each assignment may have a handout ``assignments/<name>/handout.md``: plain Markdown, in which
every fenced block opened by a line that is exactly ```` ```python ```` and closed by a line
that is exactly ```` ``` ```` becomes a code cell, and the text between such blocks becomes
markdown cells. Other fences (```` ```text ````, ```` ```bash ````) stay inside the markdown.
Leading and trailing blank lines of every segment are dropped, and so are segments that are
blank.

The notebook is written to ``student_template/<name>_handout.ipynb`` by ``autograder
template``. Its code imports the student's own file from the same folder (``from conv import
conv_forward``), so it runs wherever the student works, and it ends with the public checks.

The output is deterministic: no outputs, no execution counts, cell ids numbered in order and
JSON from ``nbformat.writes``; so ``autograder template --check`` can tell a stale copy.
nbformat is needed only to build notebooks (it is part of the kit's ``instructor`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from autograder.core.assignments import ASSIGNMENTS_DIR, assignment_names

if TYPE_CHECKING:
    from nbformat import NotebookNode

HANDOUT_SOURCE = "handout.md"
CODE_FENCE = "```python"
END_FENCE = "```"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


class HandoutError(ValueError):
    """A handout source that cannot be turned into a notebook (an unclosed code block)."""


@dataclass(frozen=True)
class Cell:
    """One notebook cell: its kind and its source text (no trailing newline)."""

    kind: Literal["markdown", "code"]
    source: str


def handout_source(name: str) -> Path:
    """Where the Markdown source of assignment ``name``'s handout lives."""
    return ASSIGNMENTS_DIR / name / HANDOUT_SOURCE


def notebook_name(name: str) -> str:
    """File name of assignment ``name``'s handout notebook in the student template."""
    return f"{name}_handout.ipynb"


def parse_cells(text: str, filename: str = "<handout>") -> list[Cell]:
    """Split a handout source into markdown and code cells (see the module docstring).

    Raises:
        HandoutError: if a ```` ```python ```` block is never closed.
    """
    cells: list[Cell] = []
    segment: list[str] = []
    opened_at: int | None = None  # line number of the open code fence, if inside one
    for number, line in enumerate(text.splitlines(), start=1):
        if opened_at is None and line.rstrip() == CODE_FENCE:
            _append(cells, "markdown", segment)
            segment, opened_at = [], number
        elif opened_at is not None and line.rstrip() == END_FENCE:
            _append(cells, "code", segment)
            segment, opened_at = [], None
        else:
            segment.append(line)
    if opened_at is not None:
        raise HandoutError(f"{filename}:{opened_at}: {CODE_FENCE} block is never closed")
    _append(cells, "markdown", segment)
    return cells


def _append(cells: list[Cell], kind: Literal["markdown", "code"], lines: list[str]) -> None:
    """Add a cell made of ``lines`` without their blank margins, unless nothing is left."""
    source = "\n".join(line.rstrip() for line in lines).strip("\n")
    if source.strip():
        cells.append(Cell(kind, source))


def build_notebook(cells: list[Cell], name: str) -> NotebookNode:
    """An nbformat v4 notebook of ``cells``, with ids ``<name>-00``, ``<name>-01``, ..."""
    nbformat = _nbformat()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    notebook.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(cells):
        make = nbformat.v4.new_code_cell if cell.kind == "code" else nbformat.v4.new_markdown_cell
        notebook.cells.append(make(cell.source, id=f"{name}-{index:02d}"))
    nbformat.validate(notebook)
    return notebook


def render_handout(name: str) -> NotebookNode:
    """The handout notebook of assignment ``name``, built from its ``handout.md``.

    Raises:
        FileNotFoundError: if the assignment has no handout source.
        HandoutError: if the source has an unclosed code block.
    """
    source = handout_source(name)
    if not source.is_file():
        raise FileNotFoundError(f"assignment {name!r} has no handout: expected {source}")
    return build_notebook(parse_cells(source.read_text(encoding="utf-8"), str(source)), name)


def handout_files() -> dict[str, str]:
    """``{"<name>_handout.ipynb": JSON text}`` for every assignment that has a handout."""
    nbformat = _nbformat()
    files: dict[str, str] = {}
    for name in assignment_names():
        if handout_source(name).is_file():
            text = nbformat.writes(render_handout(name), version=4)
            files[notebook_name(name)] = text if text.endswith("\n") else text + "\n"
    return files


def _nbformat() -> ModuleType:
    """nbformat, imported on first use: grading and checking never need it."""
    try:
        import nbformat
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError(
            "building handout notebooks needs nbformat: pip install the kit's instructor "
            'extra (pip install -e ".[instructor]")'
        ) from error
    return nbformat
