"""Fair grades: correct formulations pass every graded comparison, buggy examples still fail.

Sampled here (2 seeds per case, the first buggy example of each assignment);
``pytest tests/test_fairness.py --exhaustive`` (or ``python benchmarks/fairness.py``) runs 200
seeds over every example.
"""

import pytest

from autograder.authoring.fairness import (
    alternative_folders,
    check_assignment,
    write_alternative_submission,
)
from autograder.core.assignments import all_assignments

ASSIGNMENTS = all_assignments()


@pytest.fixture(scope="module")
def seeds(request):
    return 200 if request.config.getoption("exhaustive") else 2


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_correct_formulations_pass_and_buggy_examples_fail(assignment, seeds, tmp_path):
    alternatives = alternative_folders(assignment)
    assert len(alternatives) >= 2, f"{assignment.name} needs two alternative formulations"
    limit = None if seeds > 2 else 1
    result = check_assignment(assignment, seeds, tmp_path, buggy_limit=limit)
    for run in result.correct + result.buggy:
        assert run.records, f"{run.submission}: no case ran\n{run.log}"
    rejected = result.false_rejections()
    assert not rejected, "\n".join(f"{k}: {m}" for k, m in list(rejected.items())[:10])
    margin, case = result.smallest_margin()
    assert margin > 0.5, f"a correct answer came within {margin:.3f} of its bound: {case}"
    escaped = result.buggy_escapes()
    assert not escaped, f"the new bounds pass what the classic bound failed: {escaped[:10]}"
    for run in result.buggy:
        assert run.failures(), f"buggy example {run.submission} passed every case"


def test_an_alternative_takes_its_sibling_files_from_another_assignments_alternative(tmp_path):
    blocks = next(a for a in ASSIGNMENTS if a.name == "blocks")
    for variant in alternative_folders(blocks):
        written = write_alternative_submission(variant, tmp_path / variant.name)
        assert sorted(p.name for p in written.glob("*.py")) == sorted(blocks.files)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "siblings.toml").write_text('"conv.py" = "conv/no_such_variant"\n')
    with pytest.raises(FileNotFoundError, match="no_such_variant"):
        write_alternative_submission(broken, tmp_path / "out")
