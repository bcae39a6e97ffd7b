"""The autograd engine: ``Tensor``, ``Function`` and reverse-mode ``backward`` (see docs/autograd.md).
Each op is a ``Function`` (``scratchnet/ops/``); its output remembers it as ``_ctx``."""

import contextlib

from . import backend

_grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Context manager (or decorator): no graph is recorded inside. Dropout follows ``Module.eval()``."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool: return _grad_enabled


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: broadcasting copies an input along new leading axes and along
    axes of size 1, so its gradient is the sum over those axes."""
    got = grad.shape
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape)))) if grad.ndim > len(shape) else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and i < grad.ndim and grad.shape[i] != 1)
    grad = grad.sum(axis=stretched, keepdims=True) if stretched else grad
    if grad.shape != shape:  # never reshape silently: that would hide a backward's wrong shape
        raise ValueError(f"a backward returned a gradient of shape {got}, which does not broadcast to "
                         f"its input's shape {shape}")
    return grad


class Function:
    """One differentiable op: ``forward(*arrays) -> array``, ``backward(grad) -> a gradient per input``.
    Its settings (an axis, a stride), keywords of ``apply``, become its attributes."""

    inputs: tuple = ()

    def __init__(self, **settings): self.__dict__.update(settings)
    def forward(self, *arrays): raise NotImplementedError
    def backward(self, grad): raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **settings) -> "Tensor":
        """Run the op on tensors (or arrays and numbers, taken as constants) and record it."""
        dtype = next((x.dtype for x in inputs if isinstance(x, Tensor)), None)
        tensors = tuple(x if isinstance(x, Tensor) else Tensor(x, dtype=dtype) for x in inputs)
        fn = cls(**settings)
        out = Tensor(fn.forward(*[t.data for t in tensors]), _wrap=True)
        if _grad_enabled and any(t.requires_grad for t in tensors):
            fn.inputs, out.requires_grad, out._ctx = tensors, True, fn
        return out


class Tensor:
    """An array (``.data``) that remembers how it was computed, and its gradient (``.grad``).
    Floating data keeps its dtype (float64 for gradient checks); anything else becomes float32."""

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "__weakref__")
    __array_priority__ = 1000  # ``ndarray * Tensor`` calls ``Tensor.__rmul__``

    def __init__(self, data, requires_grad=False, dtype=None, _wrap=False):
        self.data = data if _wrap else backend.as_array(_raw(data), dtype)
        self.grad, self.requires_grad, self._ctx = None, bool(requires_grad), None
        if self.requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require gradients, got {self.data.dtype}")

    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)

    def __len__(self): return len(self.data)
    def numpy(self): return backend.to_numpy(self.data)  # on the host (copied from the GPU on CuPy)
    def item(self) -> float: return self.data.item()
    def detach(self) -> "Tensor": return Tensor(self.data, _wrap=True)  # same memory, out of the graph

    def __repr__(self): return f"Tensor({self.numpy()!r}{', requires_grad=True' if self.requires_grad else ''})"

    # ----- reverse mode ---------------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Add d(self)/d(leaf) * ``grad`` to the ``.grad`` of every leaf that requires it. ``grad``
        defaults to 1 for a one-element tensor (a loss). Gradients add up until cleared (``zero_grad``)."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no graph was recorded)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() needs a grad for a non-scalar tensor of shape {self.shape}")
            grad = backend.xp.ones_like(self.data)
        grad = backend.as_array(_raw(grad), self.dtype)
        if grad.shape != self.shape:
            raise ValueError(f"backward() got a grad of shape {grad.shape} for a tensor of shape {self.shape}")

        grads = {self: grad}  # tensor -> dL/d(tensor) so far (tensors hash by identity)
        for node in reversed(self._topological_order()):  # each node after every tensor that uses it
            grad = grads.pop(node)
            if node._ctx is None:  # a leaf: keep a copy of its first gradient, add later ones into it
                if node.grad is None:
                    node.grad = grad.copy(order="K")  # K: in the gradient's own memory order
                else:
                    node.grad += grad
                continue
            input_grads = node._ctx.backward(grad)
            for parent, g in zip(node._ctx.inputs, input_grads if isinstance(input_grads, tuple) else (input_grads,)):
                if g is not None and parent.requires_grad:
                    g = unbroadcast(g, parent.shape)
                    grads[parent] = grads[parent] + g if parent in grads else g

    def _topological_order(self):
        """Every tensor this one depends on that requires grad, each listed after all its inputs: a
        depth-first walk with an explicit stack (no recursion, so a graph of any depth works)."""
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))  # comes back here once its inputs are listed
                if node._ctx is not None:
                    stack.extend((t, False) for t in node._ctx.inputs if t.requires_grad and t not in seen)
        return order

    # ----- operators and methods (the ops live in scratchnet/ops) ------------------------------------
    def __add__(self, other): return _ops.Add.apply(self, other)
    def __radd__(self, other): return _ops.Add.apply(other, self)
    def __sub__(self, other): return _ops.Sub.apply(self, other)
    def __rsub__(self, other): return _ops.Sub.apply(other, self)
    def __mul__(self, other): return _ops.Mul.apply(self, other)
    def __rmul__(self, other): return _ops.Mul.apply(other, self)
    def __truediv__(self, other): return _ops.Div.apply(self, other)
    def __rtruediv__(self, other): return _ops.Div.apply(other, self)
    def __matmul__(self, other): return _ops.MatMul.apply(self, other)
    def __rmatmul__(self, other): return _ops.MatMul.apply(other, self)
    def __neg__(self): return _ops.Neg.apply(self)
    def __getitem__(self, index): return _ops.GetItem.apply(self, index=_raw(index))
    # comparisons give boolean arrays, without gradient
    def __lt__(self, other): return self.data < _raw(other)
    def __le__(self, other): return self.data <= _raw(other)
    def __gt__(self, other): return self.data > _raw(other)
    def __ge__(self, other): return self.data >= _raw(other)
    __hash__ = object.__hash__

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor) or not isinstance(exponent, int | float):
            raise TypeError(f"Tensor ** accepts a Python int or float exponent, got {type(exponent).__name__}")
        return _ops.PowScalar.apply(self, p=exponent)

    def sum(self, axis=None, keepdims=False): return _ops.Sum.apply(self, axis=axis, keepdims=keepdims)
    def mean(self, axis=None, keepdims=False): return _ops.Mean.apply(self, axis=axis, keepdims=keepdims)
    def max(self, axis=None, keepdims=False): return _ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return _ops.Reshape.apply(self, new_shape=tuple(shape))

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], tuple | list)):
            axes = axes[0]
        return _ops.Transpose.apply(self, axes=tuple(axes) if axes else None)

    T = property(transpose)

    def exp(self): return _ops.Exp.apply(self)
    def log(self): return _ops.Log.apply(self)
    def abs(self): return _ops.Abs.apply(self)
    def relu(self): return _ops.ReLU.apply(self)
    def sigmoid(self): return _ops.Sigmoid.apply(self)
    def tanh(self): return _ops.Tanh.apply(self)
    def clip(self, low=None, high=None): return _ops.Clip.apply(self, low=low, high=high)
    def softmax(self, axis=-1): return self.log_softmax(axis).exp()  # exp(x - log sum exp(x))
    def log_softmax(self, axis=-1): return _ops.LogSoftmax.apply(self, axis=axis)


def _raw(x): return x.data if isinstance(x, Tensor) else x


from . import ops as _ops  # noqa: E402  (the ops need Tensor and Function defined first)
