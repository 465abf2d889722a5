"""UNTRUSTED side (runs in the sandbox's child, never imported by the grader): where a
call's arrays live when they are not NumPy arrays.

Loaded by path by ``untrusted_child.py`` (registered as ``_autograder_untrusted_devices``),
which also loads the strict simulator (``devicesim.py``, by path: :func:`_load_simulator`)
before any student code runs. The worker moves a call's arrays to the backend it names
(:class:`_Strict`: the simulator's arrays; :class:`_Cupy`: CuPy on the GPU) and reads the
result back (:func:`_result_on_host`). What is decided here (a result on the wrong device,
the simulator's record of a violation) is feedback only: it is seen in the student's own
process, where a submission could forge it, so it carries no points.
"""

from __future__ import annotations

import importlib.util

from _autograder_untrusted_common import _describe_error

_devicesim = None
"""The strict device simulator (``devicesim.py``, loaded by path: see ``_load_simulator``)."""
_devicesim_pristine = None
"""``devicesim.state()`` as loaded, before any student code ran (its import included)."""
_devicesim_state = _devicesim_changes = None
_devices: dict = {}


def _load_simulator(path: str) -> None:
    """Load the strict simulator from ``path`` (before any student code: what the simulator
    is, and the functions that compare it with what it is after a call, are bound now, so
    rebinding the module's names cannot blind them)."""
    global _devicesim, _devicesim_pristine, _devicesim_state, _devicesim_changes
    spec = importlib.util.spec_from_file_location("cupy_device_simulator", path)
    _devicesim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(_devicesim)
    _devicesim_state, _devicesim_changes = _devicesim.state, _devicesim.changes
    _devicesim_pristine = _devicesim_state()


def _install_simulator() -> None:
    """``import cupy`` gives the strict simulator from now on (see devicesim.py)."""
    _devicesim.install()


class _WrongDevice(Exception):
    """A result holds arrays of the wrong kind: host arrays for device inputs, or the reverse."""


class _Device:
    """Where a call's arrays live when it is not NumPy: see ``_Strict`` and ``_Cupy``."""

    name = "device"

    def put(self, value, seen: dict):
        """``value`` with its NumPy arrays moved to the device; ``seen`` maps each original's
        id to its device copy (to read it back for the modified-input check)."""
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

    def to_device(self, array):
        raise NotImplementedError

    def is_device(self, value) -> bool:
        raise NotImplementedError

    def host_copy(self, value):
        raise NotImplementedError

    def before_call(self) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def violation(self):
        return None


class _Strict(_Device):
    """NumPy data in the simulator's device arrays (see devicesim.py)."""

    name = "simulated device"

    def __init__(self, sim) -> None:
        self.sim = sim
        self.pristine = _devicesim_pristine

    def to_device(self, array):
        return self.sim.to_device(array)

    def is_device(self, value) -> bool:
        return type(value) is self.sim.ndarray

    def host_copy(self, value):
        return self.sim.to_host(value) if self.is_device(value) else value

    def before_call(self) -> None:
        self.sim.clear_violations()

    def violation(self):
        if self.sim.violations:
            return self.sim.violations[0]
        # what Python's warnings machinery adds (``__warningregistry__``) is not a change
        changed = _devicesim_changes(self.pristine, _devicesim_state())
        if changed:
            return (
                "device discipline: the device simulator was modified (its module or array "
                f"class: {', '.join(changed[:5])}); graded functions must only compute"
            )
        return None


class _Cupy(_Device):
    """CuPy arrays on the current GPU; CuPy's memory pool is capped at ``gpu_memory_bytes``."""

    name = "GPU"

    def __init__(self, config) -> None:
        import cupy

        self.cupy = cupy
        self.device_id = cupy.cuda.Device().id
        cupy.get_default_memory_pool().set_limit(size=config["gpu_memory_bytes"])

    def to_device(self, array):
        return self.cupy.asarray(array)

    def is_device(self, value) -> bool:
        return type(value) is self.cupy.ndarray and value.device.id == self.device_id

    def host_copy(self, value):
        return value.get() if type(value) is self.cupy.ndarray else value

    def synchronize(self) -> None:  # a kernel that faults is reported by the call that ran it
        self.cupy.cuda.runtime.deviceSynchronize()


def _backend(name, config):
    """The ``_Device`` of backend ``name`` (None for ``numpy``), made once per worker."""
    if name == "numpy":
        return None
    if name not in _devices:
        if name == "strict" and not config["gpu"]:
            _devices[name] = _Strict(_devicesim)
        elif name == "cupy" and config["gpu"]:
            _devices[name] = _Cupy(config)
        else:
            raise ValueError(f"backend {name!r} is not enabled in this sandbox")
    return _devices[name]


def _foreign_device_array(value) -> bool:
    """A device array (CuPy's or the simulator's) where NumPy arrays were expected."""
    module = getattr(type(value), "__module__", "") or ""
    return type(value) is getattr(_devicesim, "ndarray", None) or module.startswith("cupy")


def _result_on_host(
    value, backend, function_name: str, where: str = "its result", lenient: bool = False
):
    """The result with its device arrays read back (0-d ones as NumPy scalars, as NumPy code
    returns them); raises _WrongDevice for an array on the wrong side.

    ``lenient``: NumPy arrays pass for device inputs too. On a GPU the kind of a result is seen
    only here, in the student's process, where a submission could forge it: what the grader
    scores is the values (the strict simulator's verdicts are feedback only, for the same
    reason)."""
    import numpy as np

    kind = type(value)
    if kind is np.ndarray:
        if backend is not None and not lenient:
            raise _WrongDevice(
                f"device discipline: {function_name} returned a NumPy array (host memory) as "
                f"{where} for inputs on the {backend.name}; return arrays of the inputs' "
                f"namespace: {_devicesim.ADVICE}"
            )
        return value
    if kind is list or kind is tuple:
        return kind(
            _result_on_host(item, backend, function_name, f"{where}[{index}]", lenient)
            for index, item in enumerate(value)
        )
    if kind is dict:
        return {
            key: _result_on_host(item, backend, function_name, f"{where}[{key!r}]", lenient)
            for key, item in value.items()
        }
    if backend is not None and backend.is_device(value):
        host = np.array(backend.host_copy(value), copy=True)
        return host[()] if host.ndim == 0 else host
    if _foreign_device_array(value):
        side = "NumPy arrays" if backend is None else f"arrays on the {backend.name}"
        raise _WrongDevice(
            f"{function_name} returned a device array ({type(value).__module__}.ndarray) as "
            f"{where} for inputs that are {side}; create outputs with "
            f"xp = get_array_module(x), so they live where the inputs live"
        )
    return value


def _device_message(function_name: str, violation: str, error: BaseException, config) -> str:
    described = _describe_error(error, f"{function_name} raised", config)
    if isinstance(error, _devicesim.DeviceDisciplineError):
        return described
    return f"{function_name}: {violation}\n(then) {described}"
