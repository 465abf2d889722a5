"""Numeric gradients by central differences, for checking a backward pass without a reference."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from autograder.suite.compare import ComparisonError, notify_observers
from autograder.suite.student import map_batched

POINTS_PER_BATCH = 128
"""At most this many perturbed copies of ``x`` are built (and their calls batched) at once."""


def numeric_gradient(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-6
) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x`` by central differences.

    Args:
        f: a function of one array; called with perturbed copies of ``x``, never ``x`` itself.
            When it calls a student function (``lambda v: student.conv_forward(v, w, b)``),
            those calls go to the sandbox in batches (see
            :func:`autograder.suite.student.map_batched`).
        x: float64 array of any shape (float32 is too coarse for finite differences).
        dout: upstream gradient, shaped like ``f(x)``.
        h: step size.

    Returns:
        float64 array shaped like ``x``: ``(L(x + h e_i) - L(x - h e_i)) / (2h)`` for each
        element ``i``, where ``L(z) = sum(f(z) * dout)``. Costs ``2 * x.size`` calls of ``f``.
    """
    x = np.array(x, dtype=np.float64)
    return numeric_gradient_at(f, x, dout, np.arange(x.size), h).reshape(x.shape)


def numeric_gradient_at(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    dout: np.ndarray,
    indices: np.ndarray,
    h: float = 1e-6,
) -> np.ndarray:
    """Like :func:`numeric_gradient`, at the flat positions ``indices`` of ``x`` only.

    Returns:
        float64 array shaped like ``indices``: the gradient at ``x.flat[indices]``. Costs
        ``2 * len(indices)`` calls of ``f``, in the order ``x + h e_i``, ``x - h e_i`` for each
        ``i`` in turn.
    """
    plus, minus, _, _ = _shifted_losses(f, x, dout, indices, h)
    return (plus - minus) / (2 * h)


def _shifted_losses(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    dout: np.ndarray,
    indices: np.ndarray,
    h: float,
    center: bool = False,
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """``L(x + h e_i)`` and ``L(x - h e_i)`` for each flat position ``i`` in ``indices``, and
    with ``center`` ``L(x)`` and the size of its terms ``sum |f(x) * dout|`` too (its call goes
    first, in the first batch; else NaN)."""
    x = np.array(x, dtype=np.float64)
    dout = np.asarray(dout, dtype=np.float64)
    flat = x.reshape(-1)
    plus, minus = np.zeros(len(indices)), np.zeros(len(indices))
    middle = magnitude = float("nan")
    step = max(1, POINTS_PER_BATCH // 2)
    for start in range(0, len(indices), step):
        points = [x.copy()] if center and start == 0 else []
        first = len(points)
        for i in indices[start : start + step]:
            original = flat[i]
            flat[i] = original + h
            points.append(x.copy())
            flat[i] = original - h
            points.append(x.copy())
            flat[i] = original
        outputs = map_batched(f, points)
        if first:
            terms = np.asarray(outputs[0], dtype=np.float64) * dout
            middle, magnitude = float(np.sum(terms)), float(np.sum(np.abs(terms)))
        for k in range((len(points) - first) // 2):
            plus[start + k] = float(np.sum(np.asarray(outputs[first + 2 * k]) * dout))
            minus[start + k] = float(np.sum(np.asarray(outputs[first + 2 * k + 1]) * dout))
    return plus, minus, middle, magnitude


ROUNDOFF_FACTOR = 16.0
"""The central difference's rounding error is taken as this many float64 epsilons of the size
of the loss's terms ``sum |f(x) * dout|``, divided by ``h``: a sum of many terms rounds at that
size, so a small gradient of a large loss is known no better than that."""

KINK_SLOPE_CHANGE = 1e-3
"""A position where the slopes on its two sides differ by more than this (relative to the
gradient's scale) sits on a kink of ``f`` (a ReLU at 0, a tie in a max): central differences
there measure neither side's gradient, so the position is not checked."""

KINK_RETRY_DIVISOR = 64.0
"""A position found on a kink is measured again with a step this many times smaller: a real
kink near ``x`` is then rarely straddled, while a forward that jumps everywhere still jumps."""

MAX_KINK_SHARE = 0.25
"""A check fails when more than this share of its positions sit on kinks: ``f`` is then not
differentiable where it should be."""


def assert_gradient_close(
    analytic: object,
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    dout: np.ndarray,
    name: str = "gradient",
    *,
    samples: int | None = 24,
    rtol: float = 1e-6,
    atol_scale: float = 1e-6,
    h: float = 1e-6,
) -> None:
    """Check an analytic gradient against central differences of ``f`` at sampled positions.

    Args:
        analytic: the gradient of ``sum(f(x) * dout)`` with respect to ``x`` to check; must be
            a numpy.ndarray with the shape and dtype of ``x``.
        f, x, dout, h: as in :func:`numeric_gradient`.
        samples: how many positions of ``x`` to check (all of them if ``None`` or if ``x`` has
            fewer). Positions are drawn without replacement, always including the first and
            last element, from a generator seeded by ``x``'s shape, so a run is repeatable.
        rtol, atol_scale: tolerance, relative to each sampled value and to the largest one;
            the numeric gradient's own rounding error (:data:`ROUNDOFF_FACTOR`) is added.

    A position within ``h`` of a kink of ``f`` (its slopes on the two sides differ by more than
    :data:`KINK_SLOPE_CHANGE` of the gradient's scale) is not compared: central differences
    there measure neither side's gradient, so a correct gradient would fail by the luck of
    where ``x`` fell. Such a position is measured again with a step ``KINK_RETRY_DIVISOR``
    times smaller, and compared if the kink is then out of reach. Costs one call of ``f`` more
    than :func:`numeric_gradient_at`, and two per position found on a kink.

    Raises:
        ComparisonError: naming the first position (as an index into ``x``) where they differ;
            its ``redacted`` message leaves out the numeric gradient there.
    """
    x = np.asarray(x)
    _check_type(analytic, x, name)
    indices = _sampled_positions(x, samples)
    measured = _numeric_off_kinks(f, x, dout, indices, h)
    kinks = int(measured.kink.sum())
    if kinks > MAX_KINK_SHARE * len(indices):
        raise ComparisonError(
            f"{name}: the forward pass changes its slope abruptly at {kinks} of "
            f"{len(indices)} checked positions, so its gradient cannot be checked there; a "
            f"forward pass should be smooth almost everywhere"
        )
    _compare(analytic, measured, name, x.shape, indices, rtol, atol_scale)


def _check_type(analytic: object, x: np.ndarray, name: str) -> None:
    """Raise :class:`ComparisonError` unless ``analytic`` is a numpy.ndarray with the shape
    and dtype of ``x``."""
    if type(analytic) is not np.ndarray or analytic.shape != x.shape:
        shape = getattr(analytic, "shape", None)
        raise ComparisonError(
            f"{name}: expected a numpy.ndarray of shape {x.shape}, got "
            f"{type(analytic).__name__} of shape {shape}"
        )
    if analytic.dtype != x.dtype:
        raise ComparisonError(f"{name}: expected dtype {x.dtype}, got dtype {analytic.dtype}")


def _sampled_positions(x: np.ndarray, samples: int | None) -> np.ndarray:
    """The sorted flat positions of ``x`` to check: all of them if ``samples`` is None or not
    fewer than ``x.size``; else the first, the last and ``samples - 2`` others drawn without
    replacement from a generator seeded by ``x``'s shape."""
    if samples is None or x.size <= samples:
        return np.arange(x.size)
    generator = np.random.default_rng(list(x.shape))
    inner = generator.choice(np.arange(1, x.size - 1), size=samples - 2, replace=False)
    return np.sort(np.concatenate([[0, x.size - 1], inner]))


class _Measured(NamedTuple):
    """The numeric gradient at the checked positions, as :func:`_numeric_off_kinks` measured
    it."""

    numeric: np.ndarray
    """The gradient at each position."""
    steps: np.ndarray
    """The step each position was measured with (``h``, or smaller after a kink)."""
    kink: np.ndarray
    """Whether each position is still on a kink (not compared)."""
    scale: float
    """The largest ``|numeric|`` of the first measurement."""
    magnitude: float
    """The size of the loss's terms ``sum |f(x) * dout|``."""


def _numeric_off_kinks(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    dout: np.ndarray,
    indices: np.ndarray,
    h: float,
) -> _Measured:
    """The numeric gradient at ``indices``, measured again with a step ``KINK_RETRY_DIVISOR``
    times smaller where a kink is within ``h`` (see :func:`assert_gradient_close`)."""
    plus, minus, center, magnitude = _shifted_losses(f, x, dout, indices, h, center=True)
    steps = np.full(len(indices), float(h))
    numeric = (plus - minus) / (2 * h)
    scale = float(np.max(np.abs(numeric), initial=0.0))
    threshold = KINK_SLOPE_CHANGE * max(scale, 1e-12)
    kink = np.abs((plus - center) - (center - minus)) / h > threshold
    if kink.any():  # a kink within h of x is rarely within h / KINK_RETRY_DIVISOR of it
        small = h / KINK_RETRY_DIVISOR
        plus2, minus2, _, _ = _shifted_losses(f, x, dout, indices[kink], small)
        steps[kink] = small
        numeric[kink] = (plus2 - minus2) / (2 * small)
        kink[kink] = np.abs((plus2 - center) - (center - minus2)) / small > threshold
    return _Measured(numeric, steps, kink, scale, magnitude)


def _compare(
    analytic: np.ndarray,
    measured: _Measured,
    name: str,
    shape: tuple[int, ...],
    indices: np.ndarray,
    rtol: float,
    atol_scale: float,
) -> None:
    """Compare ``analytic`` at the flat positions ``indices`` with the numeric gradient
    ``measured`` there (positions on a kink pass), within the tolerance of
    :func:`assert_gradient_close`; tell the observers (:func:`notify_observers`).

    Raises:
        ComparisonError: naming the first position that differs, as an index into an array
            of ``shape``; its ``redacted`` message leaves out the numeric gradient there.
    """
    numeric = measured.numeric
    sampled = np.asarray(analytic, dtype=np.float64).reshape(-1)[indices]
    error = np.where(measured.kink, 0.0, np.abs(sampled - numeric))
    # The numeric gradient's own error: L(x +- h e_i) round at the size of their terms.
    roundoff = ROUNDOFF_FACTOR * np.finfo(np.float64).eps * measured.magnitude / measured.steps
    bound = atol_scale * measured.scale + rtol * np.abs(numeric) + np.nan_to_num(roundoff)
    notify_observers(name, error, bound, bound)
    bad = ~(error <= bound)  # NaN counts as bad
    if not bad.any():
        return
    first = int(np.argmax(bad))
    position = tuple(int(i) for i in np.unravel_index(int(indices[first]), shape))
    where = (
        f"{name}: differs from the numeric gradient at {int(bad.sum())} of {len(indices)} "
        f"checked positions (rtol={rtol:g}, atol={atol_scale:g} * max|numeric|); first at "
        f"{name}[{position}]"
    )
    raise ComparisonError(
        f"{where}: numeric {numeric[first]:.6g}, yours {sampled[first]:.6g}",
        redacted=f"{where}, where yours is {sampled[first]:.6g} (error "
        f"{float(error[first]):.1e}, allowed {float(bound[first]):.1e})",
    )
