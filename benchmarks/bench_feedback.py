"""How well the feedback names students' mistakes, on realistic buggy variants of the references.

    python benchmarks/bench_feedback.py [--assignment NAME ...] [--sample K] [--variant NAME ...]
                                        [--jobs N] [--details] [--json PATH]

Each variant (``benchmarks/feedback_variants/<assignment>.toml``) is ONE realistic mistake,
written as text edits of the reference rendered as a submission (as the bundled examples are,
see :mod:`autograder.authoring.examples`). The script applies each variant once, grades it with
the kit's grader (public and hidden suites) and reads its feedback: the ``hint: `` lines of the
tests' output. Per assignment and in total it prints the share of variants

* **named**: some hint line matches one of the variant's ``named_by`` patterns (regular
  expressions written from the mistake, before looking at any feedback);
* **misleading**: some hint line matches neither its ``named_by`` nor its ``also_true``
  patterns (``also_true``: lines that are true of the variant without naming its mistake);

a line no pattern of its variant matches may have been judged since by a reviewer who saw only
the variant's mistake and the line (``feedback_variants/adjudicated.toml``: ``names``, ``true``
or ``misleading``, each with its reason); that verdict counts, and the figures without those
verdicts are printed too;
* **caught by public**: at least one test of the public suite (``test_<name>_public``) failed;
* **full marks**: the grading gave every point;

beside the targets (named >= 70%, misleading 0, caught by public >= 90%, full marks 0).
``--details`` prints each variant's outcome and hint lines, for review; ``--sample K`` grades
K variants per assignment (deterministic, spread over its functions) for a quick run.

It is a measurement: it exits 0 whatever the figures, and 1 only when a variant no longer
applies to the reference (or is refused: it repeats a bundled example, its patterns do not
compile, ...) or a grading had a grading error; it says which.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.authoring.examples import apply_edits, buggy_specs
from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import (
    SOLUTIONS_DIR,
    assignment_names,
    load_assignment,
)
from autograder.core.results import GradeReport, TestResult
from autograder.grading.grade import grade

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

VARIANTS_DIR = Path(__file__).resolve().with_name("feedback_variants")
"""One ``<assignment>.toml`` per assignment, each a list of ``[[variant]]`` tables."""

HINT_PREFIX = "hint: "
"""Feedback lines that name a suspected mistake start with this."""

REQUIRED_KEYS = ("name", "function", "mistake", "named_by", "edits")
OPTIONAL_KEYS = ("also_true",)
ADJUDICATED = VARIANTS_DIR / "adjudicated.toml"
"""Reviewers' verdicts on hint lines that no pattern of their variant matches."""
VERDICTS = ("names", "true", "misleading")


@dataclass(frozen=True)
class Target:
    """A figure's target: its share must be at least (or at most) ``share``."""

    share: float
    at_least: bool

    def met(self, value: float) -> bool:
        return value >= self.share if self.at_least else value <= self.share

    def __str__(self) -> str:
        if not self.at_least and self.share == 0:
            return "0"
        return f"{'>=' if self.at_least else '<='} {self.share:.0%}"


FIGURES = ("named", "misleading", "caught_public", "full_marks")
"""The four figures, in the table's order."""
HEADINGS = {
    "named": "named",
    "misleading": "misleading",
    "caught_public": "caught by public",
    "full_marks": "full marks",
}
TARGETS = {
    "named": Target(0.70, at_least=True),
    "misleading": Target(0.0, at_least=False),
    "caught_public": Target(0.90, at_least=True),
    "full_marks": Target(0.0, at_least=False),
}


class VariantError(ValueError):
    """A variant that cannot be measured: malformed, no longer applying, or refused."""


@dataclass(frozen=True)
class Variant:
    """One buggy variant of an assignment's reference."""

    name: str
    assignment: str
    function: str
    mistake: str
    named_by: tuple[re.Pattern[str], ...]
    also_true: tuple[re.Pattern[str], ...]
    edits: tuple[dict[str, str], ...]
    verdicts: tuple[tuple[str, str], ...] = ()
    """``(line, verdict)`` of reviewed hint lines (:data:`ADJUDICATED`), exact lines."""

    def spec(self) -> dict[str, Any]:
        """The variant as :func:`apply_edits` takes it."""
        return {"name": self.name, "edits": [dict(edit) for edit in self.edits]}

    def names(self, line: str, adjudicated: bool = True) -> bool:
        """Whether a hint line names this variant's mistake (by a pattern, or by a reviewer's
        verdict unless ``adjudicated`` is false)."""
        if any(pattern.search(line) for pattern in self.named_by):
            return True
        return adjudicated and self.verdict_of(line) == "names"

    def is_true(self, line: str, adjudicated: bool = True) -> bool:
        """Whether a hint line is known to be true of this variant without naming it."""
        if any(pattern.search(line) for pattern in self.also_true):
            return True
        return adjudicated and self.verdict_of(line) == "true"

    def verdict_of(self, line: str) -> str | None:
        """A reviewer's verdict on this exact line, if one was given."""
        return next((verdict for text, verdict in self.verdicts if text == line), None)


@dataclass
class Loaded:
    """The variants that can be measured, and why the others cannot."""

    variants: list[Variant] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def reference_files() -> dict[str, str]:
    """Every reference solution rendered as a submission, ``{file name: text}``."""
    return solution_submission_files(SOLUTIONS_DIR, assignment_names())


def _edit_key(edits: Iterable[dict[str, Any]]) -> tuple[tuple[str, str, str], ...]:
    return tuple(sorted((str(e["file"]), str(e["old"]), str(e["new"])) for e in edits))


def _example_fingerprints(
    reference: dict[str, str],
) -> tuple[dict[tuple, str], dict[tuple, str]]:
    """The bundled examples' edits and resulting files, each mapped to the example's name."""
    by_edits: dict[tuple, str] = {}
    by_files: dict[tuple, str] = {}
    for spec in buggy_specs():
        by_edits[_edit_key(spec["edits"])] = spec["name"]
        try:
            files = apply_edits(reference, spec)
        except (ValueError, KeyError):  # an example that no longer applies is not ours to judge
            continue
        by_files[tuple(sorted(files.items()))] = spec["name"]
    return by_edits, by_files


def _functions_of(assignment: str) -> set[str]:
    """The top-level functions of the assignment's reference module."""
    source = (SOLUTIONS_DIR / f"{assignment}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def _patterns(entry: dict[str, Any], key: str, required: bool) -> tuple[re.Pattern[str], ...]:
    values = entry.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise VariantError(f"{key} must be a list of non-empty strings")
    if required and not values:
        raise VariantError(f"{key} must hold at least one pattern")
    try:
        return tuple(re.compile(value, re.IGNORECASE) for value in values)
    except re.error as error:
        raise VariantError(f"a pattern of {key} does not compile: {error}") from error


def parse_variant(
    entry: dict[str, Any],
    assignment: str,
    reference: dict[str, str],
    functions: set[str],
    examples: tuple[dict[tuple, str], dict[tuple, str]],
) -> Variant:
    """Check one ``[[variant]]`` table and return it; raises :class:`VariantError`."""
    missing = [key for key in REQUIRED_KEYS if key not in entry]
    unknown = [key for key in entry if key not in REQUIRED_KEYS + OPTIONAL_KEYS]
    if missing or unknown:
        raise VariantError(f"missing keys {missing}, unknown keys {unknown}")
    for key in ("name", "function", "mistake"):
        if not isinstance(entry[key], str) or not entry[key].strip():
            raise VariantError(f"{key} must be a non-empty string")
    if entry["function"] not in functions:
        raise VariantError(
            f"function {entry['function']!r} is not a function of solutions/{assignment}.py"
        )
    edits = entry["edits"]
    allowed_files = set(load_assignment(assignment).files)
    if not isinstance(edits, list) or not edits:
        raise VariantError("edits must be a non-empty list of { file, old, new }")
    for edit in edits:
        if not isinstance(edit, dict) or set(edit) != {"file", "old", "new"}:
            raise VariantError(f"an edit must have exactly the keys file, old, new: {edit!r}")
        if edit["file"] not in allowed_files:
            raise VariantError(f"edits {edit['file']!r}, not a file of {assignment}")
        if edit["old"] == edit["new"]:
            raise VariantError(f"an edit changes nothing: {edit['old']!r}")
    try:
        files = apply_edits(reference, {"name": entry["name"], "edits": edits})
    except ValueError as error:
        raise VariantError(f"no longer applies: {error}") from error
    for name in {edit["file"] for edit in edits}:
        try:
            ast.parse(files[name], filename=name)
        except SyntaxError as error:
            raise VariantError(f"the edited {name} does not parse: {error}") from error
    by_edits, by_files = examples
    same = by_edits.get(_edit_key(edits)) or by_files.get(tuple(sorted(files.items())))
    if same:
        raise VariantError(f"refused: it repeats the bundled example {same!r}")
    return Variant(
        name=entry["name"],
        assignment=assignment,
        function=entry["function"],
        mistake=entry["mistake"],
        named_by=_patterns(entry, "named_by", required=True),
        also_true=_patterns(entry, "also_true", required=False),
        edits=tuple(dict(edit) for edit in edits),
    )


def load_variants(
    assignments: Sequence[str] | None = None, reference: dict[str, str] | None = None
) -> Loaded:
    """Every variant of ``assignments`` (default: all), checked; in file order, by assignment."""
    reference = reference if reference is not None else reference_files()
    examples = _example_fingerprints(reference)
    loaded = Loaded()
    verdicts, loaded.problems = load_verdicts()
    seen: dict[str, str] = {}
    for assignment in assignments or assignment_names():
        path = VARIANTS_DIR / f"{assignment}.toml"
        if not path.is_file():
            loaded.problems.append(f"{assignment}: no variants file {path}")
            continue
        try:
            entries = tomllib.loads(path.read_text(encoding="utf-8")).get("variant", [])
        except tomllib.TOMLDecodeError as error:
            loaded.problems.append(f"{path.name}: not valid TOML: {error}")
            continue
        functions = _functions_of(assignment)
        for index, entry in enumerate(entries):
            label = f"{path.name}[{index}] {entry.get('name', '?')!r}"
            try:
                variant = parse_variant(entry, assignment, reference, functions, examples)
            except VariantError as error:
                loaded.problems.append(f"{label}: {error}")
                continue
            if variant.name in seen:
                loaded.problems.append(f"{label}: name already used in {seen[variant.name]}")
                continue
            seen[variant.name] = path.name
            loaded.variants.append(replace(variant, verdicts=tuple(verdicts.get(variant.name, ()))))
    if not assignments:
        unknown = sorted(set(verdicts) - set(seen))
        if unknown:
            loaded.problems.append(f"{ADJUDICATED.name}: no such variants: {unknown}")
    return loaded


def load_verdicts(path: Path = ADJUDICATED) -> tuple[dict[str, list[tuple[str, str]]], list[str]]:
    """Per variant name, its reviewed ``(line, verdict)`` pairs; and the problems of the file."""
    if not path.is_file():
        return {}, []
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("line", [])
    except tomllib.TOMLDecodeError as error:
        return {}, [f"{path.name}: not valid TOML: {error}"]
    verdicts: dict[str, list[tuple[str, str]]] = {}
    problems = []
    for index, entry in enumerate(entries):
        keys = {"variant", "line", "verdict", "reason"}
        if set(entry) != keys or not all(isinstance(entry[k], str) and entry[k] for k in keys):
            problems.append(f"{path.name}[{index}]: needs exactly the strings {sorted(keys)}")
        elif entry["verdict"] not in VERDICTS:
            problems.append(f"{path.name}[{index}]: verdict must be one of {VERDICTS}")
        else:
            verdicts.setdefault(entry["variant"], []).append((entry["line"], entry["verdict"]))
    return verdicts, problems


def sample(variants: Sequence[Variant], k: int | None) -> list[Variant]:
    """``k`` variants per assignment (all for ``None``), deterministically: taken round-robin
    over the assignment's functions in file order, so a small sample covers several."""
    if k is None:
        return list(variants)
    chosen: list[Variant] = []
    by_assignment: dict[str, list[Variant]] = {}
    for variant in variants:
        by_assignment.setdefault(variant.assignment, []).append(variant)
    for group in by_assignment.values():
        queues: dict[str, list[Variant]] = {}
        for variant in group:
            queues.setdefault(variant.function, []).append(variant)
        order: list[Variant] = []
        while any(queues.values()):
            for queue in queues.values():
                if queue:
                    order.append(queue.pop(0))
        chosen += order[:k]
    return chosen


@dataclass
class Outcome:
    """What the grading of one variant showed."""

    variant: Variant
    score: float
    max_score: float
    hints: list[str]
    caught_public: bool
    failed_tests: list[str]
    grading_error: str
    seconds: float

    @property
    def named(self) -> bool:
        return any(self.variant.names(line) for line in self.hints)

    @property
    def misleading_lines(self) -> list[str]:
        return self.unmatched_lines(adjudicated=True)

    def unmatched_lines(self, adjudicated: bool) -> list[str]:
        """The hint lines neither named nor true (with the reviewers' verdicts, or not)."""
        v = self.variant
        return [
            line
            for line in self.hints
            if not v.names(line, adjudicated) and not v.is_true(line, adjudicated)
        ]

    @property
    def misleading(self) -> bool:
        return bool(self.misleading_lines)

    @property
    def named_by_patterns(self) -> bool:
        return any(self.variant.names(line, adjudicated=False) for line in self.hints)

    @property
    def misleading_by_patterns(self) -> bool:
        return bool(self.unmatched_lines(adjudicated=False))

    @property
    def full_marks(self) -> bool:
        return self.max_score > 0 and self.score >= self.max_score

    def figure(self, name: str) -> bool:
        return bool(getattr(self, name))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.variant.name,
            "assignment": self.variant.assignment,
            "function": self.variant.function,
            "mistake": self.variant.mistake,
            "score": self.score,
            "max_score": self.max_score,
            "named": self.named,
            "misleading": self.misleading_lines,
            "named_by_patterns": self.named_by_patterns,
            "unmatched_by_patterns": self.unmatched_lines(adjudicated=False),
            "caught_public": self.caught_public,
            "full_marks": self.full_marks,
            "hints": self.hints,
            "failed_tests": self.failed_tests,
            "grading_error": self.grading_error,
            "seconds": round(self.seconds, 2),
        }


def hint_lines(tests: Iterable[TestResult]) -> list[str]:
    """The distinct ``hint:`` lines of the tests' feedback (prefix dropped), first seen first;
    the instructors' full message counts too (it holds the same hints)."""
    found: dict[str, None] = {}
    for test in tests:
        for text in (test.output, test.instructor_output):
            for line in text.splitlines():
                line = line.strip()
                if line.startswith(HINT_PREFIX):
                    found.setdefault(line[len(HINT_PREFIX) :].strip(), None)
    return list(found)


def outcome_of(variant: Variant, report: GradeReport, seconds: float) -> Outcome:
    """Read a variant's grading."""
    public = f"test_{variant.assignment}_public"
    failed = [test.name for test in report.tests if not test.passed]
    error = report.grading_error or ("" if report.tests else "no test ran")
    return Outcome(
        variant=variant,
        score=report.score,
        max_score=report.max_score,
        hints=hint_lines(report.tests),
        caught_public=any(name.startswith(public) for name in failed),
        failed_tests=failed,
        grading_error=error,
        seconds=seconds,
    )


def grade_variant(variant: Variant, reference: dict[str, str]) -> Outcome:
    """Apply the variant once to the reference, grade it, and read the feedback."""
    with tempfile.TemporaryDirectory(prefix=f"variant-{variant.name}-") as scratch:
        folder = Path(scratch) / "submission"
        write_files(apply_edits(reference, variant.spec()), folder)
        start = time.perf_counter()
        report = grade(load_assignment(variant.assignment), folder)
        return outcome_of(variant, report, time.perf_counter() - start)


def run(
    variants: Sequence[Variant],
    reference: dict[str, str],
    jobs: int,
    progress: bool = True,
) -> list[Outcome]:
    """Grade every variant, ``jobs`` at a time; the outcomes in the variants' order."""
    outcomes: dict[str, Outcome] = {}
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_variant, v, reference): v for v in variants}
        for future in as_completed(futures):
            outcome = future.result()
            with lock:
                outcomes[outcome.variant.name] = outcome
                if progress:
                    print(
                        f"\r  graded {len(outcomes)}/{len(variants)}",
                        end="",
                        file=sys.stderr,
                        flush=True,
                    )
    if progress and variants:
        print(file=sys.stderr)
    return [outcomes[v.name] for v in variants]


def _cell(count: int, total: int) -> str:
    return f"{count}/{total} {count / total:4.0%}" if total else "-"


def table(outcomes: Sequence[Outcome]) -> str:
    """The figures per assignment, in total, and the targets."""
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(outcome.variant.assignment, []).append(outcome)
    rows = [["assignment", "variants", *(HEADINGS[f] for f in FIGURES)]]
    for name, group in [*groups.items(), ("total", list(outcomes))]:
        counts = [sum(o.figure(f) for o in group) for f in FIGURES]
        rows.append([name, str(len(group)), *(_cell(c, len(group)) for c in counts)])
    rows.append(["target", "", *(str(TARGETS[f]) for f in FIGURES)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            row[0].ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)),
        ]
        lines.append("  ".join(cells).rstrip())
        if index in (0, len(rows) - 3):
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdict(outcomes: Sequence[Outcome]) -> str:
    """One line: which targets the total meets."""
    total = len(outcomes)
    parts = []
    for name in FIGURES:
        share = sum(o.figure(name) for o in outcomes) / total if total else 0.0
        mark = "met" if TARGETS[name].met(share) else "NOT met"
        parts.append(f"{HEADINGS[name]} {share:.0%} ({TARGETS[name]}: {mark})")
    return "targets: " + "; ".join(parts)


def without_verdicts(outcomes: Sequence[Outcome]) -> str:
    """One line: named and misleading by the patterns alone (the reviewers' verdicts left out)."""
    total = len(outcomes)
    named = sum(o.named_by_patterns for o in outcomes)
    misleading = sum(o.misleading_by_patterns for o in outcomes)
    reviewed = sum(
        1 for o in outcomes for line in o.hints if o.variant.verdict_of(line) is not None
    )
    return (
        f"by the patterns alone ({reviewed} hint lines judged by a reviewer left unjudged): "
        f"named {named}/{total} {named / total if total else 0:.0%}, "
        f"misleading {misleading}/{total} {misleading / total if total else 0:.0%}"
    )


def details(outcomes: Sequence[Outcome]) -> str:
    """Per variant: its outcome and its hint lines, each marked named / true / MISLEADING."""
    lines = []
    for o in outcomes:
        flags = [
            "NAMED" if o.named else "not named",
            "MISLEADING" if o.misleading else "",
            "caught by public" if o.caught_public else "PASSES THE PUBLIC TESTS",
            "FULL MARKS" if o.full_marks else "",
            f"GRADING ERROR: {o.grading_error}" if o.grading_error else "",
        ]
        lines.append(
            f"{o.variant.assignment}/{o.variant.name} ({o.variant.function}): "
            f"{o.score:g}/{o.max_score:g}; " + ", ".join(f for f in flags if f)
        )
        lines.append(f"    mistake: {o.variant.mistake}")
        for hint in o.hints:
            mark = (
                "named"
                if o.variant.names(hint)
                else "true"
                if o.variant.is_true(hint)
                else "MISLEADING"
            )
            by_patterns = o.variant.names(hint, False) or o.variant.is_true(hint, False)
            if o.variant.verdict_of(hint) and not by_patterns:
                mark += ", by review"
            lines.append(f"    [{mark}] hint: {hint}")
        if not o.hints:
            lines.append("    (no hint)")
    return "\n".join(lines)


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--assignment",
        action="append",
        choices=assignment_names(),
        help="measure this assignment only (repeatable; default: all)",
    )
    parser.add_argument(
        "--sample", type=int, metavar="K", help="K variants per assignment (deterministic)"
    )
    parser.add_argument(
        "--variant",
        action="append",
        metavar="NAME",
        help="grade the variant of this name only (repeatable; after --assignment)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="gradings at once (default: 2)")
    parser.add_argument("--details", action="store_true", help="each variant's outcome and hints")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every outcome as JSON")
    arguments = parser.parse_args(argv)
    if arguments.sample is not None and arguments.sample < 1:
        parser.error("--sample must be at least 1")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    reference = reference_files()
    loaded = load_variants(arguments.assignment, reference)
    for problem in loaded.problems:
        print(f"bench_feedback: variant not measured: {problem}", file=sys.stderr)
    variants = sample(loaded.variants, arguments.sample)
    if arguments.variant:
        unknown = set(arguments.variant) - {v.name for v in variants}
        if unknown:
            print(f"bench_feedback: no such variant: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        variants = [v for v in variants if v.name in arguments.variant]
    start = time.perf_counter()
    print(f"grading {len(variants)} variants, {arguments.jobs} at a time", file=sys.stderr)
    outcomes = run(variants, reference, arguments.jobs)
    elapsed = time.perf_counter() - start
    if arguments.details:
        print(details(outcomes))
        print()
    print(table(outcomes))
    print(verdict(outcomes))
    print(without_verdicts(outcomes))
    print(f"{len(outcomes)} variants graded in {elapsed:.0f} s with --jobs {arguments.jobs}")
    if arguments.json:
        payload = {
            "seconds": round(elapsed, 1),
            "jobs": arguments.jobs,
            "problems": loaded.problems,
            "outcomes": [o.to_json() for o in outcomes],
        }
        arguments.json.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    errors = [o for o in outcomes if o.grading_error]
    for o in errors:
        print(
            f"bench_feedback: grading error for {o.variant.name}: {o.grading_error}",
            file=sys.stderr,
        )
    return 1 if loaded.problems or errors else 0


if __name__ == "__main__":
    sys.exit(main())
