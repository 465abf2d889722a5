"""The command line: exit codes, messages and the results file."""

import json

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
