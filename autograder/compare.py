"""Compare a submission's output with the expected one, with messages that teach.

Tolerances are stated per dtype and are relative to the scale of the expected array, because
elementwise relative error is meaningless where outputs sit near zero:

    |actual - expected| <= atol_scale * max|expected| + rtol * |expected|   (elementwise)

=========  ==========  ============  ====================================================
dtype      rtol        atol_scale    why
=========  ==========  ============  ====================================================
float64    1e-10       1e-10         correct float64 code differs by <= 2.2e-14 normwise
float32    1e-4        1e-5          correct float32 code differs by <= 1.3e-6 normwise
integer    exact       exact         indices (max-pool switches) must match exactly
=========  ==========  ============  ====================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """Elementwise bound ``atol_scale * max|expected| + rtol * |expected|``."""

    rtol: float
    atol_scale: float


TOLERANCES: dict[np.dtype, Tolerance] = {
    np.dtype(np.float64): Tolerance(rtol=1e-10, atol_scale=1e-10),
    np.dtype(np.float32): Tolerance(rtol=1e-4, atol_scale=1e-5),
}


def tolerance_for(dtype: np.dtype) -> Tolerance | None:
    """Return the tolerance for a floating dtype, or None for dtypes compared exactly."""
    return TOLERANCES.get(np.dtype(dtype))


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
        expected: the expected array; its dtype is the dtype ``actual`` must have.
        name: what is being compared, used in the message (for example ``"dx"``).
        rtol, atol_scale: override the dtype's tolerance (see the module docstring).

    Raises:
        AssertionError: with the expected and received shape/dtype, the largest absolute and
            relative errors, where the first mismatch occurs and how many elements differ.
    """
    expected = np.asarray(expected)
    if type(actual) is not np.ndarray:
        raise AssertionError(
            f"{name}: expected a numpy.ndarray {expected.dtype} {expected.shape}, "
            f"got {describe_array(actual)}"
        )
    if actual.shape != expected.shape:
        raise AssertionError(f"{name}: expected shape {expected.shape}, got shape {actual.shape}")
    if actual.dtype != expected.dtype:
        raise AssertionError(
            f"{name}: expected dtype {expected.dtype}, got dtype {actual.dtype} "
            f"(return arrays in the dtype of the inputs)"
        )
    if actual.size == 0:
        return
    tolerance = tolerance_for(expected.dtype)
    if tolerance is None:
        _assert_exact(actual, expected, name)
        return
    rtol = tolerance.rtol if rtol is None else rtol
    atol_scale = tolerance.atol_scale if atol_scale is None else atol_scale
    _assert_within(actual, expected, name, rtol=rtol, atol_scale=atol_scale)


def _assert_exact(actual: np.ndarray, expected: np.ndarray, name: str) -> None:
    mismatch = actual != expected
    if not mismatch.any():
        return
    first = tuple(int(i) for i in np.argwhere(mismatch)[0])
    raise AssertionError(
        f"{name}: {int(mismatch.sum())} of {mismatch.size} elements differ; first at index "
        f"{first}: expected {expected[first]!r}, got {actual[first]!r}"
    )


def _assert_within(
    actual: np.ndarray, expected: np.ndarray, name: str, *, rtol: float, atol_scale: float
) -> None:
    a = actual.astype(np.float64)
    e = expected.astype(np.float64)
    finite_actual = np.isfinite(a)
    if not finite_actual.all() and np.isfinite(e).all():
        first = tuple(int(i) for i in np.argwhere(~finite_actual)[0])
        raise AssertionError(
            f"{name}: {int((~finite_actual).sum())} of {a.size} elements are NaN or inf; "
            f"first at index {first}"
        )
    scale = float(np.max(np.abs(e), initial=0.0))
    bound = atol_scale * scale + rtol * np.abs(e)
    with np.errstate(invalid="ignore"):
        error = np.abs(a - e)
    same_nonfinite = ~np.isfinite(e) & (np.isnan(a) & np.isnan(e) | (a == e))
    bad = (error > bound) & ~same_nonfinite
    if not bad.any():
        return
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    max_abs = float(np.max(np.where(same_nonfinite, 0.0, error)))
    max_rel = max_abs / scale if scale > 0 else float("inf")
    raise AssertionError(
        f"{name}: {int(bad.sum())} of {bad.size} elements differ beyond tolerance "
        f"(rtol={rtol:g}, atol={atol_scale:g} * max|expected|); "
        f"max abs error {max_abs:.3e}, max error relative to max|expected| {max_rel:.3e}; "
        f"first mismatch at index {first}: expected {e[first]:.6g}, got {a[first]:.6g}"
    )


def assert_scalar_close(actual: Any, expected: Any, name: str = "loss") -> None:
    """Assert that a scalar result (a loss) matches ``expected`` in dtype and value.

    ``actual`` may be a NumPy scalar or a 0-d array (what ``x.mean()`` gives on NumPy and on
    CuPy) of the expected dtype, or a Python float where float64 is expected. The tolerance is
    the dtype's, relative to ``max(|expected|, 1)``: a loss near 0 is compared at the scale of
    a typical loss.
    """
    expected = np.asarray(expected)
    if expected.ndim != 0:
        raise ValueError(f"assert_scalar_close compares scalars, got expected {expected.shape}")
    if type(actual) is float and expected.dtype == np.float64:
        actual = np.float64(actual)
    if type(actual) is np.ndarray and actual.ndim == 0:
        actual = actual[()]
    if not isinstance(actual, np.floating | np.integer):
        raise AssertionError(
            f"{name}: expected a scalar of dtype {expected.dtype} (a NumPy scalar or a 0-d "
            f"array), got {describe_array(actual)}"
        )
    if actual.dtype != expected.dtype:
        raise AssertionError(
            f"{name}: expected dtype {expected.dtype}, got dtype {actual.dtype} "
            f"(return the loss in the dtype of the inputs)"
        )
    tolerance = tolerance_for(expected.dtype)
    a, e = float(actual), float(expected)
    if tolerance is None:
        if a != e:
            raise AssertionError(f"{name}: expected {e!r}, got {a!r}")
        return
    if not np.isfinite(a) and np.isfinite(e):
        raise AssertionError(f"{name}: expected {e:.10g}, got {a} (NaN or inf)")
    bound = (tolerance.rtol + tolerance.atol_scale) * max(abs(e), 1.0)
    if not abs(a - e) <= bound:
        raise AssertionError(
            f"{name}: expected {e:.10g}, got {a:.10g} (error {abs(a - e):.3e}, allowed {bound:.1e})"
        )
