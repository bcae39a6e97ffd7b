"""2-D convolution (cross-correlation, as in every DL library) by im2col and one matrix product.

Shapes (NCHW):  x (N, C, H, W),  weight (F, C, kh, kw),  bias (F,) or None  ->  y (N, F, Ho, Wo),
Ho = (H + 2p - kh) // s + 1,  Wo = (W + 2p - kw) // s + 1.

im2col: for each kernel offset (i, j), the strided slice x[..., i : i + s*Ho : s, j : j + s*Wo : s]
holds that offset's pixel of every patch, so a loop over the kh*kw offsets fills

    cols (C*kh*kw, Ho*Wo*N)   and   y = weight.reshape(F, C*kh*kw) @ cols + bias   (F, Ho*Wo*N).

Backward: dW = g cols^T, db = sum of g, d(cols) = W^T g, and col2im adds each offset's slice of
d(cols) back into dx with strided-slice ``+=`` (patches overlap). No ``add.at``: it runs on CuPy too.

Memory order (speed only): the batch axis is kept last in memory. x is read as (C, H, W, N), so each
slice copies runs of Wo*N numbers, and the product is y stored as (F, Ho, Wo, N), returned as an NCHW
view. Elementwise ops keep that order (dropout too), so the next im2col and each backward need no copy.
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
    c, kh, kw, ho, wo, n = cols.shape
    h, w = x_shape[2], x_shape[3]
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
        if weight.ndim != 4:
            raise ValueError(f"conv2d expects weight (F, C, kh, kw), got shape {weight.shape}")
        if x.ndim != 4 or x.shape[1] != weight.shape[1]:
            raise ValueError(f"conv2d expects input (N, {weight.shape[1]}, H, W) for weight {weight.shape}, got {x.shape}")
        f, c, kh, kw = weight.shape
        if bias is not None and bias.shape != (f,):
            raise ValueError(f"conv2d expects bias of shape ({f},) for weight {weight.shape}, got {bias.shape}")
        n, _, h, w = x.shape
        ho, wo = output_size(h, kh, self.stride, self.padding), output_size(w, kw, self.stride, self.padding)
        if ho < 1 or wo < 1:
            raise ValueError(f"conv2d: a {kh}x{kw} kernel does not fit input {h}x{w} with padding {self.padding}")
        self.cols, self.weight, self.x_shape = im2col(x, kh, kw, self.stride, self.padding), weight, x.shape
        y = weight.reshape(f, -1) @ self.cols.reshape(c * kh * kw, -1)  # (F, Ho*Wo*N)
        if bias is not None:
            y += bias[:, None]
        return y.reshape(f, ho, wo, n).transpose(3, 0, 1, 2)

    def backward(self, grad):
        f = self.weight.shape[0]
        g = grad.transpose(1, 2, 3, 0).reshape(f, -1)  # (F, Ho*Wo*N), as the forward's product
        cols = self.cols.reshape(-1, g.shape[1])  # (C*kh*kw, Ho*Wo*N)
        x_in, w_in, b_in = (*self.inputs, None)[:3]  # no bias: two inputs
        grad_x = grad_w = grad_b = None
        if x_in.requires_grad:
            d_cols = self.weight.reshape(f, -1).T @ g
            grad_x = col2im(d_cols.reshape(self.cols.shape), self.x_shape, self.stride, self.padding)
        if w_in.requires_grad:
            grad_w = (g @ cols.T).reshape(self.weight.shape)
        if b_in is not None and b_in.requires_grad:
            grad_b = g.sum(axis=1)
        return grad_x, grad_w, grad_b
