"""2-D convolution (really cross-correlation, as in every DL library) by im2col and one matrix product.

Shapes (NCHW):  x (N, C, H, W),  weight (F, C, kh, kw),  bias (F,)  ->  y (N, F, Ho, Wo) with
Ho = (H + 2p - kh) // s + 1 and Wo = (W + 2p - kw) // s + 1.

im2col unfolds every kh x kw patch of the (padded) input into a column: for each kernel offset
(i, j) the strided slice ``x[:, :, i : i + s*Ho : s, j : j + s*Wo : s]`` holds that offset's pixel of
every patch, so a loop over only the kh*kw offsets fills the matrix

    cols (C*kh*kw, Ho*Wo*N),   and   y = weight.reshape(F, C*kh*kw) @ cols  (+ bias).

The backward pass runs the same bookkeeping in reverse: dW = g cols^T, d(cols) = W^T g, and col2im
adds each offset's slice of d(cols) back into dx with strided-slice ``+=`` (patches overlap, so pixels
receive several contributions). No ``add.at`` is needed, so the code runs unchanged on CuPy.

Memory order, for speed only (the arithmetic is the same in any order): the columns of ``cols`` run
over (Ho, Wo, N), image index fastest, and im2col reads the input as (C, H, W, N). Then each offset's
slice is copied in runs of Wo*N contiguous numbers rather than rows of Wo, and the product
(F, Ho*Wo*N) *is* y stored as (F, Ho, Wo, N): it is returned as an (N, F, Ho, Wo) view, with no
transposing copy. ReLU, pooling and dropout keep that order (see ops/memory.py), so the next
convolution's input is already (C, H, W, N) in memory, and so is the gradient reaching its backward.
"""

from .. import backend
from ..checks import check_integer
from ..tensor import Function
from .memory import scratch


def conv_output_size(size, kernel, stride, padding):
    """Output positions along one axis: (size + 2 padding - kernel) // stride + 1 (pooling: padding 0)."""
    return (size + 2 * padding - kernel) // stride + 1


def im2col(x, kh, kw, stride, padding):
    """x (N, C, H, W) -> cols (C, kh, kw, Ho, Wo, N), the patches laid out for one matrix product."""
    xp = backend.xp
    n, c, h, w = x.shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    batch_last = x.transpose(1, 2, 3, 0)  # (C, H, W, N): contiguous when x is stored so, else copied
    if not batch_last.flags.c_contiguous:
        copy = scratch(batch_last.shape, x.dtype)
        xp.copyto(copy, batch_last)
        batch_last = copy
    if padding:
        batch_last = xp.pad(batch_last, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    cols = scratch((c, kh, kw, ho, wo, n), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, i, j] = batch_last[:, i : i + stride * ho : stride, j : j + stride * wo : stride]
    return cols


def col2im(cols, x_shape, stride, padding):
    """The adjoint of im2col: cols (C, kh, kw, Ho, Wo, N) -> dx (N, C, H, W), summing overlaps.

    dx is returned as a view of a (C, H, W, N) array, the memory order of the layer's input.
    """
    c, kh, kw, ho, wo, n = cols.shape
    _, _, h, w = x_shape
    grad = scratch((c, h + 2 * padding, w + 2 * padding, n), cols.dtype)
    grad.fill(0)
    for i in range(kh):
        for j in range(kw):
            grad[:, i : i + stride * ho : stride, j : j + stride * wo : stride] += cols[:, i, j]
    if padding:
        grad = grad[:, padding : padding + h, padding : padding + w]
    return grad.transpose(3, 0, 1, 2)


class Conv2d(Function):
    """y = conv(x, weight) + bias with a square stride and zero padding (see the module docstring)."""

    def __init__(self, stride=1, padding=0):
        self.stride = check_integer("conv2d", "stride", stride, 1)
        self.padding = check_integer("conv2d", "padding", padding, 0)

    def forward(self, x, weight, bias):
        xp = backend.xp
        if weight.ndim != 4:
            raise ValueError(f"conv2d expects weight (F, C, kh, kw), got shape {weight.shape}")
        f, c, kh, kw = weight.shape
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(f"conv2d expects input (N, {c}, H, W) for weight {weight.shape}, got {x.shape}")
        if bias.shape != (f,):
            raise ValueError(f"conv2d expects bias of shape ({f},) for weight {weight.shape}, got {bias.shape}")
        n, _, h, w = x.shape
        ho = conv_output_size(h, kh, self.stride, self.padding)
        wo = conv_output_size(w, kw, self.stride, self.padding)
        if ho < 1 or wo < 1:
            raise ValueError(f"conv2d: a {kh}x{kw} kernel does not fit input {h}x{w} with padding {self.padding}")
        cols = im2col(x, kh, kw, self.stride, self.padding)
        self.cols, self.weight, self.x_shape = cols, weight, x.shape
        out = scratch((f, ho * wo * n), xp.result_type(weight.dtype, cols.dtype))
        xp.matmul(weight.reshape(f, -1), cols.reshape(c * kh * kw, -1), out=out)  # (F, Ho*Wo*N)
        out += bias[:, None]
        return out.reshape(f, ho, wo, n).transpose(3, 0, 1, 2)

    def backward(self, grad):
        xp = backend.xp
        x_in, w_in, b_in = self.inputs
        f = grad.shape[1]
        grad_rows = grad.transpose(1, 2, 3, 0).reshape(f, -1)  # (F, Ho*Wo*N): a view, grad is stored so
        cols = self.cols
        rows = cols.shape[0] * cols.shape[1] * cols.shape[2]  # C*kh*kw
        grad_x = grad_w = grad_b = None
        if w_in.requires_grad:
            # dW = g cols^T, (F, C*kh*kw). BLAS is faster with the longer side first, so when
            # C*kh*kw > F it computes the transpose, cols g^T, and reads it back transposed.
            cols_2d = cols.reshape(rows, -1)
            grad_w = (cols_2d @ grad_rows.T).T if rows > f else grad_rows @ cols_2d.T
            grad_w = grad_w.reshape(self.weight.shape)
        if b_in.requires_grad:
            grad_b = grad_rows.sum(axis=1)
        if x_in.requires_grad:
            grad_cols = scratch((rows, grad_rows.shape[1]), xp.result_type(self.weight.dtype, grad_rows.dtype))
            xp.matmul(self.weight.reshape(f, -1).T, grad_rows, out=grad_cols)
            grad_x = col2im(grad_cols.reshape(cols.shape), self.x_shape, self.stride, self.padding)
        return grad_x, grad_w, grad_b
