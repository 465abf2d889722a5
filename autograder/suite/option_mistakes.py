"""The mistakes any function's arguments allow, without a catalogue: an option left out of the
computation (as if it were 0 or 1), hard-wired to its default, or a flag read the other way;
an array argument used where another one of its shape belongs (``running_mean`` for
``running_var``, ``dout`` for ``x``).

For each keyword option of the reference function that the call gives a number or a bool
(``eps``, ``margin``, ``momentum``, ``label_smoothing``, ``padding``, ``training``, ...), and
each array argument another argument could stand in for, :func:`option_mistakes` re-runs the
reference with that change and offers the output, item by item of a tuple result, as a
mistake the hints engine
(:mod:`autograder.suite.hints`) may name. The engine names one only where it changes the
call's output, the submission returned exactly it, and no other call of the test refutes it;
the hint says which argument and which value, never a reference value.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from autograder.suite.outputs import output_names

NEUTRAL = (0, 1)
"""The values an option left out of a formula acts as (an ``eps`` or a decay dropped: 0; a
margin or a temperature hard-wired: 1)."""


@dataclass(frozen=True)
class OptionMistake:
    """One change to a call's arguments, and the output the reference gives with it."""

    function: str
    changed: str
    """The argument the mistake changes (``eps``)."""
    change: str
    """The arguments as the mistake used them: ``eps=0.0 instead of this call's eps``."""
    advice: str
    """What to check: ``check that eps enters your computation, where it belongs``."""
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
        return " is what " + self.function + " returns with " + self.change + ": " + self.advice


def option_mistakes(
    function: Callable[..., Any], arguments: dict[str, Any]
) -> Iterator[OptionMistake]:
    """The option and argument mistakes of a call of the reference ``function``
    (``arguments`` bound by name, defaults filled in); one per change and result item."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return
    names = output_names(function)
    for changes, change, advice in _changes(parameters, arguments):
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")  # eps=0 may divide by 0: a NaN, no noise
                output = function(**(arguments | changes))
        except Exception:  # the reference refuses the change: no mistake to suspect
            continue
        (changed,) = changes
        for mistake in items_of(function.__name__, change, advice, output, names):
            yield replace(mistake, changed=changed)


def sibling_mistakes(
    function: Callable[..., Any], arguments: dict[str, Any]
) -> Iterator[OptionMistake]:
    """Another function of the same module called with this call's arguments (by name): the
    code of a sibling copied (instance norm's backward where group norm's belongs)."""
    module = inspect.getmodule(function)
    if module is None:
        return
    names = output_names(function)
    for name, sibling in vars(module).items():
        if name.startswith("_") or name == function.__name__ or not inspect.isfunction(sibling):
            continue
        if sibling.__module__ != function.__module__:
            continue  # a layer imported from another assignment is not a sibling
        try:
            parameters = inspect.signature(sibling).parameters
        except (TypeError, ValueError):
            continue
        required = [p for p, v in parameters.items() if v.default is inspect.Parameter.empty]
        if not required or any(p not in arguments for p in required):
            continue
        given = {p: arguments[p] for p in parameters if p in arguments}
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                output = sibling(**given)
        except Exception:  # the sibling refuses these arguments
            continue
        change = "this call's arguments"
        advice = "check what " + function.__name__ + " computes that " + name + " does not"
        for mistake in items_of(name, change, advice, output, names):
            yield replace(mistake, changed="")


def _changes(
    parameters: Mapping[str, inspect.Parameter], arguments: dict[str, Any]
) -> Iterator[tuple[dict[str, Any], str, str]]:
    """Each mistaken change of the arguments, with its words: an option at a wrong value,
    then an array argument given another one of its shape and dtype (``running_mean`` where
    ``running_var`` belongs: a slip of the variable's name)."""
    for option, parameter in parameters.items():
        if option not in arguments:
            continue
        value = arguments[option]
        required = parameter.default is inspect.Parameter.empty
        if required and (isinstance(value, bool) or not isinstance(value, int | float)):
            continue  # a required number (a seed, a rate) may be left out too: 0 or 1
        for wrong in wrong_values(value, None if required else parameter.default):
            if isinstance(wrong, bool):
                change = option + "=" + str(wrong) + ", the other way round from this call"
                advice = "check how " + option + " switches your computation"
            else:
                change = option + "=" + repr(wrong) + _pair_words(value, wrong)
                change += " instead of this call's " + option
                advice = "check that " + option + " enters your computation, where it belongs"
            yield {option: wrong}, change, advice
    arrays = [(k, v) for k, v in arguments.items() if type(v) is np.ndarray and v.size > 1]
    substituted = 0
    for name, other, replacement in _stand_ins(arrays):
        yield {name: replacement}, other + " instead of " + name, _which(name)
        substituted += 1
    for argument, value in arguments.items():
        if not isinstance(value, dict):
            continue
        entries = [(k, v) for k, v in value.items() if type(v) is np.ndarray and v.size > 1]
        for key, other, replacement in _stand_ins(entries):
            if substituted >= MAX_SUBSTITUTIONS:
                return
            name = argument + "[" + repr(key) + "]"
            change = argument + "[" + repr(other) + "] instead of " + name
            yield {argument: {**value, key: replacement}}, change, _which(name)
            substituted += 1


MAX_SUBSTITUTIONS = 48
"""At most this many arrays used in the place of others per call (each one re-runs the
reference; a dict of many same-shaped parameters has many pairs)."""


def _stand_ins(arrays: list[tuple[Any, np.ndarray]]) -> Iterator[tuple[Any, Any, np.ndarray]]:
    """``(name, other, other's array)`` for each array that another of its shape and dtype
    (and other values) could stand in for."""
    for name, value in arrays:
        for other, replacement in arrays:
            if other == name or replacement.shape != value.shape:
                continue
            if replacement.dtype != value.dtype or np.array_equal(replacement, value):
                continue
            yield name, other, replacement


def _which(name: str) -> str:
    return "check which array you use where " + name + " belongs"


def wrong_values(value: Any, default: Any) -> list[Any]:
    """The values a call's option may have been used as by mistake: a flag's other value; for
    a number, its default and the neutral 0 and 1 (those it does not have)."""
    if isinstance(value, bool):
        return [not value]
    if _int_pair(value):  # a (height, width) pair: one of its numbers for both, or swapped
        first, second = value
        return [type(value)(pair) for pair in ((first, first), (second, second), (second, first))]
    if not isinstance(value, int | float) or isinstance(default, str):
        return []
    found: list[Any] = []
    numeric_default = isinstance(default, int | float) and not isinstance(default, bool)
    for candidate in ((default,) if numeric_default else ()) + NEUTRAL:
        candidate = type(value)(candidate)
        if candidate != value and candidate not in found:
            found.append(candidate)
    return found


def _pair_words(value: Any, wrong: Any) -> str:
    """`` (its first number for both axes)`` for a pair read as one of its numbers, or
    swapped."""
    if not _int_pair(value):
        return ""
    if tuple(wrong) == (value[1], value[0]):
        return " (its numbers swapped)"
    which = "first" if wrong[0] == value[0] else "second"
    return " (its " + which + " number for both axes)"


def _int_pair(value: Any) -> bool:
    """A pair of two different ints (``stride=(2, 3)``, ``kernel_size=(2, 3)``)."""
    return (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and value[0] != value[1]
    )


def items_of(
    function: str, change: str, advice: str, output: Any, names: tuple[str, ...]
) -> Iterator[OptionMistake]:
    """The mistake for the whole result, or for each item of a tuple result."""
    if not isinstance(output, tuple):
        yield OptionMistake(function, "", change, advice, "", (), output)
        return
    labels = names if len(names) == len(output) and all(names) else ()
    for index, item in enumerate(output):
        if labels:
            label = labels[index]
        elif isinstance(item, dict) and item:  # a state: named by its keys
            label = ", ".join(str(key) for key in item)
        else:
            label = "result[" + str(index) + "]"
        yield OptionMistake(function, "", change, advice, label, (index,), item)


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
