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

The pieces: :mod:`~autograder.grading.pristine_kit` (the kit's copy, its state and digest),
:mod:`~autograder.grading.pristine_watch` (what no grading may change),
:mod:`~autograder.grading.pristine_processes` (subreaper, dumpability, the processes left
behind) and :mod:`~autograder.grading.pristine_run` (the grading's pytest and its report); this
module decides whether to grade so and holds :class:`Pristine`, which puts them together.
"""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from autograder.core.assignments import Assignment
from autograder.grading.grade import GradeReport
from autograder.grading.pristine_kit import (
    KIT_PARTS,
    KitSource,
    differences,
    remove_tree,
    tree_digest,
    tree_state,
)
from autograder.grading.pristine_processes import (
    DUMPABLE,
    GET_DUMPABLE,
    GET_SUBREAPER,
    SET_SUBREAPER,
    children_of,
    end_leftovers,
    pool_processes,
    prctl_get,
    prctl_set,
)
from autograder.grading.pristine_run import error_report, python_paths, run_suites
from autograder.grading.pristine_watch import Snapshot, Watch

__all__ = [  # this module's own, and the names of its pieces that other modules use from it
    "FULL_ISOLATION_HOW",
    "GIVES_UP",
    "KIT_PARTS",
    "PROBE_MODULE",
    "SHOWN",
    "KitSource",
    "Outcome",
    "Pristine",
    "PristineError",
    "Watch",
    "differences",
    "is_full",
    "probe_isolation",
    "refusal",
    "tree_digest",
    "tree_state",
]

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


def _summary(items: list[str]) -> str:
    """The first :data:`SHOWN` of ``items``, and how many more there are."""
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _fill_private(private: Path, submission: Path, root: bool) -> Path:
    """The rest of a grading's private folder around its compiled kit copy: ``tmp/``,
    ``results/`` and a copy of the submission's files (``submission/``, returned); as root,
    ``private`` and ``tmp`` traversable by the student pool's uid."""
    compileall.compile_dir(str(private / "kit"), quiet=2, workers=1)
    tmp = private / "tmp"
    tmp.mkdir(mode=0o700)
    (private / "results").mkdir(mode=0o700)
    files = private / "submission"
    files.mkdir(mode=0o700)
    for path in sorted(submission.iterdir()):
        if path.is_file() and not path.is_symlink():
            shutil.copy2(path, files / path.name)
    if root:  # the student pool's uid must reach its scratch folder in tmp/ (not list)
        os.chmod(private, 0o711)
        os.chmod(tmp, 0o711)
    return files


def _note_leftovers(outcome: Outcome, children: set[int], pool: dict[int, int]) -> None:
    """Kill what the grading left behind (processes this one gained since ``children``) and
    record it in ``outcome``, with any process of an idle student uid that appeared since
    ``pool``."""
    left, alive = end_leftovers(children)
    if left:
        outcome.untrusted.append(
            f"{len(left)} processes it started were left after it (killed): {_summary(left)}"
        )
    if alive:
        outcome.compromised.append(f"processes that could not be killed: {_summary(alive)}")
    grew = {uid: n for uid, n in pool_processes().items() if n > pool.get(uid, 0)}
    if grew:
        outcome.untrusted.append(
            "processes of idle student uids appeared during it: "
            + ", ".join(f"uid {uid}: {n}" for uid, n in sorted(grew.items()))
        )


def _note_copy_changes(outcome: Outcome, kit: Path, before: dict[str, str]) -> None:
    """Record in ``outcome`` whether the copy ``kit`` changed since its state ``before``."""
    try:
        after = tree_state(kit)
    except OSError as error:
        after = {"": f"unreadable: {error}"}
    if tree_digest(after) != tree_digest(before):
        outcome.untrusted.append(
            "the kit it ran from was changed during it: " + _summary(differences(before, after))
        )


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
        self._static_state: Snapshot = {}
        self._results_watch: Watch | None = None
        self._results_state: Snapshot = {}
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
        self._take_baselines()
        self._saved = {
            GET_SUBREAPER: prctl_get(GET_SUBREAPER),
            GET_DUMPABLE: prctl_get(GET_DUMPABLE),
        }
        if not prctl_set(SET_SUBREAPER, 1):
            raise PristineError(
                "this system cannot make the grader a child subreaper (Linux only), so the "
                "processes a grading leaves behind could not be found"
            )
        prctl_set(DUMPABLE, 0)
        self._open = True
        self.note_results()

    def _take_baselines(self) -> None:
        """The state of a copy of the kit as it is now, and the watches (and their first
        snapshot) of what no grading may change: the checkout, the kit's parts, what the
        grading's Python imports from, git's config and hooks, the extra paths; the results
        folder watched apart.

        Raises:
            PristineError: the kit cannot be copied or the interpreter cannot be asked.
        """
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

    def close(self) -> None:
        """Stop being a subreaper and restore dumpability (what the gradings left behind was
        killed and reaped after each of them)."""
        if not self._open:
            return
        self._open = False
        subreaper = self._saved.get(GET_SUBREAPER)
        dumpable = self._saved.get(GET_DUMPABLE)
        prctl_set(SET_SUBREAPER, subreaper or 0)
        if dumpable is not None:
            prctl_set(DUMPABLE, dumpable)

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
            remove_tree(private)

    def _grade(
        self, assignment: Assignment, submission: Path, private: Path, root: bool
    ) -> Outcome:
        """Grade ``submission`` from a copy made in ``private``, then check what it left: its
        processes, its copy, and what no grading may change."""
        kit = private / "kit"
        name = assignment.name
        try:
            self.kit.copy_into(kit)
            copied = tree_state(kit)
            if copied != self._source_state:
                changed = differences(self._source_state, copied)
                report = error_report(name, submission, "the kit changed since grading began")
                return Outcome(report, compromised=[f"the kit's checkout: {_summary(changed)}"])
            files = _fill_private(private, submission, root)
            before = tree_state(kit)
        except OSError as error:
            problem = f"the pristine copy of the kit could not be made: {error}"
            return Outcome(error_report(name, submission, problem))
        children = children_of(os.getpid())
        pool = pool_processes()
        outcome = Outcome(
            run_suites(replace(assignment, folder=kit / "assignments" / name), files, private)
        )
        _note_leftovers(outcome, children, pool)
        _note_copy_changes(outcome, kit, before)
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
