"""Optimizers against updates computed by hand from known gradients, their state, and their errors."""

import io

import numpy as np
import pytest
from strategies import host

from scratchnet import Tensor, backend, losses, nn, optim

P0 = np.array([[0.5, -1.0, 2.0], [0.0, 3.0, -0.25]])
GRADS = [
    np.array([[0.1, -0.2, 0.3], [1.0, 0.0, -2.0]]),
    np.array([[-0.4, 0.5, 0.0], [2.0, 0.0, -1.0]]),
    np.array([[0.3, 0.3, -0.1], [-1.0, 0.0, 0.5]]),  # column 1 of row 1 stays exactly 0 throughout
    np.array([[0.2, -0.6, 0.7], [0.1, 0.0, 0.9]]),
    np.array([[-0.5, 0.1, 0.2], [0.4, 0.0, -0.3]]),
]


def param(values=P0, dtype=np.float64):
    return nn.Parameter(np.array(values, dtype=dtype))


def run_steps(optimizer, p, grads):
    for g in grads:
        p.grad = backend.as_array(g, p.dtype)
        optimizer.step()


# ----- SGD ---------------------------------------------------------------------------------------

def test_sgd_plain_three_steps():
    p = param()
    run_steps(optim.SGD([p], lr=0.1), p, GRADS[:3])
    expected = P0 - 0.1 * GRADS[0] - 0.1 * GRADS[1] - 0.1 * GRADS[2]
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-14, atol=1e-15)


def test_sgd_momentum_three_steps_pytorch_convention():
    lr, m = 0.1, 0.9
    p = param()
    opt = optim.SGD([p], lr=lr, momentum=m)
    expected, v = P0.copy(), np.zeros_like(P0)
    for t, g in enumerate(GRADS[:3]):
        run_steps(opt, p, [g])
        v = m * v + g  # v_1 = g_1 (PyTorch starts the buffer at the first gradient)
        expected = expected - lr * v
        np.testing.assert_allclose(p.numpy(), expected, rtol=1e-14, atol=1e-15, err_msg=f"step {t + 1}")
    # spelled out, to pin the convention: not v = m v + (1 - m) g, not p -= lr * (m v + g) with v lagging
    v3 = m * (m * GRADS[0] + GRADS[1]) + GRADS[2]
    np.testing.assert_allclose(p.numpy(), P0 - lr * (GRADS[0] + (m * GRADS[0] + GRADS[1]) + v3), rtol=1e-14)


def test_sgd_first_momentum_step_does_not_alias_the_gradient():
    p = param()
    opt = optim.SGD([p], lr=0.1, momentum=0.5)
    grad = backend.as_array(GRADS[0].copy(), p.dtype)
    p.grad = grad
    opt.step()
    p.grad = backend.as_array(GRADS[1], p.dtype)
    opt.step()
    np.testing.assert_array_equal(host(grad), GRADS[0])  # the momentum buffer is a copy, updated in place


# ----- Adam --------------------------------------------------------------------------------------

def adam_by_hand(p, grads, lr, b1, b2, eps):
    """Kingma & Ba, Algorithm 1, in float64 NumPy."""
    p, m, v = p.copy(), np.zeros_like(p), np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p, m, v


def test_adam_first_three_steps_written_out_from_the_paper():
    """One weight, gradients 0.5, -1, 2, lr 0.1, b1 0.9, b2 0.999, eps 1e-8: every line by hand."""
    p = param(np.array([1.0]))
    opt = optim.Adam([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8)
    m1, v1 = 0.1 * 0.5, 0.001 * 0.25                      # m, v from 0
    x1 = 1.0 - 0.1 * (m1 / 0.1) / ((v1 / 0.001) ** 0.5 + 1e-8)  # m_hat = 0.5, v_hat = 0.25: a step of ~lr
    m2, v2 = 0.9 * m1 + 0.1 * -1.0, 0.999 * v1 + 0.001 * 1.0
    x2 = x1 - 0.1 * (m2 / (1 - 0.9**2)) / ((v2 / (1 - 0.999**2)) ** 0.5 + 1e-8)
    m3, v3 = 0.9 * m2 + 0.1 * 2.0, 0.999 * v2 + 0.001 * 4.0
    x3 = x2 - 0.1 * (m3 / (1 - 0.9**3)) / ((v3 / (1 - 0.999**3)) ** 0.5 + 1e-8)
    for expected, g in zip([x1, x2, x3], [0.5, -1.0, 2.0]):
        run_steps(opt, p, [np.array([g])])
        np.testing.assert_allclose(p.numpy()[0], expected, rtol=1e-15)
    np.testing.assert_allclose([host(opt.m[0])[0], host(opt.v[0])[0]], [m3, v3], rtol=1e-15)
    assert x1 == pytest.approx(0.9, abs=1e-6) and opt.t == 3


@pytest.mark.parametrize("lr, betas, eps", [(1e-3, (0.9, 0.999), 1e-8), (0.1, (0.5, 0.9), 1e-3),
                                            (0.05, (0.0, 0.0), 1e-8)])
def test_adam_five_steps(lr, betas, eps):
    p = param()
    opt = optim.Adam([p], lr=lr, betas=betas, eps=eps)
    run_steps(opt, p, GRADS)
    expected, m, v = adam_by_hand(P0, GRADS, lr, *betas, eps)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(host(opt.m[0]), m, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(host(opt.v[0]), v, rtol=1e-14, atol=1e-300)
    assert p.numpy()[1, 1] == P0[1, 1]  # its gradient is always 0: m = 0, so it never moves
    assert opt.t == 5


def test_adam_with_eps_0_divides_by_sqrt_v_hat_alone():
    """eps = 0 is allowed (as in PyTorch); where every gradient so far was 0 it takes 0 / 0."""
    p = param()
    with np.errstate(invalid="ignore"):
        run_steps(optim.Adam([p], lr=0.1, eps=0.0), p, GRADS[:3])
        expected, _, _ = adam_by_hand(P0, GRADS[:3], 0.1, 0.9, 0.999, 0.0)
    moving = np.ones(P0.shape, dtype=bool)
    moving[1, 1] = False
    np.testing.assert_allclose(p.numpy()[moving], expected[moving], rtol=1e-14)
    assert np.isnan(p.numpy()[1, 1])


def test_adam_first_step_moves_each_weight_by_about_lr():
    p = param()
    run_steps(optim.Adam([p], lr=0.01), p, GRADS[:1])
    moved = P0 - p.numpy()
    nonzero = GRADS[0] != 0
    np.testing.assert_allclose(moved[nonzero], 0.01 * np.sign(GRADS[0][nonzero]), rtol=1e-6)
    assert (moved[~nonzero] == 0).all()


def test_adam_bias_correction_uses_the_step_count():
    """Without the t in 1 - b^t (ML-From-Scratch #35) a constant gradient would give shrinking steps."""
    p = param(np.zeros(1))
    opt = optim.Adam([p], lr=0.1)
    previous = 0.0
    for _ in range(5):
        run_steps(opt, p, [np.array([2.0])])
        step = previous - p.numpy()[0]
        previous = p.numpy()[0]
        np.testing.assert_allclose(step, 0.1, rtol=1e-6)  # m_hat = g and v_hat = g^2 at every t


def test_adam_keeps_float32():
    p = param(dtype=np.float32)
    opt = optim.Adam([p])
    run_steps(opt, p, GRADS[:2])
    assert p.dtype == np.float32 and opt.m[0].dtype == np.float32 and opt.v[0].dtype == np.float32
    expected, _, _ = adam_by_hand(P0, GRADS[:2], 1e-3, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-5, atol=1e-6)


def count_denormals(array):
    a = host(array)
    return int(np.count_nonzero((a != 0) & (np.abs(a) < np.finfo(a.dtype).tiny)))


def test_flush_denormals_to_zero():
    tiny = np.finfo(np.float32).tiny
    original = np.array([tiny / 2, -tiny / 1e3, tiny, -tiny, 1.5, -2.0, 0.0, np.nan], dtype=np.float32)
    a, b = backend.as_array(original), backend.as_array(np.array([1e-310, 1e-300]))
    optim.flush_denormals_to_zero(a, b)
    a, b = host(a), host(b)
    np.testing.assert_array_equal(a[:2], 0.0)
    np.testing.assert_array_equal(a[2:7], original[2:7])  # normal numbers and 0 stay bit for bit
    assert np.isnan(a[7]) and b.tolist() == [0.0, 1e-300]


@pytest.mark.parametrize("flush_every", [10**9, optim.Adam.FLUSH_EVERY], ids=["never-flushed", "flushed"])
def test_adam_moments_of_a_dead_unit_and_the_flush(flush_every, monkeypatch):
    """A unit whose gradient turns 0 after one step: without the flush its m decays into the
    denormals within 2,000 steps and stays there (0.9 x the smallest denormal rounds back to it);
    with it, m ends exactly 0. (v, decaying by 0.999, needs some 70,000 steps to get there.)"""
    monkeypatch.setattr(optim.Adam, "FLUSH_EVERY", flush_every)
    p = nn.Parameter(np.ones((3, 2), dtype=np.float32))
    opt = optim.Adam([p], lr=1e-3)
    run_steps(opt, p, [np.full((3, 2), 1e-3)] + [np.zeros((3, 2))] * 2000)
    assert count_denormals(opt.m[0]) == (6 if flush_every > 2001 else 0)
    assert count_denormals(opt.v[0]) == 0 and np.all(host(opt.v[0]) > 0)
    assert np.all(np.isfinite(p.numpy()))


def test_adam_flush_leaves_ordinary_moments_bit_for_bit(monkeypatch):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((5, 4)).astype(np.float32) for _ in range(2 * optim.Adam.FLUSH_EVERY + 3)]
    results = []
    for flush_every in (optim.Adam.FLUSH_EVERY, 10**9):
        monkeypatch.setattr(optim.Adam, "FLUSH_EVERY", flush_every)
        p = nn.Parameter(np.ones((5, 4), dtype=np.float32))
        opt = optim.Adam([p], lr=1e-2)
        run_steps(opt, p, grads)
        results.append([p.numpy(), host(opt.m[0]), host(opt.v[0])])
    for flushed, plain in zip(*results):
        np.testing.assert_array_equal(flushed, plain)


# ----- shared behaviour --------------------------------------------------------------------------

OPTIMIZERS = [
    (optim.SGD, {"lr": 0.1}),
    (optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    (optim.Adam, {"lr": 0.01}),
    (optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6}),
]
IDS = ["sgd", "sgd-momentum", "adam", "adam-custom"]


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS, ids=IDS)
def test_parameters_without_grad_are_skipped(cls, kwargs):
    a, b = param(), param()
    opt = cls([a, b], **kwargs)
    a.grad = backend.as_array(GRADS[0], a.dtype)
    opt.step()
    assert not np.array_equal(a.numpy(), P0)
    np.testing.assert_array_equal(b.numpy(), P0)


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS, ids=IDS)
def test_zero_grad(cls, kwargs):
    model = nn.Dense(3, 2)
    opt = cls(model.parameters(), **kwargs)
    model(np.ones((2, 3))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("via_savez", [False, True], ids=["dict", "savez"])
@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS, ids=IDS)
def test_state_dict_round_trip_continues_identically(cls, kwargs, via_savez):
    p = param()
    opt = cls([p], **kwargs)
    run_steps(opt, p, GRADS[:2])
    state = opt.state_dict()
    saved = p.numpy().copy()
    assert all(isinstance(v, np.ndarray | int | float) for v in state.values())
    run_steps(opt, p, GRADS[2:])

    if via_savez:  # what a checkpoint file does to it: every value becomes an array
        buffer = io.BytesIO()
        np.savez(buffer, **state)
        buffer.seek(0)
        state = dict(np.load(buffer))
    q = param(saved)
    other = cls([q], **{**kwargs, "lr": 123.0})  # lr comes back from the state too
    other.load_state_dict(state)
    assert other.lr == kwargs["lr"]
    run_steps(other, q, GRADS[2:])
    np.testing.assert_array_equal(q.numpy(), p.numpy())


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS[1:], ids=IDS[1:])
def test_state_dict_is_a_copy(cls, kwargs):
    p = param()
    opt = cls([p], **kwargs)
    run_steps(opt, p, GRADS[:1])
    state = opt.state_dict()
    before = {k: np.array(v, copy=True) for k, v in state.items()}
    run_steps(opt, p, GRADS[1:2])
    for k, v in state.items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS[1:], ids=IDS[1:])
def test_load_state_dict_wrong_shape(cls, kwargs):
    p = param()
    opt = cls([p], **kwargs)
    run_steps(opt, p, GRADS[:1])
    state = opt.state_dict()
    other = cls([param(np.zeros(4))], **kwargs)
    with pytest.raises(ValueError, match=r"\.0 has shape \(2, 3\), expected \(4,\)"):
        other.load_state_dict(state)


def test_load_state_dict_refuses_another_optimizers_state():
    """An SGD state (momentum_buffer.0) or an older Adam's (m_sum.0) must not load as a silent restart."""
    p = param()
    sgd = optim.SGD([p], lr=0.1, momentum=0.9)
    run_steps(sgd, p, GRADS[:1])
    adam = optim.Adam([param()])
    with pytest.raises(ValueError, match=r"missing \['t'\], unexpected \['momentum_buffer.0'\]"):
        adam.load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match=r"unexpected \['m_sum.0'\]"):
        adam.load_state_dict({"lr": 0.1, "t": 3, "m_sum.0": np.zeros((2, 3))})


@pytest.mark.parametrize("state", [[1, 2], None, "state.npz", np.zeros(3)], ids=["list", "none", "str", "array"])
def test_load_state_dict_refuses_what_is_not_a_state_dict(state):
    with pytest.raises(TypeError, match=r"Adam.load_state_dict takes a dict of name -> array as state_dict\(\) returns, got a "):
        optim.Adam([param()]).load_state_dict(state)


def _adam_state(steps=1, params=2):
    ps = [param() for _ in range(params)]
    adam = optim.Adam(ps)
    for p in ps:
        p.grad = backend.as_array(GRADS[0], p.dtype)
    for _ in range(steps):
        adam.step()
    return adam.state_dict()


@pytest.mark.parametrize("change, pattern", [
    (lambda s: s.update({"m.2": s["m.0"], "v.2": s["v.0"]}), r"unexpected \['m.2', 'v.2'\]"),
    (lambda s: s.update({"m.x": s["m.0"]}), r"unexpected \['m.x'\]"),
    (lambda s: s.pop("v.1"), r"parameter 1 has \['m.1'\] but not all of \['m.1', 'v.1'\]"),
    (lambda s: s.pop("t"), r"missing \['t'\]"),
    (lambda s: s.pop("lr"), r"missing \['lr'\]"),
    (lambda s: s.update({"v.0": 1.0}), r"v.0 has shape \(\), expected \(2, 3\)"),
], ids=["larger-model", "bad-index", "m-without-v", "no-t", "no-lr", "a-number"])
def test_load_state_dict_refuses_an_incomplete_or_foreign_state(change, pattern):
    state = _adam_state()
    change(state)
    adam = optim.Adam([param(), param()], lr=0.5)
    with pytest.raises(ValueError, match=pattern):
        adam.load_state_dict(state)
    assert adam.lr == 0.5 and adam.t == 0 and adam.m == [None, None]  # nothing changed


def test_load_state_dict_forgets_what_the_state_does_not_have():
    """A parameter never stepped in the saved run has no moments there: loading clears this run's."""
    state = _adam_state()
    del state["m.1"], state["v.1"]
    adam = optim.Adam([param(), param()])
    adam.load_state_dict(_adam_state(steps=3))
    adam.load_state_dict(state)
    assert adam.t == 1 and adam.m[1] is None and adam.v[1] is None
    np.testing.assert_array_equal(host(adam.m[0]), state["m.0"])


@pytest.mark.parametrize("make, pattern", [
    (lambda ps: optim.SGD(ps, lr=0), "lr must be a positive number"),
    (lambda ps: optim.SGD(ps, lr=-0.1), "lr must be a positive number"),
    (lambda ps: optim.SGD(ps, lr=float("nan")), "lr must be a positive number"),
    (lambda ps: optim.SGD(ps, lr=float("inf")), "lr must be a positive number"),
    (lambda ps: optim.SGD(ps, lr="0.1"), "lr must be a positive number"),
    (lambda ps: optim.SGD(ps, lr=None), "lr must be a positive number"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=1.0), "momentum must be a number in"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum=-0.5), "momentum must be a number in"),
    (lambda ps: optim.Adam(ps, lr=0), "lr must be a positive number"),
    (lambda ps: optim.Adam(ps, betas=(1.0, 0.999)), "betas must be two numbers"),
    (lambda ps: optim.Adam(ps, betas=(0.9, 1.5)), "betas must be two numbers"),
    (lambda ps: optim.Adam(ps, betas=(-0.1, 0.9)), "betas must be two numbers"),
    (lambda ps: optim.Adam(ps, eps=-1e-8), "eps must be a number >= 0"),
    (lambda ps: optim.SGD(ps, lr=True), "lr must be a positive number"),
    (lambda ps: optim.SGD(ps, lr=0.1, momentum="0.9"), "momentum must be a number in"),
    (lambda ps: optim.Adam(ps, betas=(0.9,)), r"betas must be two numbers \(b1, b2\), each in \[0, 1\), got \(0.9,\)"),
    (lambda ps: optim.Adam(ps, betas=0.9), "betas must be two numbers"),
    (lambda ps: optim.Adam(ps, betas=("0.9", 0.999)), "betas must be two numbers"),
    (lambda ps: optim.Adam(ps, eps=None), "eps must be a number >= 0, got None"),
    (lambda ps: optim.Adam(ps, eps=float("nan")), "eps must be a number >= 0"),
    (lambda ps: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda ps: optim.Adam(iter([])), "empty parameter list"),
])
def test_bad_hyperparameters(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make([param()])


def test_numpy_numbers_are_accepted():
    sgd = optim.SGD([param()], lr=np.float32(0.1), momentum=np.float64(0.9))
    adam = optim.Adam([param()], lr=np.float64(0.01), betas=[np.float32(0.5), 0.9], eps=np.float32(1e-7))
    assert sgd.lr == pytest.approx(0.1) and isinstance(sgd.lr, float)
    assert adam.betas == (0.5, 0.9) and adam.eps == pytest.approx(1e-7)


def test_parameters_may_be_a_generator():
    model = nn.Dense(2, 2)
    opt = optim.SGD((p for p in model.parameters()), lr=0.1)
    assert len(opt.params) == 2


@pytest.mark.parametrize("cls, kwargs", OPTIMIZERS, ids=IDS)
def test_a_small_regression_learns(cls, kwargs):
    backend.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((32, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3
    model = nn.Dense(3, 1)
    opt = cls(model.parameters(), **{**kwargs, "lr": 0.1})
    loss_fn = losses.MSELoss()
    first = None
    for _ in range(100):
        opt.zero_grad()
        loss = loss_fn(model(Tensor(x)), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.1 * first


def test_optimizers_reject_a_parameter_listed_twice():
    p, q = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(2))
    for make in (lambda ps: optim.SGD(ps, lr=0.1), lambda ps: optim.Adam(ps)):
        with pytest.raises(ValueError, match="parameter 2 is parameter 0 again"):
            make([p, q, p])


class NotAModel:
    pass


@pytest.mark.parametrize("make, error, pattern", [
    (lambda: optim.Adam(nn.Dense(2, 2)), TypeError, r"Adam got a Dense, a model: pass model.parameters\(\)"),
    (lambda: optim.SGD(nn.Sequential(nn.Dense(2, 2)), lr=0.1), TypeError, r"model.parameters\(\)"),
    (lambda: optim.SGD([np.zeros(3)], lr=0.1), TypeError,
     r"SGD: parameter 0 is a ndarray; an optimizer takes Tensors that require grad"),
    (lambda: optim.Adam([param(), Tensor(np.zeros(3))]), TypeError,
     r"Adam: parameter 1 is a Tensor with requires_grad=False"),
    (lambda: optim.Adam([param(), 3.0]), TypeError, r"parameter 1 is a float"),
    (lambda: optim.Adam(param()), TypeError, r"Adam takes a list of Tensors that require grad, got a Parameter"),
    (lambda: optim.SGD(NotAModel(), lr=0.1), TypeError, r"SGD takes a list of Tensors that require grad, got a NotAModel"),
])
def test_optimizers_refuse_what_is_not_a_list_of_trainable_tensors_at_construction(make, error, pattern):
    with pytest.raises(error, match=pattern):
        make()


def test_a_tensor_that_requires_grad_is_accepted():
    x = Tensor(np.zeros(2), requires_grad=True)
    opt = optim.SGD([x], lr=0.5)
    x.grad = backend.as_array(np.array([1.0, -2.0]), x.dtype)
    opt.step()
    np.testing.assert_array_equal(x.numpy(), [-0.5, 1.0])
