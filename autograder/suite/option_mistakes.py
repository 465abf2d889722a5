"""The mistakes any function's options allow, without a catalogue: an option left out of the
computation (as if it were 0 or 1), hard-wired to its default, or a flag read the other way.

For each keyword option of the reference function that the call gives a number or a bool
(``eps``, ``margin``, ``momentum``, ``label_smoothing``, ``padding``, ``training``, ...),
:func:`option_mistakes` re-runs the reference with the option at each such value and offers
the output, item by item of a tuple result, as a mistake the hints engine
(:mod:`autograder.suite.hints`) may name. The engine names one only where it changes the
call's output, the submission returned exactly it, and no other call of the test refutes it;
the hint says which option and which value, never a reference value.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from autograder.suite.outputs import output_names

NEUTRAL = (0, 1)
"""The values an option left out of a formula acts as (an ``eps`` or a decay dropped: 0; a
margin or a temperature hard-wired: 1)."""


@dataclass(frozen=True)
class OptionMistake:
    """One option at one wrong value, and the output the reference gives with it."""

    function: str
    option: str
    value: Any
    item: str
    """The name of the result item ``output`` stands for ("" for the whole result)."""
    part: tuple[int, ...]
    output: Any

    @property
    def hint(self) -> str:
        return "your " + (self.item or "result") + self.said

    @property
    def said(self) -> str:
        """The hint after the item's name (the same for every item of one mistake)."""
        if isinstance(self.value, bool):
            return (
                " is what "
                + self.function
                + " returns with "
                + self.option
                + "="
                + str(self.value)
                + ", the other way round from this call: check how "
                + self.option
                + " switches your computation"
            )
        return (
            " is what "
            + self.function
            + " returns with "
            + self.option
            + "="
            + repr(self.value)
            + " instead of this call's "
            + self.option
            + ": check that "
            + self.option
            + " enters your computation, where it belongs"
        )


def option_mistakes(
    function: Callable[..., Any], arguments: dict[str, Any]
) -> Iterator[OptionMistake]:
    """The option mistakes of a call of the reference ``function`` (``arguments`` bound by
    name, defaults filled in); one per option, value and result item."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return
    names = output_names(function)
    for option, parameter in parameters.items():
        if parameter.default is inspect.Parameter.empty or option not in arguments:
            continue
        for value in wrong_values(arguments[option], parameter.default):
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")  # eps=0 may divide by 0: a NaN, no noise
                    output = function(**(arguments | {option: value}))
            except Exception:  # the reference refuses the value: no mistake to suspect
                continue
            yield from _items(function.__name__, option, value, output, names)


def wrong_values(value: Any, default: Any) -> list[Any]:
    """The values a call's option may have been used as by mistake: a flag's other value; for
    a number, its default and the neutral 0 and 1 (those it does not have)."""
    if isinstance(value, bool):
        return [not value]
    if not isinstance(value, int | float) or isinstance(default, str):
        return []
    found: list[Any] = []
    numeric_default = isinstance(default, int | float) and not isinstance(default, bool)
    for candidate in ((default,) if numeric_default else ()) + NEUTRAL:
        candidate = type(value)(candidate)
        if candidate != value and candidate not in found:
            found.append(candidate)
    return found


def _items(
    function: str, option: str, value: Any, output: Any, names: tuple[str, ...]
) -> Iterator[OptionMistake]:
    """The mistake for the whole result, or for each item of a tuple result."""
    if not isinstance(output, tuple):
        yield OptionMistake(function, option, value, "", (), output)
        return
    labels = names if len(names) == len(output) and all(names) else ()
    for index, item in enumerate(output):
        label = labels[index] if labels else "result[" + str(index) + "]"
        yield OptionMistake(function, option, value, label, (index,), item)


def merged_hints(mistakes: list[OptionMistake]) -> list[str]:
    """One hint per option and value: the items it explains named together (``your loss and
    dlogits are what ...``)."""
    grouped: dict[str, list[str]] = {}
    for mistake in mistakes:
        grouped.setdefault(mistake.said, []).append(mistake.item or "result")
    hints = []
    for said, items in grouped.items():
        if len(items) == 1:
            hints.append("your " + items[0] + said)
        else:
            listed = ", ".join(items[:-1]) + " and " + items[-1]
            hints.append("your " + listed + said.replace(" is what ", " are what ", 1))
    return hints
