"""Mistakes a block built from layers allows, named without a catalogue: a layer left out, a
ReLU added, a layer given a wrong option or the wrong array, a path's gradient lost; each
layer named in the docstring's terms; never on the reference's own result, and never by a
change that merely zeroes a layer's share."""

import numpy as np
import pytest

from autograder.suite.hints import Call, assignment_layers, diagnose
from autograder.suite.layer_mistakes import layer_mistakes, traced
from solutions import batchnorm, conv, residual

LAYERS = assignment_layers("residual")


@pytest.fixture
def block():
    """A projection block's arguments (stride 2), float64."""
    rng = np.random.default_rng(5)
    shapes = {"w1": (4, 3, 3, 3), "w2": (4, 4, 3, 3), "w_proj": (4, 3, 1, 1)}
    params = {key: rng.standard_normal(shape) for key, shape in shapes.items()}
    for name in ("1", "2", "_proj"):
        params["gamma" + name] = rng.uniform(0.5, 1.5, 4)
        params["beta" + name] = rng.standard_normal(4)
    state = {}
    for name in ("1", "2", "_proj"):
        state["mean" + name] = rng.standard_normal(4)
        state["var" + name] = rng.uniform(0.5, 1.5, 4)
    x = rng.standard_normal((3, 3, 6, 6))
    dout = rng.standard_normal((3, 4, 3, 3))
    return x, params, state, dout


def _bn(h, p, s, name):
    """Training-mode batch norm of the block, with the reference's own layer."""
    out, mean, var = batchnorm.batchnorm_forward(
        h, p["gamma" + name], p["beta" + name], s["mean" + name], s["var" + name], True, 0.1, 1e-5
    )
    return out, mean, var


def test_the_layers_are_named_as_the_diagram_names_them(block):
    x, params, _, dout = block
    arguments = {"dout": dout, "x": x, "params": params, "stride": 2, "eps": 1e-5}
    _, trace = traced(residual, residual.residual_block_backward, arguments, LAYERS)
    labels = [call.label for call in trace]
    assert labels[:3] == ["conv1", "bn1", "the ReLU after bn1"]
    assert labels[7] == "the last ReLU"
    assert "the backward of conv2" in labels and "the backward of the ReLU after bn1" in labels


def test_a_forward_without_its_first_relu_is_named(block):
    x, p, s, _ = block
    # the student's block: bn1's output goes into conv2 as it is
    a1, m1, v1 = _bn(conv.conv_forward(x, p["w1"], None, stride=2, padding=1), p, s, "1")
    a2, m2, v2 = _bn(conv.conv_forward(a1, p["w2"], None, stride=1, padding=1), p, s, "2")
    sp, mp, vp = _bn(conv.conv_forward(x, p["w_proj"], None, stride=2, padding=0), p, s, "_proj")
    out = np.maximum(a2 + sp, 0)
    state = {"mean1": m1, "var1": v1, "mean2": m2, "var2": v2, "mean_proj": mp, "var_proj": vp}
    call = Call("residual_block_forward", (x, p, s, 2), {}, (out, state))
    hints = diagnose(residual, [call])
    assert any("returns with the ReLU after bn1 left out" in hint for hint in hints), hints


def test_the_right_result_and_its_neighbours_get_no_layer_hint(block):
    x, p, _, dout = block
    right = residual.residual_block_backward(dout, x, p, 2)
    call = Call("residual_block_backward", (dout, x, p, 2), {}, right)
    assert diagnose(residual, [call]) == []
    arguments = {"dout": dout, "x": x, "params": p, "stride": 2, "eps": 1e-5}
    mistakes = list(layer_mistakes(residual, residual.residual_block_backward, arguments, LAYERS))
    assert len(mistakes) > 50  # every layer's changes were tried


def test_a_lost_path_is_named_and_no_change_that_zeroes_a_layer(block):
    x, p, s, dout = block
    _, grads = residual.residual_block_backward(dout, x, p, 2)
    # the student's dx = dx_proj: conv1's share overwritten (computed as the block's own
    # backward with w1 and the main path's gradient into x cut: the projection's share only)
    out = residual.residual_block_forward(x, p, s, 2)[0]
    h1 = conv.conv_forward(x, p["w1"], None, stride=2, padding=1)
    a1 = _bn(h1, p, s, "1")[0]
    h2 = conv.conv_forward(np.maximum(a1, 0), p["w2"], None, stride=1, padding=1)
    hp = conv.conv_forward(x, p["w_proj"], None, stride=2, padding=0)
    z = _bn(h2, p, s, "2")[0] + _bn(hp, p, s, "_proj")[0]
    assert np.allclose(out, np.maximum(z, 0))
    dz = np.where(z > 0, dout, 0)
    dhp = batchnorm.batchnorm_backward(dz, hp, p["gamma_proj"], 1e-5)[0]
    dx_proj = conv.conv_backward(dhp, x, p["w_proj"], stride=2, padding=0)[0]
    call = Call("residual_block_backward", (dout, x, p, 2), {}, (dx_proj, grads))
    (hint,) = diagnose(residual, [call])
    assert "the dx of the backward of conv1 lost" in hint, hint
    assert "given" not in hint  # a batch norm's backward given its own input gives 0: refused


def test_a_relu_moved_before_its_batch_norm_is_named(block):
    x, p, s, _ = block
    # the student's block: bn1(relu(conv1(x))), then conv2 on bn1's output
    h1 = conv.conv_forward(x, p["w1"], None, stride=2, padding=1)
    a1, m1, v1 = _bn(np.maximum(h1, 0), p, s, "1")
    a2, m2, v2 = _bn(conv.conv_forward(a1, p["w2"], None, stride=1, padding=1), p, s, "2")
    sp, mp, vp = _bn(conv.conv_forward(x, p["w_proj"], None, stride=2, padding=0), p, s, "_proj")
    state = {"mean1": m1, "var1": v1, "mean2": m2, "var2": v2, "mean_proj": mp, "var_proj": vp}
    call = Call("residual_block_forward", (x, p, s, 2), {}, (np.maximum(a2 + sp, 0), state))
    hints = diagnose(residual, [call])
    assert any("the ReLU after bn1 applied before bn1 instead" in h for h in hints), hints


def test_an_error_the_reference_raises_with_a_layer_mistake_is_named(block):
    from autograder.suite.hints import diagnose_error

    x, p, s, _ = block
    # the student's conv1 has no padding: the branch shrinks and cannot be added to the shortcut
    h1 = conv.conv_forward(x, p["w1"], None, stride=2, padding=0)
    a1 = np.maximum(_bn(h1, p, s, "1")[0], 0)
    a2 = _bn(conv.conv_forward(a1, p["w2"], None, stride=1, padding=1), p, s, "2")[0]
    sp = _bn(conv.conv_forward(x, p["w_proj"], None, stride=2, padding=0), p, s, "_proj")[0]
    with pytest.raises(ValueError) as raised:
        np.maximum(a2 + sp, 0)
    error = "ValueError: " + str(raised.value)
    (hint,) = diagnose_error(residual, "residual_block_forward", ((x, p, s, 2), {}), error)
    assert "raises with conv1 at padding=0 instead of 1" in hint, hint
    assert (
        diagnose_error(residual, "residual_block_forward", ((x, p, s, 2), {}), "ValueError: x")
        == []
    )
