"""Call a submission's functions in a child process: the grader never imports student code.

::

    with Sandbox(folder, ("conv.py",), "conv") as box:
        box.isolation                      # "full" or "partial: <what is missing>"
        y = box.call("conv_forward", (x, w, b), {"stride": 2}, timeout=10)
        ys = box.call_many("conv_forward", [((x1, w, b), {}), ((x2, w, b), {})])  # one round trip
        box.reset()                        # the next call starts from the freshly imported module

``call`` returns the student's return value (decoded from the data-only wire format) or
raises :class:`CallFailed` with a ``kind`` and a message written for the student. Nothing the
child does (garbage on the pipes, dying, hanging, forking, flooding output) can crash or hang
the grader: every read has a deadline, every message is validated, and on any doubt the child
is killed (all of it: process group, pid namespace or uid sweep) and started again for the next
call. A failure of the grader's own environment (no usable ``/dev/null``, a scratch folder that
cannot be written, no process left to start, no student account) raises :class:`GradingError`
instead, with the operating system's error: it is never the submission's failure.

Workers: the child imports the student's module once, in a server process; the first call after
``start`` or ``reset`` forks a worker from it, and later calls go to that same worker (one round
trip, no fork), so module state (globals, caches) carries from call to call as it would in one
process. ``reset()`` ends the worker and kills everything it started (daemons included) before
it returns; the pytest plugin calls it before each test. A call that crashes the worker (exit,
signal) fails and the next call gets a new worker forked from the server. A call that times out
kills its worker (and everything the worker started) and keeps the server: the module is not
imported again, however long its import took; only when the server does not report the
worker's end within ``WORKER_KILL_TIMEOUT`` is the whole child killed. A call that sends
garbage kills the whole child (the next call starts it again and imports anew).
Processes student code leaves running are swept when the worker ends (reset, crash), not after
each call. ``Limits.cpu_seconds`` (RLIMIT_CPU) bounds the CPU time of one worker, i.e. of all
calls between two resets together; the wall-clock timeout of each call is the primary bound.

Batches: ``call_many`` sends many calls of one function in one request (a numeric gradient
check makes dozens). The worker runs them in order exactly as it runs single calls (each call's
arguments its own copies, checked for modification, its result validated) and answers each as
it finishes, so every call keeps its own deadline, and the first failure (exception, crash,
timeout, garbage) is reported as that call's failure (:class:`BatchFailed`: its index and the
results before it); the calls after it never run.

Deadline: ``set_deadline(when, what)`` (a ``time.monotonic()`` value) bounds all student code of
the sandbox, imports included: a call's wait ends there whatever its own timeout, and a call
made after it fails at once (kind ``budget``); the pytest plugin sets it to the grading's time
budget.

Where it lives: this module holds :class:`Sandbox` (its public API, its lifecycle, its
deadline) and the settings tests and callers change (``DEVNULL``, ``SCRATCH_ROOT``, read from
here at each use); the rest is in modules of one job each, all on the grader's side of the
trust line: :mod:`~autograder.sandbox.lifecycle` (a child from its setup report to its end),
:mod:`~autograder.sandbox.calls` (one call or batch request sent and answered),
:mod:`~autograder.sandbox.protocol` (the pipes, frames and output), :mod:`~autograder.sandbox.
spawn` (starting and killing the process), :mod:`~autograder.sandbox.arguments` (the argument
memory file), :mod:`~autograder.sandbox.batching` (``call_many``'s requests) and
:mod:`~autograder.sandbox.failures` (the exceptions and their messages). The child's programs
are the ``untrusted_*.py`` files, run by path (see ``untrusted_child.py``), never imported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from autograder.core import backends
from autograder.sandbox import cgroups, isolation, spawn, wire
from autograder.sandbox.arguments import ARGUMENT_RING_BYTES
from autograder.sandbox.batching import (
    MAX_BATCH_BYTES,
    MAX_BATCH_CALLS,
    encode_calls,
    next_request,
)
from autograder.sandbox.calls import WORKER_KILL_TIMEOUT, CallPath
from autograder.sandbox.failures import CHILD_KINDS, KINDS, BatchFailed, CallFailed, GradingError
from autograder.sandbox.lifecycle import SETUP_TIMEOUT, ChildLifecycle
from autograder.sandbox.limits import Limits, human_bytes
from autograder.sandbox.protocol import MAX_FRAMES, Child, Ledger, Output, arrived, pump
from autograder.sandbox.spawn import (
    CHILD_PROGRAM,
    DEVICESIM_PROGRAM,
    GPU_ENV_PREFIXES,
    KIT_PACKAGE,
    MAX_SOURCE_BYTES,
    PIPE_BYTES,
    WIRE_PROGRAM,
)

__all__ = [
    "ARGUMENT_RING_BYTES",
    "BACKENDS",
    "CHILD_KINDS",
    "CHILD_PROGRAM",
    "DEVICESIM_PROGRAM",
    "DEVNULL",
    "GPU_ENV_PREFIXES",
    "KINDS",
    "KIT_PACKAGE",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_CALLS",
    "MAX_FRAMES",
    "MAX_SOURCE_BYTES",
    "PIPE_BYTES",
    "RESET_TIMEOUT",
    "SCRATCH_ROOT",
    "SETUP_TIMEOUT",
    "WIRE_PROGRAM",
    "WORKER_KILL_TIMEOUT",
    "BatchFailed",
    "CallFailed",
    "GradingError",
    "Sandbox",
]

BACKENDS = backends.BACKENDS
"""Where a call's arrays live (:mod:`autograder.core.backends`): NumPy (host), the strict device
simulator (``gpu=False``), or CuPy on the GPU (``gpu=True``)."""
RESET_TIMEOUT = 10.0
"""How long ``reset`` waits for the worker to end and its leftovers to be killed (the child's
sweep gives up after 5 s); past it the whole child is killed instead."""
DEVNULL = os.devnull
"""The null device given to the child as stdin and the bind source of masked files (a setting
so tests can point it at an unusable path)."""
SCRATCH_ROOT: str | None = None
"""Where the sandboxes' scratch folders are made (None: the system's temporary folder)."""


class Sandbox(CallPath, ChildLifecycle):
    """Student functions run in a child process; see the module docstring.

    Args:
        submission_dir: the folder holding the student's files. Only ``files`` are copied out
            of it (regular files, no links), so nothing else in it is ever importable.
        files: the student file names the assignment needs, e.g. ``("conv.py",)``.
        module: the module holding the graded functions (``"conv"``; ``conv.py`` in ``files``).
        limits: time, memory, process, file and output limits.
        hide: paths student code must not see besides what the allow-list root leaves out
            anyway (the checkout holding ``solutions/`` and the hidden suites, the results
            folder, the class folder): hidden where only a deny-list can be used, and checked
            to be out of reach before any student code runs. The kit's own package is always
            hidden.
        namespaces: use mount/net/pid namespaces when the system allows (as root).
        drop_privileges: when root, run student code as an unprivileged dedicated uid, leased
            from a pool for the life of the sandbox (no other sandbox on the machine runs as it
            meanwhile), with the sandbox's processes in a cgroup of their own where cgroup v2
            allows (see :mod:`autograder.sandbox.cgroups`).
        gpu: calls may use the ``cupy`` backend (CuPy on the GPU). CUDA reserves far more
            address space than it uses, so the memory limit is then RLIMIT_DATA instead of
            RLIMIT_AS, and CuPy's memory pool is capped at ``limits.gpu_memory_bytes``.
            Without it calls may use the ``strict`` backend (the simulator is installed as
            ``cupy`` before the student's module is imported).

    The call path is :class:`~autograder.sandbox.calls.CallPath`'s and keeping the child
    running is :class:`~autograder.sandbox.lifecycle.ChildLifecycle`'s: mixins over the state
    set here.
    """

    def __init__(
        self,
        submission_dir: Path | str,
        files: tuple[str, ...] | list[str],
        module: str,
        limits: Limits = Limits(),  # noqa: B008 - frozen dataclass
        *,
        hide: tuple[Path | str, ...] | list[Path | str] = (),
        namespaces: bool = True,
        drop_privileges: bool = True,
        gpu: bool = False,
    ) -> None:
        files = tuple(files)
        for name in files:
            if not spawn.is_plain_name(name):
                raise ValueError(f"student file names must be plain file names, got {name!r}")
        if not module.isidentifier() or f"{module}.py" not in files:
            raise ValueError(f"module {module!r} must be an identifier with {module}.py in files")
        self.submission_dir = Path(submission_dir)
        self.files = files
        self.module = module
        self.limits = limits
        self.isolation = "partial: the sandbox has not been started"
        self.last_output = ""
        self.import_output = ""
        self._hide = [str(h) for h in hide]
        self._namespaces = namespaces
        self._drop = drop_privileges
        self.gpu = gpu
        self._root = isolation.running_as_root()
        self._environment: str | None = None  # why the grader's environment cannot run us
        self._account: isolation.Account | None = None
        self._lease: isolation.Lease | None = None
        self._cgroup: cgroups.Cgroup | None = None
        self._bounds = "not started"  # why no cgroup bounds the sandbox ("" when one does)
        self._oom_seen = 0
        # bytes of messages the child sent over the sandbox's life
        self._ledger = Ledger(limits.grading_result_bytes)
        self._base: Path | None = None
        self._child: Child | None = None
        self._import_error: str | None = None
        self.deadline: float | None = None
        self._deadline_what = "the sandbox's deadline"
        self._seq = 0
        self._lock = threading.RLock()
        self._closed = False
        self._setup: dict[str, Any] = {}
        self._started = False

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Copy the student's files and start the child (reports ``isolation``)."""
        with self._lock:
            if self._started:
                return
            self._started = True
            if self._environment is not None:
                return
            self._acquire()
            if self._environment is not None:
                return
            try:
                self._prepare_files()
            except OSError as error:
                where = SCRATCH_ROOT or tempfile.gettempdir()
                self._environment = (
                    f"the sandbox's scratch folder could not be prepared in {where}: {error}"
                )
                self.isolation = f"partial: {self._environment}"
                return
            self._spawn()

    def _acquire(self) -> None:
        """As root: lease a uid of the pool (no other sandbox runs as it while this one lives)
        and make this sandbox's cgroup, named after the slot."""
        if not (self._root and self._drop):
            self._bounds = "no cgroup without a uid of the pool"
            return
        try:
            self._lease = isolation.lease_account()
        except isolation.AccountError as error:
            self._environment = str(error)
            self.isolation = f"partial: {error}"
            return
        self._account = self._lease.account
        tasks = self.limits.max_processes + cgroups.EXTRA_TASKS
        memory = self.limits.gpu_data_bytes if self.gpu else self.limits.memory_bytes
        self._cgroup, self._bounds = cgroups.create(f"slot-{self._lease.slot}", memory, tasks)

    def _prepare_files(self) -> None:
        base = Path(tempfile.mkdtemp(prefix="autograder-sandbox-", dir=SCRATCH_ROOT))
        self._base = base
        code = base / "code"
        work = base / "work"
        code.mkdir(mode=0o755)
        work.mkdir(mode=0o700)
        (base / "root").mkdir(mode=0o700)  # the allow-list root is mounted here
        os.chmod(base, 0o711)
        os.chmod(code, 0o755)
        for name in self.files:
            spawn.copy_student_file(self.submission_dir / name, code / name)
        if self._account is not None:
            os.chown(work, self._account.uid, self._account.gid)
        if not (code / f"{self.module}.py").is_file():
            self._import_error = f"{self.module}.py was not found in the submission"

    def _spawn(self) -> None:
        """Start outer + server with this module's settings and read the setup report."""
        assert self._base is not None
        use_ns = self._namespaces and self._root and not isolation.namespaces_known_unavailable()
        config = spawn.child_config(
            base=self._base,
            module=self.module,
            submission_dir=self.submission_dir,
            hide=self._hide,
            scratch_root=SCRATCH_ROOT,
            devnull=DEVNULL,
            account=self._account,
            namespaces=use_ns,
            limits=self.limits,
            gpu=self.gpu,
        )
        self._start_child(config, spawn.child_env(self._base, self.limits, self.gpu), self._base)

    @property
    def uid(self) -> int | None:
        """The uid student code runs as (None: the grader's own, not root or no uid drop)."""
        return None if self._account is None else self._account.uid

    @property
    def environment_error(self) -> str | None:
        """Why the grader's environment could not run this sandbox (None: it could so far)."""
        return self._environment

    def set_deadline(self, when: float | None, what: str = "the sandbox's deadline") -> None:
        """No student code runs past ``when`` (a ``time.monotonic()`` value; None: no bound).

        ``what`` names it in messages: ``"the grading's time budget of 300 s"`` gives
        ``"the grading's time budget of 300 s is spent; conv_forward not run"``.
        """
        with self._lock:
            self.deadline = when
            self._deadline_what = what

    def _check_deadline(self, what: str) -> None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise CallFailed("budget", f"{self._deadline_what} is spent; {what} not run")
        if self._ledger.received >= self.limits.grading_result_bytes:
            budget = human_bytes(self.limits.grading_result_bytes)
            raise CallFailed(
                "budget",
                f"{self.module}.py has sent back more than the grading's budget of {budget} of "
                f"results; {what} not run",
            )

    def _wait_until(self, seconds: float) -> tuple[float, bool]:
        """The deadline of a wait of ``seconds`` from now, and whether the sandbox's deadline
        cuts it short."""
        until = time.monotonic() + seconds
        if self.deadline is not None and self.deadline < until:
            return self.deadline, True
        return until, False

    def close(self) -> None:
        """Kill the child and everything it started; remove the scratch folders."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._teardown()
            if self._cgroup is not None:
                self._cgroup.remove()
                self._cgroup = None
            if self._base is not None:
                shutil.rmtree(self._base, ignore_errors=True)
            if self._lease is not None:  # last: the uid's processes are all gone by now
                self._lease.release()

    def reset(self) -> None:
        """End the current worker: the next call starts from the freshly imported module.

        Kills the worker and every process it started (a ``setsid`` daemon too) before it
        returns. Cheap when no worker runs (nothing was called since the last reset, or the
        last call crashed it); a no-op before ``start`` and after ``close``. When the worker
        does not end in time the whole child is killed (the next call starts it again).
        """
        with self._lock:
            child = self._child
            if self._closed or child is None or not child.worker:
                return
            child.worker = False
            if child.eof or child.broken or child.req_failed:
                self._teardown()
                return
            self._seq += 1
            seq = self._seq
            request = wire.frame(wire.pack_message({"op": "end", "seq": seq}, []))
            output = Output(self.limits.output_bytes)
            until = ("exit|ended", seq)
            deadline = time.monotonic() + RESET_TIMEOUT
            pump(child, output, deadline, request, until=until)
            if not arrived(child, until) or child.broken:
                self._teardown()
                return
            child.frames = []

    def __del__(self) -> None:  # pragma: no cover - best effort for a forgotten close()
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass

    # ------------------------------------------------------------------ calling

    def call(
        self,
        function: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: dict[str, Any] | None = None,
        timeout: float | None = None,
        backend: str = "numpy",
    ) -> Any:
        """Call ``module.function(*args, **kwargs)`` in the child and return its result.

        ``backend`` says where the arrays among the arguments live during the call (see
        :data:`BACKENDS`); arrays come back as NumPy arrays whatever it is.

        Raises:
            CallFailed: the call timed out, crashed, raised, returned something that is not a
                wire value, modified an argument, or the module could not be imported.
            wire.WireError: ``args``/``kwargs`` hold something that is not a wire value.
        """
        if not function.isidentifier() or function.startswith("_"):
            raise ValueError(f"not a public function name: {function!r}")
        self._check_backend(backend)
        kwargs = {} if kwargs is None else dict(kwargs)
        timeout = self.limits.call_timeout if timeout is None else float(timeout)
        tree, blobs = wire.encode((tuple(args), kwargs), max_bytes=1 << 62)
        with self._lock:
            if self._closed:
                raise RuntimeError("this Sandbox is closed")
            self.start()
            return self._call_once(function, tree, blobs, timeout, backend)

    def call_many(
        self,
        function: str,
        calls: Sequence[tuple[tuple[Any, ...] | list[Any], dict[str, Any] | None]],
        timeout: float | None = None,
        backend: str = "numpy",
    ) -> list[Any]:
        """``[call(function, args, kwargs) for args, kwargs in calls]`` in one round trip.

        The worker runs the calls one after another, as that many ``call``s would run them
        (same worker, module state carried, each call given its own copy of its arguments,
        checked for modification, its result validated), and stops at the first that fails.
        Each call may take ``timeout`` seconds counted from the previous call's answer, as with
        ``call``: a call that hangs is stopped (the child killed) ``timeout`` after the one
        before it answered. An argument object that several calls share (the same object, as
        ``w`` in ``[((x1, w), {}), ((x2, w), {})]``) is sent once. Long lists go as several
        requests (``MAX_BATCH_CALLS`` calls and ``MAX_BATCH_BYTES`` of arguments at most each);
        so do the calls after those whose results add up to ``Limits.result_bytes``, so the
        grader never holds much more than that of one batch. ``last_output`` is what the
        student printed during the last request.

        Raises:
            BatchFailed: call ``index`` failed (kind and message as ``call`` would give); its
                ``results`` are those of the calls before it. The calls after it never ran.
            wire.WireError: an argument is not a wire value (before any call runs).
        """
        if not function.isidentifier() or function.startswith("_"):
            raise ValueError(f"not a public function name: {function!r}")
        self._check_backend(backend)
        timeout = self.limits.call_timeout if timeout is None else float(timeout)
        values, refs = encode_calls(calls)
        results: list[Any] = []
        with self._lock:
            if self._closed:
                raise RuntimeError("this Sandbox is closed")
            self.start()
            while len(results) < len(refs):
                carried, chunk = next_request(values, refs, len(results))
                self._call_batch(function, carried, chunk, timeout, results, backend)
        return results

    def _check_backend(self, backend: str) -> None:
        allowed = backends.running(self.gpu)
        if backend not in allowed:
            raise ValueError(
                f"backend {backend!r} is not available in this sandbox (gpu={self.gpu}); "
                f"use one of {allowed}"
            )

    def function(self, name: str) -> Callable[..., Any]:
        """``box.function("conv_forward")(x, w, b, stride=2)``: a call as a plain callable."""
        if not name.isidentifier() or name.startswith("_"):
            raise ValueError(f"not a public function name: {name!r}")

        def call(*args: Any, **kwargs: Any) -> Any:
            return self.call(name, args, kwargs)

        call.__name__ = call.__qualname__ = name
        return call
