"""Optimizers: each reads every parameter's ``.grad`` and updates its ``.data`` in place. A training
step, as in PyTorch:  ``optimizer.zero_grad(); loss.backward(); optimizer.step()``."""

import math

from . import backend
from .checks import check_parameters, check_real, is_real, read_state


def flush_denormals_to_zero(*arrays):
    """Set every entry smaller in size than the smallest normal float to 0, in place. Such denormal
    numbers slow many x86 processors down; Adam's m and v sink into them where a gradient stays 0."""
    for a in arrays:
        a *= backend.xp.abs(a) >= backend.xp.finfo(a.dtype).tiny


class Optimizer:
    """The parameters, the learning rate, per parameter the arrays named in ``state_names`` (each an
    attribute: a list, None until that parameter's first step), and the numbers in ``scalar_names``."""

    state_names, scalar_names = (), ()

    def __init__(self, params, lr):
        name = type(self).__name__
        self.params = check_parameters(name, params)
        self.lr = check_real(name, "lr", lr, "a positive number", lambda lr: 0 < lr < math.inf)
        for state_name in self.state_names:
            setattr(self, state_name, [None] * len(self.params))

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        raise NotImplementedError

    def state_dict(self):
        """``lr``, the scalars, and ``<name>.<parameter index>`` per array, as host copies (for ``np.savez``)."""
        state = {"lr": self.lr, **{s: getattr(self, s) for s in self.scalar_names}}
        for name in self.state_names:
            state.update({f"{name}.{i}": backend.to_numpy(a).copy() for i, a in enumerate(getattr(self, name))
                          if a is not None})
        return state

    def load_state_dict(self, state):
        """Restore a ``state_dict()`` (also one saved by ``np.savez``); nothing changes unless all of it fits."""
        where = f"{type(self).__name__}.load_state_dict"
        arrays = {f"{name}.{i}": (p.shape, p.dtype) for name in self.state_names for i, p in enumerate(self.params)}
        scalars = {name: ((), "float64") for name in ("lr", *self.scalar_names)}
        values = read_state(where, state, scalars | arrays, optional=arrays.keys())
        for i in range(len(self.params)):  # a parameter has all its arrays, or none (never stepped)
            keys = [f"{name}.{i}" for name in self.state_names]
            if 0 < sum(key in values for key in keys) < len(keys):
                raise ValueError(f"{where}: parameter {i} has {[k for k in keys if k in values]} but not all of {keys}")
        self.lr = float(values["lr"])
        for name in self.scalar_names:
            setattr(self, name, int(values[name]))
        for name in self.state_names:
            setattr(self, name, [values.get(f"{name}.{i}") for i in range(len(self.params))])


class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as PyTorch writes it (p a parameter, g its gradient):

        b <- momentum * b + g          (b = g at the first step)
        p <- p - lr * b                (momentum = 0: p <- p - lr * g)
    """

    state_names = ("momentum_buffer",)

    def __init__(self, params, lr, momentum=0.0):
        super().__init__(params, lr)
        self.momentum = check_real("SGD", "momentum", momentum, "a number in [0, 1)", lambda m: 0 <= m < 1)

    def step(self):
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            if self.momentum:
                if self.momentum_buffer[i] is None:
                    self.momentum_buffer[i] = g.copy()
                else:
                    self.momentum_buffer[i] *= self.momentum
                    self.momentum_buffer[i] += g
                g = self.momentum_buffer[i]
            p.data -= self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015, Algorithm 1). For a parameter p with gradient g at step t = 1, 2, ...:

        m <- b1 * m + (1 - b1) * g             a running average of the gradient (m, v start at 0)
        v <- b2 * v + (1 - b2) * g * g         ... and of its square
        m_hat = m / (1 - b1^t)                 bias correction: undoes the start at 0
        v_hat = v / (1 - b2^t)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    Every FLUSH_EVERY steps, m and v go through ``flush_denormals_to_zero``.
    """

    state_names, scalar_names = ("m", "v"), ("t",)
    FLUSH_EVERY = 100

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        if not (hasattr(betas, "__len__") and len(betas) == 2 and all(is_real(b) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"Adam: betas must be two numbers (b1, b2), each in [0, 1), got {betas!r}")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = check_real("Adam", "eps", eps, "a number >= 0", lambda eps: 0 <= eps < math.inf)
        self.t = 0

    def step(self):
        b1, b2 = self.betas
        self.t += 1
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            if self.m[i] is None:
                self.m[i], self.v[i] = backend.xp.zeros_like(p.data), backend.xp.zeros_like(p.data)
            m, v = self.m[i], self.v[i]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1**self.t)
            v_hat = v / (1 - b2**self.t)
            p.data -= self.lr * m_hat / (backend.xp.sqrt(v_hat) + self.eps)
            if self.t % self.FLUSH_EVERY == 0:
                flush_denormals_to_zero(m, v)
