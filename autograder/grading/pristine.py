"""Grading where student code is only partially isolated: one submission at a time, each from a
pristine copy of the kit that is checked after its grading (``grade-all
--allow-partial-isolation``).

Where the sandbox cannot fully isolate student code (not root: it runs as the grader's own
user; root without namespaces: it sees the file system, the network and a shared ``/tmp``), a
submission could change the files every later grading runs from (``autograder/suite/compare.py``,
numpy), forge its own results, or leave a process behind to tamper with the next grading. So
:class:`Pristine` grades each submission:

* from a fresh copy of the kit (the ``autograder`` package, ``assignments/``, ``solutions/``,
  ``pyproject.toml``) in a private temporary folder (mode 0700; 0711 as root, so the student
  pool's uid can reach its scratch folder inside without listing it; the grading's ``TMPDIR``),
  compiled there and digested (SHA-256 over relative paths and bytes, ``__pycache__``
  included) before the grading; the grading's pytest runs in that copy (its working folder,
  ``PYTHONPATH`` and ``AUTOGRADER_HOME``), with no user site and no bytecode written, and
  cannot be traced or have its memory read by a process of the same user (it is made
  non-dumpable, as is the grading process itself while it grades);
* and after the grading checks that the copy's digest is unchanged, that no process the
  grading started is left (this process is a child subreaper while it grades, so whatever the
  grading started and left behind, a ``setsid`` daemon too, becomes its child, running or
  ended; as root, also that no process of an idle uid of the student pool appeared), and that
  nothing changed in what later gradings use: the kit's checkout, the folders the grading's
  Python imports from (and the interpreter), the class's submissions, the results folder.

A changed copy or a process left behind makes that grading untrusted (``Outcome.untrusted``:
a grading error, never a score); a change outside the copy (``Outcome.compromised``) means the
machine can no longer be trusted for the gradings that follow, and ``grade-all`` stops. The
copy is deleted either way.
"""

from __future__ import annotations

import compileall
import ctypes
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from autograder.core.assignments import Assignment
from autograder.grading.grade import TIMEOUT_MARGIN, GradeReport, run_pytest, suite_command
from autograder.grading.grade import _report_from as report_from  # the same reading as grade's
from autograder.sandbox import spawn

KIT_PARTS = ("autograder", "assignments", "solutions", "pyproject.toml")
"""What a pristine copy holds: the package, the suites and configs, the reference solutions, and
the pytest settings the suites run under."""

PROBE_MODULE = "autograder_isolation_probe"

FULL_ISOLATION_HOW = (
    "run grade-all as root on Linux where the kernel lets it make namespaces (not inside a "
    "container that forbids unshare)"
)

GIVES_UP = (
    "student code then runs with every power of the user that grades (as root without "
    "namespaces: of its own uid, seeing the file system, the network and /tmp): it can read "
    "the hidden suites, the reference solutions and classmates' submissions and send them over "
    "the network, change files outside what is checked (your home, your crontab) and start "
    "processes through system services; grade-all then grades one submission at a time, each "
    "from a fresh copy of the kit checked after its grading, and makes a grading that changed "
    "the copy or left a process behind a grading error, and stops when anything later "
    "gradings use changed"
)

DUMPABLE = 4  # PR_SET_DUMPABLE
GET_DUMPABLE = 3  # PR_GET_DUMPABLE
SET_SUBREAPER = 36  # PR_SET_CHILD_SUBREAPER
GET_SUBREAPER = 37  # PR_GET_CHILD_SUBREAPER

BOOTSTRAP = (
    "import ctypes, sys\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)\n"
    "except (OSError, AttributeError):\n"
    "    pass\n"
    "import pytest\n"
    "sys.exit(pytest.console_main())\n"
)
"""The grading's pytest, made non-dumpable first (PR_SET_DUMPABLE 0): a process of the same
user can then neither trace it, nor read or write its memory, environment or working folder."""

LEFTOVER_WAIT = 5.0
"""How long the processes a grading left behind are given to die once killed."""

SHOWN = 8
"""At most this many changed paths or leftover processes are named in a message."""


def is_full(isolation: str) -> bool:
    """Whether a sandbox's isolation report says student code was fully isolated."""
    return isolation.startswith("full")


def probe_isolation() -> str:
    """The isolation a sandbox gets on this machine: one is started on a trivial module in a
    private temporary folder and closed at once (a fraction of a second)."""
    from autograder.core.assignments import REPO_ROOT
    from autograder.sandbox import Sandbox

    with tempfile.TemporaryDirectory(prefix="autograder-probe-") as folder:
        module = f"{PROBE_MODULE}.py"
        (Path(folder) / module).write_text("def probe():\n    return 1\n", encoding="utf-8")
        sandbox = Sandbox(folder, (module,), PROBE_MODULE, hide=(REPO_ROOT,))
        try:
            sandbox.start()
            return sandbox.isolation
        finally:
            sandbox.close()


def refusal(isolation: str) -> str:
    """Why ``grade-all`` will not grade with this isolation, and what to do."""
    return (
        "grade-all grades a class only where student code is fully isolated; here it would "
        f"not be ({isolation}).\n"
        f"For full isolation, {FULL_ISOLATION_HOW}.\n"
        "To grade here anyway, pass --allow-partial-isolation: "
        f"{GIVES_UP}. See README.md, 'How student code is run'."
    )


# ---------------------------------------------------------------- the kit and its digest


@dataclass(frozen=True)
class KitSource:
    """Where the kit a grading runs from comes from.

    Attributes:
        root: the checkout (watched whole for changes while grading).
        parts: name in the copy -> where it is now (a folder or a file).
    """

    root: Path
    parts: dict[str, Path]

    @classmethod
    def installed(cls) -> KitSource:
        """The kit this process runs: its package, and the assignments and solutions next to
        it (or under ``AUTOGRADER_HOME``)."""
        import autograder
        from autograder.core import assignments

        root = assignments.REPO_ROOT
        parts = {
            "autograder": Path(autograder.__file__).resolve().parent,
            "assignments": assignments.ASSIGNMENTS_DIR,
            "solutions": assignments.SOLUTIONS_DIR,
        }
        if (root / "pyproject.toml").is_file():
            parts["pyproject.toml"] = root / "pyproject.toml"
        return cls(root, parts)

    @classmethod
    def at(cls, root: Path, names: Iterable[str] = KIT_PARTS) -> KitSource:
        """The kit whose parts ``names`` lie directly in ``root`` (those that exist)."""
        return cls(root, {n: root / n for n in names if (root / n).exists()})

    def copy_into(self, kit: Path) -> None:
        """A copy of every part in ``kit`` (which must not exist), without bytecode caches."""
        kit.mkdir(mode=0o700)
        skip = shutil.ignore_patterns("__pycache__", "*.pyc")
        for name, path in self.parts.items():
            if path.is_dir():
                shutil.copytree(path, kit / name, symlinks=True, ignore=skip)
            else:
                shutil.copy2(path, kit / name)


def tree_state(root: Path) -> dict[str, str]:
    """``{relative path: what it is}`` for everything under ``root``: a file's SHA-256, a
    link's target, a folder; what :func:`tree_digest` digests."""
    state: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in dirs + sorted(files):
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                state[relative] = "link " + os.readlink(path)
            elif stat.S_ISDIR(info.st_mode):
                state[relative] = "folder"
            elif stat.S_ISREG(info.st_mode):
                state[relative] = "file " + _file_sha256(path)
            else:
                state[relative] = f"special {stat.S_IFMT(info.st_mode):o}"
    return state


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def tree_digest(state: dict[str, str]) -> str:
    """SHA-256 over the relative paths and contents of a :func:`tree_state`."""
    digest = hashlib.sha256()
    for relative in sorted(state):
        digest.update(relative.encode("utf-8", "surrogateescape") + b"\0")
        digest.update(state[relative].encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two states: ``changed: x``, ``added: y``, ``removed: z``."""
    found = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            found.append(f"removed: {key}")
        elif key not in before:
            found.append(f"added: {key}")
        elif before[key] != after[key]:
            found.append(f"changed: {key}")
    return found


def _fingerprint(root: str, skip: frozenset[str]) -> dict[str, tuple[int, ...]]:
    """``{path: (type and mode, size, mtime, ctime, inode)}`` of everything under ``root``
    (and of ``root``). A process that is not root cannot set a file's ctime, so any write,
    rename, chmod or new entry shows, without reading a byte."""
    found: dict[str, tuple[int, ...]] = {}
    try:
        info = os.lstat(root)
    except OSError:
        return found
    found[root] = (info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
    if not stat.S_ISDIR(info.st_mode):
        return found
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.path in skip:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found[entry.path] = (
                info.st_mode,
                info.st_size,
                info.st_mtime_ns,
                info.st_ctime_ns,
                info.st_ino,
            )
            if stat.S_ISDIR(info.st_mode):
                pending.append(entry.path)
    return found


class Watch:
    """Paths whose every change is noticed (see :func:`_fingerprint`). A watched path inside
    another, or one of ``skip``, is left out of the walks of those that hold it."""

    def __init__(self, paths: Iterable[Path | str], skip: Iterable[Path | str] = ()) -> None:
        roots: list[str] = []
        for path in paths:
            real = os.path.realpath(path)
            if real not in roots:
                roots.append(real)
        self.roots = roots
        self._skip = frozenset(roots) | {os.path.realpath(p) for p in skip}

    def snapshot(self) -> dict[str, dict[str, tuple[int, ...]]]:
        return {root: _fingerprint(root, self._skip - {root}) for root in self.roots}

    @staticmethod
    def changes(
        before: dict[str, dict[str, tuple[int, ...]]], after: dict[str, dict[str, tuple[int, ...]]]
    ) -> list[str]:
        found = []
        for root in before:
            found += differences(before[root], after.get(root, {}))
        return found


def python_paths(python: str = sys.executable) -> list[str]:
    """What the grading's interpreter imports from: its ``sys.path`` as the grading starts it
    (no user site), its executable, its shared library and its ``pyvenv.cfg``."""
    probe = "import json, sys; print(json.dumps(sys.path))"
    env = _clean_environment(os.environ)
    with tempfile.TemporaryDirectory(prefix="autograder-path-") as empty:
        done = subprocess.run(
            [python, "-s", "-B", "-c", probe],
            cwd=empty,
            env={**env, "PYTHONPATH": empty},
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        paths = [
            p
            for p in json.loads(done.stdout)
            if p and os.path.realpath(p) != os.path.realpath(empty)
        ]
    paths.append(os.path.realpath(python))
    library = sysconfig.get_config_var("LDLIBRARY")
    libdir = sysconfig.get_config_var("LIBDIR")
    if library and libdir:
        paths.append(os.path.join(libdir, library))
    paths.append(os.path.join(sys.prefix, "pyvenv.cfg"))
    return [p for p in paths if os.path.lexists(p)]


# ---------------------------------------------------------------- processes


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - not Linux
        return None


def _prctl_get(option: int) -> int | None:
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


def _prctl_set(option: int, value: int) -> bool:
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


def _pool_processes() -> dict[int, int]:
    """As root: ``{uid: count}`` of processes of student-pool uids no sandbox holds."""
    from autograder.sandbox import isolation

    if not isolation.running_as_root():
        return {}
    try:
        return isolation.idle_pool_processes()
    except OSError:
        return {}


# ---------------------------------------------------------------- grading


class PristineError(OSError):
    """Gradings from pristine copies cannot be made on this machine (see the message)."""


@dataclass
class Outcome:
    """One grading from a pristine copy.

    Attributes:
        report: what the grading itself reported.
        untrusted: why its result cannot be trusted (the copy changed, a process was left
            behind): it is a grading error, never a score.
        compromised: what changed outside the copy (the checkout, the Python installation,
            the submissions, the results): nothing graded after it on this machine can be
            trusted until that is restored.
    """

    report: GradeReport
    untrusted: list[str] = field(default_factory=list)
    compromised: list[str] = field(default_factory=list)


def _clean_environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The grader's environment without what points Python, pytest or the kit elsewhere."""
    drop = {
        "PYTHONPATH",
        "PYTHONHOME",
        "PYTHONSTARTUP",
        "PYTHONUSERBASE",
        "PYTHONSAFEPATH",
        "AUTOGRADER_HOME",
        "PWD",
        "OLDPWD",
    }
    return {k: v for k, v in environ.items() if k not in drop}


def _summary(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _remove(path: Path) -> None:
    """Remove ``path`` whatever modes a grading set inside it (a folder made unreadable)."""
    for folder, dirs, _ in os.walk(path):
        for name in dirs:
            try:
                os.chmod(os.path.join(folder, name), 0o700, follow_symlinks=False)
            except (OSError, NotImplementedError):
                pass
    shutil.rmtree(path, ignore_errors=True)


class Pristine:
    """Grades submissions one at a time, each from a fresh copy of ``kit`` (see the module
    docstring). Use as a context manager around the gradings: while it is open this process
    is a child subreaper and not dumpable, and the baselines of what is watched are taken.

    Args:
        kit: where the copies come from (default: the kit this process runs).
        watch: further paths that no grading may change: the class's submissions, the folder
            of the collected submission files.
        results: the results folder: it may change between gradings (``note_results``), never
            during one.

    The gradings run this process's interpreter.
    """

    def __init__(
        self,
        kit: KitSource | None = None,
        *,
        watch: Iterable[Path | str] = (),
        results: Path | None = None,
    ) -> None:
        self.kit = kit or KitSource.installed()
        self._extra = list(watch)
        self._results = results
        self._static: Watch | None = None
        self._static_state: dict[str, dict[str, tuple[int, ...]]] = {}
        self._results_watch: Watch | None = None
        self._results_state: dict[str, dict[str, tuple[int, ...]]] = {}
        self._source_state: dict[str, str] = {}
        self._saved: dict[int, int | None] = {}
        self._open = False
        self.last_private: Path | None = None  # the folder of the latest grading (tests)

    # -------------------------------------------------------------- life

    def __enter__(self) -> Pristine:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Take the baselines; become a subreaper and non-dumpable.

        Raises:
            PristineError: the kit cannot be copied, the interpreter cannot be asked where it
                imports from, or this process cannot become a child subreaper (Linux only).
        """
        if self._open:
            return
        try:
            with tempfile.TemporaryDirectory(prefix="autograder-pristine-") as folder:
                self.kit.copy_into(Path(folder) / "kit")
                self._source_state = tree_state(Path(folder) / "kit")
            roots = [self.kit.root, *self.kit.parts.values(), *python_paths()]
        except (OSError, subprocess.SubprocessError, ValueError) as error:
            raise PristineError(f"the pristine copies cannot be prepared: {error}") from None
        git = self.kit.root / ".git"  # its index and objects change under an editor's feet:
        roots += [git / "config", git / "hooks"]  # what runs code when you next use git
        roots += [Path(p) for p in self._extra]
        skip = [git]
        if self._results is not None:  # it changes between gradings: watched apart
            self._results_watch = Watch([self._results])
            skip += self._results_watch.roots
        self._static = Watch(roots, skip=skip)
        self._static_state = self._static.snapshot()
        self._saved = {
            GET_SUBREAPER: _prctl_get(GET_SUBREAPER),
            GET_DUMPABLE: _prctl_get(GET_DUMPABLE),
        }
        if not _prctl_set(SET_SUBREAPER, 1):
            raise PristineError(
                "this system cannot make the grader a child subreaper (Linux only), so the "
                "processes a grading leaves behind could not be found"
            )
        _prctl_set(DUMPABLE, 0)
        self._open = True
        self.note_results()

    def close(self) -> None:
        """Stop being a subreaper and restore dumpability (what the gradings left behind was
        killed and reaped after each of them)."""
        if not self._open:
            return
        self._open = False
        subreaper = self._saved.get(GET_SUBREAPER)
        dumpable = self._saved.get(GET_DUMPABLE)
        _prctl_set(SET_SUBREAPER, subreaper or 0)
        if dumpable is not None:
            _prctl_set(DUMPABLE, dumpable)

    def note_results(self) -> None:
        """The results folder as it is now is legitimate (the grader just wrote to it)."""
        if self._results_watch is not None:
            self._results_state = self._results_watch.snapshot()

    # -------------------------------------------------------------- grading

    def grade(self, assignment: Assignment, submission: Path) -> Outcome:
        """Grade ``submission`` (a folder of the assignment's files) from a fresh copy."""
        if not self._open:
            raise RuntimeError("Pristine.grade outside open()/close()")
        root = os.geteuid() == 0
        private = Path(tempfile.mkdtemp(prefix="autograder-pristine-"))
        self.last_private = private
        try:
            return self._grade(assignment, submission, private, root)
        finally:
            _remove(private)

    def _grade(
        self, assignment: Assignment, submission: Path, private: Path, root: bool
    ) -> Outcome:
        kit, tmp, results = private / "kit", private / "tmp", private / "results"
        name = assignment.name
        try:
            self.kit.copy_into(kit)
            copied = tree_state(kit)
            if copied != self._source_state:
                changed = differences(self._source_state, copied)
                report = _error_report(name, submission, "the kit changed since grading began")
                return Outcome(report, compromised=[f"the kit's checkout: {_summary(changed)}"])
            compileall.compile_dir(str(kit), quiet=2, workers=1)
            tmp.mkdir(mode=0o700)
            results.mkdir(mode=0o700)
            files = private / "submission"
            files.mkdir(mode=0o700)
            for path in sorted(submission.iterdir()):
                if path.is_file() and not path.is_symlink():
                    shutil.copy2(path, files / path.name)
            if root:  # the student pool's uid must reach its scratch folder in tmp/ (not list)
                os.chmod(private, 0o711)
                os.chmod(tmp, 0o711)
            before = tree_state(kit)
        except OSError as error:
            problem = f"the pristine copy of the kit could not be made: {error}"
            return Outcome(_error_report(name, submission, problem))
        digest = tree_digest(before)
        children = children_of(os.getpid())
        pool = _pool_processes()
        report = self._run(replace(assignment, folder=kit / "assignments" / name), files, private)
        outcome = Outcome(report)
        left, alive = end_leftovers(children)
        if left:
            outcome.untrusted.append(
                f"{len(left)} processes it started were left after it (killed): {_summary(left)}"
            )
        if alive:
            outcome.compromised.append(f"processes that could not be killed: {_summary(alive)}")
        grew = {uid: n for uid, n in _pool_processes().items() if n > pool.get(uid, 0)}
        if grew:
            outcome.untrusted.append(
                "processes of idle student uids appeared during it: "
                + ", ".join(f"uid {uid}: {n}" for uid, n in sorted(grew.items()))
            )
        try:
            after = tree_state(kit)
        except OSError as error:
            after = {"": f"unreadable: {error}"}
        if tree_digest(after) != digest:
            outcome.untrusted.append(
                "the kit it ran from was changed during it: " + _summary(differences(before, after))
            )
        changed = self.check()
        if changed:
            outcome.compromised.append(_summary(changed))
        return outcome

    def check(self) -> list[str]:
        """What changed, since the baselines, in what no grading may change."""
        assert self._static is not None
        changed = Watch.changes(self._static_state, self._static.snapshot())
        if self._results_watch is not None:
            changed += Watch.changes(self._results_state, self._results_watch.snapshot())
        return changed

    def _run(self, assignment: Assignment, submission: Path, private: Path) -> GradeReport:
        """The assignment's suites run by a pytest that knows only the private folder."""
        kit, results_path = private / "kit", private / "results" / "results.json"
        suites = [str(assignment.folder / suite) for suite in ("public", "hidden")]
        command = suite_command(suites, submission, (f"--results={results_path}",))
        command = [sys.executable, "-s", "-B", "-c", BOOTSTRAP, *command[3:]]
        env = _clean_environment(os.environ)
        env.update(
            PYTHONPATH=str(kit),
            AUTOGRADER_HOME=str(kit),
            TMPDIR=str(private / "tmp"),
            PWD=str(kit),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONNOUSERSITE="1",
        )
        timeout = assignment.grading_budget_s + TIMEOUT_MARGIN
        log, stopped, code = run_pytest(command, kit, timeout, env)
        name = assignment.name
        try:
            payload = json.loads(results_path.read_text(encoding="utf-8"))
            report = report_from(assignment, submission, payload, log)
        except FileNotFoundError:
            tail = log.strip().splitlines()[-1:] or ["no output"]
            problem = stopped or f"grading produced no results ({tail[0][:300]})"
            return _error_report(name, submission, problem, log)
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            problem = f"the results file is unreadable ({type(error).__name__}: {error})"
            return _error_report(name, submission, problem, log)
        if not stopped and code < 0:  # killed, and not by us: its results may not be its own
            stopped = f"pytest was killed by signal {-code}"
        if stopped:
            report.grading_error = stopped + (
                f"; {report.grading_error}" if report.grading_error else ""
            )
        return report


def _error_report(name: str, submission: Path, problem: str, log: str = "") -> GradeReport:
    return GradeReport(name, str(submission), 0.0, 0.0, log=log, grading_error=problem)
