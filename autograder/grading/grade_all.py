"""Grade a whole class in parallel, resumably: ``autograder grade-all <assignment> <dir>``.

Each submission found by ``autograder.grading.classroom.discover`` is read into a private
folder (only the files the assignment names), digested, and graded with
``autograder.grading.grade.grade`` on a pool of threads (each ``grade`` runs its own pytest
process, so threads are enough), or on the workers of a Dask cluster (``--cluster``,
:mod:`~autograder.grading.cluster`); either way this process judges and writes every result
(where they run is a :class:`~autograder.grading.gradings.Gradings`). What a finished
submission leaves under ``<out>/students/<key>/``
(:mod:`~autograder.grading.stored_results` writes and reads it):

``results.json``
    Gradescope's results file of that submission (valid against ``RESULTS_SCHEMA``), with
    ``extra_data`` holding what resuming and the gradebook need: ``status``, ``message``,
    ``max_score``, the students, ``submission_digest`` (SHA-256 over the assignment's files as
    collected from the submission) and ``grader_digest`` (SHA-256 over the assignment's suites,
    config and reference solutions). Written atomically, last: its presence means done.
``feedback.txt``
    The readable table of tests with full failure messages, as a student would be shown it.

A rerun grades only submissions without a stored result, or whose stored digests differ (the
student's files changed, or the suites/solutions changed); ``regrade=True`` grades all. A
submission that cannot be read (a broken zip, an empty folder, no ``<name>.py``) is recorded
with score 0 and the reason (status ``unreadable``), without running anything. A grading error
(status ``error``: the grader's environment failed, as ``GradeReport.grading_error`` says, or the
run produced no readable results) is never the student's: it is graded once more at the end of
the same run, and if it fails again it is recorded with the reason, reported apart (terminal,
``summary.md``) and retried on the next run. Interrupting (Ctrl-C) keeps every result already
written and discards those of the runs it cut short.

Where student code is only partially isolated (``autograder.grading.pristine``), ``run_grade_all``
refuses to grade unless ``allow_partial_isolation`` is given; then ``grade_class`` grades one
submission at a time, each from a fresh copy of the kit checked after its grading
(``pristine=``): a grading that changed its copy or left a process behind is a grading error,
never a score, and a change to anything later gradings use (the checkout, the Python
installation, the submissions, the results) stops the run.

Reading a submission is :mod:`~autograder.grading.prepare`'s; what the command says when the run
ends, and the gradebook it writes then, :mod:`~autograder.grading.run_report`'s.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

from autograder.core.assignments import SOLUTIONS_DIR, Assignment
from autograder.grading import pristine
from autograder.grading.class_results import RunSummary, StudentResult
from autograder.grading.classroom import ClassSubmission
from autograder.grading.grade import GradeReport, grade
from autograder.grading.gradings import Graded, Gradings, ThreadGradings
from autograder.grading.prepare import Prepared, prepare
from autograder.grading.pristine import KitSource, Outcome, Pristine
from autograder.grading.stored_results import stored_result, write_result

if TYPE_CHECKING:
    from autograder.grading.cluster import ClusterSpec

GradeFunction = Callable[[Assignment, Path], GradeReport]


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def grader_digest(assignment: Assignment) -> str:
    """SHA-256 over what decides a grade besides the submission: the assignment's config, its
    public and hidden suites, and the reference solutions of its files (not its handout)."""
    digest = hashlib.sha256()
    paths = [assignment.folder / "assignment.toml"]
    for suite in (assignment.public_dir, assignment.hidden_dir):
        paths += sorted(
            p
            for p in suite.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
        )
    paths += [SOLUTIONS_DIR / f for f in assignment.files if (SOLUTIONS_DIR / f).is_file()]
    for path in paths:
        if path.is_file():
            name = path.relative_to(path.parents[1]).as_posix()
            digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def grade_class(
    assignment: Assignment,
    submissions: list[ClassSubmission],
    out: Path,
    jobs: int | None = None,
    regrade: bool = False,
    progress: bool | None = None,
    grade_function: GradeFunction | None = None,
    log: Callable[[str], None] | None = None,
    pristine: KitSource | None = None,
    gradings: Gradings | None = None,
) -> RunSummary:
    """Grade ``submissions`` into ``out/students/``, skipping those already graded.

    Args:
        assignment: what to grade.
        submissions: from ``autograder.grading.classroom.discover``.
        out: the output folder.
        jobs: submissions graded at once (default: every CPU).
        regrade: grade every submission, stored results or not.
        progress: show a progress bar on stderr (default: only when stderr is a terminal).
        grade_function: ``grade`` by default; tests may pass another.
        log: where to write progress lines (default: stderr).
        pristine: grade one submission at a time, each from a fresh copy of this kit in a
            private folder, checked after its grading (see :mod:`autograder.grading.pristine`), for
            where student code is only partially isolated. ``jobs`` is then 1. A grading that
            changed its copy or left a process behind is a grading error; one after which
            anything later gradings use changed stops the run (``stopped`` says what).
        gradings: where the gradings run (a cluster's workers:
            :class:`~autograder.grading.cluster.ClusterGradings`) in place of ``jobs`` threads
            here; this process still decides what to grade and writes every result.

    Returns:
        Every submission's result. When interrupted, ``interrupted`` is set and ``results``
        holds what was finished.
    """
    if pristine is not None and grade_function is not None:
        raise ValueError("grade_class: pristine gradings run the kit's own grader")
    if gradings is not None and (pristine is not None or grade_function is not None):
        raise ValueError("grade_class: gradings elsewhere run the kit's own grader, unguarded")
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    jobs = 1 if pristine is not None else max(1, jobs or default_jobs())
    started = time.perf_counter()
    run = _ClassRun(assignment, out, grade_function or (lambda a, folder: grade(a, folder)))
    with tempfile.TemporaryDirectory(prefix="grade-all-") as scratch:
        to_grade = run.sort(submissions, Path(scratch), regrade)
        if gradings is None:
            how = "one at a time, each from a fresh copy of the kit (partial isolation)"
            how = f"with {jobs} jobs" if pristine is None else how
            gradings = ThreadGradings(run.grade_here, jobs, how)
        if to_grade:
            log(
                f"{assignment.name}: grading {len(to_grade)} of {len(submissions)} submissions "
                f"{gradings.where} ({run.summary.up_to_date} up to date)"
            )
        if pristine is not None and to_grade:
            (out / "students").mkdir(parents=True, exist_ok=True)
            sources = [s.source for s in submissions if s.source is not None]
            run.guard = Pristine(pristine, watch=[scratch, *sources], results=out)
        run.schedule(to_grade, gradings, progress, log)
    summary = run.summary
    summary.results = [run.by_key[s.key] for s in submissions if s.key in run.by_key]
    summary.wall_time = time.perf_counter() - started
    return summary


class _ClassRun:
    """One ``grade_class`` run: what it found stored, what it grades, and how it went.

    Gradings run where its :class:`~autograder.grading.gradings.Gradings` runs them; their
    results are judged and written here, in the thread that schedules them, one submission
    at a time and only once each: a grading error is graded again before anything of it is
    written."""

    def __init__(self, assignment: Assignment, out: Path, grade_function: GradeFunction) -> None:
        from tqdm import tqdm  # the instructor's extra: missing, nothing is read or written

        self.progress_bar = tqdm
        self.assignment, self.out, self.grade_function = assignment, out, grade_function
        self.grader = grader_digest(assignment)
        self.summary = RunSummary(results=[])
        self.by_key: dict[str, StudentResult] = {}
        self.stop = threading.Event()
        self.guard: Pristine | None = None

    def sort(
        self, submissions: list[ClassSubmission], scratch: Path, regrade: bool
    ) -> list[Prepared]:
        """Read every submission: keep its stored result where it is up to date, record it
        where it is unreadable; the rest, to grade."""
        to_grade: list[Prepared] = []
        for submission in submissions:
            prepared = prepare(self.assignment, submission, scratch / submission.key)
            stored = (
                None
                if regrade
                else stored_result(self.out, submission, prepared.digest, self.grader)
            )
            if stored is not None:
                self.by_key[submission.key] = stored
                self.summary.up_to_date += 1
            elif prepared.folder is None:
                result = StudentResult(submission, "unreadable", 0.0, 0.0, message=prepared.problem)
                result.fresh = True
                write_result(self.out, self.assignment, result, prepared.digest, self.grader)
                self.by_key[submission.key] = result
                self.summary.unreadable += 1
            else:
                to_grade.append(prepared)
        return to_grade

    def grade_here(self, prepared: Prepared) -> Graded:
        """Grade one submission on this machine (from a pristine copy where there is a guard)."""
        folder: Path = prepared.folder  # type: ignore[assignment]
        if self.guard is not None:
            graded: Graded = self.guard.grade(self.assignment, folder)
        else:
            graded = self.grade_function(self.assignment, folder)
        report = graded.report if isinstance(graded, Outcome) else graded
        if "KeyboardInterrupt" in report.log:
            self.stop.wait(1.0)  # Ctrl-C reaches the pytest child and this process together
        return graded

    def schedule(
        self,
        to_grade: list[Prepared],
        gradings: Gradings,
        progress: bool | None,
        log: Callable[[str], None],
    ) -> None:
        """Grade ``to_grade``, keeping ``gradings.slots`` under way, each grading error once
        more at the end; on Ctrl-C, stop the gradings under way and keep what was written."""
        bar = self.progress_bar(
            total=len(to_grade),
            desc=f"grading {self.assignment.name}",
            unit="sub",
            file=sys.stderr,
            disable=(not to_grade) or (None if progress is None else not progress),
            dynamic_ncols=True,
        )
        queue = deque((prepared, 0) for prepared in to_grade)
        pending: dict[Future[Graded], tuple[Prepared, int]] = {}
        try:
            if self.guard is not None:
                self.guard.open()
            while pending or (queue and not self.stop.is_set()):
                while queue and len(pending) < max(1, gradings.slots) and not self.stop.is_set():
                    prepared, attempt = queue.popleft()
                    pending[gradings.submit(prepared)] = (prepared, attempt)
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    prepared, attempt = pending.pop(future)
                    self._finished(prepared, attempt, future, queue, bar)
        except KeyboardInterrupt:
            self.stop.set()
            self.summary.interrupted = True
            bar.close()
            log("interrupted: waiting for the submissions being graded to stop...")
            gradings.close()  # what they finish is discarded: only written results are kept
        finally:
            bar.close()
            gradings.close()
            if self.guard is not None:
                self.guard.close()

    def _finished(
        self,
        prepared: Prepared,
        attempt: int,
        future: Future[Graded],
        queue: deque[tuple[Prepared, int]],
        bar: Any,
    ) -> None:
        """Judge a finished grading: write its result, or queue a grading error once more."""
        try:
            graded = future.result()
        except Exception as error:  # a bug of the grader, or a lost cluster, costs no score
            problem = f"the grader failed: {type(error).__name__}: {error}"
            label = prepared.submission.label
            graded = GradeReport.failed(self.assignment.name, label, problem, problem)
        if self.stop.is_set():
            return  # cut short by an interrupt: its numbers cannot be trusted
        if isinstance(graded, Outcome) and (graded.untrusted or graded.compromised):
            result = _untrusted(prepared.submission, graded)
            if graded.compromised:
                self.summary.stopped = f"while {prepared.submission.key} was graded: " + "; ".join(
                    graded.compromised
                )
                self.stop.set()
        else:
            report = graded.report if isinstance(graded, Outcome) else graded
            result = StudentResult.from_report(prepared.submission, report)
        if result.status == "error" and attempt == 0 and not self.summary.stopped:
            # a grading error is the grader's: once more, after the others queued
            self.summary.retried += 1
            queue.append((prepared, attempt + 1))
            return
        log = graded.report.log if isinstance(graded, Outcome) else graded.log
        write_result(self.out, self.assignment, result, prepared.digest, self.grader, log)
        if self.guard is not None:
            self.guard.note_results()
        self._keep(result)
        bar.set_postfix_str(result.submission.key, refresh=False)
        bar.update()

    def _keep(self, result: StudentResult) -> None:
        self.by_key[result.submission.key] = result
        self.summary.graded += 1
        self.summary.errors += result.status == "error"


def _untrusted(submission: ClassSubmission, outcome: Outcome) -> StudentResult:
    """A pristine grading whose result cannot be trusted: an error, never a score."""
    reasons = list(outcome.untrusted)
    if outcome.compromised:
        reasons.append(
            "files that later gradings use were changed during it, so grading stopped: "
            + "; ".join(outcome.compromised)
        )
    return StudentResult.untrusted(submission, outcome.report, reasons)


def run_grade_all(
    name: str,
    submissions_dir: Path,
    out: Path | None = None,
    jobs: int | None = None,
    regrade: bool = False,
    allow_partial_isolation: bool = False,
    cluster: str | None = None,
) -> int:
    """The ``grade-all`` command: grade, then write the gradebook, the summary and the charts
    (and ``leaderboard.csv`` with its chart where some grading recorded a leaderboard).

    ``out`` defaults to ``grades/<assignment>``; ``jobs`` to every CPU. Before grading, a
    sandbox is started to learn the isolation student code gets here; where it is partial,
    nothing is graded unless ``allow_partial_isolation``, and then submissions are graded one
    at a time from pristine copies of the kit (see :mod:`autograder.grading.pristine`).

    ``cluster`` grades on a Dask cluster's workers instead (``tcp://host:8786``, a scheduler
    file, or ``local:N``; see :mod:`autograder.grading.cluster`), each checked for full
    isolation and the same grader; ``jobs`` is then how many gradings to keep under way
    (default: twice the workers' slots). Results are written here all the same.

    Returns 0 when grading completed (whatever the scores), 1 when it stopped because files
    later gradings use changed during a grading (partial isolation), 2 for an unknown
    assignment, a missing or empty submissions folder, partial isolation without
    ``allow_partial_isolation``, or a cluster that cannot grade (Dask missing, no scheduler,
    a worker with another grader or partial isolation), 130 when interrupted (finished
    results are kept).
    """
    from autograder.grading.classroom import ClassroomError, discover
    from autograder.grading.run_report import report_run

    assignment = _usable_assignment(name, jobs)
    if assignment is None:
        return 2
    out = out or Path("grades") / assignment.name
    try:
        spec = _cluster_spec(cluster, allow_partial_isolation)
        classroom = discover(submissions_dir, assignment.module_file)
    except (ClassroomError, _Refused) as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    try:
        if spec is not None:
            summary = _grade_on_cluster(spec, assignment, classroom.submissions, out, jobs, regrade)
        else:
            kit = _kit_where_partial(allow_partial_isolation, jobs)
            summary = grade_class(
                assignment, classroom.submissions, out, jobs=jobs, regrade=regrade, pristine=kit
            )
    except _Refused as refusal:
        print(f"autograder: {refusal}", file=sys.stderr)
        return 2
    except pristine.PristineError as error:
        print(f"autograder: {error}; nothing was graded", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # while reading the submissions, before any grading started
        print("interrupted; run the same command again to finish", file=sys.stderr)
        return 130
    finally:
        classroom.close()
    return report_run(assignment, classroom, summary, out)


def _cluster_spec(cluster: str | None, allow_partial_isolation: bool) -> ClusterSpec | None:
    """The cluster ``--cluster`` names (None: grade here); raises :class:`_Refused` where it
    names none, Dask is missing, or partial isolation was allowed (workers need full)."""
    if cluster is None:
        return None
    from autograder.grading import cluster as clusters  # imports Dask only when it connects

    if allow_partial_isolation:
        raise _Refused(
            "--allow-partial-isolation grades on this machine only; every worker of a "
            "cluster must isolate student code fully (see README, 'Grading a class on a "
            "cluster')"
        )
    try:
        spec = clusters.parse_cluster(cluster)
        clusters.require_distributed()
    except clusters.ClusterError as error:
        raise _Refused(str(error)) from error
    return spec


def _grade_on_cluster(
    spec: ClusterSpec,
    assignment: Assignment,
    submissions: list[ClassSubmission],
    out: Path,
    jobs: int | None,
    regrade: bool,
) -> RunSummary:
    """Grade on the cluster ``spec`` names; raises :class:`_Refused` where it cannot."""
    from autograder.grading import cluster as clusters

    try:
        with clusters.open_cluster(spec, assignment, jobs) as gradings:
            return grade_class(assignment, submissions, out, regrade=regrade, gradings=gradings)
    except clusters.ClusterError as error:
        raise _Refused(str(error)) from error


def _usable_assignment(name: str, jobs: int | None) -> Assignment | None:
    """The assignment to grade, or None (and why, on stderr) when there is none to grade
    with these options or the instructor's extra is missing."""
    from autograder.core.assignments import UnknownAssignmentError, load_assignment

    try:
        assignment = load_assignment(name)
    except UnknownAssignmentError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return None
    missing = [m for m in ("matplotlib", "tqdm", "yaml") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"autograder: grade-all needs {', '.join(missing)}: "
            "pip install 'cnn-autograder[instructor]'",
            file=sys.stderr,
        )
        return None
    if jobs is not None and jobs < 1:
        print(f"autograder: --jobs must be at least 1, got {jobs}", file=sys.stderr)
        return None
    return assignment


class _Refused(Exception):
    """Student code is only partially isolated here and that was not allowed."""


def _kit_where_partial(allow_partial_isolation: bool, jobs: int | None) -> KitSource | None:
    """The kit to grade from pristine copies of where student code is only partially isolated
    here (None where it is fully isolated); raises :class:`_Refused` where that is not
    allowed."""
    try:
        isolation = pristine.probe_isolation()
    except Exception as error:  # the probe itself failed: nothing is known of the isolation
        isolation = f"partial: the isolation could not be probed: {type(error).__name__}: {error}"
    if pristine.is_full(isolation):
        return None
    if not allow_partial_isolation:
        raise _Refused(pristine.refusal(isolation))
    kit = pristine.KitSource.installed()
    print(
        f"autograder: student code is only partially isolated here ({isolation}); "
        "grading one submission at a time, each from a fresh copy of the kit that is "
        "checked after its grading",
        file=sys.stderr,
    )
    if jobs is not None and jobs > 1:
        print(
            f"autograder: --jobs {jobs} ignored: with partial isolation submissions are "
            "graded one at a time",
            file=sys.stderr,
        )
    return kit
