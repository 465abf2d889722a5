"""The data-only format between the grader and the sandboxed child: values, arrays, frames.

Depends on numpy and the standard library only: the child loads this file by path (it never
imports the ``autograder`` package), so both sides share one implementation of the format.

Wire values are ``None``, ``bool``, ``int``, ``float``, ``str``, ``numpy.ndarray`` (exact type,
dtype bool/int/uint/float), numpy scalars of those dtypes, and ``list``/``tuple``/``dict`` (str
keys) nesting of them. Every type check is exact (``type(x) is ...``): subclasses, duck types
and object arrays are refused on both sides.

A value is encoded as a JSON tree plus a list of ``.npy`` blobs. Scalars stay JSON scalars;
containers and arrays become one-key objects::

    {"L": [...]}  list        {"T": [...]}  tuple        {"D": {"key": ...}}  dict
    {"A": i}      ndarray i   {"S": i}      numpy scalar (a 0-d array blob)

Each blob is a version 1.0 ``.npy`` file (little-endian, whitelisted dtype). The reader parses
and validates the header itself (magic, version, exactly the keys descr/fortran_order/shape,
dtype in the whitelist, shape of non-negative ints whose size matches the payload, size cap),
then builds the array with ``numpy.frombuffer``: never pickle, never ``np.load`` on untrusted
bytes. Each blob must be referenced exactly once, so a small message cannot expand.

A message is ``u32 json length | json | u32 blob count | (u64 length | blob)*``; a frame on a
pipe is ``b"AGS1" | u64 payload length | payload``.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Iterator
from typing import Any

import numpy as np

FRAME_MAGIC = b"AGS1"
FRAME_HEAD = struct.Struct("<4sQ")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")

NPY_MAGIC = b"\x93NUMPY"
NPY_HEADER_MAX = 4096
NPY_HEADER = re.compile(
    r"\{'descr': '([^']{1,8})', 'fortran_order': (True|False), 'shape': \(([^()]{0,400})\),? ?\}"
)
"""The only header text accepted: what numpy (and :func:`npy_bytes`) write, parsed without eval."""
ALLOWED_DESCR = frozenset(
    {"|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8"}
)
SCALAR_TYPES = {
    np.bool_: "|b1",
    np.int8: "|i1",
    np.int16: "<i2",
    np.int32: "<i4",
    np.int64: "<i8",
    np.uint8: "|u1",
    np.uint16: "<u2",
    np.uint32: "<u4",
    np.uint64: "<u8",
    np.float16: "<f2",
    np.float32: "<f4",
    np.float64: "<f8",
}

MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_STR = 1 << 20
MAX_INT_DIGITS = 1000
MAX_NDIM = 32
MAX_JSON = 16 << 20
DEFAULT_MAX_BYTES = 256 << 20

TAGS = ("L", "T", "D", "A", "S")


class WireError(ValueError):
    """A value that is not a wire value, or bytes that are not a valid message."""


# ---------------------------------------------------------------- values <-> tree + blobs


def encode(value: Any, *, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Any, list[bytearray]]:
    """Encode a wire value as ``(json tree, npy blobs)``.

    Raises:
        WireError: ``value`` (or something inside it) is not a wire value, nests deeper than
            ``MAX_DEPTH``, has more than ``MAX_NODES`` parts, or its arrays exceed ``max_bytes``.
            The message names the offending type and where it sits (``value[1]['w']``).
    """
    blobs: list[bytearray] = []
    state = {"nodes": 0, "bytes": 0}
    tree = _encode(value, "value", 0, blobs, state, max_bytes)
    return tree, blobs


def _encode(
    value: Any, where: str, depth: int, blobs: list[bytearray], state: dict[str, int], cap: int
) -> Any:
    state["nodes"] += 1
    if state["nodes"] > MAX_NODES:
        raise WireError(f"more than {MAX_NODES} values nested in one result")
    if depth > MAX_DEPTH:
        raise WireError(f"{where} nests deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind is bool or kind is float:
        return value
    if kind is int:
        if value.bit_length() > MAX_INT_DIGITS * 3:
            raise WireError(f"{where} is an integer with more than {MAX_INT_DIGITS} digits")
        return value
    if kind is str:
        if len(value) > MAX_STR:
            raise WireError(f"{where} is a string longer than {MAX_STR} characters")
        return value
    if kind is list or kind is tuple:
        items = [
            _encode(item, f"{where}[{i}]", depth + 1, blobs, state, cap)
            for i, item in enumerate(value)
        ]
        return {"L" if kind is list else "T": items}
    if kind is dict:
        body = {}
        for key, item in value.items():
            if type(key) is not str:
                raise WireError(f"{where} is a dict with a key of {type(key)!r}; keys must be str")
            body[key] = _encode(item, f"{where}[{key!r}]", depth + 1, blobs, state, cap)
        return {"D": body}
    if kind is np.ndarray:
        blob = npy_bytes(value, where)
        tag = "A"
    elif kind in SCALAR_TYPES:
        blob = npy_bytes(np.array(value, dtype=SCALAR_TYPES[kind]), where)
        tag = "S"
    else:
        raise WireError(f"{where} is a {kind!r}")
    state["bytes"] += len(blob)
    if state["bytes"] > cap:
        raise WireError(f"arrays larger than {cap} bytes in total")
    blobs.append(blob)
    return {tag: len(blobs) - 1}


def decode(
    tree: Any, blobs: list[bytes], *, max_bytes: int = DEFAULT_MAX_BYTES, copy: bool = True
) -> Any:
    """Rebuild the value of ``encode``; validates everything (the bytes may be hostile).

    ``copy=False``: arrays are views of the blobs' memory (writable where it is), not copies.

    Raises:
        WireError: an unknown node, too deep or too many nodes, a blob referenced twice or
            never, an invalid ``.npy`` blob, or arrays over ``max_bytes`` in total.
    """
    used = [False] * len(blobs)
    if sum(len(b) for b in blobs) > max_bytes:
        raise WireError(f"arrays larger than {max_bytes} bytes in total")
    counter = [0]
    value = _decode(tree, blobs, used, 0, counter, max_bytes, copy)
    if not all(used):
        raise WireError("a message carries arrays that its value does not use")
    return value


def _decode(
    node: Any,
    blobs: list[bytes],
    used: list[bool],
    depth: int,
    counter: list[int],
    cap: int,
    copy: bool = True,
) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise WireError(f"more than {MAX_NODES} values in one message")
    if depth > MAX_DEPTH:
        raise WireError(f"nested deeper than {MAX_DEPTH} levels")
    kind = type(node)
    if node is None or kind is bool or kind is float or kind is int:
        return node
    if kind is str:
        if len(node) > MAX_STR:
            raise WireError("a string longer than the limit")
        return node
    if kind is not dict or len(node) != 1:
        raise WireError(f"unexpected node of {kind.__name__} in a message")
    ((tag, body),) = node.items()
    if tag in ("L", "T"):
        if type(body) is not list:
            raise WireError(f"a {tag!r} node without a list")
        items = [_decode(item, blobs, used, depth + 1, counter, cap, copy) for item in body]
        return items if tag == "L" else tuple(items)
    if tag == "D":
        if type(body) is not dict:
            raise WireError("a 'D' node without an object")
        return {
            key: _decode(item, blobs, used, depth + 1, counter, cap, copy)
            for key, item in body.items()
        }
    if tag in ("A", "S"):
        if type(body) is not int or not 0 <= body < len(blobs):
            raise WireError("an array reference out of range")
        if used[body]:
            raise WireError("an array referenced twice")
        used[body] = True
        array = parse_npy(blobs[body], max_bytes=cap, copy=copy)
        if tag == "A":
            return array
        if array.shape != ():
            raise WireError("a scalar whose array is not 0-dimensional")
        return array[()]
    raise WireError(f"unknown node tag {tag!r}")


# ---------------------------------------------------------------- .npy blobs


def npy_bytes(array: np.ndarray, where: str = "value") -> bytearray:
    """A version 1.0 ``.npy`` file of an exact ``numpy.ndarray`` with a whitelisted dtype."""
    if type(array) is not np.ndarray:
        raise WireError(f"{where} is a {type(array)!r}")
    dtype = array.dtype
    if dtype.kind not in "biuf" or dtype.fields is not None or dtype.subdtype is not None:
        raise WireError(f"{where} is an array of dtype {dtype}; use bool, int, uint or float")
    if dtype.byteorder == ">":
        dtype = dtype.newbyteorder("<")
        array = array.astype(dtype)
    descr = dtype.str
    if descr not in ALLOWED_DESCR:
        raise WireError(f"{where} is an array of dtype {array.dtype}; use bool, int, uint or float")
    if array.ndim > MAX_NDIM:
        raise WireError(f"{where} has more than {MAX_NDIM} dimensions")
    fortran = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    header = repr({"descr": descr, "fortran_order": fortran, "shape": tuple(array.shape)})
    # numpy pads the header to a multiple of 64 bytes and ends it with a newline
    total = len(NPY_MAGIC) + 2 + 2 + len(header) + 1
    header = header + " " * (-total % 64) + "\n"
    head = NPY_MAGIC + b"\x01\x00" + struct.pack("<H", len(header)) + header.encode()
    blob = bytearray(len(head) + array.nbytes)  # one copy of the data, straight into place
    blob[: len(head)] = head
    if array.size:
        target = np.frombuffer(blob, dtype=dtype, offset=len(head), count=array.size)
        target.reshape(array.shape, order="F" if fortran else "C")[...] = array
    return blob


def parse_npy(blob: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, copy: bool = True) -> np.ndarray:
    """Validate a ``.npy`` blob and return a fresh, writable array (never unpickles).

    ``copy=False``: the array is a view of the blob's memory instead (writable where that is).

    Raises:
        WireError: wrong magic or version, a header that is not exactly
            ``{'descr', 'fortran_order', 'shape'}``, a dtype outside the whitelist, a shape that
            is not a tuple of non-negative ints, a payload whose length differs from
            ``prod(shape) * itemsize``, more than ``max_bytes``, or bool bytes other than 0/1.
    """
    view = memoryview(blob)
    if len(view) < 10 or bytes(view[:6]) != NPY_MAGIC:
        raise WireError("not a .npy array (bad magic)")
    if bytes(view[6:8]) != b"\x01\x00":
        raise WireError(f"unsupported .npy version {tuple(view[6:8])}")
    (header_len,) = struct.unpack("<H", view[8:10])
    if header_len > NPY_HEADER_MAX or 10 + header_len > len(view):
        raise WireError(".npy header is truncated or too long")
    try:
        text = bytes(view[10 : 10 + header_len]).decode("ascii")
    except UnicodeDecodeError as error:
        raise WireError(".npy header is not ASCII") from error
    if not text.endswith("\n"):
        raise WireError(".npy header does not end with a newline")
    match = NPY_HEADER.fullmatch(text.rstrip(" \n"))
    if match is None:
        raise WireError(
            ".npy header must be exactly {'descr': ..., 'fortran_order': ..., 'shape': (...)}"
        )
    descr, fortran_text, shape_text = match.groups()
    if descr not in ALLOWED_DESCR:
        raise WireError(f".npy dtype {descr!r} is not allowed")
    fortran = fortran_text == "True"
    sizes = [part.strip() for part in shape_text.split(",")] if shape_text.strip() else []
    if sizes and sizes[-1] == "" and len(sizes) > 1:
        sizes.pop()  # "(3,)"
    if len(sizes) > MAX_NDIM:
        raise WireError(".npy shape must be a tuple of at most 32 sizes")
    if not all(part.isdigit() and part.isascii() for part in sizes) or (
        len(sizes) == 1 and not shape_text.rstrip().endswith(",")
    ):
        raise WireError(".npy shape must be a tuple of non-negative integers")
    shape = tuple(int(part) for part in sizes)
    dtype = np.dtype(descr)
    size = math.prod(shape) * dtype.itemsize
    payload = view[10 + header_len :]
    if size > max_bytes:
        raise WireError(f".npy array of {size} bytes exceeds the limit of {max_bytes}")
    if size != len(payload):
        raise WireError(f".npy shape {shape} needs {size} bytes but {len(payload)} came")
    if dtype.kind == "b" and size and np.frombuffer(payload, np.uint8).max() > 1:
        raise WireError(".npy bool array holds bytes other than 0 and 1")
    flat = np.frombuffer(payload, dtype=dtype)
    array = flat.reshape(shape, order="F" if fortran else "C")
    return np.array(array, copy=True, order="K") if copy else array


# ---------------------------------------------------------------- messages and frames


def pack_message(header: dict[str, Any], blobs: list[bytes] = ()) -> list[bytes]:  # type: ignore[assignment]
    """A message as a list of byte chunks (write them in order; see ``frame``)."""
    text = json.dumps(header, separators=(",", ":"), allow_nan=True).encode()
    chunks = [U32.pack(len(text)), text, U32.pack(len(blobs))]
    for blob in blobs:
        chunks.append(U64.pack(len(blob)))
        chunks.append(blob)
    return chunks


def frame(chunks: list[bytes]) -> list[bytes]:
    """Prefix a message's chunks with the frame magic and payload length."""
    return [FRAME_HEAD.pack(FRAME_MAGIC, sum(len(c) for c in chunks)), *chunks]


def message_frame(header: dict[str, Any], value: Any = None, *, with_value: bool = False) -> bytes:
    """One frame carrying ``header`` (and ``value`` under ``header["value"]``) as bytes."""
    blobs: list[bytes] = []
    if with_value:
        tree, blobs = encode(value)
        header = {**header, "value": tree}
    return b"".join(frame(pack_message(header, blobs)))


def _parse_int(text: str) -> int:
    if len(text) > MAX_INT_DIGITS:
        raise WireError("an integer with too many digits")
    return int(text)


def unpack_message(
    payload: bytes | bytearray | memoryview, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[dict[str, Any], list[bytes]]:
    """Split a message into its JSON header and its blobs (each blob is a memoryview).

    Raises:
        WireError: lengths that do not add up, JSON that is not an object, too large parts.
    """
    view = memoryview(payload)
    try:
        (json_len,) = U32.unpack_from(view, 0)
        if json_len > MAX_JSON or 4 + json_len + 4 > len(view):
            raise WireError("message header too long or truncated")
        text = bytes(view[4 : 4 + json_len])
        position = 4 + json_len
        (count,) = U32.unpack_from(view, position)
        position += 4
        if count > MAX_NODES:
            raise WireError("too many arrays in one message")
        blobs = []
        total = 0
        for _ in range(count):
            (length,) = U64.unpack_from(view, position)
            position += 8
            total += length
            if total > max_bytes or position + length > len(view):
                raise WireError("array data too long or truncated")
            blobs.append(view[position : position + length])
            position += length
    except struct.error as error:
        raise WireError("truncated message") from error
    if position != len(view):
        raise WireError("trailing bytes after a message")
    try:
        header = json.loads(text.decode("utf-8"), parse_int=_parse_int)
    except WireError:
        raise
    except (ValueError, RecursionError, MemoryError) as error:
        raise WireError(f"message header is not valid JSON: {error}") from error
    if type(header) is not dict:
        raise WireError("message header is not a JSON object")
    return header, blobs


class FrameReader:
    """Accumulates bytes from a pipe and yields complete frame payloads.

    Args:
        max_frame: the largest payload accepted; a bigger announced length is an error before
            any of it is buffered.
    """

    def __init__(self, max_frame: int) -> None:
        self.max_frame = max_frame
        self._head = bytearray()
        self._body: bytearray | None = None
        self._filled = 0

    def wanted(self) -> int:
        """How many bytes the current frame still needs (at least 1)."""
        if self._body is None:
            return FRAME_HEAD.size - len(self._head)
        return len(self._body) - self._filled

    def buffer(self) -> memoryview | None:
        """Where the next bytes of the current frame body go (for ``readv``), or None."""
        if self._body is None:
            return None
        return memoryview(self._body)[self._filled :]

    def advanced(self, count: int) -> bytearray | None:
        """Note ``count`` bytes written into ``buffer()``; return the payload once complete."""
        self._filled += count
        return self._complete()

    def feed_head(self, data: bytes) -> bytearray | None:
        """Feed bytes while no frame body is allocated (the 12-byte frame head)."""
        self._head += data
        if len(self._head) < FRAME_HEAD.size:
            return None
        magic, length = FRAME_HEAD.unpack(bytes(self._head[: FRAME_HEAD.size]))
        rest = bytes(self._head[FRAME_HEAD.size :])
        if magic != FRAME_MAGIC:
            raise WireError("garbage on the result channel (bad frame magic)")
        if length > self.max_frame:
            raise WireError(f"a message of {length} bytes exceeds the limit of {self.max_frame}")
        if rest:
            raise WireError("internal: head fed past the frame head")
        self._head = bytearray()
        self._body = bytearray(length)
        self._filled = 0
        return self._complete()

    def _complete(self) -> bytearray | None:
        if self._body is not None and self._filled == len(self._body):
            body, self._body = self._body, None
            return body
        return None


def iter_frames(data: bytes, max_frame: int) -> Iterator[bytes]:
    """Split a complete byte string into frame payloads (tests and simple readers)."""
    view = memoryview(data)
    position = 0
    while position < len(view):
        if len(view) - position < FRAME_HEAD.size:
            raise WireError("truncated frame head")
        magic, length = FRAME_HEAD.unpack_from(view, position)
        if magic != FRAME_MAGIC:
            raise WireError("bad frame magic")
        if length > max_frame:
            raise WireError("frame too long")
        position += FRAME_HEAD.size
        if position + length > len(view):
            raise WireError("truncated frame")
        yield bytes(view[position : position + length])
        position += length
