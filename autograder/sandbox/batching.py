"""TRUSTED (the grader's side): the calls of ``Sandbox.call_many``, as batch requests.

Each argument of each call is encoded once (:func:`encode_calls`; an object one call passes
twice is sent once for it), and the calls go in requests of at most ``MAX_BATCH_CALLS`` calls
and ``MAX_BATCH_BYTES`` of arguments (:func:`next_request`), each within the wire format's
bounds on values and JSON text (:func:`weigh` counts them without writing the JSON). A
request joins the blobs of its values into one list (:func:`join`, :func:`shift_blobs`) and
says, per call, which of them are its arguments (the grader checks each call's inputs in
the memory that call got).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from autograder.sandbox import wire
from autograder.sandbox.arguments import blob_labels

MAX_BATCH_CALLS = 128
"""Most calls in one batch request (``call_many`` sends longer lists as several requests)."""
MAX_BATCH_BYTES = 64 << 20
"""Most argument bytes in one batch request (a request holds at least one call)."""

Calls = list[tuple[list[int], dict[str, int]]]
"""Calls as the indices of their arguments among the values (positional, keywords)."""


@dataclass
class Encoded:
    """One argument value of a batch, encoded: its tree and blobs, and what they weigh."""

    tree: Any
    blobs: list[bytearray]
    nodes: int
    size: int
    text: int  # at least the length of the tree as JSON


def encode_calls(
    calls: Sequence[tuple[tuple[Any, ...] | list[Any], dict[str, Any] | None]],
) -> tuple[list[Encoded], Calls]:
    """Each argument of each call encoded (an object one call passes twice is sent once for
    it; an object several calls pass is sent to each: the grader checks each call's arguments
    in the memory that call got), and each call as the indices of its arguments among them."""
    values: list[Encoded] = []
    index_of: dict[int, int] = {}  # id() of an argument object -> its index in values
    refs: Calls = []
    alive: list[Any] = []

    def ref(value: Any, where: str) -> int:
        index = index_of.get(id(value))
        if index is None:
            alive.append(value)  # its id() stays its own until the batch is encoded
            try:
                tree, blobs = wire.encode(value, max_bytes=1 << 62)
            except wire.WireError as error:
                raise wire.WireError(f"{where}: {error}") from None
            nodes, text = weigh(tree)
            index = index_of[id(value)] = len(values)
            values.append(Encoded(tree, blobs, nodes, sum(len(b) for b in blobs), text))
        return index

    for number, (args, kwargs) in enumerate(calls):
        index_of.clear()
        keywords = {} if kwargs is None else kwargs
        for key in keywords:
            if type(key) is not str:
                raise wire.WireError(f"call {number}: keyword {key!r} is not a str")
        where = f"call {number}, argument"
        positional = [ref(value, f"{where} {i}") for i, value in enumerate(args)]
        named = {key: ref(value, f"{where} {key}") for key, value in keywords.items()}
        refs.append((positional, named))
    return values, refs


def next_request(values: list[Encoded], refs: Calls, done: int) -> tuple[list[Encoded], Calls]:
    """The next request of a batch whose first ``done`` calls have their results: the values
    it carries and its calls (as indices among those values); at least one call."""
    chunk: Calls = []
    used: dict[int, int] = {}  # index in values -> index in this request's values
    nodes = size = text = 0
    for args, kwargs in refs[done : done + MAX_BATCH_CALLS]:
        new = [i for i in dict.fromkeys([*args, *kwargs.values()]) if i not in used]
        nodes += sum(values[i].nodes for i in new)
        size += sum(values[i].size for i in new)
        text += sum(values[i].text for i in new) + 16 * (len(args) + 2)
        text += sum(6 * len(key) + 16 for key in kwargs)
        full = nodes >= wire.MAX_NODES or size > MAX_BATCH_BYTES
        if chunk and (full or text > wire.MAX_JSON // 2):
            break
        for i in new:
            used[i] = len(used)
        chunk.append(([used[i] for i in args], {k: used[i] for k, i in kwargs.items()}))
    return [values[i] for i in used], chunk


def join(
    values: list[Encoded], calls: Calls
) -> tuple[list[Any], list[bytearray], list[list[tuple[int, str]]]]:
    """One request's values as trees over one list of blobs, that list, and per call the blobs
    of its arguments, each with its label (``argument 0``, ``w['b']``: see
    :func:`autograder.sandbox.arguments.changed_call`)."""
    trees: list[Any] = []
    blobs: list[bytearray] = []
    labels: list[str] = []
    owned: list[list[int]] = []  # the blobs of each value
    for value in values:
        trees.append(shift_blobs(value.tree, len(blobs)))
        owned.append(list(range(len(blobs), len(blobs) + len(value.blobs))))
        labels.extend(blob_labels(value.tree))
        blobs.extend(value.blobs)
    checks = [  # per call: the blobs of its arguments, each with its label
        [
            (b, f"argument {place}{labels[b]}" if type(place) is int else place + labels[b])
            for place, v in [*enumerate(positional), *keywords.items()]
            for b in owned[v]
        ]
        for positional, keywords in calls
    ]
    return trees, blobs, checks


def weigh(tree: Any) -> tuple[int, int]:
    """How many values a wire tree holds (as ``wire.decode`` counts them), and a bound on the
    length of its JSON text."""
    kind = type(tree)
    if kind is str:
        return 1, 6 * len(tree) + 2
    if kind is int:
        return 1, tree.bit_length() // 3 + 2
    if kind is not dict:
        return 1, 32
    ((tag, body),) = tree.items()
    nodes, text = 1, 8
    if tag == "D":
        for key, item in body.items():
            count, length = weigh(item)
            nodes, text = nodes + count, text + length + 6 * len(key) + 4
    elif tag in ("L", "T"):
        for item in body:
            count, length = weigh(item)
            nodes, text = nodes + count, text + length + 1
    else:
        text += 24
    return nodes, text


def shift_blobs(tree: Any, offset: int) -> Any:
    """A wire tree whose array references point ``offset`` blobs further (batches join the
    blobs of their calls into one list)."""
    if not offset or type(tree) is not dict:
        return tree
    ((tag, body),) = tree.items()
    if tag in ("A", "S"):
        return {tag: body + offset}
    if tag == "D":
        return {"D": {key: shift_blobs(item, offset) for key, item in body.items()}}
    return {tag: [shift_blobs(item, offset) for item in body]}
