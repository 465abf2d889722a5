"""The LeNet-5 capstone's bundled digits (``assignments/lenet/data/digits32.npz``).

The layout tests read only the file; the rebuild test needs scikit-learn (the ``data`` extra).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
LENET_DIR = REPO_ROOT / "assignments" / "lenet"
DATA_FILE = LENET_DIR / "data" / "digits32.npz"

SPLITS = ("train", "val", "test")
SIZES = {"train": 1197, "val": 300, "test": 300}
N_IMAGES = 1797
N_CLASSES = 10
KEYS = {f"{kind}_{s}" for kind in ("x", "y", "source_index") for s in SPLITS}


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    with np.load(DATA_FILE, allow_pickle=False) as saved:
        return {key: saved[key] for key in saved.files}


def _prepare_data():
    """``assignments/lenet/prepare_data.py`` as a module (``assignments`` is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "lenet_prepare_data", LENET_DIR / "prepare_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_keys_dtypes_and_shapes(data):
    assert set(data) == KEYS
    for s in SPLITS:
        n = SIZES[s]
        assert data[f"x_{s}"].dtype == np.uint8 and data[f"x_{s}"].shape == (n, 1, 32, 32), s
        assert data[f"y_{s}"].dtype == np.int64 and data[f"y_{s}"].shape == (n,), s
        assert data[f"source_index_{s}"].dtype == np.int64, s
        assert data[f"source_index_{s}"].shape == (n,), s
    assert sum(len(data[f"y_{s}"]) for s in SPLITS) == N_IMAGES


def test_labels_and_class_balance(data):
    counts = {}
    for s in SPLITS:
        y = data[f"y_{s}"]
        assert y.min() >= 0 and y.max() <= N_CLASSES - 1, s
        counts[s] = np.bincount(y, minlength=N_CLASSES)
        assert (counts[s] > 0).all(), f"{s}: a class is missing: {counts[s]}"
    # validation and test: within 2 of their mean per class (30)
    for s in ("val", "test"):
        mean = SIZES[s] / N_CLASSES
        assert np.abs(counts[s] - mean).max() <= 2, f"{s}: {counts[s]}"
    # train cannot be that balanced and stratified at once: the classes have 174 to 183 images,
    # so their shares of 1197 (2/3 of each) already differ from the mean 119.7 by up to 3.8
    mean = SIZES["train"] / N_CLASSES
    assert np.abs(counts["train"] - mean).max() <= 4, f"train: {counts['train']}"
    # stratified: every count within 1 of its class's proportional share of its split
    per_class = sum(counts.values())
    for s in SPLITS:
        share = SIZES[s] * per_class / N_IMAGES
        assert np.abs(counts[s] - share).max() < 1, f"{s}: {counts[s]} against {share}"


def test_source_indices_partition_the_digits(data):
    parts = [data[f"source_index_{s}"] for s in SPLITS]
    for s, idx in zip(SPLITS, parts, strict=True):
        assert (np.diff(idx) > 0).all(), f"{s}: source indices not increasing"
    together = np.concatenate(parts)
    assert len(together) == len(np.unique(together)), "the splits share source images"
    np.testing.assert_array_equal(np.sort(together), np.arange(N_IMAGES))


def test_images_are_padded_and_use_the_full_range(data):
    x = np.concatenate([data[f"x_{s}"] for s in SPLITS])
    border = np.ones((32, 32), dtype=bool)
    border[2:-2, 2:-2] = False
    assert not x[:, :, border].any(), "the 2-pixel border is not all zero"
    assert x.max() == 255
    # every image has ink inside the border
    assert (x.reshape(len(x), -1).max(axis=1) > 0).all()


def test_rebuild_equals_the_bundled_file(data):
    pytest.importorskip(
        "sklearn", reason="scikit-learn rebuilds the bundled digits (pip install -e '.[data]')"
    )
    prepare_data = _prepare_data()
    rebuilt = prepare_data.build()
    assert set(rebuilt) == set(data)
    for key in sorted(rebuilt):
        assert rebuilt[key].dtype == data[key].dtype, key
        np.testing.assert_array_equal(rebuilt[key], data[key], err_msg=key)
    assert prepare_data.check(DATA_FILE) == []


def test_check_names_the_differing_key(tmp_path, data):
    pytest.importorskip(
        "sklearn", reason="scikit-learn rebuilds the bundled digits (pip install -e '.[data]')"
    )
    prepare_data = _prepare_data()
    altered = dict(data)
    altered["y_val"] = data["y_val"].copy()
    altered["y_val"][0] = (altered["y_val"][0] + 1) % N_CLASSES
    path = tmp_path / "altered.npz"
    np.savez_compressed(path, **altered)
    assert prepare_data.check(path) == ["y_val"]
    assert prepare_data.main(["--check", "--out", str(path)]) == 1
    assert prepare_data.main(["--check", "--out", str(DATA_FILE)]) == 0
