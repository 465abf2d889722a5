"""Grader-side isolation decisions: which uid runs student code, what to hide, what to kill.

The child (``untrusted_mounts.py`` and ``untrusted_server.py``, run by ``untrusted_child.py``)
does the actual unsharing, mounting and privilege dropping, and reports what worked before any
student code runs; this module turns that report into the one-line ``Sandbox.isolation``
summary, and holds the probes whose answers are cached for the life of the grader process.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pwd

STUDENT_USER = "autograder-student"
"""The prefix of the pool's users: slot ``n`` runs as ``autograder-student-<n>``."""


def _pool_size(text: str | None) -> int:
    try:
        return max(1, int(text or "64"))
    except ValueError:
        return 64


POOL_SIZE = _pool_size(os.environ.get("AUTOGRADER_UID_POOL"))
"""How many sandboxes may run at once on one machine, each as a uid of its own (the
``AUTOGRADER_UID_POOL`` environment variable; users are created on first use, lowest free slot
first, so a machine that runs two gradings at a time has two)."""
LOCK_DIRS = ("/run/autograder", "/var/lib/autograder")
"""Where the pool's lock files live (the first that can be made root-only is used)."""
LEASE_TIMEOUT = 120.0
"""How long a sandbox waits for a free slot when all ``POOL_SIZE`` are leased."""
NOBODY_UID = 65534
USERADD: str | None = None
"""The useradd program (None: found on PATH or in /usr/sbin); a setting for tests."""
USERADD_ATTEMPTS = 3

DEFAULT_MASKS = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/root", "/home", "/autograder")
"""Hidden from student code whenever a mount namespace is available (besides ``hide``)."""


@dataclass(frozen=True)
class Account:
    """The uid/gid student code runs as when the grader is root."""

    uid: int
    gid: int
    name: str
    dedicated: bool


class AccountError(OSError):
    """The dedicated student account is missing and could not be created (useradd failed):
    a failure of the grader's environment. The message carries useradd's own words or the
    operating system's error."""


class PoolExhausted(AccountError):
    """Every slot of the uid pool stayed leased for ``LEASE_TIMEOUT`` seconds."""


_accounts: dict[int, Account] = {}
_account_errors: dict[int, str] = {}
_namespaces_work: bool | None = None


def running_as_root() -> bool:
    return os.geteuid() == 0


def user_name(slot: int) -> str:
    return f"{STUDENT_USER}-{slot}"


def student_account(slot: int = 0) -> Account:
    """The dedicated user of pool slot ``slot``, ``autograder-student-<slot>`` (created with
    useradd if missing: no home, no login shell, a group of its own, no other groups).

    Only meaningful as root. Where the system has no useradd at all, the shared ``nobody`` uid
    (the isolation report says so). The result, or the failure, is cached per slot for the life
    of the process. Use :func:`lease_account` to get a uid no other sandbox uses.

    Raises:
        AccountError: the user is missing and useradd failed (after ``USERADD_ATTEMPTS``
            tries: concurrent gradings may hold the password file's lock), with its message.
    """
    account = _accounts.get(slot)
    if account is not None:
        return account
    if slot in _account_errors:
        raise AccountError(_account_errors[slot])
    name = user_name(slot)
    entry = _lookup(name)
    useradd = (
        USERADD
        or shutil.which("useradd")
        or ("/usr/sbin/useradd" if os.path.exists("/usr/sbin/useradd") else None)
    )
    if entry is None and useradd and running_as_root():
        problem = ""
        for attempt in range(USERADD_ATTEMPTS):
            if attempt:
                time.sleep(0.2 * attempt)
            problem = _useradd(useradd, name)
            entry = _lookup(name)  # made by us, or by a grading running beside us
            if entry is not None:
                break
        if entry is None:
            _account_errors[slot] = (
                f"the student account {name!r} is missing and could not be created: "
                f"{problem or 'useradd reported success but the user does not exist'}"
            )
            raise AccountError(_account_errors[slot])
    if entry is not None and entry.pw_uid != 0 and entry.pw_gid != 0:
        account = Account(entry.pw_uid, entry.pw_gid, name, True)
    else:
        account = Account(NOBODY_UID, NOBODY_UID, "nobody", False)
    _accounts[slot] = account
    return account


@dataclass
class Lease:
    """Pool slot ``slot`` held by this process (an ``flock`` on its lock file) until
    :meth:`release`, or until the process dies (the kernel drops the lock then)."""

    slot: int
    account: Account
    fd: int | None

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            try:
                os.close(fd)  # closing the only descriptor of the open file drops the flock
            except OSError:
                pass


def lock_dir() -> str:
    """The root-only folder of the pool's lock files (made if missing).

    Raises:
        OSError: none of ``LOCK_DIRS`` can be made, or one exists but is not a folder owned by
            root and closed to everyone else (it is then never trusted).
    """
    problems = []
    for path in LOCK_DIRS:
        try:
            os.makedirs(path, mode=0o700, exist_ok=True)
            info = os.lstat(path)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
                raise OSError(errno.EPERM, "not a folder owned by the grader", path)
            if info.st_mode & 0o077:
                os.chmod(path, 0o700)
            return path
        except OSError as error:
            problems.append(str(error))
    raise OSError(errno.EACCES, "no folder for the uid pool's locks: " + "; ".join(problems))


def _try_slot(folder: str, slot: int) -> int | None:
    """The open, flock-ed lock file of ``slot``; None when another sandbox holds it."""
    path = os.path.join(folder, f"slot-{slot}.lock")
    import fcntl  # POSIX only: the kit's other parts import on every platform

    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError:
        os.close(fd)
        raise
    return fd


def lease_account(timeout: float | None = None) -> Lease:
    """A pool slot no other sandbox on this machine holds, and its user (see
    :func:`student_account`), for the life of one sandbox. The lowest free slot is taken;
    when all ``POOL_SIZE`` are held, waits up to ``timeout`` (``LEASE_TIMEOUT``) for one.

    Processes a dead holder of the slot left running as its uid (a grader killed with
    SIGKILL) are killed before the lease is returned: the uid's processes are then this
    sandbox's alone, so its RLIMIT_NPROC, sweeps and counts concern it alone.

    Raises:
        PoolExhausted: no slot became free in time.
        AccountError: the slot's user could not be created, or the lock folder is unusable.
    """
    timeout = LEASE_TIMEOUT if timeout is None else timeout
    try:
        folder = lock_dir()
    except OSError as error:
        raise AccountError(f"the uid pool cannot be used: {error}") from None
    deadline = time.monotonic() + timeout
    pause = 0.02
    while True:
        for slot in range(max(1, POOL_SIZE)):
            try:
                fd = _try_slot(folder, slot)
            except OSError as error:
                raise AccountError(f"the uid pool's lock {slot} cannot be taken: {error}") from None
            if fd is None:
                continue
            try:
                account = student_account(slot)
            except BaseException:
                os.close(fd)
                raise
            lease = Lease(slot, account, fd)
            if account.dedicated and process_count(account.uid):
                try:
                    sweep_uid(account)
                except (OSError, subprocess.SubprocessError):
                    pass
            return lease
        if time.monotonic() >= deadline:
            raise PoolExhausted(
                f"all {POOL_SIZE} student uids of the pool stayed in use for {timeout:g} s "
                f"(raise AUTOGRADER_UID_POOL or run fewer gradings at once)"
            )
        time.sleep(pause)
        pause = min(0.5, pause * 2)


def slot_is_free(slot: int) -> bool:
    """Whether no sandbox holds pool slot ``slot`` now (for tests and diagnostics)."""
    fd = _try_slot(lock_dir(), slot)
    if fd is None:
        return False
    os.close(fd)
    return True


def idle_pool_processes() -> dict[int, int]:
    """``{uid: process count}`` of the pool's users whose slot no sandbox holds, checked while
    holding the slot (so none can start meanwhile): leftovers of finished sandboxes."""
    found: dict[int, int] = {}
    if not running_as_root():
        return found
    folder = lock_dir()
    for slot in range(max(1, POOL_SIZE)):
        entry = _lookup(user_name(slot))
        if entry is None:
            continue
        fd = _try_slot(folder, slot)
        if fd is None:
            continue
        try:
            count = process_count(entry.pw_uid)
        finally:
            os.close(fd)
        if count:
            found[entry.pw_uid] = count
    return found


def _lookup(name: str) -> pwd.struct_passwd | None:
    import pwd  # POSIX only

    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _useradd(useradd: str, name: str) -> str:
    """Run useradd for the student account ``name``; what went wrong ("" when it exited 0)."""
    command = [
        useradd,
        "--system",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        "--user-group",
        name,
    ]
    try:
        done = subprocess.run(command, input=b"", capture_output=True, check=False, timeout=30)
    except (OSError, subprocess.SubprocessError) as error:
        return f"{useradd} could not run: {error}"
    if done.returncode == 0:
        return ""
    said = (done.stderr or done.stdout).decode("utf-8", errors="replace").strip()[-500:]
    return f"{useradd} exited with status {done.returncode}" + (f": {said}" if said else "")


def namespaces_known_unavailable() -> bool:
    """True once a child reported that it could not unshare namespaces (probe cached)."""
    return _namespaces_work is False


def remember_namespaces(worked: bool) -> None:
    global _namespaces_work
    if _namespaces_work is None or worked:
        _namespaces_work = worked


def hide_ids(paths: list[str]) -> list[tuple[str, int, int]]:
    """``(path, st_dev, st_ino)`` of each existing path: the child checks it sees another."""
    found = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        found.append((path, info.st_dev, info.st_ino))
    return found


def process_count(uid: int) -> int:
    """How many processes ``uid`` runs now (for an RLIMIT_NPROC that leaves room)."""
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += 1
            except OSError:
                continue
    return count


def sweep_uid(account: Account) -> None:
    """Kill every process of the student uid at once: ``kill(-1, SIGKILL)`` run as that uid.

    kill(-1) is atomic with respect to fork, so it also stops fork bombs and catches
    double-forked ``setsid`` daemons. Only for a dedicated uid: never for a shared one.
    """
    if not (running_as_root() and account.dedicated):
        return
    code = (
        "import os, sys\n"
        "u, g = int(sys.argv[1]), int(sys.argv[2])\n"
        "os.setgroups([]); os.setresgid(g, g, g); os.setresuid(u, u, u)\n"
        "try:\n    os.kill(-1, 9)\nexcept ProcessLookupError:\n    pass\n"
    )
    subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, str(account.uid), str(account.gid)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
        timeout=30,
    )


def resolve_hidden(paths: list[Path | str]) -> list[str]:
    """Absolute, symlink-free forms of the paths to hide (each path and its resolution)."""
    found: list[str] = []
    for path in paths:
        for form in (os.path.abspath(path), os.path.realpath(path)):
            if form not in found and form != "/":
                found.append(form)
    return found


BOUNDS_NOTE = "(per-process limits only)"
"""Ends the isolation report's last item when no cgroup bounds the whole sandbox."""


def describe(
    report: dict[str, Any], *, root: bool, account: Account | None, bounds: str = ""
) -> str:
    """``"full"`` or ``"partial: <what is missing>"`` from the child's setup report.

    ``bounds``: why no cgroup bounds the sandbox's memory and processes together ("" when one
    does). Without one the bounds are per process (RLIMIT_AS each) and per uid (RLIMIT_NPROC
    of the leased uid), so many processes together may take more memory than the sandbox's
    limit, and the machine's: that is reported as partial.

    Example: ``partial: not root, student code runs as the grader's user; no mount/net
    namespaces (network and files visible); no pid namespace; readable: /work/main;
    writable: /tmp; no cgroup v2 memory controller (per-process limits only)``.
    """
    missing: list[str] = []
    if not root:
        missing.append("not root, student code runs as the grader's user")
    elif account is None:
        missing.append("uid drop disabled, student code runs as root")
    elif report.get("uid") in (0, None):
        missing.append("student code still runs as root")
    elif not account.dedicated:
        missing.append(f"shared uid {account.uid} (no uid-wide kill)")
    spaces = report.get("namespaces") or []
    if "mount" not in spaces or "net" not in spaces:
        reason = next((n for n in report.get("notes", []) if n.startswith("unshare")), "")
        missing.append(
            f"no mount/net namespaces ({reason or 'not attempted'}; network and files visible)"
        )
    elif not report.get("mounts_ok"):
        missing.append("hiding paths failed (" + "; ".join(report.get("notes", [])) + ")")
    elif not report.get("allow_list"):
        missing.append("no allow-list root (only the paths the kit names are hidden)")
    if "pid" not in spaces:
        missing.append("no pid namespace")
    exposed = report.get("exposed") or []
    if exposed:
        missing.append("readable: " + ", ".join(exposed))
    writable = report.get("writable") or []
    if writable:
        missing.append("writable: " + ", ".join(writable))
    if not report.get("scratch_bounded"):
        missing.append("scratch folder not size-bounded (on the grader's disk)")
    if bounds:
        missing.append(f"{bounds} {BOUNDS_NOTE}")
    return "full" if not missing else "partial: " + "; ".join(missing)


def confinement(text: str) -> str:
    """The isolation report without its resource-bounds item: ``"full"`` when student code
    could neither see, nor touch, nor signal anything of the grader's (tests of confinement
    use it on machines whose cgroups cannot be used)."""
    if not text.endswith(BOUNDS_NOTE):
        return text
    head, _, _ = text.rpartition("; ")  # the bounds item is the last, and holds no "; "
    return head or "full"
