"""Build the LeNet-5 capstone's bundled data set, ``assignments/lenet/data/digits32.npz``.

    python assignments/lenet/prepare_data.py [--out PATH] [--check]

The images are scikit-learn's handwritten digits (``sklearn.datasets.load_digits``: the test set
of the UCI "Optical Recognition of Handwritten Digits" data, 1,797 images of 8x8 pixels with
values 0..16, 10 classes; BSD licence), made the size LeNet-5 expects. scikit-learn is needed
only to run this script (``pip install -e '.[data]'``); the kit reads the ``.npz`` it writes.

**Images.** Each image, as float64 divided by 16 (so in ``[0, 1]``), is

1. upscaled from 8x8 to 28x28 with the kit's reference bilinear resize,
   ``solutions.interpolation.bilinear_resize(x, 28, align_corners=False)`` (the half-pixel
   convention of ``torch.nn.functional.interpolate(..., mode="bilinear")``);
2. zero-padded by 2 pixels on every side to 32x32, as MNIST's 28x28 digits are padded for
   LeNet-5, so the outer 2 rows and columns of every image are 0;
3. clipped to ``[0, 1]`` and quantized to uint8 as ``np.round(255 * v)`` (NumPy rounds halves
   to even; bilinear interpolation never leaves ``[0, 1]``, so the clip is only a safeguard).

**Splits.** 1,197 train / 300 validation / 300 test images, stratified by class, computed with
NumPy only. With ``n_c`` the number of images of class ``c`` (of ``N = 1797``), the validation
split's count of class ``c`` is ``v_c``, the largest-remainder (Hamilton) apportionment of 300
over the quotas ``300 * n_c / N``: each class gets ``floor(quota)``, and the seats left over go
one each to the classes with the largest fractional parts ``quota - floor(quota)`` (ties to
the smaller label). The test split, also of 300, gets the same counts ``v_c``, and the train
split the rest, ``n_c - 2 * v_c`` (for these digits every count of every split is then within
1 of its proportional quota ``N_split * n_c / N``). Then, with one generator
``rng = np.random.default_rng(0)`` and the classes taken in the order 0, 1, ..., 9, the
indices (rows of ``load_digits``) of class ``c``, in increasing order, are shuffled by
``rng.permutation``; the first ``n_c - 2 * v_c`` of them go to train, the next ``v_c`` to
validation and the last ``v_c`` to test. Each split's indices are finally sorted, so its
images are in ``load_digits`` order.

Because the data set's classes have 174 to 183 images, a proportional split cannot be exactly
balanced: the validation and test splits have 29 to 31 images per class, the train split 116 to
122 (its mean is 119.7).

**File.** ``np.savez_compressed`` with the keys

* ``x_train``, ``x_val``, ``x_test``: ``(n, 1, 32, 32)`` uint8 images;
* ``y_train``, ``y_val``, ``y_test``: ``(n,)`` int64 labels 0..9;
* ``source_index_train``, ``source_index_val``, ``source_index_test``: ``(n,)`` int64, the rows
  of ``load_digits()`` each image came from (increasing).

``--check`` rebuilds the arrays in memory and compares them with the file, key by key (dtype,
shape and values; the zip archive itself holds timestamps, so the bytes of two builds differ):
it exits 0 if they are identical and 1, naming the first differing key, if not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root

from solutions.interpolation import bilinear_resize

DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "digits32.npz"

SEED = 0
N_CLASSES = 10
N_VAL = 300
N_TEST = 300
RESIZED = 28
PAD = 2

SPLITS = ("train", "val", "test")
KEYS = (
    *(f"x_{s}" for s in SPLITS),
    *(f"y_{s}" for s in SPLITS),
    *(f"source_index_{s}" for s in SPLITS),
)


def load_source() -> tuple[np.ndarray, np.ndarray]:
    """The digits as float64 images ``(1797, 8, 8)`` with values 0..16, and their int64 labels."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "scikit-learn is needed to rebuild the bundled digits: pip install -e '.[data]'"
        ) from exc
    digits = load_digits()
    return np.asarray(digits.images, dtype=np.float64), np.asarray(digits.target, dtype=np.int64)


def images32(images: np.ndarray) -> np.ndarray:
    """8x8 images with values 0..16 -> ``(n, 1, 32, 32)`` uint8 (see the module docstring)."""
    x = (np.asarray(images, dtype=np.float64) / 16.0)[:, None, :, :]
    x = bilinear_resize(x, RESIZED, align_corners=False)
    x = np.pad(x, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)))
    x = np.clip(x, 0.0, 1.0)
    return np.round(255.0 * x).astype(np.uint8)


def largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Apportion ``total`` seats over ``weights`` by largest remainder (ties to the lower index)."""
    weights = np.asarray(weights, dtype=np.int64)
    # exact integer arithmetic: quota = total * w / sum(w) = floor + remainder / sum(w)
    numerators = total * weights
    floors, remainders = np.divmod(numerators, weights.sum())
    left = total - int(floors.sum())
    order = np.lexsort((np.arange(len(weights)), -remainders))  # largest remainder first
    counts = floors.copy()
    counts[order[:left]] += 1
    return counts


def split_counts(labels: np.ndarray) -> dict[str, np.ndarray]:
    """Per split, the number of images of each class (see the module docstring)."""
    per_class = np.bincount(labels, minlength=N_CLASSES)
    if N_VAL != N_TEST:  # pragma: no cover - the rule below gives both the same counts
        raise AssertionError("the split rule assumes validation and test of the same size")
    held_out = largest_remainder(N_VAL, per_class)
    return {"train": per_class - 2 * held_out, "val": held_out, "test": held_out.copy()}


def split_indices(labels: np.ndarray) -> dict[str, np.ndarray]:
    """Per split, the sorted rows of the source it takes (see the module docstring)."""
    counts = split_counts(labels)
    rng = np.random.default_rng(SEED)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for c in range(N_CLASSES):
        shuffled = rng.permutation(np.flatnonzero(labels == c))
        start = 0
        for s in SPLITS:
            stop = start + int(counts[s][c])
            parts[s].append(shuffled[start:stop])
            start = stop
        assert start == len(shuffled)
    return {s: np.sort(np.concatenate(parts[s])).astype(np.int64) for s in SPLITS}


def build() -> dict[str, np.ndarray]:
    """All the arrays of the bundled file, by key, built from ``load_digits()``."""
    images, labels = load_source()
    x = images32(images)
    arrays: dict[str, np.ndarray] = {}
    for s, idx in split_indices(labels).items():
        arrays[f"x_{s}"] = x[idx]
        arrays[f"y_{s}"] = labels[idx]
        arrays[f"source_index_{s}"] = idx
    return {key: arrays[key] for key in KEYS}


def write(path: str | Path = DEFAULT_OUT) -> Path:
    """Build the arrays and save them, compressed, to ``path`` (its folder is created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = build()
    with path.open("wb") as f:  # a file object: np.savez would append ".npz" to a bare name
        np.savez_compressed(f, **arrays)
    return path


def check(path: str | Path = DEFAULT_OUT) -> list[str]:
    """The keys whose arrays differ (dtype, shape or values) between a rebuild and ``path``.

    A key missing from either side counts as differing; the keys are in the file's order
    (:data:`KEYS`), then any extra keys of the file. An empty list means identical.
    """
    expected = build()
    with np.load(Path(path), allow_pickle=False) as saved:
        on_disk = {key: saved[key] for key in saved.files}
    differing = []
    for key in [*expected, *(k for k in on_disk if k not in expected)]:
        a, b = expected.get(key), on_disk.get(key)
        if a is None or b is None or a.dtype != b.dtype or not np.array_equal(a, b):
            differing.append(key)
    return differing


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build (or --check) the LeNet-5 capstone's digits32.npz from scikit-learn's "
        "handwritten digits."
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"the .npz file (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory and compare with the file instead of writing it; exit 1 if differs",
    )
    args = parser.parse_args(argv)
    if args.check:
        if not args.out.is_file():
            print(f"check failed: no file {args.out}", file=sys.stderr)
            return 1
        differing = check(args.out)
        if differing:
            print(
                f"check failed: {args.out} differs from a rebuild, first at key "
                f"{differing[0]!r} (differing keys: {', '.join(differing)})",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out} is identical to a rebuild")
        return 0
    path = write(args.out)
    with np.load(path) as saved:
        sizes = ", ".join(f"{s} {len(saved[f'y_{s}'])}" for s in SPLITS)
    print(f"wrote {path} ({path.stat().st_size} bytes): {sizes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
