"""Self-tests of solutions.interpolation against torch and the RoI Align loop oracle.

* ``bilinear_resize`` against ``torch.nn.functional.interpolate(mode="bilinear")``;
  ``bilinear_resize_backward`` against torch autograd and numeric gradients.
* ``roi_align`` against ``tests/oracles/roi_align_loops.py`` (torchvision's CPU kernel restated
  as scalar loops: torchvision cannot be installed beside the pinned torch). The oracle and the
  reference are both checked against torch-computable identities: a whole-image box with
  ``aligned=True`` is ``interpolate(align_corners=False)`` (then ``avg_pool2d`` for several
  samples per bin), and any box is the masked average of ``grid_sample`` (``padding_mode=
  "border"``, ``align_corners=False``) at the same sample points.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from autograder.suite.gradcheck import numeric_gradient
from solutions.interpolation import bilinear_resize, bilinear_resize_backward, roi_align
from tests.oracles.roi_align_loops import roi_align_loops

TOL = {np.float64: dict(rtol=1e-12, atol=1e-13), np.float32: dict(rtol=1e-4, atol=1e-5)}


def assert_matches(ours: np.ndarray, expected: np.ndarray, dtype: type) -> None:
    """Exact type/shape/dtype, then values within ``atol * max|expected| + rtol * |expected|``."""
    assert isinstance(ours, np.ndarray)
    assert ours.dtype == np.dtype(dtype), (ours.dtype, dtype)
    assert ours.shape == expected.shape, (ours.shape, expected.shape)
    tol = TOL[dtype]
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(ours, expected, rtol=tol["rtol"], atol=tol["atol"] * scale + 1e-300)


# --------------------------------------------------------------------------------------------
# bilinear_resize
# --------------------------------------------------------------------------------------------

# (N, C, H, W) -> (H_out, W_out): up, down, odd, to and from 1 pixel, non-square, identity.
RESIZE_CASES = [
    ((2, 3, 4, 5), (8, 10)),
    ((2, 3, 4, 5), (7, 9)),
    ((1, 2, 9, 7), (4, 3)),
    ((1, 2, 16, 16), (5, 11)),
    ((2, 1, 5, 8), (8, 3)),
    ((1, 3, 6, 5), (1, 1)),
    ((1, 3, 6, 5), (1, 4)),
    ((2, 2, 1, 1), (4, 3)),
    ((1, 2, 1, 6), (3, 4)),
    ((1, 2, 7, 1), (2, 5)),
    ((3, 2, 6, 7), (6, 7)),
    ((1, 1, 13, 3), (29, 2)),
    ((1, 2, 2, 2), (3, 3)),
    ((1, 1, 31, 17), (10, 40)),
]
RESIZE_IDS = [f"{s[2]}x{s[3]}-to-{o[0]}x{o[1]}" for s, o in RESIZE_CASES]


def _torch_resize(x: np.ndarray, size: tuple[int, int], align_corners: bool) -> np.ndarray:
    t = torch.from_numpy(x)
    return F.interpolate(t, size=size, mode="bilinear", align_corners=align_corners).numpy()


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("align_corners", [False, True], ids=["half_pixel", "align_corners"])
@pytest.mark.parametrize(("shape", "size"), RESIZE_CASES, ids=RESIZE_IDS)
def test_resize_matches_torch(shape, size, align_corners, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    x_before = x.copy()
    out = bilinear_resize(x, size, align_corners=align_corners)
    assert_matches(out, _torch_resize(x, size, align_corners), dtype)
    np.testing.assert_array_equal(x, x_before)


def test_resize_int_size_and_identity():
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 5))
    assert_matches(bilinear_resize(x, 7), _torch_resize(x, (7, 7), False), np.float64)
    for ac in (False, True):
        np.testing.assert_array_equal(bilinear_resize(x, (5, 5), align_corners=ac), x)


def test_resize_noncontiguous_input():
    x = np.random.default_rng(2).standard_normal((3, 2, 6, 8)).transpose(0, 1, 3, 2)[::2]
    for ac in (False, True):
        expected = _torch_resize(np.ascontiguousarray(x), (4, 9), ac)
        assert_matches(bilinear_resize(x, (4, 9), align_corners=ac), expected, np.float64)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("align_corners", [False, True], ids=["half_pixel", "align_corners"])
@pytest.mark.parametrize(("shape", "size"), RESIZE_CASES[::2], ids=RESIZE_IDS[::2])
def test_resize_backward_matches_autograd(shape, size, align_corners, dtype):
    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.standard_normal(shape).astype(dtype)).requires_grad_(True)
    out = F.interpolate(x, size=size, mode="bilinear", align_corners=align_corners)
    dout = rng.standard_normal(out.shape).astype(dtype)
    out.backward(torch.from_numpy(dout))
    dx = bilinear_resize_backward(dout, shape, align_corners=align_corners)
    assert_matches(dx, x.grad.numpy(), dtype)


@pytest.mark.parametrize("align_corners", [False, True], ids=["half_pixel", "align_corners"])
@pytest.mark.parametrize(("shape", "size"), RESIZE_CASES[1::3], ids=RESIZE_IDS[1::3])
def test_resize_backward_matches_numeric_gradient(shape, size, align_corners):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    dout = rng.standard_normal(shape[:2] + size)
    numeric = numeric_gradient(lambda z: bilinear_resize(z, size, align_corners), x, dout)
    dx = bilinear_resize_backward(dout, shape, align_corners=align_corners)
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-8)


def test_resize_validation():
    x = np.zeros((1, 1, 4, 4))
    for bad in [0, (3,), (3, 0), (2.0, 3), (True, 2), (-1, 2)]:
        with pytest.raises(ValueError):
            bilinear_resize(x, bad)
    with pytest.raises(ValueError):
        bilinear_resize(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError):
        bilinear_resize(np.zeros((1, 1, 4, 4), dtype=np.int64), (2, 2))
    with pytest.raises(ValueError):
        bilinear_resize_backward(np.zeros((1, 1, 2, 2)), (2, 1, 4, 4))
    with pytest.raises(ValueError):
        bilinear_resize_backward(np.zeros((1, 1, 2, 2)), (1, 1, 4))


# --------------------------------------------------------------------------------------------
# roi_align: reference vs loop oracle
# --------------------------------------------------------------------------------------------


def make_boxes(rng: np.random.Generator, n: int, h: int, w: int, scale: float) -> np.ndarray:
    """A mix of boxes in input-image coordinates (feature map ``h x w`` times ``1/scale``):
    inside, partly outside, far outside, tiny (< 1 feature pixel), zero-size and reversed."""
    big_h, big_w = h / scale, w / scale
    parts = []

    def add(x1, y1, x2, y2):
        k = len(x1)
        parts.append(np.column_stack([rng.integers(0, n, k), x1, y1, x2, y2]))

    # Inside the image.
    x1, y1 = rng.uniform(0, big_w * 0.7, 6), rng.uniform(0, big_h * 0.7, 6)
    add(
        x1,
        y1,
        x1 + rng.uniform(0.5, 0.5 + big_w * 0.5, 6),
        y1 + rng.uniform(0.5, 0.5 + big_h * 0.5, 6),
    )
    # Partly outside (any side), some covering the whole image.
    x1, y1 = rng.uniform(-0.5 * big_w, big_w, 8), rng.uniform(-0.5 * big_h, big_h, 8)
    add(x1, y1, x1 + rng.uniform(1, 1.5 * big_w, 8), y1 + rng.uniform(1, 1.5 * big_h, 8))
    # Far outside.
    add(*(np.array([[-9.0, -9.0, -3.0, -4.0], [big_w + 3, 1.0, big_w + 9, 2.0]]).T))
    # Tiny: smaller than one feature-map pixel.
    x1, y1 = rng.uniform(-1, big_w, 5), rng.uniform(-1, big_h, 5)
    add(x1, y1, x1 + rng.uniform(0, 0.9 / scale, 5), y1 + rng.uniform(0, 0.9 / scale, 5))
    # Degenerate: zero width/height, reversed corners.
    x1, y1 = rng.uniform(0, big_w, 4), rng.uniform(0, big_h, 4)
    add(x1, y1, x1 - np.array([0.0, 1.0, 3.0, 0.0]) / scale, y1 + np.array([0, 2, -1, -0.2]))
    boxes = np.concatenate(parts)
    return boxes[rng.permutation(len(boxes))]


@pytest.mark.parametrize("spatial_scale", [1.0, 0.5, 0.25])
@pytest.mark.parametrize("sampling_ratio", [-1, 0, 1, 2, 3])
@pytest.mark.parametrize("aligned", [False, True], ids=["unaligned", "aligned"])
def test_roi_align_matches_oracle(aligned, sampling_ratio, spatial_scale):
    rng = np.random.default_rng([int(aligned), sampling_ratio + 1, int(spatial_scale * 100)])
    x = rng.standard_normal((2, 3, 7, 9))
    boxes = make_boxes(rng, 2, 7, 9, spatial_scale)
    x_before, boxes_before = x.copy(), boxes.copy()
    for output_size in [(3, 4), 2, (1, 5)]:
        args = (output_size, spatial_scale, sampling_ratio, aligned)
        assert_matches(roi_align(x, boxes, *args), roi_align_loops(x, boxes, *args), np.float64)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(boxes, boxes_before)


@pytest.mark.parametrize("sampling_ratio", [-1, 2])
@pytest.mark.parametrize("aligned", [False, True], ids=["unaligned", "aligned"])
def test_roi_align_float32_matches_oracle(aligned, sampling_ratio):
    rng = np.random.default_rng([7, int(aligned), sampling_ratio + 1])
    x = rng.standard_normal((2, 4, 10, 8)).astype(np.float32)
    boxes = make_boxes(rng, 2, 10, 8, 0.5).astype(np.float32)
    out = roi_align(x, boxes, (3, 2), 0.5, sampling_ratio, aligned)
    assert_matches(out, roi_align_loops(x, boxes, (3, 2), 0.5, sampling_ratio, aligned), np.float32)


def test_roi_align_one_pixel_maps():
    """H = 1 and/or W = 1 feature maps (every sample hits the clamps)."""
    rng = np.random.default_rng(8)
    for shape in [(1, 2, 1, 1), (2, 1, 1, 6), (1, 2, 5, 1)]:
        x = rng.standard_normal(shape)
        boxes = make_boxes(rng, shape[0], shape[2], shape[3], 1.0)
        for aligned in (False, True):
            args = ((2, 3), 1.0, -1, aligned)
            assert_matches(roi_align(x, boxes, *args), roi_align_loops(x, boxes, *args), np.float64)


def test_roi_align_large_adaptive_grid():
    """Per-box adaptive grids of very different sizes in one call."""
    rng = np.random.default_rng(9)
    x = rng.standard_normal((1, 2, 40, 33))
    boxes = np.array([[0, 0, 0, 33, 40], [0, 3.3, 4.1, 5.0, 5.2], [0, -4, 10, 40, 60]])
    for aligned in (False, True):
        args = ((2, 3), 1.0, 0, aligned)
        assert_matches(roi_align(x, boxes, *args), roi_align_loops(x, boxes, *args), np.float64)


def test_roi_align_empty_and_validation():
    x = np.zeros((2, 3, 4, 4))
    out = roi_align(x, np.zeros((0, 5)), (2, 3))
    assert out.shape == (0, 3, 2, 3) and out.dtype == np.float64
    good = np.array([[1.0, 0, 0, 2, 2]])
    bad_calls = [
        dict(boxes=np.array([[2.0, 0, 0, 2, 2]])),  # batch index out of range
        dict(boxes=np.array([[-1.0, 0, 0, 2, 2]])),
        dict(boxes=np.array([[0.5, 0, 0, 2, 2]])),  # not an integer
        dict(boxes=np.array([[0.0, 0, np.nan, 2, 2]])),
        dict(boxes=np.zeros((3, 4))),
        dict(output_size=0),
        dict(output_size=(2, 2, 2)),
        dict(spatial_scale=0.0),
        dict(spatial_scale=-1.0),
        dict(sampling_ratio=1.5),
        dict(x=np.zeros((3, 4, 4))),
    ]
    for bad in bad_calls:
        kwargs = dict(x=x, boxes=good, output_size=(2, 2)) | bad
        with pytest.raises(ValueError):
            roi_align(**kwargs)


# --------------------------------------------------------------------------------------------
# roi_align (and the oracle) against torch-computable identities
# --------------------------------------------------------------------------------------------

BOTH = [roi_align, roi_align_loops]
BOTH_IDS = ["reference", "oracle"]


@pytest.mark.parametrize("fn", BOTH, ids=BOTH_IDS)
def test_whole_image_box_reproduces_input(fn):
    """aligned=True, box [0, 0, W, H], output (H, W), 1 sample per bin: samples at pixel
    centres, so the output is the input itself."""
    x = np.random.default_rng(10).standard_normal((2, 3, 5, 7))
    boxes = np.array([[1, 0, 0, 7, 5], [0, 0, 0, 7, 5]], dtype=np.float64)
    out = fn(x, boxes, (5, 7), 1.0, 1, True)
    np.testing.assert_allclose(out, x[[1, 0]], rtol=0, atol=1e-15)


@pytest.mark.parametrize("fn", BOTH, ids=BOTH_IDS)
@pytest.mark.parametrize(
    ("out_hw", "s", "spatial_scale"),
    [((3, 4), 1, 1.0), ((8, 11), 1, 0.5), ((2, 3), 2, 0.25), ((4, 2), 3, 1.0), ((1, 1), 2, 1.0)],
)
def test_whole_image_box_is_interpolate_then_avg_pool(fn, out_hw, s, spatial_scale):
    """aligned=True with the box [0, 0, W, H] (in feature-map units) puts sample (p, i) of
    each axis at ((p * s + i) + 0.5) * W / (W_out * s) - 0.5: exactly the source coordinates of
    interpolate(size=(H_out * s, W_out * s), align_corners=False). So roi_align is that
    resize followed by s x s average pooling."""
    x = np.random.default_rng(11).standard_normal((2, 3, 6, 5))
    boxes = np.array([[1, 0, 0, 5 / spatial_scale, 6 / spatial_scale]])
    up = F.interpolate(
        torch.from_numpy(x[1:2]),
        size=(out_hw[0] * s, out_hw[1] * s),
        mode="bilinear",
        align_corners=False,
    )
    expected = F.avg_pool2d(up, s).numpy()
    out = fn(x, boxes, out_hw, spatial_scale, s, True)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-13)


def _roi_align_via_grid_sample(x, boxes, output_size, spatial_scale, sampling_ratio, aligned):
    """roi_align from torch's grid_sample, one box at a time (a test, so loops are fine).

    grid_sample(padding_mode="border", align_corners=False) clamps pixel coordinates to
    [0, W - 1] then interpolates bilinearly, exactly RoI Align's rule for samples in [-1, W];
    samples outside that range are masked to 0. Sample positions follow torchvision's formula.
    """
    xt = torch.from_numpy(x)
    _, c, h, w = x.shape
    ph, pw = output_size
    off = 0.5 if aligned else 0.0
    out = torch.zeros((len(boxes), c, ph, pw), dtype=xt.dtype)
    for k, (b, x1, y1, x2, y2) in enumerate(boxes.tolist()):
        x1, y1, x2, y2 = (v * spatial_scale - off for v in (x1, y1, x2, y2))
        rw, rh = x2 - x1, y2 - y1
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        gh = sampling_ratio if sampling_ratio > 0 else math.ceil(rh / ph)
        gw = sampling_ratio if sampling_ratio > 0 else math.ceil(rw / pw)
        if gh <= 0 or gw <= 0:
            continue
        bh, bw = rh / ph, rw / pw
        ys = y1 + torch.arange(ph, dtype=torch.float64)[:, None] * bh
        ys = (ys + (torch.arange(gh, dtype=torch.float64) + 0.5) * bh / gh).reshape(-1)
        xs = x1 + torch.arange(pw, dtype=torch.float64)[:, None] * bw
        xs = (xs + (torch.arange(gw, dtype=torch.float64) + 0.5) * bw / gw).reshape(-1)
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        grid = torch.stack([(2 * gx + 1) / w - 1, (2 * gy + 1) / h - 1], dim=-1)[None]
        samples = F.grid_sample(
            xt[int(b)][None], grid, mode="bilinear", padding_mode="border", align_corners=False
        )[0]
        mask = ((gy >= -1) & (gy <= h) & (gx >= -1) & (gx <= w)).to(xt.dtype)
        out[k] = F.avg_pool2d((samples * mask)[None], (gh, gw))[0]
    return out.numpy()


@pytest.mark.parametrize("fn", BOTH, ids=BOTH_IDS)
@pytest.mark.parametrize(
    ("aligned", "sampling_ratio", "spatial_scale"),
    [(True, 2, 1.0), (False, 1, 0.5), (True, -1, 0.5), (False, -1, 1.0), (False, 3, 0.25)],
)
def test_roi_align_is_masked_average_of_grid_sample(fn, aligned, sampling_ratio, spatial_scale):
    rng = np.random.default_rng([12, int(aligned), sampling_ratio + 1])
    x = rng.standard_normal((2, 3, 8, 6))
    boxes = make_boxes(rng, 2, 8, 6, spatial_scale)
    args = ((3, 2), spatial_scale, sampling_ratio, aligned)
    expected = _roi_align_via_grid_sample(x, boxes, *args)
    np.testing.assert_allclose(fn(x, boxes, *args), expected, rtol=1e-12, atol=1e-13)
