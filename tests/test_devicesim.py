"""The strict device simulator: refuses what CuPy refuses, allows what CuPy allows."""

from __future__ import annotations

import importlib.util
import sys
import textwrap

import numpy as np
import pytest

from autograder.core.assignments import SOLUTIONS_DIR
from autograder.sandbox import CallFailed, Sandbox
from autograder.sandbox import devicesim as sim

xp = sim.cupy


@pytest.fixture(autouse=True)
def _no_leftover_violations():
    sim.clear_violations()
    yield
    sim.clear_violations()


def _device(values):
    return sim.to_device(np.asarray(values, dtype=np.float64))


# ------------------------------------------------------------------ what CuPy refuses


@pytest.mark.parametrize(
    "mistake",
    [
        pytest.param(lambda x: x + np.ones(3), id="device-plus-host"),
        pytest.param(lambda x: np.ones(3) * x, id="host-times-device"),
        pytest.param(lambda x: np.asarray(x), id="np.asarray"),
        pytest.param(lambda x: np.array(x), id="np.array"),
        pytest.param(lambda x: x.get(), id="get"),
        pytest.param(lambda x: xp.asnumpy(x), id="asnumpy"),
        pytest.param(lambda x: xp.maximum(x, np.zeros(3)), id="host-into-xp-ufunc"),
        pytest.param(lambda x: xp.concatenate([x, np.zeros(3)]), id="host-into-xp-function"),
        pytest.param(lambda x: xp.einsum("i,i->", x, np.ones(3)), id="host-into-einsum"),
        pytest.param(lambda x: np.stack([x, np.ones(3)]), id="np-function-mixing"),
        pytest.param(lambda x: x.__setitem__(slice(None), np.ones(3)), id="assign-host-slice"),
        pytest.param(lambda x: np.zeros(3).__setitem__(slice(None), x), id="device-into-host"),
        pytest.param(lambda x: xp.add.at(x, [0, 1], np.ones(2)), id="host-values-into-add.at"),
        pytest.param(lambda x: x.dot(np.ones(3)), id="host-into-method"),
    ],
)
def test_mixing_host_and_device_memory_is_refused(mistake):
    x = _device([1.0, -2.0, 3.0])
    with pytest.raises(TypeError, match="device discipline") as raised:
        mistake(x)
    assert isinstance(raised.value, sim.DeviceDisciplineError)
    assert sim.violations and "get_array_module" in sim.violations[0]


def test_a_few_element_reads_are_fine_and_a_loop_over_elements_is_refused():
    x = _device(np.arange(100.0).reshape(10, 10))
    assert float(x[0, 0]) == 0.0 and int(x.sum()) == 4950 and bool(xp.any(x > 50))
    assert not sim.violations
    for i in range(10):
        for j in range(10):
            x[i, j] = x[i, j] + 1.0
    assert sim.violations and "one at a time" in sim.violations[0]


# ------------------------------------------------------------------ what CuPy allows


def test_device_code_runs_and_stays_on_the_device():
    x = _device(np.arange(12.0).reshape(3, 4) - 5)
    assert sim.get_array_module(x) is xp and sim.get_array_module(np.ones(2)) is np
    results = [
        xp.maximum(x, 0),
        np.exp(x),  # NumPy ufuncs dispatch to the device, as with CuPy
        np.zeros_like(x),  # and NumPy functions too
        xp.einsum("ij,kj->ik", x, x),
        xp.pad(x, ((1, 1), (0, 0))),
        xp.lib.stride_tricks.sliding_window_view(x, (2, 2), axis=(0, 1)),
        x.reshape(4, 3).T @ x.T,
        x.sum(axis=1, keepdims=True),
        x.astype(xp.float32),
        x[np.array([0, 2])],  # NumPy index arrays are allowed
        x[x > 0],
        xp.where(x > 0, x, 0.0),
        np.float64(2.0) * x,  # NumPy scalars are allowed
        xp.asarray(np.ones(4)) + x,  # an explicit copy to the device is allowed
        xp.sum(x),
    ]
    for result in results:
        assert type(result) is sim.ndarray
    assert float(xp.sum(x)) == pytest.approx(float(np.sum(np.arange(12.0) - 5)))
    assert int(x.shape[0]) == 3 and bool(xp.any(x > 5)) and x[1, 1].item() == 0.0
    assert [type(row) for row in x] == [sim.ndarray] * 3
    assert not sim.violations


def test_writes_through_views_and_in_place_operators_reach_the_data():
    data = np.zeros((2, 3))
    x = sim.to_device(data)
    x[0] += 1.0
    view = x[:, 1:]
    view *= 0.0
    view += xp.ones((2, 2))
    xp.add.at(x, (np.array([1, 1]), np.array([0, 0])), 2.0)
    np.testing.assert_array_equal(data, [[1.0, 1.0, 1.0], [4.0, 1.0, 1.0]])
    x[:, 0] = np.float64(7.0)  # a scalar is not an array: allowed
    x[np.array([0]), :] = np.ones((1, 3))  # an advanced-index update copies, as in CuPy
    assert sim.to_host(x)[1, 0] == 7.0 and not sim.violations


def test_a_reference_solution_runs_on_the_simulated_device(monkeypatch):
    """The references use only ``xp`` (the graded suites check every function this way)."""
    monkeypatch.setitem(sys.modules, "cupy", sim.cupy)  # as the sandbox installs it
    spec = importlib.util.spec_from_file_location("conv_on_device", SOLUTIONS_DIR / "conv.py")
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3)), np.ones(4)
    want = conv.conv_forward(x, w, b, padding=1, stride=2)
    got = conv.conv_forward(*map(sim.to_device, (x, w, b)), padding=1, stride=2)
    assert type(want) is np.ndarray and type(got) is sim.ndarray
    np.testing.assert_array_equal(sim.to_host(got), want)
    dout = sim.to_device(np.ones(want.shape))
    grads = conv.conv_backward(dout, *map(sim.to_device, (x, w)), padding=1, stride=2)
    assert [type(g) for g in grads] == [sim.ndarray] * 3 and not sim.violations


# ------------------------------------------------------------------ in the sandbox

SUBMISSION = textwrap.dedent(
    """
    import sys
    import numpy as np
    try:
        from cupy import get_array_module
    except ImportError:
        def get_array_module(*arrays):
            return np

    def portable(x):
        xp = get_array_module(x)
        return xp.maximum(x, 0), xp.sum(x)

    def host_zeros(x):
        return np.zeros(x.shape) + x

    def swallowed(x):
        try:
            np.asarray(x)
        except TypeError:
            pass
        return x * 1

    def returns_host(x):
        xp = get_array_module(x)
        return [xp.abs(x), np.abs(np.ones(2))]

    def tampers(x):
        xp = get_array_module(x)
        if xp is not np:
            xp.ndarray.__array__ = lambda self, *a, **k: self._data
        return xp.asarray(np.asarray(x) * 2)

    def makes_device_arrays(x):
        import cupy
        return cupy.asarray(x)

    def loops_over_pixels(x):
        xp = get_array_module(x)
        out = xp.empty_like(x)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                out[i, j] = x[i, j] * 2
        return out

    def sums_by_iterating(x):
        total = 0.0
        for value in x.reshape(-1):
            total += float(value)
        return total

    # correct, stable code that makes NumPy warn (the masked branch is computed, then dropped)
    def safe_log(x):
        xp = get_array_module(x)
        return xp.where(x > 0, xp.log(x), 0.0)

    def masked_exp(x):
        xp = get_array_module(x)
        return xp.where(x < 100, np.exp(x), 0.0)

    def masked_divide(x, y):
        xp = get_array_module(x)
        return xp.where(y != 0, x / y, 0.0)

    def warns_itself(x):
        import warnings
        warnings.warn("a student's own warning", RuntimeWarning, stacklevel=1)
        xp = get_array_module(x)
        return xp.sqrt(x - 10.0)  # invalid value: nan, and a warning

    def rebinds_the_violations(x):
        xp = get_array_module(x)
        if xp is not np:
            class Blind(list):
                def append(self, item):
                    pass

                def __eq__(self, other):
                    return True

            simulator = sys.modules["cupy"].ndarray.__init__.__globals__
            simulator["violations"] = Blind()
            try:
                np.asarray(x)
            except TypeError:
                pass
        return x * 1
    """
)

WARNING_CASES = [
    ("safe_log", (np.array([0.0, 1.0, np.e]),), [0.0, 0.0, 1.0]),
    ("masked_exp", (np.array([1.0, 1000.0]),), [np.e, 0.0]),
    ("masked_divide", (np.array([1.0, 1.0]), np.array([0.0, 2.0])), [0.0, 0.5]),
]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    folder = tmp_path_factory.mktemp("devicesim")
    (folder / "toy.py").write_text(SUBMISSION)
    with Sandbox(folder, ["toy.py"], "toy") as box:
        yield box


def test_portable_code_gives_numpy_results_on_both_backends(sandbox):
    x = np.array([-1.0, 2.0])
    for backend in ("numpy", "strict"):
        out, total = sandbox.call("portable", (x,), backend=backend)
        assert type(out) is np.ndarray and out.tolist() == [0.0, 2.0]
        assert total == 1.0


@pytest.mark.parametrize(
    "function, words",
    [
        ("host_zeros", "passed to numpy.add"),
        ("swallowed", "converted to a NumPy array"),
        ("returns_host", "returned a NumPy array (host memory) as its result[1]"),
        ("tampers", "simulator was modified"),
        ("loops_over_pixels", "one at a time in one call"),
        ("sums_by_iterating", "one at a time in one call"),
    ],
)
def test_device_mistakes_fail_only_on_the_device_backend(sandbox, function, words):
    x = (
        np.arange(-50.0, 50.0).reshape(10, 10)
        if function.startswith(("loops", "sums"))
        else (np.array([-1.0, 2.0]))
    )
    sandbox.reset()
    sandbox.call(function, (x,), backend="numpy")  # correct NumPy code
    with pytest.raises(CallFailed) as failed:
        sandbox.call(function, (x,), backend="strict")
    assert failed.value.kind == "device"
    assert words in failed.value.message and "device discipline" in failed.value.message


@pytest.mark.parametrize(("function", "args", "want"), WARNING_CASES, ids=lambda v: str(v)[:12])
def test_floating_point_warnings_are_not_device_mistakes(sandbox, function, args, want):
    """NumPy's warnings are issued from the simulator's frames, so Python adds a
    ``__warningregistry__`` to its globals: that is no modification of the simulator."""
    sandbox.reset()
    for backend in ("numpy", "strict", "strict"):  # the registry exists on the second call
        got = sandbox.call(function, args, backend=backend)
        np.testing.assert_allclose(got, want)
    got = sandbox.call("warns_itself", (np.array([1.0, 16.0]),), backend="strict")
    assert np.isnan(got[0]) and got[1] == pytest.approx(np.sqrt(6.0))


def test_rebinding_the_simulators_names_is_caught_even_by_an_impostor_that_claims_equality(
    sandbox,
):
    sandbox.reset()
    with pytest.raises(CallFailed) as failed:
        sandbox.call("rebinds_the_violations", (np.ones(2),), backend="strict")
    assert failed.value.kind == "device" and "simulator was modified" in failed.value.message
    assert "violations" in failed.value.message


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_warnings_and_tampering_in_process(tmp_path):
    """The unsafe in-process baseline judges the strict backend the same way."""
    from autograder.suite.in_process import InProcessFunctions
    from autograder.suite.student import StudentError

    (tmp_path / "toy_inprocess.py").write_text(SUBMISSION)
    calls = []
    functions = InProcessFunctions(tmp_path, "toy_inprocess", calls, backend="strict")
    violations, installed = sim.violations, "cupy" in sys.modules
    try:
        for function, args, want in WARNING_CASES:
            for _ in range(2):
                np.testing.assert_allclose(getattr(functions, function)(*args), want)
        with pytest.raises(StudentError, match="simulator was modified"):
            functions.rebinds_the_violations(np.ones(2))
    finally:
        sim.violations = violations
        if not installed:
            sys.modules.pop("cupy", None)
        sys.modules.pop("toy_inprocess", None)
        if str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))


def test_device_arrays_for_numpy_inputs_are_refused(sandbox):
    with pytest.raises(CallFailed) as failed:
        sandbox.call("makes_device_arrays", (np.ones(2),), backend="numpy")
    assert failed.value.kind == "device" and "NumPy arrays" in failed.value.message


def test_a_sandbox_offers_cupy_only_with_a_gpu(sandbox):
    with pytest.raises(ValueError, match="not available in this sandbox"):
        sandbox.call("portable", (np.ones(2),), backend="cupy")


def test_a_gpu_sandbox_bounds_the_data_segment_instead_of_the_address_space():
    from autograder.sandbox import Limits

    limits = Limits()
    assert limits.rlimits(gpu=True)["RLIMIT_DATA"] == limits.gpu_data_bytes
    assert "RLIMIT_AS" not in limits.rlimits(gpu=True)
    assert limits.rlimits()["RLIMIT_AS"] == limits.memory_bytes


def test_a_gpu_sandbox_without_a_usable_cupy_fails_cupy_calls_with_a_reason(tmp_path):
    """The GPU sandbox's CPU side: NumPy calls run under its limits; a cupy call where CuPy
    cannot start is a failed call that says why, not a crashed grader."""
    (tmp_path / "toy.py").write_text(SUBMISSION)
    with Sandbox(tmp_path, ["toy.py"], "toy", gpu=True) as box:
        out, total = box.call("portable", (np.array([-1.0, 2.0]),))
        assert out.tolist() == [0.0, 2.0] and total == 1.0
        try:
            import cupy  # noqa: F401

            pytest.skip("CuPy is installed here: tests/test_gpu.py covers the cupy backend")
        except ImportError:
            pass
        with pytest.raises(CallFailed) as failed:
            box.call("portable", (np.ones(2),), backend="cupy")
        assert failed.value.kind == "crashed" and "'cupy' backend cannot run here" in (
            failed.value.message
        )
        with pytest.raises(ValueError, match="not available in this sandbox"):
            box.call("portable", (np.ones(2),), backend="strict")
