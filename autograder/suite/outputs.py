"""The names of a student function's result items, for feedback: ``dx``, ``dw`` and ``db`` of
``conv_backward``'s tuple, as its reference's docstring names them (``Returns: ``(dx, dw,
db)``: ...``), and a dict's items by key."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any


def named_items(result: Any, names: tuple[str, ...]) -> list[tuple[str, Any]]:
    """The items of a result, named: ``[("", out)]`` for one array; ``dx``, ``dw``, ... for a
    tuple (``result[1]`` where the docstring names none); a dict's items by key, one level
    down too (``grads['w1']``)."""
    if isinstance(result, dict):
        return [(str(key), value) for key, value in result.items()]
    if not isinstance(result, tuple | list):
        return [("", result)]
    labels = names if len(names) == len(result) else ()
    items = []
    for index, item in enumerate(result):
        label = labels[index] if labels else f"result[{index}]"
        if isinstance(item, dict):
            items += [(f"{label}[{key!r}]" if label else str(key), v) for key, v in item.items()]
        else:
            items.append((label or f"result[{index}]", item))
    return items


_RETURNS = re.compile(r"Returns:\s*``\((.+?)\)``", re.DOTALL)


def output_names(function: Callable[..., Any]) -> tuple[str, ...]:
    """The names a function's docstring gives the items of its tuple result: ``("dx", "dw",
    "db")`` for ``Returns: ``(dx, dw, db)``: ...``; ``""`` for a dict item (``(w_new,
    {"velocity": v})``: its keys name its items); ``()`` where it names none."""
    match = _RETURNS.search(inspect.getdoc(function) or "")
    if match is None:
        return ()
    names = []
    for item in _top_level_items(match.group(1)):
        if item.startswith("{"):
            names.append("")
        elif item.isidentifier():
            names.append(item)
        else:
            return ()
    return tuple(names)


def _top_level_items(text: str) -> list[str]:
    """``a, {"k": 1, "j": 2}, b`` split at its top-level commas, stripped."""
    items, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += char in "([{"
        depth -= char in ")]}"
        if char == "," and depth == 0:
            items.append(text[start:index].strip())
            start = index + 1
    return [*items, text[start:].strip()]
