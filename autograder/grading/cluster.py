"""``grade-all --cluster``: a class's gradings on the workers of a Dask cluster.

This process stays the coordinator: it reads and digests the submissions, decides what to
grade, and writes every result (:func:`~autograder.grading.grade_all.grade_class`, unchanged);
:class:`ClusterGradings` only sends each readable submission's collected files to a worker,
where :func:`grade_on_worker` grades them with the same sandboxed ``grade`` as a grading here
(the worker's own sandbox, uid pool and cgroups), and hands the report back as data.

``--cluster`` names the cluster: ``tcp://scheduler:8786`` (any address Dask's ``Client``
takes), a scheduler file (``scheduler.json``, as ``dask scheduler --scheduler-file`` writes),
or ``local:N`` (a ``LocalCluster`` of N worker processes on this machine, one grading each,
graded without a GPU). Dask's ``distributed`` is the ``cluster`` extra, imported only here and
only when a cluster is asked for.

What a result is worth does not depend on the worker that made it. Before anything is graded,
every worker that may grade is checked, and each task checks its worker again (workers may
join later): the same grader (:class:`GraderIdentity`: the assignment's grader digest, the
kit's version, the Python version), full isolation, and the GPU the run grades with. A worker
that fails a check grades nothing: its tasks are grading errors, never scores.

GPUs use Dask's resources: where a worker declares one (``dask worker ... --resources
GPU=1``), the whole class is graded on GPUs, each task needing ``GPU=1`` (one CuPy grading per
GPU unless a worker declares more), and a GPU worker whose CuPy cannot run grades nothing.
Where none declares one, the class is graded on the CPU and a worker that would grade on an
undeclared GPU grades nothing, so every submission is graded the same way.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import logging
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.core.assignments import Assignment, UnknownAssignmentError, load_assignment
from autograder.core.backends import GPU_VARIABLE, gpu_status
from autograder.core.results import GradeReport
from autograder.grading import pristine
from autograder.grading.grade import grade
from autograder.grading.grade_all import grader_digest
from autograder.grading.gradings import Graded
from autograder.grading.prepare import Prepared

GPU = "GPU"
"""The Dask resource a GPU worker declares (``--resources GPU=1``) and a GPU task needs."""
EXTRA = "pip install 'cnn-autograder[cluster]'"
WORKER_WAIT_S = 120.0
"""How long to wait for a first worker to join the scheduler."""
SLOTS_REFRESH_S = 10.0
"""How often the number of gradings kept under way follows the workers that joined or left."""
LOG_LIMIT = 16_000
"""Characters of a grading's pytest output sent back (a result's feedback keeps 4,000)."""


class ClusterError(Exception):
    """The cluster cannot grade this class (the message says why and what to do)."""


@dataclass(frozen=True)
class ClusterSpec:
    """What ``--cluster`` names: a scheduler (address or scheduler file), or ``local:N``."""

    address: str = ""
    scheduler_file: str = ""
    local_workers: int = 0

    def __str__(self) -> str:
        if self.local_workers:
            return f"local:{self.local_workers}"
        return self.address or self.scheduler_file


def parse_cluster(value: str) -> ClusterSpec:
    """The cluster ``value`` names; raises :class:`ClusterError` for what names none."""
    value = value.strip()
    if value.startswith("local:"):
        count = value.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise ClusterError(f"--cluster local:N needs a number of workers of 1 or more: {value}")
        return ClusterSpec(local_workers=int(count))
    if value.endswith(".json"):
        if not Path(value).is_file():
            raise ClusterError(f"--cluster: scheduler file not found: {value}")
        return ClusterSpec(scheduler_file=value)
    if "://" in value or ":" in value:
        return ClusterSpec(address=value)
    raise ClusterError(
        f"--cluster takes a scheduler's address (tcp://host:8786), a scheduler file "
        f"(scheduler.json) or local:N, not {value!r}"
    )


def require_distributed() -> None:
    """Raise :class:`ClusterError`, naming the extra to install, where Dask is missing."""
    try:
        found = importlib.util.find_spec("distributed") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise ClusterError(f"grading on a cluster needs Dask's distributed: {EXTRA}")


@dataclass(frozen=True)
class GraderIdentity:
    """What must be the same on the coordinator and a worker for a result to count."""

    digest: str
    """``grader_digest`` of the assignment: its config, suites and reference solutions."""
    kit: str
    """The installed kit's version."""
    python: str
    """Python's major and minor version."""

    def differences(self, other: GraderIdentity) -> list[str]:
        """What differs in ``other`` (a worker's), worded for the instructor; [] if nothing."""
        found = []
        if other.digest != self.digest:
            found.append(
                f"grader digest {other.digest[:12]} (suites, config or reference solutions "
                f"differ; the coordinator's is {self.digest[:12]})"
            )
        if other.kit != self.kit:
            found.append(f"kit version {other.kit} (the coordinator's is {self.kit})")
        if other.python != self.python:
            found.append(f"Python {other.python} (the coordinator's is {self.python})")
        return found


def identity(assignment: Assignment) -> GraderIdentity:
    """This machine's grader of ``assignment``."""
    try:
        kit = importlib.metadata.version("cnn-autograder")
    except importlib.metadata.PackageNotFoundError:
        kit = "not installed"
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    return GraderIdentity(grader_digest(assignment), kit, python)


# ------------------------------------------------------------------------- on a worker


@dataclass(frozen=True)
class WorkerTask:
    """One submission to grade on a worker: what the coordinator collected, and its grader."""

    assignment: str
    label: str
    folder: str
    """The collected folder's name (the submission's key)."""
    files: dict[str, bytes]
    """The collected files, by path relative to that folder."""
    grader: GraderIdentity
    gpu: bool
    """Whether the class is graded on GPUs."""


_isolation_lock = threading.Lock()
_full_isolation = ""
"""This worker process's isolation, once a probe found it full (probed again until then)."""


def isolation_here() -> str:
    """The isolation student code gets on this worker (a sandbox started the first time)."""
    global _full_isolation
    with _isolation_lock:
        if _full_isolation:
            return _full_isolation
        try:
            isolation = pristine.probe_isolation()
        except Exception as error:
            return f"partial: the isolation could not be probed: {type(error).__name__}: {error}"
        if pristine.is_full(isolation):
            _full_isolation = isolation
        return isolation


def worker_problem(assignment_name: str, grader: GraderIdentity, gpu: bool) -> str:
    """Why this worker may not grade the class ("" when it may): another grader, partial
    isolation, or not the GPU the run grades with."""
    try:
        assignment = load_assignment(assignment_name)
    except UnknownAssignmentError as error:
        return f"this worker's kit has no such assignment ({error}); install the same kit"
    differences = grader.differences(identity(assignment))
    if differences:
        found = "; ".join(differences)
        return f"this worker has another grader: {found}; install the same kit on every worker"
    isolation = isolation_here()
    if not pristine.is_full(isolation):
        return f"student code would not be fully isolated on this worker ({isolation})"
    status = gpu_status()
    if gpu and not status.usable:
        return f"this worker declares a {GPU} but CuPy cannot use one here: {status.detail}"
    if not gpu and status.usable:
        return (
            f"this worker would grade on its GPU ({status.detail}) while the class is graded "
            f"on the CPU: start it with --resources {GPU}=1 (then the class is graded on "
            f"GPUs) or with {GPU_VARIABLE}=0"
        )
    return ""


def grade_on_worker(task: WorkerTask) -> GradeReport:
    """Grade one submission here, on a worker, with the same ``grade`` as on the coordinator.

    Never raises for what the worker lacks: a report with a grading error says it."""
    where = _worker_address()
    problem = worker_problem(task.assignment, task.grader, task.gpu)
    if problem:
        return GradeReport.failed(task.assignment, task.label, f"on worker {where}: {problem}")
    assignment = load_assignment(task.assignment)
    with tempfile.TemporaryDirectory(prefix="grade-all-worker-") as scratch:
        folder = Path(scratch) / Path(task.folder).name
        for name, data in task.files.items():
            if Path(name).is_absolute() or ".." in Path(name).parts:
                problem = f"a collected file's path leaves its folder: {name!r}"
                return GradeReport.failed(task.assignment, task.label, problem)
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        report = grade(assignment, folder)
    interrupted = "KeyboardInterrupt" in report.log
    report.log = report.log[-LOG_LIMIT:]
    if interrupted:  # its numbers cannot be trusted
        problem = f"the grading was interrupted on worker {where}"
        return GradeReport.failed(task.assignment, task.label, problem, report.log)
    if not report.grading_error and report.tests and not pristine.is_full(report.isolation):
        problem = f"on worker {where} student code was not fully isolated ({report.isolation})"
        return GradeReport.failed(task.assignment, task.label, problem, report.log)
    return report


def quiet_interrupts() -> None:
    """In a ``local:N`` worker process: let Ctrl-C stop the gradings (their pytest processes,
    which get it too) but not the worker itself, which the coordinator closes then."""
    signal.signal(signal.SIGINT, lambda number, frame: None)


def _worker_address() -> str:
    """The Dask worker this runs on, or this host's name outside one."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        import socket

        return socket.gethostname()


# ------------------------------------------------------------------- on the coordinator


class ClusterGradings:
    """One run's gradings on a Dask cluster's workers (the
    :class:`~autograder.grading.gradings.Gradings` of ``grade-all --cluster``)."""

    def __init__(
        self,
        client: Any,
        spec: ClusterSpec,
        assignment: Assignment,
        gpu: bool,
        jobs: int | None,
        task_function: Callable[[WorkerTask], GradeReport] = grade_on_worker,
    ) -> None:
        """``task_function`` is what a worker runs per submission: :func:`grade_on_worker`
        (benchmarks pass a trivial one to time the rest)."""
        self.spec = spec
        self.assignment = assignment
        self.grader = identity(assignment)
        self.gpu = gpu
        """Whether the class is graded on GPUs (each task needs one)."""
        self.client = client
        """The Dask client (``distributed.Client``) the gradings go through."""
        self._jobs = jobs
        self._task_function = task_function
        resources = {"resources": {GPU: 1}} if gpu else {}
        self._executor = client.get_executor(pure=False, **resources)
        self._slots = (0, 0.0)  # the last count of the workers' slots, and when

    def worker_slots(self) -> int:
        """Gradings the workers can run at once now: their threads (their GPUs in a GPU run)."""
        count, when = self._slots
        if time.monotonic() - when < SLOTS_REFRESH_S and count:
            return count
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        count = sum(_slots_of(info, self.gpu) for info in workers.values())
        self._slots = (count, time.monotonic())
        return count

    @property
    def slots(self) -> int:
        """``jobs`` where given, else twice the workers' slots (a grading queued behind each)."""
        return self._jobs or max(1, 2 * self.worker_slots())

    @property
    def where(self) -> str:
        workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
        device = "on GPUs" if self.gpu else "on the CPU"
        return (
            f"on the cluster {self.spec} ({len(workers)} workers, {self.worker_slots()} "
            f"gradings at once, {device})"
        )

    def task(self, prepared: Prepared) -> WorkerTask:
        """What a worker needs to grade ``prepared``: its collected files, by value."""
        folder: Path = prepared.folder  # type: ignore[assignment]
        files = {
            path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
        return WorkerTask(
            self.assignment.name,
            prepared.submission.label,
            folder.name,
            files,
            self.grader,
            self.gpu,
        )

    def submit(self, prepared: Prepared) -> Future[Graded]:
        try:
            key = f"grade-{self.assignment.name}-{prepared.submission.key}-{uuid.uuid4().hex[:8]}"
            return self._executor.submit(self._task_function, self.task(prepared), key=key)
        except Exception as error:  # the files went, or the scheduler did: a grading error
            failed: Future[Graded] = Future()
            failed.set_exception(error)
            return failed

    def close(self) -> None:
        self._executor.shutdown(wait=False)


def _slots_of(info: dict[str, Any], gpu: bool) -> int:
    """How many gradings of a run one worker takes at once."""
    threads = int(info.get("nthreads", 1) or 1)
    if not gpu:
        return threads
    return min(threads, int(float(info.get("resources", {}).get(GPU, 0))))


@contextlib.contextmanager
def open_cluster(
    spec: ClusterSpec,
    assignment: Assignment,
    jobs: int | None = None,
    log: Callable[[str], None] | None = None,
) -> Iterator[ClusterGradings]:
    """Connect to (or, for ``local:N``, start) the cluster, check its workers, and yield its
    gradings; closes what it started. Raises :class:`ClusterError` where it cannot grade."""
    require_distributed()
    from distributed import Client, LocalCluster

    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    with contextlib.ExitStack() as stack:
        try:
            if spec.local_workers:
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=spec.local_workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        memory_limit=0,
                        env={GPU_VARIABLE: "0"},
                        silence_logs=logging.ERROR,
                    )
                )
                client = stack.enter_context(Client(cluster, set_as_default=False))
                client.run(quiet_interrupts)
            elif spec.scheduler_file:
                client = stack.enter_context(
                    Client(scheduler_file=spec.scheduler_file, set_as_default=False, timeout=30)
                )
            else:
                client = stack.enter_context(Client(spec.address, set_as_default=False, timeout=30))
        except OSError as error:
            raise ClusterError(f"cannot reach the cluster {spec}: {error}") from error
        if not client.scheduler_info(n_workers=-1).get("workers"):
            log(f"waiting for a worker to join {spec} (at most {WORKER_WAIT_S:g} s)...")
        try:
            client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except Exception as error:
            raise ClusterError(
                f"no worker joined the cluster {spec} within {WORKER_WAIT_S:g} s"
            ) from error
        gradings = ClusterGradings(client, spec, assignment, _graded_on_gpus(client), jobs)
        check_workers(client, gradings)
        yield gradings


def _graded_on_gpus(client: Any) -> bool:
    """Whether any worker declares a GPU (then the class is graded on GPUs alone)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    return any(float(info.get("resources", {}).get(GPU, 0)) >= 1 for info in workers.values())


def check_workers(client: Any, gradings: ClusterGradings) -> None:
    """Check every worker that may grade now; raise :class:`ClusterError` naming those that
    may not, and why (nothing is graded then)."""
    workers = client.scheduler_info(n_workers=-1).get("workers", {})
    targets = [address for address, info in workers.items() if _slots_of(info, gradings.gpu)]
    if not targets:
        raise ClusterError(f"no worker of {gradings.spec} can take a grading (no threads)")
    problems = client.run(
        worker_problem,
        gradings.assignment.name,
        gradings.grader,
        gradings.gpu,
        workers=targets,
        on_error="return",
    )
    bad = {
        address: problem if isinstance(problem, str) else f"the check failed: {problem!r}"
        for address, problem in problems.items()
        if problem
    }
    if bad:
        lines = "\n".join(f"  {address}: {problem}" for address, problem in sorted(bad.items()))
        raise ClusterError(
            f"{len(bad)} of {len(targets)} workers of {gradings.spec} cannot grade this class; "
            f"nothing was graded:\n{lines}"
        )
