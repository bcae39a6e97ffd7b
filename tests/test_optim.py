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
    np.testing.assert_array_equal(host(grad), GRADS[0])  # the velocity is a copy, updated in place


# ----- Adam --------------------------------------------------------------------------------------

def adam_by_hand(p, grads, lr, b1, b2, eps, v_floor=optim.Adam.V_FLOOR):
    """Kingma & Ba, Algorithm 1, with the bias correction by t, and v floored at every step (Adam
    floors it every FLUSH_EVERY steps; either way the floor keeps 0 / 0 away when eps = 0)."""
    p = p.copy()
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = np.maximum(b2 * v + (1 - b2) * g * g, v_floor)
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p, m, v


@pytest.mark.parametrize("lr, betas, eps", [(1e-3, (0.9, 0.999), 1e-8), (0.1, (0.5, 0.9), 1e-3),
                                            (0.05, (0.0, 0.0), 0.0)])
def test_adam_three_steps(lr, betas, eps):
    p = param()
    opt = optim.Adam([p], lr=lr, betas=betas, eps=eps)
    run_steps(opt, p, GRADS[:3])
    expected, m, v = adam_by_hand(P0, GRADS[:3], lr, *betas, eps)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(host(opt.m[0]), m, rtol=1e-12, atol=1e-300)
    # v's floor (1e-35, where the gradient is always 0) is far below anything that moves a weight
    np.testing.assert_allclose(host(opt.v[0]), v, rtol=1e-12, atol=2 * optim.Adam.V_FLOOR)
    assert opt.t == 3


class TextbookAdam(optim.Optimizer):
    """Kingma & Ba's Algorithm 1 as written: averages m and v, bias-corrected each step."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        super().__init__(params, lr)
        self.b1, self.b2, self.eps, self.t = b1, b2, eps, 0
        self.moments = [(np.zeros(p.shape), np.zeros(p.shape)) for p in self.params]

    def step(self):
        self.t += 1
        for p, (m, v) in zip(self.params, self.moments):
            g = host(p.grad)
            m[...] = self.b1 * m + (1 - self.b1) * g
            v[...] = self.b2 * v + (1 - self.b2) * g * g
            m_hat, v_hat = m / (1 - self.b1**self.t), v / (1 - self.b2**self.t)
            p.data -= backend.as_array(self.lr * m_hat / (np.sqrt(v_hat) + self.eps), p.dtype)


def test_adam_weighted_sums_train_like_the_textbook_form():
    """64 float64 steps of a small autoencoder: optim.Adam (weighted sums, 10 passes) and Algorithm 1
    as written follow the same trajectory; only rounding separates them."""
    x = np.random.default_rng(0).random((64, 20))
    trained = []
    for make_optimizer in (optim.Adam, TextbookAdam):
        backend.manual_seed(0)
        model = nn.Sequential(nn.Dense(20, 16), nn.ReLU(), nn.Dense(16, 20), nn.Sigmoid())
        for p in model.parameters():
            p.data = backend.as_array(host(p.data), np.float64)
        initial = np.concatenate([host(p.data).ravel() for p in model.parameters()])
        opt, loss_fn = make_optimizer(model.parameters(), lr=1e-2), losses.L1Loss()
        for step in range(64):
            batch = Tensor(x[(step % 8) * 8:(step % 8 + 1) * 8])
            opt.zero_grad()
            loss_fn(model(batch), batch).backward()
            opt.step()
        trained.append(np.concatenate([host(p.data).ravel() for p in model.parameters()]))
    np.testing.assert_allclose(trained[0], trained[1], rtol=1e-10, atol=1e-12)
    assert np.abs(trained[0] - initial).max() > 0.05  # the weights really moved: not a trivial agreement


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


@pytest.mark.parametrize("b2", [0.999, 0.9, 0.5, 0.0])
def test_adam_floors_v_for_zero_gradients(b2):
    """v of an always-zero gradient stays between V_FLOOR * b2^FLUSH_EVERY and V_FLOOR: never
    denormal (nor 0, which with eps = 0 would make 0 / 0), and the weight never moves."""
    p = param(dtype=np.float32)
    opt = optim.Adam([p], lr=0.01, betas=(0.9, b2), eps=0.0)
    zero_at_1_1 = np.ones((2, 3), dtype=np.float32)
    zero_at_1_1[1, 1] = 0
    lowest = optim.Adam.V_FLOOR * max(b2**optim.Adam.FLUSH_EVERY, 1e-2)
    for _ in range(3 * optim.Adam.FLUSH_EVERY):
        run_steps(opt, p, [zero_at_1_1])
        v = host(opt.v[0])[1, 1]
        assert lowest * 0.999 <= v <= optim.Adam.V_FLOOR * 1.001, f"v = {v} at step {opt.t}"
        assert host(opt.v_sum[0])[1, 1] >= np.finfo(np.float32).tiny
    assert p.numpy()[1, 1] == np.float32(P0[1, 1])
    assert np.all(np.isfinite(p.numpy()))
    assert optim.Adam.V_FLOOR == 1e-35 and np.float32(1e-35) >= np.finfo(np.float32).tiny


def test_adam_keeps_float32():
    p = param(dtype=np.float32)
    opt = optim.Adam([p])
    run_steps(opt, p, GRADS[:2])
    assert p.dtype == np.float32 and opt.m[0].dtype == np.float32 and opt.v[0].dtype == np.float32
    expected, _, _ = adam_by_hand(P0, GRADS[:2], 1e-3, 0.9, 0.999, 1e-8)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-5, atol=1e-6)


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
    with pytest.raises(ValueError, match=r"has shape \(2, 3\), parameter 0 has shape \(4,\)"):
        other.load_state_dict(state)


def test_load_state_dict_refuses_another_optimizers_state():
    """An SGD state (velocity.0) or an older Adam's (m.0) must not load as a silent restart of Adam."""
    p = param()
    sgd = optim.SGD([p], lr=0.1, momentum=0.9)
    run_steps(sgd, p, GRADS[:1])
    adam = optim.Adam([param()])
    with pytest.raises(ValueError, match=r"unknown entries \['velocity.0'\].*'m_sum', 'v_sum'"):
        adam.load_state_dict(sgd.state_dict())
    with pytest.raises(ValueError, match=r"unknown entries \['m.0'\]"):
        adam.load_state_dict({"lr": 0.1, "t": 3, "m.0": np.zeros((2, 3))})


def _adam_state(steps=1, params=2):
    ps = [param() for _ in range(params)]
    adam = optim.Adam(ps)
    for p in ps:
        p.grad = backend.as_array(GRADS[0], p.dtype)
    for _ in range(steps):
        adam.step()
    return adam.state_dict()


@pytest.mark.parametrize("change, pattern", [
    (lambda s: s.update({"m_sum.2": s["m_sum.0"], "v_sum.2": s["v_sum.0"]}),
     r"'m_sum.2' names no parameter: this optimizer has 2, indices 0 to 1"),
    (lambda s: s.update({"m_sum.x": s["m_sum.0"]}), r"'m_sum.x' names no parameter"),
    (lambda s: s.pop("v_sum.1"), r"parameter 1 has \['m_sum.1'\] but not \['v_sum.1'\]"),
    (lambda s: s.pop("t"), r"missing entries \['t'\]"),
    (lambda s: s.pop("lr"), r"missing entries \['lr'\]"),
    (lambda s: s.update({"v_sum.0": 1.0}), r"v_sum.0 has shape \(\), parameter 0 has shape \(2, 3\)"),
], ids=["larger-model", "bad-index", "m-without-v", "no-t", "no-lr", "a-number"])
def test_load_state_dict_refuses_an_incomplete_or_foreign_state(change, pattern):
    state = _adam_state()
    change(state)
    adam = optim.Adam([param(), param()], lr=0.5)
    with pytest.raises(ValueError, match=pattern):
        adam.load_state_dict(state)
    assert adam.lr == 0.5 and adam.t == 0 and adam.m_sum == [None, None]  # nothing changed


def test_load_state_dict_forgets_what_the_state_does_not_have():
    """A parameter never stepped in the saved run has no moments there: loading clears this run's."""
    state = _adam_state()
    del state["m_sum.1"], state["v_sum.1"]
    adam = optim.Adam([param(), param()])
    adam.load_state_dict(_adam_state(steps=3))
    adam.load_state_dict(state)
    assert adam.t == 1 and adam.m_sum[1] is None and adam.v_sum[1] is None
    np.testing.assert_array_equal(host(adam.m_sum[0]), state["m_sum.0"])


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
