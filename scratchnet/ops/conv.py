"""2-D convolution (really cross-correlation, as in every DL library) by im2col and one matrix product.

Shapes (NCHW):  x (N, C, H, W),  weight (F, C, kh, kw),  bias (F,)  ->  y (N, F, Ho, Wo) with
Ho = (H + 2p - kh) // s + 1 and Wo = (W + 2p - kw) // s + 1.

im2col unfolds every kh x kw patch of the (padded) input into a column: for each kernel offset
(i, j) the strided slice ``x[:, :, i : i + s*Ho : s, j : j + s*Wo : s]`` holds that offset's pixel of
every patch, so a loop over only the kh*kw offsets fills the matrix

    cols (C*kh*kw, N*Ho*Wo),   and   y = weight.reshape(F, C*kh*kw) @ cols  (+ bias).

The backward pass runs the same bookkeeping in reverse: dW = g cols^T, d(cols) = W^T g, and col2im
adds each offset's slice of d(cols) back into dx with strided-slice ``+=`` (patches overlap, so pixels
receive several contributions). No ``add.at`` is needed, so the code runs unchanged on CuPy.
"""

from .. import backend
from ..tensor import Function


def conv_output_size(size, kernel, stride, padding):
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x, kh, kw, stride, padding):
    """x (N, C, H, W) -> cols (C, kh, kw, N, Ho, Wo), the patches laid out for one matrix product."""
    xp = backend.xp
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    if padding:
        x = xp.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    channels_first = x.transpose(1, 0, 2, 3)  # (C, N, Hp, Wp): each offset's slice lands contiguously
    cols = xp.empty((c, kh, kw, n, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = channels_first[:, :, i : i + stride * ho : stride, j : j + stride * wo : stride]
    return cols


def col2im(cols, x_shape, stride, padding):
    """The adjoint of im2col: cols (C, kh, kw, N, Ho, Wo) -> dx (N, C, H, W), summing overlaps."""
    xp = backend.xp
    c, kh, kw, n, ho, wo = cols.shape
    _, _, h, w = x_shape
    grad = xp.zeros((c, n, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            grad[:, :, i : i + stride * ho : stride, j : j + stride * wo : stride] += cols[:, i, j]
    grad = grad.transpose(1, 0, 2, 3)
    if padding:
        grad = grad[:, :, padding : padding + h, padding : padding + w]
    return grad


class Conv2d(Function):
    """y = conv(x, weight) + bias with a square stride and zero padding (see the module docstring)."""

    def __init__(self, stride=1, padding=0):
        self.stride, self.padding = stride, padding

    def forward(self, x, weight, bias):
        f, c, kh, kw = weight.shape
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(f"conv2d expects input (N, {c}, H, W) for weight {weight.shape}, got {x.shape}")
        n, _, h, w = x.shape
        ho = conv_output_size(h, kh, self.stride, self.padding)
        wo = conv_output_size(w, kw, self.stride, self.padding)
        if ho < 1 or wo < 1:
            raise ValueError(f"conv2d: a {kh}x{kw} kernel does not fit input {h}x{w} with padding {self.padding}")
        cols = im2col(x, kh, kw, self.stride, self.padding)
        self.cols, self.weight, self.x_shape = cols, weight, x.shape
        out = weight.reshape(f, -1) @ cols.reshape(c * kh * kw, -1)  # (F, N*Ho*Wo)
        out += bias[:, None]
        return out.reshape(f, n, ho, wo).transpose(1, 0, 2, 3)

    def backward(self, grad):
        x_in, w_in, b_in = self.inputs
        f = grad.shape[1]
        grad_rows = grad.transpose(1, 0, 2, 3).reshape(f, -1)  # (F, N*Ho*Wo)
        cols = self.cols
        grad_x = grad_w = grad_b = None
        if w_in.requires_grad:
            grad_w = (grad_rows @ cols.reshape(-1, grad_rows.shape[1]).T).reshape(self.weight.shape)
        if b_in.requires_grad:
            grad_b = grad_rows.sum(axis=1)
        if x_in.requires_grad:
            grad_cols = (self.weight.reshape(f, -1).T @ grad_rows).reshape(cols.shape)
            grad_x = col2im(grad_cols, self.x_shape, self.stride, self.padding)
        return grad_x, grad_w, grad_b
