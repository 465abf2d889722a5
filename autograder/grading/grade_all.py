"""Grade a whole class in parallel, resumably: ``autograder grade-all <assignment> <dir>``.

Each submission found by ``autograder.grading.classroom.discover`` is read into a private
folder (only the files the assignment names), digested, and graded with
``autograder.grading.grade.grade`` on a pool of threads (each ``grade`` runs its own pytest
process, so threads are enough). What a finished submission leaves under ``<out>/students/<key>/``:

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
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from autograder.core.assignments import SOLUTIONS_DIR, Assignment
from autograder.core.results import GradescopeResults
from autograder.core.submission import SubmissionError, collect_submission
from autograder.grading.class_results import RunSummary, StudentResult
from autograder.grading.classroom import ClassSubmission, Student
from autograder.grading.grade import GradeReport, grade
from autograder.grading.pristine import KitSource, Outcome, Pristine
from autograder.grading.report import test_table

STATUSES = ("graded", "unreadable", "error")
"""``graded``: grading completed. ``unreadable``: nothing could be graded (score 0).
``error``: a grading error, the grader's failure and not the student's (score 0 until it is
graded again: once more in the same run, then on every later run)."""

GradeFunction = Callable[[Assignment, Path], GradeReport]


@dataclass
class _Prepared:
    submission: ClassSubmission
    folder: Path | None  # the collected files, or None when unreadable
    digest: str
    problem: str = ""


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def student_dir(out: Path, submission: ClassSubmission) -> Path:
    """Where the results of ``submission`` live."""
    return out / "students" / submission.key


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

    Returns:
        Every submission's result. When interrupted, ``interrupted`` is set and ``results``
        holds what was finished.
    """
    from tqdm import tqdm

    if pristine is not None and grade_function is not None:
        raise ValueError("grade_class: pristine gradings run the kit's own grader")
    grade_function = grade_function or (lambda a, folder: grade(a, folder))
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    jobs = 1 if pristine is not None else max(1, jobs or default_jobs())
    started = time.perf_counter()
    grader = grader_digest(assignment)
    summary = RunSummary(results=[])
    by_key: dict[str, StudentResult] = {}
    to_grade: list[_Prepared] = []
    with tempfile.TemporaryDirectory(prefix="grade-all-") as scratch:
        for submission in submissions:
            prepared = _prepare(assignment, submission, Path(scratch) / submission.key)
            stored = None if regrade else _stored_result(out, submission, prepared, grader)
            if stored is not None:
                by_key[submission.key] = stored
                summary.up_to_date += 1
            elif prepared.folder is None:
                result = StudentResult(submission, "unreadable", 0.0, 0.0, message=prepared.problem)
                result.fresh = True
                _write_result(out, assignment, result, prepared.digest, grader)
                by_key[submission.key] = result
                summary.unreadable += 1
            else:
                to_grade.append(prepared)
        how = (
            "one at a time, each from a fresh copy of the kit (partial isolation)"
            if pristine is not None
            else f"with {jobs} jobs"
        )
        if to_grade:
            log(
                f"{assignment.name}: grading {len(to_grade)} of {len(submissions)} submissions "
                f"{how} ({summary.up_to_date} up to date)"
            )
        stop = threading.Event()
        guard: Pristine | None = None
        if pristine is not None and to_grade:
            (out / "students").mkdir(parents=True, exist_ok=True)
            sources = [s.source for s in submissions if s.source is not None]
            guard = Pristine(pristine, watch=[scratch, *sources], results=out)

        def work(prepared: _Prepared) -> StudentResult | None:
            if stop.is_set():
                return None
            outcome = None
            try:
                if guard is not None:
                    outcome = guard.grade(assignment, prepared.folder)  # type: ignore[arg-type]
                    report = outcome.report
                else:
                    report = grade_function(assignment, prepared.folder)  # type: ignore[arg-type]
            except Exception as error:  # a bug of the grader costs this submission alone
                report = GradeReport(assignment.name, prepared.submission.label, 0.0, 0.0)
                report.log = f"the grader failed: {type(error).__name__}: {error}"
                report.grading_error = report.log
            if "KeyboardInterrupt" in report.log:
                stop.wait(1.0)  # Ctrl-C reaches the pytest child and this process together
            if stop.is_set():
                return None  # cut short by an interrupt: its numbers cannot be trusted
            if outcome is not None and (outcome.untrusted or outcome.compromised):
                result = _untrusted(prepared.submission, outcome)
                if outcome.compromised:
                    summary.stopped = f"while {prepared.submission.key} was graded: " + "; ".join(
                        outcome.compromised
                    )
                    stop.set()
            else:
                result = _from_report(prepared.submission, report)
            _write_result(out, assignment, result, prepared.digest, grader, report.log)
            if guard is not None:
                guard.note_results()
            return result

        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade-all")
        bar = tqdm(
            total=len(to_grade),
            desc=f"grading {assignment.name}",
            unit="sub",
            file=sys.stderr,
            disable=(not to_grade) or (None if progress is None else not progress),
            dynamic_ncols=True,
        )
        pending: dict[Future[StudentResult | None], tuple[_Prepared, int]] = {}
        try:
            if guard is not None:
                guard.open()
            pending = {pool.submit(work, p): (p, 0) for p in to_grade}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    prepared, attempt = pending.pop(future)
                    result = future.result()
                    retry = attempt == 0 and not summary.stopped
                    if result is not None and result.status == "error" and retry:
                        # a grading error is the grader's: once more, after the others queued
                        summary.retried += 1
                        pending[pool.submit(work, prepared)] = (prepared, 1)
                        continue
                    if result is not None:
                        by_key[result.submission.key] = result
                        summary.graded += 1
                        summary.errors += result.status == "error"
                        bar.set_postfix_str(result.submission.key, refresh=False)
                    bar.update()
        except KeyboardInterrupt:
            stop.set()
            summary.interrupted = True
            for future in pending:
                future.cancel()
            bar.close()
            log("interrupted: waiting for the submissions being graded to stop...")
            pool.shutdown(wait=True, cancel_futures=True)
            for future in pending:  # results written before the interrupt are kept
                if future.done() and not future.cancelled() and future.exception() is None:
                    result = future.result()
                    if result is not None and result.submission.key not in by_key:
                        by_key[result.submission.key] = result
                        summary.graded += 1
                        summary.errors += result.status == "error"
        finally:
            bar.close()
            pool.shutdown(wait=True, cancel_futures=True)
            if guard is not None:
                guard.close()
    summary.results = [by_key[s.key] for s in submissions if s.key in by_key]
    summary.wall_time = time.perf_counter() - started
    return summary


def load_result(out: Path, submission: ClassSubmission) -> tuple[StudentResult, dict[str, Any]]:
    """The stored result of ``submission`` and its ``extra_data``.

    Raises:
        OSError, ValueError, KeyError: nothing usable is stored.
    """
    payload = json.loads((student_dir(out, submission) / "results.json").read_text("utf-8"))
    stored = GradescopeResults.from_gradescope(payload)
    extra = stored.extra_data
    if extra.get("status") not in STATUSES:
        raise ValueError("unknown status")
    result = StudentResult(
        submission=submission,
        status=extra["status"],
        score=stored.score,
        max_score=float(extra["max_score"]),
        tests=stored.tests,
        message=str(extra.get("message", "")),
        isolation=str(extra.get("isolation", "")),
        execution_time=stored.execution_time or 0.0,
    )
    return result, extra


def _stored_result(
    out: Path, submission: ClassSubmission, prepared: _Prepared, grader: str
) -> StudentResult | None:
    """The stored result, if it is final and was made from these very files and suites."""
    try:
        result, extra = load_result(out, submission)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if result.status == "error":
        return None
    if extra.get("submission_digest") != prepared.digest or extra.get("grader_digest") != grader:
        return None
    return result


def _prepare(assignment: Assignment, submission: ClassSubmission, folder: Path) -> _Prepared:
    """Collect the assignment's files of ``submission`` into ``folder``, and digest them."""
    source = submission.source
    if source is None or submission.problem:
        problem = submission.problem or "submission not found"
        return _Prepared(submission, None, _text_digest("problem", problem), problem)
    try:
        if source.is_file() and source.suffix == ".py" and source.name not in assignment.files:
            single = folder.parent / f"{folder.name}.single"
            source = _single_file(source, assignment.module_file, single)
        found = collect_submission(source, assignment.files, folder)
        zips = list(source.glob("*.zip")) if source.is_dir() else []
        if assignment.module_file not in found and len(zips) == 1:  # an uploaded zip, kept whole
            found = collect_submission(zips[0], assignment.files, folder)
    except SubmissionError as error:
        problem = str(error)
        return _Prepared(submission, None, _source_digest(submission.source, problem), problem)
    except OSError as error:
        problem = f"cannot read the submission: {error}"
        return _Prepared(submission, None, _source_digest(submission.source, problem), problem)
    digest = hashlib.sha256(assignment.name.encode())
    for name in sorted(found):
        digest.update(b"\0" + name.encode() + b"\0" + found[name].read_bytes())
    if assignment.module_file not in found:
        present = ", ".join(sorted(found)) or "none of " + ", ".join(assignment.files)
        problem = f"no {assignment.module_file} in the submission (found: {present})"
        return _Prepared(submission, None, digest.hexdigest(), problem)
    return _Prepared(submission, folder, digest.hexdigest())


def _single_file(source: Path, module_file: str, folder: Path) -> Path:
    """A plain folder's ``<student>.py`` as the assignment's file, in a folder of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    collect_submission(source.parent, [source.name], folder)  # same checks (regular, size)
    target = folder / module_file
    os.replace(folder / source.name, target)
    return target


GRADING_ERROR = "grading error (the grader's failure, not the student's; retried next run)"
UNTRUSTED = (
    "grading error (partial isolation: this grading cannot be trusted, so it has no score; "
    "graded again next run)"
)


def _untrusted(submission: ClassSubmission, outcome: Outcome) -> StudentResult:
    """A pristine grading whose result cannot be trusted: an error, never a score."""
    reasons = list(outcome.untrusted)
    if outcome.compromised:
        reasons.append(
            "files that later gradings use were changed during it, so grading stopped: "
            + "; ".join(outcome.compromised)
        )
    return StudentResult(
        submission,
        "error",
        0.0,
        0.0,
        message=f"{UNTRUSTED}: {_clip('; '.join(reasons), 2000)}",
        isolation=outcome.report.isolation,
        execution_time=outcome.report.execution_time,
        fresh=True,
    )


def _from_report(submission: ClassSubmission, report: GradeReport) -> StudentResult:
    if report.grading_error or not report.tests:
        if report.grading_error:
            reason = report.grading_error
        else:
            tail = report.log.strip().splitlines()[-1:] or ["no output"]
            reason = f"grading produced no results: {tail[0][:300]}"
        return StudentResult(
            submission,
            "error",
            0.0,
            0.0,
            message=f"{GRADING_ERROR}: {_clip(reason, 1000)}",
            isolation=report.isolation,
            execution_time=report.execution_time,
            fresh=True,
        )
    return StudentResult(
        submission,
        "graded",
        report.score,
        report.max_score,
        tests=report.tests,
        isolation=report.isolation,
        execution_time=report.execution_time,
        fresh=True,
    )


def _write_result(
    out: Path,
    assignment: Assignment,
    result: StudentResult,
    digest: str,
    grader: str,
    log: str = "",
) -> None:
    """``feedback.txt`` then, atomically and last, ``results.json``."""
    folder = student_dir(out, result.submission)
    folder.mkdir(parents=True, exist_ok=True)
    report = GradeReport(
        assignment=assignment.name,
        submission=result.submission.label,
        score=result.score,
        max_score=result.max_score,
        tests=result.tests,
        execution_time=result.execution_time,
        isolation=result.isolation,
    )
    results = report.gradescope()
    if result.status != "graded":
        results.output = f"{assignment.name}: 0 points\n{result.message}"
    results.extra_data = {
        "status": result.status,
        "message": result.message,
        "max_score": result.max_score,
        "isolation": result.isolation,
        "key": result.submission.key,
        "label": result.submission.label,
        "students": [asdict(s) for s in result.submission.students],
        "submitted_at": result.submission.submitted_at,
        "submission_digest": digest,
        "grader_digest": grader,
        "graded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_text_atomic(folder / "feedback.txt", feedback_text(result, report, log))
    results.write(folder / "results.json")


def feedback_text(result: StudentResult, report: GradeReport, log: str = "") -> str:
    """The readable feedback of one submission: who, status, and every test in full."""
    names = _students_line(result.submission.students)
    lines = [f"{names}  [{result.status}]" if names else f"[{result.status}]"]
    if result.message:
        lines.append(result.message)
    if result.status == "graded":
        lines.append(test_table(report, full_messages=True))
    elif result.status == "error" and log:
        lines += ["", "last lines of the grader's output:", log[-4000:]]
    else:
        lines.append("score: 0")
    return "\n".join(lines) + "\n"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 5] + " [...]"


def _students_line(students: Iterable[Student]) -> str:
    parts = []
    for s in students:
        detail = ", ".join(x for x in (s.sid, s.email) if x)
        parts.append(f"{s.name} ({detail})" if s.name and detail else s.name or detail)
    return "; ".join(p for p in parts if p)


def _write_text_atomic(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _text_digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _source_digest(source: Path | None, problem: str) -> str:
    """A digest of an unreadable submission as it is on disk (names, sizes, bytes)."""
    digest = hashlib.sha256(problem.encode())
    if source is None:
        return digest.hexdigest()
    paths = [source] if not source.is_dir() else sorted(source.rglob("*"))
    budget = 64 * 1024 * 1024
    for path in paths:
        try:
            info = path.lstat()
            digest.update(f"\0{path.relative_to(source.parent)}\0{info.st_size}".encode())
            if path.is_file() and not path.is_symlink() and info.st_size <= budget:
                budget -= info.st_size
                digest.update(path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()


def run_grade_all(
    name: str,
    submissions_dir: Path,
    out: Path | None = None,
    jobs: int | None = None,
    regrade: bool = False,
    allow_partial_isolation: bool = False,
) -> int:
    """The ``grade-all`` command: grade, then write the gradebook, the summary and the charts.

    ``out`` defaults to ``grades/<assignment>``; ``jobs`` to every CPU. Before grading, a
    sandbox is started to learn the isolation student code gets here; where it is partial,
    nothing is graded unless ``allow_partial_isolation``, and then submissions are graded one
    at a time from pristine copies of the kit (see :mod:`autograder.grading.pristine`).

    Returns 0 when grading completed (whatever the scores), 1 when it stopped because files
    later gradings use changed during a grading (partial isolation), 2 for an unknown
    assignment, a missing or empty submissions folder, or partial isolation without
    ``allow_partial_isolation``, 130 when interrupted (finished results are kept).
    """
    from autograder.core.assignments import UnknownAssignmentError, load_assignment
    from autograder.grading import pristine
    from autograder.grading.classroom import ClassroomError, discover
    from autograder.grading.gradebook import write_gradebook, write_summary

    try:
        assignment = load_assignment(name)
    except UnknownAssignmentError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    missing = [m for m in ("matplotlib", "tqdm", "yaml") if importlib.util.find_spec(m) is None]
    if missing:
        print(
            f"autograder: grade-all needs {', '.join(missing)}: "
            "pip install 'cnn-autograder[instructor]'",
            file=sys.stderr,
        )
        return 2
    if jobs is not None and jobs < 1:
        print(f"autograder: --jobs must be at least 1, got {jobs}", file=sys.stderr)
        return 2
    out = out or Path("grades") / assignment.name
    try:
        classroom = discover(submissions_dir, assignment.module_file)
    except ClassroomError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 2
    try:
        try:
            isolation = pristine.probe_isolation()
        except Exception as error:  # the probe itself failed: nothing is known of the isolation
            isolation = (
                f"partial: the isolation could not be probed: {type(error).__name__}: {error}"
            )
        kit = None
        if not pristine.is_full(isolation):
            if not allow_partial_isolation:
                print(f"autograder: {pristine.refusal(isolation)}", file=sys.stderr)
                return 2
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
        summary = grade_class(
            assignment, classroom.submissions, out, jobs=jobs, regrade=regrade, pristine=kit
        )
    except pristine.PristineError as error:
        print(f"autograder: {error}; nothing was graded", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # while reading the submissions, before any grading started
        print("interrupted; run the same command again to finish", file=sys.stderr)
        return 130
    finally:
        classroom.close()
    done = (
        f"{summary.graded} graded, {summary.up_to_date} up to date, "
        f"{summary.unreadable} unreadable, {summary.errors} grading errors"
    )
    if summary.retried:
        done += f" ({summary.retried} graded twice after a grading error)"
    if summary.interrupted:
        print(
            f"interrupted after {summary.wall_time:.1f} s ({done}); finished results are kept "
            f"in {out / 'students'}: run the same command again to finish",
            file=sys.stderr,
        )
        return 130
    if summary.stopped:
        print(
            f"autograder: grading stopped after {done}: files that later gradings use were "
            f"changed {summary.stopped}. Nothing more was graded and no gradebook was "
            f"written. Restore those files (git status in the kit's checkout; reinstall the "
            f"Python packages) and look at what that submission does before grading again; "
            f"its result in {out / 'students'} is a grading error",
            file=sys.stderr,
        )
        return 1
    gradebook = write_gradebook(assignment, summary.results, out)
    summary_path = write_summary(assignment, summary.results, out)
    per = f" ({summary.wall_time / summary.graded:.2f} s each)" if summary.graded else ""
    print(
        f"{assignment.name}: {len(classroom.submissions)} submissions ({classroom.layout}): "
        f"{done} in {summary.wall_time:.1f} s{per}"
    )
    print(f"gradebook: {gradebook}  (Canvas: {out / 'canvas.csv'})")
    print(f"summary: {summary_path}")
    errors = [r for r in summary.results if r.status == "error"]
    if errors:
        print(
            f"{len(errors)} grading errors: the grader failed, not these students "
            "(score 0 until graded; run the same command again to retry them):"
        )
        for result in errors:
            reason = result.message.removeprefix(GRADING_ERROR + ": ")
            reason = reason.removeprefix(UNTRUSTED + ": ")
            print(f"  {result.submission.key}: {_clip((reason.splitlines() or [''])[0], 300)}")
    return 0
