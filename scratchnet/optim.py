"""Optimizers: they read each parameter's ``.grad`` and update ``.data`` in place.

Usage, as in PyTorch:  ``optimizer.zero_grad(); loss.backward(); optimizer.step()``.
"""

from __future__ import annotations

import math

from . import backend
from .checks import is_real


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        first_index = {}
        for i, p in enumerate(self.params):
            if id(p) in first_index:  # it would be updated twice per step
                raise ValueError(f"{type(self).__name__}: parameter {i} is parameter {first_index[id(p)]} "
                                 f"again; list each parameter once (model.parameters() does)")
            first_index[id(p)] = i
        if not (is_real(lr) and lr > 0 and math.isfinite(lr)):
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
        """Restore a ``state_dict``. All of it is checked before anything changes: every entry known,
        every scalar there, each array for an existing parameter, with that parameter's shape, and a
        parameter's arrays (Adam's m_sum and v_sum) all there or all absent (never stepped)."""
        where = f"{type(self).__name__}.load_state_dict"
        scalars = {"lr", *self._scalars()}
        arrays = self._state_arrays()
        unknown = sorted(k for k in state if k not in scalars and k.rpartition(".")[0] not in arrays)
        if unknown:
            raise ValueError(f"{where}: unknown entries {unknown[:5]}; "
                             f"this optimizer's state has 'lr', {sorted(scalars - {'lr'})} and "
                             f"'<name>.<index>' for name in {sorted(arrays)}")
        missing = sorted(scalars - set(state))
        if missing:
            raise ValueError(f"{where}: missing entries {missing}; a state_dict() has all of {sorted(scalars)}")
        for key in state:
            index = key.rpartition(".")[2]
            if key not in scalars and not (index.isdigit() and int(index) < len(self.params)):
                raise ValueError(f"{where}: {key!r} names no parameter: this optimizer has "
                                 f"{len(self.params)}, indices 0 to {len(self.params) - 1} "
                                 f"(a state from another model?)")
        for i, p in enumerate(self.params):
            present = [name for name in arrays if f"{name}.{i}" in state]
            if present and len(present) != len(arrays):
                absent = [f"{name}.{i}" for name in arrays if name not in present]
                raise ValueError(f"{where}: parameter {i} has {[f'{name}.{i}' for name in present]} but not "
                                 f"{absent}; a parameter's arrays come together")
            for name in present:
                shape = tuple(getattr(state[f"{name}.{i}"], "shape", ()))  # a number: shape ()
                if shape != p.shape:
                    raise ValueError(f"optimizer state {name}.{i} has shape {shape}, parameter {i} has shape {p.shape}")
        self.lr = float(state["lr"])
        for name, values in arrays.items():
            for i, p in enumerate(self.params):
                key = f"{name}.{i}"
                values[i] = backend.as_array(state[key], p.dtype).copy() if key in state else None
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
        if not (is_real(momentum) and 0.0 <= momentum < 1.0):
            raise ValueError(f"SGD: momentum must be a number in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
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

    How it is computed. m_hat is a weighted average of the gradients so far, g_t with weight 1,
    g_(t-1) with weight b1, and so on: a weighted sum divided by the sum of the weights,
    1 + b1 + ... + b1^(t-1) = (1 - b1^t) / (1 - b1). So Adam keeps the sums themselves,

        m_sum <- b1 m_sum + g              v_sum <- b2 v_sum + g^2

    (m = (1 - b1) m_sum and v = (1 - b2) v_sum), and divides by the weights' totals in the step size
    and eps, which are numbers, not arrays:

        p <- p - step_size * m_sum / (sqrt(v_sum) + eps_hat),
        step_size = lr * (1 - b1) / (1 - b1^t) / r,  eps_hat = eps / r,  r = sqrt((1 - b2) / (1 - b2^t))

    The same update, in 10 passes over the parameters instead of 13. ``m`` and ``v`` give the
    textbook averages; ``state_dict`` stores the sums, so a resumed run continues bit for bit.

    Denormals. For a unit whose gradient is exactly 0 (a dead ReLU), v_sum and m_sum decay by b2 and
    b1 each step into denormal numbers, which many x86 processors handle up to 100 times slower.
    Every FLUSH_EVERY steps, v is floored at V_FLOOR = 1e-35 (a normal float32; the floor changes
    sqrt(v_hat) by less than 1e-17, far below eps), on a floor that stays normal until the next time.
    m cannot be floored (it has a sign). Worse, it never reaches 0 by itself: 0.9 times the smallest
    float32 denormal rounds back to that denormal. So at the same steps m_sum += M_FLUSH;
    m_sum -= M_FLUSH: every float32 |m_sum| below about 3e-33 becomes exactly 0 (the sum rounds it
    away), every |m_sum| above 2e-18 stays bit for bit the same, and values in between move by less
    than 3e-28, nothing next to eps. An m_sum that survives (>= 3e-33) needs 118 steps at b1 = 0.9 to
    decay to a denormal (< 1.2e-38), more than FLUSH_EVERY: with b1 >= 0.83, m is never denormal.

    The update runs in place through one scratch array, so a step allocates nothing.
    """

    V_FLOOR = 1e-35
    M_FLUSH = 1e-25
    FLUSH_EVERY = 64

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr)
        if not (getattr(betas, "__len__", None) and len(betas) == 2
                and all(is_real(b) and 0.0 <= b < 1.0 for b in betas)):
            raise ValueError(f"Adam: betas must be two numbers (b1, b2), each in [0, 1), got {betas!r}")
        b1, b2 = betas
        if not (is_real(eps) and 0 <= eps < math.inf):
            raise ValueError(f"Adam: eps must be a number >= 0, got {eps!r}")
        self.betas, self.eps = (float(b1), float(b2)), float(eps)
        self.t = 0
        self.m_sum = [None] * len(self.params)
        self.v_sum = [None] * len(self.params)
        self._work = {}  # dtype -> one flat scratch array, as long as the largest parameter
        self._work_views = {}  # parameter index -> its view of that array

    @property
    def m(self):
        """The first moments m = (1 - b1) m_sum, one array (or None) per parameter (copies)."""
        return [None if s is None else s * (1.0 - self.betas[0]) for s in self.m_sum]

    @property
    def v(self):
        """The second moments v = (1 - b2) v_sum, one array (or None) per parameter (copies)."""
        return [None if s is None else s * (1.0 - self.betas[1]) for s in self.v_sum]

    def _scratch(self, i):
        """A scratch array of parameter i's shape and dtype: a view of one buffer shared by all."""
        view = self._work_views.get(i)
        if view is None:
            p = self.params[i]
            flat = self._work.get(p.dtype)
            if flat is None:  # sized for the largest parameter, so one buffer serves them all
                flat = self._work[p.dtype] = backend.xp.empty(max(q.size for q in self.params), dtype=p.dtype)
            view = self._work_views[i] = flat[: p.size].reshape(p.shape)
        return view

    def _flush_due(self):
        """Whether this step floors v_sum and flushes m_sum: every FLUSH_EVERY steps, or every step
        when b2 is so small that the floor would decay into the denormals in between."""
        b2 = self.betas[1]
        return self.t % self.FLUSH_EVERY == 0 or b2**self.FLUSH_EVERY < 1e-2

    def step(self):
        xp = backend.xp
        b1, b2 = self.betas
        self.t += 1
        r = math.sqrt((1.0 - b2) / (1.0 - b2**self.t))
        step_size = self.lr * (1.0 - b1) / (1.0 - b1**self.t) / r
        eps_hat = self.eps / r
        v_sum_floor = self.V_FLOOR / (1.0 - b2)
        flush = self._flush_due()
        for i, p in enumerate(self.params):
            g = p.grad
            if g is None:
                continue
            if self.m_sum[i] is None:
                self.m_sum[i] = xp.zeros_like(p.data)
                self.v_sum[i] = xp.full_like(p.data, v_sum_floor)
            m_sum, v_sum, work = self.m_sum[i], self.v_sum[i], self._scratch(i)
            m_sum *= b1  # m_sum <- b1 m_sum + g
            m_sum += g
            v_sum *= b2  # v_sum <- b2 v_sum + g^2
            v_sum += xp.multiply(g, g, out=work)
            if flush:
                xp.maximum(v_sum, v_sum_floor, out=v_sum)
                m_sum += self.M_FLUSH
                m_sum -= self.M_FLUSH
            denom = xp.sqrt(v_sum, out=work)  # p <- p - step_size * m_sum / (sqrt(v_sum) + eps_hat)
            denom += eps_hat
            update = xp.divide(m_sum, denom, out=work)
            update *= step_size
            p.data -= update

    def _state_arrays(self):
        return {"m_sum": self.m_sum, "v_sum": self.v_sum}

    def _scalars(self):
        return {"t": self.t}

    def _load_scalars(self, state):
        self.t = int(state["t"])
