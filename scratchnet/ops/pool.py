"""2-D max pooling over kh x kw windows (NCHW), windows that do not fit at the edge dropped.

Shapes: x (N, C, H, W) -> y (N, C, Ho, Wo), Ho = (H - k) // s + 1.

Like im2col, the forward loops over the k*k offsets of a window: the strided slice for offset (i, j)
holds that position of every window, so the running maximum over k*k slices is the pooled output.
Each output remembers which offset won. Ties: the whole gradient goes to ONE element, the first
maximum in row-major order within the window (top-left first), as PyTorch does.

Which offset won is tracked without any masked assignment (slow in NumPy): offsets are visited in
row-major order, and offset o wins over the maximum so far only if strictly greater, so the winner
of a window is the *largest* offset that was strictly better than everything before it:

    winner = max over o of  o * [x_o > max(x_0 .. x_{o-1})]

The backward pass sends grad to offset o's slice where ``winner == o``. When the windows do not overlap
(stride >= k) each input pixel belongs to at most one window, so those slices are written directly
into the gradient instead of being added to zeros. Arrays are allocated in the input's memory order
(see ops/memory.py), so a channel-major activation stays channel-major.
"""

from .. import backend
from ..checks import check_integer
from ..tensor import Function
from .conv import conv_output_size
from .memory import axis_order, empty_in_order, empty_like


class MaxPool2d(Function):
    def __init__(self, kernel_size=2, stride=None):
        self.k = check_integer("max_pool2d", "kernel_size", kernel_size, 1)
        self.s = self.k if stride is None else check_integer("max_pool2d", "stride", stride, 1)

    def _window(self, i, j, ho, wo):
        s = self.s
        return (slice(None), slice(None), slice(i, i + s * ho, s), slice(j, j + s * wo, s))

    def forward(self, x):
        xp = backend.xp
        k = self.k
        if x.ndim != 4:
            raise ValueError(f"max_pool2d expects input (N, C, H, W), got shape {x.shape}")
        n, c, h, w = x.shape
        ho, wo = conv_output_size(h, k, self.s, 0), conv_output_size(w, k, self.s, 0)
        if ho < 1 or wo < 1:
            raise ValueError(f"max_pool2d: a {k}x{k} window does not fit input {h}x{w}")
        self.x_shape, self.out_hw, self.order = x.shape, (ho, wo), axis_order(x)
        out = empty_in_order((n, c, ho, wo), x.dtype, self.order)
        winner = empty_in_order((n, c, ho, wo), xp.int8 if k * k < 128 else xp.int32, self.order)
        winner.fill(0)
        better, offset_if_better = empty_like(winner, dtype=bool), empty_like(winner)  # scratch, reused
        best = x[self._window(0, 0, ho, wo)]  # the maximum so far: offset 0 alone, then into ``out``
        if k * k == 1:
            xp.copyto(out, best)
        for offset in range(1, k * k):
            candidate = x[self._window(offset // k, offset % k, ho, wo)]
            xp.greater(candidate, best, out=better)  # strict: an equal value later in the window does not win
            best = xp.maximum(best, candidate, out=out)
            xp.multiply(better, winner.dtype.type(offset), out=offset_if_better)
            xp.maximum(winner, offset_if_better, out=winner)
        self.winner = winner
        return out

    def backward(self, grad):
        k, s = self.k, self.s
        ho, wo = self.out_hw
        grad_x = empty_in_order(self.x_shape, grad.dtype, self.order)
        if s == k:  # side by side: only the rows and columns past the last window get no gradient
            grad_x[:, :, k * ho :, :] = 0
            grad_x[:, :, :, k * wo :] = 0
        else:
            grad_x.fill(0)
        won = empty_like(self.winner, dtype=bool)
        for offset in range(k * k):
            window = grad_x[self._window(offset // k, offset % k, ho, wo)]
            backend.xp.equal(self.winner, offset, out=won)
            if s >= k:  # windows do not overlap: write the slice
                backend.xp.multiply(grad, won, out=window)
            else:  # overlapping windows: a pixel can win several, its gradients add up
                window += grad * won
        return grad_x
