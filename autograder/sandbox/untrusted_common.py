"""UNTRUSTED side (runs in the sandbox's child, never imported by the grader): what its
processes share.

Loaded by path by ``untrusted_child.py`` (registered as ``_autograder_untrusted_common``)
before anything else of the child, so before any student code: the kernel's constants and
calls (``prctl``, ``mount``), the frame reading and writing of the pipes to the grader, the
sweeping of leftover processes, and the words of a student's exception. It imports only the
standard library.

The functions of ``os`` the worker keeps using (``read``, ``write``, ``_exit``, ``getpid``)
are bound here, at load, before any student code runs: a student's module that rebinds
``os.read`` or ``os._exit`` only hurts its own calls. (Student code runs in the same process
and can reach this module's names as it could reach ``__main__``'s when the child was one
file: the grader decides nothing from what the child says, see ``untrusted_child.py``.)
"""

from __future__ import annotations

import ctypes
import mmap
import os
import signal
import struct
import sys
import time

import _autograder_messages as _messages

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

FRAME_HEAD = struct.Struct("<4sQ")
MAX_MESSAGE_CHARS = _messages.MAX_MESSAGE_CHARS
MARK = struct.Struct("<q")
READING = -1
"""In the shared page: the worker has read part of a request (it dies there: pipe out of step)."""
NONE = -2
"""In the shared page: the worker has not taken a request yet."""

# Bound before any student code runs: the worker loop keeps using these whatever the student's
# module does to ``os`` (it may rebind os.read or os._exit; it only hurts its own calls then).
_os_read, _os_write, _os_exit, _os_getpid = os.read, os.write, os._exit, os.getpid

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None):
    encode = lambda s: None if s is None else s.encode()  # noqa: E731
    result = _libc.mount(
        encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)
    )
    _check(result, f"mount {target}")


# ---------------------------------------------------------------- small I/O helpers


def _read_exact(fd: int, count: int) -> bytes:
    chunks = []
    while count:
        chunk = _os_read(fd, min(count, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        written = _os_write(fd, view)
        view = view[written:]


def _write_chunks(fd: int, chunks) -> None:
    """Write a frame's chunks in order, small ones joined (one wake-up of the reader, not 4)."""
    small = bytearray()
    for chunk in chunks:
        if len(chunk) < 1 << 16:
            small += chunk
            continue
        if small:
            _write_all(fd, small)
            small = bytearray()
        _write_all(fd, chunk)
    if small:
        _write_all(fd, small)


def _read_frame(fd: int, mark: mmap.mmap | None = None) -> bytes:
    """One request frame's payload; ``mark`` (the worker's shared page) says READING meanwhile."""
    magic, length = FRAME_HEAD.unpack(_read_exact(fd, FRAME_HEAD.size))
    if mark is not None:
        MARK.pack_into(mark, 0, READING)
    if magic != b"AGS1":
        raise EOFError
    return _read_exact(fd, length)


_clip = _messages.clip


# ---------------------------------------------------------------- process sweeping


def _children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (scans /proc; CONFIG_PROC_CHILDREN may be absent)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                data = handle.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(name))
    return found


def _reap_all() -> bool:
    """Reap the children that have ended; whether any child (running) is left."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def _kill_descendants(me: int, limit: float = 5.0) -> None:
    """Kill and reap every process reparented to ``me`` (a subreaper) until none is left.

    Zombies count towards RLIMIT_NPROC, so this waits until they are reaped too. With no
    child left (waitpid says ECHILD) no descendant is left either: orphans are reparented to
    ``me`` before their parent can be reaped. So /proc is scanned only when there are some.
    """
    end = time.monotonic() + limit
    while True:
        if not _reap_all():
            return
        children = _children_of(me)
        if not children or time.monotonic() > end:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.001)


def _kill_namespace() -> None:
    """As pid 1 of a pid namespace: kill every other process in it and reap them."""
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.001)


def _sweep_uid(uid: int, gid: int) -> None:
    """From root: kill every process of ``uid`` at once (kill(-1) as that uid is atomic)."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


# ---------------------------------------------------------------- messages for students


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # the student may have replaced it
            pass


def _describe_error(error: BaseException, prefix: str, config: dict) -> str:
    """``prefix ValueError: message`` plus the traceback lines from the student's files."""
    scratch = config["scratch_bytes"] if config.get("scratch_bounded") else None
    return _messages.describe_error(error, prefix, config["code_dir"], scratch)
