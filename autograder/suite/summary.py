"""Per student function, what a grading's calls of it show: one line each, above the tests.

::

    conv_forward: right in 12 of 12 cases
    conv_backward: dx right in 12 of 12 cases; dw wrong in 12 of 12 (in each: the right values
        times 1 / the batch size); db right in 12 of 12

A *case* is one call of the function in a graded test on NumPy. A call in a test that passed
is right (the test accepted what it returned). A call in a test that failed is compared with
the reference, item by item of its result (the names come from the reference's docstring:
``(dx, dw, db)``); a wrong item's difference is described (:mod:`autograder.suite.differences`)
and the line says what its wrong cases share. Without the reference (a student's own machine)
the line counts the tests that call the function instead. Device cases (the strict simulator,
CuPy) are not counted again: a line says how many tests fail there that pass on NumPy.

A student sees only the lines of the tests they may see: :func:`summary_lines` takes the
visibilities to count. Nothing here prints a reference value.
"""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from autograder.suite.conditioning import ConditionedReference, forget_spreads
from autograder.suite.differences import find_differences, swapped_items
from autograder.suite.hints import Call, bound, matches
from autograder.suite.outputs import named_items, output_names

CHECK_BUDGET_S = 30.0
"""Seconds a grading may spend re-running the reference for its summary; later failed calls
are left unchecked (the lines say how many)."""
OTHER_STRUCTURE = "a result of another type or structure than the right one"


@dataclass
class _Part:
    """One item of a function's results (``dw``), over the cases."""

    right: int = 0
    wrong: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    """Per kind of difference: how many of the wrong cases show it."""


@dataclass
class _Function:
    """One function's cases, and its tests, in one scope of visibility."""

    parts: dict[str, _Part] = field(default_factory=dict)
    unchecked: int = 0
    failed_calls: int = 0
    """Calls that raised, crashed or timed out instead of returning."""
    tests: int = 0
    failed_tests: int = 0
    """Tests (on NumPy) that call the function and failed."""
    device_only: Counter[str] = field(default_factory=Counter)
    """Per device backend's label: tests calling the function that fail there, not on NumPy."""
    checked: bool = False
    """Whether the reference judged its calls (else only its tests are counted)."""


@dataclass(frozen=True)
class _CaseRecord:
    function: str
    verdicts: tuple[tuple[str, bool, str], ...] | None
    """Per item: its name, whether right, and the kind of its difference ("" if none found);
    None: not checked."""


@dataclass(frozen=True)
class _TestRecord:
    visibility: str
    functions: tuple[str, ...]
    passed: bool
    cases: tuple[_CaseRecord, ...]
    failed_call: str = ""
    """The function whose call failed (raised, crashed, timed out) and ended the test."""
    checked: bool = False
    """Whether the reference was there to judge the calls."""
    backend: str = ""
    """The device backend's label for a device case; "" for NumPy."""
    sibling: str = ""
    """For a device case: the name of the same test's NumPy case."""


@dataclass
class FunctionSummary:
    """The records of one grading's tests, and the time spent checking their calls."""

    records: list[_TestRecord] = field(default_factory=list)
    outcomes: dict[str, bool] = field(default_factory=dict)
    """Per NumPy test name: whether it passed."""
    spent: float = 0.0

    def record(
        self,
        name: str,
        visibility: str,
        calls: list[Call],
        passed: bool,
        reference: Any | None,
        failed_call: str = "",
        backend_label: str = "",
        sibling: str = "",
    ) -> None:
        """Note one test's calls and outcome (``reference``: the reference module, or None)."""
        called = [call.function for call in calls] + ([failed_call] if failed_call else [])
        functions = tuple(dict.fromkeys(called))
        if backend_label:
            self.records.append(
                _TestRecord(
                    visibility, functions, passed, (), failed_call, False, backend_label, sibling
                )
            )
            return
        self.outcomes[name] = passed
        cases = () if reference is None else tuple(self._case(c, passed, reference) for c in calls)
        checked = reference is not None
        self.records.append(_TestRecord(visibility, functions, passed, cases, failed_call, checked))

    def _case(self, call: Call, passed: bool, reference: Any) -> _CaseRecord:
        function = getattr(reference, call.function, None)
        if passed:
            names = output_names(function) if callable(function) else ()
            return _CaseRecord(
                call.function, tuple((n, True, "") for n, _ in named_items(call.result, names))
            )
        if not callable(function) or self.spent > CHECK_BUDGET_S:
            return _CaseRecord(call.function, None)
        started = time.perf_counter()
        try:
            return _CaseRecord(call.function, _verdicts(function, reference, call))
        except Exception:  # a summary is a courtesy: a call it cannot check is left out
            return _CaseRecord(call.function, None)
        finally:
            self.spent += time.perf_counter() - started
            forget_spreads()


def _verdicts(
    function: Callable[..., Any], reference: Any, call: Call
) -> tuple[tuple[str, bool, str], ...]:
    """Per item of the call's result: its name, whether right, and its difference's kind."""
    names = output_names(function)
    correct = function(*copy.deepcopy(call.args), **copy.deepcopy(call.kwargs))
    mine, right = named_items(call.result, names), named_items(correct, names)
    if [n for n, _ in mine] != [n for n, _ in right]:
        return tuple((n, False, OTHER_STRUCTURE) for n, _ in right)
    verdicts = [matches(m, r) for (_, m), (_, r) in zip(mine, right, strict=True)]
    if all(verdicts):
        return tuple((n, True, "") for n, _ in right)
    conditioned = getattr(ConditionedReference(reference), call.function)
    spread = named_items(
        conditioned(*copy.deepcopy(call.args), **copy.deepcopy(call.kwargs)), names
    )
    arguments = bound(function, call)
    labels = tuple(n for n, _ in right)
    expected = tuple(v for _, v in spread)
    found = []
    for index, ((name, value), ok) in enumerate(zip(mine, verdicts, strict=True)):
        if ok:
            found.append((name, True, ""))
            continue
        findings = swapped_items(value, expected[index], expected, index, labels)
        findings = findings or find_differences(value, expected[index], arguments, name)
        found.append((name, False, findings[0].kind if findings else ""))
    return tuple(found)


# ---------------------------------------------------------------- the lines


def summary_lines(summary: FunctionSummary, visibilities: Iterable[str]) -> list[str]:
    """One line per function called in the tests of these visibilities, in order of first call."""
    shown = set(visibilities)
    functions: dict[str, _Function] = {}
    for record in summary.records:
        if record.visibility not in shown:
            continue
        for name in record.functions:
            entry = functions.setdefault(name, _Function())
            if record.backend:
                if not record.passed and summary.outcomes.get(record.sibling):
                    entry.device_only[record.backend] += 1
                continue
            entry.tests += 1
            entry.failed_tests += not record.passed
            entry.checked = entry.checked or record.checked
        if record.failed_call and not record.backend:
            functions[record.failed_call].failed_calls += 1
        for case in record.cases:
            _count(functions[case.function], case)
    return [f"{name}: {_line(entry)}" for name, entry in functions.items()]


def _count(entry: _Function, case: _CaseRecord) -> None:
    if case.verdicts is None:
        entry.unchecked += 1
        return
    for name, right, kind in case.verdicts:
        part = entry.parts.setdefault(name, _Part())
        if right:
            part.right += 1
        else:
            part.wrong += 1
            if kind:
                part.kinds[kind] += 1


def _line(entry: _Function) -> str:
    clauses = []
    if entry.parts:
        clauses += _part_clauses(entry.parts)
    elif entry.tests and not entry.checked:
        passing = entry.tests - entry.failed_tests
        clauses.append(f"{passing} of the {_count_of(entry.tests, 'test')} calling it pass")
    if entry.unchecked:
        clauses.append(f"{_count_of(entry.unchecked, 'more case')} in failed tests not checked")
    if entry.failed_calls:
        clauses.append(
            f"no result (an error, a crash or a timeout) in {_count_of(entry.failed_calls, 'test')}"
        )
    for label, count in entry.device_only.items():
        verbs = "fails there but passes" if count == 1 else "fail there but pass"
        clauses.append(f"on {label}, {_count_of(count, 'test')} calling it {verbs} on NumPy")
    return "; ".join(clauses) if clauses else "not called"


def _part_clauses(parts: dict[str, _Part]) -> list[str]:
    """A clause per item; items right in all their cases share one (``dw, db right in 12 of
    12 cases``) where their counts agree."""
    clauses: list[str] = []
    right: dict[int, list[str]] = {}
    for name, part in parts.items():
        if part.wrong:
            clauses.append(_wrong_clause(name, part))
        else:
            right.setdefault(part.right, []).append(name)
    for count, names in right.items():
        who = f"{', '.join(names)} " if any(names) else ""
        clauses.append(f"{who}right in {count} of {_count_of(count, 'case')}")
    return clauses


def _wrong_clause(name: str, part: _Part) -> str:
    total = part.right + part.wrong
    who = f"{name} " if name else ""
    clause = f"{who}wrong in {part.wrong} of {_count_of(total, 'case')}"
    if part.kinds:
        kind, count = part.kinds.most_common(1)[0]
        if count == part.wrong:
            clause += f" (in {'each' if count > 1 else 'it'}: {kind})"
        elif count >= 2 and 2 * count >= part.wrong:
            clause += f" (in {count} of them: {kind})"
    return clause


def _count_of(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
