"""Array backends of the graded suites: NumPy, CuPy on a GPU, and the strict device simulator.

Every graded test that calls the student's functions runs once per backend:

``numpy``   the arrays are NumPy arrays (CPU). Always runs.
``cupy``    the arrays are CuPy arrays on the GPU, created in the sandbox; results must come
            back as CuPy arrays on the same device. Runs where a CUDA device is usable.
``strict``  the arrays are device arrays of the strict simulator
            (:mod:`autograder.sandbox.devicesim`), which refuses what CuPy refuses (host and
            device arrays mixed, ``np.asarray`` or ``.get()`` on device arrays, NumPy results).
            Runs where no CUDA device is usable: device discipline is graded on the CPU too.

Exactly one of ``cupy`` and ``strict`` runs; the other is skipped with one reason.

Points. Only what the grader decides itself, from the values a call sends back, carries points.
The strict simulator runs inside the student's process, where student code can reach it, so its
verdicts (a host transfer, a NumPy result for device inputs) could be forged by a submission
that tampers with its own process: the ``strict`` case is feedback only. It runs, it is reported
(with 0 points) and its message says what broke, but the ``numpy`` case carries all of a test's
points. Where a GPU grades, the ``cupy`` case carries ``device_share`` of them (``[backends]
device_share`` in ``assignment.toml``, default :data:`DEFAULT_DEVICE_SHARE`) and the ``numpy``
case the rest. A submission's maximum is the same on both kinds of machine.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass

BACKENDS = ("numpy", "strict", "cupy")
DEVICE_BACKENDS = ("strict", "cupy")
DEFAULT_DEVICE_SHARE = 0.2
GPU_VARIABLE = "AUTOGRADER_GPU"
"""``0`` turns the ``cupy`` backend off even where a GPU is usable (``strict`` runs instead)."""
PROBE_TIMEOUT = 120.0

_PROBE = (
    "import cupy\n"
    "n = cupy.cuda.runtime.getDeviceCount()\n"
    "assert n > 0, 'no CUDA device'\n"
    "x = cupy.arange(6, dtype=cupy.float64).reshape(2, 3)\n"
    "assert float((x * 2).sum()) == 30.0\n"
    "name = cupy.cuda.runtime.getDeviceProperties(0)['name']\n"
    "print(name.decode() if isinstance(name, bytes) else name)\n"
)

LABELS = {
    "numpy": "NumPy arrays (CPU)",
    "strict": "device discipline on the CPU (strict device arrays; feedback, no points)",
    "cupy": "CuPy arrays on the GPU",
}


@dataclass(frozen=True)
class GpuStatus:
    """Whether CuPy can run on a CUDA device here, and why not (or which device)."""

    usable: bool
    detail: str


@functools.cache
def gpu_status() -> GpuStatus:
    """Probe CuPy in a separate process (the grader itself never touches the GPU); cached."""
    if os.environ.get(GPU_VARIABLE, "").strip() == "0":
        return GpuStatus(False, f"the GPU is turned off ({GPU_VARIABLE}=0)")
    if importlib.util.find_spec("cupy") is None:
        return GpuStatus(False, "CuPy is not installed (pip install 'cnn-autograder[gpu]')")
    try:
        probe = subprocess.run(
            [sys.executable, "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return GpuStatus(False, f"CuPy did not start within {PROBE_TIMEOUT:g} s")
    if probe.returncode != 0:
        lines = [line for line in probe.stderr.strip().splitlines() if line.strip()]
        why = lines[-1] if lines else f"exit status {probe.returncode}"
        return GpuStatus(False, f"no usable CUDA device ({why})")
    return GpuStatus(True, probe.stdout.strip() or "CUDA device 0")


def skip_reason(backend: str, status: GpuStatus) -> str | None:
    """Why ``backend``'s cases do not run here (None: they run)."""
    if backend == "cupy" and not status.usable:
        return f"cupy cases need a usable CUDA device: {status.detail}"
    if backend == "strict" and status.usable:
        return f"strict cases are not needed: CuPy grades device discipline on {status.detail}"
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    return None


def points_share(backend: str, device_share: float, gpu: bool) -> float:
    """The fraction of a test's points its ``backend`` case carries (when it runs).

    ``gpu``: whether the ``cupy`` case runs here (else the feedback-only ``strict`` case does).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
    if backend == "strict":
        return 0.0
    if backend == "cupy":
        return device_share
    return 1.0 - device_share if gpu else 1.0


def check_device_share(value: object, where: str) -> float:
    """``device_share`` from a config, validated: a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(
            f"{where}: [backends] device_share must be a number in [0, 1) (the share of each "
            f"test's points its device case carries), got {value!r}"
        )
    return float(value)
