"""The sandbox's data-only wire format: round trips, and refusal of anything forged."""

from __future__ import annotations

import io
import pickle
import struct

import numpy as np
import pytest

from autograder.sandbox import wire
from autograder.sandbox.wire import WireError, decode, encode, parse_npy

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
DTYPES += ["float16", "float32", "float64"]


def roundtrip(value):
    tree, blobs = encode(value)
    frame = b"".join(wire.frame(wire.pack_message({"value": tree}, blobs)))
    (payload,) = list(wire.iter_frames(frame, 1 << 30))
    header, got_blobs = wire.unpack_message(payload)
    return decode(header["value"], got_blobs)


def assert_same(a, b):
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()
        assert a.flags.writeable
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, float) and a != a:
        assert b != b
    else:
        assert a == b


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**100,
        1.5,
        -0.0,
        float("inf"),
        float("nan"),
        "",
        "héllo\n\x00",
        [],
        (),
        {},
        [1, (2.0, "x"), {"a": None}],
        {"nested": {"deeper": [(), [()]]}},
    ],
)
def test_scalars_and_containers_round_trip(value):
    got = roundtrip(value)
    assert_same(value, got)
    if isinstance(value, float) and value == 0:
        assert str(got) == str(value)


@pytest.mark.parametrize("dtype", DTYPES)
def test_arrays_of_every_dtype_round_trip(dtype):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((2, 3, 4)) * 50).astype(dtype)
    assert_same(array, roundtrip(array))
    scalar = array.reshape(-1)[5]
    got = roundtrip(scalar)
    assert type(got) is type(scalar) and got == scalar


@pytest.mark.parametrize("shape", [(), (0,), (3, 0, 2), (1,), (2, 3, 4, 5)])
def test_array_shapes_round_trip(shape):
    array = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
    assert_same(array, roundtrip(array))


def test_non_contiguous_fortran_and_big_endian_arrays():
    base = np.arange(24.0).reshape(4, 6)
    for array in (base[:, ::2], base.T, np.asfortranarray(base)):
        got = roundtrip(array)
        assert np.array_equal(got, array) and got.dtype == array.dtype
    big = np.arange(5, dtype=">i4")
    got = roundtrip(big)
    assert got.dtype == np.dtype("<i4") and np.array_equal(got, big)


def test_nan_payloads_and_negative_zero_are_bit_exact():
    array = np.array([np.nan, -0.0, np.inf, -np.inf, 1e-310])
    assert roundtrip(array).tobytes() == array.tobytes()


def test_npy_blobs_are_standard_npy_files():
    array = np.arange(12, dtype=np.int32).reshape(3, 4)
    loaded = np.load(io.BytesIO(wire.npy_bytes(array)), allow_pickle=False)
    assert np.array_equal(loaded, array)
    saved = io.BytesIO()
    np.save(saved, array)
    assert np.array_equal(parse_npy(saved.getvalue()), array)


def test_decoded_arrays_do_not_share_the_message_buffer():
    tree, blobs = encode(np.ones(4))
    buffer = bytearray(blobs[0])
    array = decode(tree, [buffer])
    buffer[-8:] = b"\0" * 8
    assert array[-1] == 1.0


# ---------------------------------------------------------------- encode refuses


class SubArray(np.ndarray):
    def __array_ufunc__(self, *args, **kwargs):
        return True


class Duck:
    def __array_function__(self, *args, **kwargs):
        return True

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class FloatSub(float):
    pass


@pytest.mark.parametrize(
    "value",
    [
        np.zeros(3).view(SubArray),
        np.ma.masked_array([1.0, 2.0]),
        np.array([1, "a"], dtype=object),
        np.array([1 + 2j]),
        np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f8")]),
        np.array(["abc"]),
        np.array([b"abc"]),
        np.array([1, 2], dtype="datetime64[D]"),
        np.longdouble(1.0),
        np.complex128(1j),
        Duck(),
        FloatSub(1.0),
        {1: "int key"},
        {1.5},
        b"bytes",
        bytearray(b"x"),
        object(),
        [np.zeros(2), [Duck()]],
    ],
    ids=lambda v: type(v).__name__,
)
def test_encode_refuses_non_wire_values(value):
    with pytest.raises(WireError):
        encode(value)


def test_encode_names_where_the_bad_value_sits():
    with pytest.raises(WireError, match=r"value\[1\]\['w'\] is a <class '.*Duck'>"):
        encode([1, {"w": Duck()}])


def test_encode_caps_depth_nodes_strings_and_bytes():
    deep: list = []
    for _ in range(wire.MAX_DEPTH + 2):
        deep = [deep]
    with pytest.raises(WireError, match="deeper"):
        encode(deep)
    loop: list = []
    loop.append(loop)
    with pytest.raises(WireError):
        encode(loop)
    with pytest.raises(WireError, match="more than"):
        encode([0] * (wire.MAX_NODES + 1))
    with pytest.raises(WireError, match="longer"):
        encode("x" * (wire.MAX_STR + 1))
    with pytest.raises(WireError, match="larger than"):
        encode([np.zeros(100), np.zeros(100)], max_bytes=1000)
    with pytest.raises(WireError, match="digits"):
        encode(10**5000)


# ---------------------------------------------------------------- decode refuses


def npy(header: str, payload: bytes = b"", version: bytes = b"\x01\x00") -> bytes:
    text = header + "\n"
    return b"\x93NUMPY" + version + struct.pack("<H", len(text)) + text.encode() + payload


GOOD = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }"


def test_hand_made_header_is_accepted():
    assert np.array_equal(parse_npy(npy(GOOD, np.ones(2).tobytes())), np.ones(2))


@pytest.mark.parametrize(
    ("blob", "why"),
    [
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"), "exceeds"),
        (
            npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }", b"x"),
            "exceeds",
        ),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", b"\0" * 16), "needs"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", b"\0" * 8), "non-neg"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (True,), }", b"\0" * 8), "non-neg"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': [2], }", b"\0" * 16), "exactly"),
        (npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8), "not allowed"),
        (
            npy(
                "{'descr': '|O', 'fortran_order': False, 'shape': (), }",
                pickle.dumps(np.ones(2)),
            ),
            "not allowed",
        ),
        (npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", b"\0" * 16), "allowed"),
        (npy("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,), }"), "exactly"),
        (npy("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }", b"\0" * 8), "fortran"),
        (
            npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", b"\0" * 8),
            "exactly",
        ),
        (npy("{'descr': '<f8', 'shape': (1,)}", b"\0" * 8), "exactly"),
        (npy("__import__('os').system('true')", b""), "exactly"),
        (npy("[1, 2]", b""), "exactly"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3), }", b"\0" * 24), "tuple"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,,3), }", b"\0" * 48), "tuple"),
        (npy(GOOD, np.ones(2).tobytes(), version=b"\x02\x00"), "version"),
        (npy(GOOD, np.ones(2).tobytes())[:20], "truncated"),
        (npy(GOOD, np.ones(2).tobytes())[:-1], "needs"),
        (b"\x93NUMPX" + npy(GOOD)[6:], "magic"),
        (pickle.dumps(np.ones(2)), "magic"),
        (b"", "magic"),
        (npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", b"\x01\x07"), "bool"),
        (npy("{'descr': '<f8', 'fortran_order': False, 'shape': " + "(" * 300 + ")}"), "exactly"),
        (
            npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", b"\0" * 16)[:-17],
            "truncated",
        ),
    ],
)
def test_forged_npy_is_rejected(blob, why):
    with pytest.raises(WireError, match=why):
        parse_npy(blob)


def test_header_without_newline_and_overlong_header():
    text = GOOD.encode()
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + np.ones(2).tobytes()
    with pytest.raises(WireError):
        parse_npy(blob)
    long = "{" + " " * 5000 + "}\n"
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(long)) + long.encode()
    with pytest.raises(WireError, match="too long"):
        parse_npy(blob)


def test_size_cap_applies_before_allocation():
    blob = wire.npy_bytes(np.zeros(1000))
    with pytest.raises(WireError, match="exceeds"):
        parse_npy(blob, max_bytes=100)


@pytest.mark.parametrize(
    "tree",
    [
        {"A": 1},
        {"A": -1},
        {"A": True},
        {"A": "0"},
        {"L": [{"A": 0}, {"A": 0}]},
        {"X": 1},
        {"L": 1, "T": 2},
        {"L": {"a": 1}},
        {"D": [1, 2]},
        {"S": 0},
        [1, 2],
    ],
)
def test_decode_rejects_malformed_trees(tree):
    blobs = [wire.npy_bytes(np.zeros(3))]
    with pytest.raises(WireError):
        decode(tree, blobs)


def test_every_blob_must_be_used_exactly_once():
    blob = wire.npy_bytes(np.zeros(3))
    with pytest.raises(WireError, match="does not use"):
        decode(None, [blob])
    with pytest.raises(WireError, match="twice"):
        decode({"L": [{"A": 0}] * 1000}, [blob])


def test_decode_caps_depth_and_nodes():
    deep = None
    for _ in range(wire.MAX_DEPTH + 2):
        deep = {"L": [deep]}
    with pytest.raises(WireError, match="deeper"):
        decode(deep, [])
    with pytest.raises(WireError, match="more than"):
        decode({"L": [0] * (wire.MAX_NODES + 1)}, [])


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x05\x00\x00\x00{}",
        struct.pack("<I", 2) + b"{}" + struct.pack("<I", 1) + struct.pack("<Q", 10**12),
        struct.pack("<I", 2) + b"{}" + struct.pack("<I", 0) + b"trailing",
        struct.pack("<I", 2) + b"[]" + struct.pack("<I", 0),
        struct.pack("<I", 3) + b"{x}" + struct.pack("<I", 0),
        struct.pack("<I", 12) + b'{"a":1}' + struct.pack("<I", 0),
        struct.pack("<I", 2010) + b'{"a":' + b"9" * 2004 + b"}" + struct.pack("<I", 0),
        struct.pack("<I", 4000) + b"[" * 4000 + struct.pack("<I", 0),
        struct.pack("<I", 2) + b"{}" + struct.pack("<I", 2**31),
    ],
)
def test_unpack_message_rejects_garbage(payload):
    with pytest.raises(WireError):
        wire.unpack_message(payload)


def test_frame_reader_rejects_bad_magic_and_oversize():
    reader = wire.FrameReader(max_frame=100)
    with pytest.raises(WireError, match="magic"):
        reader.feed_head(b"HTTP/1.1 200")
    reader = wire.FrameReader(max_frame=100)
    with pytest.raises(WireError, match="exceeds"):
        reader.feed_head(wire.FRAME_HEAD.pack(wire.FRAME_MAGIC, 10**15))


def test_frame_reader_reassembles_split_frames():
    data = wire.message_frame({"event": "x"}, np.arange(5.0), with_value=True)
    reader = wire.FrameReader(max_frame=1 << 20)
    payload = None
    position = 0
    while payload is None:
        target = reader.buffer()
        if target is None:
            count = reader.wanted()
            payload = reader.feed_head(data[position : position + count])
        else:
            count = min(3, len(target))
            target[:count] = data[position : position + count]
            payload = reader.advanced(count)
        position += count
    header, blobs = wire.unpack_message(payload)
    assert np.array_equal(decode(header["value"], blobs), np.arange(5.0))
