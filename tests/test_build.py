"""``autograder build``: student bundles without solution code, and the otter round trip."""

from __future__ import annotations

import io
import json
import subprocess
import venv
import zipfile
from pathlib import Path

import jsonschema
import pytest

from autograder.authoring.examples import apply_edits, buggy_specs
from autograder.authoring.leaks import scan_archive, secret_lines
from autograder.authoring.stubgen import solution_submission_files, write_files
from autograder.core.assignments import (
    SOLUTIONS_DIR,
    TEMPLATE_DIR,
    all_assignments,
    load_assignment,
)
from autograder.core.gradescope import RESULTS_SCHEMA
from autograder.packaging.build import build
from autograder.packaging.bundle import build_student_bundle, data_files

otter_run = pytest.importorskip("otter.run", reason="needs the instructor extra (otter-grader)")


@pytest.fixture(scope="module")
def student_bundles(tmp_path_factory) -> dict[str, Path]:
    """Every assignment's student.zip (no otter needed)."""
    out = tmp_path_factory.mktemp("build")
    return {b.name: b.student_zip for b in build([], out, with_autograder=False)}


@pytest.fixture(scope="module")
def conv_autograder(tmp_path_factory) -> Path:
    built = build(["conv"], tmp_path_factory.mktemp("conv-build"))
    assert built[0].autograder_zip is not None
    return built[0].autograder_zip


def _members(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return set(archive.namelist())


def test_student_bundle_ships_stubs_public_tests_readme_and_the_kit(student_bundles):
    for assignment in all_assignments():
        members = _members(student_bundles[assignment.name])
        folder = assignment.name
        for file in assignment.files:
            assert f"{folder}/{file}" in members
        assert f"{folder}/README.md" in members
        assert f"{folder}/tests/test_{folder}_public.py" in members
        assert any(m.startswith(f"{folder}/wheels/cnn_autograder-") for m in members)
        assert not any("hidden" in m or "solutions/" in m for m in members)
        if (TEMPLATE_DIR / f"{folder}_handout.ipynb").is_file():
            assert f"{folder}/{folder}_handout.ipynb" in members
        for path in data_files(assignment):  # lenet's digits
            assert f"{folder}/data/{path.name}" in members
    assert "lenet/data/digits32.npz" in _members(student_bundles["lenet"])


def test_no_line_of_a_reference_or_hidden_suite_in_any_bundle(student_bundles):
    secrets = secret_lines()
    assert len(secrets) > 200, "the scan must have solution and hidden-test lines to look for"
    for name, bundle in student_bundles.items():
        leaks = scan_archive(bundle, secrets)
        assert not leaks, f"{name}: " + "\n".join(f"{x.where}: {x.line}" for x in leaks)


def test_the_scan_finds_a_reference_line_hidden_in_a_wheel_inside_the_bundle(tmp_path):
    """The leak scan can fail: a solution line planted two archives deep is found."""
    secrets = secret_lines()
    assignment = load_assignment("conv")
    source = (SOLUTIONS_DIR / "conv.py").read_text()
    planted = next(line for line in source.splitlines() if line.strip() in secrets)
    wheel = tmp_path / "cnn_autograder-0.0.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("autograder/extra.py", f"def f():\n{planted}\n")
    bundle = build_student_bundle(assignment, wheel, tmp_path / "student.zip")
    leaks = scan_archive(bundle, secrets)
    assert [leak.line for leak in leaks] == [planted.strip()]
    assert leaks[0].where.endswith("extra.py") and ".whl!" in leaks[0].where


def _extract(bundle: Path, destination: Path) -> Path:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(destination)
    (folder,) = [p for p in destination.iterdir() if p.is_dir()]
    return folder


@pytest.mark.slow
def test_a_student_installs_check_from_the_bundle_alone(student_bundles, tmp_path):
    """A fresh venv, the wheel from the bundle, `autograder check`: reference full, stub 0."""
    folder = _extract(student_bundles["pooling"], tmp_path / "student")
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    (wheel,) = (folder / "wheels").glob("*.whl")
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", str(wheel)], capture_output=True, text=True
    )
    assert install.returncode == 0, install.stderr[-2000:]
    probe = subprocess.run(
        [python, "-c", "import autograder, importlib.util as u; print(u.find_spec('solutions'))"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert probe.stdout.strip() == "None", "the installed kit must not bring solutions/"
    check = [environment / "bin" / "autograder", "check", "pooling"]
    stub = subprocess.run(check, capture_output=True, text=True, cwd=folder)
    assert stub.returncode == 0, stub.stdout + stub.stderr
    assert _total(stub.stdout)[0] == 0
    # without the reference, the summary per function counts the tests calling it
    assert "max_pool_forward: 0 of the " in stub.stdout and " tests calling it pass" in stub.stdout
    reference = solution_submission_files(SOLUTIONS_DIR, ["pooling"])["pooling.py"]
    (folder / "pooling.py").write_text(reference)
    full = subprocess.run(check, capture_output=True, text=True, cwd=folder)
    got, possible = _total(full.stdout)
    assert got == possible > 0, full.stdout


def _total(report: str) -> tuple[float, float]:
    """``score: X / Y`` from the printed table."""
    lines = [line.strip() for line in report.splitlines() if line.strip().startswith("score: ")]
    assert lines, report
    got, _, possible = lines[-1].removeprefix("score: ").split()[:3]
    return float(got), float(possible)


def _otter_grade(autograder_zip: Path, submission: Path, tmp_path: Path):
    """Grade ``submission`` the way Gradescope would, with `otter run` (no Docker)."""
    out = tmp_path / f"out-{submission.parent.name}-{submission.stem}"
    out.mkdir()
    results = otter_run.main(
        str(submission), autograder=str(autograder_zip), output_dir=str(out), no_logo=True
    )
    return json.loads((out / "results.json").read_text()), results


def _scores(payload: dict) -> tuple[float, float]:
    return (  # the per-test shares of points add up within float rounding
        round(sum(t["score"] for t in payload["tests"]), 6),
        round(sum(t["max_score"] for t in payload["tests"]), 6),
    )


def _zip_folder(files: dict[str, str], destination: Path) -> Path:
    with zipfile.ZipFile(destination, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return destination


def test_otter_round_trip_reference_template_and_partial(conv_autograder, tmp_path):
    reference_files = solution_submission_files(SOLUTIONS_DIR, ["conv"])
    reference = tmp_path / "reference" / "conv.py"
    write_files(reference_files, reference.parent)
    payload, results = _otter_grade(conv_autograder, reference, tmp_path)
    jsonschema.validate(payload, RESULTS_SCHEMA)
    score, possible = _scores(payload)
    assert possible > 0 and score == possible == payload["score"]
    assert len(payload["tests"]) > 50, "one Gradescope entry per test, not one per file"
    visibilities = {t["visibility"] for t in payload["tests"]}
    assert {"visible", "after_published"} <= visibilities
    executed = "\n".join(cell.source for cell in results.notebook.cells)
    assert "def conv_forward" not in executed, "otter must not execute the submission"

    template = tmp_path / "template" / "conv.py"
    template.parent.mkdir()
    template.write_text((TEMPLATE_DIR / "conv.py").read_text())
    payload, _ = _otter_grade(conv_autograder, template, tmp_path)
    assert _scores(payload) == (0.0, possible)

    spec = next(s for s in buggy_specs() if s["assignment"] == "conv")
    buggy = _zip_folder(apply_edits(reference_files, spec), tmp_path / "buggy.zip")
    payload, _ = _otter_grade(conv_autograder, buggy, tmp_path)
    score, _ = _scores(payload)
    assert 0 < score < possible, f"{spec['name']} should earn partial credit, got {score}"


def test_otter_round_trip_survives_a_submission_that_attacks_the_grader(conv_autograder, tmp_path):
    """Import-time code that forges results and exits: 0 points, results from the grader."""
    hostile = tmp_path / "hostile" / "conv.py"
    hostile.parent.mkdir()
    hostile.write_text(
        "import json, os\n"
        "for path in ('../results/results.json', '/autograder/results/results.json'):\n"
        "    try:\n"
        "        open(path, 'w').write(json.dumps({'score': 1000, 'tests': []}))\n"
        "    except OSError:\n"
        "        pass\n"
        "os._exit(0)\n"
    )
    payload, _ = _otter_grade(conv_autograder, hostile, tmp_path)
    jsonschema.validate(payload, RESULTS_SCHEMA)
    score, possible = _scores(payload)
    assert possible > 0 and score == 0 and payload["score"] == 0


def test_uploading_the_handout_notebook_too_changes_nothing(conv_autograder, tmp_path):
    """Otter takes a lone notebook as the submission; the handout's name is the placeholder's."""
    files = solution_submission_files(SOLUTIONS_DIR, ["conv"])
    files["conv_handout.ipynb"] = '{"cells": [{"cell_type": "code", "source": "1/0"}]}'
    submission = _zip_folder(files, tmp_path / "with-handout.zip")
    payload, results = _otter_grade(conv_autograder, submission, tmp_path)
    score, possible = _scores(payload)
    assert possible > 0 and score == possible
    assert "1/0" not in "\n".join(cell.source for cell in results.notebook.cells)


def test_otter_round_trip_multi_file_assignment_from_a_zip(tmp_path):
    (built,) = build(["residual"], tmp_path / "build")
    assignment = load_assignment("residual")
    files = solution_submission_files(SOLUTIONS_DIR, [f[:-3] for f in assignment.files])
    submission = _zip_folder(files, tmp_path / "residual-submission.zip")
    payload, _ = _otter_grade(built.autograder_zip, submission, tmp_path)
    score, possible = _scores(payload)
    assert possible > 0 and score == possible


@pytest.mark.exhaustive  # a minute: an otter build, then a grading that trains the network
def test_otter_round_trip_capstone_trains_and_fills_the_leaderboard(tmp_path):
    """The capstone graded as Gradescope grades it: its data travels in the autograder zip,
    the reference trains to full marks, and results.json carries the leaderboard."""
    (built,) = build(["lenet"], tmp_path / "build")
    assignment = load_assignment("lenet")
    files = solution_submission_files(SOLUTIONS_DIR, [f[:-3] for f in assignment.files])
    submission = _zip_folder(files, tmp_path / "lenet-submission.zip")
    payload, _ = _otter_grade(built.autograder_zip, submission, tmp_path)
    jsonschema.validate(payload, RESULTS_SCHEMA)
    score, possible = _scores(payload)
    assert possible > 0 and score == possible
    board = {entry["name"]: entry for entry in payload["leaderboard"]}
    assert set(board) == {"Test accuracy", "Training time (s)"}
    assert board["Test accuracy"]["value"] >= 0.93 and "order" not in board["Test accuracy"]
    assert board["Training time (s)"]["value"] > 0 and board["Training time (s)"]["order"] == "asc"


def test_build_command_writes_both_artefacts(tmp_path, capsys):
    from autograder.cli import main

    assert main(["build", "batchnorm", "--out", str(tmp_path)]) == 0
    for artefact in ("student.zip", "autograder.zip"):
        assert zipfile.is_zipfile(tmp_path / "batchnorm" / artefact)
    with zipfile.ZipFile(tmp_path / "batchnorm" / "autograder.zip") as archive:
        config = json.loads(archive.read("otter_config.json"))
        assert "run_autograder" in archive.namelist()
        environment = archive.read("environment.yml").decode()
    assert config["plugins"] == [
        {"autograder.packaging.otter_plugin.SandboxedSuitePlugin": {"assignment": "batchnorm"}}
    ]
    assert "otter-grader[grading,plugins]==7.0.0" in environment
    assert "numpy==" in environment and "pytest==" in environment
    assert "built" in capsys.readouterr().out


def test_build_refuses_an_unknown_assignment(tmp_path, capsys):
    from autograder.cli import main

    assert main(["build", "nonesuch", "--out", str(tmp_path)]) == 2
    assert "unknown assignment" in capsys.readouterr().err


def test_wheel_holds_only_the_kit(student_bundles):
    with zipfile.ZipFile(student_bundles["conv"]) as archive:
        (wheel_name,) = [n for n in archive.namelist() if n.endswith(".whl")]
        wheel = zipfile.ZipFile(io.BytesIO(archive.read(wheel_name)))
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert tops == {"autograder", next(t for t in tops if t.endswith(".dist-info"))}


ROUND_TRIPPED_ABOVE = ("conv", "residual")
OTHER_ASSIGNMENTS = [a.name for a in all_assignments() if a.name not in ROUND_TRIPPED_ABOVE]


@pytest.fixture(scope="module")
def other_autograders(tmp_path_factory) -> dict[str, Path]:
    built = build(OTHER_ASSIGNMENTS, tmp_path_factory.mktemp("all-build"))
    return {b.name: b.autograder_zip for b in built}


def test_every_assignment_builds_its_gradescope_zip(other_autograders):
    assert sorted(other_autograders) == sorted(OTHER_ASSIGNMENTS)
    assert all(path.is_file() and path.stat().st_size > 0 for path in other_autograders.values())


ROUND_TRIPPED_BY_DEFAULT = ("transfer", "metrics")
"""Round trips of the default run (besides those above): the assignment whose data and six
files travel in its zip, and one more; every assignment's zip is built in each run, and every
one is round-tripped with ``--exhaustive``."""


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=[] if name in ROUND_TRIPPED_BY_DEFAULT else [pytest.mark.exhaustive],
        )
        for name in OTHER_ASSIGNMENTS
    ],
)
def test_otter_round_trip_of_every_assignment(other_autograders, name, tmp_path):
    """Every assignment's Gradescope zip grades its reference at full marks and the untouched
    template at 0, through otter as Gradescope runs it."""
    assignment = load_assignment(name)
    modules = [f[:-3] for f in assignment.files]
    reference = _zip_folder(
        solution_submission_files(SOLUTIONS_DIR, modules), tmp_path / "reference.zip"
    )
    payload, _ = _otter_grade(other_autograders[name], reference, tmp_path)
    jsonschema.validate(payload, RESULTS_SCHEMA)
    score, possible = _scores(payload)
    assert possible > 0 and score == possible, payload.get("output")
    template = _zip_folder(
        {f: (TEMPLATE_DIR / f).read_text() for f in assignment.files}, tmp_path / "template.zip"
    )
    payload, _ = _otter_grade(other_autograders[name], template, tmp_path)
    assert _scores(payload) == (0.0, possible)
