"""Hidden tests for blocks.py: every block against the reference, forward and backward."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.suite.compare import assert_close

pytestmark = [pytest.mark.assignment("blocks"), pytest.mark.visibility("after_published")]

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]


def _params(rng, shapes, dtype):
    return {
        k: (rng.standard_normal(s) / np.sqrt(np.prod(s[1:]) if len(s) > 1 else 4.0)).astype(dtype)
        for k, s in shapes.items()
    }


def _compare_block(student, reference, rng, name, x, params, **kw):
    got = getattr(student, f"{name}_forward")(x, params, **kw)
    want = getattr(reference, f"{name}_forward")(x, params, **kw)
    assert_close(got, want, name="out")
    dout = rng.standard_normal(want.shape).astype(x.dtype)
    got = getattr(student, f"{name}_backward")(dout, x, params, **kw)
    want = getattr(reference, f"{name}_backward")(dout, x, params, **kw)
    assert isinstance(got, tuple) and len(got) == 2, "backward returns (dx, grads)"
    assert_close(got[0], want[0], name="dx")
    assert isinstance(got[1], dict) and set(got[1]) == set(params), (
        f"grads must be a dict with the keys of params {sorted(params)}"
    )
    for key in params:
        assert_close(got[1][key], want[1][key], name=f"grads[{key!r}]")


def _bottleneck_shapes(c_in, c_mid, c_out, projection):
    shapes = {
        "w1": (c_mid, c_in, 1, 1), "b1": (c_mid,), "w2": (c_mid, c_mid, 3, 3), "b2": (c_mid,),
        "w3": (c_out, c_mid, 1, 1), "b3": (c_out,),
    }  # fmt: skip
    if projection:
        shapes.update(w_proj=(c_out, c_in, 1, 1), b_proj=(c_out,))
    return shapes


@pytest.mark.points(1.5)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "c_in, c_mid, c_out, stride, projection",
    [
        pytest.param(8, 2, 8, 1, False, id="identity"),
        pytest.param(4, 2, 8, 1, True, id="projection_widen"),
        pytest.param(6, 3, 6, 2, True, id="projection_stride2"),
        pytest.param(5, 2, 5, 1, True, id="projection_same_shape"),
    ],
)
def test_bottleneck(student, reference, rng, c_in, c_mid, c_out, stride, projection, dtype):
    x = rng.standard_normal((2, c_in, 7, 6)).astype(dtype)
    params = _params(rng, _bottleneck_shapes(c_in, c_mid, c_out, projection), dtype)
    _compare_block(student, reference, rng, "bottleneck", x, params, stride=stride)


@pytest.mark.points(1)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "c_in, widths",
    [
        pytest.param(3, (2, 2, 3, 1, 2, 4), id="small"),
        pytest.param(5, (4, 3, 2, 2, 3, 1), id="wide"),
    ],
)
def test_inception(student, reference, rng, c_in, widths, dtype):
    c1, c3r, c3, c5r, c5, cp = widths
    shapes = {
        "w1": (c1, c_in, 1, 1), "b1": (c1,), "w3r": (c3r, c_in, 1, 1), "b3r": (c3r,),
        "w3": (c3, c3r, 3, 3), "b3": (c3,), "w5r": (c5r, c_in, 1, 1), "b5r": (c5r,),
        "w5": (c5, c5r, 5, 5), "b5": (c5,), "wp": (cp, c_in, 1, 1), "bp": (cp,),
    }  # fmt: skip
    x = rng.standard_normal((2, c_in, 6, 5)).astype(dtype)
    _compare_block(student, reference, rng, "inception", x, _params(rng, shapes, dtype))


@pytest.mark.points(1.25)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "kernel, stride, padding",
    [pytest.param(3, 1, 1, id="k3_same"), pytest.param(5, 2, 2, id="k5_s2"),
     pytest.param(4, 2, 0, id="k4_s2_valid")],
)  # fmt: skip
def test_nin(student, reference, rng, kernel, stride, padding, dtype):
    shapes = {
        "w1": (4, 3, kernel, kernel), "b1": (4,), "w2": (4, 4, 1, 1), "b2": (4,),
        "w3": (4, 4, 1, 1), "b3": (4,),
    }  # fmt: skip
    x = rng.standard_normal((2, 3, 9, 8)).astype(dtype)
    _compare_block(
        student, reference, rng, "nin", x, _params(rng, shapes, dtype), stride=stride,
        padding=padding,
    )  # fmt: skip


@pytest.mark.points(2)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "kernel, stride", [pytest.param(3, 1, id="k3"), pytest.param(3, 2, id="k3_s2"),
                       pytest.param(5, 1, id="k5")]
)  # fmt: skip
def test_depthwise_separable_block(student, reference, rng, kernel, stride, dtype):
    shapes = {"w_dw": (4, 1, kernel, kernel), "b_dw": (4,), "w_pw": (6, 4, 1, 1), "b_pw": (6,)}
    x = rng.standard_normal((2, 4, 7, 8)).astype(dtype)
    _compare_block(
        student, reference, rng, "depthwise_separable_block", x, _params(rng, shapes, dtype),
        stride=stride,
    )  # fmt: skip


@pytest.mark.points(1.25)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("factor", [1, 2, 4])
def test_fpn_merge(student, reference, rng, factor, dtype):
    top = rng.standard_normal((2, 4, 3, 2)).astype(dtype)
    lateral = rng.standard_normal((2, 5, 3 * factor, 2 * factor)).astype(dtype)
    w = (0.4 * rng.standard_normal((4, 5, 1, 1))).astype(dtype)
    b = rng.standard_normal(4).astype(dtype)
    assert_close(
        student.fpn_merge_forward(top, lateral, w, b),
        reference.fpn_merge_forward(top, lateral, w, b),
    )
    dout = rng.standard_normal((2, 4, 3 * factor, 2 * factor)).astype(dtype)
    got = student.fpn_merge_backward(dout, top, lateral, w)
    want = reference.fpn_merge_backward(dout, top, lateral, w)
    assert isinstance(got, tuple) and len(got) == 4, "return (dtop, dlateral, dw_lat, db_lat)"
    for name, a, e in zip(("dtop", "dlateral", "dw_lat", "db_lat"), got, want, strict=True):
        assert_close(a, e, name=name)


@pytest.mark.points(0.5)
def test_identity_shortcut_that_cannot_fit_raises(student, rng):
    params = _params(rng, _bottleneck_shapes(4, 2, 8, False), np.float64)
    with pytest.raises(ValueError):
        student.bottleneck_forward(rng.standard_normal((1, 4, 5, 5)), params)
