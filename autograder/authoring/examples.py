"""The bundled example submissions: the reference, the untouched template, and buggy ones.

Each assignment describes its buggy submissions in ``assignments/<name>/examples.toml`` as text
edits applied to the reference rendered as a submission, so they stay in step with the
reference::

    [[submission]]
    name = "conv-flipped-kernel"
    assignment = "conv"
    bug = "true convolution (kernel flipped) instead of cross-correlation"
    edits = [{ file = "conv.py", old = "...", new = "..." }]

``assignment`` is the folder's own name (it may be left out); ``name`` is unique across the
kit. ``feedback_only = true`` marks a device-discipline bug: it fails the strict cases, which
are feedback only, so the example keeps full marks and shows what that feedback looks like.
``hint = "..."`` is a piece of the hint that names the example's mistake: the kit's tests check
that the example's feedback gives it and that no other example of its assignment gets it.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import (
    ASSIGNMENTS_DIR,
    SOLUTIONS_DIR,
    TEMPLATE_DIR,
    assignment_names,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

EXAMPLES_FILE = "examples.toml"
"""An assignment's buggy examples: ``assignments/<name>/examples.toml`` (optional)."""


@dataclass(frozen=True)
class ExampleSubmission:
    """A submission folder to grade for one assignment, and what it is meant to show."""

    name: str
    assignment: str
    folder: Path
    description: str


def buggy_specs() -> list[dict]:
    """The entries of every ``assignments/<name>/examples.toml``, by assignment, each file's in
    its own order.

    Raises:
        ValueError: an entry names another assignment than its folder's, or a name is taken.
    """
    specs: list[dict] = []
    for name in assignment_names():
        path = ASSIGNMENTS_DIR / name / EXAMPLES_FILE
        if not path.is_file():
            continue
        for spec in tomllib.loads(path.read_text(encoding="utf-8")).get("submission", []):
            spec.setdefault("assignment", name)
            if spec["assignment"] != name:
                raise ValueError(
                    f"{path}: example {spec.get('name')!r} is for assignment "
                    f"{spec['assignment']!r}; list it in that assignment's {EXAMPLES_FILE}"
                )
            specs.append(spec)
    names = [spec["name"] for spec in specs]
    taken = sorted({n for n in names if names.count(n) > 1})
    if taken:
        raise ValueError(f"example names used more than once: {', '.join(taken)}")
    return specs


def make_examples(workdir: Path) -> list[ExampleSubmission]:
    """Write every example submission under ``workdir``; return them, by assignment."""
    reference_files = solution_submission_files(SOLUTIONS_DIR, assignment_names())
    reference = workdir / "reference"
    write_files(reference_files, reference)
    template = workdir / "template"
    shutil.copytree(TEMPLATE_DIR, template)
    examples = []
    for name in assignment_names():
        examples.append(ExampleSubmission("reference", name, reference, "the reference solution"))
        examples.append(ExampleSubmission("template", name, template, "the untouched template"))
    for spec in buggy_specs():
        folder = workdir / spec["name"]
        write_files(apply_edits(reference_files, spec), folder)
        examples.append(ExampleSubmission(spec["name"], spec["assignment"], folder, spec["bug"]))
    order = {name: i for i, name in enumerate(assignment_names())}
    return sorted(examples, key=lambda e: order[e.assignment])


def apply_edits(files: dict[str, str], spec: dict) -> dict[str, str]:
    """``files`` with the spec's edits applied; each ``old`` text must occur exactly once."""
    edited = dict(files)
    for edit in spec["edits"]:
        text = edited[edit["file"]]
        count = text.count(edit["old"])
        if count != 1:
            raise ValueError(
                f"example {spec['name']!r}: the text to replace occurs {count} times in "
                f"{edit['file']}, expected once: {edit['old']!r}"
            )
        edited[edit["file"]] = text.replace(edit["old"], edit["new"])
    return edited
