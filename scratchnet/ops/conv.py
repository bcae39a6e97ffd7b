"""2-D convolution (cross-correlation, as in every DL library) by im2col and one matrix product
(docs/layers.md teaches it). NCHW: x (N, C, H, W), weight (F, C, kh, kw), bias (F,) or None ->
y (N, F, Ho, Wo), Ho = (H + 2p - kh) // s + 1, Wo = (W + 2p - kw) // s + 1.

    cols (C*kh*kw, Ho*Wo*N),  y = weight.reshape(F, C*kh*kw) @ cols + bias,  dW = g cols^T,  d(cols) = W^T g

col2im adds d(cols) back into dx by strided-slice ``+=`` (no ``add.at``, so it runs on CuPy too). Speed: the
batch axis stays last in memory, so each slice copies runs of Wo*N numbers and the next layer needs no copy.
"""

from .. import backend
from ..checks import check_integer
from ..tensor import Function


def output_size(size, kernel, stride, padding=0):
    """Positions of a kernel along one axis: (size + 2 padding - kernel) // stride + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x, kh, kw, stride, padding):
    """x (N, C, H, W) -> cols (C, kh, kw, Ho, Wo, N): cols[:, i, j] is offset (i, j) of every patch."""
    xp, (n, c, h, w) = backend.xp, x.shape
    ho, wo = output_size(h, kh, stride, padding), output_size(w, kw, stride, padding)
    x = xp.ascontiguousarray(x.transpose(1, 2, 3, 0))  # (C, H, W, N); no copy if stored so already
    x = xp.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0))) if padding else x
    cols = xp.empty((c, kh, kw, ho, wo, n), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = x[:, i : i + stride * ho : stride, j : j + stride * wo : stride]
    return cols


def col2im(cols, x_shape, stride, padding):
    """The adjoint of im2col: cols (C, kh, kw, Ho, Wo, N) -> dx (N, C, H, W), overlaps added up."""
    (c, kh, kw, ho, wo, n), h, w = cols.shape, x_shape[2], x_shape[3]
    dx = backend.xp.zeros((c, h + 2 * padding, w + 2 * padding, n), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            dx[:, i : i + stride * ho : stride, j : j + stride * wo : stride] += cols[:, i, j]
    return dx[:, padding : padding + h, padding : padding + w].transpose(3, 0, 1, 2)


class Conv2d(Function):
    """y = conv(x, weight) + bias, square stride and zero padding (see the module docstring)."""
    def __init__(self, stride=1, padding=0):
        self.stride = check_integer("conv2d", "stride", stride, 1)
        self.padding = check_integer("conv2d", "padding", padding, 0)

    def forward(self, x, weight, bias=None):
        if weight.ndim != 4 or bias is not None and bias.shape != weight.shape[:1]:
            shapes = f"weight {weight.shape}, bias {None if bias is None else bias.shape}"
            raise ValueError(f"conv2d expects weight (F, C, kh, kw) and bias (F,) or None, got {shapes}")
        (f, c, kh, kw), p = weight.shape, self.padding
        if x.ndim != 4 or x.shape[1] != c or x.shape[2] + 2 * p < kh or x.shape[3] + 2 * p < kw:
            raise ValueError(f"conv2d got input of shape {x.shape}, expected (N, {c}, H, W) with H >= {kh - 2 * p} "
                             f"and W >= {kw - 2 * p}, where weight {weight.shape} with padding {p} fits")
        n, ho, wo = x.shape[0], output_size(x.shape[2], kh, self.stride, p), output_size(x.shape[3], kw, self.stride, p)
        self.cols, self.weight, self.x_shape = im2col(x, kh, kw, self.stride, p), weight, x.shape
        y = weight.reshape(f, -1) @ self.cols.reshape(c * kh * kw, -1)  # (F, Ho*Wo*N)
        if bias is not None:
            y += bias[:, None]
        return y.reshape(f, ho, wo, n).transpose(3, 0, 1, 2)

    def backward(self, grad):
        f = self.weight.shape[0]
        g = grad.transpose(1, 2, 3, 0).reshape(f, -1)  # (F, Ho*Wo*N), as the forward's product
        x_in, w_in, b_in = (*self.inputs, None)[:3]  # no bias: two inputs
        grad_x = grad_w = grad_b = None
        if x_in.requires_grad:
            d_cols = self.weight.reshape(f, -1).T @ g
            grad_x = col2im(d_cols.reshape(self.cols.shape), self.x_shape, self.stride, self.padding)
        if w_in.requires_grad:
            grad_w = (g @ self.cols.reshape(-1, g.shape[1]).T).reshape(self.weight.shape)
        if b_in is not None and b_in.requires_grad:
            grad_b = g.sum(axis=1)
        return grad_x, grad_w, grad_b
