"""How long the reference LeNet-5 takes to train on the bundled digits, against PyTorch on the CPU.

    python benchmarks/bench_lenet.py [--epochs 8] [--batch-size 32] [--lr 0.03] [--repeats 3]
                                     [--dtype float32]

All three train the same network from the same initial parameters (the reference's
``lenet_init``) on the same mini-batches (``minibatches``), with SGD (momentum 0.9) at the same
cosine schedule (``learning_rate``): the reference through its own NumPy layers, here and as a
submission in the grader's sandbox (one ``train`` call, as the hidden suite's graded run makes
it, numeric libraries pinned to the sandbox's threads), and PyTorch through
``conv2d``/``max_pool2d``/``linear``/``cross_entropy`` and ``torch.optim.SGD`` (the baseline).
The script prints each one's median wall time over ``--repeats`` runs (alternating, so that all
see the same machine), their ratios to PyTorch, and each one's validation and test accuracy. It
is a measurement: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solutions import lenet

DATA = Path(__file__).resolve().parents[1] / "assignments" / "lenet" / "data" / "digits32.npz"


def load(dtype: Any) -> dict[str, np.ndarray]:
    """The bundled digits, images scaled to [0, 1] in ``dtype``."""
    with np.load(DATA) as data:
        return {
            key: (data[key] / 255.0).astype(dtype) if key.startswith("x_") else data[key]
            for key in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
        }


def train_reference(data: dict[str, np.ndarray], arguments: argparse.Namespace) -> tuple:
    """Train the reference; its parameters and wall time."""
    params = lenet.lenet_init(data["x_train"], 0)
    start = time.perf_counter()
    trained, _ = lenet.train(
        params,
        data["x_train"],
        data["y_train"],
        arguments.epochs,
        arguments.batch_size,
        arguments.lr,
    )
    return trained, time.perf_counter() - start


def train_sandboxed(data: dict[str, np.ndarray], arguments: argparse.Namespace) -> tuple:
    """Train the reference as a submission, in the sandbox; its parameters and wall time (the
    call only: the sandbox is started, and the submission imported, before the clock)."""
    from autograder.authoring.stubgen import solution_submission_files, write_files
    from autograder.core.assignments import SOLUTIONS_DIR, assignment_names, load_assignment
    from autograder.sandbox import Sandbox
    from autograder.sandbox.limits import Limits

    assignment = load_assignment("lenet")
    with tempfile.TemporaryDirectory(prefix="bench-lenet-") as scratch:
        folder = Path(scratch) / "submission"
        write_files(solution_submission_files(SOLUTIONS_DIR, assignment_names()), folder)
        with Sandbox(folder, assignment.files, "lenet", Limits(call_timeout=600)) as box:
            params = box.call("lenet_init", (data["x_train"][:1], 0))
            start = time.perf_counter()
            trained, _ = box.call(
                "train",
                (params, data["x_train"], data["y_train"], arguments.epochs),
                {"batch_size": arguments.batch_size, "base_lr": arguments.lr},
            )
            return trained, time.perf_counter() - start


def train_torch(data: dict[str, np.ndarray], arguments: argparse.Namespace) -> tuple:
    """Train the same network in PyTorch on the CPU; its parameters (as NumPy) and wall time."""
    import torch
    import torch.nn.functional as F

    params = lenet.lenet_init(data["x_train"], 0)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    optimizer = torch.optim.SGD(list(tp.values()), lr=arguments.lr, momentum=0.9)
    x, y = torch.from_numpy(data["x_train"]), torch.from_numpy(data["y_train"])
    n = len(data["y_train"])
    per_epoch = len(lenet.minibatches(n, arguments.batch_size, 0, 0))
    total = arguments.epochs * per_epoch
    start = time.perf_counter()
    step = 0
    for epoch in range(arguments.epochs):
        for index in lenet.minibatches(n, arguments.batch_size, 0, epoch):
            batch = torch.from_numpy(index)
            for group in optimizer.param_groups:
                group["lr"] = lenet.learning_rate(step, total, arguments.lr)
            optimizer.zero_grad()
            h = F.max_pool2d(F.relu(F.conv2d(x[batch], tp["conv1_w"], tp["conv1_b"])), 2)
            h = F.max_pool2d(F.relu(F.conv2d(h, tp["conv2_w"], tp["conv2_b"])), 2)
            h = F.relu(F.linear(torch.flatten(h, 1), tp["fc1_w"], tp["fc1_b"]))
            h = F.relu(F.linear(h, tp["fc2_w"], tp["fc2_b"]))
            F.cross_entropy(F.linear(h, tp["fc3_w"], tp["fc3_b"]), y[batch]).backward()
            optimizer.step()
            step += 1
    elapsed = time.perf_counter() - start
    return {k: v.detach().numpy() for k, v in tp.items()}, elapsed


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    data = load(np.dtype(arguments.dtype).type)
    runs = {
        "reference (NumPy)": train_reference,
        "reference, sandboxed": train_sandboxed,
        "PyTorch (CPU)": train_torch,
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    trained: dict[str, dict[str, np.ndarray]] = {}
    for _ in range(arguments.repeats):
        for name, run in runs.items():
            trained[name], seconds = run(data, arguments)
            times[name].append(seconds)
    print(
        f"LeNet-5 on {len(data['y_train'])} training digits: {arguments.epochs} epochs, batch "
        f"{arguments.batch_size}, lr {arguments.lr} (cosine), {arguments.dtype}, median of "
        f"{arguments.repeats}"
    )
    for name, seconds in times.items():
        _, val = lenet.evaluate(trained[name], data["x_val"], data["y_val"])
        _, test = lenet.evaluate(trained[name], data["x_test"], data["y_test"])
        ratio = statistics.median(seconds) / statistics.median(times["PyTorch (CPU)"])
        print(
            f"  {name:21s} {statistics.median(seconds):6.2f} s  ({ratio:4.2f} x PyTorch)   "
            f"validation accuracy {val:.3f}   test accuracy {test:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
