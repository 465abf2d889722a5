"""BOTH SIDES: the words of a failed call, the same wherever student code runs.

The sandbox's child (which loads this file by path, registered as ``_autograder_messages``,
before any student code runs) and the portable runner, which imports the submission into the
test process on a student's own machine (:mod:`autograder.suite.in_process`), word a student's
exception, a missing function and an unusable result with these functions, so a student sees
the same feedback from ``autograder check`` on any platform as from the grader. Self-contained:
the standard library only.
"""

from __future__ import annotations

import traceback

MAX_MESSAGE_CHARS = 4000
RESULT_ADVICE = "return numpy arrays, tuples, lists, dicts or numbers"


def clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text``, cut to ``limit`` characters with a mark where it was cut."""
    return text if len(text) <= limit else text[: limit - 20] + "\n[... cut ...]"


def describe_error(
    error: BaseException, prefix: str, code_dir: str, scratch_bytes: int | None = None
) -> str:
    """``prefix ValueError: message`` plus the traceback lines from the student's files (those
    under ``code_dir``, named relative to it). ``scratch_bytes``: the size of a bounded scratch
    folder, named when the error is a full disk."""
    code_dir = code_dir.rstrip("/\\") + ("\\" if "\\" in code_dir and "/" not in code_dir else "/")
    try:
        text = str(error)
    except BaseException:
        text = "<the exception's message could not be shown>"
    name = type(error).__name__
    lines = [f"{prefix} {name}: {clip(text, 1500)}" if text else f"{prefix} {name}"]
    if isinstance(error, OSError) and error.errno == 28 and scratch_bytes is not None:
        lines.append(
            f"(the scratch folder, the only writable place, holds at most "
            f"{scratch_bytes / 1048576:g} MiB, and it is full)"
        )
    try:
        lines += _your_frames(error, code_dir)
    except BaseException:  # a message without traceback is still useful
        pass
    return clip("\n".join(lines))


def _your_frames(error: BaseException, code_dir: str) -> list[str]:
    """The traceback lines of ``error`` that lie in the student's files."""
    lines = []
    frames = [
        f for f in traceback.extract_tb(error.__traceback__) if f.filename.startswith(code_dir)
    ]
    if frames:
        lines.append("Traceback (your code, most recent call last):")
        for frame in frames[-20:]:
            where = frame.filename[len(code_dir) :]
            lines.append(f'  File "{where}", line {frame.lineno}, in {frame.name}')
            if frame.line:
                lines.append(f"    {frame.line}")
    if isinstance(error, SyntaxError) and error.filename:
        where = str(error.filename).replace(code_dir, "")
        lines.append(f'  File "{where}", line {error.lineno}')
        if error.text:
            lines.append(f"    {error.text.strip()}")
    return lines


def missing_function(module: str, function_name: str) -> str:
    """The message of a call of a function the student's module does not define."""
    return (
        f"{module}.py has no function {function_name}(); "
        f"keep the names and signatures of the template"
    )


def bad_result(function_name: str, result: object, detail: str) -> str:
    """The message of a result that is not plain data (``detail``: the wire format's why)."""
    if detail.startswith("value is a "):
        return f"{function_name} returned a {type(result)!r}; {RESULT_ADVICE}"
    if detail.startswith("value"):
        detail = "result" + detail[len("value") :]
    return f"{function_name} returned an unusable value: {detail}; {RESULT_ADVICE}"


def modified_input(function_name: str, label: str, change: str = "") -> str:
    """The message of a call that left its input ``label`` changed (``change``: how, for a dict
    or list whose items it added, removed or replaced)."""
    how = f" ({change})" if change else ""
    return (
        f"{function_name}() modified its input {label} in place{how}; functions must leave "
        f"their inputs unchanged (work on copies, return new dicts and lists)"
    )


def container_change(before: list, container: dict | list) -> str:
    """How the dict or list ``container`` differs from ``before``, the items it held before the
    call (``list(d.items())`` of a dict, ``list(l)`` of a list); "" when it holds the very same
    objects. An item replaced by an equal one counts: the caller's container still changed."""
    if isinstance(container, dict):
        old = dict(before)
        added = [key for key in container if key not in old]
        removed = [key for key in old if key not in container]
        if added or removed:
            parts = [f"it gained the keys {_keys(added)}"] if added else []
            parts += [f"it lost the keys {_keys(removed)}"] if removed else []
            return "; ".join(parts)
        replaced = [key for key, item in old.items() if container[key] is not item]
        return f"the values of {_keys(replaced)} were replaced" if replaced else ""
    if len(container) != len(before):
        return f"its length changed from {len(before)} to {len(container)}"
    replaced = [str(i) for i, item in enumerate(before) if container[i] is not item]
    return f"the items {', '.join(replaced[:5])} were replaced" if replaced else ""


def _keys(keys: list) -> str:
    """The first five ``keys``, as a student wrote them."""
    shown = ", ".join(repr(key) for key in keys[:5])
    return shown + (f" and {len(keys) - 5} more" if len(keys) > 5 else "")


def device_failure(function_name: str, violation: str, described: str, discipline: bool) -> str:
    """The message of a call that raised (``described``) after breaking device discipline
    (``violation``); ``discipline``: the exception is the simulator's own refusal."""
    if discipline:
        return described
    return f"{function_name}: {violation}\n(then) {described}"
