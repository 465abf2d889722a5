"""Name the likely bug behind a failed comparison, by trying the usual mistakes.

When a graded call fails, :func:`diagnose` asks the assignment's diagnoses which mistakes they
suspect (a flipped kernel, padding ignored, the unbiased variance, the other ``align_corners``,
...). A diagnosis re-runs the reference with one mistake made and returns a :class:`Suspect`:
the hint and the output the mistake gives. The engine, not the diagnosis, decides whether it
fires, and only when both hold for that very call:

* the mistake changes the reference's output (a flipped 1x1 kernel, or the momentum "the other
  way round" at momentum 0.5, changes nothing: such a hint would name a mistake the student
  may not have made);
* what the submission returned equals the mistaken output;

and the test's other calls agree: every call whose output the mistake changes got what it
gives (a call the submission got right, where the mistake would have shown, refutes it).
Several suspects of one hint are variants of one mistake (any of them may fit). When several
hints fit alike, one hint says so and names them all. A diagnosis may also
return a plain string: a fact it checked about the submission's result itself (NaN where the
reference is finite, switches that point at maxima but not the first one), worded as such.
Hints use only the call's arguments and the submission's result; they state a suspicion,
never a hidden input or a reference output.

This module is the engine. The hints themselves belong to their assignment:
``assignments/<name>/hints.py`` (optional) holds functions decorated with
:func:`diagnoses_for`, each recognising mistakes in the calls of the functions it names::

    from autograder.suite.hints import Call, diagnoses_for, suspect

    @diagnoses_for("bilinear_resize")
    def align_corners_confused(reference, call: Call) -> list[Suspect | str]:
        return [suspect(reference.bilinear_resize, call, "...", align_corners=...)]

That file is loaded by path (the assignment folders are not a Python package), once per
process, when a failed call of that assignment is first diagnosed. It lives beside the hidden
suites, outside the ``autograder`` package, so neither the kit's wheel nor a student bundle
carries it; the Gradescope autograder, which carries the assignment's folder, does.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from autograder.core.assignments import ASSIGNMENTS_DIR
from autograder.suite.compare import assert_close
from autograder.suite.conditioning import ConditionedReference
from autograder.suite.differences import SHARE_OF_A_COUNT, Finding, find_differences
from autograder.suite.layer_mistakes import Layers, layer_errors, layer_mistakes
from autograder.suite.option_mistakes import (
    OptionMistake,
    merged_hints,
    option_mistakes,
    sibling_mistakes,
)
from autograder.suite.outputs import output_names

HINTS_FILE = "hints.py"
"""An assignment's hints: ``assignments/<name>/hints.py``."""


@dataclass(frozen=True)
class Call:
    """One call of a student function: its name, arguments and what it returned."""

    function: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any


IMPOSSIBLE = object()
"""The output of a mistake that cannot be made in a call (the reference refuses its arguments)."""


@dataclass(frozen=True)
class Suspect:
    """A mistake a diagnosis suspects in a call: its hint, and the output the reference gives
    with the mistake made. ``part`` says which items of a tuple result the output stands for
    (``(0,)``: the first; ``(1, 2)``: the pair of the second and third); ``()``: all of it."""

    hint: str
    output: Any
    part: tuple[int, ...] = ()
    changed: tuple[str, ...] = ()
    """The arguments the mistake changes (``suspect``'s changes), left out of the call's path
    when another test's calls are weighed against it (see :class:`TestDiagnosis`)."""

    def select(self, result: Any) -> Any:
        """The part of ``result`` this suspect is about."""
        if not self.part:
            return result
        if len(self.part) == 1:
            return result[self.part[0]]
        return tuple(result[index] for index in self.part)

    def applied(self, correct: Any) -> Any:
        """The result the mistake gives: ``correct`` with its part replaced by the output."""
        if not self.part:
            return self.output
        items = list(correct)
        outputs = (self.output,) if len(self.part) == 1 else self.output
        for index, value in zip(self.part, outputs, strict=True):
            items[index] = value
        return type(correct)(items)

    @property
    def possible(self) -> bool:
        """Whether the mistake can be made in this call (see :func:`suspect`)."""
        return self.output is not IMPOSSIBLE

    def changes(self, correct: Any) -> bool:
        """Whether the mistake can be made here and changes the call's correct output."""
        if not self.possible:
            return False
        try:
            return not matches(self.output, self.select(correct))
        except Exception:  # the correct result has another shape than the suspect says
            return False

    def fits(self, call: Call, correct: Any) -> bool:
        """The mistake changes this call's correct output, and the submission returned what the
        mistake gives, not the right output (where the two are that close, it names nothing)."""
        if not self.possible:
            return False
        try:
            mine = self.select(call.result)
            right = self.select(correct)
            if non_finite(self.output) and not non_finite(right):
                return False  # NaN matches NaN: a mistake that gives NaN names no NaN's cause
            return (
                not matches(self.output, right)
                and matches(mine, self.output)
                and not matches(mine, right)
            )
        except Exception:  # a result of another shape: it does not fit
            return False


Diagnosis = Callable[[Any, Call], "list[Suspect | str]"]
_DIAGNOSED = "__diagnosed_functions__"
"""Attribute :func:`diagnoses_for` sets on a diagnosis: the student functions it diagnoses."""


def diagnoses_for(*functions: str) -> Callable[[Diagnosis], Diagnosis]:
    """Register the decorated diagnosis for calls of ``functions`` (of its assignment).

    A diagnosis takes the reference module and a failed :class:`Call` and returns hints (an
    empty list when it recognises nothing). Of two diagnoses for one function in a hints file,
    the later one counts."""

    def register(diagnosis: Diagnosis) -> Diagnosis:
        setattr(diagnosis, _DIAGNOSED, (*getattr(diagnosis, _DIAGNOSED, ()), *functions))
        return diagnosis

    return register


def hints_file(assignment: str) -> Path:
    """Where the hints of ``assignment`` live (the file may not exist: no hints)."""
    return ASSIGNMENTS_DIR / assignment / HINTS_FILE


def assignment_diagnoses(assignment: str) -> dict[str, Diagnosis]:
    """``{student function: diagnosis}`` of ``assignments/<assignment>/hints.py``; empty when
    the assignment has no hints file."""
    path = hints_file(assignment)
    return _load_diagnoses(path) if path.is_file() else {}


def assignment_layers(assignment: str) -> Layers | None:
    """The layers ``assignments/<assignment>/hints.py`` declares (its ``LAYERS``), for the
    mistakes of its composite functions (:mod:`~autograder.suite.layer_mistakes`)."""
    path = hints_file(assignment)
    layers = getattr(_load_module(path), "LAYERS", None) if path.is_file() else None
    return layers if isinstance(layers, Layers) else None


def assignment_undiagnosed(assignment: str) -> frozenset[str]:
    """The functions ``assignments/<assignment>/hints.py`` keeps out of every diagnosis (its
    ``UNDIAGNOSED``): those whose calls are too long to make again, as a diagnosis does many
    times over (a whole training run). Their failures keep their tests' own messages."""
    path = hints_file(assignment)
    names = getattr(_load_module(path), "UNDIAGNOSED", ()) if path.is_file() else ()
    return frozenset(name for name in names if isinstance(name, str))


@functools.cache
def _load_diagnoses(path: Path) -> dict[str, Diagnosis]:
    """Gather a hints file's registered diagnoses."""
    diagnoses: dict[str, Diagnosis] = {}
    for value in vars(_load_module(path)).values():
        for function in getattr(value, _DIAGNOSED, ()):
            diagnoses[function] = value
    return diagnoses


@functools.cache
def _load_module(path: Path) -> Any:
    """Load a hints file by path (once per process)."""
    # no f-strings in this module: the test that hints print no reference value reads them all
    module_name = "_autograder_hints_" + path.parent.name
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError("cannot load hints from " + str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def _assignment_of(reference: Any) -> str:
    """``conv`` for the reference module ``solutions.conv``."""
    return str(getattr(reference, "__name__", "")).rpartition(".")[2]


def diagnose(reference: Any, calls: list[Call], assignment: str | None = None) -> list[str]:
    """Hints for the calls of a failed test, function by function (the most recently called
    first), without duplicates: :func:`gather`'s diagnosis, named on its own evidence."""
    return gather(reference, calls, assignment).hints()


def gather(reference: Any, calls: list[Call], assignment: str | None = None) -> TestDiagnosis:
    """What the calls of a failed test say about each suspected mistake, per function.

    A suspect is named only when the test's calls agree: it fits at least one call whose output
    its mistake changes, and every other such call (a right one included: there the student's
    code did not make the mistake) got what the mistake gives. Where no suspect of a function
    is named, the difference of its most recent wrong call is described instead. The hints are
    those of ``assignment`` (by default the reference module's: ``conv`` for ``solutions.conv``).
    """
    if reference is None:
        return TestDiagnosis()
    try:
        diagnoses = assignment_diagnoses(assignment or _assignment_of(reference))
    except Exception:  # a hint is a courtesy: a broken hints file never breaks grading
        return TestDiagnosis()
    try:
        layers = assignment_layers(assignment or _assignment_of(reference))
        undiagnosed = assignment_undiagnosed(assignment or _assignment_of(reference))
    except Exception:
        layers, undiagnosed = None, frozenset()
    evidence: dict[str, _Evidence] = {}
    for call in reversed(calls):
        if call.function in undiagnosed:
            continue
        try:
            evidence.setdefault(call.function, _Evidence()).weigh(
                reference, call, diagnoses.get(call.function)
            )
        except Exception:  # a hint is a courtesy: never let it break grading
            continue
    found = TestDiagnosis()
    for function, weighed in evidence.items():
        try:
            weighed.facts += _not_a_function_of_its_arguments(function, weighed)
            if layers is not None:
                weighed.weigh_layers(reference, layers)
            found.functions[function] = weighed.settle(reference)
        except Exception:
            continue
    return found


def diagnose_error(
    reference: Any,
    function_name: str,
    arguments: tuple[tuple[Any, ...], dict[str, Any]],
    raised: str,
    assignment: str | None = None,
) -> list[str]:
    """Hints for a call that raised ``raised`` (``ValueError: operands could not be broadcast
    together with shapes ...``): the layer mistakes with which the reference raises exactly
    that error (a convolution without its padding shrinks a branch that no longer adds up)."""
    try:
        layers = assignment_layers(assignment or _assignment_of(reference))
        function = getattr(reference, function_name, None)
        undiagnosed = assignment_undiagnosed(assignment or _assignment_of(reference))
        if layers is None or not callable(function) or function_name in undiagnosed:
            return []
        args, kwargs = arguments
        bound_arguments = bound(function, Call(function_name, args, kwargs, None))
        module = inspect.getmodule(function)
        changes = layer_errors(module, function, bound_arguments, layers, raised)
    except Exception:  # a hint is a courtesy: never let it break grading
        return []
    said = [
        "your "
        + function_name
        + " raises the error that "
        + function_name
        + " raises with "
        + change
        for change in changes
    ]
    if len(said) <= 1:
        return said
    listed = "; ".join("(" + str(n) + ") " + hint for n, hint in enumerate(said, 1))
    return [str(len(said)) + " mistakes each raise exactly this error: " + listed]


def _not_a_function_of_its_arguments(function: str, evidence: _Evidence) -> list[str]:
    """A fact where two calls of the test with equal arguments returned different results."""
    calls = [entry[0] for entry in evidence.weighed]
    for index, first in enumerate(calls):
        for second in calls[index + 1 :]:
            same = _equal(first.args, second.args) and _equal(first.kwargs, second.kwargs)
            if same and not _equal(first.result, second.result):
                return [
                    "your " + function + " returned different results for the same arguments: "
                    "it depends on something besides them (a random generator not seeded with "
                    "the seed it is given, a global, or a state kept between calls)"
                ]
    return []


def _equal(first: Any, second: Any) -> bool:
    """Exact equality of arguments or results (arrays, dicts, tuples, numbers)."""
    if isinstance(first, dict) and isinstance(second, dict):
        return first.keys() == second.keys() and all(_equal(first[k], second[k]) for k in first)
    if isinstance(first, tuple | list) and isinstance(second, tuple | list):
        return len(first) == len(second) and all(
            _equal(a, b) for a, b in zip(first, second, strict=True)
        )
    if isinstance(first, np.ndarray) or isinstance(second, np.ndarray):
        return (
            isinstance(first, np.ndarray)
            and isinstance(second, np.ndarray)
            and first.shape == second.shape
            and bool(np.array_equal(first, second, equal_nan=first.dtype.kind in "fc"))
        )
    try:
        return bool(first == second)
    except Exception:
        return False


PathKey = frozenset
"""A call's path: its arguments by name, but those a mistake changes: flags and strings by
value, numbers (and pairs of them) by their sign, arrays by their number of axes. Two calls on
one path run the same branches of the student's code: branches test flags, modes, the special
values (``sampling_ratio <= 0``, ``momentum == 0``, ``padding == 0``) and ``x.ndim``, not sizes
or rates."""


def path_key(arguments: dict[str, Any], changed: tuple[str, ...]) -> PathKey:
    """The path of a call with these ``arguments``, leaving out the ``changed`` ones."""
    path = {}
    for name, value in arguments.items():
        branch = _branch_of(value)
        if name not in changed and branch is not None:
            path[name] = branch
    return frozenset(path.items())


def _branch_of(value: Any) -> str | None:
    """What of an argument's value a branch tests: a flag's or a string's value, a number's
    sign (``"negative"``, ``"0"``, ``"positive"``, ``"nan"``), a pair's signs, an array's
    number of axes; None for the rest."""
    if isinstance(value, np.ndarray):
        return "axes " + str(value.ndim)  # a key, not words a student reads
    if value is None or isinstance(value, bool | str):
        return repr(value)
    if isinstance(value, int | float):
        if value != value:
            return "nan"
        return "negative" if value < 0 else "0" if value == 0 else "positive"
    if (
        isinstance(value, tuple)
        and value
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        signs = sorted({_branch_of(v) or "" for v in value})
        return signs[0] if len(signs) == 1 else "/".join(signs)
    return None


@dataclass
class _Findings:
    """One function's evidence in one test, settled into words and paths (no arrays kept)."""

    fits: dict[str, set[PathKey]]
    refuted: dict[str, set[PathKey]]
    options: list[OptionMistake]
    """The option mistakes that fitted a call (their outputs dropped)."""
    option_paths: dict[str, set[PathKey]]
    option_refuted: dict[str, set[PathKey]]
    facts: list[str]
    description: list[str]
    """What the difference of the most recent wrong call shows."""

    def hints(self, function: str, elsewhere: dict[str, set[PathKey]]) -> list[str]:
        """The hints of this test's evidence, but a mistake whose every fitting call's path
        another test refuted (a call on that path got what the mistake does not give)."""
        named = [
            hint
            for hint, paths in self.fits.items()
            if hint not in self.refuted and not paths <= elsewhere.get(hint, set())
        ]
        if not named:  # the catalogue names nothing: an option used at a wrong value may
            named = merged_hints(
                [
                    m
                    for m in self.options
                    if m.hint not in self.option_refuted
                    and not self.option_paths[m.hint] <= elsewhere.get(m.hint, set())
                ]
            )
        if named or self.facts:
            return _several(function, named) + self.facts
        return self.description


@dataclass
class TestDiagnosis:
    """What one failed test's calls say, per student function (in the order diagnosed).

    A test's hints stand on its own calls; :meth:`hints` can also weigh other tests' calls
    (``refuted_elsewhere``): a mistake is then not named where each call it fits has a call on
    the same path (the same flags and options, but those the mistake changes) in another test
    that got what the mistake does not give. A mistake that fits by the coincidence of one
    test's inputs is refuted so; one the student makes on one path only (eval mode) is not."""

    __test__ = False  # a diagnosis, not a test class for pytest to collect

    functions: dict[str, _Findings] = field(default_factory=dict)

    def refuted(self) -> dict[str, dict[str, set[PathKey]]]:
        """Per function and hint: the paths on which this test's calls refuted its mistake."""
        found: dict[str, dict[str, set[PathKey]]] = {}
        for name, findings in self.functions.items():
            hints = found.setdefault(name, {})
            for refuted in (findings.refuted, findings.option_refuted):
                for hint, paths in refuted.items():
                    hints.setdefault(hint, set()).update(paths)
        return found

    def hints(
        self, refuted_elsewhere: dict[str, dict[str, set[PathKey]]] | None = None
    ) -> list[str]:
        """The hints, without duplicates, and without the mistakes ``refuted_elsewhere``
        refutes on every path they fit (per function and hint, as :meth:`refuted` gives)."""
        hints: list[str] = []
        for function, findings in self.functions.items():
            elsewhere = (refuted_elsewhere or {}).get(function, {})
            hints += [h for h in findings.hints(function, elsewhere) if h not in hints]
        return hints


@dataclass
class _Evidence:
    """What one test's calls of one function say about each suspected mistake."""

    fits: dict[str, set[PathKey]] = field(default_factory=dict)
    """Per hint: the paths of the calls whose output its mistake changes and that got what it
    gives."""
    refuted: dict[str, set[PathKey]] = field(default_factory=dict)
    """Per hint of a mistake that changes a call's output which did not get what it gives: the
    paths of those calls."""
    facts: list[str] = field(default_factory=list)
    option_fits: dict[str, OptionMistake] = field(default_factory=dict)
    """Per hint of an option mistake (:mod:`~autograder.suite.option_mistakes`) that fitted a
    call: the mistake (asked only where no catalogue hint fits)."""
    option_paths: dict[str, set[PathKey]] = field(default_factory=dict)
    """Per option mistake's hint that fitted: the paths of the calls it fitted."""
    option_refuted: dict[str, set[PathKey]] = field(default_factory=dict)
    last_wrong: Call | None = None
    """The most recent call whose result is wrong (its difference is described if needed)."""
    weighed: list[tuple[Call, Any, dict[str, Any], bool]] = field(default_factory=list)
    """Each call weighed, most recent first: ``(call, correct result, arguments, right)``."""

    def weigh(self, reference: Any, call: Call, diagnosis: Diagnosis | None) -> None:
        function = getattr(reference, call.function, None)
        if not callable(function):
            return
        correct = function(*call.args, **call.kwargs)
        right = matches(call.result, correct)  # right even without the reference's spread
        if not right and self.last_wrong is None:
            self.last_wrong = call
        arguments = bound(function, call)
        self.weighed.append((call, correct, arguments, right))
        decisive: dict[str, bool] = {}  # hint -> whether one of its suspects fits this call
        changed: dict[str, tuple[str, ...]] = {}
        for item in [] if diagnosis is None else diagnosis(reference, call):
            if isinstance(item, str):
                if not right and item not in self.facts:
                    self.facts.append(item)
            elif item.changes(correct):  # suspects of one hint are its variants: any may fit
                decisive[item.hint] = decisive.get(item.hint, False) or item.fits(call, correct)
                changed[item.hint] = changed.get(item.hint, ()) + item.changed
        for hint, fitted in decisive.items():
            path = path_key(arguments, changed[hint])
            (self.fits if fitted else self.refuted).setdefault(hint, set()).add(path)
        try:
            self._weigh_options(function, call, correct, arguments)
        except Exception:  # a courtesy: the catalogue's evidence of this call stays
            return

    def _weigh_options(
        self, function: Callable[..., Any], call: Call, correct: Any, arguments: dict[str, Any]
    ) -> None:
        for mistake in option_mistakes(function, arguments):
            self._weigh_option(mistake, call, correct, arguments)
        for mistake in sibling_mistakes(function, arguments):
            self._weigh_option(mistake, call, correct, arguments)

    def _weigh_option(
        self, mistake: OptionMistake, call: Call, correct: Any, arguments: dict[str, Any]
    ) -> bool:
        """Weigh one option (or layer) mistake on one call; whether it fitted there."""
        option = Suspect(mistake.hint, mistake.output, mistake.part)
        if not option.changes(correct):
            return False
        path = path_key(arguments, (mistake.changed,))
        if option.fits(call, correct):
            self.option_fits.setdefault(mistake.hint, mistake)
            self.option_paths.setdefault(mistake.hint, set()).add(path)
            return True
        self.option_refuted.setdefault(mistake.hint, set()).add(path)
        return False

    def weigh_layers(self, reference: Any, layers: Layers) -> None:
        """Weigh the layer mistakes (:mod:`~autograder.suite.layer_mistakes`) of a composite
        function where the catalogue fits nothing: searched in the most recent wrong call,
        then those that fit there checked in every call of the test."""
        wrong = [entry for entry in self.weighed if not entry[3]]
        if not wrong or self.fits:
            return
        call, correct, arguments, _ = wrong[0]
        function = getattr(reference, call.function)
        module = inspect.getmodule(function)
        found: dict[tuple[str, ...], set[tuple[int, ...]]] = {}
        for key, mistakes in layer_mistakes(module, function, arguments, layers):
            suspects = [Suspect(m.hint, m.output, m.part) for m in mistakes]
            altered = [s for s in suspects if s.changes(correct)]
            # one change explains every item it alters, or none of them
            if altered and all(s.fits(call, correct) for s in altered):
                found[key] = {s.part for s in altered}
        if not found:
            return
        for call, correct, arguments, _ in self.weighed:
            for key, mistakes in layer_mistakes(module, function, arguments, layers, set(found)):
                for mistake in mistakes:
                    if mistake.part in found[key]:
                        self._weigh_option(mistake, call, correct, arguments)

    def settle(self, reference: Any) -> _Findings:
        """The evidence in words; the most recent wrong call's difference described."""
        description: list[str] = []
        wrong = [entry[0] for entry in self.weighed if not entry[3]]
        if wrong:
            try:
                description = _described(reference, wrong[:DESCRIBED_CALLS])
            except Exception:  # a courtesy: the hints found stay
                description = []
        return _Findings(
            fits=dict(self.fits),
            refuted=dict(self.refuted),
            options=[replace(m, output=None) for m in self.option_fits.values()],
            option_paths=dict(self.option_paths),
            option_refuted=dict(self.option_refuted),
            facts=list(self.facts),
            description=description,
        )


DESCRIBED_CALLS = 4
"""The difference of at most this many wrong calls of a test is described (the most recent)."""

FACTOR_KIND = "the right values times "
"""The start of every factor finding's kind (times 2, times the batch size, times a constant)."""


def _described(reference: Any, calls: list[Call]) -> list[str]:
    """What the difference of the most recent wrong call's result from the right one shows,
    where the test's other wrong calls show it too: a pattern in one call only (wrong in one
    filter of one call's dw) is a coincidence of its inputs. A factor that differs from call
    to call is said as a constant factor, without the value."""
    found = [_findings(reference, call) for call in calls]
    said: list[str] = []
    for finding in found[0][0]:
        # the other calls where this item is wrong: each must show the same
        others = [
            [f for f in each if f.item == finding.item]
            for each, wrong in found[1:]
            if finding.item in wrong
        ]
        if all(any(f.kind == finding.kind for f in each) for each in others):
            said.append(finding.text)
            continue
        factors = [[f for f in each if f.kind.startswith(FACTOR_KIND)] for each in others]
        if not finding.kind.startswith(FACTOR_KIND) or not all(factors):
            continue
        common = [
            label
            for label in finding.labels
            if all(any(label in f.labels for f in each) for each in factors)
        ]
        if common:  # one quantity explains the factor of every call, whatever its value
            said.append(
                finding.item + " is the right one times " + common[0] + " in every call, everywhere"
            )
        else:
            said.append(
                finding.item + " is the right one times a constant in each call, but not the "
                "same constant in every call (a factor is wrong)"
            )
    return said


def _findings(reference: Any, call: Call) -> tuple[list[Finding], set[str]]:
    """The findings of a wrong call, and the items it got wrong (named as they name them)."""
    conditioned = getattr(ConditionedReference(reference), call.function)
    correct = conditioned(*call.args, **call.kwargs)  # with its spread, as suites compare
    function = getattr(reference, call.function)
    names = output_names(function)
    # a classifier's metric (top_k_accuracy, roc_auc) is named so: a share of a count
    what = "your " + call.function if SHARE_OF_A_COUNT.search(call.function) else "your result"
    findings = find_differences(call.result, correct, bound(function, call), what, names)
    return findings, _wrong_items(call.result, correct, what, names)


def _wrong_items(actual: Any, expected: Any, what: str, names: tuple[str, ...] = ()) -> set[str]:
    """The items of ``actual`` that differ from ``expected``, labelled as
    :func:`~autograder.suite.differences.find_differences` labels them."""
    if isinstance(expected, tuple | list) and isinstance(actual, tuple | list):
        if len(actual) != len(expected):
            return {what}
        if len(names) == len(expected) and all(names):
            labels = ["your " + name for name in names]
        else:
            labels = [what + "[" + str(index) + "]" for index in range(len(expected))]
        wrong: set[str] = set()
        for mine, right, label in zip(actual, expected, labels, strict=True):
            wrong |= _wrong_items(mine, right, label)
        return wrong
    if isinstance(expected, dict) and isinstance(actual, dict):
        if actual.keys() != expected.keys():
            return {what}
        wrong = set()
        for key in expected:
            wrong |= _wrong_items(actual[key], expected[key], what + "[" + repr(key) + "]")
        return wrong
    return set() if matches(actual, expected) else {what}


def _several(function_name: str, named: list[str]) -> list[str]:
    """``named`` as hints: one hint each, or one naming them all when several fit alike."""
    if len(named) <= 1:
        return named
    listed = "; ".join("(" + str(n) + ") " + hint for n, hint in enumerate(named, 1))
    return [
        str(len(named))
        + " mistakes each give exactly what "
        + function_name
        + " returned in this test, so it may be any of them: "
        + listed
    ]


# What hints share: compare results, bind arguments, re-run the reference with a change.


def matches(actual: Any, expected: Any) -> bool:
    """True if ``actual`` equals ``expected`` (arrays, or tuples/lists/dicts of arrays; strings
    and None exactly)."""
    if isinstance(expected, tuple | list):
        return (
            isinstance(actual, tuple | list)
            and len(actual) == len(expected)
            and all(matches(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(matches(actual[k], expected[k]) for k in expected)
        )
    if isinstance(expected, str) or expected is None:  # names: exactly
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, float | int | np.generic) and not isinstance(expected, bool):
        scalar = isinstance(actual, float | int | np.generic) and not isinstance(actual, bool)
        if not scalar and not (type(actual) is np.ndarray and actual.ndim == 0):
            return False
        expected = np.asarray(expected)  # a float32 loss keeps float32's tolerance
        if expected.dtype.kind != "f":
            expected = expected.astype(np.float64)
        actual = np.asarray(actual, expected.dtype)
    try:
        assert_close(actual, expected)
    except AssertionError:
        return False
    return True


def bound(reference_function: Callable[..., Any], call: Call) -> dict[str, Any]:
    """The call's arguments by parameter name, defaults filled in."""
    signature = inspect.signature(reference_function)
    arguments = signature.bind(*call.args, **call.kwargs)
    arguments.apply_defaults()
    return dict(arguments.arguments)


def suspect(
    function: Callable[..., Any], call: Call, hint: str, part: tuple[int, ...] = (), **changes: Any
) -> Suspect:
    """The mistake of calling the reference ``function`` with ``changes`` to the call's
    arguments (``part``: the items of the result it is about, see :class:`Suspect`)."""
    shape = Suspect(hint, IMPOSSIBLE, part, tuple(changes))
    try:
        return replace(shape, output=shape.select(function(**(bound(function, call) | changes))))
    except Exception:  # the mistake cannot be made in this call (the reference refuses it)
        return shape


def in_dtype_of(values: Any, like: Any) -> Any:
    """``values`` as an array of ``like``'s dtype (a mistaken output computed in float64 and
    compared with a result in the inputs' dtype)."""
    return np.asarray(values).astype(like.dtype)


def computed(hint: str, mistaken: Callable[[], Any], part: tuple[int, ...] = ()) -> Suspect:
    """The suspect whose output ``mistaken()`` computes from the call's arguments (for a mistake
    that is not the reference with another option); impossible where it cannot be made."""
    try:
        return Suspect(hint, mistaken(), part)
    except Exception:  # the mistake cannot be made in this call
        return Suspect(hint, IMPOSSIBLE, part)


def non_finite(value: Any) -> bool:
    """Whether a result (array, scalar, or a tuple/list of them) holds NaN or inf."""
    if isinstance(value, tuple | list):
        return any(non_finite(item) for item in value)
    if isinstance(value, np.ndarray | np.generic | float) and np.asarray(value).dtype.kind == "f":
        return not bool(np.isfinite(value).all())
    return False
