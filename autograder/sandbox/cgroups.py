"""Whole-sandbox memory and process bounds: one cgroup per sandbox (v2, else v1).

Rlimits bound each process alone (RLIMIT_AS: 2 GiB each, so 64 processes may hold 128 GiB), and
RLIMIT_NPROC bounds the processes of one uid. Where cgroup v2 is mounted with the ``memory``
and ``pids`` controllers and the grader (root) may enable them for a group of its own, every
sandbox's processes (outer, server, worker and all they start) are put in
``<CGROUP_ROOT>/autograder/slot-<n>`` with ``memory.max`` (all of them together, tmpfs scratch
pages included), ``memory.swap.max = 0`` and ``pids.max``; the group is killed
(``cgroup.kill``) and removed when the sandbox closes. Where that is not possible the reason
is returned and the sandbox says so in its isolation report (per-process limits only).

Fallback: where cgroup v2 lacks them but the older cgroup v1 hierarchies ``memory`` and
``pids`` are mounted and writable (many container hosts), the same bounds are set there:
``memory.limit_in_bytes`` (and ``memory.memsw.limit_in_bytes``, no swap, where swap is
accounted) and ``pids.max``, in a group ``autograder/slot-<n>`` of each hierarchy. v1 has no
``cgroup.kill``: a group is killed by signalling what it lists until nothing is left (its
``pids.max`` bounds how many a fork loop can add meanwhile).

Nothing here runs as student code: the grader writes the files before the child's server
exists (the child waits for its configuration first).
"""

from __future__ import annotations

import errno
import os
import signal
import time
from dataclasses import dataclass

CGROUP_ROOT = "/sys/fs/cgroup"
"""Where the cgroup v2 hierarchy is mounted (a setting for tests: a fake tree)."""
GROUP = "autograder"
"""The group under ``CGROUP_ROOT`` holding one group per sandbox."""
CONTROLLERS = ("memory", "pids")
EXTRA_TASKS = 8
"""Tasks of a sandbox besides the student's ``max_processes``: the outer and the sweeps it
forks (the server and worker count among the student's, as RLIMIT_NPROC counts them)."""
REMOVE_WAIT = 3.0

_rmdir = os.rmdir
"""How a group is removed (a setting for tests: a fake tree is a plain folder)."""
_base: str | None = None
_base_problem: str | None = None


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _write(path: str, text: str) -> None:
    """Write a control file in one write, as ``echo VALUE > FILE`` does (O_CREAT only matters
    in a fake tree: the kernel's files always exist, and cgroupfs refuses to create others)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _enabled(path: str) -> set[str]:
    try:
        return {word.lstrip("+") for word in _read(path).split()}
    except FileNotFoundError:  # a fake tree's new group
        return set()


def base() -> tuple[str | None, str]:
    """The parent group of the sandboxes' groups (made, its controllers enabled for its
    children), or None and why not. Cached for the life of the process."""
    global _base, _base_problem
    if _base is not None or _base_problem is not None:
        return _base, _base_problem or ""
    _base, problem = _make_base()
    _base_problem = None if _base else problem
    return _base, problem


def _make_base() -> tuple[str | None, str]:
    for root in (CGROUP_ROOT, os.path.join(CGROUP_ROOT, "unified")):  # unified: hybrid mode
        try:
            available = _read(os.path.join(root, "cgroup.controllers")).split()
            break
        except OSError:
            continue
    else:
        return None, f"no cgroup v2 hierarchy at {CGROUP_ROOT}"
    missing = [name for name in CONTROLLERS if name not in available]
    if missing:
        return None, f"no cgroup v2 {' and '.join(missing)} controller"
    wanted = " ".join(f"+{name}" for name in CONTROLLERS)
    try:
        top = os.path.join(root, "cgroup.subtree_control")
        if not set(CONTROLLERS) <= _enabled(top):
            _write(top, wanted)
        group = os.path.join(root, GROUP)
        os.makedirs(group, mode=0o755, exist_ok=True)
        control = os.path.join(group, "cgroup.subtree_control")
        if not set(CONTROLLERS) <= _enabled(control):
            _write(control, wanted)
        if not set(CONTROLLERS) <= _enabled(control):
            return None, "cgroup v2 memory and pids controllers could not be enabled"
    except OSError as error:
        return None, f"cgroup v2 not writable ({error.strerror or error})"
    return group, ""


@dataclass
class Cgroup:
    """One sandbox's group: its processes' memory and task count together are bounded."""

    path: str
    memory_bytes: int
    tasks: int
    limit_name = "cgroup memory.max"
    """How the memory bound is named in messages."""

    def add(self, pid: int) -> None:
        """Move ``pid`` (the child, before it forks anything) into the group."""
        _write(os.path.join(self.path, "cgroup.procs"), f"{pid}\n")

    def pids(self) -> list[int]:
        try:
            return [int(word) for word in _read(os.path.join(self.path, "cgroup.procs")).split()]
        except (OSError, ValueError):
            return []

    def kill(self) -> None:
        """SIGKILL every process in the group (``cgroup.kill``: atomic, forks included)."""
        try:
            _write(os.path.join(self.path, "cgroup.kill"), "1")
            return
        except OSError:
            pass
        self._kill_listed()  # kernels before 5.14

    def _kill_listed(self) -> None:
        """SIGKILL what the group lists until none is left (its pids.max bounds the forks)."""
        for _ in range(50):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def oom_kills(self) -> int:
        """How many processes the kernel killed for ``memory.max`` (``memory.events``)."""
        try:
            for line in _read(os.path.join(self.path, "memory.events")).splitlines():
                name, _, value = line.partition(" ")
                if name == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def remove(self) -> None:
        """Kill what is left in the group and remove it; never raises."""
        self.kill()
        _remove_group(self.path)


def _remove_group(path: str) -> None:
    """Remove an emptied group's folder, waiting while killed processes are reaped (EBUSY);
    never raises."""
    deadline = time.monotonic() + REMOVE_WAIT
    while True:
        try:
            _rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as error:
            if error.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                return
            if time.monotonic() >= deadline:
                return
            time.sleep(0.01)


def create(name: str, memory_bytes: int, tasks: int) -> tuple[Cgroup | None, str]:
    """A fresh group ``name`` for one sandbox (a stale one of that name is killed and removed
    first: the caller holds the uid pool slot it is named after), or None and why not."""
    parent, problem = base()
    if parent is None:
        group, v1_problem = _create_v1(name, memory_bytes, tasks)
        return (group, "") if group is not None else (None, f"{problem}; {v1_problem}")
    group = Cgroup(os.path.join(parent, name), memory_bytes, tasks)
    if os.path.isdir(group.path):
        group.remove()
    try:
        os.mkdir(group.path, 0o755)
        _write(os.path.join(group.path, "memory.max"), f"{memory_bytes}\n")
        swap = os.path.join(group.path, "memory.swap.max")
        if os.path.exists(swap):
            _write(swap, "0\n")
        _write(os.path.join(group.path, "pids.max"), f"{tasks}\n")
    except OSError as error:
        group.remove()
        return None, f"cgroup v2 group could not be made ({error.strerror or error})"
    return group, ""


# ---------------------------------------------------------------- the cgroup v1 fallback


def _v1_base(controller: str) -> str | None:
    """``<CGROUP_ROOT>/<controller>/autograder``, made (beside the grader's own group, as the
    v2 groups are, so that the grader's own limits do not count the sandboxes' memory); None
    when that hierarchy is not mounted or not writable."""
    mount = os.path.join(CGROUP_ROOT, controller)
    if not os.path.isfile(os.path.join(mount, "cgroup.procs")):
        return None
    group = os.path.join(mount, GROUP)
    try:
        os.makedirs(group, mode=0o755, exist_ok=True)
    except OSError:
        return None
    return group


@dataclass
class CgroupV1(Cgroup):
    """One sandbox's groups in the v1 ``memory`` and ``pids`` hierarchies (``path`` is the
    memory group; ``pids_path`` the pids group)."""

    pids_path: str = ""
    limit_name = "cgroup v1 memory.limit_in_bytes"

    def _paths(self) -> list[str]:
        return [self.path, self.pids_path]

    def add(self, pid: int) -> None:
        for path in self._paths():
            _write(os.path.join(path, "cgroup.procs"), f"{pid}\n")

    def pids(self) -> list[int]:
        found: set[int] = set()
        for path in self._paths():
            try:
                found |= {int(word) for word in _read(os.path.join(path, "cgroup.procs")).split()}
            except (OSError, ValueError):
                continue
        return sorted(found)

    def kill(self) -> None:
        self._kill_listed()  # v1 has no cgroup.kill

    def oom_kills(self) -> int:
        """Processes the kernel killed for the group's limit (``oom_kill`` of
        ``memory.oom_control``, kernels 4.13 and later; else how often the limit was hit)."""
        try:
            for line in _read(os.path.join(self.path, "memory.oom_control")).splitlines():
                name, _, value = line.partition(" ")
                if name == "oom_kill":
                    return int(value)
            return int(_read(os.path.join(self.path, "memory.failcnt")))
        except (OSError, ValueError):
            return 0

    def remove(self) -> None:
        self.kill()
        for path in self._paths():
            _remove_group(path)


def _create_v1(name: str, memory_bytes: int, tasks: int) -> tuple[Cgroup | None, str]:
    memory_base, pids_base = _v1_base("memory"), _v1_base("pids")
    if memory_base is None or pids_base is None:
        return None, "no writable cgroup v1 memory and pids hierarchies either"
    group = CgroupV1(
        os.path.join(memory_base, name), memory_bytes, tasks, os.path.join(pids_base, name)
    )
    for path in group._paths():
        if os.path.isdir(path):
            group.remove()
    try:
        for path in group._paths():
            os.mkdir(path, 0o755)
        _write(os.path.join(group.path, "memory.limit_in_bytes"), f"{memory_bytes}\n")
        swap = os.path.join(group.path, "memory.memsw.limit_in_bytes")
        if os.path.exists(swap):
            _write(swap, f"{memory_bytes}\n")
        _write(os.path.join(group.pids_path, "pids.max"), f"{tasks}\n")
    except OSError as error:
        group.remove()
        return None, f"cgroup v1 groups could not be made ({error.strerror or error})"
    return group, ""
