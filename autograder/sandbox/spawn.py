"""TRUSTED (the grader's side): starting the child process and killing it.

What the child is given (its scratch folders and the student's files copied into them, its
configuration, its environment, its pipes and argument memory file) and how it is started
(``python -I -S untrusted_child.py REQ RESP LIFE ARGS``, in a session of its own), then how it
is killed with everything it started (:func:`kill_child`: the server, the process group, the
cgroup, the student uid's processes), never raising, never hanging. Reading the child's setup
report and the student's import is :mod:`autograder.sandbox.lifecycle`'s.
"""

from __future__ import annotations

import errno
import importlib
import os
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from autograder.core import backends
from autograder.sandbox import cgroups, isolation, wire
from autograder.sandbox.limits import Limits
from autograder.sandbox.protocol import Child, Ledger

CHILD_PROGRAM = Path(__file__).with_name("untrusted_child.py")
"""The child's entry program (it loads its untrusted siblings by path, see its docstring)."""
KIT_PACKAGE = Path(__file__).resolve().parents[1]
"""The package this sandbox is part of: always hidden from student code (the grader's callers
name the rest, such as the checkout holding the reference solutions and hidden suites)."""
WIRE_PROGRAM = Path(wire.__file__)
DEVICESIM_PROGRAM = Path(__file__).with_name("devicesim.py")
BACKENDS_PROGRAM = Path(backends.__file__)
"""The backend registry, loaded by path in the child to move a call's arrays."""
GPU_ENV_PREFIXES = ("CUDA_", "NVIDIA_", "CUPY_", "NVRTC_")
"""Environment variables passed to a GPU sandbox (besides ``LD_LIBRARY_PATH``): where the
driver and toolkit are, which devices are visible."""
MAX_SOURCE_BYTES = 2 * 1024 * 1024
PIPE_BYTES = 1 << 20


def platform_problem() -> str | None:
    """Why the isolated sandbox cannot run on this platform (None: it can): it needs Linux's
    ``fork``, ``memfd_create``, process limits (``resource``) and POSIX ``fcntl``/``pwd``."""
    if not sys.platform.startswith("linux"):
        return f"the isolated sandbox runs on Linux only (this is {sys.platform})"
    for name in ("fork", "memfd_create"):
        if not hasattr(os, name):
            return f"the isolated sandbox needs os.{name}, which this Python lacks"
    for module in ("resource", "fcntl", "pwd"):
        try:
            importlib.import_module(module)
        except ImportError:
            return f"the isolated sandbox needs the {module} module, which this Python lacks"
    return None


def child_config(
    *,
    base: Path,
    module: str,
    submission_dir: Path,
    hide: list[str],
    scratch_root: str | None,
    devnull: str,
    account: isolation.Account | None,
    namespaces: bool,
    limits: Limits,
    gpu: bool,
) -> dict[str, Any]:
    """The configuration the child reads first (its first request frame, as JSON).

    ``namespaces``: whether to try mount/net/pid namespaces (as root, where they may work)."""
    grader_side = [
        KIT_PACKAGE,  # installed as a package, the kit is not inside a checkout
        tempfile.gettempdir(),
        scratch_root or tempfile.gettempdir(),
        submission_dir,
        submission_dir.parent,
    ]
    hidden = isolation.resolve_hidden([*hide, *grader_side])
    rlimits = limits.rlimits(gpu=gpu)
    if account is None:  # RLIMIT_NPROC counts every process of our own uid
        rlimits["RLIMIT_NPROC"] = isolation.process_count(os.getuid()) + rlimits["RLIMIT_NPROC"]
    return {
        "module": module,
        "code_dir": os.path.realpath(base / "code"),
        "root_dir": os.path.realpath(base / "root"),
        "work_dir": os.path.realpath(base / "work"),
        "wire_path": str(WIRE_PROGRAM),
        "devicesim_path": str(DEVICESIM_PROGRAM),
        "backends_path": str(BACKENDS_PROGRAM),
        "gpu": gpu,
        "preload_cupy": gpu,
        "gpu_memory_bytes": limits.gpu_memory_bytes,
        "extra_path": [os.path.realpath(Path(np.__file__).parent.parent)],
        "uid": None if account is None else account.uid,
        "gid": None if account is None else account.gid,
        "sweep_uid": account is not None and account.dedicated,
        "namespaces": namespaces,
        "masks": [*hidden, *isolation.DEFAULT_MASKS],
        "hide_ids": isolation.hide_ids(hidden),
        "ro_dirs": [],
        "rlimits": rlimits,
        "cpu_seconds": limits.cpu_seconds,
        "server_cpu_seconds": 4 * limits.cpu_seconds,
        "scratch_bytes": limits.scratch_bytes,
        "result_bytes": limits.result_bytes,
        "devnull": devnull,
    }


def child_env(base: Path, limits: Limits, gpu: bool) -> dict[str, str]:
    """The child's whole environment (nothing of the grader's but what a GPU needs)."""
    work = os.path.realpath(base / "work")
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": work,
        "TMPDIR": work,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        **limits.thread_env(),
        "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
        "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
        "MALLOC_TOP_PAD_": str(64 << 20),
        **(gpu_env() if gpu else {}),
    }


def start_process(
    env: dict[str, str], cwd: Path, devnull: str, limits: Limits, ledger: Ledger
) -> Child | str:
    """Start the child with its pipes and argument memory file; or why it could not start
    (the grader's environment's failure: no null device, no file descriptors, no process).

    The child waits for its configuration (the caller sends it, after adding the child to its
    cgroup: it forks only after that)."""
    try:
        null = open_devnull(devnull)
    except OSError as error:
        return f"the sandbox could not start: no usable null device: {error}"
    opened: list[int] = [null]
    try:
        for _ in range(4):
            opened.extend(os.pipe())
        arguments = os.memfd_create("autograder-arguments", os.MFD_CLOEXEC)
    except OSError as error:
        for fd in opened:
            os.close(fd)
        return f"the sandbox could not start: {error}"
    req_r, req_w, resp_r, resp_w, out_r, out_w, life_r, life_w = opened[1:]
    try:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-S",
                str(CHILD_PROGRAM),
                *map(str, (req_r, resp_w, life_r, arguments)),
            ],
            stdin=null,
            stdout=out_w,
            stderr=out_w,
            pass_fds=(req_r, resp_w, life_r, arguments),
            env=env,
            cwd=str(cwd),
            start_new_session=True,
            close_fds=True,
        )
    except (OSError, subprocess.SubprocessError) as error:  # EAGAIN: the process limit
        for fd in (null, req_r, req_w, resp_r, resp_w, out_r, out_w, life_r, life_w, arguments):
            os.close(fd)
        return f"the sandbox could not start a process: {error}"
    for fd in (null, req_r, resp_w, out_w, life_r):
        os.close(fd)
    for fd in (req_w, resp_r, out_r):
        os.set_blocking(fd, False)
    import fcntl  # POSIX only: the kit's other parts import on every platform

    for fd in (req_w, resp_r):  # fewer wake-ups for array-sized messages
        try:
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except (OSError, AttributeError):
            pass
    max_frame = limits.result_bytes + wire.MAX_JSON + (1 << 20)
    reader = wire.FrameReader(max_frame)
    child = Child(proc, req_w, resp_r, out_r, life_w, reader, ledger, limits.result_bytes)
    child.arguments = arguments
    return child


def kill_child(
    child: Child, cgroup: cgroups.Cgroup | None, account: isolation.Account | None
) -> None:
    """Kill the child and everything it started; never raises, never hangs."""
    proc = child.proc
    if proc.poll() is None and child.server_pid and parent_of(child.server_pid) == proc.pid:
        try:
            os.kill(child.server_pid, signal.SIGKILL)
        except OSError:
            pass
    for fd in (child.life, child.req):
        close_fd(fd)
    try:
        proc.wait(timeout=3.0)
        clean = True
    except subprocess.TimeoutExpired:
        clean = False
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.wait(timeout=3.0)
        except subprocess.TimeoutExpired:  # pragma: no cover - unkillable (D state)
            pass
    if not clean and cgroup is not None:
        cgroup.kill()
    if not clean and account is not None and not child.pidns:
        try:
            isolation.sweep_uid(account)
        except (OSError, subprocess.SubprocessError):  # never raises: the sweep is a backstop
            pass
    for fd in (child.resp, child.out, child.arguments):
        close_fd(fd)


def gpu_env() -> dict[str, str]:
    """What CUDA and CuPy need from the grader's environment to find the driver and devices."""
    return {
        name: value
        for name, value in os.environ.items()
        if name == "LD_LIBRARY_PATH" or name.startswith(GPU_ENV_PREFIXES)
    }


def is_plain_name(name: str) -> bool:
    return (
        bool(name)
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
        and name not in (".", "..")
        and not name.startswith(".")
    )


def copy_student_file(source: Path, target: Path) -> None:
    """Copy one regular file (never through a link), if it exists; cap its size."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SOURCE_BYTES:
            return
        data = b""
        while len(data) <= MAX_SOURCE_BYTES:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            data += chunk
        if len(data) > MAX_SOURCE_BYTES:
            return
    finally:
        os.close(fd)
    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
    finally:
        os.close(out)
    os.chmod(target, 0o644)


def open_devnull(path: str) -> int:
    """The null device at ``path``, opened for the child's stdin; OSError when it is missing or
    is not a character device (a regular file in its place would collect or feed data)."""
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISCHR(mode):
        os.close(fd)
        raise OSError(errno.ENODEV, "not a character device", path)
    return fd


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (scans /proc)."""
    found = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return found
    for name in names:
        if name.isdigit() and parent_of(int(name)) == pid:
            found.append(int(name))
    return found


def parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
        return int(data[data.rfind(b")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2 : data.rfind(b")") + 3] not in (b"Z", b"X")


def close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass
