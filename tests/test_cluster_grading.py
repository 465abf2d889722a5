"""``grade-all --cluster``: a class graded on a real multi-process Dask ``LocalCluster`` gets
exactly the grades and files of a local ``grade-all``, a worker killed mid-run loses no result
and makes none be written twice, and a worker with another grader grades nothing.

The class is four ``batchnorm`` submissions (the cheapest suite): the reference, the template,
a buggy example, and a hostile one that ends its process while it is imported.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

import autograder.grading.grade_all
from autograder.authoring.examples import apply_edits, buggy_specs
from autograder.authoring.stubgen import solution_submission_files
from autograder.cli import main
from autograder.core.assignments import (
    SOLUTIONS_DIR,
    TEMPLATE_DIR,
    assignment_names,
    load_assignment,
)
from autograder.core.backends import gpu_status
from autograder.grading import cluster
from autograder.grading.class_results import StudentResult
from autograder.grading.classroom import discover
from autograder.grading.grade_all import grade_class
from autograder.grading.pristine import is_full, probe_isolation

ASSIGNMENT = "batchnorm"
HOSTILE = {"exits-on-import": "\nimport os as _os\n_os._exit(3)\n"}

needs_dask = pytest.mark.skipif(
    importlib.util.find_spec("distributed") is None,
    reason="grading on a cluster needs Dask's distributed: pip install -e '.[cluster]'",
)


def _write_class(folder: Path) -> list[str]:
    """The class, one folder per student; their names."""
    reference = solution_submission_files(SOLUTIONS_DIR, assignment_names())["batchnorm.py"]
    spec = next(s for s in buggy_specs() if s["name"] == "bn-unbiased-variance")
    students = {
        "reference": reference,
        "template": (TEMPLATE_DIR / "batchnorm.py").read_text(),
        "buggy": apply_edits({"batchnorm.py": reference}, spec)["batchnorm.py"],
        **{name: reference + tail for name, tail in HOSTILE.items()},
    }
    for name, source in students.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "batchnorm.py").write_text(source)
    return sorted(students)


def _graded_files(out: Path) -> dict[str, Any]:
    """Every file a run left under ``out/students/``, comparable across runs: results.json
    without the time of grading, feedback.txt as written."""
    found: dict[str, Any] = {}
    for path in sorted((out / "students").rglob("*")):
        if not path.is_file():
            continue
        name = path.relative_to(out).as_posix()
        if path.name == "results.json":
            payload = json.loads(path.read_text())
            payload["extra_data"].pop("graded_at")
            payload.pop("execution_time", None)
            found[name] = payload
        else:
            found[name] = path.read_text()
    return found


@pytest.fixture(scope="module")
def classroom(tmp_path_factory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("class")
    return folder, _write_class(folder)


@pytest.fixture(scope="module")
def local_run(classroom, tmp_path_factory) -> Path:
    """The class graded by a local ``grade-all --jobs 2``: what a cluster must reproduce."""
    if not is_full(probe_isolation()):
        pytest.skip("grade-all needs full isolation here (run as root where namespaces work)")
    out = tmp_path_factory.mktemp("local") / "out"
    folder, students = classroom
    assert main(["grade-all", ASSIGNMENT, str(folder), "--out", str(out), "--jobs", "2"]) == 0
    assert sorted(p.name for p in (out / "students").iterdir()) == students
    return out


@pytest.fixture(scope="module")
def local_cluster():
    """A running LocalCluster of two worker processes, as ``--cluster local:2`` starts it."""
    spec = cluster.parse_cluster("local:2")
    with cluster.open_cluster(spec, load_assignment(ASSIGNMENT), log=lambda line: None) as opened:
        yield opened


@needs_dask
def test_a_class_graded_on_a_cluster_gets_the_grades_and_files_of_a_local_run(
    classroom, local_run, local_cluster, tmp_path, capsys
):
    folder, students = classroom
    address = local_cluster.client.scheduler.address
    assert len(local_cluster.client.scheduler_info(n_workers=-1)["workers"]) == 2
    out = tmp_path / "out"
    command = ["grade-all", ASSIGNMENT, str(folder), "--out", str(out), "--cluster", address]
    assert main(command) == 0
    printed = capsys.readouterr()
    assert f"on the cluster {address} (2 workers, 2 gradings at once, on the CPU)" in printed.err
    assert "4 graded, 0 up to date, 0 unreadable, 0 grading errors" in printed.out

    graded, expected = _graded_files(out), _graded_files(local_run)
    assert set(graded) == set(expected) and len(graded) == 2 * len(students)
    for name in expected:
        assert graded[name] == expected[name], name
    scores = {s: expected[f"students/{s}/results.json"]["score"] for s in students}
    full = expected["students/reference/results.json"]["extra_data"]["max_score"]
    assert scores["reference"] == full > 0 and scores["template"] == 0
    assert 0 < scores["buggy"] < full and scores["exits-on-import"] == 0
    for table in ("gradebook.csv", "canvas.csv", "summary.md"):
        assert (out / table).read_text() == (local_run / table).read_text(), table


@needs_dask
def test_a_worker_killed_mid_run_loses_no_result_and_none_is_written_twice(
    classroom, local_run, local_cluster, tmp_path, monkeypatch
):
    folder, _ = classroom
    graded = ("reference", "template")  # the two slowest gradings: one is cut short
    client = local_cluster.client
    writes: Counter[str] = Counter()
    real_write = autograder.grading.grade_all.write_result

    def counted(out, assignment, result, *args, **kwargs):
        writes[result.submission.key] += 1
        return real_write(out, assignment, result, *args, **kwargs)

    monkeypatch.setattr(autograder.grading.grade_all, "write_result", counted)
    gradings = cluster.ClusterGradings(
        client, local_cluster.spec, local_cluster.assignment, gpu=False, jobs=None
    )
    submissions = [s for s in discover(folder, "batchnorm.py").submissions if s.key in graded]
    out, finished = tmp_path / "out", {}

    def run() -> None:
        finished["summary"] = grade_class(
            local_cluster.assignment, submissions, out, progress=False, gradings=gradings
        )

    scratch = set(Path(tempfile.gettempdir()).glob("grade-all-worker-*"))
    thread = threading.Thread(target=run)
    thread.start()
    killed = _kill_a_busy_worker(client)
    thread.join(timeout=300)
    assert not thread.is_alive()
    for left in set(Path(tempfile.gettempdir()).glob("grade-all-worker-*")) - scratch:
        shutil.rmtree(left, ignore_errors=True)  # the killed worker's, never cleaned by it

    assert killed, "no worker was grading while the run was watched"
    summary = finished["summary"]
    assert summary.graded == len(graded) and summary.errors == 0 and summary.retried == 0
    assert writes == Counter({name: 1 for name in graded})
    expected = {
        name: content
        for name, content in _graded_files(local_run).items()
        if name.split("/")[1] in graded
    }
    assert _graded_files(out) == expected
    assert len(client.scheduler_info(n_workers=-1)["workers"]) == 2  # the nanny restarted it


def _kill_a_busy_worker(client) -> list[str]:
    """SIGKILL the first worker found grading (after it has graded for a second); the tasks it
    held, [] if none was ever found."""
    pids = client.run(os.getpid)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        busy = {worker: tasks for worker, tasks in client.processing().items() if tasks}
        if busy:
            time.sleep(1.0)  # inside the grading: its pytest and sandbox are under way
            worker, tasks = next(iter(busy.items()))
            os.kill(pids[worker], signal.SIGKILL)
            return list(tasks)
        time.sleep(0.05)
    return []


def test_a_worker_with_another_grader_grades_nothing(tmp_path):
    assignment = load_assignment(ASSIGNMENT)
    here = cluster.identity(assignment)
    (tmp_path / "s1").mkdir()
    source = solution_submission_files(SOLUTIONS_DIR, assignment_names())["batchnorm.py"]
    files = {"batchnorm.py": source.encode()}
    stale = [
        dataclasses.replace(here, digest="0" * 64),
        dataclasses.replace(here, kit="0.0.1"),
        dataclasses.replace(here, python="2.7"),
    ]
    for grader, word in zip(stale, ("grader digest", "kit version", "Python"), strict=True):
        task = cluster.WorkerTask(ASSIGNMENT, "s1", "s1", files, grader, gpu=False)
        report = cluster.grade_on_worker(task)  # what a worker of another kit answers
        assert "another grader" in report.grading_error and word in report.grading_error
        assert report.score == 0 and not report.tests
        submission = discover(tmp_path, "batchnorm.py").submissions[0]
        result = StudentResult.from_report(submission, report)
        assert result.status == "error" and result.score == 0


def test_cluster_values_are_read_or_refused(tmp_path):
    assert cluster.parse_cluster("local:3") == cluster.ClusterSpec(local_workers=3)
    assert cluster.parse_cluster("tcp://10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    assert cluster.parse_cluster("scheduler:8786").address == "scheduler:8786"
    (tmp_path / "scheduler.json").write_text("{}")
    file = str(tmp_path / "scheduler.json")
    assert cluster.parse_cluster(file) == cluster.ClusterSpec(scheduler_file=file)
    for value, word in (
        ("local:0", "1 or more"),
        ("local:two", "1 or more"),
        ("nowhere", "scheduler's address"),
        (str(tmp_path / "missing.json"), "not found"),
    ):
        with pytest.raises(cluster.ClusterError, match=word):
            cluster.parse_cluster(value)


def test_cluster_without_dask_names_the_extra_and_grades_nothing(tmp_path, monkeypatch, capsys):
    (tmp_path / "class" / "s1").mkdir(parents=True)
    (tmp_path / "class" / "s1" / "batchnorm.py").write_text("x = 1\n")
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    out = tmp_path / "out"
    command = ["grade-all", ASSIGNMENT, str(tmp_path / "class"), "--out", str(out)]
    assert main([*command, "--cluster", "local:2"]) == 2
    assert "pip install 'cnn-autograder[cluster]'" in capsys.readouterr().err
    assert main([*command, "--cluster", "tcp://scheduler:8786", "--allow-partial-isolation"]) == 2
    assert "must isolate student code fully" in capsys.readouterr().err
    assert not out.exists()


def test_the_kit_imports_without_dask():
    code = (
        "import sys; import autograder.cli, autograder.grading.grade_all, "
        "autograder.grading.cluster; from autograder.cli import build_parser; build_parser(); "
        "assert 'distributed' not in sys.modules and 'dask' not in sys.modules"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr


def test_a_worker_without_the_gpu_the_run_grades_with_grades_nothing():
    if not is_full(probe_isolation()):
        pytest.skip("the GPU is checked after full isolation (run as root where namespaces work)")
    here = cluster.identity(load_assignment(ASSIGNMENT))
    usable = gpu_status().usable
    assert cluster.worker_problem(ASSIGNMENT, here, gpu=usable) == ""
    problem = cluster.worker_problem(ASSIGNMENT, here, gpu=not usable)
    assert ("CuPy cannot use one" if not usable else "would grade on its GPU") in problem


def test_a_workers_slots_are_its_threads_or_its_gpus():
    assert cluster._slots_of({"nthreads": 4, "resources": {}}, gpu=False) == 4
    assert cluster._slots_of({"nthreads": 4, "resources": {"GPU": 1}}, gpu=True) == 1
    assert cluster._slots_of({"nthreads": 1, "resources": {"GPU": 2}}, gpu=True) == 1
    assert cluster._slots_of({"nthreads": 8, "resources": {}}, gpu=True) == 0


class LostGradings:
    """Gradings whose every future fails, as when the cluster's scheduler goes away."""

    slots, where = 2, "nowhere"

    def __init__(self) -> None:
        self.submitted: list[str] = []

    def submit(self, prepared) -> Future:
        self.submitted.append(prepared.submission.key)
        future: Future = Future()
        future.set_exception(OSError("the scheduler went away"))
        return future

    def close(self) -> None:
        pass


def test_a_grading_the_cluster_could_not_run_is_a_grading_error_graded_once_more(tmp_path):
    (tmp_path / "class" / "s1").mkdir(parents=True)
    (tmp_path / "class" / "s1" / "batchnorm.py").write_text("x = 1\n")
    submissions = discover(tmp_path / "class", "batchnorm.py").submissions
    gradings = LostGradings()
    summary = grade_class(
        load_assignment(ASSIGNMENT),
        submissions,
        tmp_path / "out",
        progress=False,
        log=lambda line: None,
        gradings=gradings,
    )
    assert gradings.submitted == ["s1", "s1"] and summary.retried == 1
    (result,) = summary.results
    assert result.status == "error" and result.score == 0
    assert "the scheduler went away" in result.message
    stored = json.loads((tmp_path / "out" / "students" / "s1" / "results.json").read_text())
    assert stored["extra_data"]["status"] == "error" and stored["score"] == 0


@needs_dask
def test_workers_of_another_grader_are_named_before_anything_is_graded(local_cluster):
    client = local_cluster.client
    gradings = cluster.ClusterGradings(
        client, local_cluster.spec, local_cluster.assignment, gpu=False, jobs=None
    )
    gradings.grader = dataclasses.replace(gradings.grader, digest="0" * 64)  # a newer suite here
    with pytest.raises(cluster.ClusterError) as refused:
        cluster.check_workers(client, gradings)
    message = str(refused.value)
    assert "2 of 2 workers" in message and "nothing was graded" in message
    for worker in client.scheduler_info(n_workers=-1)["workers"]:
        assert f"{worker}: this worker has another grader: grader digest" in message
    gradings.close()
