"""The autograd engine: ``Tensor``, ``Function`` and reverse-mode ``backward``.

A ``Tensor`` holds a backend array (``.data``) and, once ``backward`` has run, the gradient of a
scalar loss with respect to it (``.grad``, same shape as ``.data``). Every operation on tensors is a
``Function`` subclass (see ``scratchnet/ops/``) with two methods on plain arrays:

    forward(*arrays)  -> output array            (saves on ``self`` what backward will need)
    backward(grad)    -> one gradient per input  (``grad`` has the output's shape)

``Function.apply`` runs ``forward`` and, when a gradient is wanted, records the function as the
output's ``_ctx`` together with its input tensors. ``Tensor.backward`` then walks that recorded graph
from the loss back to the leaves, newest tensor first (a reverse topological order), applying the
chain rule:

    dL/d(input) = backward(dL/d(output))

Broadcasting is undone in one place, ``unbroadcast``, so no op has to sum its gradient back to its
input's shape itself.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools

from . import backend

_grad_enabled = True
_creation_numbers = itertools.count()  # each Tensor's number: made after its inputs, so numbered higher


class no_grad(contextlib.ContextDecorator):
    """Context manager (or decorator) in which operations record no graph: for evaluation.

    It is separate from the training flag (``Module.train()/eval()``), which drives dropout.
    """

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous
        return False


def is_grad_enabled() -> bool:
    return _grad_enabled


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of size 1, so its gradient
    is the sum over those axes. ``grad`` has the broadcast (output) shape; the result has ``shape``.
    """
    if grad.shape == shape:
        return grad
    got = grad.shape
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and i < grad.ndim and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    if grad.shape != shape:  # never reshape silently: that would hide a backward's wrong shape
        raise ValueError(f"a backward returned a gradient of shape {got}, which does not broadcast to "
                         f"its input's shape {shape}")
    return grad


class Function:
    """One differentiable operation. Subclasses implement ``forward`` and ``backward`` on arrays.

    ``inputs`` (the input tensors) is set only when the graph is recorded. Non-array settings
    (an axis, a stride) are passed to ``apply`` as keywords and reach ``__init__``.
    """

    inputs: tuple = ()

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **settings) -> Tensor:
        """Run the op on tensors (or arrays and numbers, taken as constants) and record it."""
        tensors = _as_tensors(inputs)
        fn = cls(**settings)
        out = Tensor(fn.forward(*[t.data for t in tensors]), _wrap=True)
        if _grad_enabled and any(t.requires_grad for t in tensors):
            fn.inputs = tensors
            out.requires_grad = True
            out._ctx = fn
        return out

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _as_tensors(inputs):
    """Wrap arrays and Python numbers as constant tensors of the first tensor's dtype."""
    if all(isinstance(x, Tensor) for x in inputs):  # the common case: nothing to wrap
        return inputs
    dtype = next((x.data.dtype for x in inputs if isinstance(x, Tensor)), None)
    return tuple(x if isinstance(x, Tensor) else Tensor(x, dtype=dtype) for x in inputs)


class Tensor:
    """An array that remembers how it was computed, so gradients can flow back through it.

    ``Tensor(data, requires_grad=False, dtype=None)``: ``data`` is an array, a list or a number.
    Floating arrays keep their dtype (float64 for gradient checks); anything else becomes float32.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_number", "__weakref__")
    __array_priority__ = 1000  # ``ndarray * Tensor`` calls ``Tensor.__rmul__``

    def __init__(self, data, requires_grad=False, dtype=None, _wrap=False):
        if isinstance(data, Tensor):
            data = data.data
        self.data = data if _wrap else backend.as_array(data, dtype)
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._number = next(_creation_numbers)
        if self.requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require gradients, got {self.data.dtype}")

    # ----- what it is ---------------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def numpy(self):
        """The values as a NumPy array on the host (copied from the GPU when on CuPy)."""
        return backend.to_numpy(self.data)

    def item(self) -> float:
        return self.data.item()

    def detach(self) -> Tensor:
        """The same values, cut from the graph (shares memory, never requires grad)."""
        return Tensor(self.data, _wrap=True)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({self.numpy()!r}{grad})"

    # ----- reverse mode ---------------------------------------------------------------------------
    def backward(self, grad=None) -> None:
        """Accumulate d(self)/d(leaf) * ``grad`` into the ``.grad`` of every leaf that requires it.

        ``grad`` defaults to 1 for a single-element tensor (a loss). Gradients add up across calls
        until they are cleared (``optimizer.zero_grad()``). No leaf's ``.grad`` shares memory with
        ``grad`` or with another leaf's ``.grad``.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad (no graph was recorded)")
        given = set()  # ids of the memory owners of the arrays handed to leaves (see _accumulate)
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() needs a grad for a non-scalar tensor of shape {self.shape}")
            grad = backend.xp.ones_like(self.data)
        else:
            supplied = grad.data if isinstance(grad, Tensor) else grad
            grad = backend.as_array(supplied, self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward() got a grad of shape {grad.shape} for a tensor of shape {self.shape}")
            if grad is supplied:  # the caller's own array: a leaf that receives it must take a copy
                given.add(id(_memory_owner(grad)))

        # Every tensor is made after its inputs, so the newest tensor still waiting for its gradient
        # has received every contribution it will get: its consumers are all newer, and done. A heap
        # keyed by creation number (newest first) is therefore a reverse topological order, found
        # on the way, without a separate walk of the graph.
        # A leaf (a tensor made by the user, such as a weight) has no backward: its gradient is
        # added to its .grad as soon as it arrives.
        if self._ctx is None:
            self._accumulate(grad, given)
            return
        grads = {self: grad}  # tensor -> gradient so far (tensors hash by identity)
        waiting = [(-self._number, self)]
        while waiting:
            _, node = heapq.heappop(waiting)
            fn = node._ctx
            input_grads = fn.backward(grads.pop(node))
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for parent, parent_grad in zip(fn.inputs, input_grads):
                if parent_grad is None or not parent.requires_grad:
                    continue
                parent_grad = unbroadcast(parent_grad, parent.data.shape)
                if parent._ctx is None:
                    parent._accumulate(parent_grad, given)
                elif parent in grads:
                    grads[parent] = grads[parent] + parent_grad
                else:
                    grads[parent] = parent_grad
                    heapq.heappush(waiting, (-parent._number, parent))

    def _accumulate(self, grad, given):
        """Add ``grad`` to ``.grad``. The first gradient is kept as it is, unless the user could not
        change it in place on its own: a read-only broadcast view (from sum or mean), or memory
        already handed out (``given``: the ids of the arrays owning the memory of other leaves'
        gradients, and of the caller's own ``grad`` to backward). ``a + b`` passes one gradient array
        to both leaves; ``a.reshape(6) + b.reshape(6)`` passes two views of one array."""
        if self.grad is not None:
            self.grad = self.grad + grad
            return
        owner = _memory_owner(grad)
        if id(owner) in given or not getattr(grad.flags, "writeable", True):
            grad = owner = grad.copy()
        given.add(id(owner))
        self.grad = grad

    # ----- arithmetic (the ops live in scratchnet/ops) -------------------------------------------
    def __add__(self, other):
        return _ops.Add.apply(self, other)

    def __radd__(self, other):
        return _ops.Add.apply(other, self)

    def __sub__(self, other):
        return _ops.Sub.apply(self, other)

    def __rsub__(self, other):
        return _ops.Sub.apply(other, self)

    def __mul__(self, other):
        return _ops.Mul.apply(self, other)

    def __rmul__(self, other):
        return _ops.Mul.apply(other, self)

    def __truediv__(self, other):
        return _ops.Div.apply(self, other)

    def __rtruediv__(self, other):
        return _ops.Div.apply(other, self)

    def __neg__(self):
        return _ops.Neg.apply(self)

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor) or not isinstance(exponent, int | float):
            raise TypeError(f"Tensor ** accepts a Python int or float exponent, got {type(exponent).__name__}")
        return _ops.PowScalar.apply(self, exponent=exponent)

    def __matmul__(self, other):
        return _ops.MatMul.apply(self, other)

    def __rmatmul__(self, other):
        return _ops.MatMul.apply(other, self)

    def __getitem__(self, index):
        return _ops.GetItem.apply(self, index=index)

    # comparisons give plain boolean arrays: they have no gradient
    def __lt__(self, other):
        return self.data < _raw(other)

    def __le__(self, other):
        return self.data <= _raw(other)

    def __gt__(self, other):
        return self.data > _raw(other)

    def __ge__(self, other):
        return self.data >= _raw(other)

    __hash__ = object.__hash__

    # ----- methods that mirror the functional API --------------------------------------------------
    def sum(self, axis=None, keepdims=False):
        return _ops.Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops.Mean.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops.Max.apply(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple | list) else shape
        return _ops.Reshape.apply(self, shape=tuple(shape))

    def transpose(self, *axes):
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], tuple | list)):
            axes = axes[0]
        return _ops.Transpose.apply(self, axes=tuple(axes) if axes else None)

    @property
    def T(self):
        return self.transpose()

    def flatten(self, start_dim=1):
        return self.reshape(*self.shape[:start_dim], -1)

    def exp(self):
        return _ops.Exp.apply(self)

    def log(self):
        return _ops.Log.apply(self)

    def abs(self):
        return _ops.Abs.apply(self)

    def clip(self, low=None, high=None):
        return _ops.Clip.apply(self, low=low, high=high)

    def relu(self):
        return _ops.ReLU.apply(self)

    def sigmoid(self):
        return _ops.Sigmoid.apply(self)

    def tanh(self):
        return _ops.Tanh.apply(self)

    def softmax(self, axis=-1):
        return _ops.Softmax.apply(self, axis=axis)

    def log_softmax(self, axis=-1):
        return _ops.LogSoftmax.apply(self, axis=axis)


def _memory_owner(array):
    """The array that owns ``array``'s memory: its base when it is a view (of a view: the same base)."""
    base = getattr(array, "base", None)  # the tests' CuPy stand-in has no .base
    return array if base is None else base


def _raw(x):
    return x.data if isinstance(x, Tensor) else x


from . import ops as _ops  # noqa: E402  (the ops need Tensor and Function defined first)
