"""Convolution and pooling by hand, in NumPy, with the arithmetic of Keras.

Lesson 01_convolution opens the black box of ``keras.layers.Conv2D`` and
``MaxPooling2D``: these functions compute the same numbers with a few lines
of NumPy, so a student can check each one against Keras (the lesson does) and
the convolution explainer in :mod:`ferkit.widgets` can show every step.

Like Keras (and every deep-learning library), "convolution" here is
cross-correlation: the kernel is not flipped.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["KERNELS", "output_size", "same_padding", "convolve2d", "pool2d"]

#: Preset 3x3 kernels of the convolution explainer (lesson 01_convolution).
KERNELS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float32),
    "edge": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float32),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32),
    "blur": np.full((3, 3), 1 / 9, dtype=np.float32),
    "sobel x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32),
    "sobel y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float32),
}

_PADDINGS = ("valid", "same")
_POOL_MODES = ("max", "average")


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, found {value!r}")
    return int(value)


def _check_padding(padding: str) -> str:
    if padding not in _PADDINGS:
        raise ValueError(f"padding: expected one of {_PADDINGS}, found {padding!r}")
    return padding


def output_size(size: int, window: int, stride: int = 1, padding: str = "valid") -> int:
    """Return the output length of a convolution or pooling along one axis.

    ``"valid"``: ``floor((size - window) / stride) + 1`` (0 when the window
    does not fit); ``"same"``: ``ceil(size / stride)``, as in Keras.
    Introduced in lesson 01_convolution (parameter and shape counting).
    """
    size = _check_positive_int(size, "size")
    window = _check_positive_int(window, "window")
    stride = _check_positive_int(stride, "stride")
    if _check_padding(padding) == "same":
        return math.ceil(size / stride)
    return max((size - window) // stride + 1, 0)


def same_padding(size: int, window: int, stride: int = 1) -> tuple[int, int]:
    """Return the ``(before, after)`` zero padding Keras/TensorFlow add for ``"same"``.

    The total padding makes the output ``ceil(size / stride)`` long; when it is
    odd, the extra row or column goes after (bottom/right), as TensorFlow does.
    Introduced in lesson 01_convolution.
    """
    out = output_size(size, window, stride, "same")
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def convolve2d(image, kernel, stride: int = 1, padding: str = "valid") -> np.ndarray:
    """Return the activation map of one 2-D convolution filter (no bias) as float64 (H', W').

    Computes exactly what ``keras.layers.Conv2D(1, kernel.shape[:2],
    strides=stride, padding=padding, use_bias=False)`` computes: a
    cross-correlation (the kernel is not flipped). ``image`` is (H, W),
    (H, W, 1) or (H, W, C); ``kernel`` is (kh, kw) or, for a C-channel image,
    (kh, kw, C), and the products are summed over the channels like one Keras
    filter. ``"same"`` pads with zeros, more on the bottom/right when the
    padding is odd. Introduced in lesson 01_convolution.
    """
    stride = _check_positive_int(stride, "stride")
    _check_padding(padding)
    kernel = np.asarray(kernel, dtype=np.float64)
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        image = image[..., np.newaxis]
    if kernel.ndim == 2:
        kernel = kernel[..., np.newaxis]
    if image.ndim != 3 or kernel.ndim != 3:
        raise ValueError(
            "image and kernel: expected (H, W[, C]) and (kh, kw[, C]), "
            f"found shapes {image.shape} and {kernel.shape}"
        )
    if image.shape[-1] != kernel.shape[-1]:
        raise ValueError(
            f"kernel: expected shape (kh, kw, {image.shape[-1]}) to match the image's "
            f"{image.shape[-1]} channels, found kernel shape {kernel.shape}"
        )
    kh, kw = kernel.shape[:2]
    if padding == "same":
        top, bottom = same_padding(image.shape[0], kh, stride)
        left, right = same_padding(image.shape[1], kw, stride)
        image = np.pad(image, ((top, bottom), (left, right), (0, 0)))
    if image.shape[0] < kh or image.shape[1] < kw:
        raise ValueError(
            f"kernel: a {kh}x{kw} kernel does not fit in an image of shape "
            f"{image.shape[:2]} with padding={padding!r}"
        )
    # windows[i, j] is the (C, kh, kw) patch under the kernel at output (i, j).
    windows = sliding_window_view(image, (kh, kw), axis=(0, 1))[::stride, ::stride]
    return np.einsum("ijchw,hwc->ij", windows, kernel)


def pool2d(feature_map, size: int = 2, stride: int | None = None, mode: str = "max") -> np.ndarray:
    """Return the pooled feature map (H', W'[, C]) as float64, with ``"valid"`` windows.

    Computes what ``keras.layers.MaxPooling2D(size, strides=stride)`` or
    ``AveragePooling2D`` compute: each output is the maximum (``mode="max"``)
    or the mean (``mode="average"``) of a ``size`` x ``size`` window; windows
    move by ``stride`` (default: ``size``, no overlap); leftover rows and
    columns that do not fill a window are dropped. ``feature_map`` is (H, W)
    or (H, W, C); channels are pooled separately. Introduced in lesson
    01_convolution.
    """
    size = _check_positive_int(size, "size")
    stride = size if stride is None else _check_positive_int(stride, "stride")
    if mode not in _POOL_MODES:
        raise ValueError(f"mode: expected one of {_POOL_MODES}, found {mode!r}")
    feature_map = np.asarray(feature_map, dtype=np.float64)
    if feature_map.ndim not in (2, 3):
        raise ValueError(
            f"feature_map: expected (H, W) or (H, W, C), found shape {feature_map.shape}"
        )
    if feature_map.shape[0] < size or feature_map.shape[1] < size:
        raise ValueError(
            f"size: a {size}x{size} window does not fit in a feature map of shape "
            f"{feature_map.shape[:2]}"
        )
    windows = sliding_window_view(feature_map, (size, size), axis=(0, 1))[::stride, ::stride]
    reduce = np.max if mode == "max" else np.mean
    return reduce(windows, axis=(-2, -1))
