"""TRUSTED (the grader's side): a sandbox's child, from its setup report to its end.

:class:`ChildLifecycle` is the part of :class:`~autograder.sandbox.runner.Sandbox` that keeps
a child running: it starts one (:mod:`autograder.sandbox.spawn`) and reads its setup report
(before any student code runs, so a failure there is the grader's environment's, a
:class:`GradingError`), waits for the student's import (once per child; its failure is the
submission's, ``import_error``), replaces a child that died, and kills it
(:func:`spawn.kill_child`), wording how it died. It is a mixin: the state it uses is the
sandbox's, set in ``Sandbox.__init__`` (declared below), so that what a test or a caller
sees of a sandbox (``_child``, ``_cgroup``, ``_setup``) is where it always was.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder.sandbox import cgroups, isolation, spawn, wire
from autograder.sandbox.failures import CallFailed, GradingError, clip, signal_message
from autograder.sandbox.limits import Limits, human_bytes
from autograder.sandbox.protocol import Child, Ledger, Output, pump, take

SETUP_TIMEOUT = 30.0


class ChildLifecycle:
    """Starting, keeping and killing a sandbox's child (a mixin of ``Sandbox``)."""

    module: str
    limits: Limits
    isolation: str
    last_output: str
    import_output: str
    deadline: float | None
    _deadline_what: str
    _root: bool
    _account: isolation.Account | None
    _cgroup: cgroups.Cgroup | None
    _bounds: str
    _oom_seen: int
    _ledger: Ledger
    _environment: str | None
    _import_error: str | None
    _child: Child | None
    _setup: dict[str, Any]
    # Sandbox's own (annotations only: a stub here would hide them in the method order)
    _spawn: Callable[[], None]  # start a child with the sandbox's settings
    _wait_until: Callable[[float], tuple[float, bool]]

    def _start_child(self, config: dict[str, Any], env: dict[str, str], cwd: Path) -> None:
        """Start outer + server with ``config`` and read the setup report (no student code runs
        before it); a failure sets ``_environment`` (and ``isolation`` says it)."""
        child = spawn.start_process(env, cwd, config["devnull"], self.limits, self._ledger)
        if isinstance(child, str):
            self._environment = child
            self.isolation = f"partial: {self._environment}"
            return
        if self._cgroup is not None:  # before the config goes: the child forks only after it
            try:
                self._cgroup.add(child.proc.pid)
            except OSError as error:
                self._bounds = f"cgroup v2 group could not be joined ({error.strerror or error})"
                self._cgroup.remove()
                self._cgroup = None
        self._child = child
        text = json.dumps(config).encode()
        head = wire.FRAME_HEAD.pack(wire.FRAME_MAGIC, len(text))
        output = Output(self.limits.output_bytes)
        deadline = time.monotonic() + SETUP_TIMEOUT
        pump(child, output, deadline, [head, text], until=("setup", None))
        child.early_output = bytes(output.data)
        setup = take(child, "setup")
        spawned = take(child, "spawned")
        if spawned is not None and type(spawned.get("server_pid")) is int:
            child.server_pid = spawned["server_pid"]
        if setup is None or "fatal" in setup:  # no student code has run yet: our failure
            fatal = (setup or {}).get("fatal")
            reason = fatal if type(fatal) is str else output.text().strip()[-2000:]
            if not reason:
                reason = (
                    self._death_message(child, "the child ended without a report")
                    if child.eof
                    else f"no report within {SETUP_TIMEOUT:g} s"
                )
            self._teardown()
            self._environment = f"the sandbox could not start: {clip(reason, 2000)}"
            self.isolation = f"partial: {self._environment}"
            return
        self._setup = setup
        spaces = setup.get("namespaces") or []
        child.pidns = "pid" in spaces
        if config["namespaces"]:
            isolation.remember_namespaces("mount" in spaces)
        self.isolation = isolation.describe(
            setup, root=self._root, account=self._account, bounds=self._bounds
        )

    def _ready(self) -> None:
        """Make sure a child with the student's module imported is running, or raise."""
        if self._environment is not None:
            raise GradingError(self._environment)
        if self._import_error is not None:
            raise CallFailed("import_error", self._import_error)
        child = self._child
        if child is not None and (
            child.eof
            or child.broken
            or child.proc.poll() is not None
            or (child.server_pid is not None and not spawn.alive(child.server_pid))
        ):
            self._teardown()
            child = None
        if child is None:
            self._spawn()
            if self._environment is not None:
                raise GradingError(self._environment)
            child = self._child
            assert child is not None
        if not child.imported:
            self._await_import(child)

    def _await_import(self, child: Child) -> None:
        """Wait for the server's word on the student's import; raise when it failed."""
        output = Output(self.limits.output_bytes)
        output.data, child.early_output = bytearray(child.early_output), b""
        timeout = self.limits.import_timeout
        deadline, cut = self._wait_until(timeout)
        try:
            until = ("imported|import_failed", None)
            pump(child, output, deadline, None, until=until)
            if not child.out_eof:  # what it printed just before it reported (already in the pipe)
                output.drain(child.out)
        finally:
            self.last_output = self.import_output = output.text()
        failed = take(child, "import_failed")
        if take(child, "imported") is not None:
            child.imported = True
            return
        name = f"{self.module}.py"
        if failed is not None and type(failed.get("message")) is str:
            message = clip(failed["message"])
        elif child.broken:
            message = f"importing {name} sent data the grader could not read ({child.broken})"
        elif child.eof:
            message = self._death_message(child, f"importing {name} ended the process")
        elif cut:  # not the module's failure alone: the grading may not wait longer
            self._teardown()
            message = f"importing {name} was stopped: {self._deadline_what} ran out"
            raise CallFailed("budget", message, self.last_output)
        else:
            message = f"importing {name} did not finish within {timeout:g} s"
        self._teardown()
        self._import_error = message
        raise CallFailed("import_error", message, self.last_output)

    def _teardown(self) -> None:
        """Kill the child and everything it started; never raises, never hangs."""
        child, self._child = self._child, None
        if child is not None:
            spawn.kill_child(child, self._cgroup, self._account)

    def _signal_message(self, number: int, cpu: float | None = None) -> str:
        """What is known of a process killed by signal ``number`` (see
        :func:`failures.signal_message`); a SIGKILL is an out-of-memory kill only when the
        sandbox's cgroup counted a new one."""
        memory = None
        if number == signal.SIGKILL and self._cgroup is not None:
            kills = self._cgroup.oom_kills()
            if kills > self._oom_seen:
                self._oom_seen = kills
                memory = f"{human_bytes(self._cgroup.memory_bytes)} ({self._cgroup.limit_name})"
        return signal_message(self.module, self.limits, number, cpu, memory)

    def _death_message(self, child: Child, prefix: str) -> str:
        try:
            code = child.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            return f"{prefix} (no exit status)"
        if code > 128:
            return self._signal_message(code - 128)
        return f"{prefix} (exit status {code})"
