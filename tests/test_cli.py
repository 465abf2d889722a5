"""The command line: exit codes, messages and the results file."""

import json
from pathlib import Path

import pytest

from autograder.cli import main


def test_unknown_assignment_is_a_usage_error(tmp_path, capsys):
    assert main(["grade", "nosuch", str(tmp_path)]) == 2
    assert "unknown assignment 'nosuch'" in capsys.readouterr().err


def test_missing_submission_is_a_usage_error(tmp_path, capsys):
    assert main(["grade", "conv", str(tmp_path / "missing")]) == 2
    assert "submission not found" in capsys.readouterr().err


def test_grading_a_zero_submission_still_exits_zero(tmp_path, capsys):
    (tmp_path / "conv.py").write_text("def conv_forward(*a, **k):\n    return 0\n")
    results = tmp_path / "results.json"
    assert main(["grade", "conv", str(tmp_path / "conv.py"), "--results", str(results)]) == 0
    payload = json.loads(results.read_text())
    assert payload["score"] == 0 and payload["tests"]
    assert "FAIL" in capsys.readouterr().out


def test_template_check_passes_on_the_committed_template(capsys):
    assert main(["template", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("written", "words"),
    [
        ('{"score": 3, "max_score": 5, "tests": [{"name": "t", "sc', "unreadable"),
        ("[1, 2, 3]", "unreadable"),
        ('{"score": "lots", "max_score": 5, "tests": []}', "unreadable"),
        (None, "grading produced no results"),
    ],
    ids=["truncated", "not-an-object", "bad-score", "missing"],
)
def test_an_unreadable_results_file_is_a_grading_error_not_a_crash(
    tmp_path, capsys, monkeypatch, written, words
):
    import jsonschema

    import autograder.grading.grade
    from autograder.core.gradescope import RESULTS_SCHEMA

    def fake_pytest(command, cwd, timeout, env=None):
        target = next(a for a in command if a.startswith("--results=")).split("=", 1)[1]
        if written is not None:
            Path(target).write_text(written)
        return "pytest died\n", "", 1

    monkeypatch.setattr(autograder.grading.grade, "run_pytest", fake_pytest)
    (tmp_path / "conv.py").write_text("def conv_forward(*a, **k):\n    return 0\n")
    results = tmp_path / "results.json"
    assert main(["grade", "conv", str(tmp_path / "conv.py"), "--results", str(results)]) == 1
    assert "grading error" in capsys.readouterr().err
    payload = json.loads(results.read_text())
    jsonschema.validate(payload, RESULTS_SCHEMA)
    assert payload["score"] == 0 and words in payload["extra_data"]["grading_error"]
    assert "not caused by your submission" in payload["output"]
