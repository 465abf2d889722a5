"""Compare a submission's output with the expected one, with messages that teach.

Each float comparison bounds the error of every element by the scale of the *terms* that flow
into it, not by the size of the output alone, so that outputs which are the cancellation of
larger terms (a group-norm gradient over a group of two values, a saturated softmax's gradient)
are judged at the precision their computation allows::

    |actual - expected| <= rtol * |expected| + atol_scale * max(max|expected|, s / u)
    s = max(spread, median(spread))

elementwise, where ``u`` is the unit roundoff of the dtype (2**-24 for float32, 2**-53 for
float64) and ``spread`` is how far the reference's own result moves, at that element, when its
float inputs move by one unit in the last place and when it is computed in higher precision
(:mod:`autograder.suite.conditioning`; hidden suites' expected values carry it). ``s / u``
estimates the size of the terms (see :func:`error_bound` for the median); for a
well-conditioned output it is at most about ``max|expected|``, and the bound is the classic
one relative to the array's scale. Expected
values that a suite computes itself (known answers) have no spread: ``spread = 0``.

=========  ==========  ============  ====================================================
dtype      rtol        atol_scale    why
=========  ==========  ============  ====================================================
float64    1e-10       1e-10         correct float64 code differs by <= 2.2e-14 normwise
float32    1e-4        1e-5          correct float32 code differs by <= 1.3e-6 normwise
integer    exact       exact         indices (max-pool switches) must match exactly
=========  ==========  ============  ====================================================

A failed comparison raises :class:`ComparisonError`, which carries two messages: the full one
(its ``str``: expected and received values) and a redacted one for feedback that a student may
see before the reference's values may be shown (hidden tests; see ``[feedback]
reveal_expected`` in :mod:`autograder.core.assignments`). The redacted message still names the
shape, dtype, how many elements differ, the index of the first mismatch, the student's own
value there and the error sizes, but no expected value; its error sizes are rounded to two
significant digits, so that they cannot be combined back into the expected values beyond that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.suite.conditioning import spread_of, unit_roundoff

Observer = Callable[[str, float, float], None]
"""Called with ``(name, ratio, baseline_ratio)`` for each float comparison: the largest
``error / bound`` over its elements (at most 1 passes), with the spread and without it."""

_observers: list[Observer] = []


@contextmanager
def observing_comparisons(observer: Observer) -> Iterator[None]:
    """Call ``observer`` for every float comparison made inside the ``with`` block (the
    fairness check measures how close correct answers come to their bounds)."""
    _observers.append(observer)
    try:
        yield
    finally:
        _observers.remove(observer)


def notify_observers(name: str, error: Any, bound: Any, baseline_bound: Any) -> None:
    """Report one comparison to the observers (no cost without any)."""
    if not _observers:
        return
    ratio, baseline = _ratio(error, bound), _ratio(error, baseline_bound)
    for observer in list(_observers):
        observer(name, ratio, baseline)


def _ratio(error: Any, bound: Any) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        error = np.asarray(error, np.float64)
        ratio = np.where(error == 0, 0.0, error / np.asarray(bound, np.float64))
    return float(np.max(np.where(np.isnan(ratio), np.inf, ratio), initial=0.0))


@dataclass(frozen=True)
class Tolerance:
    """Elementwise bound ``rtol * |expected| + atol_scale * max(max|expected|, spread / u)``."""

    rtol: float
    atol_scale: float


TOLERANCES: dict[np.dtype, Tolerance] = {
    np.dtype(np.float64): Tolerance(rtol=1e-10, atol_scale=1e-10),
    np.dtype(np.float32): Tolerance(rtol=1e-4, atol_scale=1e-5),
}


def tolerance_for(dtype: np.dtype) -> Tolerance | None:
    """Return the tolerance for a floating dtype, or None for dtypes compared exactly."""
    return TOLERANCES.get(np.dtype(dtype))


class ComparisonError(AssertionError):
    """A failed comparison, with its full message (``str(error)``, ``error.full``) and a
    ``redacted`` one that holds no expected value (the same when the full one holds none).

    Suites may raise it themselves for checks of their own whose message would show an
    expected value: ``raise ComparisonError(full, redacted=without_expected_values)``.
    """

    def __init__(self, full: str, redacted: str | None = None) -> None:
        super().__init__(full)
        self.full = full
        self.redacted = full if redacted is None else redacted


class MistakeFound(AssertionError):
    """A suite's check that found the student's result to be exactly what a known mistake
    gives: the message says what is wrong, ``hint`` names the mistake (shown as the test's
    hint, as the hints of :mod:`autograder.suite.hints` are).

    ``raise MistakeFound("train_head does not run the documented loop", "your train_head ...")``
    """

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def _rounded(value: float) -> str:
    """An error size in a redacted message: two significant digits."""
    return f"{value:.1e}"


def _described(name: str, actual: np.ndarray) -> str:
    """``dx (float32, shape (2, 3))``: what was compared, in a redacted message (the shape and
    dtype are the expected ones: a mismatch of either is reported before any value)."""
    return f"{name} ({actual.dtype}, shape {actual.shape})"


def _own(value: Any) -> str:
    """The student's own value in a redacted message (all its digits: it is theirs)."""
    return str(value)


def describe_array(value: Any) -> str:
    """A short description of a value: ``ndarray float32 (2, 3, 4)`` or its type name."""
    if isinstance(value, np.ndarray):
        return f"{type(value).__name__} {value.dtype} {value.shape}"
    return type(value).__name__


def assert_close(
    actual: Any,
    expected: np.ndarray,
    name: str = "output",
    *,
    rtol: float | None = None,
    atol_scale: float | None = None,
) -> None:
    """Assert that ``actual`` matches ``expected`` in type, shape, dtype and value.

    Args:
        actual: what the submission returned; must be exactly a ``numpy.ndarray`` (not a
            subclass, not a list, not a scalar).
        expected: the expected array; its dtype is the dtype ``actual`` must have. When it is
            a result of the ``reference`` fixture, its spread widens the bound where the
            computation is ill-conditioned (see the module docstring).
        name: what is being compared, used in the message (for example ``"dx"``).
        rtol, atol_scale: override the dtype's tolerance (see the module docstring).

    Raises:
        ComparisonError: with the expected and received shape/dtype, the largest absolute and
            relative errors, where the first mismatch occurs and how many elements differ (its
            ``redacted`` message leaves out the expected values).
    """
    spread = spread_of(expected)
    expected = np.asarray(expected)
    if type(actual) is not np.ndarray:
        raise ComparisonError(
            f"{name}: expected a numpy.ndarray {expected.dtype} {expected.shape}, "
            f"got {describe_array(actual)}"
        )
    if actual.shape != expected.shape:
        raise ComparisonError(f"{name}: expected shape {expected.shape}, got shape {actual.shape}")
    if actual.dtype != expected.dtype:
        raise ComparisonError(
            f"{name}: expected dtype {expected.dtype}, got dtype {actual.dtype} "
            f"(the docstring says which dtype to return: for most functions the inputs')"
        )
    if actual.size == 0:
        return
    tolerance = tolerance_for(expected.dtype)
    if tolerance is None:
        _assert_exact(actual, expected, name)
        return
    tolerance = Tolerance(
        rtol=tolerance.rtol if rtol is None else rtol,
        atol_scale=tolerance.atol_scale if atol_scale is None else atol_scale,
    )
    _assert_within(actual, expected, name, tolerance, spread)


def error_bound(
    expected: np.ndarray, tolerance: Tolerance, spread: np.ndarray | None = None
) -> np.ndarray:
    """The largest error allowed at each element of ``expected`` (float64, shaped like it).

    ``rtol * |expected| + atol_scale * max(max|expected|, max(spread, median(spread)) / u)``;
    without a spread, the bound relative to the scale of the whole array. The median guards
    the arrays whose outputs mostly cancel (all of them are then at the precision of their
    terms, and one element's few samples may by chance all agree); a single element whose
    samples jump (a tie broken the other way) cannot move it.
    """
    e = np.abs(np.asarray(expected, dtype=np.float64))
    finite = np.where(np.isfinite(e), e, 0.0)
    scale = float(np.max(finite, initial=0.0))
    terms = np.full(e.shape, scale)
    if spread is not None and np.shape(spread) == e.shape and e.size:
        spread = np.asarray(spread, np.float64)
        typical = float(np.median(spread))  # where most outputs cancel, all may
        terms = np.maximum(terms, np.maximum(spread, typical) / unit_roundoff(expected.dtype))
    return tolerance.rtol * e + tolerance.atol_scale * terms


def _assert_exact(actual: np.ndarray, expected: np.ndarray, name: str) -> None:
    mismatch = actual != expected
    if not mismatch.any():
        return
    first = tuple(int(i) for i in np.argwhere(mismatch)[0])
    where = f"{int(mismatch.sum())} of {mismatch.size} elements differ; first at index {first}"
    raise ComparisonError(
        f"{name}: {where}: expected {expected[first]!r}, got {actual[first]!r}",
        redacted=f"{_described(name, actual)}: {where}, where yours is {_own(actual[first])}",
    )


def _assert_within(
    actual: np.ndarray,
    expected: np.ndarray,
    name: str,
    tolerance: Tolerance,
    spread: np.ndarray | None,
) -> None:
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    finite_actual = np.isfinite(a)
    if not finite_actual.all() and np.isfinite(e).all():
        first = tuple(int(i) for i in np.argwhere(~finite_actual)[0])
        where = f"{int((~finite_actual).sum())} of {a.size} elements are NaN or inf"
        raise ComparisonError(
            f"{name}: {where}; first at index {first}",
            redacted=f"{_described(name, actual)}: {where}; first at index {first}",
        )
    bound = error_bound(expected, tolerance, spread)
    with np.errstate(invalid="ignore"):
        error = np.abs(a - e)
    same_nonfinite = ~np.isfinite(e) & (np.isnan(a) & np.isnan(e) | (a == e))
    if _observers:
        counted = np.where(same_nonfinite, 0.0, error)
        notify_observers(name, counted, bound, error_bound(expected, tolerance))
    # where the right value is NaN or inf, only the same value is right (a finite number's
    # error there compares false with any bound, so it must be counted here)
    bad = ((error > bound) | ~np.isfinite(e)) & ~same_nonfinite
    if not bad.any():
        return
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    scale = float(np.max(np.abs(np.where(np.isfinite(e), e, 0.0)), initial=0.0))
    max_abs = float(np.max(np.where(same_nonfinite, 0.0, error)))
    max_rel = max_abs / scale if scale > 0 else float("inf")
    want, got = format_pair(expected[first], actual[first])
    count = (
        f"{int(bad.sum())} of {bad.size} elements differ beyond tolerance "
        f"(rtol={tolerance.rtol:g}, atol={tolerance.atol_scale:g} * scale of the terms); "
    )
    first_error, allowed = float(error[first]), float(bound[first])
    raise ComparisonError(
        f"{name}: {count}max abs error {max_abs:.3e}, max error relative to max|expected| "
        f"{max_rel:.3e}; first mismatch at index {first}: expected {want}, got {got} "
        f"(error {first_error:.3e}, allowed {allowed:.3e})",
        redacted=f"{_described(name, actual)}: {count}max abs error {_rounded(max_abs)}, "
        f"max error relative to "
        f"max|expected| {_rounded(max_rel)}; first mismatch at index {first}, where yours is "
        f"{_own(actual[first])} (error {_rounded(first_error)}, allowed {_rounded(allowed)})",
    )


def format_pair(expected: Any, actual: Any) -> tuple[str, str]:
    """Both numbers with the fewest significant digits (at least 6) that tell them apart, up
    to the digits their dtype holds: never ``expected 0.983143, got 0.983143``."""
    e, a = float(expected), float(actual)
    dtype = np.asarray(expected).dtype
    most = 9 if dtype == np.float32 else 17
    if e == a or not (np.isfinite(e) and np.isfinite(a)):
        return f"{e:.6g}", f"{a:.6g}"
    for digits in range(6, most + 1):
        want, got = f"{e:#.{digits}g}", f"{a:#.{digits}g}"
        if want != got:
            break
    return want, got


def scalar_error_bound(expected: Any, tolerance: Tolerance, spread: Any = None) -> float:
    """The largest error allowed for a scalar: ``(rtol + atol_scale) * max(|expected|, 1)``,
    or ``atol_scale * spread / u`` where the scalar cancels larger terms."""
    bound = (tolerance.rtol + tolerance.atol_scale) * max(abs(float(expected)), 1.0)
    if spread is not None:
        terms = float(np.max(spread, initial=0.0)) / unit_roundoff(np.asarray(expected).dtype)
        bound = max(bound, tolerance.atol_scale * terms)
    return bound


def assert_scalar_close(actual: Any, expected: Any, name: str = "loss") -> None:
    """Assert that a scalar result (a loss) matches ``expected`` in dtype and value.

    ``actual`` may be a NumPy scalar or a 0-d array (what ``x.mean()`` gives on NumPy and on
    CuPy) of the expected dtype, or a Python float where float64 is expected. The tolerance is
    the dtype's ``(rtol + atol_scale) * max(|expected|, 1)``, widened by the expected value's
    spread as in :func:`assert_close`: a loss near 0 is compared at the scale of a typical
    loss, and a loss that cancels large terms at the scale of those terms.
    """
    spread = spread_of(expected)
    expected = np.asarray(expected)
    if expected.ndim != 0:
        raise ValueError(f"assert_scalar_close compares scalars, got expected {expected.shape}")
    if type(actual) is float and expected.dtype == np.float64:
        actual = np.float64(actual)
    if type(actual) is np.ndarray and actual.ndim == 0:
        actual = actual[()]
    if not isinstance(actual, np.floating | np.integer):
        raise ComparisonError(
            f"{name}: expected a scalar of dtype {expected.dtype} (a NumPy scalar or a 0-d "
            f"array), got {describe_array(actual)}"
        )
    if actual.dtype != expected.dtype:
        raise ComparisonError(
            f"{name}: expected dtype {expected.dtype}, got dtype {actual.dtype} "
            f"(return the loss in the dtype of the inputs)"
        )
    tolerance = tolerance_for(expected.dtype)
    a, e = float(actual), float(expected)
    if tolerance is None:
        if a != e:
            raise ComparisonError(
                f"{name}: expected {e!r}, got {a!r}",
                redacted=f"{name} ({actual.dtype}): yours is {_own(actual)}, which is not the "
                f"expected value",
            )
        return
    want, got = format_pair(expected, actual)
    if not np.isfinite(a) and np.isfinite(e):
        raise ComparisonError(
            f"{name}: expected {want}, got {a} (NaN or inf)",
            redacted=f"{name} ({actual.dtype}): got {a} (NaN or inf) where a finite value is "
            f"expected",
        )
    bound = scalar_error_bound(expected, tolerance, spread)
    if _observers and not (a == e or (np.isnan(a) and np.isnan(e))):
        notify_observers(name, abs(a - e), bound, scalar_error_bound(expected, tolerance))
    if not abs(a - e) <= bound:
        raise ComparisonError(
            f"{name}: expected {want}, got {got} (error {abs(a - e):.3e}, allowed {bound:.1e})",
            redacted=f"{name} ({actual.dtype}): yours is {_own(actual)}, which differs from the "
            f"expected value (error {_rounded(abs(a - e))}, allowed {_rounded(bound)})",
        )


def assert_tuple_of_ints(value: Any, what: str, length: int | None = None) -> None:
    """Fail unless ``value`` is a tuple of ints (NumPy integers count, bools do not), of
    ``length`` of them if given: what a docstring promises for a shape or a pair, where a list
    holding the same numbers would pass a comparison of the numbers alone."""
    count = "two ints" if length == 2 else "ints"
    if not isinstance(value, tuple):
        raise AssertionError(f"{what} must be a tuple of {count}, got {type(value).__name__}")
    if (length is not None and len(value) != length) or not all(
        hasattr(v, "__index__") and not isinstance(v, bool) for v in value
    ):
        raise AssertionError(f"{what} must be a tuple of {count}, got {value!r}")
