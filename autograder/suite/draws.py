"""Whether two randomly initialised weights were drawn from the same random numbers.

A seeded initializer draws ``U(-b, b)`` as ``b * (2 u - 1)`` from its generator's uniform
numbers ``u``, so two weights drawn with the same seed (whatever their shapes and bounds) start
with the same values over their bounds; weights of different seeds agree in none of them.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: How many leading values are compared (the smallest weight of a suite has more).
COMPARED = 100


def shared_draw(weights: Mapping[str, np.ndarray], bounds: Mapping[str, float]) -> str | None:
    """Two of ``weights`` (labelled arrays, any shapes) whose first values over their bounds
    agree, as ``"<label> and <label>"``; ``None`` where every weight has draws of its own.

    Args:
        weights: label -> array drawn from ``U(-b, b)`` (NumPy, any dtype, at least one value).
        bounds: label -> the ``b`` of that array's distribution, for every label of ``weights``.
    """
    units = {
        label: np.asarray(value, np.float64).ravel()[:COMPARED] / bounds[label]
        for label, value in weights.items()
    }
    labels = list(units)
    for index, first in enumerate(labels):
        for second in labels[index + 1 :]:
            length = min(units[first].size, units[second].size)
            if np.allclose(units[first][:length], units[second][:length], rtol=0.0, atol=1e-5):
                return f"{first} and {second}"
    return None
