"""The sandboxed child: run by path as ``python -I -S child.py REQ_FD RESP_FD LIFE_FD ARGS_FD``.

Self-contained on purpose: it imports only the standard library, numpy, and the wire format
file whose path the grader sends (loaded by path, never through the ``autograder`` package, so
the grader's checkout need not be on ``sys.path``). Nothing here runs as a module of the grader.

Processes::

    outer   root (or the grader's user); never runs student code. Optionally unshares mount,
            network, pid, ipc and uts namespaces and hides paths behind tmpfs mounts, then forks
            the server and waits for it; it kills the server when the grader goes away (the
            LIFE_FD pipe closes) and sweeps up what is left when the server dies.
    server  drops to the student uid, sets rlimits, imports the student's module once, then
            forks a worker and waits for it to end; then it kills whatever the worker left
            behind, reports how the worker ended (an ``exit`` frame naming the last request
            the worker took) and forks the next worker at once, so that a fresh worker is
            ready before the grader's next call. In a pid namespace it is pid 1: when it dies
            the kernel kills everything student code started.
    worker  serves calls until it is told to end: it reads the grader's requests from REQ_FD
            itself (one round trip per call, no fork). For each call it checks that array
            arguments were not modified and writes the result (or the failure) as one frame
            on RESP_FD. The arrays of a request are not in the frame: the grader writes them
            into the memory file ARGS_FD (the frame says where), and the worker's arguments
            are views of that memory, so the grader reads back itself what a call did to its
            inputs (the worker's own check only words the message). A ``batch`` request
            carries several calls of one function: the worker
            runs them in order, writes one frame per call (tagged with its ``index``), and
            stops at the first that fails, or with a ``stopped`` frame once the results it
            sent reach the result limit (the grader sends the rest again). It ends on an
            ``end`` request (``Sandbox.reset``), when REQ_FD closes, or by dying; the module
            state it built up lives until then, as it would in one process. Its RLIMIT_CPU
            counts all its calls together (a backstop; the grader's wall-clock deadline per
            call is the real bound).

The worker writes the sequence number of each request it takes into a page shared with the
server (``READING`` while it is half-way through one), so the server's ``exit`` frame says
which call the worker died in, and a worker that died half-way through a request ends the
server (the request pipe is out of step) instead of leaving the next worker to read the rest of
a frame as a new one. Only when no worker can be forked does the server read a request itself
(and refuse it).

Everything the grader reads from RESP_FD is treated as untrusted there: the server has run the
student's import-time code, so it is no more trustworthy than a worker.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import inspect
import json
import mmap
import os
import resource
import select
import signal
import stat
import struct
import sys
import time
import traceback

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

ST_FLAGS_TO_MS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38

PRELOAD = ("decimal", "fractions", "statistics", "random", "zlib", "bz2", "lzma", "ctypes")
"""Imported before the uid drop when the interpreter's folders are out of the student uid's
reach and no mount namespace can bind them back (their C libraries are not on sys.path)."""

FRAME_HEAD = struct.Struct("<4sQ")
MAX_MESSAGE_CHARS = 4000
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


def _clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 20] + "\n[... cut ...]"


# ---------------------------------------------------------------- isolation setup (outer)


def _unshare(report: dict) -> int:
    """Enter new namespaces; returns the flags that worked (0 when none did)."""
    attempts = (
        CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS,
        CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID,
        CLONE_NEWNS | CLONE_NEWNET,
    )
    for flags in attempts:
        if _libc.unshare(ctypes.c_int(flags)) == 0:
            return flags
        report["notes"].append(f"unshare failed: {os.strerror(ctypes.get_errno())}")
    return 0


def _mount_points() -> list[str]:
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            fields = line.split(" ")
            if len(fields) > 4:
                raw = fields[4]
                points.append(
                    raw.replace("\\040", " ")
                    .replace("\\011", "\t")
                    .replace("\\012", "\n")
                    .replace("\\134", "\\")
                )
    return sorted(set(points), key=lambda p: (p.count("/"), p))


def _remount_readonly(point: str) -> None:
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID
    try:
        existing = os.statvfs(point).f_flag
    except OSError:
        existing = 0
    for st_flag, ms_flag in ST_FLAGS_TO_MS:
        if existing & st_flag:
            flags |= ms_flag
    _mount(None, point, None, flags, None)


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _needed_dirs(config: dict) -> list[str]:
    """Folders student code must read: the interpreter's, numpy's, its own code (minimal set)."""
    prefixes = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    candidates = {os.path.realpath(p) for p in [*sys.path, *prefixes, config["code_dir"]] if p}
    candidates = sorted(p for p in candidates if os.path.isdir(p))
    minimal: list[str] = []
    for path in candidates:
        if not any(_inside(path, kept) for kept in minimal):
            minimal.append(path)
    return minimal


def _untraversable(dirs: list[str], uid: int | None) -> list[str]:
    """The topmost ancestor of each folder that ``uid`` may not search (masked, then rebound)."""
    if uid is None:
        return []
    found = []
    for path in dirs:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            ancestor = "/" + "/".join(parts[:depth])
            try:
                info = os.stat(ancestor)
            except OSError:
                break
            if not info.st_mode & stat.S_IXOTH and info.st_uid != uid:
                found.append(ancestor)
                break
    return found


def _reach_through_fds(uid: int) -> None:
    """Let ``uid`` import from folders it may not reach (a Python under /root, as Miniforge on
    Gradescope) without a mount namespace: keep each such ``sys.path`` folder open and import
    through ``/proc/self/fd/N``, which skips the search checks of the folder's ancestors."""
    reached = False
    for index, path in enumerate(list(sys.path)):
        if path.startswith("/") and os.path.isdir(path) and _untraversable([path], uid):
            reached = True
            try:
                fd = os.open(path, os.O_PATH | os.O_DIRECTORY)
            except OSError:
                continue
            alias = f"/proc/self/fd/{fd}"
            sys.path[index] = alias
            for module in list(sys.modules.values()):  # packages already imported (encodings)
                search = getattr(module, "__path__", None)
                if type(search) is list:
                    search[:] = [
                        alias + entry[len(path) :] if _inside(entry, path) else entry
                        for entry in search
                    ]
    importlib.invalidate_caches()
    if reached:  # extension modules whose shared libraries sit beside the interpreter
        for name in PRELOAD:
            try:
                importlib.import_module(name)
            except Exception:
                continue


def _setup_mounts(config: dict, report: dict) -> bool:
    """Private mount tree: everything read-only, hidden paths behind empty tmpfs mounts.

    The folders student code needs (the interpreter, numpy, its own code) are bound back
    read-only under any mask that covers them, and its scratch folder becomes a size-limited
    tmpfs owned by the student uid: the only writable place.
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    needed: dict[str, int] = {}
    for path in config["ro_dirs"]:
        try:
            needed[path] = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError as error:
            report["notes"].append(f"cannot open {path}: {error.strerror}")
    work = config["work_dir"]
    all_ok = True
    for point in _mount_points():
        try:
            _remount_readonly(point)
        except OSError as error:
            if point == "/":
                all_ok = False
                report["notes"].append(f"cannot make / read-only: {error.strerror}")
    masks = sorted(set(config["masks"]), key=lambda p: (p.count("/"), p))
    for mask in masks:
        try:
            info = os.lstat(mask)
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode):
            continue
        try:
            if stat.S_ISDIR(info.st_mode):
                flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
                _mount("tmpfs", mask, "tmpfs", flags, "mode=0755,size=1m")
                for path, fd in needed.items():
                    if _inside(path, mask):  # bind it back (a hidden needed folder shows up
                        os.makedirs(path, mode=0o755, exist_ok=True)  # as exposed)
                        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
                        _remount_readonly(path)
                if _inside(work, mask):
                    os.makedirs(work, mode=0o755, exist_ok=True)
                _remount_readonly(mask)
            else:
                _mount(config.get("devnull", "/dev/null"), mask, None, MS_BIND, None)
                _remount_readonly(mask)
        except OSError as error:
            all_ok = False
            report["notes"].append(f"cannot hide {mask}: {error.strerror}")
    owner = ""
    if config["uid"] is not None:
        owner = f",uid={config['uid']},gid={config['gid']}"
    try:
        _mount(
            "tmpfs",
            work,
            "tmpfs",
            MS_NOSUID | MS_NODEV | MS_NOEXEC,
            f"mode=0700,size={config['scratch_bytes']}{owner}",
        )
        report["scratch_bounded"] = config["scratch_bounded"] = True
    except OSError as error:
        all_ok = False
        report["notes"].append(f"cannot mount the scratch tmpfs: {error.strerror}")
    for fd in needed.values():
        os.close(fd)
    return all_ok


SYSTEM_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin")
"""Shown to student code read-only: the system's programs and shared libraries (numpy's and
the interpreter's C libraries load from them)."""
SYSTEM_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
    "/etc/hosts",
)
"""Of ``/etc``, only what the dynamic loader and the C library read."""
DEVICES = ("null", "zero", "full", "random", "urandom")
GPU_DEVICE_PREFIXES = ("nvidia", "dri")
GPU_DIRS = ("/etc", "/opt", "/sys", "/usr/local/cuda")
"""A GPU sandbox also sees these (CUDA's driver and toolkit look there, and at the kernel's
tables of devices)."""


def _allowed(config: dict) -> tuple[list[str], list[str]]:
    """The folders and single files the sandbox shows (read-only): the allow-list."""
    dirs = list(config["ro_dirs"])
    dirs += [d for d in SYSTEM_DIRS if os.path.isdir(d) and not os.path.islink(d)]
    files = [f for f in SYSTEM_FILES if os.path.isfile(f)]
    if config["gpu"]:
        dirs += [d for d in GPU_DIRS if os.path.isdir(d)]
        search = os.environ.get("LD_LIBRARY_PATH", "") + ":" + os.environ.get("CUDA_PATH", "")
        dirs += [os.path.realpath(d) for d in search.split(":") if d and os.path.isdir(d)]
        for name in sorted(os.listdir("/dev")):
            if name.startswith(GPU_DEVICE_PREFIXES):
                path = os.path.join("/dev", name)
                (dirs if os.path.isdir(path) else files).append(path)
    minimal: list[str] = []
    for path in sorted(set(dirs), key=lambda p: (p.count("/"), p)):
        if not any(_inside(path, kept) for kept in minimal):
            minimal.append(path)
    return minimal, files


def _bind(source: str, root: str, target: str | None = None, writable: bool = False) -> None:
    """Bind ``source`` at ``target`` (default: the same path) under ``root``, read-only."""
    where = root + (target or source)
    if os.path.isdir(source):
        os.makedirs(where, mode=0o755, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(where), mode=0o755, exist_ok=True)
        if not os.path.lexists(where):
            os.close(os.open(where, os.O_CREAT | os.O_WRONLY, 0o644))
    _mount(source, where, None, MS_BIND | MS_REC, None)
    if not writable:
        _remount_readonly(where)


def _undo_root(config: dict) -> None:
    """Detach a half-built allow-list root (its mounts go with it)."""
    try:
        _check(_libc.umount2(config["root_dir"].encode(), 2), "umount")  # MNT_DETACH
    except OSError:
        pass


def _build_root(config: dict, report: dict, pidns: bool) -> None:
    """A new root holding only what student code needs, entered with chroot (the allow-list).

    A small tmpfs becomes ``/``; into it go, read-only and at their own paths, the
    interpreter's and numpy's folders, the system's library folders, a few files of /etc, the
    null and random devices, and the student's code; the scratch folder is a size-bounded
    tmpfs owned by the student uid, the only writable place. Nothing else exists there: not the
    class folder, the results, other sandboxes, the grader's temporary folder, or the kit.
    ``/proc`` is the pid namespace's own (mounted by the server) or, without one, the host's.
    Raises OSError when a step fails (the caller falls back to hiding paths).
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    root = config["root_dir"]
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=8m")
    dirs, files = _allowed(config)
    for path in SYSTEM_DIRS:  # merged /usr: /lib -> usr/lib and the like stay links
        if os.path.islink(path):
            os.symlink(os.readlink(path), root + path)
    for path in dirs:
        _bind(path, root)
    for path in files:
        _bind(path, root)
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            _bind(f"/dev/{name}", root, writable=True)
    devnull = config.get("devnull", "/dev/null")
    if devnull != "/dev/null" and os.path.exists(devnull):
        _bind(devnull, root, writable=True)
    hidden = [m for m in config["masks"] if any(_inside(m, d) and m != d for d in [*dirs, *files])]
    for mask in sorted(set(hidden), key=lambda p: (p.count("/"), p)):  # the kit, if installed
        if os.path.isdir(root + mask) and not os.path.islink(root + mask):
            _mount("tmpfs", root + mask, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k")
            _remount_readonly(root + mask)
    os.makedirs(root + "/proc", mode=0o555, exist_ok=True)
    if not pidns:
        _mount("/proc", root + "/proc", None, MS_BIND | MS_REC, None)
    for empty in ("/tmp", "/var/tmp", "/dev/shm"):
        os.makedirs(root + empty, mode=0o755, exist_ok=True)
    work = config["work_dir"]
    os.makedirs(root + work, mode=0o700, exist_ok=True)
    owner = "" if config["uid"] is None else f",uid={config['uid']},gid={config['gid']}"
    scratch = f"mode=0700,size={config['scratch_bytes']}{owner}"
    _mount("tmpfs", root + work, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, scratch)
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "mode=0755,size=8m")
    os.chdir(root)
    _check(_libc.chroot(b"."), "chroot")
    os.chdir("/")
    report["scratch_bounded"] = config["scratch_bounded"] = True
    report["allow_list"] = True


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


# ---------------------------------------------------------------- the outer process


def main() -> None:
    sys.dont_write_bytecode = True
    req_fd, resp_fd, life_fd, args_fd = (int(a) for a in sys.argv[1:5])
    global _arguments_fd
    _arguments_fd = args_fd
    config = json.loads(_read_frame(req_fd))
    report: dict = {"event": "setup", "notes": [], "namespaces": [], "uid": os.getuid()}
    sys.path[:] = [os.path.realpath(p) for p in sys.path if p] + config["extra_path"]
    spec = importlib.util.spec_from_file_location("_autograder_sandbox_wire", config["wire_path"])
    wire = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(wire)
    global _devicesim
    spec = importlib.util.spec_from_file_location("cupy_device_simulator", config["devicesim_path"])
    _devicesim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(_devicesim)
    global _devicesim_pristine, _devicesim_state, _devicesim_changes
    # before any student code: what the simulator is, and the functions that compare it with
    # what it is after a call (bound now, so rebinding the module's names cannot blind them)
    _devicesim_state, _devicesim_changes = _devicesim.state, _devicesim.changes
    _devicesim_pristine = _devicesim_state()
    flags = 0
    mounted = False
    if config["namespaces"]:
        flags = _unshare(report)
        if flags & CLONE_NEWNS:
            config["ro_dirs"] = _needed_dirs(config)
            try:
                _build_root(config, report, bool(flags & CLONE_NEWPID))
                mounted = True
            except OSError as error:  # hide what the deny-list names instead
                report["notes"].append(f"the allow-list root could not be built: {error}")
                _undo_root(config)
            if not mounted:
                config["masks"] = config["masks"] + _untraversable(config["ro_dirs"], config["uid"])
                try:
                    mounted = _setup_mounts(config, report)
                except OSError as error:  # e.g. / cannot be made private: no mounts at all
                    report["notes"].append(f"mount setup failed: {error}")
            report["mounts_ok"] = mounted
    if not mounted and config["uid"] is not None:
        _reach_through_fds(config["uid"])
    report["namespaces"] = [
        name
        for bit, name in (
            (CLONE_NEWNS, "mount"),
            (CLONE_NEWNET, "net"),
            (CLONE_NEWPID, "pid"),
            (CLONE_NEWIPC, "ipc"),
            (CLONE_NEWUTS, "uts"),
        )
        if flags & bit
    ]
    if not flags & CLONE_NEWPID:  # orphans of the server come to us, not to init
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    # what the outer needs later is had now, before the server exists: a failure here (no null
    # device, no process left) is the grader's environment's, reported before any student code
    null = os.open(config.get("devnull", os.devnull), os.O_RDWR)
    sync_r, sync_w = os.pipe()
    server = os.fork()
    if server == 0:
        os.close(sync_w)
        os.close(life_fd)
        os.close(null)
        os.set_inheritable(args_fd, False)  # programs student code runs do not get it
        os.read(sync_r, 1)  # wait until the outer has announced us
        os.close(sync_r)
        try:
            _server(config, report, wire, req_fd, resp_fd, bool(flags & CLONE_NEWPID))
        except BaseException as failure:  # the server must end, only by _exit
            try:
                os.write(2, f"sandbox server failed: {failure!r}\n".encode())
            finally:
                os._exit(70)
        os._exit(0)
    os.close(sync_r)
    os.close(args_fd)
    _write_all(resp_fd, wire.message_frame({"event": "spawned", "server_pid": server}))
    os.close(sync_w)
    _outer_wait(config, server, life_fd, req_fd, resp_fd, bool(flags & CLONE_NEWPID), null)


def _outer_wait(
    config, server: int, life_fd: int, req_fd: int, resp_fd: int, pidns: bool, null: int
):
    os.close(req_fd)
    os.close(resp_fd)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    try:
        pidfd = os.pidfd_open(server)
    except (AttributeError, OSError):
        pidfd = None
    poller = select.poll()
    poller.register(life_fd, select.POLLIN | select.POLLHUP)
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    while True:
        events = poller.poll(None if pidfd is not None else 50)
        if any(fd == life_fd for fd, _ in events):  # the grader is gone or closed us
            try:
                os.kill(server, signal.SIGKILL)
            except OSError:
                pass
            _, status = os.waitpid(server, 0)
            break
        pid, status = os.waitpid(server, os.WNOHANG)
        if pid == server:
            break
    if not pidns:
        if config["sweep_uid"]:
            _sweep_uid(config["uid"], config["gid"])
        _kill_descendants(os.getpid())
    _reap_all()
    if os.WIFSIGNALED(status):
        os._exit(128 + os.WTERMSIG(status))
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 70)


# ---------------------------------------------------------------- the server process


def _drop_privileges(config: dict, report: dict) -> None:
    for name, value in config["rlimits"].items():
        limit = getattr(resource, name)
        resource.setrlimit(limit, (value, value))
    cpu = config["server_cpu_seconds"]
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    os.chdir(config["work_dir"])
    os.umask(0o077)
    uid, gid = config["uid"], config["gid"]
    if uid is not None:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.getresuid() != (uid, uid, uid) or os.getgroups():
            raise RuntimeError("privileges were not dropped")
        try:
            os.setuid(0)
        except PermissionError:
            pass
        else:
            raise RuntimeError("privileges can be regained")
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    report["uid"] = os.getuid()


def _probe(config: dict, report: dict) -> None:
    """What student code can reach: run as the student uid, before any student code."""
    exposed = []
    for path, dev, ino in config["hide_ids"]:
        try:
            info = os.stat(path)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) != (dev, ino):
            continue  # something else (a mask) sits there now
        if os.access(path, os.R_OK) or (stat.S_ISDIR(info.st_mode) and os.access(path, os.X_OK)):
            exposed.append(path)
    report["exposed"] = exposed
    writable = []
    for path in ("/", "/tmp", "/var/tmp", "/dev/shm"):
        if os.path.isdir(path) and os.access(path, os.W_OK):
            try:
                probe = os.path.join(path, f".autograder-probe-{os.getpid()}")
                os.mkdir(probe)
                os.rmdir(probe)
                writable.append(path)
            except OSError:
                pass
    report["writable"] = writable


def _server(config, report, wire, req_fd: int, resp_fd: int, pidns: bool) -> None:
    if pidns:
        try:
            _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None)
        except OSError as error:
            report["notes"].append(f"cannot mount /proc: {error.strerror}")
    try:
        _drop_privileges(config, report)
    except (OSError, RuntimeError) as error:
        report["fatal"] = f"cannot drop privileges: {error}"
        _write_all(resp_fd, wire.message_frame(report))
        return
    if not pidns:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    unreachable = [
        path
        for path, mode in ((config["code_dir"], os.R_OK | os.X_OK), (config["work_dir"], os.W_OK))
        if not os.access(path, mode)
    ]
    if unreachable:  # e.g. a scratch root inside a folder only the grader may enter
        report["fatal"] = (
            f"the student's uid cannot reach the sandbox's own folders ({', '.join(unreachable)}): "
            "a folder above them is not searchable by others"
        )
        _write_all(resp_fd, wire.message_frame(report))
        return
    _probe(config, report)
    report["pid1"] = os.getpid() == 1
    _write_all(resp_fd, wire.message_frame(report))
    sys.path.insert(0, config["code_dir"])
    if not config["gpu"]:  # ``import cupy`` gives the strict simulator (see devicesim.py)
        _devicesim.install()
    elif config["preload_cupy"]:  # importing CuPy does not start CUDA: workers fork safely
        try:
            import cupy  # noqa: F401
        except BaseException:  # the cupy calls report it
            pass
    module_name = config["module"]
    try:
        module = importlib.import_module(module_name)
    except BaseException as error:  # a broken submission must be reported
        message = _describe_error(error, f"importing {module_name}.py failed:", config)
        _flush_stdio()
        _write_all(resp_fd, wire.message_frame({"event": "import_failed", "message": message}))
        return
    _flush_stdio()
    _write_all(resp_fd, wire.message_frame({"event": "imported"}))
    _serve(config, wire, module, req_fd, resp_fd, pidns)


def _serve(config, wire, module, req_fd: int, resp_fd: int, pidns: bool) -> None:
    """Keep one worker forked (ahead of the call it will serve); report how each one ended."""
    fork, wait4, write = os.fork, os.wait4, _write_all
    me = os.getpid()
    os.set_inheritable(req_fd, False)  # programs student code runs get no request pipe
    mark = mmap.mmap(-1, MARK.size)  # shared with each worker: the last request it took
    while True:
        MARK.pack_into(mark, 0, NONE)
        pid = _fork_patiently(fork)
        if pid < 0:  # answer one request without a worker, then try again
            if not _refuse(wire, req_fd, resp_fd):
                return
            continue
        if pid == 0:
            code = 0
            try:
                _work(config, wire, module, req_fd, resp_fd, mark)
            except BaseException:  # never return into the server loop
                code = 71
            _os_exit(code)
        _, status, usage = wait4(pid, 0)
        (last,) = MARK.unpack_from(mark)
        if pidns:
            _kill_namespace()
        else:
            _kill_descendants(me)
        if last == READING:  # the rest of that request is still in the pipe: cannot go on
            return
        if last == NONE:  # killed before it took a request: nobody waits for news of it
            continue
        if os.WIFSIGNALED(status):  # with its CPU time: RLIMIT_CPU's SIGKILL is known by it
            cpu = round(usage.ru_utime + usage.ru_stime, 3)
            done = {"event": "exit", "seq": last, "signal": os.WTERMSIG(status), "cpu": cpu}
        else:
            done = {"event": "exit", "seq": last, "code": os.WEXITSTATUS(status)}
        write(resp_fd, wire.message_frame(done))


def _refuse(wire, req_fd: int, resp_fd: int) -> bool:
    """No worker could be forked: read one request and say so; False when the grader is gone."""
    try:
        header, _ = wire.unpack_message(_read_frame(req_fd), max_bytes=1 << 62)
    except (EOFError, OSError):
        return False
    seq = header.get("seq")
    if type(seq) is not int:
        return False
    if header.get("op") in ("call", "batch"):
        message = "no process could be started for the call (process limit reached)"
        failed = {"event": "failed", "seq": seq, "kind": "crashed", "message": message}
        if header.get("op") == "batch":
            failed["index"] = 0
        _write_all(resp_fd, wire.message_frame(failed))
        _write_all(resp_fd, wire.message_frame({"event": "exit", "seq": seq, "code": 0}))
    else:
        _write_all(resp_fd, wire.message_frame({"event": "ended", "seq": seq}))
    return True


def _fork_patiently(fork) -> int:
    """fork(), retrying for a second while the process limit is full of dying processes."""
    for _ in range(100):
        try:
            return fork()
        except BlockingIOError:
            _reap_all()
            time.sleep(0.01)
    return -1


# ---------------------------------------------------------------- the worker process


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
        seq = header.get("seq")
        if type(seq) is not int:
            return
        MARK.pack_into(mark, 0, seq)
        op = header.get("op")
        if op not in ("call", "batch"):  # "end": the server sweeps up and reports
            return
        batch = op == "batch"
        try:
            shared = _shared_blobs(header.get("shared")) + list(blobs)
            if batch:
                tree = {"L": header["values"]}
                values = wire.decode(tree, shared, max_bytes=1 << 62, copy=False)
                calls = _batch_calls(header["calls"], values)
            else:
                decoded = wire.decode(header["args"], shared, max_bytes=1 << 62, copy=False)
                calls = [lambda decoded=decoded: decoded]
        except Exception as error:  # report, never die
            failed = {"event": "failed", "seq": seq, "kind": "crashed", "message": str(error)}
            if batch:
                failed["index"] = 0
            _flush_stdio()
            _write_all(resp_fd, wire.message_frame(failed))
            continue
        del payload, blobs, shared
        function_name = header["function"]
        try:
            backend = _backend(header.get("backend", "numpy"), config)
        except BaseException as error:  # report, never die
            message = f"the {header.get('backend')!r} backend cannot run here: {error!r}"
            failed = {"event": "failed", "seq": seq, "kind": "crashed", "message": message}
            if batch:
                failed["index"] = 0
            _write_all(resp_fd, wire.message_frame(failed))
            continue
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
        del header, calls
        args = decoded = values = None


_arguments_fd = -1
"""The memory file the grader writes each request's arrays into (see the module docstring)."""
_arguments_map = None


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
    ``_label_arguments``); ``backend`` a :class:`_Device` the arrays go to before the call
    (None: they stay NumPy arrays). Returns the size of the result's message, or -1 when the
    call failed.
    """
    positional, keywords = args
    module_name = config["module"]
    tag = {"seq": seq} if index is None else {"seq": seq, "index": index}

    def send(header: dict, blobs=()) -> int:
        _flush_stdio()
        chunks = wire.pack_message({**header, **tag}, list(blobs))
        _write_chunks(resp_fd, wire.frame(chunks))
        return sum(len(chunk) for chunk in chunks)

    def fail(kind: str, message: str) -> int:
        send({"event": "failed", "kind": kind, "message": _clip(message)})
        return -1

    function = getattr(module, function_name, None)
    if not callable(function):
        return fail(
            "missing_function",
            f"{module_name}.py has no function {function_name}(); "
            f"keep the names and signatures of the template",
        )
    snapshots = [
        (label, array, array.shape, array.dtype, array.tobytes())
        for label, array in _label_arguments(function, positional, keywords, signature)
    ]
    on_device: dict = {}
    if backend is not None:
        try:
            positional = backend.put(positional, on_device)
            keywords = backend.put(keywords, on_device)
        except BaseException as error:
            return fail(
                "crashed", f"the arguments could not be moved to the {backend.name}: {error!r}"
            )
        backend.before_call()
    try:
        result = function(*positional, **keywords)
        if backend is not None:
            backend.synchronize()
    except BaseException as error:  # SystemExit, KeyboardInterrupt included
        if _os_getpid() != me:  # a process the student forked: it must not answer or serve
            _os_exit(0)
        if backend is not None and backend.violation() is not None:
            return fail(
                "device", _device_message(function_name, backend.violation(), error, config)
            )
        return fail("exception", _describe_error(error, f"{function_name} raised", config))
    if _os_getpid() != me:
        _os_exit(0)
    if backend is not None and backend.violation() is not None:
        return fail("device", f"{function_name}: {backend.violation()}")
    for label, array, shape, dtype, before in snapshots:
        if backend is not None:
            try:
                array = backend.host_copy(on_device.get(id(array), array))
            except BaseException as error:
                return fail(
                    "crashed", f"reading {label} back from the {backend.name} failed: {error!r}"
                )
        if array.shape != shape or array.dtype != dtype or array.tobytes() != before:
            return fail(
                "modified_input",
                f"{function_name}() modified its input {label} in place; "
                f"functions must leave their inputs unchanged (work on copies)",
            )
    try:
        result = _result_on_host(result, backend, function_name, lenient=type(backend) is _Cupy)
    except _WrongDevice as wrong:
        return fail("device", str(wrong))
    except BaseException as error:
        return fail("crashed", f"reading {function_name}'s result back failed: {error!r}")
    try:
        tree, blobs = wire.encode(result, max_bytes=config["result_bytes"])
    except wire.WireError as error:
        return fail("bad_result", _bad_result_message(function_name, result, str(error)))
    del result, snapshots
    return send({"event": "result", "value": tree}, blobs)


# ---------------------------------------------------------------- device backends

_devicesim = None
"""The strict device simulator (``devicesim.py``, loaded by path in ``main``)."""
_devicesim_pristine = None
"""``devicesim.state()`` as loaded, before any student code ran (its import included)."""
_devicesim_state = _devicesim_changes = None
_devices: dict = {}


class _WrongDevice(Exception):
    """A result holds arrays of the wrong kind: host arrays for device inputs, or the reverse."""


class _Device:
    """Where a call's arrays live when it is not NumPy: see ``_Strict`` and ``_Cupy``."""

    name = "device"

    def put(self, value, seen: dict):
        """``value`` with its NumPy arrays moved to the device; ``seen`` maps each original's
        id to its device copy (to read it back for the modified-input check)."""
        import numpy as np

        kind = type(value)
        if kind is np.ndarray:
            device = self.to_device(value)
            seen[id(value)] = device
            return device
        if kind is list or kind is tuple:
            return kind(self.put(item, seen) for item in value)
        if kind is dict:
            return {key: self.put(item, seen) for key, item in value.items()}
        return value

    def to_device(self, array):
        raise NotImplementedError

    def is_device(self, value) -> bool:
        raise NotImplementedError

    def host_copy(self, value):
        raise NotImplementedError

    def before_call(self) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def violation(self):
        return None


class _Strict(_Device):
    """NumPy data in the simulator's device arrays (see devicesim.py)."""

    name = "simulated device"

    def __init__(self, sim) -> None:
        self.sim = sim
        self.pristine = _devicesim_pristine

    def to_device(self, array):
        return self.sim.to_device(array)

    def is_device(self, value) -> bool:
        return type(value) is self.sim.ndarray

    def host_copy(self, value):
        return self.sim.to_host(value) if self.is_device(value) else value

    def before_call(self) -> None:
        self.sim.clear_violations()

    def violation(self):
        if self.sim.violations:
            return self.sim.violations[0]
        # what Python's warnings machinery adds (``__warningregistry__``) is not a change
        changed = _devicesim_changes(self.pristine, _devicesim_state())
        if changed:
            return (
                "device discipline: the device simulator was modified (its module or array "
                f"class: {', '.join(changed[:5])}); graded functions must only compute"
            )
        return None


class _Cupy(_Device):
    """CuPy arrays on the current GPU; CuPy's memory pool is capped at ``gpu_memory_bytes``."""

    name = "GPU"

    def __init__(self, config) -> None:
        import cupy

        self.cupy = cupy
        self.device_id = cupy.cuda.Device().id
        cupy.get_default_memory_pool().set_limit(size=config["gpu_memory_bytes"])

    def to_device(self, array):
        return self.cupy.asarray(array)

    def is_device(self, value) -> bool:
        return type(value) is self.cupy.ndarray and value.device.id == self.device_id

    def host_copy(self, value):
        return value.get() if type(value) is self.cupy.ndarray else value

    def synchronize(self) -> None:  # a kernel that faults is reported by the call that ran it
        self.cupy.cuda.runtime.deviceSynchronize()


def _backend(name, config):
    """The ``_Device`` of backend ``name`` (None for ``numpy``), made once per worker."""
    if name == "numpy":
        return None
    if name not in _devices:
        if name == "strict" and not config["gpu"]:
            _devices[name] = _Strict(_devicesim)
        elif name == "cupy" and config["gpu"]:
            _devices[name] = _Cupy(config)
        else:
            raise ValueError(f"backend {name!r} is not enabled in this sandbox")
    return _devices[name]


def _foreign_device_array(value) -> bool:
    """A device array (CuPy's or the simulator's) where NumPy arrays were expected."""
    module = getattr(type(value), "__module__", "") or ""
    return type(value) is getattr(_devicesim, "ndarray", None) or module.startswith("cupy")


def _result_on_host(
    value, backend, function_name: str, where: str = "its result", lenient: bool = False
):
    """The result with its device arrays read back (0-d ones as NumPy scalars, as NumPy code
    returns them); raises _WrongDevice for an array on the wrong side.

    ``lenient``: NumPy arrays pass for device inputs too. On a GPU the kind of a result is seen
    only here, in the student's process, where a submission could forge it: what the grader
    scores is the values (the strict simulator's verdicts are feedback only, for the same
    reason)."""
    import numpy as np

    kind = type(value)
    if kind is np.ndarray:
        if backend is not None and not lenient:
            raise _WrongDevice(
                f"device discipline: {function_name} returned a NumPy array (host memory) as "
                f"{where} for inputs on the {backend.name}; return arrays of the inputs' "
                f"namespace: {_devicesim.ADVICE}"
            )
        return value
    if kind is list or kind is tuple:
        return kind(
            _result_on_host(item, backend, function_name, f"{where}[{index}]", lenient)
            for index, item in enumerate(value)
        )
    if kind is dict:
        return {
            key: _result_on_host(item, backend, function_name, f"{where}[{key!r}]", lenient)
            for key, item in value.items()
        }
    if backend is not None and backend.is_device(value):
        host = np.array(backend.host_copy(value), copy=True)
        return host[()] if host.ndim == 0 else host
    if _foreign_device_array(value):
        side = "NumPy arrays" if backend is None else f"arrays on the {backend.name}"
        raise _WrongDevice(
            f"{function_name} returned a device array ({type(value).__module__}.ndarray) as "
            f"{where} for inputs that are {side}; create outputs with "
            f"xp = get_array_module(x), so they live where the inputs live"
        )
    return value


def _device_message(function_name: str, violation: str, error: BaseException, config) -> str:
    described = _describe_error(error, f"{function_name} raised", config)
    if isinstance(error, _devicesim.DeviceDisciplineError):
        return described
    return f"{function_name}: {violation}\n(then) {described}"


def _bad_result_message(function_name: str, result, detail: str) -> str:
    advice = "return numpy arrays, tuples, lists, dicts or numbers"
    if detail.startswith("value is a "):
        return f"{function_name} returned a {type(result)!r}; {advice}"
    if detail.startswith("value"):
        detail = "result" + detail[len("value") :]
    return f"{function_name} returned an unusable value: {detail}; {advice}"


def _label_arguments(function, args, kwargs, cache=None):
    """Every ndarray among the arguments (inside dicts, lists and tuples too), with a label.

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
        yield from _arrays_in(value, name)


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


# ---------------------------------------------------------------- messages for students


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # the student may have replaced it
            pass


def _describe_error(error: BaseException, prefix: str, config: dict) -> str:
    """``prefix ValueError: message`` plus the traceback lines from the student's files."""
    code_dir = config["code_dir"].rstrip("/") + "/"
    try:
        text = str(error)
    except BaseException:
        text = "<the exception's message could not be shown>"
    name = type(error).__name__
    lines = [f"{prefix} {name}: {_clip(text, 1500)}" if text else f"{prefix} {name}"]
    if isinstance(error, OSError) and error.errno == 28 and config.get("scratch_bounded"):
        size = config["scratch_bytes"]
        lines.append(
            f"(the scratch folder, the only writable place, holds at most "
            f"{size / 1048576:g} MiB, and it is full)"
        )
    try:
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
    except BaseException:  # a message without traceback is still useful
        pass
    return _clip("\n".join(lines))


if __name__ == "__main__":
    try:
        main()
    except BaseException as failure:  # the grader reads the output on failure
        sys.stderr.write(f"sandbox child failed: {failure!r}\n")
        sys.stderr.flush()
        os._exit(70)
