"""The feedback benchmark (``benchmarks/bench_feedback.py``): its variants are sound, held out
from the kit's own examples and hint tests, and the script runs end to end."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from autograder.authoring.examples import apply_edits, buggy_specs
from autograder.authoring.stubgen import write_files
from autograder.core.assignments import REPO_ROOT, assignment_names
from autograder.core.results import GradeReport, TestResult

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SCRIPT = REPO_ROOT / "benchmarks" / "bench_feedback.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("bench_feedback", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_feedback"] = module
    spec.loader.exec_module(module)
    return module


bench = _load_script()


@pytest.fixture(scope="module")
def reference():
    return bench.reference_files()


@pytest.fixture(scope="module")
def loaded(reference):
    return bench.load_variants(reference=reference)


def _raw_entries():
    for name in assignment_names():
        path = bench.VARIANTS_DIR / f"{name}.toml"
        for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("variant", []):
            yield name, entry


def test_every_variant_loads_and_applies_exactly_once(loaded, reference):
    assert loaded.problems == []
    for variant in loaded.variants:
        for edit in variant.edits:
            count = reference[edit["file"]].count(edit["old"])
            assert count == 1, f"{variant.name}: {edit['old']!r} occurs {count} times"
        assert apply_edits(reference, variant.spec()) != reference


def test_enough_variants_in_every_assignment(loaded):
    assert len(loaded.variants) >= 150
    counts = {name: 0 for name in assignment_names()}
    for variant in loaded.variants:
        counts[variant.assignment] += 1
    assert min(counts.values()) >= 15, counts


def test_variants_are_spread_over_their_assignments_functions(loaded):
    for name in assignment_names():
        functions = {v.function for v in loaded.variants if v.assignment == name}
        assert len(functions) >= 2, (name, functions)


def test_every_pattern_compiles():
    entries = list(_raw_entries())
    assert entries
    for _, entry in entries:
        assert entry["named_by"], entry["name"]
        for pattern in entry["named_by"] + entry.get("also_true", []):
            re.compile(pattern)


def test_no_variant_repeats_a_bundled_example(loaded, reference):
    examples = buggy_specs()
    example_names = {spec["name"] for spec in examples}
    edits = {bench._edit_key(spec["edits"]) for spec in examples}
    for variant in loaded.variants:
        assert variant.name not in example_names
        assert bench._edit_key(variant.edits) not in edits, variant.name


def test_a_variant_repeating_a_bundled_example_is_refused(reference):
    spec = next(s for s in buggy_specs() if s["assignment"] == "conv")
    entry = {
        "name": "a-copy",
        "function": "conv_forward",
        "mistake": "the same as a bundled example",
        "named_by": ["anything"],
        "edits": spec["edits"],
    }
    examples = bench._example_fingerprints(reference)
    functions = bench._functions_of("conv")
    with pytest.raises(bench.VariantError, match="refused"):
        bench.parse_variant(entry, "conv", reference, functions, examples)
    entry["edits"] = [{"file": "conv.py", "old": "no such text", "new": "x"}]
    with pytest.raises(bench.VariantError, match="no longer applies"):
        bench.parse_variant(entry, "conv", reference, functions, examples)
    entry["edits"] = [{"file": "conv.py", "old": "return dx, dw, db", "new": "return dw, dx, db"}]
    entry["named_by"] = ["(unbalanced"]
    with pytest.raises(bench.VariantError, match="does not compile"):
        bench.parse_variant(entry, "conv", reference, functions, examples)


# The mistakes of tests/test_hints.py (and the factors of tests/test_differences.py that stand
# for one mistake), each as the call its test makes and the output the mistake gives there,
# computed with the reference. A variant whose function returns that output is that mistake.


def _hint_test_mistakes():
    from solutions import activations_losses as al
    from solutions import batchnorm, conv, interpolation
    from solutions import residual as res

    rng = np.random.default_rng(7)
    x, w, b = (
        rng.standard_normal((2, 3, 9, 8)),
        rng.standard_normal((4, 3, 3, 3)),
        rng.standard_normal(4),
    )
    flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1])
    cases = [
        (
            "conv",
            "conv_forward",
            (x, w, b),
            {"padding": 1},
            conv.conv_forward(x, flipped, b, padding=1),
        ),
    ]
    for option, value, neutral in [("padding", 2, 0), ("stride", 2, 1), ("dilation", 2, 1)]:
        wrong = conv.conv_forward(x, w, b, **{option: neutral})
        cases.append(("conv", "conv_forward", (x, w, b), {option: value}, wrong))
    xb = rng.standard_normal((8, 3, 4, 4)) * 2 + 1
    gamma, beta, rm, rv = rng.standard_normal(3), rng.standard_normal(3), np.zeros(3), np.ones(3)
    m = 8 * 4 * 4
    mean, var = xb.mean(axis=(0, 2, 3), keepdims=True), xb.var(axis=(0, 2, 3), keepdims=True)
    shape = (1, 3, 1, 1)
    unbiased = (xb - mean) / np.sqrt(var * m / (m - 1) + 1e-5) * gamma.reshape(shape)
    out, _, _ = batchnorm.batchnorm_forward(xb, gamma, beta, rm, rv)
    args = (xb, gamma, beta, rm, rv)
    cases += [
        (
            "batchnorm",
            "batchnorm_forward",
            args,
            {},
            (unbiased + beta.reshape(shape), None, None),
        ),
        ("batchnorm", "batchnorm_forward", args, {}, (out, rm.copy(), rv.copy())),
    ]
    xp = np.zeros((1, 1, 4, 4))
    xp[0, 0, :2, :2] = 1.0
    # the tie of the first window resolved towards its last maximum (row 1, column 1)
    cases.append(("pooling", "max_pool_forward", (xp, 2), {}, lambda r: int(r[1][0, 0, 0, 0]) == 5))
    xi = rng.standard_normal((1, 2, 5, 4))
    wrong = interpolation.bilinear_resize(xi, (7, 9), align_corners=True)
    cases.append(
        ("interpolation", "bilinear_resize", (xi, (7, 9)), {"align_corners": False}, wrong)
    )
    c = 3
    xr = rng.standard_normal((2, c, 5, 5))
    params = {
        "w1": rng.standard_normal((c, c, 3, 3)),
        "gamma1": np.ones(c),
        "beta1": np.zeros(c),
        "w2": rng.standard_normal((c, c, 3, 3)),
        "gamma2": np.ones(c),
        "beta2": np.zeros(c),
        "w_proj": rng.standard_normal((c, c, 1, 1)),
        "gamma_proj": np.ones(c),
        "beta_proj": np.zeros(c),
    }
    keys = ("mean1", "var1", "mean2", "var2", "mean_proj", "var_proj")
    state = {k: np.zeros(c) if k.startswith("mean") else np.ones(c) for k in keys}
    identity = {k: v for k, v in params.items() if not k.endswith("_proj")}
    identity_state = {k: v for k, v in state.items() if not k.endswith("_proj")}
    wrong = res.residual_block_forward(xr, identity, identity_state)
    cases.append(("residual", "residual_block_forward", (xr, params, state), {}, (wrong[0], None)))
    xs = 800.0 * rng.standard_normal((3, 4))
    with np.errstate(over="ignore", invalid="ignore"):
        wrong = np.exp(xs) / np.exp(xs).sum(axis=-1, keepdims=True)
    cases.append(("activations_losses", "softmax_forward", (xs,), {}, wrong))
    relu_x = np.array([-1.0, 0.0, 2.0])
    cases.append(
        ("activations_losses", "relu_backward", (np.ones(3), relu_x), {}, np.array([0.0, 1.0, 1.0]))
    )
    scores, y = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    loss, grad = al.multiclass_hinge(scores, y)
    cases.append(("activations_losses", "multiclass_hinge", (scores, y), {}, (loss * 4, None)))
    student, teacher = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    loss, grad = al.distillation_loss(student, teacher, 3.0)
    cases.append(
        (
            "activations_losses",
            "distillation_loss",
            (student, teacher, 3.0),
            {},
            (loss / 9, grad / 9),
        )
    )
    xd, mask = rng.standard_normal(10), rng.random(10) > 0.3
    cases.append(
        ("regularization", "dropout_forward", (xd, 0.3, mask), {}, np.where(mask, xd, 0.0))
    )
    wa, dwa = rng.standard_normal(4), rng.standard_normal(4)
    adam_state = {"m": np.zeros(4), "v": np.zeros(4), "step": 0}
    ma, va = 0.1 * dwa, 0.001 * dwa * dwa
    wrong = wa - 0.01 * ma / (np.sqrt(va) + 1e-8)
    cases.append(("optimizers", "adam", (wa, dwa, adam_state), {"lr": 0.01}, (wrong, None)))
    return cases


def _same(actual, expected) -> bool:
    """``actual`` equals ``expected`` where ``expected`` is given (None: any value; a function:
    what it says of ``actual``)."""
    if expected is None:
        return True
    if callable(expected):
        try:
            return bool(expected(actual))
        except Exception:
            return False
    if isinstance(expected, tuple):
        return (
            isinstance(actual, tuple | list)
            and len(actual) >= len(expected)
            and all(_same(a, e) for a, e in zip(actual, expected, strict=False))
        )
    try:
        return bool(np.allclose(np.asarray(actual), np.asarray(expected), equal_nan=True))
    except (TypeError, ValueError):
        return False


def _import_variant(folder: Path, module: str, files: dict[str, str]):
    """The variant's module ``module``, imported from ``folder`` with its sibling files."""
    siblings = [Path(name).stem for name in files]
    for name in siblings:
        sys.modules.pop(name, None)
    sys.path.insert(0, str(folder))
    try:
        spec = importlib.util.spec_from_file_location(module, folder / f"{module}.py")
        loaded = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(loaded)
        return loaded
    finally:
        sys.path.remove(str(folder))
        for name in siblings:
            sys.modules.pop(name, None)


def test_no_variant_makes_a_mistake_of_the_hint_tests(loaded, reference, tmp_path):
    cases = _hint_test_mistakes()
    by_assignment: dict[str, list] = {}
    for case in cases:
        by_assignment.setdefault(case[0], []).append(case)
    made = []
    for variant in loaded.variants:
        if variant.assignment not in by_assignment:
            continue
        folder = tmp_path / variant.name
        files = apply_edits(reference, variant.spec())
        write_files(files, folder)
        module = _import_variant(folder, variant.assignment, files)
        for _, function, args, kwargs, wrong in by_assignment[variant.assignment]:
            copies = tuple(a.copy() if isinstance(a, np.ndarray | dict) else a for a in args)
            try:
                with np.errstate(all="ignore"), contextlib.redirect_stderr(io.StringIO()):
                    result = getattr(module, function)(*copies, **kwargs)
            except Exception:  # a variant that fails on this call does not make this mistake
                continue
            if _same(result, wrong):
                made.append(f"{variant.name}: {function}{kwargs}")
    assert not made, made


def test_sample_is_deterministic_and_spread(loaded):
    first = bench.sample(loaded.variants, 2)
    assert first == bench.sample(loaded.variants, 2)
    for name in assignment_names():
        chosen = [v for v in first if v.assignment == name]
        assert len(chosen) == 2 and chosen[0].function != chosen[1].function
    assert bench.sample(loaded.variants, None) == loaded.variants


def _report(tests: list[TestResult], score: float, max_score: float) -> GradeReport:
    return GradeReport("conv", "folder", score, max_score, tests=tests)


def test_an_outcome_counts_named_misleading_caught_and_full_marks(loaded):
    variant = next(v for v in loaded.variants if v.name == "conv-backward-stride-ignored")
    variant = bench.Variant(**{**vars(variant), "also_true": (re.compile("true of it"),)})
    tests = [
        TestResult(
            "test_conv_public::test_a[numpy]",
            0.0,
            1.0,
            "failed",
            output="x\nhint: stride was ignored",
        ),
        TestResult(
            "test_conv_hidden::test_b", 0.0, 1.0, "failed", output="hint: true of it\nhint: other"
        ),
        TestResult("test_conv_hidden::test_c", 1.0, 1.0, "passed"),
    ]
    outcome = bench.outcome_of(variant, _report(tests, 1.0, 3.0), 0.1)
    assert outcome.hints == ["stride was ignored", "true of it", "other"]
    assert outcome.named and outcome.misleading_lines == ["other"]
    assert outcome.caught_public and not outcome.full_marks and not outcome.grading_error
    passing = [TestResult("test_conv_public::test_a", 1.0, 1.0, "passed")]
    outcome = bench.outcome_of(variant, _report(passing, 1.0, 1.0), 0.1)
    assert not outcome.named and not outcome.misleading and not outcome.caught_public
    assert outcome.full_marks
    assert bench.outcome_of(variant, _report([], 0.0, 0.0), 0.1).grading_error


def test_every_reviewed_line_belongs_to_a_variant(loaded):
    verdicts, problems = bench.load_verdicts()
    assert not problems and not loaded.problems, problems + loaded.problems
    assert set(verdicts) <= {v.name for v in loaded.variants}
    for variant in loaded.variants:
        assert list(variant.verdicts) == verdicts.get(variant.name, [])


def test_a_reviewers_verdict_counts_for_its_exact_line_only(loaded, tmp_path):
    path = tmp_path / "adjudicated.toml"
    path.write_text(
        '[[line]]\nvariant = "v"\nline = "dx is off per channel"\nverdict = "true"\n'
        'reason = "it is"\n\n[[line]]\nvariant = "v"\nline = "the stride is ignored"\n'
        'verdict = "names"\nreason = "it does"\n\n[[line]]\nvariant = "v"\nline = "x"\n'
        'verdict = "maybe"\nreason = "?"\n',
        encoding="utf-8",
    )
    verdicts, problems = bench.load_verdicts(path)
    assert len(problems) == 1 and "verdict must be one of" in problems[0]
    variant = next(v for v in loaded.variants if v.name == "conv-backward-stride-ignored")
    variant = bench.Variant(
        **{**vars(variant), "named_by": (re.compile("nothing matches"),), "verdicts": ()}
    )
    variant = bench.replace(variant, verdicts=tuple(verdicts["v"]))
    hints = "hint: dx is off per channel\nhint: the stride is ignored\nhint: dx is off per row"
    tests = [TestResult("test_conv_public::test_a", 0.0, 1.0, "failed", output=hints)]
    outcome = bench.outcome_of(variant, _report(tests, 0.0, 1.0), 0.1)
    assert outcome.named and outcome.misleading_lines == ["dx is off per row"]
    assert not outcome.named_by_patterns and outcome.misleading_by_patterns
    assert outcome.unmatched_lines(adjudicated=False) == outcome.hints
    assert "3 hint lines judged" not in bench.without_verdicts([outcome])
    assert "named 0/1" in bench.without_verdicts([outcome])


def test_the_script_runs_end_to_end_on_a_sample(tmp_path):
    results = tmp_path / "outcomes.json"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(io.StringIO()):
        status = bench.main(
            ["--assignment", "regularization", "--sample", "1", "--details", "--json", str(results)]
        )
    assert status == 0, stdout.getvalue()
    text = stdout.getvalue()
    assert "caught by public" in text and "target" in text and "regularization" in text
    payload = json.loads(results.read_text(encoding="utf-8"))
    (outcome,) = payload["outcomes"]
    assert outcome["assignment"] == "regularization" and not outcome["grading_error"]
    assert outcome["max_score"] > 0 and outcome["hints"] == outcome["hints"][:]
