"""UNTRUSTED side (runs in the sandbox's child, never imported by the grader): the worker,
which runs the student's functions.

Loaded by path by ``untrusted_child.py`` (registered as ``_autograder_untrusted_worker``)
before any student code runs; the server forks each worker and calls :func:`_work`. The worker
reads the grader's requests itself (one round trip per call, no fork), decodes the arguments
as views of the argument memory file (:func:`_shared_blobs`), runs each call
(:func:`_worker`), and writes one frame per call on the result pipe: the result, or how the
call failed. Its own check of the inputs only words a message: the grader reads the argument
memory back itself and decides (``autograder.sandbox.arguments``), so rebinding this module's
names (``_label_arguments``, the ``snapshots`` of a call) gains a submission nothing.
"""

from __future__ import annotations

import inspect
import mmap
import os
import resource

import _autograder_messages as _messages
from _autograder_untrusted_common import (
    MARK,
    _clip,
    _describe_error,
    _flush_stdio,
    _os_exit,
    _os_getpid,
    _read_frame,
    _write_all,
    _write_chunks,
)
from _autograder_untrusted_devices import _backend, _device_message, _wrong_device


def _work(config, wire, module, req_fd: int, resp_fd: int, mark) -> None:
    """The worker: serve the grader's calls, one after another, until ``end``.

    RLIMIT_CPU is set once: it bounds the CPU time of all the calls this worker serves (until
    the grader resets the sandbox), not of each call.
    """
    cpu = config["cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    me = _os_getpid()
    while True:
        try:
            payload = _read_frame(req_fd, mark)
        except (EOFError, OSError):  # the grader is gone (or sent garbage): end
            return
        header, blobs = wire.unpack_message(payload, max_bytes=1 << 62)
        del payload
        seq = header.get("seq")
        if type(seq) is not int:
            return
        MARK.pack_into(mark, 0, seq)
        if header.get("op") not in ("call", "batch"):  # "end": the server sweeps up and reports
            return
        _serve_request(config, wire, module, header, blobs, resp_fd, me)
        del header, blobs


def _serve_request(config, wire, module, header: dict, blobs, resp_fd: int, me: int) -> None:
    """One ``call`` or ``batch`` request: its calls run in order, each answered as it ends,
    until one fails or (a batch) the results sent reach the result limit (``stopped``)."""
    seq = header["seq"]
    batch = header.get("op") == "batch"
    try:
        calls = _request_calls(wire, header, blobs, batch)
    except Exception as error:  # report, never die
        _send_refusal(wire, resp_fd, seq, batch, str(error), flush=True)
        return
    del blobs
    function_name = header["function"]
    try:
        backend = _backend(header.get("backend", "numpy"), config)
    except BaseException as error:  # report, never die
        message = f"the {header.get('backend')!r} backend cannot run here: {error!r}"
        _send_refusal(wire, resp_fd, seq, batch, message, flush=False)
        return
    budget, sent = config["result_bytes"], 0
    signature = [None, None]  # (function, its signature): looked up once per batch
    for index, args in enumerate(calls):
        place = index if batch else None
        size = _worker(
            config,
            wire,
            module,
            function_name,
            args(),
            seq,
            resp_fd,
            me,
            place,
            signature,
            backend,
        )
        if size < 0:  # it failed: the calls after it do not run
            break
        sent += size
        if batch and sent >= budget and index + 1 < len(calls):
            # the grader holds the results of a batch until it ends: send the rest later
            stopped = {"event": "stopped", "seq": seq, "index": index + 1}
            _write_all(resp_fd, wire.message_frame(stopped))
            break


def _request_calls(wire, header: dict, blobs, batch: bool) -> list:
    """The calls of a request, each a function giving its ``(args, kwargs)``: the arguments
    decoded as views of the argument memory the request names."""
    shared = _shared_blobs(header.get("shared")) + list(blobs)
    if batch:
        tree = {"L": header["values"]}
        values = wire.decode(tree, shared, max_bytes=1 << 62, copy=False)
        return _batch_calls(header["calls"], values)
    decoded = wire.decode(header["args"], shared, max_bytes=1 << 62, copy=False)
    return [lambda decoded=decoded: decoded]


def _send_refusal(wire, resp_fd: int, seq: int, batch: bool, message: str, flush: bool) -> None:
    """A request none of whose calls can run (its arguments, its backend): ``crashed``."""
    failed = {"event": "failed", "seq": seq, "kind": "crashed", "message": message}
    if batch:
        failed["index"] = 0
    if flush:
        _flush_stdio()
    _write_all(resp_fd, wire.message_frame(failed))


_arguments_fd = -1
"""The memory file the grader writes each request's arrays into (see the module docstring)."""
_arguments_map = None


def _use_argument_memory(fd: int) -> None:
    """The argument memory file is ``fd`` (set by the outer process, before any student code)."""
    global _arguments_fd
    _arguments_fd = fd


def _shared_blobs(regions) -> list:
    """The ``[offset, length]`` regions of the argument memory a request names, as views."""
    global _arguments_map
    if type(regions) is not list:
        raise ValueError("a request without the place of its arguments")
    end = 0
    for region in regions:
        if type(region) is not list or len(region) != 2 or any(type(n) is not int for n in region):
            raise ValueError("a request names its arguments' place wrongly")
        if region[0] < 0 or region[1] < 0:
            raise ValueError("a request names its arguments' place wrongly")
        end = max(end, region[0] + region[1])
    if not end:
        return [b"" for _ in regions]
    if _arguments_map is None or len(_arguments_map) < end:
        size = os.fstat(_arguments_fd).st_size
        if size < end:
            raise ValueError("the argument memory is smaller than the request says")
        _arguments_map = mmap.mmap(_arguments_fd, size)  # the old one lives while viewed
    view = memoryview(_arguments_map)
    return [view[start : start + length] for start, length in regions]


def _batch_calls(calls, values) -> list:
    """The calls of a batch request, each a function giving its (args, kwargs) afresh: an
    argument value that several calls share is copied for each, so no call sees what another
    did to it (as if each had been sent on its own)."""
    if type(calls) is not list or not calls:
        raise ValueError("a batch without calls")
    uses = [0] * len(values)
    for call in calls:
        if type(call) is not list or len(call) != 2:
            raise ValueError("a batch call is not [args, kwargs]")
        positional, keywords = call
        if type(positional) is not list or type(keywords) is not dict:
            raise ValueError("a batch call is not [args, kwargs]")
        for index in [*positional, *keywords.values()]:
            if type(index) is not int or not 0 <= index < len(values):
                raise ValueError("a batch call refers to a value it does not carry")
            uses[index] += 1

    def take(index: int):
        return values[index] if uses[index] == 1 else _fresh(values[index])

    def make(positional, keywords):
        return lambda: (
            tuple(take(i) for i in positional),
            {key: take(i) for key, i in keywords.items()},
        )

    return [make(positional, keywords) for positional, keywords in calls]


def _fresh(value):
    """A copy of a decoded wire value that shares nothing mutable with it."""
    import numpy as np

    kind = type(value)
    if kind is np.ndarray:
        return np.array(value, copy=True, order="K")
    if kind is list:
        return [_fresh(item) for item in value]
    if kind is tuple:
        return tuple(_fresh(item) for item in value)
    if kind is dict:
        return {key: _fresh(item) for key, item in value.items()}
    return value


def _worker(
    config,
    wire,
    module,
    function_name: str,
    args,
    seq: int,
    resp_fd: int,
    me: int,
    index=None,
    signature=None,
    backend=None,
) -> int:
    """One call: run it, check the inputs, send the result or the failure (one frame).

    ``index`` is the call's place in a batch (sent with its answer), None for a single call;
    ``signature`` a ``[function, signature]`` pair the calls of a batch share (see
    ``_label_arguments``); ``backend`` the backend's ``Arrays`` (``core/backends.py``): where
    the arrays go before the call and how the result comes back. Returns the size of the
    result's message, or -1 when the call failed. Longer than 60 lines with its signature: the
    steps around the student's call (arguments snapshotted and moved, the call, a forked
    process stopped) read in order here, and the checks after it are the helpers below.
    """
    positional, keywords = args
    tag = {"seq": seq} if index is None else {"seq": seq, "index": index}

    def fail(kind: str, message: str) -> int:
        _send(wire, resp_fd, {"event": "failed", "kind": kind, "message": _clip(message)}, tag)
        return -1

    function = getattr(module, function_name, None)
    if not callable(function):
        return fail("missing_function", _messages.missing_function(config["module"], function_name))
    snapshots = [
        (label, array, array.shape, array.dtype, array.tobytes())
        for label, array in _label_arguments(function, positional, keywords, signature)
    ]
    on_device: dict = {}
    try:
        positional = backend.put(positional, on_device)
        keywords = backend.put(keywords, on_device)
    except BaseException as error:
        return fail(
            "crashed", f"the arguments could not be moved to the {backend.place}: {error!r}"
        )
    containers = [
        (label, container, _contents(container))
        for label, container in _label_arguments(
            function, positional, keywords, signature, _containers_in
        )
    ]
    backend.before_call()
    try:
        result = function(*positional, **keywords)
        backend.synchronize()
    except BaseException as error:  # SystemExit, KeyboardInterrupt included
        if _os_getpid() != me:  # a process the student forked: it must not answer or serve
            _os_exit(0)
        return fail(*_raised(function_name, error, backend, config))
    if _os_getpid() != me:
        _os_exit(0)
    problem = _inputs_problem(function_name, snapshots, containers, on_device, backend)
    if problem is not None:
        return fail(*problem)
    answer = _encoded_result(config, wire, function_name, result, backend)
    del result, snapshots, containers
    if answer[0] == "failed":
        return fail(answer[1], answer[2])
    return _send(wire, resp_fd, {"event": "result", "value": answer[1]}, tag, answer[2])


def _send(wire, resp_fd: int, header: dict, tag: dict, blobs=()) -> int:
    """Write one answer frame (``header`` with the call's ``tag``); the size of its message."""
    _flush_stdio()
    chunks = wire.pack_message({**header, **tag}, list(blobs))
    _write_chunks(resp_fd, wire.frame(chunks))
    return sum(len(chunk) for chunk in chunks)


def _raised(function_name: str, error: BaseException, backend, config) -> tuple[str, str]:
    """The kind and message of a call that raised ``error`` (``device`` when the backend saw
    the device discipline broken on the way)."""
    if backend.violation() is not None:
        return "device", _device_message(function_name, backend.violation(), error, config)
    return "exception", _describe_error(error, f"{function_name} raised", config)


def _inputs_problem(function_name: str, snapshots, containers, on_device: dict, backend):
    """After a call returned: the kind and message of what it did wrong to the device or to its
    inputs (as the ``snapshots`` of their arrays and the ``containers``, their dicts and lists
    with the items each held, taken before it show them); None when nothing.

    Only this process sees the dicts and lists the call was given (the grader keeps its own),
    so their check is this module's word alone: a submission that silences it gains what
    copying the dict would have given it, and nothing more."""
    if backend.violation() is not None:
        return "device", f"{function_name}: {backend.violation()}"
    for label, array, shape, dtype, before in snapshots:
        try:
            array = backend.host_copy(on_device.get(id(array), array))
        except BaseException as error:
            return "crashed", f"reading {label} back from the {backend.place} failed: {error!r}"
        if array.shape != shape or array.dtype != dtype or array.tobytes() != before:
            return (
                "modified_input",
                _messages.modified_input(function_name, label),
            )
    for label, container, before in containers:
        change = _messages.container_change(before, container)
        if change:
            return "modified_input", _messages.modified_input(function_name, label, change)
    return None


def _encoded_result(config, wire, function_name: str, result, backend) -> tuple:
    """``("result", tree, blobs)``: the call's result read back to the host and encoded; or
    ``("failed", kind, message)`` when it cannot be (a wrong device, not a wire value)."""
    try:
        result = backend.result_on_host(result, function_name)
    except BaseException as error:
        if isinstance(error, _wrong_device()):
            return "failed", "device", str(error)
        return "failed", "crashed", f"reading {function_name}'s result back failed: {error!r}"
    try:
        tree, blobs = wire.encode(result, max_bytes=config["result_bytes"])
    except wire.WireError as error:
        return "failed", "bad_result", _messages.bad_result(function_name, result, str(error))
    return "result", tree, blobs


def _label_arguments(function, args, kwargs, cache=None, found=None):
    """Every ndarray among the arguments (inside dicts, lists and tuples too), with a label;
    with ``found`` (:func:`_containers_in`), what it yields instead.

    ``cache``: a ``[function, signature]`` pair that keeps the last function's signature (the
    calls of a batch look it up once). Whatever the signature, every argument is among those
    bound, so the labels may be off but no array is missed.
    """
    try:
        if cache is not None and cache[0] is function:
            signature = cache[1]
        else:
            signature = inspect.signature(function)
            if cache is not None:
                cache[:] = [function, signature]
        bound = signature.bind(*args, **kwargs).arguments
    except (TypeError, ValueError):
        bound = {f"argument {i}": a for i, a in enumerate(args)} | kwargs
    for name, value in bound.items():
        yield from (found or _arrays_in)(value, name)


def _containers_in(value, label: str):
    """Every dict and list in ``value`` (itself, and inside dicts, lists and tuples), with a
    label."""
    kind = type(value)
    if kind is dict:
        yield label, value
        for key, item in value.items():
            yield from _containers_in(item, f"{label}[{key!r}]")
    elif kind is list or kind is tuple:
        if kind is list:
            yield label, value
        for index, item in enumerate(value):
            yield from _containers_in(item, f"{label}[{index}]")


def _contents(container) -> list:
    """The items a dict or list holds now (a dict's ``(key, value)`` pairs)."""
    return list(container.items()) if type(container) is dict else list(container)


def _arrays_in(value, label: str):
    import numpy as np

    if type(value) is np.ndarray:
        yield label, value
    elif type(value) is dict:
        for key, item in value.items():
            yield from _arrays_in(item, f"{label}[{key!r}]")
    elif type(value) in (list, tuple):
        for index, item in enumerate(value):
            yield from _arrays_in(item, f"{label}[{index}]")
