"""Layers and Module: gradients (inputs and parameters), shapes and errors, initialisation, the module
tree (named_parameters, state_dict, train/eval, summary) and seeding."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import arrays, away_from_zero, check_gradients, distinct_arrays, floats, host, leaf, shapes

import scratchnet as sn
from scratchnet import Tensor, backend, nn


def float64(module):
    """Cast a module's parameters to float64 (they are float32 by default) for gradient checks."""
    for p in module.parameters():
        p.data = p.data.astype("float64")
    return module


def check_module(module, x):
    """Gradcheck ``module`` with respect to its input and to every parameter at once."""
    params = module.parameters()
    before = [host(p.data).copy() for p in params]
    assert sn.gradcheck(lambda inp, *ps: module(inp), (leaf(x), *params))
    for p, original in zip(params, before):
        np.testing.assert_array_equal(host(p.data), original)  # the check left the weights as they were
        assert p.grad is None  # ... and their gradients


def test_float64_cast_helper():
    layer = float64(nn.Dense(2, 3))
    assert all(p.dtype == np.float64 for p in layer.parameters())
    assert nn.Dense(2, 3).weight.dtype == np.float32  # the default


# ----- gradients of every layer -----------------------------------------------------------------

@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.booleans(), st.integers(0, 1000), st.data())
def test_dense(batch, fan_in, fan_out, bias, seed, data):
    backend.manual_seed(seed)
    layer = float64(nn.Dense(fan_in, fan_out, bias=bias))
    if bias:
        layer.bias.data[...] = 0.5  # non-zero, to see it in the output
    x = data.draw(arrays((batch, fan_in)))
    check_module(layer, x)
    expected = x @ host(layer.weight.data) + (0.5 if bias else 0.0)
    np.testing.assert_allclose(layer(Tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)
    assert len(layer.parameters()) == (2 if bias else 1)


@st.composite
def conv_layer_case(draw):
    c_in, c_out, k = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 1))
    h, w = draw(st.integers(max(1, k - 2 * padding), 4)), draw(st.integers(max(1, k - 2 * padding), 4))
    x = draw(arrays((draw(st.integers(1, 2)), c_in, h, w)))
    return (c_in, c_out, k, stride, padding), x, draw(st.integers(0, 1000))


@given(conv_layer_case())
def test_conv2d_layer(case):
    (c_in, c_out, k, stride, padding), x, seed = case
    backend.manual_seed(seed)
    layer = float64(nn.Conv2D(c_in, c_out, k, stride=stride, padding=padding))
    check_module(layer, x)
    ho = (x.shape[2] + 2 * padding - k) // stride + 1
    wo = (x.shape[3] + 2 * padding - k) // stride + 1
    assert layer(Tensor(x)).shape == (x.shape[0], c_out, ho, wo)


@given(st.integers(1, 3).flatmap(lambda k: st.tuples(
    st.just(k), st.one_of(st.none(), st.integers(1, 3)),
    distinct_arrays(st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(k, 4), st.integers(k, 4))))))
def test_max_pool_layer(case):
    k, stride, x = case
    layer = nn.MaxPool2D(k, stride)
    assert layer.parameters() == []
    check_gradients(layer, x)
    s = stride or k
    assert layer(Tensor(x)).shape == (*x.shape[:2], (x.shape[2] - k) // s + 1, (x.shape[3] - k) // s + 1)


@pytest.mark.parametrize("layer, elements", [
    (nn.ReLU(), away_from_zero()), (nn.Sigmoid(), floats(-5, 5)), (nn.Tanh(), floats(-4, 4)),
    (nn.Softmax(), floats()), (nn.Softmax(axis=0), floats()),
], ids=["ReLU", "Sigmoid", "Tanh", "Softmax", "Softmax0"])
@given(data=st.data())
def test_activation_layers(layer, elements, data):
    x = data.draw(arrays(shapes(), elements=elements))
    assert layer.parameters() == []
    check_gradients(layer, x)
    assert layer(Tensor(x)).shape == x.shape


@given(arrays(shapes(min_dims=2)))
def test_flatten_layer(x):
    check_gradients(nn.Flatten(), x)
    assert nn.Flatten()(Tensor(x)).shape == (x.shape[0], int(np.prod(x.shape[1:])))


@given(arrays(shapes()), st.integers(0, 1000))
def test_dropout_layer(x, seed):
    layer = nn.Dropout(0.5)

    def fn(t):
        backend.manual_seed(seed)
        return layer(t)

    check_gradients(fn, x)
    layer.eval()
    t = Tensor(x)
    assert layer(t) is t  # the identity in eval mode
    check_gradients(layer, x)


def test_sequential_mlp():
    backend.manual_seed(0)
    model = float64(nn.Sequential(nn.Dense(3, 4), nn.Tanh(), nn.Dense(4, 2), nn.Sigmoid()))
    check_module(model, np.random.default_rng(1).standard_normal((2, 3)))
    check_module(model, np.random.default_rng(2).standard_normal((1, 3)))  # batch size 1


def test_sequential_convnet():
    backend.manual_seed(0)
    model = float64(nn.Sequential(nn.Conv2D(1, 2, 3, padding=1), nn.Tanh(), nn.MaxPool2D(2), nn.Flatten(),
                                  nn.Dense(2 * 2 * 2, 3), nn.Softmax()))
    check_module(model, np.random.default_rng(1).standard_normal((2, 1, 4, 4)))


def test_sequential_with_relu_and_dropout():
    backend.manual_seed(0)
    model = float64(nn.Sequential(nn.Dense(3, 5), nn.ReLU(), nn.Dropout(0.3), nn.Dense(5, 2)))
    x = np.random.default_rng(4).standard_normal((3, 3))
    model.eval()
    check_module(model, x)
    model.train()

    def fn(inp, *ps):
        backend.manual_seed(7)
        return model(inp)

    assert sn.gradcheck(fn, (leaf(x), *model.parameters()))


# ----- shape checks and constructor validation ---------------------------------------------------

@pytest.mark.parametrize("layer, shape, expected", [
    (nn.Dense(4, 3), (2, 5), "(batch, 4)"),
    (nn.Dense(4, 3), (4,), "(batch, 4)"),
    (nn.Conv2D(3, 2, 3), (1, 1, 8, 8), "(N, 3, H, W)"),
    (nn.Conv2D(1, 2, 5), (1, 1, 4, 8), "H >= 5 and W >= 5"),
    (nn.Conv2D(1, 2, 3), (1, 8, 8), "(N, 1, H, W)"),
    (nn.MaxPool2D(2), (2, 4, 4), "(N, C, H, W)"),
    (nn.MaxPool2D(3), (1, 1, 2, 5), "H >= 3 and W >= 3"),
    (nn.Flatten(), (5,), "at least 2 dimensions"),
])
def test_wrong_input_shape_names_layer_got_and_expected(layer, shape, expected):
    """The layer's op (linear, conv2d, max_pool2d) or the layer itself names what it got and accepts."""
    with pytest.raises(ValueError) as info:
        layer(Tensor(np.ones(shape)))
    message = str(info.value)
    name = {"Dense": "linear", "Conv2D": "conv2d", "MaxPool2D": "max_pool2d"}.get(type(layer).__name__, "Flatten")
    assert message.startswith(name)
    assert f"got input of shape {shape}" in message
    assert expected in message


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("activation, module", [("relu", nn.ReLU), ("sigmoid", nn.Sigmoid)])
def test_dense_with_an_activation_is_dense_then_that_layer(activation, module, bias):
    backend.manual_seed(0)
    fused = nn.Dense(5, 3, bias=bias, activation=activation)
    backend.manual_seed(0)
    plain = nn.Sequential(nn.Dense(5, 3, bias=bias), module())
    x = np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32)
    outputs = []
    for model in (fused, plain):
        y = model(Tensor(x))
        (y * y).sum().backward()
        outputs.append([host(y.data)] + [host(p.grad) for p in model.parameters()])
    for a, b in zip(*outputs):
        np.testing.assert_array_equal(a, b)
    assert repr(fused) == f"Dense(5, 3, activation='{activation}')"


def test_dense_names_the_activations_it_accepts():
    with pytest.raises(ValueError, match=r"Dense: activation must be None, 'relu' or 'sigmoid', got 'softmax'"):
        nn.Dense(3, 2, activation="softmax")


def test_dense_error_names_its_sizes():
    with pytest.raises(ValueError, match=r"linear got input of shape \(32, 100\), expected \(batch, 784\)"):
        nn.Dense(784, 256)(Tensor(np.ones((32, 100))))


@pytest.mark.parametrize("make", [
    lambda: nn.Dense(0, 3), lambda: nn.Dense(3, -1), lambda: nn.Dense(2.5, 3),
    lambda: nn.Conv2D(0, 1, 3), lambda: nn.Conv2D(1, 1, 0), lambda: nn.Conv2D(1, 1, 3, stride=0),
    lambda: nn.Conv2D(1, 1, 3, padding=-1), lambda: nn.MaxPool2D(0), lambda: nn.MaxPool2D(2, stride=0),
    lambda: nn.Dropout(1.0), lambda: nn.Dropout(-0.1),
])
def test_bad_constructor_arguments(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("make, pattern", [
    (lambda: nn.Dense(True, 2), "Dense: in_features must be an integer >= 1, got True"),
    (lambda: nn.Dense(2, False), "Dense: out_features must be an integer >= 1, got False"),
    (lambda: nn.Conv2D(1, 1, True), "Conv2D: kernel_size must be an integer >= 1, got True"),
    (lambda: nn.MaxPool2D(True), "MaxPool2D: kernel_size must be an integer >= 1, got True"),
    (lambda: nn.Dropout("0.5"), r"Dropout: p must be a number in \[0, 1\), got '0.5'"),
    (lambda: nn.Dropout(None), "Dropout: p must be a number in"),
])
def test_bad_constructor_arguments_are_named(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_layers_accept_arrays():
    out = nn.Dense(3, 2)(np.ones((4, 3)))
    assert isinstance(out, Tensor) and out.shape == (4, 2)


def test_sequential_rejects_non_modules():
    with pytest.raises(TypeError, match="position 1"):
        nn.Sequential(nn.ReLU(), lambda x: x)


# ----- initialisation and seeding ---------------------------------------------------------------

def test_dense_glorot_uniform_bounds_and_zero_bias():
    backend.manual_seed(0)
    layer = nn.Dense(300, 100)
    limit = math.sqrt(6 / (300 + 100))
    w = host(layer.weight.data)
    assert w.shape == (300, 100) and w.dtype == np.float32
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit  # it fills the range (30,000 draws)
    assert abs(w.mean()) < 0.01 * limit
    np.testing.assert_allclose(w.var(), limit**2 / 3, rtol=0.05)  # U(-a, a) has variance a^2 / 3
    np.testing.assert_array_equal(host(layer.bias.data), np.zeros(100, dtype=np.float32))


def test_conv_glorot_uniform_uses_receptive_field():
    backend.manual_seed(0)
    layer = nn.Conv2D(8, 16, 3)
    limit = math.sqrt(6 / ((8 + 16) * 9))
    w = host(layer.weight.data)
    assert w.shape == (16, 8, 3, 3)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.98 * limit
    np.testing.assert_array_equal(host(layer.bias.data), np.zeros(16))


def test_glorot_uniform_function():
    backend.manual_seed(1)
    values = host(nn.init.glorot_uniform((50, 40), 50, 40, dtype="float64"))
    assert values.dtype == np.float64 and np.abs(values).max() <= math.sqrt(6 / 90)


def make_mlp():
    return nn.Sequential(nn.Dense(6, 5), nn.ReLU(), nn.Dropout(0.5), nn.Dense(5, 2))


def test_manual_seed_repeats_initialisation_bit_for_bit():
    backend.manual_seed(42)
    first = make_mlp().state_dict()
    backend.manual_seed(42)
    second = make_mlp().state_dict()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    backend.manual_seed(43)
    third = make_mlp().state_dict()
    assert not np.array_equal(first["0.weight"], third["0.weight"])


def test_manual_seed_repeats_dropout_masks_bit_for_bit():
    x = Tensor(np.ones((20, 30), dtype=np.float32))
    layer = nn.Dropout(0.5)
    backend.manual_seed(5)
    a, b = layer(x).numpy(), layer(x).numpy()
    backend.manual_seed(5)
    c, d = layer(x).numpy(), layer(x).numpy()
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, d)
    assert not np.array_equal(a, b)  # a fresh mask each call


def test_manual_seed_repeats_a_whole_forward_backward():
    def run():
        backend.manual_seed(11)
        model = make_mlp()
        x = Tensor(np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6))
        model(x).sum().backward()
        return [host(p.grad).copy() for p in model.parameters()]

    for g1, g2 in zip(run(), run()):
        np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("seed", [-1, 1.5, "3"])
def test_manual_seed_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="non-negative integer"):
        sn.manual_seed(seed)


# ----- the module tree --------------------------------------------------------------------------

class AutoEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Dense(8, 4), nn.ReLU(), nn.Dense(4, 2))
        self.decoder = nn.Sequential(nn.Dense(2, 4), nn.ReLU(), nn.Dropout(0.2), nn.Dense(4, 8))
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))

    def forward(self, x):
        return self.decoder(self.encoder(x)) * self.scale


def test_named_parameters_in_sequential():
    model = nn.Sequential(nn.Dense(3, 4), nn.ReLU(), nn.Dense(4, 2))
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert model.parameters()[0] is model[0].weight
    assert len(model) == 3 and list(model)[1] is model[1]


def test_named_parameters_in_nested_modules():
    names = [name for name, _ in AutoEncoder().named_parameters()]
    assert names == ["scale", "encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
                     "decoder.0.weight", "decoder.0.bias", "decoder.3.weight", "decoder.3.bias"]
    model = AutoEncoder()
    assert model.num_parameters() == 1 + (8 * 4 + 4) + (4 * 2 + 2) + (2 * 4 + 4) + (4 * 8 + 8)
    assert [name for name, _ in model.named_modules()][:3] == ["", "encoder", "encoder.0"]
    assert model.children() == [model.encoder, model.decoder]


def test_a_module_used_twice_is_listed_once():
    dense, relu = nn.Dense(3, 3), nn.ReLU()
    model = nn.Sequential(dense, relu, dense, relu)
    assert [name for name, _ in model.named_modules()] == ["", "0", "1"]  # the first name wins
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert model.parameters() == [dense.weight, dense.bias]
    assert model.num_parameters() == 3 * 3 + 3
    assert list(model.state_dict()) == ["0.weight", "0.bias"]
    model.load_state_dict(model.state_dict())


def test_a_parameter_shared_by_two_modules_is_listed_once():
    first, second = nn.Dense(2, 2), nn.Dense(2, 2)
    second.weight = first.weight  # tied weights
    model = nn.Sequential(first, second)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]


def test_an_optimizer_steps_a_shared_module_once():
    dense = nn.Dense(2, 2)
    model = nn.Sequential(dense, dense)
    optimizer = sn.optim.SGD(model.parameters(), lr=0.5)
    model(np.ones((1, 2), dtype=np.float32)).sum().backward()
    before, grad = host(dense.weight.data).copy(), host(dense.weight.grad).copy()
    optimizer.step()
    np.testing.assert_allclose(host(dense.weight.data), before - 0.5 * grad, rtol=1e-6)


def test_reassigning_an_attribute_replaces_the_registration():
    model = AutoEncoder()
    model.encoder = nn.Dense(8, 2)
    assert "encoder.weight" in dict(model.named_parameters())
    assert "encoder.0.weight" not in dict(model.named_parameters())
    model.scale = None
    assert "scale" not in dict(model.named_parameters())


def test_module_must_call_super_init():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Dense(2, 2)

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_parameter_always_requires_grad():
    assert nn.Parameter(np.zeros(3)).requires_grad


def test_state_dict_round_trip():
    backend.manual_seed(1)
    a = AutoEncoder()
    backend.manual_seed(2)
    b = AutoEncoder()
    x = Tensor(np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32))
    a.eval(), b.eval()
    assert not np.array_equal(a(x).numpy(), b(x).numpy())
    state = a.state_dict()
    assert list(state) == [name for name, _ in a.named_parameters()]
    assert all(isinstance(v, np.ndarray) for v in state.values())
    b.load_state_dict(state)
    np.testing.assert_array_equal(a(x).numpy(), b(x).numpy())
    for name, value in b.state_dict().items():
        np.testing.assert_array_equal(value, state[name])


def test_state_dict_is_a_copy():
    model = nn.Dense(2, 2)
    state = model.state_dict()
    state["weight"][...] = 7.0
    assert not (host(model.weight.data) == 7.0).any()


def test_load_state_dict_keeps_parameter_objects_and_dtype():
    model = nn.Dense(2, 3)
    weight = model.weight
    model.load_state_dict({"weight": np.ones((2, 3)), "bias": np.zeros(3)})  # float64 values
    assert model.weight is weight and weight.dtype == np.float32
    np.testing.assert_array_equal(host(weight.data), np.ones((2, 3)))


def test_load_state_dict_missing_key():
    model = nn.Sequential(nn.Dense(2, 3), nn.Dense(3, 1))
    state = model.state_dict()
    del state["1.bias"]
    with pytest.raises(ValueError, match=r"load_state_dict: missing \['1.bias'\], unexpected \[\]"):
        model.load_state_dict(state)


def test_load_state_dict_unexpected_key():
    model = nn.Dense(2, 3)
    state = model.state_dict()
    state["extra"] = np.zeros(1)
    with pytest.raises(ValueError, match=r"missing \[\], unexpected \['extra'\]"):
        model.load_state_dict(state)


def test_load_state_dict_accepts_nested_lists():
    model = nn.Dense(2, 2)
    model.load_state_dict({"weight": [[1, 2], [3, 4]], "bias": [0.5, 0.5]})
    np.testing.assert_array_equal(host(model.weight.data), [[1, 2], [3, 4]])
    assert model.weight.dtype == np.float32


@pytest.mark.parametrize("value", ["abc", [[1, 2], [3]]])
def test_load_state_dict_rejects_what_is_not_an_array(value):
    model = nn.Dense(2, 2)
    with pytest.raises(ValueError, match="weight cannot be read as float32 numbers"):
        model.load_state_dict({"weight": value, "bias": np.zeros(2)})


def test_load_state_dict_wrong_shape_changes_nothing():
    model = nn.Sequential(nn.Dense(2, 3), nn.Dense(3, 1))
    before = model.state_dict()
    state = {name: value + 1 for name, value in before.items()}
    state["1.weight"] = np.zeros((1, 3))
    with pytest.raises(ValueError, match=r"load_state_dict: 1.weight has shape \(1, 3\), expected \(3, 1\)"):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():  # checked before anything was copied
        np.testing.assert_array_equal(value, before[name])


def test_train_and_eval_propagate_to_every_submodule():
    model = AutoEncoder()
    assert all(m.training for _, m in model.named_modules())
    assert model.eval() is model
    assert not any(m.training for _, m in model.named_modules())
    model.train()
    assert all(m.training for _, m in model.named_modules())


def test_dropout_is_identity_in_eval_and_random_in_train():
    model = nn.Sequential(nn.Dropout(0.5))
    x = Tensor(np.ones((10, 10), dtype=np.float32))
    model.eval()
    np.testing.assert_array_equal(model(x).numpy(), x.numpy())
    model.train()
    out = model(x).numpy()
    assert set(np.unique(out)) == {0.0, 2.0}


def test_module_zero_grad():
    model = nn.Dense(2, 2)
    model(np.ones((1, 2))).sum().backward()
    assert model.weight.grad is not None
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_summary_matches_keras_counts():
    model = nn.Sequential(nn.Dense(784, 256), nn.ReLU(), nn.Dropout(0.2), nn.Dense(256, 10), nn.Softmax())
    lines = []
    text = model.summary((784,), print_fn=lines.append)
    assert lines == [text]
    assert "(None, 256)" in text and "(None, 10)" in text
    assert "200,960" in text and "2,570" in text
    assert "Total params: 203,530" in text
    assert model.training  # summary() runs in eval mode and restores the mode
    assert model.forward.__self__ is model  # the recording wrappers are gone again


def test_summary_of_a_convnet():
    model = nn.Sequential(nn.Conv2D(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2D(2), nn.Flatten(),
                          nn.Dense(32 * 14 * 14, 10))
    text = model.summary((1, 28, 28), print_fn=lambda s: None)
    assert "(None, 32, 28, 28)" in text and "(None, 32, 14, 14)" in text and "(None, 6272)" in text
    assert "320" in text  # 32 * (1 * 3 * 3) + 32, as Keras counts it
    assert f"Total params: {320 + 6272 * 10 + 10:,}" in text
    assert "0 (Conv2D)" in text and "4 (Dense)" in text


def test_summary_keeps_eval_mode():
    model = nn.Sequential(nn.Dense(3, 2)).eval()
    model.summary((3,), print_fn=lambda s: None)
    assert not model.training


def test_summary_of_a_model_that_uses_a_layer_twice():
    dense, relu = nn.Dense(3, 3), nn.ReLU()
    model = nn.Sequential(dense, relu, dense, relu)
    text = model.summary((3,), print_fn=lambda s: None)
    assert text.count("0 (Dense)") == 2  # a row per call
    assert "Total params: 12" in text  # the weights once
    assert model.training and dense.training
    assert dense.forward.__self__ is dense and relu.forward.__self__ is relu


def test_summary_restores_every_mode_when_the_forward_fails():
    dropout = nn.Dropout(0.5).eval()  # a sub-module in its own mode
    model = nn.Sequential(nn.Dense(3, 2), dropout)
    with pytest.raises(ValueError, match="got input of shape"):
        model.summary((4,), print_fn=lambda s: None)  # Dense(3, 2) refuses 4 features
    assert model.training and model[0].training and not dropout.training
    assert model[0].forward.__self__ is model[0] and dropout.forward.__self__ is dropout


def test_summary_prints_by_default(capsys):
    nn.Sequential(nn.Dense(3, 2)).summary((3,))
    assert "Total params: 8" in capsys.readouterr().out


def test_repr():
    text = repr(AutoEncoder())
    assert "(encoder): Sequential(" in text and "(0): Dense(8, 4)" in text and "Dropout(p=0.2)" in text
    assert repr(nn.Conv2D(1, 2, 3)) == "Conv2D(1, 2, kernel_size=3, stride=1, padding=0)"


@pytest.mark.parametrize("state", [[1, 2], "weights.npz", None, np.zeros(3)])
def test_load_state_dict_refuses_what_is_not_a_mapping(state):
    model = nn.Dense(2, 2)
    with pytest.raises(TypeError, match=r"load_state_dict takes a dict of name -> array as state_dict\(\) "
                                        r"returns, got a " + type(state).__name__):
        model.load_state_dict(state)
