"""Grader-side isolation decisions: which uid runs student code, what to hide, what to kill.

The child (``child.py``) does the actual unsharing, mounting and privilege dropping, and
reports what worked before any student code runs; this module turns that report into the
one-line ``Sandbox.isolation`` summary, and holds the probes whose answers are cached for the
life of the grader process.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STUDENT_USER = "autograder-student"
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


_account: Account | None = None
_account_error: str | None = None
_namespaces_work: bool | None = None


def running_as_root() -> bool:
    return os.geteuid() == 0


def student_account() -> Account:
    """The dedicated ``autograder-student`` user (created with useradd if missing).

    Only meaningful as root. Where the system has no useradd at all, the shared ``nobody`` uid
    (the isolation report says so). The result, or the failure, is cached for the life of the
    process.

    Raises:
        AccountError: the user is missing and useradd failed (after ``USERADD_ATTEMPTS``
            tries: concurrent gradings may hold the password file's lock), with its message.
    """
    global _account, _account_error
    if _account is not None:
        return _account
    if _account_error is not None:
        raise AccountError(_account_error)
    entry = _lookup(STUDENT_USER)
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
            problem = _useradd(useradd)
            entry = _lookup(STUDENT_USER)  # made by us, or by a grading running beside us
            if entry is not None:
                break
        if entry is None:
            _account_error = (
                f"the student account {STUDENT_USER!r} is missing and could not be created: "
                f"{problem or 'useradd reported success but the user does not exist'}"
            )
            raise AccountError(_account_error)
    if entry is not None and entry.pw_uid != 0 and entry.pw_gid != 0:
        _account = Account(entry.pw_uid, entry.pw_gid, STUDENT_USER, True)
    else:
        _account = Account(NOBODY_UID, NOBODY_UID, "nobody", False)
    return _account


def _lookup(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def _useradd(useradd: str) -> str:
    """Run useradd for the student account; what went wrong ("" when it exited 0)."""
    command = [
        useradd,
        "--system",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        "--user-group",
        STUDENT_USER,
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


def describe(report: dict[str, Any], *, root: bool, account: Account | None) -> str:
    """``"full"`` or ``"partial: <what is missing>"`` from the child's setup report.

    Example: ``partial: not root, student code runs as the grader's user; no mount/net
    namespaces (network and files visible); no pid namespace; readable: /work/main;
    writable: /tmp``.
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
    if "pid" not in spaces:
        missing.append("no pid namespace")
    exposed = report.get("exposed") or []
    if exposed:
        missing.append("readable: " + ", ".join(exposed))
    writable = report.get("writable") or []
    if writable:
        missing.append("writable: " + ", ".join(writable))
    return "full" if not missing else "partial: " + "; ".join(missing)
