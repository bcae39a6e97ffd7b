"""The matrix product, with NumPy's rules (1-D operands, batched leading axes)."""

from ..tensor import Function


class MatMul(Function):
    """C = A @ B.  dL/dA = dL/dC B^T,  dL/dB = A^T dL/dC  (each computed only if that input needs it).
    A 1-D a is a row (1, k), a 1-D b a column (k, 1); batched leading axes broadcast."""
    def forward(self, a, b):
        self.a, self.b = a, b
        try:
            return a @ b
        except ValueError:
            raise ValueError(f"matmul cannot multiply shapes {a.shape} and {b.shape}: both need at least one axis, "
                             "a's last axis must equal b's second-to-last (or only) axis, and any leading "
                             "axes must broadcast") from None

    def backward(self, grad):
        a = self.a[None, :] if self.a.ndim == 1 else self.a  # a row (1, k)
        b = self.b[:, None] if self.b.ndim == 1 else self.b  # a column (k, 1)
        grad = grad[..., None] if self.b.ndim == 1 else grad  # first: with both 1-D, grad is 0-d
        grad = grad[..., None, :] if self.a.ndim == 1 else grad
        grad_a = grad @ b.swapaxes(-1, -2) if self.inputs[0].requires_grad else None
        grad_b = a.swapaxes(-1, -2) @ grad if self.inputs[1].requires_grad else None
        if grad_a is not None and self.a.ndim == 1:
            grad_a = grad_a[..., 0, :]
        if grad_b is not None and self.b.ndim == 1:
            grad_b = grad_b[..., 0]
        return grad_a, grad_b
