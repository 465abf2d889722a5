"""UNTRUSTED side (runs in the sandbox's child, never imported by the grader): where a
call's arrays live, through the kit's backend registry.

Loaded by path by ``untrusted_child.py`` (registered as ``_autograder_untrusted_devices``).
:func:`_load_backends` loads, by path and before any student code runs, the backend registry
(``autograder/core/backends.py``: one object per backend, which knows how its arrays go to it
and come back) and the strict simulator (``devicesim.py``), and makes the strict backend's
arrays then, so that what they use of the simulator is bound before student code can rebind
it. The worker asks :func:`_backend` for the arrays of the backend a request names. What is
decided here (a result on the wrong device, the simulator's record of a violation) is feedback
only: it is seen in the student's own process, where a submission could forge it, so it
carries no points.
"""

from __future__ import annotations

import importlib.util
import sys

import _autograder_messages as _messages
from _autograder_untrusted_common import _describe_error

_registry = None
"""The backend registry (``core/backends.py``, loaded by path: see ``_load_backends``)."""
_devicesim = None
"""The strict device simulator (``devicesim.py``, loaded by path: see ``_load_backends``)."""
_devices: dict = {}
"""The arrays of each backend in use, by name (the strict one made at load, the others on
first use)."""


def _load_file(name: str, path: str, register: bool = False):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    if register:  # dataclasses look their class's module up in sys.modules
        sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _load_backends(config) -> None:
    """Load the backend registry and the strict simulator by path (before any student code;
    the simulator's state now is what a call is compared with afterwards)."""
    global _registry, _devicesim
    _registry = _load_file("_autograder_backends", config["backends_path"], register=True)
    _devicesim = _load_file("cupy_device_simulator", config["devicesim_path"])
    _devices["numpy"] = _registry.backend("numpy").arrays(_devicesim)
    if not config["gpu"]:
        _devices["strict"] = _registry.backend("strict").arrays(_devicesim)


def _install_simulator() -> None:
    """``import cupy`` gives the strict simulator from now on (see devicesim.py)."""
    _devicesim.install()


def _wrong_device():
    """The exception a result on the wrong device raises (``backends.WrongDevice``)."""
    return _registry.WrongDevice


def _backend(name, config):
    """The arrays of backend ``name``, made once per worker; refused where it does not run."""
    if name not in _devices:
        entry = _registry.backend(name)
        if not entry.runs(config["gpu"]):
            raise ValueError(f"backend {name!r} is not enabled in this sandbox")
        _devices[name] = entry.arrays(_devicesim, gpu_memory_bytes=config["gpu_memory_bytes"])
    return _devices[name]


def _device_message(function_name: str, violation: str, error: BaseException, config) -> str:
    described = _describe_error(error, f"{function_name} raised", config)
    discipline = isinstance(error, _devicesim.DeviceDisciplineError)
    return _messages.device_failure(function_name, violation, described, discipline)
