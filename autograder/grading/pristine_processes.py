"""The processes around a pristine grading: the grader's own settings while it grades (a child
subreaper, not dumpable: ``prctl``), the processes a grading left behind (found, described,
killed and reaped), and, as root, the processes of the student pool's idle uids. See
:mod:`autograder.grading.pristine`.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time

from autograder.sandbox import spawn

DUMPABLE = 4  # PR_SET_DUMPABLE
GET_DUMPABLE = 3  # PR_GET_DUMPABLE
SET_SUBREAPER = 36  # PR_SET_CHILD_SUBREAPER
GET_SUBREAPER = 37  # PR_GET_CHILD_SUBREAPER

LEFTOVER_WAIT = 5.0
"""How long the processes a grading left behind are given to die once killed."""


def _libc() -> ctypes.CDLL | None:
    """The C library of this process (None where there is none to load)."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - not Linux
        return None


def prctl_get(option: int) -> int | None:
    """The value of a ``prctl`` setting (``GET_SUBREAPER``, ``GET_DUMPABLE``); None where it
    cannot be read."""
    libc = _libc()
    if libc is None:
        return None
    if option == GET_SUBREAPER:
        value = ctypes.c_int(0)
        if libc.prctl(option, ctypes.byref(value), 0, 0, 0) != 0:
            return None
        return value.value
    result = libc.prctl(option, 0, 0, 0, 0)
    return None if result < 0 else int(result)


def prctl_set(option: int, value: int) -> bool:
    """Set a ``prctl`` setting (``SET_SUBREAPER``, ``DUMPABLE``); whether it was set."""
    libc = _libc()
    return libc is not None and libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) == 0


def children_of(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (running or ended, not yet reaped)."""
    return set(spawn.children_of(pid))


def describe_process(pid: int) -> str:
    """``pid 123 (sleep 600, uid 1000)`` or ``pid 123 (python, ended)``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        name = data[data.find(b"(") + 1 : data.rfind(b")")].decode("utf-8", "replace")
        state = data[data.rfind(b")") + 2 :].split()[0]
        uid = os.stat(f"/proc/{pid}").st_uid
    except (OSError, IndexError):
        return f"pid {pid}"
    if state == b"Z":
        return f"pid {pid} ({name}, ended)"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            command = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        command = ""
    return f"pid {pid} ({(command or name)[:80]}, uid {uid})"


def end_leftovers(before: set[int]) -> tuple[list[str], list[str]]:
    """Kill and reap the children this process gained since ``before`` (orphans of a grading
    come to it while it is a subreaper); what they were, and those still alive after
    ``LEFTOVER_WAIT`` seconds."""
    me = os.getpid()
    seen: dict[int, str] = {}
    deadline = time.monotonic() + LEFTOVER_WAIT
    while True:
        new = children_of(me) - before
        if not new:
            return list(seen.values()), []
        for pid in new:
            if pid not in seen:
                seen[pid] = describe_process(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in new:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
        if time.monotonic() > deadline:
            alive = [seen.get(p, f"pid {p}") for p in sorted(children_of(me) - before)]
            return list(seen.values()), alive
        time.sleep(0.01)


def pool_processes() -> dict[int, int]:
    """As root: ``{uid: count}`` of processes of student-pool uids no sandbox holds."""
    from autograder.sandbox import isolation

    if not isolation.running_as_root():
        return {}
    try:
        return isolation.idle_pool_processes()
    except OSError:
        return {}
