"""Matrix products: ``MatMul`` (a @ b) and ``Linear`` (act(x @ W + b), the Dense layer fused in one op)."""

from ..tensor import Function
from .activation import relu_backward, relu_into, sigmoid_backward, sigmoid_into
from .memory import matmul


def _swap(m):
    return m.swapaxes(-1, -2)


class MatMul(Function):
    """a @ b with NumPy's rules (1-D operands, batched leading axes).

    For C = A B:  dL/dA = dL/dC B^T  and  dL/dB = A^T dL/dC. A 1-D operand is treated as a row
    (a) or a column (b) for the products and the extra axis dropped again afterwards.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = grad
        if b.ndim == 1:  # first: with both operands 1-D the output (and grad) is 0-d
            g2 = g2[..., None]
        if a.ndim == 1:
            g2 = g2[..., None, :]
        grad_a = grad_b = None
        if self.inputs[0].requires_grad:
            grad_a = g2 @ _swap(b2)
            if a.ndim == 1:
                grad_a = grad_a[..., 0, :]
        if self.inputs[1].requires_grad:
            grad_b = _swap(a2) @ g2
            if b.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b


class Linear(Function):
    """y = act(z), z = x W + b for x (N, in), W (in, out), b (out,) -> y (N, out); ``activation`` is
    None (y = z), ``"relu"`` or ``"sigmoid"`` (Keras' ``Dense(units, activation=...)``).

    dL/dz = g (no activation), g * (z > 0) (relu) or g * y (1 - y) (sigmoid), for g = dL/dy; then
    dL/dx = dL/dz W^T (N, in),  dL/dW = x^T dL/dz (in, out),  dL/db = sum over the batch of dL/dz (out,).
    Each is computed only when that input needs it: the first layer's x never does. The products
    are written into arrays reused from step to step (ops/memory.py: fresh ones cost page faults).

    Why fuse the activation: z is this op's own array, which nobody else can hold, so the activation
    can overwrite it in place. A separate ReLU op must leave its input alone and write a new array,
    and it is one more op for the engine to record and walk back (the Q2A autoencoders have up to 15).
    """

    ACTIVATIONS = (None, "relu", "sigmoid")

    def __init__(self, activation=None):
        if activation not in self.ACTIVATIONS:
            raise ValueError(f"linear: activation must be one of {self.ACTIVATIONS}, got {activation!r}")
        self.activation = activation

    def forward(self, x, weight, bias):
        self.x, self.weight = x, weight
        out = matmul(x, weight)
        out += bias
        if self.activation == "relu":
            self.positive = relu_into(out, out)
        elif self.activation == "sigmoid":
            self.out = sigmoid_into(out, out)
        return out

    def backward(self, grad):
        if self.activation == "relu":
            grad = relu_backward(grad, self.positive)
        elif self.activation == "sigmoid":
            grad = sigmoid_backward(grad, self.out)
        x_in, w_in, b_in = self.inputs
        grad_x = matmul(grad, self.weight.T) if x_in.requires_grad else None
        grad_w = matmul(self.x.T, grad) if w_in.requires_grad else None
        grad_b = grad.sum(axis=0) if b_in.requires_grad else None
        return grad_x, grad_w, grad_b
