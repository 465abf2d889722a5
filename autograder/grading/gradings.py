"""Where a class's gradings run: the seam between ``grade-all``'s scheduling and what grades.

:func:`~autograder.grading.grade_all.grade_class` decides what to grade, in which order, what
to grade again and what to keep; a :class:`Gradings` only runs one submission's grading and
hands back its report. Two kinds exist: :class:`ThreadGradings`, a pool of threads on this
machine (each grading is its own pytest process, so threads are enough), and
:class:`~autograder.grading.cluster.ClusterGradings`, the workers of a Dask cluster. Either
way the coordinator (the process running ``grade-all``) writes every result itself.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from autograder.core.results import GradeReport
from autograder.grading.prepare import Prepared
from autograder.grading.pristine import Outcome

Graded = GradeReport | Outcome
"""What a grading hands back: its report, or a pristine copy's outcome (which holds one)."""


class Gradings(Protocol):
    """Runs gradings somewhere and hands their outcome back as data."""

    @property
    def slots(self) -> int:
        """How many gradings to keep under way at once (asked again as the run goes)."""
        ...

    @property
    def where(self) -> str:
        """Where they run, as the run's first line says it ("with 4 jobs")."""
        ...

    def submit(self, prepared: Prepared) -> Future[Graded]:
        """Start grading ``prepared`` (a readable submission); its future gives what it graded,
        or raises where the grading could not be run (a grading error, never a score)."""
        ...

    def close(self) -> None:
        """Cancel what has not started and wait for (or drop) the rest; may be called again."""
        ...


class ThreadGradings:
    """Gradings on ``jobs`` threads of this process, each calling ``grade_one``."""

    def __init__(self, grade_one: Callable[[Prepared], Graded], jobs: int, where: str) -> None:
        self._grade_one = grade_one
        self._jobs = jobs
        self._where = where
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="grade-all")

    @property
    def slots(self) -> int:
        return self._jobs

    @property
    def where(self) -> str:
        return self._where

    def submit(self, prepared: Prepared) -> Future[Graded]:
        return self._pool.submit(self._grade_one, prepared)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
