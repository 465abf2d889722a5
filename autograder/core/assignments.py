"""The kit's assignments: where their suites, configs and reference solutions live.

Each assignment is a folder ``assignments/<name>/`` with an ``assignment.toml``::

    name = "residual"
    title = "Residual blocks"
    files = ["residual.py", "conv.py", "batchnorm.py"]   # student files it needs

    [backends]
    device_share = 0.2   # share of each test's points graded on device arrays (optional)

    [limits]
    grading_budget_s = 300   # wall-clock seconds one grading may take (optional)

    [feedback]
    reveal_expected = "after_published"   # when hidden tests may show expected values (optional)

and the suites ``public/`` (shipped to students) and ``hidden/`` (never shipped).
The reference solution is ``solutions/<name>.py``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder.core.backends import DEFAULT_DEVICE_SHARE, check_device_share

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KIT_HOME_VARIABLE = "AUTOGRADER_HOME"
"""Environment variable naming the folder that holds ``assignments/`` and ``solutions/`` when the
kit is installed as a package (as in a Gradescope autograder); by default, the checkout."""

REPO_ROOT = Path(os.environ.get(KIT_HOME_VARIABLE) or Path(__file__).resolve().parents[2])
ASSIGNMENTS_DIR = REPO_ROOT / "assignments"
SOLUTIONS_DIR = REPO_ROOT / "solutions"
TEMPLATE_DIR = REPO_ROOT / "student_template"


DEFAULT_GRADING_BUDGET_S = 300.0
"""Wall-clock seconds one grading of one submission may take (well inside Gradescope's 10
minutes): past it, every remaining call of a student function fails at once, so the grading
still ends and writes its results."""


REVEAL_EXPECTED_CHOICES = (
    "never",
    "hidden",
    "after_published",
    "after_due_date",
    "visible",
    "always",
)
"""Values of ``[feedback] reveal_expected``: Gradescope's visibility vocabulary (``always`` is
``visible``; ``hidden`` is shown to instructors only, as a hidden test is), and ``never``."""

DEFAULT_REVEAL_EXPECTED = "after_published"
"""By default a hidden test's feedback shows the reference's values no earlier than the grades
are published."""

_LATENESS = {"visible": 0, "always": 0, "after_due_date": 1, "after_published": 2, "hidden": 3}
"""How late students see something of this visibility (``hidden``: never, only instructors)."""


def reveals_expected(reveal_expected: str, visibility: str) -> bool:
    """Whether a test of Gradescope ``visibility`` may show the reference's (expected) values
    in its output under ``[feedback] reveal_expected``: when the test itself is shown no
    earlier than the setting allows (``after_published`` tests under ``after_published``, not
    ``after_due_date`` ones; never under ``never``). Gradescope shows a test's output whenever
    it shows the test, so the test's visibility is when its output can be read."""
    if reveal_expected == "never":
        return False
    return _LATENESS.get(visibility, 0) >= _LATENESS[reveal_expected]


class UnknownAssignmentError(ValueError):
    """Raised for an assignment name the kit does not have."""


@dataclass(frozen=True)
class Assignment:
    """One assignment: its name (= the student's module), title and student files."""

    name: str
    title: str
    files: tuple[str, ...]
    folder: Path
    device_share: float = DEFAULT_DEVICE_SHARE
    """Share of each test's points its device case carries (see :mod:`autograder.core.backends`)."""
    grading_budget_s: float = DEFAULT_GRADING_BUDGET_S
    """The grading's wall-clock budget (``[limits] grading_budget_s``)."""
    reveal_expected: str = DEFAULT_REVEAL_EXPECTED
    """When hidden tests' feedback may show the reference's values (``[feedback]
    reveal_expected``, one of :data:`REVEAL_EXPECTED_CHOICES`; see :func:`reveals_expected`)."""

    def reveals_expected_to(self, visibility: str) -> bool:
        """Whether a hidden test of this ``visibility`` may show expected values."""
        return reveals_expected(self.reveal_expected, visibility)

    @property
    def module_file(self) -> str:
        """The student file that holds this assignment's graded functions."""
        return f"{self.name}.py"

    @property
    def public_dir(self) -> Path:
        return self.folder / "public"

    @property
    def hidden_dir(self) -> Path:
        return self.folder / "hidden"

    @property
    def solution_file(self) -> Path:
        return SOLUTIONS_DIR / self.module_file


def assignment_names() -> list[str]:
    """Names of all assignments in the kit, sorted."""
    if not ASSIGNMENTS_DIR.is_dir():
        return []
    return sorted(p.parent.name for p in ASSIGNMENTS_DIR.glob("*/assignment.toml"))


def load_assignment(name: str) -> Assignment:
    """Load ``assignments/<name>/assignment.toml``.

    Raises:
        UnknownAssignmentError: if there is no such assignment (the message lists the known ones).
    """
    config_path = ASSIGNMENTS_DIR / name / "assignment.toml"
    if not config_path.is_file():
        known = ", ".join(assignment_names()) or "none"
        raise UnknownAssignmentError(f"unknown assignment {name!r}; known assignments: {known}")
    config = tomllib.loads(config_path.read_text(encoding="utf-8"))
    files = tuple(config.get("files", [f"{name}.py"]))
    if f"{name}.py" not in files:
        raise ValueError(f"{config_path}: 'files' must include {name}.py, got {list(files)}")
    backends = config.get("backends", {})
    share = check_device_share(backends.get("device_share", DEFAULT_DEVICE_SHARE), str(config_path))
    limits = config.get("limits", {})
    budget = limits.get("grading_budget_s", DEFAULT_GRADING_BUDGET_S)
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not budget > 0:
        raise ValueError(
            f"{config_path}: [limits] grading_budget_s must be a positive number, got {budget!r}"
        )
    feedback = config.get("feedback", {})
    reveal = feedback.get("reveal_expected", DEFAULT_REVEAL_EXPECTED)
    if reveal not in REVEAL_EXPECTED_CHOICES:
        choices = ", ".join(repr(c) for c in REVEAL_EXPECTED_CHOICES)
        raise ValueError(
            f"{config_path}: [feedback] reveal_expected must be one of {choices}, got {reveal!r}"
        )
    return Assignment(
        name=name,
        title=config.get("title", name),
        files=files,
        folder=config_path.parent,
        device_share=share,
        grading_budget_s=float(budget),
        reveal_expected=reveal,
    )


def all_assignments() -> list[Assignment]:
    """Every assignment of the kit, sorted by name."""
    return [load_assignment(name) for name in assignment_names()]
