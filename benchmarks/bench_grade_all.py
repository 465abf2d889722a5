"""Grading a whole class: ``autograder grade-all`` on N generated submissions, in one run.

    python benchmarks/bench_grade_all.py [--n 200] [--assignment conv] [--jobs N] [--keep DIR]

Writes N submissions of one assignment into a plain class folder, a third each of the
reference, the template and the assignment's buggy examples (cycled), as folders, zips and
single ``<id>.py`` files; each gets a comment line with the student's number, so every file
and digest differs and nothing is graded from a cache. Runs ``grade-all`` on them (default
jobs: every CPU), then again to time a resume that has nothing to grade. Prints the wall time,
the time per submission and the projection for 200 submissions against the target: under 10
minutes for 200 submissions.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder.authoring.examples import apply_edits, buggy_specs
from autograder.authoring.stubgen import solution_submission_files
from autograder.core.assignments import (
    SOLUTIONS_DIR,
    TEMPLATE_DIR,
    assignment_names,
    load_assignment,
)
from autograder.grading.grade_all import default_jobs, run_grade_all

TARGET_SECONDS = 600.0
TARGET_SUBMISSIONS = 200


def make_class(name: str, n: int, folder: Path) -> dict[str, int]:
    """Write ``n`` submissions of assignment ``name`` into ``folder``; count them by kind."""
    assignment = load_assignment(name)
    reference = solution_submission_files(SOLUTIONS_DIR, assignment_names())
    template = {f: (TEMPLATE_DIR / f).read_text(encoding="utf-8") for f in assignment.files}
    buggy = [apply_edits(reference, s) for s in buggy_specs() if s["assignment"] == name]
    buggy = buggy or [reference]
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for i in range(n):
        kind, files = [
            ("reference", reference),
            ("template", template),
            ("buggy", buggy[(i // 3) % len(buggy)]),
        ][i % 3]
        counts[kind] = counts.get(kind, 0) + 1
        student = f"s{i:04d}"
        texts = {f: text for f, text in files.items() if f in assignment.files}
        texts[assignment.module_file] += f"\n# student {student}\n"
        form = i % 5
        if form == 3:  # a zip wrapping a folder, as "compress folder" makes
            with zipfile.ZipFile(folder / f"{student}.zip", "w") as archive:
                for file, text in texts.items():
                    archive.writestr(f"{student}/{file}", text)
        elif form == 4 and len(texts) == 1:  # the single file, under the student's name
            (folder / f"{student}.py").write_text(texts[assignment.module_file])
        else:
            (folder / student).mkdir()
            for file, text in texts.items():
                (folder / student / file).write_text(text, encoding="utf-8")
    return counts


def timed(name: str, folder: Path, out: Path, jobs: int | None) -> tuple[float, int, str]:
    """Wall seconds of one ``grade-all`` run, its exit code, and what it printed."""
    printed = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        code = run_grade_all(name, folder, out, jobs=jobs)
    return time.perf_counter() - started, code, printed.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=TARGET_SUBMISSIONS)
    parser.add_argument("--assignment", default="conv")
    parser.add_argument("--jobs", type=int, default=None, help="default: every CPU")
    parser.add_argument("--keep", type=Path, help="write the class and results here, and keep")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-grade-all-") as scratch:
        work = args.keep or Path(scratch)
        counts = make_class(args.assignment, args.n, work / "class")
        print(f"{args.n} submissions of {args.assignment}: {counts}")
        print(f"jobs: {args.jobs or default_jobs()} (CPUs: {default_jobs()})")
        seconds, code, printed = timed(args.assignment, work / "class", work / "out", args.jobs)
        print(printed.strip())
        if code != 0:
            print(f"grade-all exited {code}", file=sys.stderr)
            return 1
        again, code, printed = timed(args.assignment, work / "class", work / "out", args.jobs)
        print(printed.strip().splitlines()[0])
    per = seconds / args.n
    projected = per * TARGET_SUBMISSIONS
    verdict = "meets" if projected < TARGET_SECONDS else "MISSES"
    print(f"wall time: {seconds:.1f} s for {args.n} submissions ({per:.3f} s per submission)")
    print(f"resume with nothing to grade: {again:.2f} s")
    print(
        f"projected for {TARGET_SUBMISSIONS}: {projected:.0f} s vs target < {TARGET_SECONDS:.0f} s "
        f"({verdict} it, {TARGET_SECONDS / projected:.1f}x headroom)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
