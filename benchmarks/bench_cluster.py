"""Grading a class on a Dask cluster: throughput with 1, 2 and 4 workers, against the threads.

    python benchmarks/bench_cluster.py [--submissions 400] [--assignment batchnorm]
        [--workers 1,2,4] [--machines 1,10,50,100] [--cores 16]

Writes a class of generated submissions (a third each of the reference, the template and the
assignment's buggy examples, each with a line of its own so that every digest differs;
``bench_grade_all.make_class``) and grades it, in one run, for each number of workers N:
with ``grade-all``'s own thread pool of N jobs, and on a ``LocalCluster`` of N worker
processes (``--cluster local:N``). It prints each run's throughput and the cluster's as a
ratio of the threads' (1.0: the cluster path costs nothing), and checks that both gave every
submission the same status and score.

The coordinator's own cost per submission is timed apart: the class "graded" by a trivial
grading that hands back a stored report at once, through the threads and through the cluster,
so what remains is reading and digesting the submissions, the round trip to a worker and
writing the results. Beside the wall times it prints the CPU seconds each path spent per
submission (this process, the workers and every grading process they waited for), which a
machine shared with other work disturbs far less than the wall times.

From the cluster's time per grading and core and that overhead it prints the estimated time
for 100,000 submissions on M machines of C cores each (the coordinator writes every result,
so its overhead bounds the rate however many machines).
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_grade_all import make_class

from autograder.core.assignments import Assignment, load_assignment
from autograder.core.results import GradeReport
from autograder.grading import cluster
from autograder.grading.class_results import RunSummary
from autograder.grading.classroom import ClassSubmission, discover
from autograder.grading.grade import grade
from autograder.grading.grade_all import default_jobs, grade_class

TARGET_SUBMISSIONS = 100_000
TRIVIAL_QUEUE = 64
"""Trivial gradings kept under way when timing the coordinator (a large cluster's queue)."""


@dataclass
class Run:
    """One timed grading of the class."""

    label: str
    workers: int
    seconds: float
    outcomes: dict[str, tuple[str, float]]
    cpu: float = 0.0  # CPU seconds of the grading, every process that took part
    startup: float = 0.0  # the cluster's start, before grading

    @property
    def rate(self) -> float:
        """Submissions per second."""
        return len(self.outcomes) / self.seconds


def _quiet(line: str) -> None:
    """Progress lines are not printed while timing."""


def cpu_seconds() -> float:
    """CPU seconds of this process and of the children it waited for (gradings' pytest
    processes, and the sandboxes they waited for)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _outcomes(summary: RunSummary) -> dict[str, tuple[str, float]]:
    return {r.submission.key: (r.status, r.score) for r in summary.results}


def on_threads(
    assignment: Assignment,
    submissions: list[ClassSubmission],
    out: Path,
    jobs: int,
    grade_function: Callable[[Assignment, Path], GradeReport] | None = None,
) -> Run:
    """``grade-all``'s own path: ``jobs`` threads here."""
    cpu, started = cpu_seconds(), time.perf_counter()
    summary = grade_class(
        assignment,
        submissions,
        out,
        jobs=jobs,
        progress=False,
        log=_quiet,
        grade_function=grade_function,
    )
    seconds = time.perf_counter() - started
    return Run("threads", jobs, seconds, _outcomes(summary), cpu_seconds() - cpu)


def on_cluster(
    assignment: Assignment,
    submissions: list[ClassSubmission],
    out: Path,
    workers: int,
    task_function: Callable[[cluster.WorkerTask], GradeReport] = cluster.grade_on_worker,
    jobs: int | None = None,
) -> Run:
    """``grade-all --cluster local:N``: ``workers`` worker processes here (``jobs``: the
    gradings kept under way, ``grade-all --jobs``)."""
    started = time.perf_counter()
    spec = cluster.ClusterSpec(local_workers=workers)
    with cluster.open_cluster(spec, assignment, log=_quiet) as opened:
        startup = time.perf_counter() - started
        gradings = cluster.ClusterGradings(
            opened.client, spec, assignment, opened.gpu, jobs, task_function
        )
        cpu = cpu_seconds() + sum(opened.client.run(cpu_seconds).values())
        started = time.perf_counter()
        summary = grade_class(
            assignment, submissions, out, progress=False, log=_quiet, gradings=gradings
        )
        seconds = time.perf_counter() - started
        cpu = cpu_seconds() + sum(opened.client.run(cpu_seconds).values()) - cpu
    return Run("cluster", workers, seconds, _outcomes(summary), cpu, startup)


def stored_report(report: GradeReport, task: cluster.WorkerTask) -> GradeReport:
    """A trivial grading on a worker: the stored report, at once."""
    return report


def _stored_here(report: GradeReport, assignment: Assignment, folder: Path) -> GradeReport:
    """A trivial grading here: the stored report, at once."""
    return report


def estimate(per_core: float, overhead: float, machines: list[int], cores: int) -> list[str]:
    """Lines: the time for ``TARGET_SUBMISSIONS`` on each number of machines."""
    lines = [
        f"estimated for {TARGET_SUBMISSIONS:,} submissions ({per_core:.2f} s per grading and "
        f"core, {overhead * 1000:.1f} ms per submission on the coordinator), machines of "
        f"{cores} cores:"
    ]
    coordinator = TARGET_SUBMISSIONS * overhead
    for count in machines:
        grading = TARGET_SUBMISSIONS * per_core / (count * cores)
        total = max(grading, coordinator)
        bound = "the coordinator bounds it" if coordinator >= grading else "grading-bound"
        lines.append(
            f"  {count:>4} machines: {total / 3600:6.2f} h ({count * total / 3600:7.1f} "
            f"machine-hours; {bound})"
        )
    return lines


def _numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=400)
    parser.add_argument("--assignment", default="batchnorm")
    parser.add_argument("--workers", type=_numbers, default=[1, 2, 4], help="default: 1,2,4")
    parser.add_argument("--machines", type=_numbers, default=[1, 10, 50, 100, 500])
    parser.add_argument("--cores", type=int, default=16, help="cores per machine, estimate")
    args = parser.parse_args(argv)
    cluster.require_distributed()
    assignment = load_assignment(args.assignment)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as scratch:
        work = Path(scratch)
        counts = make_class(args.assignment, args.submissions, work / "class")
        classroom = discover(work / "class", assignment.module_file)
        try:
            return _bench(args, assignment, classroom.submissions, work, counts)
        finally:
            classroom.close()


def _bench(
    args: argparse.Namespace,
    assignment: Assignment,
    submissions: list[ClassSubmission],
    work: Path,
    counts: dict[str, int],
) -> int:
    print(f"{len(submissions)} submissions of {assignment.name}: {counts}")
    print(f"this machine: {default_jobs()} CPUs; os.cpu_count() = {os.cpu_count()}")
    print(
        f"{'workers':>7}  {'threads':>16}  {'cluster':>16}  {'ratio':>5}  "
        f"{'CPU s/submission':>18}  cluster start"
    )
    runs: list[tuple[Run, Run]] = []
    n = len(submissions)
    for workers in args.workers:
        threads = on_threads(assignment, submissions, work / f"threads-{workers}", workers)
        on = on_cluster(assignment, submissions, work / f"cluster-{workers}", workers)
        runs.append((threads, on))
        same = "" if on.outcomes == threads.outcomes else "  DIFFERENT RESULTS"
        print(
            f"{workers:>7}  {threads.seconds:7.1f} s {threads.rate:4.2f}/s  "
            f"{on.seconds:7.1f} s {on.rate:4.2f}/s  {on.rate / threads.rate:5.2f}  "
            f"{threads.cpu / n:7.2f} {on.cpu / n:7.2f}    {on.startup:.1f} s{same}"
        )
        if same:
            print("the cluster and the threads graded some submission differently", file=sys.stderr)
            return 1

    reference = work / "class" / "s0000"
    report = grade(assignment, reference)
    here = functools.partial(_stored_here, report)
    trivial_threads = on_threads(
        assignment, submissions, work / "trivial-threads", default_jobs(), grade_function=here
    )
    trivial = on_cluster(
        assignment,
        submissions,
        work / "trivial-cluster",
        max(args.workers),
        task_function=functools.partial(stored_report, report),
        jobs=TRIVIAL_QUEUE,  # many under way: the coordinator bounds it, not a round trip
    )
    threads_overhead, overhead = trivial_threads.seconds / n, trivial.seconds / n
    print(
        f"coordinator's overhead per submission (a trivial grading): threads "
        f"{threads_overhead * 1000:.1f} ms, cluster of {trivial.workers} workers "
        f"{overhead * 1000:.1f} ms (a local cluster's scheduler runs in this process too, and so "
        "does its share; a scheduler of its own takes it off)"
    )
    cores = default_jobs()
    per_core = min(on.seconds * min(on.workers, cores) / n for _, on in runs)
    for line in estimate(per_core, overhead, args.machines, args.cores):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
