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

One object per backend (:data:`REGISTRY`, a :class:`Backend` each) knows all of it: its name and
label, when it runs here and why not (:meth:`Backend.skip_reason`), its share of a test's points
(:meth:`Backend.points_share`), and how a call's arrays go to it and come back
(:meth:`Backend.arrays`, an :class:`Arrays`). The grader's suites and the sandbox ask it; the
sandbox's child loads this file by path, before any student code runs, to move a call's arrays.
So it is self-contained: the standard library only at import (NumPy and CuPy where arrays move),
nothing else of the kit. Adding a backend is adding a :class:`Backend` here.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

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


# ---------------------------------------------------------------- where a call's arrays live


class WrongDevice(Exception):
    """A result holds arrays of the wrong kind: host arrays for device inputs, or the reverse."""


class Arrays:
    """Where one call's arrays live, in the process that runs the student's code.

    The base is the host (NumPy arrays stay as they are). ``place`` words the device in
    messages; ``simulator`` is the strict simulator module (``devicesim.py``), whose arrays are
    foreign wherever they are not this place's own.
    """

    place = "host"
    lenient = False
    """Whether a NumPy array passes as a result for device inputs (see :meth:`host_result`)."""

    def __init__(self, simulator: Any) -> None:
        self._simulator_array = getattr(simulator, "ndarray", None)

    def put(self, value: Any, seen: dict[int, Any]) -> Any:
        """``value`` with its NumPy arrays moved here; ``seen`` maps each original's id to its
        copy here (to read it back for the modified-input check)."""
        return value

    def is_device(self, value: Any) -> bool:
        """Whether ``value`` is an array of this place (never, on the host)."""
        return False

    def host_copy(self, value: Any) -> Any:
        """``value`` (an array of this place, or a NumPy array) as NumPy data."""
        return value

    def before_call(self) -> None:
        """Forget what the previous call did here (the simulator's record of violations)."""

    def synchronize(self) -> None:
        """Wait until the call's work here is done (a faulting kernel reports in its call)."""

    def violation(self) -> str | None:
        """The first breach of device discipline seen since :meth:`before_call` (None: none)."""
        return None

    def host_result(self, value: Any, function_name: str, where: str) -> Any:
        """A NumPy array returned as ``where``: fine on the host and for lenient places."""
        return value

    def foreign(self, value: Any) -> bool:
        """A device array (CuPy's or the simulator's) that is not of this place."""
        module = getattr(type(value), "__module__", "") or ""
        simulated = self._simulator_array is not None and type(value) is self._simulator_array
        return not self.is_device(value) and (simulated or module.startswith("cupy"))

    def result_on_host(self, value: Any, function_name: str, where: str = "its result") -> Any:
        """The result with this place's arrays read back (0-d ones as NumPy scalars, as NumPy
        code returns them); raises :class:`WrongDevice` for an array on the wrong side."""
        import numpy as np

        kind = type(value)
        if kind is np.ndarray:
            return self.host_result(value, function_name, where)
        if kind is list or kind is tuple:
            return kind(
                self.result_on_host(item, function_name, f"{where}[{index}]")
                for index, item in enumerate(value)
            )
        if kind is dict:
            return {
                key: self.result_on_host(item, function_name, f"{where}[{key!r}]")
                for key, item in value.items()
            }
        if self.is_device(value):
            host = np.array(self.host_copy(value), copy=True)
            return host[()] if host.ndim == 0 else host
        if self.foreign(value):
            side = "NumPy arrays" if self.place == "host" else f"arrays on the {self.place}"
            raise WrongDevice(
                f"{function_name} returned a device array ({type(value).__module__}.ndarray) "
                f"as {where} for inputs that are {side}; create outputs with "
                f"xp = get_array_module(x), so they live where the inputs live"
            )
        return value


class DeviceArrays(Arrays):
    """A device's arrays: NumPy arguments are copied to it, results read back."""

    def put(self, value: Any, seen: dict[int, Any]) -> Any:
        import numpy as np

        kind = type(value)
        if kind is np.ndarray:
            device = self.to_device(value)
            seen[id(value)] = device
            return device
        if kind is list or kind is tuple:
            return kind(self.put(item, seen) for item in value)
        if kind is dict:
            return {key: self.put(item, seen) for key, item in value.items()}
        return value

    def to_device(self, array: Any) -> Any:
        """A NumPy array's data as an array of this device."""
        raise NotImplementedError


class StrictArrays(DeviceArrays):
    """NumPy data in the strict simulator's device arrays (see ``devicesim.py``).

    What it uses of the simulator is bound when it is made, which is before any student code
    runs, so a submission that rebinds the simulator's names cannot blind it; ``pristine`` is
    the simulator's state then (``simulator.state()`` when not given)."""

    place = "simulated device"

    def __init__(self, simulator: Any, pristine: Any = None) -> None:
        super().__init__(simulator)
        self._simulator = simulator
        self._array = simulator.ndarray
        self._to_device, self._to_host = simulator.to_device, simulator.to_host
        self._clear, self._state, self._changes = (
            simulator.clear_violations,
            simulator.state,
            simulator.changes,
        )
        self._advice = simulator.ADVICE
        self._pristine = self._state() if pristine is None else pristine

    def to_device(self, array: Any) -> Any:
        return self._to_device(array)

    def is_device(self, value: Any) -> bool:
        return type(value) is self._array

    def host_copy(self, value: Any) -> Any:
        return self._to_host(value) if self.is_device(value) else value

    def before_call(self) -> None:
        self._clear()

    def violation(self) -> str | None:
        violations = self._simulator.violations
        if violations:
            return violations[0]
        # what Python's warnings machinery adds (``__warningregistry__``) is not a change
        changed = self._changes(self._pristine, self._state())
        if changed:
            return (
                "device discipline: the device simulator was modified (its module or array "
                f"class: {', '.join(changed[:5])}); graded functions must only compute"
            )
        return None

    def host_result(self, value: Any, function_name: str, where: str) -> Any:
        raise WrongDevice(
            f"device discipline: {function_name} returned a NumPy array (host memory) as "
            f"{where} for inputs on the {self.place}; return arrays of the inputs' "
            f"namespace: {self._advice}"
        )


class CupyArrays(DeviceArrays):
    """CuPy arrays on the current GPU; CuPy's memory pool is capped at ``memory_bytes``.

    Lenient: on a GPU the kind of a result is seen only in the student's process, where a
    submission could forge it, so what the grader scores is the values that come back."""

    place = "GPU"
    lenient = True

    def __init__(self, simulator: Any, memory_bytes: int) -> None:
        super().__init__(simulator)
        import cupy

        self._cupy = cupy
        self._device_id = cupy.cuda.Device().id
        cupy.get_default_memory_pool().set_limit(size=memory_bytes)

    def to_device(self, array: Any) -> Any:
        return self._cupy.asarray(array)

    def is_device(self, value: Any) -> bool:
        return type(value) is self._cupy.ndarray and value.device.id == self._device_id

    def host_copy(self, value: Any) -> Any:
        return value.get() if type(value) is self._cupy.ndarray else value

    def synchronize(self) -> None:
        self._cupy.cuda.runtime.deviceSynchronize()


# ---------------------------------------------------------------- the backends


class Backend:
    """One backend: its name, label, when it runs, its points share, its arrays."""

    name = ""
    label = ""
    device = True
    """Whether its arrays live on a device (its cases grade device discipline)."""

    def runs(self, gpu: bool) -> bool:
        """Whether its cases run where ``gpu`` says whether CuPy grades."""
        raise NotImplementedError

    def skip_reason(self, status: GpuStatus) -> str | None:
        """Why its cases do not run here (None: they run)."""
        raise NotImplementedError

    def points_share(self, device_share: float, gpu: bool) -> float:
        """The fraction of a test's points its case carries when it runs (``gpu``: whether the
        ``cupy`` case runs here)."""
        raise NotImplementedError

    def arrays(self, simulator: Any, *, gpu_memory_bytes: int = 0, pristine: Any = None) -> Arrays:
        """Its :class:`Arrays`, made in the process that runs student code (``simulator``: the
        strict simulator module; ``pristine``: its state before any student code ran)."""
        raise NotImplementedError


class NumpyBackend(Backend):
    name = "numpy"
    label = "NumPy arrays (CPU)"
    device = False

    def runs(self, gpu: bool) -> bool:
        return True

    def skip_reason(self, status: GpuStatus) -> str | None:
        return None

    def points_share(self, device_share: float, gpu: bool) -> float:
        return 1.0 - device_share if gpu else 1.0

    def arrays(self, simulator: Any, *, gpu_memory_bytes: int = 0, pristine: Any = None) -> Arrays:
        return Arrays(simulator)


class StrictBackend(Backend):
    name = "strict"
    label = "device discipline on the CPU (strict device arrays; feedback, no points)"

    def runs(self, gpu: bool) -> bool:
        return not gpu

    def skip_reason(self, status: GpuStatus) -> str | None:
        if status.usable:
            return f"strict cases are not needed: CuPy grades device discipline on {status.detail}"
        return None

    def points_share(self, device_share: float, gpu: bool) -> float:
        return 0.0  # feedback only: its verdicts are seen in the student's process

    def arrays(self, simulator: Any, *, gpu_memory_bytes: int = 0, pristine: Any = None) -> Arrays:
        return StrictArrays(simulator, pristine)


class CupyBackend(Backend):
    name = "cupy"
    label = "CuPy arrays on the GPU"

    def runs(self, gpu: bool) -> bool:
        return gpu

    def skip_reason(self, status: GpuStatus) -> str | None:
        if not status.usable:
            return f"cupy cases need a usable CUDA device: {status.detail}"
        return None

    def points_share(self, device_share: float, gpu: bool) -> float:
        return device_share

    def arrays(self, simulator: Any, *, gpu_memory_bytes: int = 0, pristine: Any = None) -> Arrays:
        return CupyArrays(simulator, gpu_memory_bytes)


REGISTRY: dict[str, Backend] = {
    backend.name: backend for backend in (NumpyBackend(), StrictBackend(), CupyBackend())
}
"""Every backend by name, in the order their cases run."""
BACKENDS = tuple(REGISTRY)
DEVICE_BACKENDS = tuple(name for name, backend in REGISTRY.items() if backend.device)
LABELS = {name: backend.label for name, backend in REGISTRY.items()}


def backend(name: str) -> Backend:
    """The backend called ``name``; a clear error for an unknown one."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKENDS}") from None


def running(gpu: bool) -> tuple[str, ...]:
    """The backends whose cases run where ``gpu`` says whether CuPy grades."""
    return tuple(name for name, entry in REGISTRY.items() if entry.runs(gpu))


def skip_reason(name: str, status: GpuStatus) -> str | None:
    """Why backend ``name``'s cases do not run here (None: they run)."""
    return backend(name).skip_reason(status)


def points_share(name: str, device_share: float, gpu: bool) -> float:
    """The fraction of a test's points backend ``name``'s case carries (when it runs).

    ``gpu``: whether the ``cupy`` case runs here (else the feedback-only ``strict`` case does).
    """
    return backend(name).points_share(device_share, gpu)


def check_device_share(value: object, where: str) -> float:
    """``device_share`` from a config, validated: a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
        raise ValueError(
            f"{where}: [backends] device_share must be a number in [0, 1) (the share of each "
            f"test's points its device case carries), got {value!r}"
        )
    return float(value)
