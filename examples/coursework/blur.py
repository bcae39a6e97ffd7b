"""Q2B's blur and the one-number blur detector it is compared with. Host-side work on NumPy arrays.

**The blur.** The assignment called ``cv2.GaussianBlur(image, (5, 5), cv2.BORDER_DEFAULT)``. The third
positional argument of ``GaussianBlur`` is ``sigmaX``, not the border mode, and ``cv2.BORDER_DEFAULT``
is the integer 4, so the assignment's blur was a 5x5 Gaussian with sigma 4 (sigmaY = sigmaX). With
sigma 4 the 5 taps are nearly equal (0.188, 0.206, 0.213, 0.206, 0.188): close to a 5x5 box filter.
That is kept as the default (``DEFAULT_KERNEL``, ``DEFAULT_SIGMA``). The border is OpenCV's default,
``BORDER_REFLECT_101`` (``gfedcb|abcdefgh|gfedcba``), which is NumPy's ``np.pad(mode="reflect")``.

``gaussian_blur`` blurs a whole stack at once instead of calling OpenCV once per image: a chunk of
images (N, 28, 28) is transposed to (28, 28, N), so the images become the channels of one picture, and
one ``cv2.GaussianBlur`` call filters every channel with the same kernel. OpenCV caps the number of
channels (512 in OpenCV 4, 128 in OpenCV 5), hence chunks of ``CV2_MAX_CHANNELS``. Without OpenCV the
same separable convolution runs in NumPy (``method="numpy"``); the tests check both against
per-image ``cv2.GaussianBlur``.

**The baseline detector.** A blur removes high frequencies, and the Laplacian (the discrete second
derivative, kernel [[0, 1, 0], [1, -4, 1], [0, 1, 0]], as ``cv2.Laplacian(image, cv2.CV_64F)``) measures
exactly those, so the variance of an image's Laplacian is a one-number sharpness score: high for a
sharp digit, low for a blurred one. ``ThresholdDetector`` fits the one threshold on that score that
best separates the training images.
"""

from __future__ import annotations

import math

from scratchnet import backend

np = backend.np  # host-side NumPy: these functions take and return host arrays

DEFAULT_KERNEL = 5
DEFAULT_SIGMA = 4.0  # = cv2.BORDER_DEFAULT, which the assignment passed in sigmaX's place
CV2_MAX_CHANNELS = 128  # OpenCV 5 accepts at most 128 channels per image (OpenCV 4: 512)
#: The smallest sigma the examples' options take. Below about 0.026 every tap but the centre is exactly 0
#: in float64 (the "blur" copies the image), so a smaller sigma blurs no differently; below about 1e-154,
#: 2 sigma^2 is 0 and the taps would be 0/0 (``gaussian_kernel`` refuses those).
MIN_SIGMA = 0.01


def _check_kernel(kernel, sigma):
    if not isinstance(kernel, int) or kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"blur kernel size must be a positive odd integer, got {kernel!r}")
    if not (isinstance(sigma, int | float) and sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"blur sigma must be a finite number > 0, got {sigma!r}")
    if not 2.0 * float(sigma) ** 2 > 0:  # underflows to 0: the kernel would be 0/0 = NaN
        raise ValueError(f"blur sigma {sigma!r} is too small to compute (use at least {MIN_SIGMA})")


def gaussian_kernel(kernel=DEFAULT_KERNEL, sigma=DEFAULT_SIGMA):
    """The 1-D Gaussian weights exp(-x^2 / 2 sigma^2), summing to 1, for x = -(kernel-1)/2 ... (kernel-1)/2.
    The 2-D blur applies it along rows, then along columns.

    These are the weights of ``cv2.getGaussianKernel(kernel, sigma)`` for sigma > 0, to within rounding:
    OpenCV multiplies by -0.5 / sigma^2 where this divides by 2 sigma^2, so the two can differ in the last
    bits (at most 4.5e-16 for kernels 1-55 and sigmas 0.05-50; the same float32 taps at the sweep's sigmas)."""
    _check_kernel(kernel, sigma)
    x = np.arange(kernel, dtype=np.float64) - (kernel - 1) / 2
    weights = np.exp(-(x * x) / (2.0 * float(sigma) ** 2))
    return weights / weights.sum()


def _as_stack(images, name):
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"{name} expects images of shape (N, H, W), got {images.shape}")
    return images.astype(np.float32, copy=False)


def _blur_cv2(images, kernel, sigma, chunk):
    import cv2  # noqa: PLC0415  (optional: only this path needs OpenCV)

    out = np.empty_like(images)
    for start in range(0, len(images), chunk):
        block = np.ascontiguousarray(images[start:start + chunk].transpose(1, 2, 0))  # (H, W, n): n channels
        blurred = cv2.GaussianBlur(block, (kernel, kernel), float(sigma), borderType=cv2.BORDER_REFLECT_101)
        if blurred.ndim == 2:  # a one-channel chunk comes back without its channel axis
            blurred = blurred[:, :, None]
        out[start:start + chunk] = blurred.transpose(2, 0, 1)
    return out


def _blur_numpy(images, kernel, sigma):
    weights = gaussian_kernel(kernel, sigma).astype(np.float32)
    r = kernel // 2
    h, w = images.shape[1:]
    if r >= min(h, w):
        raise ValueError(f"a {kernel}x{kernel} kernel needs images larger than {r} pixels on each side")
    padded = np.pad(images, ((0, 0), (r, r), (0, 0)), mode="reflect")  # reflect = BORDER_REFLECT_101
    rows = np.zeros_like(images)
    for i, wt in enumerate(weights):
        rows += wt * padded[:, i:i + h, :]
    padded = np.pad(rows, ((0, 0), (0, 0), (r, r)), mode="reflect")
    out = np.zeros_like(images)
    for j, wt in enumerate(weights):
        out += wt * padded[:, :, j:j + w]
    return out


def available_method():
    """What ``gaussian_blur(method="auto")`` runs: ``"cv2"`` when OpenCV is installed, else ``"numpy"``."""
    try:
        import cv2  # noqa: F401, PLC0415
    except ImportError:
        return "numpy"
    return "cv2"


def gaussian_blur(images, kernel=DEFAULT_KERNEL, sigma=DEFAULT_SIGMA, method="auto", chunk=CV2_MAX_CHANNELS):
    """Blur every image of ``images`` (N, H, W) with a ``kernel`` x ``kernel`` Gaussian of standard deviation
    ``sigma`` (BORDER_REFLECT_101), in a few vectorised calls. Returns float32 (N, H, W).

    ``method``: ``"cv2"`` (chunks of images as the channels of one ``cv2.GaussianBlur`` call), ``"numpy"``
    (the same separable convolution in NumPy) or ``"auto"`` (OpenCV when it is installed).
    """
    _check_kernel(kernel, sigma)
    images = _as_stack(images, "gaussian_blur")
    if method not in ("auto", "cv2", "numpy"):
        raise ValueError(f"gaussian_blur: method must be 'auto', 'cv2' or 'numpy', got {method!r}")
    if method == "auto":
        method = available_method()
    if len(images) == 0:
        return images.copy()
    if method == "cv2":
        return _blur_cv2(images, kernel, sigma, max(1, min(int(chunk), CV2_MAX_CHANNELS)))
    return _blur_numpy(images, kernel, sigma)


def laplacian_variance(images):
    """Per image, the variance of its Laplacian (4-neighbour kernel, BORDER_REFLECT_101), as
    ``cv2.Laplacian(image, cv2.CV_64F).var()``, for a whole (N, H, W) stack at once. Returns (N,) float64."""
    images = _as_stack(images, "laplacian_variance").astype(np.float64)
    p = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="reflect")
    lap = p[:, :-2, 1:-1] + p[:, 2:, 1:-1] + p[:, 1:-1, :-2] + p[:, 1:-1, 2:] - 4.0 * p[:, 1:-1, 1:-1]
    return lap.reshape(len(images), -1).var(axis=1)


class ThresholdDetector:
    """A one-number classifier: ``label = 1 (blurred)`` when the score is on the blurred side of a threshold.

    ``fit(scores, labels)`` tries every cut between consecutive sorted scores, in both directions, and
    keeps the one with the highest training accuracy (ties: the first found). For the Laplacian variance
    the blurred side is the low side (``blurred_below=True``).
    """

    def __init__(self):
        self.threshold = None
        self.blurred_below = True
        self.train_accuracy = None

    def fit(self, scores, labels):
        scores = np.asarray(scores, dtype=np.float64).ravel()
        labels = np.asarray(labels).ravel().astype(bool)
        if scores.shape != labels.shape or scores.size == 0:
            raise ValueError("ThresholdDetector.fit needs as many labels as scores, at least one")
        order = np.argsort(scores, kind="stable")
        s, y = scores[order], labels[order]
        n = len(s)
        # cutting after position k (k = 0..n): the k lowest scores are on the "below" side
        blurred_below = np.concatenate([[0], np.cumsum(y)])                # blurred among the k lowest
        clear_above = (n - y.sum()) - np.concatenate([[0], np.cumsum(~y)])  # clear among the rest
        correct_below = blurred_below + clear_above  # rule "blurred if below"
        correct_above = n - correct_below           # the opposite rule
        # only cut between distinct scores (or at the ends)
        valid = np.ones(n + 1, dtype=bool)
        valid[1:n] = s[1:] > s[:-1]
        best_below = int(np.argmax(np.where(valid, correct_below, -1)))
        best_above = int(np.argmax(np.where(valid, correct_above, -1)))
        if correct_below[best_below] >= correct_above[best_above]:
            k, self.blurred_below, correct = best_below, True, correct_below[best_below]
        else:
            k, self.blurred_below, correct = best_above, False, correct_above[best_above]
        if k == 0:
            self.threshold = s[0] - 1.0
        elif k == n:
            self.threshold = s[-1] + 1.0
        else:
            self.threshold = (s[k - 1] + s[k]) / 2.0
        self.train_accuracy = float(correct) / n
        return self

    def predict(self, scores):
        """1 (blurred) or 0 (clear) per score."""
        if self.threshold is None:
            raise RuntimeError("ThresholdDetector: call fit() first")
        scores = np.asarray(scores, dtype=np.float64).ravel()
        below = scores < self.threshold
        return (below if self.blurred_below else ~below).astype(np.int64)
