"""The cupy backend on a real GPU: references pass every suite, and a GPU sandbox survives
hostile kernels. Skipped, with the reason, where no CUDA device is usable (CI)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from autograder.core.assignments import SOLUTIONS_DIR, all_assignments
from autograder.core.backends import gpu_status
from autograder.grading.grade import grade
from autograder.sandbox import CallFailed, Limits, Sandbox

STATUS = gpu_status()
pytestmark = pytest.mark.skipif(
    not STATUS.usable, reason=f"needs a usable CUDA device: {STATUS.detail}"
)


@pytest.mark.parametrize("assignment", all_assignments(), ids=lambda a: a.name)
def test_references_score_full_marks_on_cupy(assignment):
    report = grade(assignment, SOLUTIONS_DIR)
    cupy_cases = report.backends["cupy"]
    assert cupy_cases["tests"] > 0, report.log[-2000:]
    assert cupy_cases["score"] == cupy_cases["max_score"], report.log[-3000:]
    assert "skipped" in report.backends["strict"]
    assert report.score == pytest.approx(report.max_score)


HOSTILE = textwrap.dedent(
    """
    import cupy

    def double(x):
        return x * 2

    def spin(x):
        kernel = cupy.RawKernel(
            'extern "C" __global__ void spin(volatile int *flag) { while (flag[0] == 0) { } }',
            "spin",
        )
        flag = cupy.zeros(1, dtype=cupy.int32)
        kernel((1,), (1,), (flag,))
        cupy.cuda.runtime.deviceSynchronize()
        return x

    def pool_bomb(x):
        return cupy.empty(1 << 40, dtype=cupy.uint8)

    def grab_everything(x):
        held = []
        while True:  # past the pool: raw allocations until the device is full
            held.append(cupy.cuda.runtime.malloc(1 << 30))

    def illegal_access(x):
        kernel = cupy.RawKernel(
            'extern "C" __global__ void poke(int *p) { p[1 << 30] = 1; }', "poke"
        )
        kernel((1,), (1,), (cupy.zeros(1, dtype=cupy.int32),))
        cupy.cuda.runtime.deviceSynchronize()
        return x

    def returns_host(x):
        return cupy.asnumpy(x)
    """
)


def _free_device_memory() -> int:
    """Free bytes on device 0, measured in a separate process (the grader keeps off the GPU)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import cupy; print(cupy.cuda.runtime.memGetInfo()[0])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return int(probe.stdout.strip())


@pytest.fixture
def gpu_sandbox(tmp_path):
    (tmp_path / "hostile.py").write_text(HOSTILE)
    limits = Limits(call_timeout=20.0, import_timeout=60.0)
    with Sandbox(tmp_path, ["hostile.py"], "hostile", limits, gpu=True) as box:
        yield box


def _works(box: Sandbox) -> None:
    out = box.call("double", (np.arange(3.0),), backend="cupy")
    assert type(out) is np.ndarray and out.tolist() == [0.0, 2.0, 4.0]


def test_a_never_ending_kernel_times_out_and_the_sandbox_recovers(gpu_sandbox):
    _works(gpu_sandbox)
    with pytest.raises(CallFailed) as failed:
        gpu_sandbox.call("spin", (np.ones(2),), backend="cupy", timeout=5)
    assert failed.value.kind == "timeout"
    _works(gpu_sandbox)


def test_exhausting_device_memory_fails_the_call_and_frees_the_memory(gpu_sandbox):
    before = _free_device_memory()
    with pytest.raises(CallFailed) as failed:
        gpu_sandbox.call("pool_bomb", (np.ones(2),), backend="cupy")
    assert failed.value.kind == "exception" and "OutOfMemory" in failed.value.message
    with pytest.raises(CallFailed):
        gpu_sandbox.call("grab_everything", (np.ones(2),), backend="cupy", timeout=60)
    gpu_sandbox.reset()
    _works(gpu_sandbox)
    gpu_sandbox.close()
    assert _free_device_memory() > before - (1 << 30)  # the child's exit gave it all back


def test_an_illegal_memory_access_costs_only_that_call(gpu_sandbox):
    with pytest.raises(CallFailed) as failed:
        gpu_sandbox.call("illegal_access", (np.ones(2),), backend="cupy")
    assert failed.value.kind in ("exception", "crashed")
    gpu_sandbox.reset()  # the plugin starts a fresh worker after a failed test
    _works(gpu_sandbox)


def test_host_results_from_device_inputs_are_refused(gpu_sandbox):
    with pytest.raises(CallFailed) as failed:
        gpu_sandbox.call("returns_host", (np.ones(2),), backend="cupy")
    assert failed.value.kind == "device" and "NumPy array" in failed.value.message
