"""UNTRUSTED side (runs in the sandbox's child, never imported by the grader): the outer
process's isolation, built before any student code runs.

Loaded by path by ``untrusted_child.py`` (registered as ``_autograder_untrusted_mounts``).
The outer process, as root where it may, enters new namespaces (:func:`_unshare`) and builds
the allow-list root student code is confined to (:func:`_build_root`: only the folders and
files it needs, read-only, and a size-bounded scratch tmpfs); where that fails it hides what
the grader names behind empty mounts instead (:func:`_setup_mounts`, a deny-list), and
without any mount namespace lets the student uid import from folders it cannot search
(:func:`_reach_through_fds`). It imports only the standard library.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import stat
import sys

from _autograder_untrusted_common import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUTS,
    MS_BIND,
    MS_NOATIME,
    MS_NODEV,
    MS_NODIRATIME,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_RELATIME,
    MS_REMOUNT,
    _check,
    _libc,
    _mount,
)

ST_FLAGS_TO_MS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)

PRELOAD = ("decimal", "fractions", "statistics", "random", "zlib", "bz2", "lzma", "ctypes")
"""Imported before the uid drop when the interpreter's folders are out of the student uid's
reach and no mount namespace can bind them back (their C libraries are not on sys.path)."""


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
        if not _mask(mask, config, needed, report):
            all_ok = False
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


def _mask(mask: str, config: dict, needed: dict[str, int], report: dict) -> bool:
    """Hide ``mask`` behind an empty tmpfs (a folder; the needed folders under it bound back)
    or the null device (a file); False when it could not be hidden (the report says why)."""
    work = config["work_dir"]
    try:
        info = os.lstat(mask)
    except OSError:
        return True
    if stat.S_ISLNK(info.st_mode):
        return True
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
        report["notes"].append(f"cannot hide {mask}: {error.strerror}")
        return False
    return True


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
