"""CPU benchmark: the reference solutions against PyTorch on the same inputs, in one run.

    python benchmarks/bench_cpu.py [--repeats N] [--ops conv,...] [--no-float32] [--check]

For every case the reference function and its PyTorch counterpart run on the same inputs, in
alternating blocks (each block starts with a warm-up call; see ``time_pair``), ``--repeats``
timed calls each; the table shows the median time of each and their ratio
(reference / torch: below 1 the reference is faster), for float64 and, as extra columns,
float32. Before timing, each case checks that the two agree (max error relative to the largest
torch value, column ``err``). Both libraries use their default thread counts (all cores).

Backward cases time the backward pass alone: torch's graph is built once outside the timing
and ``torch.autograd.grad(out, inputs, dout, retain_graph=True)`` is timed; the reference
backward function gets the forward inputs and recomputes whatever it needs.

The benchmark is a table of named cases (``CASES``), grouped by op; a section per op below
builds its cases. ``target`` is the largest acceptable float64 ratio for the case;
``--check`` exits with status 1 if a float64 ratio is above its target.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# A case's setup builds inputs for one dtype and returns (reference call, torch call): two
# zero-argument callables on the same inputs whose results ``relative_error`` can compare.
Setup = Callable[[np.dtype, np.random.Generator], tuple[Callable[[], Any], Callable[[], Any]]]


@dataclass(frozen=True)
class Case:
    op: str  # the --ops name of the section, e.g. "conv"
    name: str  # what is timed, e.g. "forward N64 C64 32x32 F64 k3 s1 p1"
    setup: Setup
    target: float | None = None  # largest acceptable float64 ratio reference / torch


CASES: list[Case] = []


def _to_numpy(value: Any) -> list[np.ndarray]:
    """Flatten a result (array, tensor, tuple, dict) into a list of NumPy arrays."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return [a for v in value for a in _to_numpy(v)]
    if isinstance(value, torch.Tensor):
        return [value.detach().numpy()]
    return [np.asarray(value)]


def relative_error(ours: Any, theirs: Any) -> float:
    """Max |ours - theirs| / max |theirs| over all arrays of the two results.

    Integer arrays (max-pool switches) must match exactly, dtype included: inf otherwise.
    """
    errors = []
    for a, b in zip(_to_numpy(ours), _to_numpy(theirs), strict=True):
        if a.shape != b.shape:
            return float("inf")
        if a.dtype.kind in "iu" or b.dtype.kind in "iu":  # indices (max-pool switches): exact
            if a.dtype != b.dtype or not np.array_equal(a, b):
                return float("inf")
            errors.append(0.0)
            continue
        scale = float(np.max(np.abs(b), initial=0.0)) or 1.0
        errors.append(float(np.max(np.abs(a.astype(np.float64) - b), initial=0.0)) / scale)
    return max(errors, default=0.0)


# ----------------------------------------------------------------------------------------------
# conv: solutions.conv.conv_forward / conv_backward vs torch.nn.functional.conv2d (+ autograd)
# ----------------------------------------------------------------------------------------------
# (N, C, H, W, F, k, stride, padding)
CONV_SHAPES = [
    (50, 3, 32, 32, 32, 3, 1, 1),
    (64, 64, 32, 32, 64, 3, 1, 1),
    (128, 16, 28, 28, 32, 5, 1, 2),
    (8, 3, 64, 64, 16, 7, 2, 3),
]
CONV_FORWARD_TARGET = 1.0
CONV_BACKWARD_TARGET = 1.5


def _conv_inputs(shape: tuple[int, ...], dtype: np.dtype, rng: np.random.Generator) -> tuple:
    n, c, h, w, f, k, _, _ = shape
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = (rng.standard_normal((f, c, k, k)) / np.sqrt(c * k * k)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    return x, weight, b


def _conv_forward_setup(shape: tuple[int, ...]) -> Setup:
    def setup(dtype: np.dtype, rng: np.random.Generator) -> tuple:
        from solutions.conv import conv_forward

        s, p = shape[6], shape[7]
        x, w, b = _conv_inputs(shape, dtype, rng)
        tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
        return (
            lambda: conv_forward(x, w, b, stride=s, padding=p),
            lambda: torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p),
        )

    return setup


def _conv_backward_setup(shape: tuple[int, ...]) -> Setup:
    def setup(dtype: np.dtype, rng: np.random.Generator) -> tuple:
        from solutions.conv import conv_backward

        s, p = shape[6], shape[7]
        x, w, b = _conv_inputs(shape, dtype, rng)
        tx, tw, tb = (torch.from_numpy(a).requires_grad_() for a in (x, w, b))
        out = torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p)
        dout = rng.standard_normal(tuple(out.shape)).astype(dtype)
        tdout = torch.from_numpy(dout)
        return (
            lambda: conv_backward(dout, x, w, stride=s, padding=p),
            lambda: torch.autograd.grad(out, (tx, tw, tb), tdout, retain_graph=True),
        )

    return setup


def _conv_label(shape: tuple[int, ...]) -> str:
    n, c, h, w, f, k, s, p = shape
    return f"N{n} C{c} {h}x{w} F{f} k{k} s{s} p{p}"


for _shape in CONV_SHAPES:
    CASES.append(
        Case(
            "conv",
            "forward " + _conv_label(_shape),
            _conv_forward_setup(_shape),
            CONV_FORWARD_TARGET,
        )
    )
for _shape in CONV_SHAPES:
    CASES.append(
        Case(
            "conv",
            "backward " + _conv_label(_shape),
            _conv_backward_setup(_shape),
            CONV_BACKWARD_TARGET,
        )
    )


# ----------------------------------------------------------------------------------------------
# pooling: solutions.pooling.max_pool_forward / max_pool_backward / avg_pool_forward /
# avg_pool_backward vs torch.nn.functional.max_pool2d / avg_pool2d (+ autograd)
# ----------------------------------------------------------------------------------------------
# (N, C, H, W, k, stride, padding): the conv benchmark's inputs, k2 s2 windows
POOL_SHAPES = [
    (50, 3, 32, 32, 2, 2, 0),
    (64, 64, 32, 32, 2, 2, 0),
    (128, 16, 28, 28, 2, 2, 0),
    (8, 3, 64, 64, 2, 2, 0),
]
# overlapping windows (3x3 stride 2 padding 1, as in ResNet's stem), max pooling only
MAX_POOL_SHAPES = [*POOL_SHAPES, (64, 64, 32, 32, 3, 2, 1)]


def _max_pool_forward_setup(shape: tuple[int, ...]) -> Setup:
    def setup(dtype: np.dtype, rng: np.random.Generator) -> tuple:
        from solutions.pooling import max_pool_forward

        n, c, h, w, k, s, p = shape
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        tx = torch.from_numpy(x)
        return (
            lambda: max_pool_forward(x, k, stride=s, padding=p),
            lambda: torch.nn.functional.max_pool2d(tx, k, s, p, return_indices=True),
        )

    return setup


def _max_pool_backward_setup(shape: tuple[int, ...]) -> Setup:
    def setup(dtype: np.dtype, rng: np.random.Generator) -> tuple:
        from solutions.pooling import max_pool_backward, max_pool_forward

        n, c, h, w, k, s, p = shape
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        _, switches = max_pool_forward(x, k, stride=s, padding=p)
        tx = torch.from_numpy(x).requires_grad_()
        out = torch.nn.functional.max_pool2d(tx, k, s, p)
        dout = rng.standard_normal(tuple(out.shape)).astype(dtype)
        tdout = torch.from_numpy(dout)
        return (
            lambda: max_pool_backward(dout, switches, x.shape),
            lambda: torch.autograd.grad(out, (tx,), tdout, retain_graph=True),
        )

    return setup


def _avg_pool_forward_setup(shape: tuple[int, ...]) -> Setup:
    def setup(dtype: np.dtype, rng: np.random.Generator) -> tuple:
        from solutions.pooling import avg_pool_forward

        n, c, h, w, k, s, p = shape
        x = rng.standard_normal((n, c, h, w)).astype(dtype)
        tx = torch.from_numpy(x)
        return (
            lambda: avg_pool_forward(x, k, stride=s, padding=p),
            lambda: torch.nn.functional.avg_pool2d(tx, k, s, p),
        )

    return setup


def _avg_pool_backward_setup(shape: tuple[int, ...]) -> Setup:
    def setup(dtype: np.dtype, rng: np.random.Generator) -> tuple:
        from solutions.pooling import avg_pool_backward

        n, c, h, w, k, s, p = shape
        tx = torch.from_numpy(rng.standard_normal((n, c, h, w)).astype(dtype)).requires_grad_()
        out = torch.nn.functional.avg_pool2d(tx, k, s, p)
        dout = rng.standard_normal(tuple(out.shape)).astype(dtype)
        tdout = torch.from_numpy(dout)
        return (
            lambda: avg_pool_backward(dout, (n, c, h, w), k, stride=s, padding=p),
            lambda: torch.autograd.grad(out, (tx,), tdout, retain_graph=True),
        )

    return setup


def _pool_label(shape: tuple[int, ...]) -> str:
    n, c, h, w, k, s, p = shape
    return f"N{n} C{c} {h}x{w} k{k} s{s} p{p}"


for _name, _setup, _shapes in (
    ("max forward", _max_pool_forward_setup, MAX_POOL_SHAPES),
    ("max backward", _max_pool_backward_setup, MAX_POOL_SHAPES),
    ("avg forward", _avg_pool_forward_setup, POOL_SHAPES),
    ("avg backward", _avg_pool_backward_setup, POOL_SHAPES),
):
    for _shape in _shapes:
        CASES.append(Case("pooling", f"{_name} " + _pool_label(_shape), _setup(_shape)))


# ----------------------------------------------------------------------------------------------
# batchnorm: solutions.batchnorm.batchnorm_forward / batchnorm_backward vs
# torch.nn.functional.batch_norm (+ autograd)
# ----------------------------------------------------------------------------------------------
# x shapes: the conv benchmark's output shapes (N, F, H, W), and one (N, C) batch of vectors
BATCHNORM_SHAPES = [
    (50, 32, 32, 32),
    (64, 64, 32, 32),
    (128, 32, 28, 28),
    (8, 16, 32, 32),
    (256, 1024),
]


def _batchnorm_inputs(shape: tuple[int, ...], dtype: np.dtype, rng: np.random.Generator) -> tuple:
    c = shape[1]
    x = (rng.standard_normal(shape) * 2.0 + 0.5).astype(dtype)
    gamma = (1.0 + 0.1 * rng.standard_normal(c)).astype(dtype)
    beta = (0.1 * rng.standard_normal(c)).astype(dtype)
    running_mean = (0.1 * rng.standard_normal(c)).astype(dtype)
    running_var = rng.uniform(0.5, 2.0, c).astype(dtype)
    return x, gamma, beta, running_mean, running_var


def _batchnorm_forward_setup(shape: tuple[int, ...], training: bool) -> Setup:
    def setup(dtype: np.dtype, rng: np.random.Generator) -> tuple:
        from solutions.batchnorm import batchnorm_forward

        x, gamma, beta, rm, rv = _batchnorm_inputs(shape, dtype, rng)
        tx, tgamma, tbeta = (torch.from_numpy(a) for a in (x, gamma, beta))
        # torch updates the running statistics in place (training): its own copies
        trm, trv = torch.tensor(rm), torch.tensor(rv)
        return (
            # the output only: torch returns no running statistics
            lambda: batchnorm_forward(x, gamma, beta, rm, rv, training=training)[0],
            lambda: torch.nn.functional.batch_norm(tx, trm, trv, tgamma, tbeta, training=training),
        )

    return setup


def _batchnorm_backward_setup(shape: tuple[int, ...]) -> Setup:
    def setup(dtype: np.dtype, rng: np.random.Generator) -> tuple:
        from solutions.batchnorm import batchnorm_backward

        x, gamma, beta, rm, rv = _batchnorm_inputs(shape, dtype, rng)
        tx, tgamma, tbeta = (torch.from_numpy(a).requires_grad_() for a in (x, gamma, beta))
        trm, trv = torch.tensor(rm), torch.tensor(rv)
        out = torch.nn.functional.batch_norm(tx, trm, trv, tgamma, tbeta, training=True)
        dout = rng.standard_normal(shape).astype(dtype)
        tdout = torch.from_numpy(dout)
        return (
            lambda: batchnorm_backward(dout, x, gamma),
            lambda: torch.autograd.grad(out, (tx, tgamma, tbeta), tdout, retain_graph=True),
        )

    return setup


def _batchnorm_label(shape: tuple[int, ...]) -> str:
    if len(shape) == 2:
        return f"N{shape[0]} C{shape[1]}"
    n, c, h, w = shape
    return f"N{n} C{c} {h}x{w}"


for _shape in BATCHNORM_SHAPES:
    CASES.append(
        Case(
            "batchnorm",
            "train forward " + _batchnorm_label(_shape),
            _batchnorm_forward_setup(_shape, training=True),
        )
    )
for _shape in BATCHNORM_SHAPES:
    CASES.append(
        Case(
            "batchnorm",
            "eval forward " + _batchnorm_label(_shape),
            _batchnorm_forward_setup(_shape, training=False),
        )
    )
for _shape in BATCHNORM_SHAPES:
    CASES.append(
        Case("batchnorm", "backward " + _batchnorm_label(_shape), _batchnorm_backward_setup(_shape))
    )


# ----------------------------------------------------------------------------------------------
# bilinear: solutions.interpolation.bilinear_resize / bilinear_resize_backward vs
# torch.nn.functional.interpolate(mode="bilinear") (+ autograd)
# ----------------------------------------------------------------------------------------------
# ((N, C, H, W), (H_out, W_out), align_corners)
BILINEAR_SHAPES = [
    ((16, 64, 32, 32), (64, 64), False),
    ((8, 32, 128, 128), (63, 65), False),
    ((4, 16, 50, 70), (200, 280), False),
    ((16, 64, 32, 32), (57, 41), True),
]
BILINEAR_FORWARD_TARGET = 2.5
BILINEAR_BACKWARD_TARGET = 2.5


def _bilinear_forward_setup(shape: tuple, size: tuple, align_corners: bool) -> Setup:
    def setup(dtype: np.dtype, rng: np.random.Generator) -> tuple:
        from solutions.interpolation import bilinear_resize

        x = rng.standard_normal(shape).astype(dtype)
        tx = torch.from_numpy(x)
        return (
            lambda: bilinear_resize(x, size, align_corners=align_corners),
            lambda: torch.nn.functional.interpolate(
                tx, size=size, mode="bilinear", align_corners=align_corners
            ),
        )

    return setup


def _bilinear_backward_setup(shape: tuple, size: tuple, align_corners: bool) -> Setup:
    def setup(dtype: np.dtype, rng: np.random.Generator) -> tuple:
        from solutions.interpolation import bilinear_resize_backward

        tx = torch.from_numpy(rng.standard_normal(shape).astype(dtype)).requires_grad_()
        out = torch.nn.functional.interpolate(
            tx, size=size, mode="bilinear", align_corners=align_corners
        )
        dout = rng.standard_normal(tuple(out.shape)).astype(dtype)
        tdout = torch.from_numpy(dout)
        return (
            lambda: bilinear_resize_backward(dout, shape, align_corners=align_corners),
            lambda: torch.autograd.grad(out, (tx,), tdout, retain_graph=True),
        )

    return setup


def _bilinear_label(shape: tuple, size: tuple, align_corners: bool) -> str:
    n, c, h, w = shape
    return f"N{n} C{c} {h}x{w}->{size[0]}x{size[1]}" + (" ac" if align_corners else "")


for _args in BILINEAR_SHAPES:
    CASES.append(
        Case(
            "bilinear",
            "forward " + _bilinear_label(*_args),
            _bilinear_forward_setup(*_args),
            BILINEAR_FORWARD_TARGET,
        )
    )
for _args in BILINEAR_SHAPES:
    CASES.append(
        Case(
            "bilinear",
            "backward " + _bilinear_label(*_args),
            _bilinear_backward_setup(*_args),
            BILINEAR_BACKWARD_TARGET,
        )
    )


# ----------------------------------------------------------------------------------------------
# the runner
# ----------------------------------------------------------------------------------------------
def time_pair(
    ours: Callable[[], Any], theirs: Callable[[], Any], repeats: int, rounds: int = 3
) -> tuple[float, float]:
    """Median seconds of ``ours()`` and ``theirs()`` over ``repeats`` timed calls each.

    The calls run in ``rounds`` rounds; in each round each side runs a block of calls, a warm-up
    call first, so that the thread pool of one library (spinning for a while after its last
    call) does not slow the other down, while slow drifts of the machine hit both sides.
    """
    per_round = max(1, -(-repeats // rounds))
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for fn, times in ((theirs, samples[1]), (ours, samples[0])):
            fn()
            for _ in range(per_round):
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
    return statistics.median(samples[0]), statistics.median(samples[1])


def run_case(case: Case, dtype: np.dtype, repeats: int) -> tuple[float, float, float]:
    """(reference seconds, torch seconds, relative error) of one case at one dtype."""
    rng = np.random.default_rng(0)
    ours, theirs = case.setup(np.dtype(dtype), rng)
    error = relative_error(ours(), theirs())
    t_ours, t_theirs = time_pair(ours, theirs, repeats)
    return t_ours, t_theirs, error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed calls of each (median)")
    ops = sorted({c.op for c in CASES})
    parser.add_argument(
        "--ops", default=",".join(ops), help=f"comma-separated ops to run (from {ops})"
    )
    parser.add_argument("--no-float32", action="store_true", help="skip the float32 columns")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a float64 ratio is above its target"
    )
    args = parser.parse_args(argv)
    wanted = [o.strip() for o in args.ops.split(",") if o.strip()]
    unknown = sorted(set(wanted) - set(ops))
    if unknown:
        parser.error(f"unknown ops {unknown}; known: {ops}")
    dtypes = [np.float64] if args.no_float32 else [np.float64, np.float32]

    print(
        f"numpy {np.__version__}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), median of {args.repeats} repeats; "
        f"ratio = reference / torch"
    )
    op_width = max([len("op"), *(len(o) for o in wanted)])
    header = f"{'op':<{op_width}} {'case':<44}"
    for dtype in dtypes:
        tag = np.dtype(dtype).name
        header += f" | {tag + ' ref ms':>13} {'torch ms':>9} {'ratio':>6} {'err':>8}"
    header += " | target"
    print(header)
    print("-" * len(header))
    missed = []
    for case in CASES:
        if case.op not in wanted:
            continue
        line = f"{case.op:<{op_width}} {case.name:<44}"
        for dtype in dtypes:
            t_ours, t_theirs, error = run_case(case, dtype, args.repeats)
            ratio = t_ours / t_theirs
            line += f" | {t_ours * 1e3:13.2f} {t_theirs * 1e3:9.2f} {ratio:6.2f} {error:8.1e}"
            if dtype == np.float64 and case.target is not None and ratio > case.target:
                missed.append(f"{case.op} {case.name}: {ratio:.2f} > {case.target}")
        target = f"<= {case.target:.1f}" if case.target is not None else "-"
        print(line + f" | {target}", flush=True)
    if missed:
        print("float64 ratios above target:\n  " + "\n  ".join(missed))
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
