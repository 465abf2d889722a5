"""How precisely a reference result is determined: the scale that bounds a correct answer.

A float result is the rounded outcome of many operations. Where an output is the cancellation of
larger terms (a group-norm gradient over a group of two values, the gradient of a saturated
softmax), a correct implementation can differ from the reference by far more than a small
multiple of ``|output|``: by the rounding error of the *terms*, which are much larger than
their sum. The size of those terms is not visible in the output, so it is measured:

:class:`ConditionedReference` wraps the reference module that hidden suites call. Each call of a
reference function is made once as the suite asked, and then again, ``SAMPLES`` times, in the
same dtypes on copies of its floating-point inputs moved by one unit in the last place (the
smallest change their dtype can represent), and once in higher precision (float32 inputs in
float64, float64 inputs in the platform's extended precision where it has one).
For each float array (or scalar) of the result, the largest change between the reference's own
result and these other evaluations, elementwise, is the result's *spread*. It holds what a
correct answer computed another way may differ by: the output's sensitivity to rounding-sized
changes of its inputs, the rounding of the intermediate terms (each perturbed evaluation rounds
them afresh, so where an output is the cancellation of large terms its spread is of the size of
their rounding error, not of the output's), and the reference's own rounding error (the
higher-precision evaluation; so the float64 answer rounded to float32 always passes).
:mod:`autograder.suite.compare` reads the spread of an expected value with :func:`spread_of` and
estimates the scale of the terms as ``spread / u`` (see there).

The perturbation keeps the structure that tests probe on purpose, so that the spread never
excuses a real mistake:

* it is relative, so zeros stay zero and signs stay (a ReLU at exactly 0 stays at 0);
* it is a deterministic function of each value's bits, so equal values stay equal (ties in
  max-pooling stay ties, and their switches stay where they are);
* values with few significant bits (multiples of 1/256 below 2**16: 0.5, 1, -3, the margins and
  thresholds that tests construct exactly) are not moved at all.

Random inputs have 24 or 53 significant bits, so those rules move essentially every one of
them. A perturbed result that is not finite, or that has another structure than the
reference's, contributes no spread.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

SAMPLES = 3
"""Perturbed evaluations per reference call (each one more call of the reference)."""

ROUND_DENOMINATOR = 256.0
"""Values that are multiples of 1/ROUND_DENOMINATOR (below ROUND_LIMIT) are never moved."""
ROUND_LIMIT = 2.0**16

_MULTIPLIERS = (
    0x9E3779B97F4A7C15,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0xD6E8FEB86659FD93,
    0xFF51AFD7ED558CCD,
    0xC4CEB9FE1A85EC53,
)

_spreads: dict[int, tuple[Any, Any]] = {}
"""id(result value) -> (the value, its spread); holding the value keeps its id unique."""


def unit_roundoff(dtype: np.dtype) -> float:
    """Half the machine epsilon of a floating dtype: 2**-24 for float32, 2**-53 for float64."""
    return float(np.finfo(dtype).eps) / 2.0


def spread_of(expected: Any) -> np.ndarray | None:
    """The spread recorded for ``expected`` (an array shaped like it, float64), or None when
    ``expected`` is not, as an object, a result of a :class:`ConditionedReference` call."""
    entry = _spreads.get(id(expected))
    if entry is None or entry[0] is not expected:
        return None
    return entry[1]


def forget_spreads() -> None:
    """Drop every recorded spread (the plugin calls this after each test)."""
    _spreads.clear()


class ConditionedReference:
    """The reference module as hidden suites see it: calls also measure their results' spread.

    Attributes other than functions (constants, classes) are the module's own. Results are
    returned unchanged, as the very objects the reference returned.
    """

    def __init__(self, module: Any, samples: int = SAMPLES) -> None:
        self._module = module
        self._samples = samples

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if not inspect.isfunction(value):
            return value
        return _conditioned(value, self._samples)

    def __repr__(self) -> str:
        return f"ConditionedReference({self._module.__name__})"


def _conditioned(function: Callable[..., Any], samples: int) -> Callable[..., Any]:
    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        targets = list(_float_values(result))
        if not targets or not _plain(args) or not _plain(kwargs):
            return result
        spreads = [np.zeros(np.shape(value)) for value in targets]
        variants: list[Callable[[Any], Any]] = [
            functools.partial(_moved, sample=k) for k in range(samples)
        ]
        variants.append(in_higher_precision)
        for variant in variants:
            try:
                with np.errstate(all="ignore"):
                    other = function(*variant(args), **variant(kwargs))
            except Exception:  # the other evaluation is not possible: no spread from it
                continue
            _widen(spreads, targets, list(_float_values(other)))
        for value, spread in zip(targets, spreads, strict=True):
            _spreads[id(value)] = (value, spread)
        return result

    return call


def _widen(spreads: list[np.ndarray], targets: list[Any], others: list[Any]) -> None:
    """``spreads[i] = max(spreads[i], |others[i] - targets[i]|)`` where the structures match."""
    if len(others) != len(targets):
        return
    for spread, value, other in zip(spreads, targets, others, strict=True):
        if np.shape(other) != np.shape(value):
            continue
        other, value = np.asarray(other), np.asarray(value)
        wide = np.result_type(other.dtype, value.dtype, np.float64)
        with np.errstate(all="ignore"):
            change = np.abs(other.astype(wide) - value.astype(wide)).astype(np.float64)
        np.maximum(spread, np.where(np.isfinite(change), change, 0.0), out=spread)


EXTENDED = np.longdouble if np.finfo(np.longdouble).eps < np.finfo(np.float64).eps else None
"""The extended precision float64 results are checked against, where the platform has one
(80-bit x87 on x86-64 Linux; on platforms where ``longdouble`` is float64, none)."""


def map_floats(value: Any, function: Callable[[Any], Any]) -> Any:
    """``value`` with ``function`` applied to each float array and float scalar in it (inside
    tuples, lists and dicts, which are rebuilt); everything else as it is."""
    if _is_float(value):
        return function(value)
    if isinstance(value, tuple | list):
        return type(value)(map_floats(item, function) for item in value)
    if isinstance(value, dict):
        return {key: map_floats(item, function) for key, item in value.items()}
    return value


def _is_float(value: Any) -> bool:
    return isinstance(value, np.ndarray | np.floating) and value.dtype.kind == "f"


def _cast(value: Any, dtype: Any) -> Any:
    return np.asarray(value, dtype=dtype) if np.ndim(value) else dtype(value)


def _wider(value: Any) -> Any:
    wider = np.float64 if value.dtype.itemsize < 8 else EXTENDED
    return value if wider is None or value.dtype.itemsize > 8 else _cast(value, wider)


def in_higher_precision(value: Any) -> Any:
    """``value`` with float32 (and float16) arrays and scalars in float64, and float64 ones in
    :data:`EXTENDED` precision (left as they are where there is none)."""
    return map_floats(value, _wider)


def as_float64(value: Any) -> Any:
    """``value`` with its float arrays and scalars (inside tuples, lists, dicts) in float64."""
    return map_floats(value, functools.partial(_cast, dtype=np.float64))


def _float_values(value: Any) -> Any:
    """Every float array and float scalar in a result (inside tuples, lists and dicts)."""
    if _is_float(value):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _float_values(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _float_values(item)


_PLAIN = (type(None), bool, int, float, complex, str, bytes, np.generic, np.ndarray, np.dtype)


def _plain(value: Any) -> bool:
    """Whether ``value`` is data only (so the reference may be called with it again)."""
    if isinstance(value, tuple | list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(_plain(item) for item in value.values())
    return isinstance(value, _PLAIN) or (isinstance(value, type) and issubclass(value, np.generic))


def _moved(value: Any, sample: int) -> Any:
    """A copy of ``value`` whose float arrays and scalars are moved by one unit in the last
    place of their own dtype, up or down as a hash of each value's bits and ``sample`` says."""
    return map_floats(value, functools.partial(_perturb, sample=sample))


def _perturb(value: np.ndarray | np.floating, sample: int) -> Any:
    """``value`` with each element moved to its neighbour above or below in its own dtype
    (equal values the same way), except zeros and values with few significant bits."""
    array = np.asarray(value)
    bits = np.ascontiguousarray(array, dtype=np.float64).view(np.uint64)
    multiplier = np.uint64(_MULTIPLIERS[sample % len(_MULTIPLIERS)])
    with np.errstate(over="ignore"):
        mixed = (bits ^ (bits >> np.uint64(29))) * multiplier
        mixed ^= mixed >> np.uint64(32)
    up = (mixed >> np.uint64(63)).astype(bool)
    toward = np.where(up, np.inf, -np.inf).astype(array.dtype)
    scaled = array.astype(np.float64) * ROUND_DENOMINATOR
    with np.errstate(invalid="ignore"):
        exact = (np.abs(array) < ROUND_LIMIT) & (scaled == np.round(scaled))
    moved = np.where(exact | ~np.isfinite(array), array, np.nextafter(array, toward))
    moved = moved.astype(array.dtype, copy=False)
    return moved if isinstance(value, np.ndarray) else moved[()]
