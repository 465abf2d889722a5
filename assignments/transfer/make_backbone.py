"""Build the transfer assignment's bundled data: the pretrained backbone and the new task's digits.

    python assignments/transfer/make_backbone.py [--out FOLDER] [--check]

Both files come from the LeNet-5 capstone's digits, ``assignments/lenet/data/digits32.npz``
(see its README), with the kit's reference solutions only (NumPy; no scikit-learn, no PyTorch).

``digits59.npz``: the new task
    The images of the digits 5 to 9 of the capstone's training and test splits, as they are
    there (uint8, ``(n, 1, 32, 32)``) and in their order, with their original labels 5..9:
    ``x_train``, ``y_train``, ``x_test``, ``y_test``, and ``index_train``, ``index_test``, the
    rows of ``digits32.npz``'s split each image is. The capstone's validation split is not
    needed here and is left out.

``backbone.npz``: the pretrained network
    LeNet-5's parameters (``conv1_w`` ... ``fc3_b``, float32, the capstone's keys and shapes)
    trained on the digits 0 to 4 of the capstone's training split, and on nothing else, with
    data augmentation: each epoch sees every image moved by its own random translation of up to
    ``MAX_SHIFT`` pixels in each direction (``translate``; the border is filled with zeros, the
    background). The reference ``solutions.lenet`` from ``lenet_init(seed=0)``: ``EPOCHS``
    epochs of ``minibatches(n, BATCH_SIZE, seed=0, epoch)``, one ``train_step`` per batch at
    ``learning_rate(step, total_steps, BASE_LR)`` (the capstone's cosine schedule), momentum
    ``MOMENTUM``, no weight decay; the translations are drawn from
    ``np.random.default_rng(SEED)``, one ``(dy, dx)`` per image and epoch. The images are the
    capstone's bytes divided by 255. The training runs in float64 and the parameters are
    stored rounded to float32: float64 keeps the run's rounding (which the order of a BLAS
    library's sums changes from one machine to another) far below float32's resolution. The
    backbone's own fc3 (10 logits, of which it learnt to use 0-4) is kept, for completeness:
    transfer learning replaces it.

    Why the augmentation: without it, the backbone learns features so tailored to telling 0
    from 4 (599 images, close to one another) that a network trained from scratch on a few
    images of the new digits does as well as one that starts from them. Learning to recognise
    a digit wherever it sits makes the convolutional features general enough to transfer
    (``tests/test_transfer_data.py`` measures the margin).

``--check`` rebuilds both in memory and compares them with the files, key by key (dtype,
shape, values; the zip archives hold timestamps, so their bytes differ between builds). The
digits must be identical. The backbone's arrays must be identical on the machine that made
them; elsewhere each may differ from a rebuild by at most ``TOLERANCE`` times its largest
magnitude (a few units of float32's last place), which ``--check`` reports. It exits 0 when
both files pass and 1, naming the first key that does not, otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from solutions import lenet  # noqa: E402 (after the repository root joins the path)

DIGITS32 = REPO_ROOT / "assignments" / "lenet" / "data" / "digits32.npz"
DEFAULT_OUT = Path(__file__).resolve().parent / "data"
BACKBONE_FILE = "backbone.npz"
DIGITS_FILE = "digits59.npz"

SOURCE_CLASSES = (0, 1, 2, 3, 4)
"""The digits the backbone learns."""
TARGET_CLASSES = (5, 6, 7, 8, 9)
"""The new task's digits."""

SEED = 0
EPOCHS = 20
BATCH_SIZE = 32
BASE_LR = 0.03
MOMENTUM = 0.9
MAX_SHIFT = 3
"""The largest translation of the augmentation, in pixels, along each axis."""
TOLERANCE = 1e-6
"""How far (relative to each array's largest magnitude) a rebuilt backbone array may be from
the file on another machine."""

DIGITS_KEYS = ("x_train", "y_train", "x_test", "y_test", "index_train", "index_test")


def load_digits32(path: Path = DIGITS32) -> dict[str, np.ndarray]:
    """The capstone's digits, every array of the file."""
    with np.load(path, allow_pickle=False) as saved:
        return {key: saved[key] for key in saved.files}


def build_digits(digits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The new task's images (the digits 5-9 of the train and test splits), by key."""
    arrays = {}
    for split in ("train", "test"):
        y = digits[f"y_{split}"]
        index = np.flatnonzero(np.isin(y, TARGET_CLASSES)).astype(np.int64)
        arrays[f"x_{split}"] = digits[f"x_{split}"][index]
        arrays[f"y_{split}"] = y[index]
        arrays[f"index_{split}"] = index
    return {key: arrays[key] for key in DIGITS_KEYS}


def translate(x: np.ndarray, rng: np.random.Generator, max_shift: int) -> np.ndarray:
    """Each image of ``x`` ``(n, C, H, W)`` moved by its own ``(dy, dx)``, drawn as
    ``rng.integers(-max_shift, max_shift + 1, size=(n, 2))``: pixel ``(i, j)`` of the result is
    pixel ``(i - dy, j - dx)`` of the image, 0 where that falls outside it. Same shape and
    dtype as ``x``."""
    n, _, height, width = x.shape
    shifts = rng.integers(-max_shift, max_shift + 1, size=(n, 2))
    m = max_shift
    padded = np.pad(x, ((0, 0), (0, 0), (m, m), (m, m)))
    moved = np.empty_like(x)
    for i, (dy, dx) in enumerate(shifts):
        moved[i] = padded[i, :, m - dy : m - dy + height, m - dx : m - dx + width]
    return moved


def build_backbone(digits: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The backbone's parameters, float32, trained as the module docstring says."""
    keep = np.isin(digits["y_train"], SOURCE_CLASSES)
    x = digits["x_train"][keep].astype(np.float64) / 255.0
    y = digits["y_train"][keep]
    params = lenet.lenet_init(x[:1], SEED)
    velocities = {name: value * 0 for name, value in params.items()}
    rng = np.random.default_rng(SEED)
    n = len(x)
    total = EPOCHS * len(lenet.minibatches(n, BATCH_SIZE, SEED, 0))
    step = 0
    for epoch in range(EPOCHS):
        moved = translate(x, rng, MAX_SHIFT)
        for index in lenet.minibatches(n, BATCH_SIZE, SEED, epoch):
            lr = lenet.learning_rate(step, total, BASE_LR)
            params, velocities, _ = lenet.train_step(
                params, velocities, moved[index], y[index], lr, MOMENTUM, 0.0
            )
            step += 1
    return {name: params[name].astype(np.float32) for name in lenet.PARAMETER_SHAPES}


def build() -> dict[str, dict[str, np.ndarray]]:
    """Both files' arrays, by file name and key."""
    digits = load_digits32()
    return {BACKBONE_FILE: build_backbone(digits), DIGITS_FILE: build_digits(digits)}


def write(folder: str | Path = DEFAULT_OUT) -> list[Path]:
    """Build both files and save them, compressed, in ``folder`` (created if need be)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, arrays in build().items():
        path = folder / name
        with path.open("wb") as f:  # a file object: np.savez would append ".npz" to a bare name
            np.savez_compressed(f, **arrays)
        written.append(path)
    return written


def compare(
    expected: dict[str, np.ndarray], path: Path, tolerance: float = 0.0
) -> tuple[list[str], float]:
    """The keys of ``path`` that differ from ``expected`` (a missing key, another dtype or
    shape, or a value further than ``tolerance`` times the array's largest magnitude), and the
    largest relative difference seen among the others (0.0: bit for bit)."""
    with np.load(path, allow_pickle=False) as saved:
        on_disk = {key: saved[key] for key in saved.files}
    differing, largest = [], 0.0
    for key in [*expected, *(k for k in on_disk if k not in expected)]:
        a, b = expected.get(key), on_disk.get(key)
        if a is None or b is None or a.dtype != b.dtype or a.shape != b.shape:
            differing.append(key)
            continue
        if np.array_equal(a, b):
            continue
        if tolerance == 0.0 or a.dtype.kind != "f":
            differing.append(key)
            continue
        scale = float(np.abs(a).max())
        relative = float(np.abs(a.astype(np.float64) - b).max()) / (scale or 1.0)
        if relative > tolerance:
            differing.append(key)
        largest = max(largest, relative)
    return differing, largest


def check(folder: str | Path = DEFAULT_OUT) -> tuple[list[str], float]:
    """``(differing, largest)``: the ``file:key`` entries that fail the comparison of the
    module docstring, and the backbone's largest relative difference (0.0: bit for bit)."""
    folder = Path(folder)
    rebuilt = build()
    differing: list[str] = []
    largest = 0.0
    for name, tolerance in ((BACKBONE_FILE, TOLERANCE), (DIGITS_FILE, 0.0)):
        path = folder / name
        if not path.is_file():
            differing.append(f"{name}:(no file)")
            continue
        keys, relative = compare(rebuilt[name], path, tolerance)
        differing += [f"{name}:{key}" for key in keys]
        largest = max(largest, relative)
    return differing, largest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build (or --check) the transfer assignment's backbone.npz and digits59.npz "
        "from the capstone's digits32.npz."
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"the folder (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory and compare with the files instead of writing them; exit 1 if "
        "they differ",
    )
    args = parser.parse_args(argv)
    if args.check:
        differing, largest = check(args.out)
        if differing:
            print(
                f"check failed: {args.out} differs from a rebuild, first at {differing[0]} "
                f"(differing: {', '.join(differing)})",
                file=sys.stderr,
            )
            return 1
        if largest == 0.0:
            print(f"{args.out}: both files are identical to a rebuild")
        else:
            print(
                f"{args.out}: the digits are identical to a rebuild, the backbone within "
                f"{largest:.2g} of it (tolerance {TOLERANCE:g})"
            )
        return 0
    for path in write(args.out):
        print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
