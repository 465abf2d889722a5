"""GPU benchmark: the reference convolution on CuPy against torch's CUDA convolution, in one run.

    python benchmarks/bench_gpu.py [--repeats N] [--check]

Needs CuPy and a CUDA build of torch on a machine with a GPU (``pip install -e ".[gpu]"`` and
a CUDA torch wheel); it says what is missing and exits with status 2 otherwise.

For each shape of the CPU benchmark (``bench_cpu.CONV_SHAPES``) and each of float32 and
float64, the reference ``conv_forward``/``conv_backward`` run on CuPy arrays and
``torch.nn.functional.conv2d`` (and its autograd backward) on CUDA tensors holding the same
numbers. Each side is timed with CUDA events around ``--repeats`` calls after warm-up calls
(the device is synchronised before and after each block, so a block's time covers all of
its kernels); the table shows milliseconds per call and the ratio reference / torch (below 1
the reference is faster). Torch's cuDNN autotuner is off and TF32 is off, so both sides
compute in the dtype they are given. Before timing, each case checks that the results agree.

Target (issue: conv forward and backward within 2x of torch CUDA): ``--check`` exits with
status 1 when a ratio is above :data:`TARGET`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET = 2.0
CONV_SHAPES = [  # (N, C, H, W, F, k, stride, padding), as bench_cpu.CONV_SHAPES
    (50, 3, 32, 32, 32, 3, 1, 1),
    (64, 64, 32, 32, 64, 3, 1, 1),
    (128, 16, 28, 28, 32, 5, 1, 2),
    (8, 3, 64, 64, 16, 7, 2, 3),
]


def _missing() -> str | None:
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # ImportError, CUDARuntimeError
        return f"CuPy cannot use a GPU here: {error!r}"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return f"torch {torch.__version__} has no CUDA device (a CPU-only build?)"
    return None


def _time(fn, repeats: int) -> float:
    """Milliseconds per call of ``fn`` over ``repeats`` calls, after two warm-up calls."""
    import cupy

    fn()
    fn()
    cupy.cuda.Device().synchronize()
    start, end = cupy.cuda.Event(), cupy.cuda.Event()
    start.record()
    for _ in range(repeats):
        fn()
    end.record()
    end.synchronize()
    return cupy.cuda.get_elapsed_time(start, end) / repeats


def _torch_time(fn, repeats: int) -> float:
    import torch

    fn()
    fn()
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(repeats):
        fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end) / repeats


def _relative_error(ours, theirs) -> float:
    import cupy

    worst = 0.0
    for a, b in zip(ours, theirs, strict=True):
        a_host = cupy.asnumpy(a).astype(np.float64)
        b_host = b.detach().cpu().numpy().astype(np.float64)
        scale = max(np.abs(b_host).max(), 1e-30)
        worst = max(worst, float(np.abs(a_host - b_host).max() / scale))
    return worst


def _case_rows(shape: tuple[int, ...], dtype: type, repeats: int) -> list[tuple]:
    """The forward and backward rows of one shape and dtype."""
    import cupy
    import torch

    from solutions.conv import conv_backward, conv_forward

    n, c, h, w, f, k, s, p = shape
    label = f"N{n} C{c} {h}x{w} F{f} k{k} s{s} p{p}"
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = (rng.standard_normal((f, c, k, k)) / np.sqrt(c * k * k)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    gx, gw, gb = (cupy.asarray(a) for a in (x, weight, b))
    tx, tw, tb = (torch.from_numpy(a).cuda().requires_grad_() for a in (x, weight, b))
    out = torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p)
    dout = rng.standard_normal(tuple(out.shape)).astype(dtype)
    gdout, tdout = cupy.asarray(dout), torch.from_numpy(dout).cuda()

    def ours_forward():
        return conv_forward(gx, gw, gb, stride=s, padding=p)

    def torch_forward():
        with torch.no_grad():
            return torch.nn.functional.conv2d(tx, tw, tb, stride=s, padding=p)

    def ours_backward():
        return conv_backward(gdout, gx, gw, stride=s, padding=p)

    def torch_backward():
        return torch.autograd.grad(out, (tx, tw, tb), tdout, retain_graph=True)

    rows = []
    for what, ours, theirs in (
        ("forward", ours_forward, torch_forward),
        ("backward", ours_backward, torch_backward),
    ):
        mine, reference = ours(), theirs()
        mine = mine if isinstance(mine, tuple) else (mine,)
        reference = reference if isinstance(reference, tuple) else (reference,)
        error = _relative_error(mine, reference)
        name = np.dtype(dtype).name
        ms_ours, ms_torch = _time(ours, repeats), _torch_time(theirs, repeats)
        rows.append((f"conv {what} {label}", name, ms_ours, ms_torch, error))
    return rows


def run(repeats: int) -> list[tuple[str, str, float, float, float]]:
    """Rows (case, dtype, reference ms, torch ms, relative error)."""
    import cupy
    import torch

    torch.backends.cudnn.benchmark = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    rows = []
    for shape in CONV_SHAPES:
        for dtype in (np.float32, np.float64):
            rows += _case_rows(shape, dtype, repeats)
            cupy.get_default_memory_pool().free_all_blocks()
            torch.cuda.empty_cache()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if a ratio > {TARGET}")
    args = parser.parse_args(argv)
    missing = _missing()
    if missing:
        print(f"bench_gpu: {missing}", file=sys.stderr)
        return 2
    import cupy

    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    print(f"device: {name.decode() if isinstance(name, bytes) else name}")
    print(f"{'case':<44}{'dtype':>8}{'ref ms':>10}{'torch ms':>10}{'ratio':>8}{'err':>10}")
    worst = 0.0
    for case, dtype, mine, theirs, error in run(args.repeats):
        ratio = mine / theirs
        worst = max(worst, ratio)
        print(f"{case:<44}{dtype:>8}{mine:>10.3f}{theirs:>10.3f}{ratio:>8.2f}{error:>10.1e}")
    print(f"worst ratio: {worst:.2f} (target {TARGET})")
    return 1 if args.check and worst > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
