"""The backend registry: one object per backend, usable by the grader and, by path, the child."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from autograder.core import backends
from autograder.sandbox import devicesim

NO_GPU = backends.GpuStatus(False, "no CUDA device (test)")
A_GPU = backends.GpuStatus(True, "Test GPU")


@pytest.mark.parametrize("status", [NO_GPU, A_GPU], ids=["no GPU", "a GPU"])
def test_numpy_and_exactly_one_device_backend_run(status):
    running = backends.running(status.usable)
    assert running[0] == "numpy"
    assert len([name for name in running if name in backends.DEVICE_BACKENDS]) == 1
    for name in backends.BACKENDS:
        reason = backends.skip_reason(name, status)
        assert (reason is None) == (name in running), (name, reason)
        if reason is not None:
            assert status.detail in reason


@pytest.mark.parametrize("gpu", [False, True])
@pytest.mark.parametrize("share", [0.0, 0.2, 0.5])
def test_the_running_cases_share_all_of_a_tests_points(gpu, share):
    total = sum(backends.points_share(name, share, gpu) for name in backends.running(gpu))
    assert total == pytest.approx(1.0)
    assert backends.points_share("strict", share, gpu) == 0.0  # feedback only


def test_an_unknown_backend_is_named_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown backend 'tpu'.*numpy"):
        backends.backend("tpu")
    with pytest.raises(ValueError, match="unknown backend"):
        backends.points_share("tpu", 0.2, False)


def test_the_labels_and_names_come_from_the_objects():
    assert backends.BACKENDS == tuple(backends.REGISTRY)
    for name, entry in backends.REGISTRY.items():
        assert entry.name == name and backends.LABELS[name] == entry.label
        assert (name in backends.DEVICE_BACKENDS) == entry.device


def test_strict_arrays_go_to_the_simulator_and_come_back_as_numpy():
    arrays = backends.backend("strict").arrays(devicesim)
    x, w = np.arange(6.0).reshape(2, 3), np.ones(3)
    seen: dict[int, object] = {}
    moved = arrays.put(((x, [w]), {"scale": 2.0, "b": w}), seen)
    (device_x, [device_w]), keywords = moved
    assert type(device_x) is devicesim.ndarray and arrays.is_device(device_w)
    assert keywords["scale"] == 2.0 and set(seen) == {id(x), id(w)}
    back = arrays.result_on_host((device_x * 2, {"sum": device_x.sum()}), "f")
    assert type(back[0]) is np.ndarray and np.array_equal(back[0], x * 2)
    assert back[1]["sum"] == 15.0 and np.ndim(back[1]["sum"]) == 0


def test_a_numpy_result_for_device_inputs_is_refused_by_strict_only():
    strict = backends.backend("strict").arrays(devicesim)
    with pytest.raises(backends.WrongDevice, match=r"device discipline: f returned a NumPy"):
        strict.result_on_host([np.zeros(2)], "f")
    host = backends.backend("numpy").arrays(devicesim)
    assert host.result_on_host([np.zeros(2)], "f")[0].shape == (2,)


def test_a_device_array_for_numpy_inputs_is_refused():
    host = backends.backend("numpy").arrays(devicesim)
    with pytest.raises(backends.WrongDevice, match=r"as its result\['y'\].*NumPy arrays"):
        host.result_on_host({"y": devicesim.to_device(np.zeros(2))}, "f")


def test_strict_arrays_report_what_the_simulator_saw():
    arrays = backends.backend("strict").arrays(devicesim)
    arrays.before_call()
    assert arrays.violation() is None
    with pytest.raises(devicesim.DeviceDisciplineError):
        np.asarray(devicesim.to_device(np.zeros(2)))
    assert "device" in arrays.violation()
    arrays.before_call()
    assert arrays.violation() is None


def test_strict_arrays_see_the_simulator_modified_after_they_were_made(monkeypatch):
    arrays = backends.backend("strict").arrays(devicesim)
    monkeypatch.setattr(devicesim, "to_host", lambda value: value)
    assert "the device simulator was modified" in arrays.violation()
    assert "to_host" in arrays.violation()


def test_the_registry_loads_by_path_with_the_standard_library_only():
    """As the sandbox's child loads it: ``python -I -S``, no kit on the path, no NumPy yet."""
    program = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('registry', {backends.__file__!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "sys.modules['registry'] = module\n"
        "spec.loader.exec_module(module)\n"
        "print(json.dumps({'names': list(module.BACKENDS), 'running': module.running(False),\n"
        "    'kit': sorted(m for m in sys.modules if m.startswith('autograder')),\n"
        "    'numpy': 'numpy' in sys.modules}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", program], capture_output=True, text=True, check=True
    )
    loaded = json.loads(done.stdout)
    assert loaded == {
        "names": list(backends.BACKENDS),
        "running": list(backends.running(False)),
        "kit": [],
        "numpy": False,
    }
