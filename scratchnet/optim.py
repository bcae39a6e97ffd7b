"""Optimizers: they read each parameter's ``.grad`` and update ``.data`` in place.

Usage, as in PyTorch:  ``optimizer.zero_grad(); loss.backward(); optimizer.step()``.
"""

from __future__ import annotations

import math

from . import backend


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not (isinstance(lr, int | float) and lr > 0 and math.isfinite(lr)):
            raise ValueError(f"{type(self).__name__}: lr must be a positive number, got {lr!r}")
        self.lr = float(lr)

    def zero_grad(self):
        """Forget the gradients of the last step (backward accumulates otherwise)."""
        for p in self.params:
            p.grad = None

    def step(self):
        raise NotImplementedError

    def _state_arrays(self):
        """name -> list of per-parameter arrays (or None) that make up the optimizer's state."""
        return {}

    def state_dict(self):
        """The state as host NumPy arrays and numbers: fit for ``numpy.savez``."""
        state = {"lr": self.lr}
        for name, arrays in self._state_arrays().items():
            for i, a in enumerate(arrays):
                if a is not None:
                    state[f"{name}.{i}"] = backend.to_numpy(a).copy()
        state.update(self._scalars())
        return state

    def load_state_dict(self, state):
        self.lr = float(state["lr"])
        for name, arrays in self._state_arrays().items():
            for i, p in enumerate(self.params):
                key = f"{name}.{i}"
                if key in state:
                    if tuple(state[key].shape) != p.shape:
                        raise ValueError(f"optimizer state {key} has shape {tuple(state[key].shape)}, "
                                         f"parameter {i} has shape {p.shape}")
                    arrays[i] = backend.as_array(state[key], p.dtype).copy()
        self._load_scalars(state)

    def _scalars(self):
        return {}

    def _load_scalars(self, state):
        pass


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (PyTorch's form):

        v <- momentum * v + g
        p <- p - lr * v            (momentum = 0: p <- p - lr * g)
    """

    def __init__(self, params, lr, momentum=0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum!r}")
        self.momentum = momentum
        self.velocity = [None] * len(self.params)

    def step(self):
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            update = p.grad
            if self.momentum:
                if self.velocity[i] is None:
                    self.velocity[i] = backend.xp.array(p.grad, copy=True)
                else:
                    self.velocity[i] *= self.momentum
                    self.velocity[i] += p.grad
                update = self.velocity[i]
            p.data -= self.lr * update

    def _state_arrays(self):
        return {"velocity": self.velocity}


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015), with bias correction by the step count t:

        m <- b1 m + (1 - b1) g            v <- b2 v + (1 - b2) g^2
        m_hat = m / (1 - b1^t)            v_hat = v / (1 - b2^t)
        p <- p - lr * m_hat / (sqrt(v_hat) + eps)

    One practical detail: v is floored at 1e-35, a normal float32. For a unit whose gradient is
    exactly 0 (a dead ReLU), v decays by b2 each step into denormal numbers, which x86 processes up
    to 100 times slower; the floor changes sqrt(v_hat) by less than 1e-17, far below eps.

    m decays by b1 the same way, and it cannot be floored (it has a sign). Worse, it never reaches 0 by
    itself: 0.9 times the smallest float32 denormal rounds back to that denormal, so a dead unit's m
    would stay denormal forever. Every FLUSH_EVERY steps, m += M_FLUSH; m -= M_FLUSH sends every
    float32 |m| below about 3e-33 to exactly 0 (the sum rounds it away), leaves every |m| above 2e-18
    bit for bit unchanged, and moves values in between by less than 3e-28: nothing next to eps. An m
    that survives a flush (>= 3e-33) needs 118 steps at b1 = 0.9 to decay to a denormal (< 1.2e-38),
    more than FLUSH_EVERY: with b1 >= 0.83 m is never denormal, and a dead unit's m becomes exactly 0.

    The update runs in place through one scratch array, so a step allocates nothing.
    """

    V_FLOOR = 1e-35
    M_FLUSH = 1e-25
    FLUSH_EVERY = 64

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas!r}")
        if eps < 0:
            raise ValueError(f"Adam: eps must be >= 0, got {eps!r}")
        self.betas, self.eps = (float(b1), float(b2)), float(eps)
        self.t = 0
        self.m = [None] * len(self.params)
        self.v = [None] * len(self.params)
        self._work = {}  # dtype -> one flat scratch array, as long as the largest parameter

    def _scratch(self, p):
        """A scratch array of p's shape and dtype (a view of one shared buffer)."""
        flat = self._work.get(p.dtype)
        if flat is None:  # sized for the largest parameter, so one buffer serves them all
            flat = self._work[p.dtype] = backend.xp.empty(max(q.size for q in self.params), dtype=p.dtype)
        return flat[: p.size].reshape(p.shape)

    def step(self):
        xp = backend.xp
        b1, b2 = self.betas
        self.t += 1
        # fold both bias corrections into the step size and eps: same update, two fewer array passes
        correction1 = 1.0 - b1**self.t
        correction2 = 1.0 - b2**self.t
        step_size = self.lr * math.sqrt(correction2) / correction1
        eps_hat = self.eps * math.sqrt(correction2)
        flush = self.t % self.FLUSH_EVERY == 0
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            if self.m[i] is None:
                self.m[i] = xp.zeros_like(p.data)
                self.v[i] = xp.zeros_like(p.data)
            m, v, work = self.m[i], self.v[i], self._scratch(p)
            m *= b1  # m <- b1 m + (1 - b1) g
            m += xp.multiply(g, 1.0 - b1, out=work)
            v *= b2  # v <- b2 v + (1 - b2) g^2, floored
            work = xp.multiply(g, g, out=work)
            work *= 1.0 - b2
            v += work
            xp.maximum(v, self.V_FLOOR, out=v)
            denom = xp.sqrt(v, out=work)  # p <- p - step_size * m / (sqrt(v) + eps_hat)
            denom += eps_hat
            update = xp.divide(m, denom, out=work)
            update *= step_size
            p.data -= update
            if flush:
                m += self.M_FLUSH
                m -= self.M_FLUSH

    def _state_arrays(self):
        return {"m": self.m, "v": self.v}

    def _scalars(self):
        return {"t": self.t}

    def _load_scalars(self, state):
        self.t = int(state["t"])
