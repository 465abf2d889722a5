"""A strict stand-in for CuPy on the CPU: device arrays that refuse host memory as CuPy does.

Students without a GPU (and every CI run) can still learn that their code would fail on CuPy.
The ``strict`` backend of the graded suites passes :class:`ndarray` objects ("device arrays")
to the student's functions instead of NumPy arrays. They compute with NumPy underneath and
behave like CuPy arrays where it matters for device discipline:

* ``get_array_module(x)`` (the module installed as ``cupy`` in the sandbox, :data:`cupy`)
  returns this module for device arrays, and NumPy for NumPy arrays, as CuPy's does;
* every function of the module (``xp.zeros``, ``xp.einsum``, ``xp.add.at``, ...) returns device
  arrays, and refuses NumPy arrays among its inputs (CuPy raises ``TypeError`` there);
* arithmetic, comparisons and NumPy's own functions (``np.exp(x)``, ``np.zeros_like(x)``) work on
  device arrays through ``__array_ufunc__``/``__array_function__``, as with CuPy, but mixing a
  device array with a NumPy array (``x + np.ones(3)``) raises;
* implicit conversion to NumPy (``np.asarray(x)``, ``np.array(x)``, writing a device array into
  a NumPy array) raises, as CuPy does; so do the explicit copies to the host (``x.get()``,
  ``xp.asnumpy(x)``), which on a GPU are slow transfers and give NumPy arrays;
* assigning a NumPy array into a slice of a device array raises (CuPy's "non-scalar
  numpy.ndarray cannot be used for fill");
* scalars stay on the device: ``xp.sum(x)`` is a 0-d device array; ``float(s)``, ``int(s)``,
  ``bool(s)`` and ``s.item()`` read it on the host, as with CuPy.

What CuPy allows stays allowed (NumPy arrays as indices, ``xp.asarray(numpy_array)`` to copy to
the device, NumPy scalars mixed with device arrays), so a correct CuPy program passes.

Every refusal raises :class:`DeviceDisciplineError` (a ``TypeError``, like CuPy's) and is also
kept in :data:`violations`, so a function that swallows the exception is caught anyway.

Self-contained (NumPy and the standard library only): the sandbox child loads this file by
path, as it loads the wire format. So it is one file, longer than the kit's other modules may
be (about 500 lines): the device array, the module and their refusals cannot be split into
modules of their own.
"""

from __future__ import annotations

import operator
import sys
import types
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

ADVICE = (
    "create arrays with xp = get_array_module(x) (xp.zeros, xp.empty_like, xp.asarray, ...) "
    "and keep the work in xp; never np. inside the function"
)

operations = 0
"""Device operations since the last :func:`clear_violations`: every device array an operation
made, plus every write into one. On a GPU each is (at least) one kernel launch."""

element_steps = 0
"""Single-element reads and writes of device arrays (``x[i, j]``, ``float(x[i])``,
``out[n, c, i, j] = v``, iteration) since the last :func:`clear_violations`. Vectorized code
makes a handful (a ``bool(xp.any(...))`` check); a Python loop over elements makes one per
element, each a kernel launch or a device-to-host copy on a GPU."""
COUNTERS = ("operations", "element_steps")
"""The module's names that change while it is used (the rest must not)."""
BENIGN_NAMES = frozenset({*COUNTERS, "__warningregistry__"})
"""Names of the module that change without anyone tampering with it: the counters, and the
registry that Python's warnings machinery adds to the globals of the module whose frame issued
a warning (NumPy's floating-point warnings, ``overflow encountered in exp``, are issued from the
simulator's frames: its ufunc and function wrappers)."""
ELEMENT_STEP_BUDGET = 64
"""More single-element steps than this in one call is a loop over array elements."""

violations: list[str] = []
"""Messages of the refusals since the last :func:`clear_violations` (the sandbox checks it after
each call)."""


class DeviceDisciplineError(TypeError):
    """Host (NumPy) memory met device memory where CuPy would refuse it."""


def state() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """What the simulator's refusals rest on: its module's names (but :data:`BENIGN_NAMES`) and
    the attributes of its array and ufunc classes, each with the object it is bound to.

    Take it before any student code runs and compare a later one with :func:`changes`.
    """
    names = {k: v for k, v in globals().items() if k not in BENIGN_NAMES}
    return names, dict(vars(ndarray)), dict(vars(_DeviceUfunc))


def changes(before: tuple[dict[str, Any], ...], after: tuple[dict[str, Any], ...]) -> list[str]:
    """The names bound, rebound or deleted between two :func:`state` results (compared by
    identity, so an impostor that claims equality is caught): ``["ndarray.__array__"]``."""
    found = []
    for prefix, old, new in zip(("", "ndarray.", "_DeviceUfunc."), before, after, strict=True):
        for name in sorted(old.keys() | new.keys()):
            if name not in old or name not in new or old[name] is not new[name]:
                found.append(prefix + name)
    return found


def clear_violations() -> None:
    global operations, element_steps
    del violations[:]
    operations = element_steps = 0


def _element_step() -> None:
    global element_steps
    element_steps += 1
    if element_steps == ELEMENT_STEP_BUDGET + 1:
        violations.append(
            f"device discipline: more than {ELEMENT_STEP_BUDGET} single elements of device "
            "arrays were read or written one at a time in one call (a Python loop over "
            "examples, channels or pixels). On a GPU each step is a kernel launch or a copy to "
            "the host, thousands of times slower than one operation on whole arrays: "
            "vectorize (broadcasting, xp.einsum, xp.add.at, sliding windows)"
        )


def _refuse(message: str, cupy_refuses: bool = True) -> DeviceDisciplineError:
    consequence = (
        "On a GPU this fails with CuPy too"
        if cupy_refuses
        else "On a GPU this is a slow copy to the host, and the NumPy array it gives cannot "
        "meet device arrays"
    )
    text = f"device discipline: {message}. {consequence}: {ADVICE}"
    violations.append(text)
    return DeviceDisciplineError(text)


def _described(value: Any) -> str:
    return f"a NumPy array of shape {value.shape} (host memory)"


# ------------------------------------------------------------------------ wrapping values


def _wrap(value: Any) -> Any:
    """NumPy results as device values: arrays and NumPy scalars become device arrays, random
    generators draw device arrays (as ``cupy.random.default_rng``'s do)."""
    kind = type(value)
    if kind is np.ndarray:
        return _from_numpy(value)
    if isinstance(value, np.random.Generator):
        return _DeviceGenerator(value)
    if isinstance(value, np.generic) and not isinstance(value, np.object_ | np.str_ | np.bytes_):
        return _from_numpy(np.asarray(value))
    if kind is tuple or kind is list:
        return kind(_wrap(item) for item in value)
    return value


def _unwrap(value: Any, where: str) -> Any:
    """Device arrays (in lists and tuples too) as their NumPy data; NumPy arrays refused."""
    kind = type(value)
    if kind is ndarray:
        return value._data
    if kind is np.ndarray:
        raise _refuse(f"{_described(value)} was passed to {where} together with device arrays")
    if kind is tuple or kind is list:
        return kind(_unwrap(item, where) for item in value)
    return value


def _unwrap_key(key: Any) -> Any:
    """An index: device arrays as their data; NumPy index arrays allowed, as in CuPy."""
    kind = type(key)
    if kind is ndarray:
        return key._data
    if kind is tuple:
        return tuple(_unwrap_key(item) for item in key)
    return key


def _is_single_element(key: Any, ndim: int) -> bool:
    """Whether ``key`` picks one element: as many plain ints as dimensions."""
    items = key if type(key) is tuple else (key,)
    return len(items) == ndim and all(isinstance(i, int | np.integer) for i in items)


def _is_advanced(key: Any) -> bool:
    items = key if type(key) is tuple else (key,)
    return any(type(item) in (ndarray, np.ndarray, list) for item in items)


def _from_numpy(data: np.ndarray) -> ndarray:
    global operations
    operations += 1
    array = object.__new__(ndarray)
    array._data = data
    return array


def _host_read(convert: Callable[[np.ndarray], Any]) -> Callable[[ndarray], Any]:
    """A conversion of a device array read on the host (``float(s)``): one element step."""

    def read(self: ndarray) -> Any:
        _element_step()
        return convert(self._data)

    return read


# ------------------------------------------------------------------------ the device array


class ndarray(NDArrayOperatorsMixin):
    """An array in (simulated) device memory: NumPy data that refuses to meet host arrays.

    ``ndarray(shape, dtype=float)`` makes an uninitialised array, as ``cupy.ndarray`` does.
    Attributes such as ``shape``, ``dtype``, ``ndim``, ``size`` and ``strides`` and methods such
    as ``reshape``, ``transpose``, ``sum``, ``astype`` and ``copy`` behave as NumPy's; methods
    return device arrays.
    """

    __slots__ = ("_data",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, shape: Any, dtype: Any = float, order: str = "C") -> None:
        self._data = np.empty(shape, dtype=dtype, order=order)

    # --- NumPy's protocols: ufuncs and functions on device arrays stay on the device
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        where = f"numpy.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        args = [_unwrap(value, where) for value in inputs]
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(value, where) for value in out)
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else tuple(out)
        return None if method == "at" else _wrap(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        where = f"numpy.{func.__name__}"
        return _wrap(func(*_unwrap(args, where), **_unwrap_dict(kwargs, where)))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise _refuse(
            f"a device array of shape {self.shape} was converted to a NumPy array "
            "(np.asarray, np.array, or mixing it into a NumPy array)"
        )

    # --- what CuPy offers on top of NumPy
    def get(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise _refuse(
            f"x.get() copied a device array of shape {self.shape} to the host "
            "(a slow transfer that gives a NumPy array)",
            cupy_refuses=False,
        )

    # --- attributes and methods as NumPy's, results on the device
    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @shape.setter
    def shape(self, value: Any) -> None:
        self._data.shape = value

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def T(self) -> ndarray:
        return _from_numpy(self._data.T)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._data, name)
        if callable(value):
            return _device_method(value, f"ndarray.{name}")
        return _wrap(value)

    def __getitem__(self, key: Any) -> Any:
        value = self._data[_unwrap_key(key)]
        if not isinstance(value, np.ndarray) or value.ndim == 0:
            _element_step()
        return _wrap(value)

    def __setitem__(self, key: Any, value: Any) -> None:
        global operations
        operations += 1
        if _is_single_element(key, self._data.ndim):
            _element_step()
        if type(value) is np.ndarray and value.ndim > 0 and not _is_advanced(key):
            raise _refuse(f"{_described(value)} was assigned into a device array")
        self._data[_unwrap_key(key)] = value._data if type(value) is ndarray else value

    def __len__(self) -> int:
        return len(self._data)

    def __iter__(self) -> Any:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._data)))

    __bool__ = _host_read(bool)
    __float__ = _host_read(float)
    __int__ = _host_read(int)
    __index__ = _host_read(operator.index)
    __complex__ = _host_read(complex)

    def item(self, *args: Any) -> Any:
        _element_step()
        return self._data.item(*args)

    def __repr__(self) -> str:
        return repr(self._data).replace("array(", "device_array(", 1)

    def __str__(self) -> str:
        return str(self._data)

    def __format__(self, spec: str) -> str:
        return format(self._data if self._data.ndim else self._data.item(), spec)

    def __copy__(self) -> ndarray:
        return _from_numpy(self._data.copy())

    def __deepcopy__(self, memo: Any) -> ndarray:
        return _from_numpy(self._data.copy())


class _DeviceGenerator:
    """A NumPy ``Generator`` whose draws are device arrays (``xp.random.default_rng(seed)``)."""

    def __init__(self, generator: np.random.Generator) -> None:
        self._generator = generator

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._generator, name)
        return _device_method(value, f"Generator.{name}") if callable(value) else value


def _unwrap_dict(kwargs: dict[str, Any], where: str) -> dict[str, Any]:
    return {key: _unwrap(value, where) for key, value in kwargs.items()}


def _device_method(method: Callable[..., Any], where: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        return _wrap(method(*_unwrap(args, where), **_unwrap_dict(kwargs, where)))

    return call


# ------------------------------------------------------------------------ the module


def _ufunc_method(method: str) -> Callable[..., Any]:
    """The ufunc method ``method`` (``__call__``, ``at``, ``reduce``, ...) of a device ufunc."""

    def run(self: _DeviceUfunc, *args: Any, **kwargs: Any) -> Any:
        return self._run(method, args, kwargs)

    run.__name__ = method
    return run


class _DeviceUfunc:
    """A NumPy ufunc whose inputs must be device arrays or scalars (``xp.add``, ``xp.exp``)."""

    def __init__(self, ufunc: np.ufunc) -> None:
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def _run(self, method: str, args: Any, kwargs: dict[str, Any]) -> Any:
        where = f"xp.{self._ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        checked = [args[0], *args[2:]] if method == "at" and args else list(args)  # as CuPy,
        for value in [*checked, *kwargs.values()]:  # .at takes NumPy index arrays
            for item in value if type(value) is tuple else (value,):
                if type(item) is np.ndarray:
                    raise _refuse(f"{_described(item)} was passed to {where}")
        if method == "at":
            target, *rest = args
            if type(target) is not ndarray:
                raise _refuse(f"{where} was given a target that is not a device array")
            self._ufunc.at(target._data, _unwrap_key(rest[0]), *_unwrap(tuple(rest[1:]), where))
            return None
        if not any(type(value) is ndarray for value in args):  # scalars only: as CuPy
            return _wrap(getattr(self._ufunc, method)(*args, **kwargs))
        return getattr(self._ufunc, method)(*args, **kwargs)  # through __array_ufunc__

    __call__ = _ufunc_method("__call__")
    at = _ufunc_method("at")
    reduce = _ufunc_method("reduce")
    accumulate = _ufunc_method("accumulate")
    reduceat = _ufunc_method("reduceat")
    outer = _ufunc_method("outer")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ufunc, name)

    def __repr__(self) -> str:
        return f"<device ufunc '{self._ufunc.__name__}'>"


def _device_function(function: Callable[..., Any], where: str) -> Callable[..., Any]:
    """A NumPy function on device arrays: NumPy arrays among the inputs refused, results on the
    device."""

    call = _device_method(function, where)
    call.__name__ = getattr(function, "__name__", where)
    call.__doc__ = getattr(function, "__doc__", None)
    return call


def _device_data(value: Any) -> Any:
    """Device arrays (in lists and tuples too) as their data; everything else as it is."""
    kind = type(value)
    if kind is ndarray:
        return value._data
    if kind is tuple or kind is list:
        return kind(_device_data(item) for item in value)
    return value


def _to_device(value: Any, dtype: Any = None, order: Any = None) -> ndarray:
    """``xp.asarray``: an explicit copy to the device (NumPy input allowed, and copied)."""
    if type(value) is ndarray and (dtype is None or np.dtype(dtype) == value.dtype):
        return value if order is None else _from_numpy(np.asarray(value._data, order=order))
    data = np.array(_device_data(value), dtype=dtype, order=order or "K", copy=True)
    return _from_numpy(data)


def _array(value: Any, dtype: Any = None, copy: bool = True, order: Any = "K", **_: Any) -> ndarray:
    """``xp.array``: a device array holding a copy of ``value`` (unless ``copy=False``)."""
    if not copy:
        return _to_device(value, dtype)
    return _from_numpy(np.array(_device_data(value), dtype=dtype, order=order, copy=True))


def _asnumpy(value: Any, *args: Any, **kwargs: Any) -> np.ndarray:
    if type(value) is ndarray:
        raise _refuse(
            f"xp.asnumpy copied a device array of shape {value.shape} to the host "
            "(a slow transfer that gives a NumPy array)",
            cupy_refuses=False,
        )
    return np.asarray(value)


HOST_FUNCTIONS = frozenset(
    {
        "shape",
        "ndim",
        "size",
        "result_type",
        "promote_types",
        "can_cast",
        "min_scalar_type",
        "isscalar",
        "broadcast_shapes",
        "iscomplexobj",
        "isrealobj",
    }
)
"""Functions whose results describe arrays (shapes, dtypes, flags) rather than hold data."""


class _DeviceNamespace(types.ModuleType):
    """NumPy's namespace (or one of its submodules) with device results."""

    def __init__(self, name: str, numpy_module: Any) -> None:
        super().__init__(name)
        self._numpy = numpy_module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            value = getattr(self._numpy, name)
        except AttributeError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None
        if isinstance(value, np.ufunc):
            wrapped: Any = _DeviceUfunc(value)
        elif isinstance(value, types.ModuleType):
            wrapped = _DeviceNamespace(f"{self.__name__}.{name}", value)
        elif isinstance(value, type) or not callable(value) or name in HOST_FUNCTIONS:
            wrapped = value  # dtypes (xp.float32), constants (xp.inf, xp.newaxis), shapes
        else:
            wrapped = _device_function(value, f"xp.{name}")
        setattr(self, name, wrapped)
        return wrapped


def get_array_module(*arrays: Any) -> Any:
    """This module when any argument is a device array, else NumPy (as ``cupy``'s)."""
    for value in arrays:
        if type(value) is ndarray:
            return cupy
    return np


cupy = _DeviceNamespace("cupy", np)
"""The module installed as ``cupy`` in the sandbox when the ``strict`` backend is in use."""
cupy.ndarray = ndarray
cupy.get_array_module = get_array_module
cupy.asarray = _to_device
cupy.asanyarray = _to_device
cupy.ascontiguousarray = lambda value, dtype=None: _from_numpy(  # type: ignore[attr-defined]
    np.ascontiguousarray(_device_data(value), dtype=dtype)
)
cupy.array = _array
cupy.asnumpy = _asnumpy
cupy.DeviceDisciplineError = DeviceDisciplineError
cupy.__file__ = __file__
cupy.__version__ = "strict device simulator"


def to_device(array: np.ndarray) -> ndarray:
    """A NumPy array's data as a device array (shares the data: no copy)."""
    return _from_numpy(array)


def to_host(value: ndarray) -> np.ndarray:
    """A device array's data as a NumPy array (shares the data: no copy)."""
    return value._data


def install() -> None:
    """Make ``import cupy`` and ``from cupy import get_array_module`` give :data:`cupy`."""
    sys.modules["cupy"] = cupy
