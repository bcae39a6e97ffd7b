"""Matrix products: ``MatMul`` (a @ b) and ``Linear`` (x @ W + b, the Dense layer fused in one op)."""

from ..tensor import Function
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
    """y = x W + b for x (N, in), W (in, out), b (out,) -> y (N, out).

    dL/dx = g W^T (N, in),  dL/dW = x^T g (in, out),  dL/db = sum over the batch of g (out,).
    Each is computed only when that input needs it: the first layer's x never does. The products
    are written into arrays reused from step to step (ops/memory.py: fresh ones cost page faults).
    """

    def forward(self, x, weight, bias):
        self.x, self.weight = x, weight
        out = matmul(x, weight)
        out += bias
        return out

    def backward(self, grad):
        x_in, w_in, b_in = self.inputs
        grad_x = matmul(grad, self.weight.T) if x_in.requires_grad else None
        grad_w = matmul(self.x.T, grad) if w_in.requires_grad else None
        grad_b = grad.sum(axis=0) if b_in.requires_grad else None
        return grad_x, grad_w, grad_b
