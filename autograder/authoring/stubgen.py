"""Generate student files from reference solutions marked with solution markers.

In ``solutions/<name>.py``, code between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines is
the answer:

* a block inside a function becomes ``raise NotImplementedError("<function> is not
  implemented yet")`` in the student's stub, at the block's indentation;
* a block at module level (private helpers, solution-only imports) is removed whole.

Everything outside markers reaches students verbatim, except imports of sibling solution
modules (``from solutions.conv import conv_forward``), which become imports of the student's
own sibling files (``from conv import conv_forward``).

The same source also renders as a complete submission (markers dropped, code kept), which is
how the reference is graded like a student's work.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
_SOLUTIONS_IMPORT = re.compile(r"^(\s*)(from|import)\s+solutions\.(\w+)")


class MarkerError(ValueError):
    """Solution markers that are unbalanced, nested, or leave code that does not parse."""


@dataclass(frozen=True)
class SolutionBlock:
    """Lines ``begin`` to ``end`` (0-based, inclusive, the marker lines themselves)."""

    begin: int
    end: int
    indent: str
    function: str | None


def find_blocks(source: str, filename: str = "<solution>") -> list[SolutionBlock]:
    """Locate the solution blocks of ``source`` and the function each one sits in."""
    lines = source.splitlines()
    functions = _function_spans(source, filename)
    blocks: list[SolutionBlock] = []
    begin: int | None = None
    for number, line in enumerate(lines):
        stripped = line.strip()
        if stripped == BEGIN:
            if begin is not None:
                raise MarkerError(f"{filename}:{number + 1}: nested {BEGIN}")
            begin = number
        elif stripped == END:
            if begin is None:
                raise MarkerError(f"{filename}:{number + 1}: {END} without {BEGIN}")
            indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
            blocks.append(SolutionBlock(begin, number, indent, _enclosing(functions, begin)))
            begin = None
    if begin is not None:
        raise MarkerError(f"{filename}:{begin + 1}: {BEGIN} without {END}")
    return blocks


def _function_spans(source: str, filename: str) -> list[tuple[int, int, str]]:
    """(first line, last line, name) of every function, 0-based, innermost last."""
    tree = ast.parse(source, filename=filename)
    spans = [
        (node.lineno - 1, (node.end_lineno or node.lineno) - 1, node.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    return sorted(spans, key=lambda span: (span[0], -span[1]))


def _enclosing(functions: list[tuple[int, int, str]], line: int) -> str | None:
    name = None
    for first, last, function in functions:
        if first < line <= last:
            name = function  # later spans are nested deeper
    return name


def make_stub(source: str, filename: str = "<solution>") -> str:
    """The student's stub for a solution module's source."""
    lines = source.splitlines()
    output: list[str] = []
    position = 0
    for block in find_blocks(source, filename):
        output.extend(lines[position : block.begin])
        if block.function is not None:
            message = f"{block.function} is not implemented yet"
            output.append(f'{block.indent}raise NotImplementedError("{message}")')
        position = block.end + 1
    output.extend(lines[position:])
    stub = _collapse_blank_lines(_rewrite_imports(output))
    _check_parses(stub, filename)
    return stub


def make_solution_submission(source: str, filename: str = "<solution>") -> str:
    """The solution as a student would submit it: markers dropped, sibling imports rewritten."""
    blocks = find_blocks(source, filename)
    marker_lines = {b.begin for b in blocks} | {b.end for b in blocks}
    lines = [line for n, line in enumerate(source.splitlines()) if n not in marker_lines]
    rendered = _collapse_blank_lines(_rewrite_imports(lines))
    _check_parses(rendered, filename)
    return rendered


def _rewrite_imports(lines: list[str]) -> list[str]:
    return [_SOLUTIONS_IMPORT.sub(r"\1\2 \3", line) for line in lines]


def _collapse_blank_lines(lines: list[str]) -> str:
    """At most two blank lines in a row, no trailing blank lines, one final newline."""
    result: list[str] = []
    blanks = 0
    for line in lines:
        blanks = blanks + 1 if not line.strip() else 0
        if blanks <= 2:
            result.append(line.rstrip())
    while result and not result[-1]:
        result.pop()
    return "\n".join(result) + "\n"


def _check_parses(source: str, filename: str) -> None:
    try:
        ast.parse(source, filename=filename)
    except SyntaxError as error:
        raise MarkerError(f"{filename}: generated code does not parse: {error}") from error


def template_files(solutions_dir: Path, public_dirs: dict[str, Path]) -> dict[str, str]:
    """Every file of ``student_template/``, as ``{relative path: text}``.

    Args:
        solutions_dir: the folder of reference modules; each ``<name>.py`` with a public suite
            becomes the stub ``<name>.py``.
        public_dirs: ``{assignment name: its public suite folder}``; their ``test_*.py`` files
            are shipped under ``tests/``.
    """
    files: dict[str, str] = {}
    for name, public_dir in sorted(public_dirs.items()):
        solution = solutions_dir / f"{name}.py"
        files[f"{name}.py"] = make_stub(solution.read_text(encoding="utf-8"), str(solution))
        for test_file in sorted(public_dir.glob("test_*.py")):
            files[f"tests/{test_file.name}"] = test_file.read_text(encoding="utf-8")
    return files


def solution_submission_files(solutions_dir: Path, names: list[str]) -> dict[str, str]:
    """The reference solutions shaped as a submission, as ``{file name: text}``."""
    return {
        f"{name}.py": make_solution_submission(
            (solutions_dir / f"{name}.py").read_text(encoding="utf-8"), f"{name}.py"
        )
        for name in names
    }


def write_files(files: dict[str, str], destination: Path) -> None:
    """Write ``{relative path: text}`` under ``destination``."""
    for relative, text in files.items():
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
