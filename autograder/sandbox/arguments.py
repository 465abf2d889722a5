"""TRUSTED (the grader's side): the argument memory file, and the verdict on changed inputs.

The arrays of a request do not go through the request pipe: the grader writes them into a
memory file it shares with the child (``memfd_create``, passed at spawn) and the request says
where each one lies (``[offset, length]``). The worker's arguments are views of that memory,
so after a call answered the grader reads the bytes back itself (:func:`changed_call`): a
call that modified an input in place is seen by the grader, whatever the child says or
whatever student code did to the worker's own check.
"""

from __future__ import annotations

import os
from typing import Any

from autograder.sandbox.protocol import Child

ARGUMENT_RING_BYTES = 16 << 20
"""The argument memory requests go through before they start again at its beginning."""


def place_arguments(child: Child, blobs: list[Any]) -> list[list[int]]:
    """Write a request's arrays into the child's argument memory; their ``[offset, length]``.

    The worker's arrays are views of this memory, so what a call does to its inputs the grader
    reads back itself (:func:`changed_call`): that verdict is not the child's word. Reads and
    writes go through the file, never a mapping, so a child that shrinks the file costs the
    grader no signal, only its own call (the bytes read back differ). Requests follow one
    another through ``ARGUMENT_RING_BYTES`` (then start again at 0), so an input a student's
    module keeps a reference to keeps its values for many calls.
    """
    total = sum(-(-len(blob) // 64) * 64 for blob in blobs)  # each array 64-byte aligned
    start = child.arguments_next
    if start + total > ARGUMENT_RING_BYTES:
        start = 0
    regions = []
    offset = start
    for blob in blobs:
        regions.append([offset, len(blob)])
        offset += -(-len(blob) // 64) * 64
    child.arguments_next = offset
    if offset > child.arguments_size:  # never shrinks: the worker's views stay mapped
        os.ftruncate(child.arguments, offset)
        child.arguments_size = offset
    for (at, _), blob in zip(regions, blobs, strict=True):
        view = memoryview(blob)
        while view:
            written = os.pwrite(child.arguments, view, at)
            view, at = view[written:], at + written
    return regions


def changed_call(
    child: Child | None,
    regions: list[list[int]],
    blobs: list[Any],
    checks: list[list[tuple[int, str]]],
) -> tuple[int, str] | None:
    """The first call (index, label of the argument) whose argument memory no longer holds
    what the grader wrote there; None when every call's inputs are as they were sent.

    ``checks`` holds, per call, the blobs of its arguments (their index in ``blobs`` and
    ``regions``), each with its label (``argument 0``, ``cache['x']``)."""
    if child is None or child.arguments < 0:
        return None
    for call, blob_labels in enumerate(checks):
        for index, label in blob_labels:
            start, length = regions[index]
            try:
                now = os.pread(child.arguments, length, start)
            except OSError:
                return call, label
            if now != blobs[index]:
                return call, label
    return None


def blob_labels(tree: Any, where: str = "") -> list[str]:
    """For each array of a wire tree, in blob order, where it sits in the value: ``""`` for
    the value itself, ``"[0]"``, ``"['w']"`` inside."""
    if type(tree) is not dict:
        return []
    ((tag, body),) = tree.items()
    if tag in ("A", "S"):
        return [where]
    labels: list[str] = []
    items = body.items() if tag == "D" else enumerate(body)
    for key, item in items:
        labels += blob_labels(item, f"{where}[{key!r}]")
    return labels


def argument_labels(tree: Any) -> list[str]:
    """For each array of one call's ``(args, kwargs)`` tree, in blob order: ``argument 0``,
    ``argument 1[0]``, ``w``, ``cache['x']``."""
    positional, keywords = tree["T"][0]["T"], tree["T"][1]["D"]
    labels = []
    for index, item in enumerate(positional):
        labels += [f"argument {index}{label}" for label in blob_labels(item)]
    for key, item in keywords.items():
        labels += [f"{key}{label}" for label in blob_labels(item)]
    return labels
