"""results.json follows Gradescope's specification, and is written whole or not at all."""

import json

import jsonschema
import pytest

from autograder.cli import main
from autograder.core.gradescope import RESULTS_SCHEMA, write_results


def test_graded_results_file_validates_against_the_schema(tmp_path, capsys):
    submission = tmp_path / "pooling.py"
    submission.write_text("def max_pool_forward(*args, **kwargs):\n    return None\n")
    results = tmp_path / "out" / "results.json"
    assert main(["grade", "pooling", str(submission), "--results", str(results)]) == 0
    payload = json.loads(results.read_text())
    jsonschema.validate(payload, RESULTS_SCHEMA)
    assert payload["score"] == 0
    assert {t["visibility"] for t in payload["tests"]} == {"visible", "after_published"}
    assert all(t["status"] in ("passed", "failed") for t in payload["tests"])
    assert "pooling: 0 /" in payload["output"]


@pytest.mark.parametrize(
    "payload",
    [
        {"tests": [{"name": "t", "score": 1, "max_score": 1, "status": "ok"}]},
        {"tests": [{"name": "t", "score": 1, "max_score": 1, "visibility": "sometimes"}]},
        {"score": "ten"},
        {"score": 1, "unknown_key": True},
        {"output": "no score and no tests"},
    ],
)
def test_schema_rejects_what_gradescope_would_not_read(payload):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payload, RESULTS_SCHEMA)


def test_write_is_atomic_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "results.json"
    write_results({"score": 1.0, "tests": []}, target)
    with pytest.raises(TypeError):
        write_results({"score": object()}, target)  # not JSON: the old file must survive
    assert json.loads(target.read_text()) == {"score": 1.0, "tests": []}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
