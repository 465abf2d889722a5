"""The mistakes a block built from layers allows, without a catalogue: one of its layers left
out, a ReLU added after a layer, a layer called with a wrong option (padding 0, stride 1, the
block's stride where it does not belong), or given the wrong array (``params['gamma1']`` for
bn2's ``gamma``, ``dout`` where the masked gradient belongs, bn1's output where the ReLU's
belongs).

A composite reference (a residual block, an Inception module) calls its layers through its
module's globals (``conv_forward``, ``batchnorm_backward``, ``_relu``). An assignment's hints
file declares them (:class:`Layers`, its ``LAYERS``); :func:`traced` runs the reference with
each declared layer wrapped, recording every call (a :class:`LayerCall`) in order, and
:func:`layer_mistakes` re-runs it with one change at one layer call, offering the output as a
mistake the hints engine (:mod:`autograder.suite.hints`) may name, as it names an option
mistake: only where it changes the call's output, the submission returned exactly it, and no
other call of the test refutes it.

A layer call is named in the student's terms, from its arguments: by the component its
parameter is (``conv1`` for ``params['w1']``, as the hints file names them, else "the
convolution with params['w3r']"), by what feeds it ("the ReLU after bn1"), or by its place
("the last ReLU"); a backward layer by the forward call it undoes ("the backward of conv2").
The words never show a value.
"""

from __future__ import annotations

import contextlib
import inspect
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autograder.suite.option_mistakes import OptionMistake, items_of, wrong_values
from autograder.suite.outputs import output_names

MAX_LAYER_MISTAKES = 400
"""At most this many changed re-runs of the reference per searched call (a block of ten
layers with a dozen arrays of one shape has many pairs)."""


@dataclass(frozen=True)
class Layers:
    """The layers a composite reference module calls, as its assignment's hints file declares
    them (``LAYERS = Layers(...)``)."""

    forward: dict[str, str]
    """Global name of each forward layer in the reference module -> the word for it:
    ``{"conv_forward": "convolution", "_relu": "ReLU"}``."""
    backward: dict[str, str] = field(default_factory=dict)
    """Global name of each backward layer -> the forward layer it undoes:
    ``{"conv_backward": "conv_forward"}``."""
    components: dict[str, str] = field(default_factory=dict)
    """A parameter's key -> the name of the component it belongs to, as the docstring's
    diagram names it: ``{"w1": "conv1", "gamma1": "bn1"}``; a key not named here is
    "the convolution with params['w3r']"."""
    relu: str = ""
    """The forward layer that is a ReLU (for "a ReLU added after conv_proj"); "" for none."""
    blocks: tuple[str, ...] = ()
    """The composite functions whose layers these are (``()``: every function of the module).
    A layer's own implementation is never taken apart: how the reference computes it is not
    the student's."""

    def composes(self, function: str) -> bool:
        return not self.blocks or function in self.blocks


@dataclass
class LayerCall:
    """One call of a layer while the reference ran: which layer, its arguments (bound by
    name, defaults filled in) and what it returned."""

    layer: str
    arguments: dict[str, Any]
    output: Any
    label: str = ""
    source: int | None = None
    """The layer call whose output is this one's input (its place in the trace), if any."""


@dataclass(frozen=True)
class Change:
    """One change at one layer call: its ``key`` (the same in every call of a test where the
    change can be made: words, no values), the words, and how it is made."""

    key: tuple[str, ...]
    change: str
    advice: str
    index: int
    """The layer call it changes (its place in the trace)."""
    make: Callable[[Callable[..., Any], dict[str, Any]], Any]
    """``make(layer, arguments)``: the changed call's output."""
    vanishing_refused: bool = True
    """Whether a change that zeroes the layer's output is refused (all but "dropped")."""
    before: tuple[int, Callable[[Callable[..., Any], dict[str, Any]], Any]] | None = None
    """A second layer call the change also makes, and how (a ReLU moved before the layer
    it followed: that layer's input goes through it, and it is left out where it was)."""


@contextlib.contextmanager
def _wrapped(module: Any, names: list[str], wrap: Callable[[str, Any], Any]) -> Iterator[None]:
    """The module's globals ``names`` replaced by ``wrap(name, original)`` for the block."""
    originals = {name: getattr(module, name) for name in names}
    try:
        for name, original in originals.items():
            setattr(module, name, wrap(name, original))
        yield
    finally:
        for name, original in originals.items():
            setattr(module, name, original)


def _layer_names(module: Any, layers: Layers) -> list[str]:
    declared = list(layers.forward) + list(layers.backward)
    return [name for name in declared if callable(getattr(module, name, None))]


def _bind(function: Callable[..., Any], args: tuple, kwargs: dict) -> dict[str, Any]:
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def traced(
    module: Any, function: Callable[..., Any], arguments: dict[str, Any], layers: Layers
) -> tuple[Any, list[LayerCall]]:
    """The reference's result for ``arguments``, and its layer calls in order, labelled."""
    trace: list[LayerCall] = []

    def wrap(name: str, original: Any) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            output = original(*args, **kwargs)
            trace.append(LayerCall(name, _bind(original, args, kwargs), output))
            return output

        return recorded

    with _wrapped(module, _layer_names(module, layers), wrap), _quiet():
        result = function(**arguments)
    _label(trace, arguments, layers)
    return result, trace


def changed_output(
    module: Any,
    function: Callable[..., Any],
    arguments: dict[str, Any],
    layers: Layers,
    change: Change,
) -> Any:
    """The reference's result for ``arguments`` with ``change`` made at its layer call."""
    count = [0]

    def wrap(name: str, original: Any) -> Any:
        def changed(*args: Any, **kwargs: Any) -> Any:
            index, count[0] = count[0], count[0] + 1
            if change.before is not None and index == change.before[0]:
                return change.before[1](original, _bind(original, args, kwargs))
            if index != change.index:
                return original(*args, **kwargs)
            arguments = _bind(original, args, kwargs)
            output = change.make(original, arguments)
            if change.vanishing_refused and _vanishes(output, original(**arguments)):
                raise _Vanished
            return output

        return changed

    with _wrapped(module, _layer_names(module, layers), wrap), _quiet():
        return function(**arguments)


class _Vanished(Exception):
    """A change that zeroes a layer's output: it stands for every mistake that loses the
    layer's share, so it names none (that loss is named as such: "left out", "dropped")."""


def _vanishes(changed: Any, original: Any) -> bool:
    """Whether the layer's main output (its first array) is all but zero with the change and
    was not without it (a batch norm's backward given its own input as ``dout``, ``gamma``
    given an all-zero array)."""
    changed, original = _arrays(changed)[:1], _arrays(original)[:1]
    if not changed or not original or changed[0].shape != original[0].shape:
        return False
    scale = float(np.max(np.abs(original[0]), initial=0.0))
    size = float(np.max(np.abs(changed[0]), initial=0.0))
    return scale > 0 and size <= 1e-6 * scale


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # a mistaken block may divide by 0: no noise
        yield


# Labels: each layer call in the student's terms.


def _arrays(value: Any) -> list[Any]:
    """The arrays a layer returned (its tuple's items) or was given."""
    items = value if isinstance(value, tuple | list) else (value,)
    return [item for item in items if type(item) is np.ndarray]


def _named_inputs(arguments: dict[str, Any]) -> list[tuple[str, np.ndarray]]:
    """The block call's arrays by name: ``x``, ``dout``, ``params['w1']``."""
    found = []
    for name, value in arguments.items():
        if type(value) is np.ndarray:
            found.append((name, value))
        elif isinstance(value, dict):
            for key, entry in value.items():
                if type(entry) is np.ndarray:
                    found.append((name + "[" + repr(key) + "]", entry))
    return found


def _is_in(array: Any, candidates: list[Any]) -> bool:
    return any(array is candidate for candidate in candidates)


def _label(trace: list[LayerCall], arguments: dict[str, Any], layers: Layers) -> None:
    inputs = _named_inputs(arguments)
    entries = {
        id(value): (name.partition("[")[2].strip("]'\"") or name, name) for name, value in inputs
    }
    forwards = [c for c in trace if c.layer in layers.forward]
    for position, call in enumerate(trace):
        if call.layer in layers.backward:
            call.label = _backward_label(call, trace[:position], layers)
            continue
        word = layers.forward[call.layer]
        given = [v for v in call.arguments.values() if type(v) is np.ndarray]
        # a parameter names its layer (conv1 for params['w1']); the first array is its input
        component = next((entries[id(v)] for v in given[1:] if id(v) in entries), None)
        if component is not None:
            key, name = component
            call.label = layers.components.get(key) or ("the " + word + " with " + name)
            continue
        first = given[0] if given else None
        producer = next(
            (
                p
                for p in reversed(trace[:position])
                if first is not None and _is_in(first, _arrays(p.output))
            ),
            None,
        )
        same = [c for c in forwards if c.layer == call.layer]
        if producer is not None:
            call.source = next(i for i, c in enumerate(trace) if c is producer)
        if producer is not None and producer.label:
            call.label = "the " + word + " after " + producer.label
        elif first is not None and any(first is v for _, v in inputs):
            call.label = "the " + word + " of " + next(n for n, v in inputs if v is first)
        elif call is same[-1] and len(same) > 1:
            call.label = "the last " + word
        else:
            call.label = word + " number " + str(same.index(call) + 1)


def _backward_label(call: LayerCall, before: list[LayerCall], layers: Layers) -> str:
    """ "the backward of conv2": the forward call of its layer sharing most arrays with it."""
    forward = layers.backward[call.layer]
    given = [v for v in call.arguments.values() if type(v) is np.ndarray]
    best, shared = None, 0
    for candidate in before:
        if candidate.layer != forward:
            continue
        arrays = [v for v in candidate.arguments.values() if type(v) is np.ndarray]
        count = sum(_is_in(v, arrays + _arrays(candidate.output)) for v in given)
        if count > shared:
            best, shared = candidate, count
    if best is None:
        return "the " + layers.forward.get(forward, forward) + "'s backward"
    return "the backward of " + best.label


# The changes.


def _changes(
    trace: list[LayerCall], arguments: dict[str, Any], layers: Layers, module: Any
) -> Iterator[Change]:
    """Each change a student may have made at one layer call, in trace order."""
    pool = [(name, value) for name, value in _named_inputs(arguments) if value.size > 1]
    block_options = {
        name: value
        for name, value in arguments.items()
        if isinstance(value, int) and not isinstance(value, bool)
    }
    stand_ins: list[Change] = []
    for index, call in enumerate(trace):
        yield from _left_out(index, call)
        yield from _dropped(index, call, layers, module)
        yield from _moved(index, call, trace, layers, module)
        yield from _relu_added(index, call, layers, module)
        yield from _options(index, call, block_options, module, pool)
        stand_ins += _stand_ins(index, call, pool)
        pool += _outputs(call, module)
    yield from stand_ins  # last: the many pairs of arrays, after the few changes of each layer


def _left_out(index: int, call: LayerCall) -> Iterator[Change]:
    given = [(n, v) for n, v in call.arguments.items() if type(v) is np.ndarray]
    out = call.output
    if not given or type(out) is not np.ndarray or given[0][1].shape != out.shape:
        return
    first = given[0][0]
    yield Change(
        ("left out", call.label),
        call.label + " left out",
        "check that every layer of the diagram is there, in its place",
        index,
        lambda layer, arguments: arguments[first],
    )


def _dropped(index: int, call: LayerCall, layers: Layers, module: Any) -> Iterator[Change]:
    """A backward layer's input gradient (its first result) lost: ``dx = dx_proj`` where
    ``dx = dx_conv1 + dx_proj`` belongs."""
    if call.layer not in layers.backward or not isinstance(call.output, tuple):
        return
    first = call.output[0] if call.output else None
    if type(first) is not np.ndarray:
        return
    names = output_names(getattr(module, call.layer))
    name = names[0] if names and names[0] else "input gradient"

    def make(layer: Any, arguments: dict[str, Any]) -> Any:
        output = layer(**arguments)
        return (np.zeros_like(output[0]), *output[1:])

    yield Change(
        ("dropped", call.label),
        "the " + name + " of " + call.label + " lost (no gradient flows back through it)",
        "check that every path's gradient is added into the gradient of its input",
        index,
        make,
        vanishing_refused=False,
    )


def _moved(
    index: int, call: LayerCall, trace: list[LayerCall], layers: Layers, module: Any
) -> Iterator[Change]:
    """A ReLU applied before the layer it follows (``bn1(relu(conv1(x)))`` where the diagram
    has ``relu(bn1(conv1(x)))``)."""
    relu = getattr(module, layers.relu, None) if layers.relu else None
    if relu is None or call.layer != layers.relu or call.source is None:
        return
    source = trace[call.source]
    if source.layer == layers.relu or source.layer in layers.backward:
        return
    first = next((name for name, v in source.arguments.items() if type(v) is np.ndarray), None)
    if first is None or type(call.output) is not np.ndarray:
        return
    own = next(iter(call.arguments))  # the ReLU's input, as this run computes it

    def through_relu(layer: Any, arguments: dict[str, Any]) -> Any:
        return layer(**(arguments | {first: relu(arguments[first])}))

    yield Change(
        ("moved", call.label),
        call.label + " applied before " + source.label + " instead",
        "check the order of the layers in the diagram",
        index,
        lambda layer, arguments: arguments[own],
        before=(call.source, through_relu),
    )


def _relu_added(index: int, call: LayerCall, layers: Layers, module: Any) -> Iterator[Change]:
    relu = getattr(module, layers.relu, None) if layers.relu else None
    if relu is None or call.layer == layers.relu or call.layer in layers.backward:
        return
    if type(call.output) is not np.ndarray:
        return

    def make(layer: Any, arguments: dict[str, Any]) -> Any:
        return relu(layer(**arguments))

    yield Change(
        ("relu added", call.label),
        "a ReLU after " + call.label,
        "check which layers the diagram follows with a ReLU",
        index,
        make,
    )


def _options(
    index: int,
    call: LayerCall,
    block_options: dict[str, int],
    module: Any,
    inputs: list[tuple[str, np.ndarray]],
) -> Iterator[Change]:
    layer = getattr(module, call.layer)
    for name, parameter in inspect.signature(layer).parameters.items():
        value = call.arguments.get(name)
        optional = parameter.default is None or "None" in str(parameter.annotation)
        if type(value) is np.ndarray and optional and name != next(iter(call.arguments)):
            own = next((label for label, v in inputs if v is value), "")
            left = own + " (its " + name + ")" if own else "its " + name
            yield Change(
                ("without", call.label, name),
                call.label + " without " + left,
                "check that you pass " + (own or name) + " to " + call.label,
                index,
                lambda layer, arguments, name=name: layer(**(arguments | {name: None})),
            )
            continue
        if parameter.default is inspect.Parameter.empty or isinstance(value, str):
            continue
        wrongs = wrong_values(value, parameter.default) if value is not None else []
        if isinstance(value, int) and not isinstance(value, bool):
            for other in block_options.values():
                if other != value and other not in wrongs:
                    wrongs.append(other)
        for wrong in wrongs:
            yield Change(
                ("option", call.label, name, repr(wrong)),
                call.label + " at " + name + "=" + repr(wrong) + " instead of " + repr(value),
                "check the " + name + " you pass to " + call.label,
                index,
                lambda layer, arguments, name=name, wrong=wrong: layer(
                    **(arguments | {name: wrong})
                ),
            )


def _stand_ins(index: int, call: LayerCall, pool: list[tuple[str, np.ndarray]]) -> Iterator[Change]:
    for name, value in call.arguments.items():
        if type(value) is not np.ndarray:
            continue
        own = next((label for label, v in pool if v is value), "")
        for label, other in pool:
            if other is value or other.shape != value.shape or other.dtype != value.dtype:
                continue
            if label == own or np.array_equal(other, value) or not other.any():
                continue
            instead = " instead of " + own if own else ""
            yield Change(
                ("stand-in", call.label, name, label),
                call.label + " given " + label + " as its " + name + instead,
                "check which array you pass to each layer",
                index,
                lambda layer, arguments, name=name, other=other: layer(
                    **(arguments | {name: other})
                ),
            )


def _outputs(call: LayerCall, module: Any) -> list[tuple[str, np.ndarray]]:
    """The arrays a layer call returned that another layer may be given by mistake, by name:
    ``the output of bn1``, ``the dx of the backward of conv2`` (a layer's main output and its
    gradients; not the running statistics a batch norm also returns)."""
    if type(call.output) is np.ndarray:
        return [("the output of " + call.label, call.output)] if call.output.size > 1 else []
    if not isinstance(call.output, tuple):
        return []
    names = output_names(getattr(module, call.layer))
    found = []
    for position, item in enumerate(call.output):
        if type(item) is not np.ndarray or item.size <= 1:
            continue
        name = names[position] if position < len(names) else ""
        if position == 0 and not name.startswith("d"):
            found.append(("the output of " + call.label, item))
        elif name.startswith("d"):
            found.append(("the " + name + " of " + call.label, item))
    return found


# What the hints engine asks.


def _call_changes(
    module: Any, function: Callable[..., Any], arguments: dict[str, Any], layers: Layers
) -> list[Change]:
    """The changes one call of a composite function allows (none for a layer's own code, or
    where the reference refuses the arguments)."""
    if not layers.composes(function.__name__):
        return []
    try:
        _, trace = traced(module, function, arguments, layers)
    except Exception:  # the reference refuses the arguments: no mistake to suspect
        return []
    return list(_changes(trace, arguments, layers, module))


def layer_mistakes(
    module: Any,
    function: Callable[..., Any],
    arguments: dict[str, Any],
    layers: Layers,
    keys: set[tuple[str, ...]] | None = None,
) -> Iterator[tuple[tuple[str, ...], list[OptionMistake]]]:
    """The layer mistakes of one call of the composite reference ``function`` (``arguments``
    bound by name, defaults filled in): ``(key, mistakes)`` per change, one mistake per item
    of the result (the whole result for a single array); only the changes whose key is in
    ``keys`` when given (a test's other calls, checked against those found in its searched
    call), else at most :data:`MAX_LAYER_MISTAKES`."""
    names = output_names(function)
    tried = 0
    for change in _call_changes(module, function, arguments, layers):
        if keys is not None and change.key not in keys:
            continue
        if keys is None and tried >= MAX_LAYER_MISTAKES:
            return
        tried += 1
        try:
            output = changed_output(module, function, arguments, layers, change)
        except Exception:  # the change cannot be made in this call
            continue
        items = items_of(function.__name__, change.change, change.advice, output, names)
        yield change.key, [replace(mistake, changed="") for mistake in items]


def layer_errors(
    module: Any,
    function: Callable[..., Any],
    arguments: dict[str, Any],
    layers: Layers,
    error: str,
) -> list[str]:
    """The layer changes with which the reference raises exactly ``error`` (``ValueError:
    operands could not be broadcast together with shapes (2,8,4,4) (2,8,6,6)``, a student's
    call that failed): their words, ``conv2 at padding=0 instead of 1``."""
    found = []
    for tried, change in enumerate(_call_changes(module, function, arguments, layers)):
        if tried >= MAX_LAYER_MISTAKES:
            break
        try:
            changed_output(module, function, arguments, layers, change)
        except _Vanished:
            continue
        except Exception as raised:  # the change fails as the student's call failed
            if type(raised).__name__ + ": " + str(raised) == error:
                found.append((change.change, change.advice))
    return list(dict.fromkeys(change + ": " + advice for change, advice in found))
