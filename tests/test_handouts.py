"""The handout notebooks: parsing, deterministic rendering, the committed copies, and a full run.

The run executes each notebook the way a student would, in a folder holding the reference
solutions shaped as a submission, and requires every cell to succeed and the final check cell
to report full marks.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.authoring.handouts import (
    HandoutError,
    handout_files,
    handout_source,
    notebook_name,
    parse_cells,
    render_handout,
)
from autograder.authoring.stubgen import find_blocks, solution_submission_files, write_files
from autograder.authoring.template import check_template
from autograder.core.assignments import (
    SOLUTIONS_DIR,
    TEMPLATE_DIR,
    all_assignments,
    assignment_names,
    load_assignment,
)

NAMES = assignment_names()
SCORE_LINE = re.compile(r"^\s*score: ([\d.]+) / ([\d.]+)\s*$", re.MULTILINE)
BLOCK_HEADER = re.compile(r"^(if|elif|else|for|while|try|except|with)\b[^=]*:$")


# ---------------------------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------------------------


def test_python_fences_become_code_cells_and_the_rest_markdown():
    text = "# Title\n\nSome text.\n\n```python\nx = 1\n\ny = 2\n```\n\nMore text.\n"
    cells = parse_cells(text)
    assert [(c.kind, c.source) for c in cells] == [
        ("markdown", "# Title\n\nSome text."),
        ("code", "x = 1\n\ny = 2"),
        ("markdown", "More text."),
    ]


def test_blank_segments_are_dropped_and_other_fences_stay_markdown():
    text = "```python\na = 1\n```\n\n\n```python\nb = 2\n```\n```text\nnot code\n```\n"
    cells = parse_cells(text)
    assert [c.kind for c in cells] == ["code", "code", "markdown"]
    assert cells[2].source == "```text\nnot code\n```"
    assert parse_cells("```python\n\n   \n```\n") == []


def test_an_unclosed_code_block_is_reported_with_its_line():
    with pytest.raises(HandoutError, match=r"h\.md:3: .* never closed"):
        parse_cells("text\n\n```python\nx = 1\n", "h.md")


# ---------------------------------------------------------------------------------------------
# Rendering and the committed copies
# ---------------------------------------------------------------------------------------------


def test_every_assignment_has_a_handout():
    assert sorted(handout_files()) == sorted(notebook_name(name) for name in NAMES)
    for name in NAMES:
        assert handout_source(name).is_file()


def test_rendering_is_deterministic_and_clean():
    first, second = handout_files(), handout_files()
    assert first == second
    for name in NAMES:
        notebook = nbformat.reads(first[notebook_name(name)], as_version=4)
        nbformat.validate(notebook)
        assert notebook == render_handout(name)
        assert notebook.metadata["kernelspec"]["name"] == "python3"
        ids = [cell.id for cell in notebook.cells]
        assert len(set(ids)) == len(ids)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("name", NAMES)
def test_handout_uses_the_students_file_and_ends_with_the_public_checks(name):
    notebook = render_handout(name)
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert f"from {name} import" in code[0]
    assert f'"-m", "autograder", "check", "{name}", "."' in code[-1]
    assert "%matplotlib inline" in code[0], "figures must render without a display"


def test_committed_handouts_are_current():
    problems = [line for line in check_template() if line.endswith("_handout.ipynb")]
    assert not problems, "run `autograder template`:\n" + "\n".join(problems)


def test_handouts_contain_no_solution_code():
    """No code line of a handout is a line that exists only inside solution markers.

    As in test_stubgen, short lines and comments do not count; nor do bare block headers
    (``if projection:``), which any code about the same subject may share.
    """
    marked: set[str] = set()
    shipped: set[str] = set()
    for assignment in all_assignments():
        source = assignment.solution_file.read_text(encoding="utf-8")
        lines = source.splitlines()
        inside = {n for b in find_blocks(source) for n in range(b.begin, b.end + 1)}
        for number, line in enumerate(lines):
            (marked if number in inside else shipped).add(line.strip())
    secret = {
        line
        for line in marked - shipped
        if len(line) > 12 and not line.startswith("#") and not BLOCK_HEADER.match(line)
    }
    leaked = [
        f"{name}: {line}"
        for name in NAMES
        for cell in render_handout(name).cells
        for line in cell.source.splitlines()
        if line.strip() in secret
    ]
    assert not leaked, "solution code in a handout:\n" + "\n".join(leaked)


# ---------------------------------------------------------------------------------------------
# Running the notebooks on the reference solutions
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notebook_runner():
    """nbclient's client class, or a skip where the notebook machinery is not installed."""
    nbclient = pytest.importorskip(
        "nbclient", reason="executing the handouts needs nbclient (the instructor extra)"
    )
    pytest.importorskip(
        "ipykernel", reason="executing the handouts needs ipykernel (the instructor extra)"
    )
    return nbclient.NotebookClient


def _student_folder(folder: Path, name: str) -> Path:
    """A folder shaped like a student's: the reference as a submission, the public tests and
    the committed handout."""
    assignment = load_assignment(name)
    write_files(solution_submission_files(SOLUTIONS_DIR, NAMES), folder)
    for test_file in assignment.public_dir.glob("test_*.py"):
        (folder / "tests").mkdir(exist_ok=True)
        shutil.copy(test_file, folder / "tests" / test_file.name)
    shutil.copy(TEMPLATE_DIR / notebook_name(name), folder / notebook_name(name))
    return folder / notebook_name(name)


def _text_outputs(cell: nbformat.NotebookNode) -> str:
    return "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_handout_runs_on_the_reference_and_its_checks_give_full_marks(
    name, tmp_path, notebook_runner
):
    path = _student_folder(tmp_path, name)
    notebook = nbformat.read(path, as_version=4)
    client = notebook_runner(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the traceback, if any cell fails

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)
    errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]
    figures = [out for cell in code for out in cell.outputs if "image/png" in out.get("data", {})]
    assert figures, "a handout draws at least one figure"

    report = _text_outputs(code[-1])
    scores = SCORE_LINE.findall(report)
    assert scores, f"the check cell printed no score:\n{report}"
    score, max_score = (float(v) for v in scores[-1])
    assert max_score > 0 and score == max_score, report
    assert "FAIL" not in report, report
