"""What the difference between a wrong result and the right one shows, without a catalogue.

Many mistakes leave a shape in ``actual - expected`` that names them without being known in
advance: a constant factor (a missing ``1 / N``), a constant offset, the opposite sign, errors
only on the border (padding), only at every s-th position (stride), only in some channels or
some examples of the batch, only where an input is exactly 0; the right values shifted by one
pixel or in permuted axes; the gradient of another input in the place of the one asked for;
NaN or inf where the right result is finite. :func:`describe_difference` looks for each and says
what it finds, in the words of the call (``x.shape[0]``, channel indices, pixel positions).

A finding states a fact about the submission's result, checked here, never a guess: each holds
for every element, within the comparison's tolerance, and none is made for a result that is
right. Findings name positions, counts, argument names and small exact factors, never an
expected value, so hidden tests may show them.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from autograder.suite.compare import error_bound, tolerance_for
from autograder.suite.conditioning import spread_of

MAX_FINDINGS = 3
"""At most this many findings per result part (the first are the most specific)."""


class Finding(NamedTuple):
    """One thing the difference shows: ``text`` says it of this call (positions, counts,
    factors); ``kind`` says it in words that hold for every call showing the same mistake
    (``"the right values times 1 / the batch size"``), to count calls by."""

    text: str
    kind: str
    item: str = ""
    """The item it is about, as ``text`` names it (``your dx``, ``your result['w1']``)."""
    labels: tuple[str, ...] = ()
    """For a factor: the quantities of the call it equals (``temperature``, ``x.shape[0]``)."""


def describe_difference(
    actual: Any, expected: Any, arguments: dict[str, Any], what: str = "your result"
) -> list[str]:
    """Findings about ``actual`` (what the submission returned) against ``expected`` (the
    reference's result for the same call), whose arguments by name are ``arguments``.

    Tuples and lists are described item by item (``your result[1]``), and an item that equals
    another item's expected value is named as such (``dw`` returned where ``dx`` belongs)."""
    return [finding.text for finding in find_differences(actual, expected, arguments, what)]


def find_differences(
    actual: Any,
    expected: Any,
    arguments: dict[str, Any],
    what: str = "your result",
    names: tuple[str, ...] = (),
) -> list[Finding]:
    """The :class:`Finding` s of :func:`describe_difference`; the items of a tuple result are
    called ``your <name>`` where ``names`` gives them (``dx``, ``dw``), else ``what[index]``;
    a dict's items ``what['key']``."""
    if isinstance(expected, tuple | list) and isinstance(actual, tuple | list):
        if len(actual) != len(expected):
            return []
        if len(names) == len(expected) and all(names):
            labels = tuple(f"your {name}" for name in names)
        else:
            labels = tuple(f"{what}[{index}]" for index in range(len(expected)))
        return _items_differences(list(actual), list(expected), arguments, labels)
    if isinstance(expected, dict) and isinstance(actual, dict):
        if actual.keys() != expected.keys():
            return []
        labels = tuple(f"{what}[{key!r}]" for key in expected)
        mine = [actual[key] for key in expected]
        return _items_differences(mine, list(expected.values()), arguments, labels)
    return [
        finding._replace(item=finding.item or what)
        for finding in _array_differences(actual, expected, arguments, what)
    ]


def _array_differences(
    actual: Any, expected: Any, arguments: dict[str, Any], what: str
) -> list[Finding]:
    if (
        type(actual) is np.ndarray
        and type(expected) is np.ndarray
        and actual.shape == expected.shape
        and actual.dtype != expected.dtype
    ):
        inputs = {np.asarray(v).dtype for v in arguments.values() if type(v) is np.ndarray}
        advice = (
            "return arrays in the dtype of the inputs (cast back after computing in another one)"
            if expected.dtype in inputs
            else f"return {expected.dtype}, whatever the inputs' dtype, as the docstring says"
        )
        return [
            Finding(
                f"{what} is {actual.dtype} where the right one is {expected.dtype}: {advice}",
                "in another dtype than the right one",
            )
        ]
    if _number(actual) and _number(expected):
        return list(_scalar_factor(float(actual), float(expected), arguments, what))
    repeated = _repeated(actual, expected, what)
    if repeated:
        return repeated
    if not _comparable(actual, expected):
        return _permuted(actual, expected, what, arguments)
    return list(itertools.islice(_array_findings(actual, expected, arguments, what), MAX_FINDINGS))


def _items_differences(
    actual: list[Any], expected: list[Any], arguments: dict[str, Any], labels: tuple[str, ...]
) -> list[Finding]:
    """Findings item by item; two items that hold each other's right values are named as
    swapped, once."""
    holds = {i: _holds_other(mine, expected[i], expected, i) for i, mine in enumerate(actual)}
    found: list[Finding] = []
    for index, (mine, right) in enumerate(zip(actual, expected, strict=True)):
        other = holds[index]
        if other is None:
            found += find_differences(mine, right, arguments, labels[index])
        elif holds[other] == index:
            if other > index:
                pair = f"{labels[index]} and {labels[other]}"
                text = f"{pair} are swapped: each holds what the other should be"
                found.append(Finding(text, "swapped with another item", labels[index]))
        else:
            said = f"holds what {labels[other]} should be"
            found.append(Finding(f"{labels[index]} {said}", said, labels[index]))
    return found


def _comparable(actual: Any, expected: Any) -> bool:
    return (
        type(actual) is np.ndarray
        and type(expected) is np.ndarray
        and actual.shape == expected.shape
        and expected.dtype.kind == "f"
        and actual.dtype.kind == "f"
        and expected.size > 0
    )


def _close(actual: np.ndarray, expected: np.ndarray, bound: np.ndarray | None = None) -> np.ndarray:
    """Elementwise: within ``bound`` of ``expected`` (default: the tolerance of its dtype, as
    :func:`~autograder.suite.compare.assert_close` allows it, its spread included)."""
    if bound is None:
        bound = error_bound(expected, tolerance_for(expected.dtype), spread_of(expected))
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    finite = np.isfinite(expected)
    same = ~finite & ((np.isnan(actual) & np.isnan(expected)) | (actual == expected))
    return np.asarray((error <= bound) & finite) | same


def _array_findings(
    actual: np.ndarray, expected: np.ndarray, arguments: dict[str, Any], what: str
) -> Iterator[Finding]:
    bound = error_bound(expected, tolerance_for(expected.dtype), spread_of(expected))
    wrong = ~_close(actual, expected, bound)
    if not wrong.any():
        return
    if not np.isfinite(expected).all():
        return
    if not np.isfinite(actual).all():
        yield _non_finite(actual, what)
        return
    rearranged = list(_rearranged(actual, expected, bound, what))
    if rearranged:
        yield from rearranged
        return
    scaled = list(_scaled(actual, expected, bound, arguments, what))
    offset = list(_offset(actual, expected, bound, what))
    yield from scaled + offset
    if not scaled and not offset:
        per_axis = list(_offset_per_axis(actual, expected, bound, what, arguments))
        yield from per_axis or _affine(actual, expected, bound, what)
    yield from _shifted(actual, expected, what, arguments)
    yield from _where_wrong(wrong, arguments, what, _opposite_there(actual, expected, wrong))
    yield from _precision(actual, expected, what)


REARRANGEMENTS = (
    ("its last two axes swapped (rows and columns transposed)", lambda e: np.swapaxes(e, -1, -2)),
    ("mirrored left to right (the last axis reversed)", lambda e: np.flip(e, -1)),
    ("upside down (the second-to-last axis reversed)", lambda e: np.flip(e, -2)),
    ("rotated by 180 degrees (both last axes reversed)", lambda e: np.flip(e, (-2, -1))),
)
"""Ways the right values come out in other places: a kernel indexed ``[v, u]`` for ``[u, v]``,
a loop run backwards."""


def _rearranged(
    actual: np.ndarray, expected: np.ndarray, bound: np.ndarray, what: str
) -> Iterator[Finding]:
    """The right values, transposed or mirrored in the last two axes."""
    if expected.ndim < 2 or min(expected.shape[-2:]) < 2 or not _patterned(expected):
        return
    for words, rearrange in REARRANGEMENTS:
        moved = rearrange(expected)
        if moved.shape != expected.shape:
            continue  # a transpose of a rectangle: another shape, found as permuted axes
        if _close(moved, expected, bound).all():
            continue  # symmetric: the rearrangement changes nothing
        if _close(actual, moved, bound).all():
            yield Finding(f"{what} holds the right values {words}", f"the right values {words}")
            return


def _repeated(actual: Any, expected: Any, what: str) -> list[Finding]:
    """Every entry along axis 0 the same (one example's values, or one mask, for the whole
    batch) where the right entries differ."""
    if type(actual) is not np.ndarray or type(expected) is not np.ndarray:
        return []
    if actual.shape != expected.shape or actual.ndim < 2 or actual.shape[0] < 2:
        return []
    if actual.dtype.kind == "f":
        return []  # a float result may repeat where its examples normalize alike: masks only
    if actual[0].size < 2 or not (actual == actual[:1]).all() or (expected == expected[:1]).all():
        return []
    if (actual == actual.flat[0]).all():
        return []  # one value everywhere (a stub's zeros): no example was computed at all
    return [
        Finding(
            f"{what} is the same in each of its {actual.shape[0]} entries along axis 0 (every "
            f"example of the batch), where the right entries differ: compute each one from its "
            f"own example (or draw each one)",
            "the same in every entry along axis 0",
        )
    ]


def _number(value: Any) -> bool:
    """A real number: a float, a NumPy floating scalar or a 0-d float array."""
    if isinstance(value, bool):
        return False
    if isinstance(value, float | np.floating):
        return True
    return type(value) is np.ndarray and value.ndim == 0 and value.dtype.kind == "f"


SHARE_OF_A_COUNT = re.compile(
    r"accuracy|precision|recall|(?<![a-z])(f1|auc|tpr|fpr)(?![a-z])", re.I
)
"""The names of results that are shares of a count (a classifier's metrics)."""


def _scalar_factor(
    actual: float, expected: float, arguments: dict[str, Any], what: str
) -> Iterator[Finding]:
    """A scalar (a loss) off by a factor that one quantity of the call has (the batch size):
    one number alone says nothing more, so a factor no quantity explains is not said."""
    if not (np.isfinite(actual) and np.isfinite(expected)) or expected == 0 or actual == expected:
        return
    ratio = actual / expected
    exact = Fraction(ratio).limit_denominator(1000)
    if exact in (0, 1) or abs(float(exact) - ratio) > 1e-9 * abs(ratio):
        return
    if SHARE_OF_A_COUNT.search(what):
        return  # two shares of a count: any two are in a ratio of small numbers
    labels = _distinct_quantities(_factor_names(arguments).get(exact, []))
    if len(labels) == 1:
        named, kind = _factor_words(labels[0])
        yield Finding(f"{what} is the right one times {exact}{named}", kind, labels=tuple(labels))
    elif not labels and exact.numerator <= 4 and exact.denominator <= 4 and exact > 0:
        # a loss exactly 1/2 or 2 times the right one is no coincidence: a factor is wrong
        yield Finding(
            f"{what} is exactly {exact} times the right one (a factor is wrong)",
            f"the right values times {exact}",
        )


def _factor_words(label: str) -> tuple[str, str]:
    """`` (= the batch size, x.shape[0])`` and its kind, for a factor one quantity explains."""
    if label.endswith(".shape[0]"):
        inverse = "1 / " if label.startswith("1 / ") else ""
        named = f" (= {inverse}the batch size, {label.removeprefix('1 / ')})"
        return named, f"the right values times {inverse}the batch size"
    return f" (= {label})", f"the right values times {label}"


def _non_finite(actual: np.ndarray, what: str) -> Finding:
    bad = ~np.isfinite(actual)
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    kinds = " and ".join(
        name
        for name, found in (("NaN", np.isnan(actual).any()), ("inf", np.isinf(actual).any()))
        if found
    )
    return Finding(
        f"{what} holds {kinds} in {int(bad.sum())} of {bad.size} elements (the first at index "
        f"{first}) where the right result is finite: look for an exp that overflows, a log or "
        f"a division that meets 0, or a 0 * inf, on the way to that element",
        f"{kinds} where the right result is finite",
    )


# ---------------------------------------------------------------- the whole array, changed


FACTOR_SCALARS = frozenset({"p", "T", "temperature", "lr"})
"""Scalar options whose value makes the factors mistakes introduce (``1 / (1 - p)``, ``T**2``,
a learning rate in the wrong place); other scalars (eps, momentum, stride, ...) name no
factor: a match would be a coincidence."""
AVERAGE_WEIGHTS = frozenset({"alpha", "beta1", "beta2", "momentum", "p"})
"""Weights of an average, ``w * old + (1 - w) * new``: read the other way round, the first
step's result is off by ``w / (1 - w)`` (or its inverse)."""
WINDOW_SIZES = frozenset({"kernel_size", "sampling_ratio"})
"""Sizes of a window or a grid: a sum where the mean belongs is off by their product."""
MIN_PATTERN_SIZE = 8
"""Arrays smaller than this are too small for a pattern over the whole array to mean much."""


def _factor_names(arguments: dict[str, Any]) -> dict[Fraction, list[str]]:
    """The factors a mistake often introduces (a batch size, a count per channel, the number of
    classes, ``1 / (1 - p)``, ``T**2`` and their inverses), each with its names in the call."""
    names: dict[Fraction, list[str]] = {}

    def add(value: Fraction, label: str, inverse: str = "") -> None:
        for factor, text in ((value, label), (1 / value, inverse or f"1 / {label}")):
            if factor not in (0, 1):
                names.setdefault(factor, []).append(text)

    for name, value in arguments.items():
        if name in AVERAGE_WEIGHTS and isinstance(value, float) and 0 < value < 1:
            weight = Fraction(value).limit_denominator(1000)
            if abs(float(weight) - value) <= 1e-12:
                ratio = weight / (1 - weight)
                add(ratio, f"{name} / (1 - {name})", f"(1 - {name}) / {name}")
                root = _rational_square_root(ratio)
                if root is not None:  # an RMS of that average: divided by its square root
                    add(root, f"sqrt({name} / (1 - {name}))", f"sqrt((1 - {name}) / {name})")
        if name in WINDOW_SIZES and not isinstance(value, bool):
            sizes = value if isinstance(value, tuple) else (value, value)
            if all(isinstance(v, int) and v > 1 for v in sizes) and len(sizes) == 2:
                count = f"{sizes[0]} * {sizes[1]}"
                add(
                    Fraction(sizes[0] * sizes[1]),
                    f"the {count} values of each window or bin ({name}): a sum where their "
                    f"mean belongs",
                    f"1 / the {count} values of each window or bin ({name}): a mean where their "
                    f"sum belongs",
                )

    for name, value in arguments.items():
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.size > 1:
            shape = value.shape
            add(Fraction(shape[0]), f"{name}.shape[0]")
            if value.ndim == 2:
                add(Fraction(shape[1]), f"{name}.shape[1]")
            if value.ndim == 4:
                add(Fraction(shape[2] * shape[3]), f"H * W of {name}")
                add(Fraction(shape[0] * shape[2] * shape[3]), f"N * H * W of {name}")
            if value.ndim > 1:
                add(Fraction(value.size), f"{name}.size")
        elif (
            name in FACTOR_SCALARS
            and isinstance(value, float | int)
            and not isinstance(value, bool)
        ):
            exact = Fraction(value).limit_denominator(1000)
            if abs(float(exact) - value) <= 1e-12 and exact not in (0, 1):
                add(exact, name)
                add(exact * exact, f"{name}**2")
                if exact < 1:
                    add(1 - exact, f"(1 - {name})")
    return names


def _rational_square_root(value: Fraction) -> Fraction | None:
    """The exact square root of ``value`` (``1/9`` -> ``1/3``), or None when it is irrational."""
    roots = [math.isqrt(part) for part in (value.numerator, value.denominator)]
    if roots[0] ** 2 != value.numerator or roots[1] ** 2 != value.denominator:
        return None
    return Fraction(roots[0], roots[1])


def _patterned(expected: np.ndarray) -> bool:
    """Whether ``expected`` is large and varied enough for a whole-array pattern to mean much."""
    return expected.size >= MIN_PATTERN_SIZE and np.unique(expected).size >= 3


def _scaled(
    actual: np.ndarray,
    expected: np.ndarray,
    bound: np.ndarray,
    arguments: dict[str, Any],
    what: str,
) -> Iterator[Finding]:
    e, a = expected.astype(np.float64), actual.astype(np.float64)
    energy = float(np.sum(e * e))
    if energy == 0 or not _patterned(expected):
        return
    factor = float(np.sum(a * e)) / energy
    if abs(factor) < 1e-3:  # a result of zeros is no multiple worth naming
        return
    if not _close(actual, e * factor, bound * max(abs(factor), 1.0)).all():
        return
    if abs(factor + 1) < 1e-6:
        yield Finding(
            f"{what} has the opposite sign of the right one everywhere", "the opposite sign"
        )
        return
    exact = Fraction(factor).limit_denominator(64)
    if abs(float(exact) - factor) > 1e-6 * abs(factor):
        yield Finding(
            f"{what} is the right one times the same constant everywhere (a factor is wrong)",
            "the right values times a constant",
        )
        return
    labels = _distinct_quantities(_factor_names(arguments).get(exact, []))
    if len(labels) == 1:
        named, kind = _factor_words(labels[0])
    elif labels:  # several quantities of the call have this value: it could be any of them
        named = f" (= {', or '.join(labels[:3])}: the call cannot tell them apart)"
        kind = f"the right values times {exact}"
    else:
        named, kind = "", f"the right values times {exact}"
    yield Finding(
        f"{what} is the right one times {exact}{named}, everywhere", kind, labels=tuple(labels)
    )


def _distinct_quantities(labels: list[str]) -> list[str]:
    """``labels`` without those naming the same quantity of another argument of the same shape
    (``target.size`` beside ``pred.size``: the first one names it)."""
    kept: dict[tuple[bool, str], str] = {}
    for label in dict.fromkeys(labels):
        body = label.removeprefix("1 / ")
        if " of " in body:  # "H * W of x"
            quantity = body.partition(" of ")[0]
        elif "." in body:  # "x.shape[0]", "x.size"
            quantity = body.partition(".")[2]
        else:  # a scalar option: "temperature", "p**2", "(1 - p)"
            quantity = body
        kept.setdefault((label.startswith("1 / "), quantity), label)
    return list(kept.values())


def _offset(
    actual: np.ndarray, expected: np.ndarray, bound: np.ndarray, what: str
) -> Iterator[Finding]:
    difference = actual.astype(np.float64) - expected.astype(np.float64)
    shift = float(np.mean(difference))
    if shift == 0 or not _patterned(expected):
        return
    if not _close(actual, expected + shift, bound + abs(shift) * 1e-6).all():
        return
    yield Finding(
        f"{what} is off by the same constant at every element (an added or missing term)",
        "off by a constant at every element",
    )


def _offset_per_axis(
    actual: np.ndarray,
    expected: np.ndarray,
    bound: np.ndarray,
    what: str,
    arguments: dict[str, Any],
) -> Iterator[Finding]:
    """Off by a constant that changes only along one axis (per channel: a shift such as
    ``beta`` added in the wrong place; per example: a term of each example's own)."""
    if actual.ndim < 2 or not _patterned(expected):
        return
    difference = actual.astype(np.float64) - expected.astype(np.float64)
    for axis in range(actual.ndim):
        if actual.shape[axis] < 2 or actual.size // actual.shape[axis] < 2:
            continue
        others = tuple(a for a in range(actual.ndim) if a != axis)
        shifts = difference.mean(axis=others, keepdims=True)
        if np.allclose(shifts, shifts.flat[0]) or not (shifts != 0).all():
            continue  # one constant everywhere (said above), or no shift in some entries
        if _close(actual, expected + shifts, bound + np.abs(shifts) * 1e-6).all():
            where = {0: "entry of axis 0 (each example)", actual.ndim - 1: "entry of the last axis"}
            if actual.ndim == 4:
                where[1] = "channel (axis 1)"
            label = where.get(axis, f"entry of axis {axis}")
            named = _offset_argument(shifts.ravel(), arguments)
            if named:
                offset, advice = named
                yield Finding(
                    f"{what} is off by exactly {offset} in each {label}: {advice}",
                    f"off by an input per entry of axis {axis}",
                )
                return
            yield Finding(
                f"{what} is off by a constant in each {label}, a different one in each: a term "
                f"of each {label.partition(' (')[0]} is added, missing or in the wrong place",
                f"off by a constant per entry of axis {axis}",
            )
            return


def _offset_argument(shifts: np.ndarray, arguments: dict[str, Any]) -> tuple[str, str] | None:
    """``("-b", "b is left out, add it")`` where the offsets are an input vector (or its
    negative)."""
    for name, value in arguments.items():
        if type(value) is not np.ndarray or value.shape != shifts.shape or value.dtype.kind != "f":
            continue
        if not value.any():
            continue
        scale = float(np.max(np.abs(value)))
        if np.allclose(shifts, -value, rtol=1e-6, atol=1e-9 * scale):
            return f"-{name}", f"{name} is left out, add it"
        if np.allclose(shifts, value, rtol=1e-6, atol=1e-9 * scale):
            return f"+{name}", f"{name} is added twice"
    return None


def _affine(
    actual: np.ndarray, expected: np.ndarray, bound: np.ndarray, what: str
) -> Iterator[Finding]:
    """``a * right + c`` everywhere, with ``a`` not 1 and ``c`` not 0 (draws from ``[0, b)``
    where ``[-b, b)`` belongs: half the right values plus ``b / 2``)."""
    if not _patterned(expected):
        return
    e, a = expected.astype(np.float64).ravel(), actual.astype(np.float64).ravel()
    design = np.column_stack([e, np.ones_like(e)])
    (scale, shift), *_ = np.linalg.lstsq(design, a, rcond=None)
    if abs(scale) < 1e-3 or abs(scale - 1) < 1e-6:
        return
    spread = float(np.max(np.abs(e))) or 1.0
    if abs(shift) < 1e-6 * spread:
        return
    if not _close(actual, expected * scale + shift, bound * max(abs(scale), 1.0) + 1e-9).all():
        return
    exact = Fraction(float(scale)).limit_denominator(64)
    factor = str(exact) if abs(float(exact) - scale) <= 1e-6 * abs(scale) else f"{scale:.4g}"
    centre_right, centre_mine = float(np.mean(e)), float(np.mean(a))
    centred = ""
    if abs(centre_right) < 0.05 * spread and abs(centre_mine) > 0.1 * spread:
        centred = f"; the right values are centred on 0, yours on {centre_mine:.3g}"
    yield Finding(
        f"{what} is the right one times {factor} plus the same constant everywhere (values "
        f"scaled and shifted: check the range or the centre of what you compute){centred}",
        "the right values scaled and shifted",
    )


def _shifted(
    actual: np.ndarray, expected: np.ndarray, what: str, arguments: dict[str, Any]
) -> Iterator[Finding]:
    """The right values moved by one position along a spatial axis (the last two)."""
    for axis in range(max(actual.ndim - 2, 0), actual.ndim):
        if actual.shape[axis] < 3:
            continue
        for step, direction in ((1, "forward"), (-1, "backward")):
            moved = np.roll(expected, step, axis=axis)
            inner = [slice(None)] * actual.ndim
            inner[axis] = slice(1, -1)
            inner_t = tuple(inner)
            if _close(expected[inner_t], moved[inner_t]).all():
                return  # shifting changes nothing here: it cannot be told apart
            if _close(actual[inner_t], moved[inner_t]).all():
                yield Finding(
                    f"{what} holds the right values shifted by one position {direction} "
                    f"along axis {axis}: check where each output position's window starts"
                    + (
                        ", and that the input sits in the middle of the padded array (the "
                        "padding on every side)"
                        if "padding" in arguments
                        else ""
                    ),
                    f"the right values shifted by one position along axis {axis}",
                )
                return
    if "padding" in arguments:  # where a padding could be misplaced
        yield from _shifted_diagonally(actual, expected, what)


def _shifted_diagonally(actual: np.ndarray, expected: np.ndarray, what: str) -> Iterator[Finding]:
    """The right values moved by the same number of positions along both spatial axes (the
    zero padding all put on one side: the input copied to the padded buffer's corner)."""
    if actual.ndim < 2 or min(actual.shape[-2:]) < 4:
        return
    for step in (1, 2, -1, -2):
        moved = np.roll(expected, (step, step), axis=(-2, -1))
        inner = (Ellipsis, slice(2, -2), slice(2, -2))
        if _close(expected[inner], moved[inner]).all():
            return
        if _close(actual[inner], moved[inner]).all():
            direction = "down and to the right" if step > 0 else "up and to the left"
            count = abs(step)
            positions = "position" if count == 1 else "positions"
            yield Finding(
                f"{what} holds the right values shifted by {count} {positions} {direction} "
                f"along both of the last two axes: check that the zero padding is on every "
                f"side (the input at [p:p + H, p:p + W] of the padded array)",
                "the right values shifted along both of the last two axes",
            )
            return


def _permuted(actual: Any, expected: Any, what: str, arguments: dict[str, Any]) -> list[Finding]:
    if type(actual) is not np.ndarray or type(expected) is not np.ndarray:
        return []
    if actual.shape == expected.shape:
        return []
    if sorted(actual.shape) != sorted(expected.shape):
        return _other_shape(actual, expected, what, arguments)
    if actual.dtype != expected.dtype or expected.dtype.kind != "f":
        return _other_shape(actual, expected, what, arguments)
    for order in itertools.permutations(range(expected.ndim)):
        moved = expected.transpose(order)
        if moved.shape == actual.shape and _close(actual, moved).all():
            return [
                Finding(
                    f"{what} has shape {actual.shape}, the right one {expected.shape}: your "
                    f"values are right, with the axes in the order {order} of the right one",
                    "the right values with the axes in another order",
                )
            ]
    return _other_shape(actual, expected, what, arguments)


def _reduced_further(actual: np.ndarray, expected: np.ndarray) -> str:
    """``"summed over axis 0"`` where summing (or averaging) ``actual`` over some of its axes
    gives ``expected``: a gradient left per example, a statistic per position."""
    if actual.ndim <= expected.ndim or expected.dtype.kind != "f" or actual.dtype.kind != "f":
        return ""
    if not np.isfinite(actual).all() or not np.isfinite(expected).all():
        return ""
    dropped = actual.ndim - expected.ndim
    for axes in itertools.combinations(range(actual.ndim), dropped):
        kept = tuple(n for axis, n in enumerate(actual.shape) if axis not in axes)
        if kept != expected.shape:
            continue
        listed = ", ".join(str(axis) for axis in axes)
        plural = "axes" if len(axes) > 1 else "axis"
        for word, reduce in (("summed", np.sum), ("averaged", np.mean)):
            if _close(reduce(actual.astype(np.float64), axis=axes), expected).all():
                return f"{word} over {plural} {listed}"
    return ""


def _kept_axes(actual: np.ndarray, expected: np.ndarray, arguments: dict[str, Any]) -> str:
    """Where both shapes are those of some axes of one input (``dgamma`` of shape ``(N,)``
    where ``(D,)`` belongs, for an ``x`` of shape ``(N, D)``): which axes each keeps."""
    for name, value in sorted(arguments.items(), key=lambda item: -_ndim(item[1])):
        if type(value) is not np.ndarray or value.ndim < 2 or value.shape == expected.shape:
            continue  # the data an output reduces, not the parameter it is shaped like
        mine, right = _axes_of(actual.shape, value.shape), _axes_of(expected.shape, value.shape)
        if mine is not None and right is not None and mine != right:
            plural = "axes" if len(right) > 1 else "axis"
            return (
                f"yours keeps {name}'s {_listed(mine)} where the right one keeps its "
                f"{_listed(right)}: reduce over the other {plural} of {name}"
            )
    return ""


def _ndim(value: Any) -> int:
    return value.ndim if type(value) is np.ndarray else -1


def _axes_of(shape: tuple[int, ...], of: tuple[int, ...]) -> tuple[int, ...] | None:
    """The one set of axes of ``of`` whose sizes, in order, are ``shape`` (None if none or
    several: the sizes do not tell the axes apart)."""
    found = [
        axes
        for axes in itertools.combinations(range(len(of)), len(shape))
        if tuple(of[axis] for axis in axes) == tuple(shape)
    ]
    return found[0] if len(found) == 1 and shape else None


def _listed(axes: tuple[int, ...]) -> str:
    words = ", ".join(str(axis) for axis in axes)
    return ("axes " if len(axes) > 1 else "axis ") + words


def _other_shape(
    actual: np.ndarray, expected: np.ndarray, what: str, arguments: dict[str, Any]
) -> list[Finding]:
    """How a result's shape differs from the right one's: by how much along which axes, or
    the same number of values in another shape."""
    shapes = f"{what} has shape {actual.shape} where the right one has {expected.shape}"
    reduced = _reduced_further(actual, expected)
    if reduced:
        return [
            Finding(
                f"{shapes}: your values {reduced} are the right ones, so the reduction over "
                f"those axes is missing",
                "right once reduced over more axes",
            )
        ]
    kept = _kept_axes(actual, expected, arguments)
    if kept:
        return [Finding(f"{shapes}: {kept}", "kept the wrong axes of an input")]
    if actual.ndim == expected.ndim and actual.ndim >= 3:
        deltas = {
            axis: a - e
            for axis, (a, e) in enumerate(zip(actual.shape, expected.shape, strict=True))
        }
        off = {axis: delta for axis, delta in deltas.items() if delta}
        if len(set(off.values())) == 1:
            (delta,) = set(off.values())
            axes = " and ".join(str(axis) for axis in off)
            word = "larger" if delta > 0 else "smaller"
            plural = "axes" if len(off) > 1 else "axis"
            return [
                Finding(
                    f"{shapes}: {abs(delta)} {word} along {plural} {axes}",
                    f"{abs(delta)} {word} along {plural} {axes}",
                )
            ]
    if actual.size == expected.size:
        return [
            Finding(
                f"{shapes}: as many values, in another shape",
                "as many values, in another shape",
            )
        ]
    return []


def swapped_items(
    mine: Any, right: Any, expected: Any, index: int, labels: tuple[str, ...]
) -> list[Finding]:
    """Item ``index`` of a tuple result equals another item's right value (dx returned as
    dw); ``labels`` name the items."""
    other = _holds_other(mine, right, expected, index)
    if other is None:
        return []
    said = f"holds what {labels[other]} should be"
    return [Finding(f"{labels[index]} {said}", said)]


def _holds_other(mine: Any, right: Any, expected: Any, index: int) -> int | None:
    """The index of the other item whose right value item ``index`` holds (None if none)."""
    if type(mine) is not np.ndarray or (_comparable(mine, right) and _close(mine, right).all()):
        return None
    for other, value in enumerate(expected):
        if other != index and _comparable(mine, value) and _close(mine, value).all():
            return other
    return None


# ---------------------------------------------------------------- where it is wrong


DENSE = 0.5
"""A pattern of where a result is wrong counts only if most of the places it names are wrong
(a mistake in a channel spoils the channel; a few wrong elements that happen to share one are
a coincidence of the inputs, and naming the channel would mislead)."""


def _opposite_there(actual: np.ndarray, expected: np.ndarray, wrong: np.ndarray) -> str:
    """``"; there, yours have the opposite sign"`` where every wrong value is the right one
    negated."""
    mine, right = actual[wrong].astype(np.float64), expected[wrong].astype(np.float64)
    if mine.size and _close(mine, -right).all():
        return "; there, yours have the opposite sign"
    return ""


def _where_wrong(
    wrong: np.ndarray, arguments: dict[str, Any], what: str, there: str = ""
) -> Iterator[Finding]:
    if wrong.all() or wrong.size < MIN_PATTERN_SIZE:
        return
    count = f"{int(wrong.sum())} of {wrong.size} elements are wrong"
    yield from _at_zeros(wrong, arguments, what, count)
    at_labels = list(_at_labels(wrong, arguments, what, count, there))
    if at_labels:
        yield from at_labels
        return
    explained = list(_by_an_index(wrong, arguments, what, count))
    yield from explained
    if wrong.ndim >= 2 and not explained:
        yield from _some_of_axis(wrong, 0, "entries along axis 0", what, count)
    if wrong.ndim >= 3:
        label = "channels (axis 1)" if wrong.ndim == 4 else "entries along axis 1"
        yield from _some_of_axis(wrong, 1, label, what, count)
        yield from _border(wrong, what, count, _advice(arguments, "padding"))
        yield from _every_sth(wrong, what, count, _advice(arguments, "stride"))


def _at_labels(
    wrong: np.ndarray, arguments: dict[str, Any], what: str, count: str, there: str = ""
) -> Iterator[Finding]:
    """Wrong exactly at each row's label column (``dscores[i, y[i]]``): the correct class's
    term of a loss's gradient."""
    if wrong.ndim != 2:
        return
    n, k = wrong.shape
    for name, value in arguments.items():
        if type(value) is not np.ndarray or value.shape != (n,) or value.dtype.kind not in "iu":
            continue
        if value.min(initial=0) < 0 or value.max(initial=0) >= k:
            continue
        labels = np.zeros(wrong.shape, dtype=bool)
        labels[np.arange(n), value] = True
        if np.array_equal(wrong, labels):
            yield Finding(
                f"{what}: {count}, exactly one per row, at its label's column {name}[i]{there}: "
                f"the other classes are right; check the term of the correct class",
                "wrong only at each row's label column",
            )
            return


def _by_an_index(
    wrong: np.ndarray, arguments: dict[str, Any], what: str, count: str
) -> Iterator[Finding]:
    """Wrong exactly in the entries along axis 0 whose integer input differs from the one
    value every right entry has: ``boxes[:, 0]`` (a box's image), a label. The right entries
    all read image 0: the index is ignored, or read as 0."""
    if wrong.ndim < 1 or wrong.shape[0] < 4:
        return
    rows = wrong.reshape(wrong.shape[0], -1).any(axis=1)
    if rows.sum() < 1 or (~rows).sum() < 2:
        return
    for name, value in arguments.items():
        if type(value) is not np.ndarray or value.ndim not in (1, 2):
            continue
        if value.shape[0] != wrong.shape[0] or value.dtype.kind not in "iuf":
            continue
        if value.ndim == 1:
            columns = [(name, value)]
        else:
            columns = [(f"{name}[:, {j}]", value[:, j]) for j in range(value.shape[1])]
        for label, column in columns:
            if not np.array_equal(column, np.round(column)):
                continue  # an index or a label: whole numbers
            shared = np.unique(column[~rows])
            if shared.size != 1 or np.any(column[rows] == shared[0]):
                continue
            index = f"{label} == {int(shared[0])}"
            yield Finding(
                f"{what}: {count}, only in the entries along axis 0 whose {label} is not "
                f"{int(shared[0])}; those with {index} are right: check how you use {label}",
                f"wrong only where {label} is not the value the right entries share",
            )
            return


def _advice(arguments: dict[str, Any], option: str) -> str:
    """``": check the padding"`` where the call has that option (else no advice: a pattern
    in the errors does not say which mistake made it)."""
    return f": check the {option}" if option in arguments else ""


def _dense(wrong: np.ndarray, where: np.ndarray) -> bool:
    """Whether ``wrong`` holds only inside ``where`` and most of ``where`` is wrong."""
    return bool(where.any()) and not (wrong & ~where).any() and wrong[where].mean() >= DENSE


def _at_zeros(
    wrong: np.ndarray, arguments: dict[str, Any], what: str, count: str
) -> Iterator[Finding]:
    """Wrong where an input of the result's shape is 0: only the leading arguments of that
    shape (``dout``, ``x``: the inputs an elementwise result follows); an argument after one of
    another shape (``w`` after ``x`` in a convolution) has the result's shape by coincidence."""
    for name, value in arguments.items():
        if type(value) is not np.ndarray or value.shape != wrong.shape:
            return
        zero = value == 0
        if not zero.all() and _dense(wrong, zero):
            yield Finding(
                f"{what}: {count}, all where {name} is exactly 0",
                f"wrong only where {name} is exactly 0",
            )
            return


def _some_of_axis(
    wrong: np.ndarray, axis: int, label: str, what: str, count: str
) -> Iterator[Finding]:
    if wrong.shape[axis] < 3:
        return
    others = tuple(a for a in range(wrong.ndim) if a != axis)
    touched = np.flatnonzero(wrong.any(axis=others))
    where = np.zeros(wrong.shape, dtype=bool)
    np.moveaxis(where, axis, 0)[touched] = True
    contiguous = touched.size > 0 and touched[-1] - touched[0] + 1 == touched.size
    # a few wrong elements in an entry are a coincidence of the inputs; a whole entry is not
    few = wrong.sum() < MIN_PATTERN_SIZE and not wrong[where].all()
    if contiguous and not few and touched.size <= wrong.shape[axis] // 2 and _dense(wrong, where):
        listed = ", ".join(str(int(i)) for i in touched[:8]) + (", ..." if touched.size > 8 else "")
        yield Finding(
            f"{what}: {count}, only in {touched.size} of the {wrong.shape[axis]} {label}: "
            f"{listed}; the others are right",
            f"wrong only in some {label}",
        )


def _border(wrong: np.ndarray, what: str, count: str, advice: str) -> Iterator[Finding]:
    height, width = wrong.shape[-2:]
    for depth in (1, 2):
        if height <= 2 * depth + 1 or width <= 2 * depth + 1:
            return  # an inside of at least 2 x 2: a 3 x 3 kernel has no border worth naming
        ring = np.ones((height, width), dtype=bool)
        ring[depth:-depth, depth:-depth] = False
        if _dense(wrong, np.broadcast_to(ring, wrong.shape)):
            pixels = f"{depth} pixel{'s' if depth > 1 else ''}"
            yield Finding(
                f"{what}: {count}, all within {pixels} of the border, the inside is right{advice}",
                f"wrong only within {pixels} of the border{advice}",
            )
            return


def _every_sth(wrong: np.ndarray, what: str, count: str, advice: str) -> Iterator[Finding]:
    for axis in (wrong.ndim - 2, wrong.ndim - 1):
        size = wrong.shape[axis]
        for step in (2, 3, 4):
            if size < 2 * step:
                continue
            for residue in range(step):
                lines = np.zeros(size, dtype=bool)
                lines[residue::step] = True
                shape = [1] * wrong.ndim
                shape[axis] = size
                where = np.broadcast_to(lines.reshape(shape), wrong.shape)
                hit = wrong.any(axis=tuple(a for a in range(wrong.ndim) if a != axis))
                if hit.sum() >= 2 and np.array_equal(hit, lines) and _dense(wrong, where):
                    ordinal = {2: "2nd", 3: "3rd"}.get(step, f"{step}th")
                    every = f"only at every {ordinal} position along axis {axis}"
                    yield Finding(
                        f"{what}: {count}, {every} (those at {residue} mod {step}){advice}",
                        f"wrong {every}{advice}",
                    )
                    return


def _precision(actual: np.ndarray, expected: np.ndarray, what: str) -> Iterator[Finding]:
    """Close, but not close enough, in float32: precision lost on the way (conditionally)."""
    scale = float(np.max(np.abs(expected), initial=0.0))
    if scale == 0 or expected.dtype != np.float32:
        return
    error = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))
    if error <= 1e-3 * scale:
        yield Finding(
            f"{what} is close to the right one everywhere (its largest error is below 0.1% of "
            f"its scale) but not within float32's tolerance: if your formula is right, digits "
            f"are lost on the way (a long sum, or a difference of nearly equal numbers, in "
            f"float32); compute in float64 inside and cast the result back",
            "close to the right values, but not within float32's tolerance",
        )
