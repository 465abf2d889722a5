"""Hidden tests for transfer.py: the submission (with its own lenet.py and layers) against the
reference, frozen parameters checked bit for bit against the grader's own copies, the gradient
reaching exactly the parameters that learn, and the few-shot transfer of the bundled backbone
to the digits 5-9, graded by test accuracy."""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from autograder.suite.compare import assert_close, assert_scalar_close
from autograder.suite.draws import shared_draw
from autograder.suite.student import with_call_timeout

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

pytestmark = [
    pytest.mark.assignment("transfer"),
    pytest.mark.visibility("after_published"),
    # Device discipline is the public suite's feedback (its strict cases call every function
    # but the training loops); here NumPy, and CuPy where a GPU grades.
    pytest.mark.backends("numpy", "cupy"),
]

FOLDER = Path(__file__).resolve().parents[1]
TRAINING = tomllib.loads((FOLDER / "assignment.toml").read_text(encoding="utf-8"))["training"]
DATA = FOLDER / "data"
DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
BACKBONE = ("conv1_w", "conv1_b", "conv2_w", "conv2_b", "fc1_w", "fc1_b", "fc2_w", "fc2_b")
NAMES = (*BACKBONE, "fc3_w", "fc3_b")
NEW_CLASSES = (5, 6, 7, 8, 9)


def _plain_reference():
    """The reference module itself (no spread measured): for the graded runs' accuracies, which
    the grader computes once per run and compares with thresholds, not with a result."""
    return importlib.import_module("solutions.transfer")


def _backbone(dtype=np.float32):
    with np.load(DATA / "backbone.npz") as saved:
        return {key: saved[key].astype(dtype) for key in saved.files}


def _params(rng, dtype, classes=5):
    """The shipped backbone's conv1 ... fc2, moved a little, and a random head."""
    params = {
        k: (v + 0.01 * rng.standard_normal(v.shape)).astype(dtype)
        for k, v in _backbone(np.float64).items()
        if k in BACKBONE
    }
    params["fc3_w"] = (0.2 * rng.standard_normal((classes, 84))).astype(dtype)
    params["fc3_b"] = (0.1 * rng.standard_normal(classes)).astype(dtype)
    return params


def _images(rng, n, dtype):
    return rng.random((n, 1, 32, 32)).astype(dtype)


def _compare_dicts(got, want, what):
    assert isinstance(got, dict) and set(got) == set(want), (
        f"{what} must be a dict with the keys {sorted(want)}, got "
        f"{sorted(got) if isinstance(got, dict) else type(got).__name__}"
    )
    for name in want:
        assert_close(got[name], want[name], name=f"{what}[{name!r}]")


def _bit_for_bit(got, kept, what):
    """``got`` must be the grader's copy ``kept`` exactly: same dtype, shape and bits."""
    assert isinstance(got, np.ndarray) and got.dtype == kept.dtype and got.shape == kept.shape, (
        f"{what} is frozen: it must come back as it was ({kept.dtype} {kept.shape}), got "
        f"{getattr(got, 'dtype', type(got).__name__)} {getattr(got, 'shape', '')}"
    )
    assert got.tobytes() == kept.tobytes(), (
        f"{what} is frozen: it must come back bit for bit as it was, but "
        f"{int((got != kept).sum())} of its {kept.size} values changed"
    )


# ------------------------------------------------------------------ labels and features


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "classes, shape",
    [
        pytest.param([5, 6, 7, 8, 9], (40,), id="digits_5_to_9"),
        pytest.param([8, 3, 6], (4, 5), id="unordered_2d"),
        pytest.param([1, 2, 4, 9], (30,), id="not_consecutive"),
    ],
)
def test_relabel(student, reference, rng, classes, shape):
    y = np.asarray(classes)[rng.integers(0, len(classes), shape)]
    assert_close(student.relabel(y, classes), reference.relabel(y, classes), name="labels")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "classes, dtype",
    [
        pytest.param([5, 6, 7, 8, 9], np.int32, id="int32"),
        pytest.param([3, 0, 2], np.uint8, id="uint8"),
        pytest.param([1, 0], np.int64, id="swapped"),
        pytest.param([2, 0, 1], np.int16, id="cycle-int16"),
    ],
)
def test_relabel_gives_int64_labels_mapped_once(student, reference, rng, classes, dtype):
    # a new label that is another class's old label is not relabelled again
    y = np.asarray(classes, dtype)[rng.integers(0, len(classes), 12)]
    got = student.relabel(y, classes)
    want = reference.relabel(y, classes)
    assert isinstance(got, np.ndarray) and got.dtype == np.int64, (
        f"relabel returns int64 labels whatever y's integer dtype: for {np.dtype(dtype)} labels "
        f"it returned {getattr(got, 'dtype', type(got).__name__)}"
    )
    assert_close(got, want, name=f"labels (relabel(y, {classes}): classes[i] becomes i)")


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "y, classes",
    [
        pytest.param([5, 6, 3, 7], [5, 6, 7], id="below"),
        pytest.param([[9, 5], [5, 10]], [9, 5], id="above_2d"),
    ],
)
def test_relabel_refuses_labels_outside_the_classes(student, y, classes):
    try:
        student.relabel(np.asarray(y), classes)
    except ValueError:
        return
    raise AssertionError(
        f"relabel(y, {classes}) must raise ValueError for a label of y that is not among classes"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "n, batch_size, dtype",
    [
        pytest.param(7, 3, np.float64, id="batches_of_3-float64"),
        pytest.param(4, 256, np.float32, id="one_batch-float32"),
    ],
)
def test_extract_features(student, reference, rng, dtype, n, batch_size):
    params = _params(rng, dtype, classes=10)  # the backbone's own fc3 is ignored
    x = _images(rng, n, dtype)
    want = reference.extract_features(params, x, batch_size)
    assert_close(student.extract_features(params, x, batch_size), want, name="features")


@pytest.mark.points(1)
def test_extract_features_of_the_shipped_backbone_on_digits(student, reference, rng):
    with np.load(DATA / "digits59.npz") as saved:
        x = (saved["x_test"][:20] / np.float32(255)).astype(np.float32)
    backbone = _backbone()
    want = reference.extract_features(backbone, x)
    assert_close(student.extract_features(backbone, x), want, name="features")


# ------------------------------------------------------------------ the new head


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "n_classes, seed, dtype",
    [
        pytest.param(5, 3, np.float32, id="5_classes-float32"),
        pytest.param(2, 11, np.float64, id="2_classes-float64"),
    ],
)
def test_head_init(student, reference, dtype, n_classes, seed):
    # By the statistics of the draw (your own xavier_uniform may draw other numbers than the
    # reference's), and by its seeds.
    like = np.zeros((2, 84), dtype)
    head = student.head_init(like, n_classes, seed)
    want = reference.head_init(like, n_classes, seed)
    assert isinstance(head, dict) and set(head) == set(want), (
        f"the head must be a dict with the keys {sorted(want)}"
    )
    for name in want:
        value, expected = head[name], want[name]
        assert isinstance(value, np.ndarray) and value.shape == expected.shape, (
            f"head[{name!r}]: expected shape {expected.shape}, got "
            f"{getattr(value, 'shape', type(value).__name__)}"
        )
        assert value.dtype == expected.dtype, (
            f"head[{name!r}]: expected dtype {expected.dtype}, got {value.dtype}"
        )
    assert not head["fc3_b"].any(), "head['fc3_b']: the bias starts at zero"
    w = head["fc3_w"]
    bound = float(np.sqrt(6.0 / (84 + n_classes)))  # xavier_uniform
    spread = float(w.std()) / (bound / np.sqrt(3.0))
    assert float(np.abs(w).max()) <= bound * (1 + 1e-6) and 0.8 < spread < 1.2, (
        f"head['fc3_w'] must be drawn by xavier_uniform from U(-b, b), b = sqrt(6 / (84 + "
        f"{n_classes})): its values reach {float(np.abs(w).max()):.4g} and their spread is "
        f"{spread:.3f} times that of the right b"
    )
    again, other = student.head_init(like, n_classes, seed), student.head_init(like, n_classes, 0)
    np.testing.assert_array_equal(
        again["fc3_w"], w, err_msg="the same seed must draw the same head"
    )
    shared = shared_draw(
        {f"head_init(seed={seed})": w, "head_init(seed=0)": other["fc3_w"]},
        {f"head_init(seed={seed})": bound, "head_init(seed=0)": bound},
    )
    assert shared is None and not np.array_equal(other["fc3_w"], w), (
        f"head_init(seed={seed}) draws the same head as head_init(seed=0): the seed is the "
        "head's own, xavier_uniform(w, seed=seed)"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", DTYPES)
def test_head_loss(student, reference, rng, dtype):
    head = reference.head_init(np.zeros(1, dtype), 5, int(rng.integers(0, 100)))
    head["fc3_b"] = (0.1 * rng.standard_normal(5)).astype(dtype)
    features = np.maximum(rng.standard_normal((9, 84)), 0).astype(dtype)
    y = rng.integers(0, 5, 9)
    got = student.head_loss(head, features, y)
    assert isinstance(got, tuple) and len(got) == 2, "head_loss must return (loss, grads)"
    want_loss, want_grads = reference.head_loss(head, features, y)
    assert_scalar_close(got[0], want_loss, name="loss")
    _compare_dicts(got[1], want_grads, "grads")


@pytest.mark.points(1.5)
@pytest.mark.parametrize("dtype", DTYPES)
def test_train_head(student, reference, rng, dtype):
    features = np.maximum(rng.standard_normal((23, 84)), 0).astype(dtype)
    y = rng.integers(0, 4, 23)
    head = reference.head_init(features, 4, 5)
    got = student.train_head(head, features, y, 3, 8, 0.05, 0.9, 1e-3, 7)
    assert isinstance(got, tuple) and len(got) == 2, "train_head must return (head, losses)"
    want_head, want_losses = reference.train_head(head, features, y, 3, 8, 0.05, 0.9, 1e-3, 7)
    assert isinstance(got[1], list) and len(got[1]) == len(want_losses), (
        f"train_head must return one loss per step: 3 epochs of 3 batches (the last one "
        f"smaller) make 9, got {len(got[1]) if isinstance(got[1], list) else type(got[1])}"
    )
    # the losses are Python floats of a run in `dtype`: compared at its precision
    assert_close(np.asarray(got[1], dtype), np.asarray(want_losses, dtype), name="losses")
    _compare_dicts(got[0], want_head, "head")


# ------------------------------------------------------------------ the whole network


@pytest.mark.points(0.5)
@pytest.mark.parametrize(
    "classes, dtype",
    [pytest.param(5, np.float32, id="5-float32"), pytest.param(3, np.float64, id="3-float64")],
)
def test_transfer_forward(student, reference, rng, dtype, classes):
    params = _params(rng, dtype, classes)
    x = _images(rng, 4, dtype)
    assert_close(
        student.transfer_forward(params, x), reference.transfer_forward(params, x), name="logits"
    )


TRAINABLE_CASES = [
    pytest.param({"fc3": 0.1}, ["fc3"], id="head_only"),
    pytest.param({"fc1": 0.01, "fc2": 0.01, "fc3": 0.1}, ["fc1", "fc2", "fc3"], id="last_block"),
    pytest.param(
        dict.fromkeys(("conv1", "conv2", "fc1", "fc2", "fc3"), 0.03),
        ["conv1", "conv2", "fc1", "fc2", "fc3"],
        id="scratch",
    ),
    pytest.param(
        {"conv1": 0.1, "conv2": 0.1, "fc3": 0.1}, ["fc3", "fc2"], id="rates_not_trainable"
    ),
    pytest.param({"conv2": 0.0, "fc1": 0.02, "fc3": 0.0}, ["conv2", "fc1", "fc3"], id="rate_zero"),
    pytest.param({"fc2": 0.1}, [], id="nothing"),
    pytest.param(
        {"conv2": 0.1, "fc1": 0.01, "fc3": 0.1}, ["fc3", "fc1", "conv2"], id="trainable_reversed"
    ),
]


@pytest.mark.points(0.5)
@pytest.mark.backends("numpy")  # no arrays
@pytest.mark.parametrize("lrs, trainable", TRAINABLE_CASES)
def test_trainable_parameters(student, reference, lrs, trainable):
    got = student.trainable_parameters(lrs, trainable)
    want = reference.trainable_parameters(lrs, trainable)
    assert got == want, (
        f"trainable_parameters({lrs}, {trainable}) must be {want} (a parameter learns when its "
        f"layer is trainable and has a rate > 0), got {got}"
    )


@pytest.mark.points(0.5)
@pytest.mark.backends("numpy")  # no arrays
@pytest.mark.parametrize(
    "lrs, trainable",
    [
        pytest.param({"fc3": 0.1}, ["fc3", "fc4"], id="in_trainable"),
        pytest.param({"fc1": 0.1, "fc3": 0.1}, ["conv3", "fc1"], id="in_trainable_first"),
        pytest.param({"fc3": 0.1, "conv0": 0.1}, ["fc3"], id="in_lrs"),
    ],
)
def test_trainable_parameters_refuses_unknown_layers(student, lrs, trainable):
    try:
        student.trainable_parameters(lrs, trainable)
    except ValueError:
        return
    raise AssertionError(
        f"trainable_parameters({lrs}, {trainable}) must raise ValueError: a layer that is not "
        "among LAYERS is a mistake, not a layer to ignore"
    )


F32, F64 = np.float32, np.float64
WRT = [  # each with one dtype: a backward through the convolutions is the suite's costliest call
    pytest.param(("fc3_w", "fc3_b"), F32, id="head-float32"),
    pytest.param(("fc3_w", "fc3_b"), F64, id="head-float64"),
    pytest.param(
        ("fc1_w", "fc1_b", "fc2_w", "fc2_b", "fc3_w", "fc3_b"), F32, id="last_block-float32"
    ),
    pytest.param(("conv2_w", "conv2_b", "fc3_b"), F64, id="conv2_and_fc3_b-float64"),
    pytest.param(NAMES, F32, id="everything-float32"),
    pytest.param((), F64, id="nothing-float64"),
]


@pytest.mark.points(1.5)
@pytest.mark.parametrize("wrt, dtype", WRT)
def test_gradient_reaches_exactly_the_parameters_that_learn(student, reference, rng, dtype, wrt):
    params = _params(rng, dtype)
    x, y = _images(rng, 3, dtype), rng.integers(0, 5, 3)
    got = student.transfer_loss(params, x, y, list(wrt))
    assert isinstance(got, tuple) and len(got) == 2, "transfer_loss must return (loss, grads)"
    want_loss, want_grads = reference.transfer_loss(params, x, y, list(wrt))
    grads = got[1]
    assert isinstance(grads, dict), f"grads must be a dict, got {type(grads).__name__}"
    extra, missing = sorted(set(grads) - set(wrt)), sorted(set(wrt) - set(grads))
    assert not extra, (
        f"grads holds frozen parameters {extra}: with wrt = {list(wrt)}, a parameter not in "
        "wrt gets no gradient at all (not a zero one)"
    )
    assert not missing, f"grads has no gradient of {missing}, which wrt names"
    assert_scalar_close(got[0], want_loss, name="loss")
    _compare_dicts(grads, want_grads, "grads")


STEP_CASES = [
    pytest.param(
        {"fc1": 0.01, "fc2": 0.02, "fc3": 0.1}, ["fc1", "fc2", "fc3"], F64, id="last_block-float64"
    ),
    pytest.param(
        {"fc1": 0.01, "fc2": 0.02, "fc3": 0.1}, ["fc1", "fc2", "fc3"], F32, id="last_block-float32"
    ),
    pytest.param(
        {"conv1": 0.05, "conv2": 0.05, "fc1": 0.01, "fc2": 0.0, "fc3": 0.1},
        ["fc1", "fc2", "fc3"],
        F32,
        id="rates_for_frozen_layers-float32",
    ),
    pytest.param(
        {"conv1": 0.005, "conv2": 0.01, "fc1": 0.02, "fc2": 0.03, "fc3": 0.05},
        ["conv1", "conv2", "fc1", "fc2", "fc3"],
        F64,
        id="every_layer_its_rate-float64",
    ),
]


@pytest.mark.points(1.5)
@pytest.mark.parametrize("lrs, trainable, dtype", STEP_CASES)
def test_one_step_equals_the_reference_step(student, reference, rng, dtype, lrs, trainable):
    params = _params(rng, dtype)
    velocities = {k: (0.1 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    x, y = _images(rng, 3, dtype), rng.integers(0, 5, 3)
    got = student.finetune_step(params, velocities, x, y, lrs, trainable, 0.9, 1e-2)
    assert isinstance(got, tuple) and len(got) == 3, (
        "finetune_step must return (params, velocities, loss)"
    )
    want = reference.finetune_step(params, velocities, x, y, lrs, trainable, 0.9, 1e-2)
    assert_scalar_close(got[2], want[2], name="loss")
    _compare_dicts(got[0], want[0], "params")
    _compare_dicts(got[1], want[1], "velocities")


@pytest.mark.points(1.5)
@pytest.mark.parametrize("dtype", DTYPES)
def test_frozen_parameters_come_back_bit_for_bit(student, reference, rng, dtype):
    # conv1 and conv2 have rates but are not trainable, fc2 is trainable at the rate 0: all
    # three are frozen, with weight decay and non-zero velocities that would move them.
    params = _params(rng, dtype)
    velocities = {k: (0.1 * rng.standard_normal(v.shape)).astype(dtype) for k, v in params.items()}
    kept = {k: v.copy() for k, v in params.items()}
    kept_velocities = {k: v.copy() for k, v in velocities.items()}
    lrs = {"conv1": 0.05, "conv2": 0.05, "fc1": 0.01, "fc2": 0.0, "fc3": 0.1}
    x, y = _images(rng, 6, dtype), rng.integers(0, 5, 6)
    got = student.finetune_step(params, velocities, x, y, lrs, ["fc1", "fc2", "fc3"], 0.9, 1e-2)
    assert isinstance(got, tuple) and len(got) == 3, (
        "finetune_step must return (params, velocities, loss)"
    )
    for what, result, copies in (("params", got[0], kept), ("velocities", got[1], kept_velocities)):
        assert isinstance(result, dict) and set(result) == set(NAMES), (
            f"{what} must be a dict with the keys {sorted(NAMES)}"
        )
        for name in ("conv1_w", "conv1_b", "conv2_w", "conv2_b", "fc2_w", "fc2_b"):
            _bit_for_bit(result[name], copies[name], f"{what}[{name!r}]")
    for name in ("fc1_w", "fc3_b"):
        assert not np.array_equal(got[0][name], kept[name]), f"params[{name!r}] learns: it moves"


@pytest.mark.points(2)
def test_train_finetune_runs_the_documented_loop(student, reference, rng):
    x, y = _images(rng, 20, np.float64), rng.integers(0, 5, 20)  # 20 = 2 batches of 8 + 4
    params = _params(rng, np.float64)
    kept = {k: v.copy() for k, v in params.items()}
    lrs, trainable = {"conv1": 0.1, "fc1": 0.01, "fc2": 0.01, "fc3": 0.05}, ["fc2", "fc3"]
    got = student.train_finetune(params, x, y, lrs, trainable, 2, 8, 0.9, 1e-3, 4)
    assert isinstance(got, tuple) and len(got) == 2, "train_finetune must return (params, losses)"
    want_params, want_losses = reference.train_finetune(
        params, x, y, lrs, trainable, 2, 8, 0.9, 1e-3, 4
    )
    assert isinstance(got[1], list) and len(got[1]) == len(want_losses), (
        f"train_finetune must return one loss per step: 2 epochs of 3 batches (the last one "
        f"smaller) make 6, got {len(got[1]) if isinstance(got[1], list) else type(got[1])}"
    )
    assert isinstance(got[0], dict) and set(got[0]) == set(NAMES), (
        f"train_finetune must return the parameters, a dict with the keys {sorted(NAMES)}"
    )
    for name in ("conv1_w", "conv1_b", "conv2_w", "conv2_b", "fc1_w", "fc1_b"):
        _bit_for_bit(got[0][name], kept[name], f"params[{name!r}]")
    assert_close(np.asarray(got[1], np.float64), np.asarray(want_losses), name="losses")
    _compare_dicts(got[0], want_params, "params")


# ------------------------------------------------------------------ the graded few-shot runs


def _task():
    """The graded run's labelled examples and the test images, as ``[training]`` says."""
    reference = _plain_reference()
    with np.load(DATA / "digits59.npz") as saved:
        data = {key: saved[key] for key in saved.files}
    index = reference.few_shot_indices(
        data["y_train"], NEW_CLASSES, int(TRAINING["per_class"]), int(TRAINING["seed"])
    )

    def images(raw):
        return (raw / np.float32(255)).astype(np.float32)

    return {
        "x": images(data["x_train"][index]),
        "y": reference.relabel(data["y_train"][index], NEW_CLASSES),
        "x_test": images(data["x_test"]),
        "y_test": reference.relabel(data["y_test"], NEW_CLASSES),
    }


_RUNS: dict[tuple[str, str], tuple] = {}
"""Per run and backend: its test accuracy, or the error it raised (each run trains once)."""


def _graded_run(kind, student, backend):
    if (kind, backend) not in _RUNS:
        try:
            _RUNS[kind, backend] = ("done", _train(kind, student))
        except Exception as error:  # each test of the run fails with it
            _RUNS[kind, backend] = ("failed", error)
    outcome, value = _RUNS[kind, backend]
    if outcome == "failed":
        raise value
    return value


def _train(kind, student):
    """Run the submission's feature extraction (``head``) or fine-tuning (``finetune``) on the
    few labelled examples; the trained model's test accuracy, measured by the grader."""
    reference = _plain_reference()
    task = _task()
    config = TRAINING[kind]
    seed = int(TRAINING["seed"])
    timed = with_call_timeout(student, float(TRAINING["budget_s"]))
    backbone = _backbone()
    head = reference.head_init(task["x"], len(NEW_CLASSES), seed)
    options = dict(
        epochs=int(config["epochs"]),
        batch_size=int(config["batch_size"]),
        momentum=float(config["momentum"]),
        weight_decay=float(config["weight_decay"]),
        seed=seed,
    )
    start = time.perf_counter()
    if kind == "head":
        features = timed.extract_features(backbone, task["x"])
        result = timed.train_head(head, features, task["y"], lr=float(config["lr"]), **options)
    else:
        params = {**{k: backbone[k] for k in BACKBONE}, **head}
        lrs = {layer: float(lr) for layer, lr in config["lrs"].items()}
        result = timed.train_finetune(
            params, task["x"], task["y"], lrs, list(config["trainable"]), **options
        )
    seconds = time.perf_counter() - start
    assert isinstance(result, tuple) and len(result) == 2, (
        f"{'train_head' if kind == 'head' else 'train_finetune'} must return (parameters, losses)"
    )
    trained = result[0]
    keys = ("fc3_w", "fc3_b") if kind == "head" else NAMES
    assert isinstance(trained, dict) and set(trained) >= set(keys), (
        f"the trained parameters must be a dict with the keys {sorted(keys)}"
    )
    if kind == "head":
        test_features = reference.extract_features(backbone, task["x_test"])
        logits = test_features @ np.asarray(trained["fc3_w"]).T + np.asarray(trained["fc3_b"])
    else:
        logits = reference.transfer_forward(trained, task["x_test"])
    return float((logits.argmax(axis=1) == task["y_test"]).mean()), seconds


def _describe(kind):
    config = TRAINING[kind]
    what = (
        f"a head trained on the backbone's features, {config['epochs']} epochs of batches of "
        f"{config['batch_size']} at lr {config['lr']}"
        if kind == "head"
        else f"fine-tuning {', '.join(config['trainable'])} at the rates "
        f"{dict(config['lrs'])}, {config['epochs']} epochs of batches of {config['batch_size']}"
    )
    return f"{what}, from {TRAINING['per_class']} labelled images of each digit 5-9"


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "threshold", TRAINING["head"]["accuracy_steps"], ids=lambda t: f"test_accuracy_{t:g}"
)
def test_feature_extraction_reaches_the_accuracy(student, backend, leaderboard, threshold):
    accuracy, seconds = _graded_run("head", student, backend)
    if backend == "numpy":
        leaderboard.record("Feature extraction: test accuracy", round(accuracy, 4))
    assert accuracy >= threshold, (
        f"your transferred model's test accuracy is {accuracy:.3f}, below {threshold:g} "
        f"({_describe('head')}, {seconds:.1f} s)"
    )


@pytest.mark.points(1)
@pytest.mark.parametrize(
    "threshold", TRAINING["finetune"]["accuracy_steps"], ids=lambda t: f"test_accuracy_{t:g}"
)
def test_finetuning_reaches_the_accuracy(student, backend, leaderboard, threshold):
    accuracy, seconds = _graded_run("finetune", student, backend)
    if backend == "numpy":
        leaderboard.record("Fine-tuning: test accuracy", round(accuracy, 4))
    assert accuracy >= threshold, (
        f"your fine-tuned model's test accuracy is {accuracy:.3f}, below {threshold:g} "
        f"({_describe('finetune')}, {seconds:.1f} s)"
    )


@pytest.mark.points(1)
def test_training_is_repeatable(student, reference, rng):
    task = _task()
    x, y = task["x"][:16], task["y"][:16]
    backbone = _backbone()
    head = reference.head_init(x, 5, 2)
    features = student.extract_features(backbone, x)
    first = student.train_head(head, features, y, 3, 5, 0.05)
    second = student.train_head(head, features, y, 3, 5, 0.05)
    assert isinstance(first, tuple) and len(first) == 2, "train_head must return (head, losses)"
    assert first[1] == second[1], "two runs of train_head with the same arguments gave other losses"
    params = {**{k: backbone[k] for k in BACKBONE}, **head}
    lrs, trainable = {"fc2": 0.01, "fc3": 0.05}, ["fc2", "fc3"]
    first = student.train_finetune(params, x, y, lrs, trainable, 1, 8)
    second = student.train_finetune(params, x, y, lrs, trainable, 1, 8)
    assert isinstance(first, tuple) and len(first) == 2, (
        "train_finetune must return (params, losses)"
    )
    assert first[1] == second[1], (
        "two runs of train_finetune with the same arguments gave other losses"
    )
    for name in NAMES:
        np.testing.assert_array_equal(
            first[0][name], second[0][name], err_msg=f"two runs gave other params[{name!r}]"
        )
