"""The papers' data augmentation, as Keras layers that run inside the compiled train step.

Lesson 06_augmentation introduces this module.

**Where each piece goes.** Augmentation and normalisation are kept apart on
purpose:

* :func:`qutub_augment`, :func:`barbagallo_augment`,
  :func:`matijasevic_augment` and :func:`reference_augment` return a
  ``keras.Sequential`` of *random* layers only. Every one of them is the
  identity when called with
  ``training=False``. Give it to :func:`ferkit.train.fit` as ``augment=``:
  it then runs on the accelerator, inside the compiled train step, on
  training batches only. (It also works in the host data pipeline,
  ``ferkit.pipeline.make_dataset(..., augment=...)``, and at the start of a
  model.)
* :func:`normalization_layer` is *always on*. Put it inside the model, right
  after the input, so training, validation, test and deployment data are
  normalised the same way and a saved model carries its own normalisation.
  Putting it in the augmentation instead would normalise the training
  batches only: the classic train/test mismatch.

**Why ferkit has its own geometric layers.** Keras 3's ``RandomTranslation``,
``RandomRotation``, ``RandomZoom`` and ``RandomCrop`` declare themselves not
XLA-compatible (``supports_jit = False``), so a model that contains one
silently trains without XLA; ``RandomCrop`` also draws one offset per batch.
ferkit's :class:`RandomAffine` (and its presets :class:`RandomRotation`,
:class:`RandomTranslation`, :class:`RandomZoom`) and
:class:`RandomResizedCrop` are written with ``keras.ops`` only: they run on
every Keras backend, inside a jitted step, and draw their random values for
each image. Where Keras's own layer is XLA-compatible and draws per image
(``RandomFlip``, ``RandomContrast``), ferkit uses it.

Every ferkit layer here is registered for ``keras.saving`` under the package
``"ferkit"``, so a saved model that contains one reloads with
``safe_mode=True`` once ``ferkit.augment`` is imported.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from ferkit.papers import BARBAGALLO_AUGMENTATION, MATIJASEVIC_AUGMENTATION, QUTUB_ATAY_AUGMENTATION

FILL_MODES = ("constant", "reflect", "nearest")
"""How geometric layers fill pixels that come from outside the image."""

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)
"""RGB -> gray weights of torchvision's ``rgb_to_grayscale`` (ITU-R 601), used by the colour jitter."""


def paper_setting(settings, key, table="QUTUB_ATAY_AUGMENTATION"):
    """The value of ``key`` in a settings table of :mod:`ferkit.papers`.

    Returns ``settings[key]``; raises a ``ValueError`` that names the table
    and the key when the table does not record it (a paper's number is never
    guessed here). Introduced in lesson 06_augmentation.
    """
    if key not in settings:
        raise ValueError(
            f"ferkit.papers.{table} has no {key!r}: record the paper's value there "
            f"(keys present: {sorted(settings)})"
        )
    return settings[key]


def _images_batch(images):
    """Return ``(batch, was_single)`` with a batch axis added to a single image."""
    if len(images.shape) == 3:
        return ops.expand_dims(images, 0), True
    if len(images.shape) == 4:
        return images, False
    raise ValueError(
        f"images: expected (H, W, C) or (N, H, W, C), found shape {tuple(images.shape)}"
    )


def _static_size(batch):
    """``(height, width)`` of a batch as Python ints (models have a fixed image size)."""
    height, width = batch.shape[1], batch.shape[2]
    if height is None or width is None:
        raise ValueError(
            f"images: expected a fixed height and width, found shape {tuple(batch.shape)}"
        )
    return int(height), int(width)


def _check_probability(probability, argument="probability"):
    if not 0.0 <= float(probability) <= 1.0:
        raise ValueError(f"{argument}: expected a value in [0, 1], found {probability!r}")
    return float(probability)


def _check_range(pair, argument, positive=True):
    low, high = (float(value) for value in pair)
    if low > high or (positive and low <= 0):
        raise ValueError(
            f"{argument}: expected (low, high) with 0 < low <= high, found {tuple(pair)!r}"
        )
    return low, high


def _check_fill_mode(fill_mode):
    if fill_mode not in FILL_MODES:
        raise ValueError(f"fill_mode: expected one of {FILL_MODES}, found {fill_mode!r}")
    return fill_mode


def _uniform(count, low, high, generator):
    return keras.random.uniform((count,), low, high, seed=generator)


def _per_image(values):
    return values[:, None, None, None]


def _fold_coordinates(index, size, fill_mode):
    """Map integer sample positions outside ``[0, size)`` back inside, by ``fill_mode``."""
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a, as Keras's "reflect"
        period = 2 * size
        index = ops.mod(index, period)
        index = ops.where(index >= size, period - 1 - index, index)
    return ops.clip(index, 0, size - 1)


def sample_bilinear(images, source_rows, source_cols, fill_mode="constant", fill_value=0.0):
    """Resample ``images`` at fractional pixel positions, bilinearly, with ``keras.ops``.

    ``images`` is ``(N, H, W, C)``; ``source_rows`` and ``source_cols`` are
    ``(N, H_out, W_out)`` row and column positions in the source images (pixel
    centres at whole numbers). Returns ``(N, H_out, W_out, C)`` in ``float32``.
    Positions outside the image take ``fill_value`` (``"constant"``), the
    mirror image (``"reflect"``) or the nearest edge pixel (``"nearest"``).
    Only gathers and arithmetic: it runs under XLA on every Keras backend.
    :class:`RandomAffine` uses it for rotations; transforms that keep the
    axes use :func:`sample_separable`, the same numbers through two matrix
    products. Introduced in lesson 06_augmentation.
    """
    _check_fill_mode(fill_mode)
    images = ops.cast(images, "float32")
    count = ops.shape(images)[0]
    height, width = _static_size(images)
    channels = images.shape[-1]
    source_rows = ops.cast(source_rows, "float32")
    source_cols = ops.cast(source_cols, "float32")
    flat = ops.reshape(images, (-1, channels))
    first_pixel = (ops.arange(count, dtype="int32") * (height * width))[:, None, None]
    top = ops.floor(source_rows)
    left = ops.floor(source_cols)
    down = (source_rows - top)[..., None]
    right = (source_cols - left)[..., None]
    top = ops.cast(top, "int32")
    left = ops.cast(left, "int32")
    result = 0.0
    for row_step, row_weight in ((0, 1.0 - down), (1, down)):
        for col_step, col_weight in ((0, 1.0 - right), (1, right)):
            rows, cols = top + row_step, left + col_step
            index = (first_pixel + _fold_coordinates(rows, height, fill_mode) * width
                     + _fold_coordinates(cols, width, fill_mode))
            values = ops.take(flat, ops.reshape(index, (-1,)), axis=0)
            values = ops.reshape(values, (count, *source_rows.shape[1:], channels))
            if fill_mode == "constant":
                inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
                values = ops.where(inside[..., None], values, fill_value)
            result = result + row_weight * col_weight * values
    return result


def _axis_weights(positions, size, fill_mode):
    """Bilinear weights ``(N, out, size)`` of the source pixels along one axis (the "hat" function)."""
    positions = ops.cast(positions, "float32")
    if fill_mode == "reflect":  # mirror about the outer pixel edges, as _fold_coordinates does
        positions = ops.mod(positions + 0.5, 2.0 * size) - 0.5
        positions = ops.where(positions > size - 0.5, 2.0 * size - 1.0 - positions, positions)
    if fill_mode != "constant":
        positions = ops.clip(positions, 0.0, size - 1.0)
    pixels = ops.arange(size, dtype="float32")
    return ops.maximum(0.0, 1.0 - ops.abs(positions[..., None] - pixels))


def sample_separable(images, source_rows, source_cols, fill_mode="constant", fill_value=0.0):
    """:func:`sample_bilinear` for transforms that keep the axes, as two matrix products.

    ``source_rows`` is ``(N, H_out)`` (the source row of each output row) and
    ``source_cols`` ``(N, W_out)``: crops, shifts and zooms, where an output
    pixel's source row does not depend on its column. Returns the same
    ``(N, H_out, W_out, C)`` ``float32`` values as :func:`sample_bilinear`
    on the full grid, with matrix products instead of gathers: fast on every
    device, and XLA does not fuse it into a following resampling (a chain of
    gathers under XLA recomputes the first for every pixel the second reads:
    several times slower, measured on a CPU). Introduced in lesson
    06_augmentation.
    """
    _check_fill_mode(fill_mode)
    images = ops.cast(images, "float32")
    height, width = _static_size(images)
    row_weights = _axis_weights(source_rows, height, fill_mode)  # (N, H_out, H)
    col_weights = _axis_weights(source_cols, width, fill_mode)  # (N, W_out, W)
    rows = ops.einsum("nih,nhwc->niwc", row_weights, images)
    result = ops.einsum("njw,niwc->nijc", col_weights, rows)
    if fill_mode == "constant" and fill_value != 0.0:  # what falls outside takes the fill
        inside = ops.sum(row_weights, axis=-1)[:, :, None] * ops.sum(col_weights, axis=-1)[:, None, :]
        result = result + fill_value * (1.0 - inside)[..., None]
    return result


def affine_source_positions(height, width, angle, shift_rows, shift_cols, magnification):
    """Where each output pixel of a rotated, shifted and scaled image comes from.

    For ``N`` images of ``height`` x ``width``: ``angle`` in radians
    (counter-clockwise positive, as torchvision's), shifts in pixels (down,
    right) and ``magnification`` (above 1 zooms in), each of shape ``(N,)``,
    about the image centre ``((H - 1) / 2, (W - 1) / 2)``. Returns
    ``(source_rows, source_cols)``, each ``(N, H, W)``: the inverse map that
    :func:`sample_bilinear` reads. Introduced in lesson 06_augmentation.
    """
    centre_row, centre_col = (height - 1) / 2.0, (width - 1) / 2.0
    rows = ops.arange(height, dtype="float32")[None, :, None]
    cols = ops.arange(width, dtype="float32")[None, None, :]
    # Undo the shift, then the scale and the rotation, about the centre.
    out_rows = rows - centre_row - ops.cast(shift_rows, "float32")[:, None, None]
    out_cols = cols - centre_col - ops.cast(shift_cols, "float32")[:, None, None]
    angle = ops.cast(angle, "float32")
    magnification = ops.cast(magnification, "float32")
    cos = (ops.cos(angle) / magnification)[:, None, None]
    sin = (ops.sin(angle) / magnification)[:, None, None]
    source_cols = centre_col + cos * out_cols - sin * out_rows
    source_rows = centre_row + sin * out_cols + cos * out_rows
    return source_rows, source_cols


@keras.saving.register_keras_serializable(package="ferkit")
class RandomAffine(keras.layers.Layer):
    """Rotate, shift and scale each image by its own random amounts, in one resampling.

    torchvision's ``RandomAffine(degrees, translate, scale)`` as a Keras 3
    layer: for every image an angle is drawn uniformly from
    ``[-rotation, rotation]`` degrees (counter-clockwise positive), a shift
    from ``[-translation, translation]`` of the width and of the height,
    rounded to whole pixels as torchvision does, and a magnification from
    ``scale`` (``(0.9, 1.1)``: up to 10 % smaller or larger); the image is
    transformed about its centre and resampled once, bilinearly (one
    resampling blurs less than three). Pixels from outside the image are
    filled as ``fill_mode`` says (:data:`FILL_MODES`). Identity when
    ``training=False``.

    Returns images of the same shape (``(H, W, C)`` or ``(N, H, W, C)``),
    ``float32``. Written with ``keras.ops`` only (:func:`sample_bilinear`, or
    :func:`sample_separable` without rotation), so
    it runs inside an XLA-compiled train step on every backend, unlike
    Keras's own ``RandomRotation``, ``RandomTranslation`` and ``RandomZoom``.
    Introduced in lesson 06_augmentation.
    """

    def __init__(self, rotation=0.0, translation=0.0, scale=(1.0, 1.0), fill_mode="constant",
                 fill_value=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(rotation) <= 180.0:
            raise ValueError(f"rotation: expected degrees in [0, 180], found {rotation!r}")
        if not 0.0 <= float(translation) <= 1.0:
            raise ValueError(f"translation: expected a fraction in [0, 1], found {translation!r}")
        self.rotation = float(rotation)
        self.translation = float(translation)
        self.scale = _check_range(scale, "scale")
        self.fill_mode = _check_fill_mode(fill_mode)
        self.fill_value = float(fill_value)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _is_identity(self):
        return self.rotation == 0.0 and self.translation == 0.0 and self.scale == (1.0, 1.0)

    def call(self, images, training=True):
        if not training or self._is_identity():
            return images
        batch, single = _images_batch(images)
        count = ops.shape(batch)[0]
        height, width = _static_size(batch)
        angle = _uniform(count, -self.rotation, self.rotation, self.seed_generator) * (math.pi / 180.0)
        shift_cols = ops.round(_uniform(count, -self.translation, self.translation, self.seed_generator)
                               * width)
        shift_rows = ops.round(_uniform(count, -self.translation, self.translation, self.seed_generator)
                               * height)
        magnification = _uniform(count, self.scale[0], self.scale[1], self.seed_generator)
        if self.rotation == 0.0:  # the axes stay: rows from rows, columns from columns
            rows = ops.arange(height, dtype="float32")[None, :]
            cols = ops.arange(width, dtype="float32")[None, :]
            source_rows = (height - 1) / 2.0 + (rows - (height - 1) / 2.0 - shift_rows[:, None]) \
                / magnification[:, None]
            source_cols = (width - 1) / 2.0 + (cols - (width - 1) / 2.0 - shift_cols[:, None]) \
                / magnification[:, None]
            moved = sample_separable(batch, source_rows, source_cols, self.fill_mode, self.fill_value)
        else:
            source_rows, source_cols = affine_source_positions(height, width, angle, shift_rows,
                                                               shift_cols, magnification)
            moved = sample_bilinear(batch, source_rows, source_cols, self.fill_mode, self.fill_value)
        moved = ops.cast(moved, batch.dtype)
        return moved[0] if single else moved

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(rotation=self.rotation, translation=self.translation, scale=list(self.scale),
                      fill_mode=self.fill_mode, fill_value=self.fill_value, seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="ferkit")
class RandomRotation(RandomAffine):
    """Rotate each image by its own angle, uniform in ``[-degrees, degrees]``.

    A :class:`RandomAffine` with rotation only (torchvision's
    ``RandomRotation(degrees)``); XLA-compatible, unlike Keras's
    ``RandomRotation``. Identity when ``training=False``. Introduced in
    lesson 06_augmentation.
    """

    def __init__(self, degrees, fill_mode="constant", fill_value=0.0, seed=None, **kwargs):
        super().__init__(rotation=degrees, fill_mode=fill_mode, fill_value=fill_value, seed=seed,
                         **kwargs)

    @property
    def factor(self):
        """The range in Keras's ``RandomRotation`` convention: fractions of a full turn."""
        return (-self.rotation / 360.0, self.rotation / 360.0)

    def get_config(self):
        config = super().get_config()
        config["degrees"] = config.pop("rotation")
        del config["translation"], config["scale"]
        return config


@keras.saving.register_keras_serializable(package="ferkit")
class RandomTranslation(RandomAffine):
    """Shift each image by up to ``fraction`` of its width and of its height, whole pixels.

    A :class:`RandomAffine` with translation only (torchvision's
    ``RandomAffine(0, translate=(fraction, fraction))``); XLA-compatible,
    unlike Keras's ``RandomTranslation``. Identity when ``training=False``.
    Introduced in lesson 06_augmentation.
    """

    def __init__(self, fraction, fill_mode="constant", fill_value=0.0, seed=None, **kwargs):
        super().__init__(translation=fraction, fill_mode=fill_mode, fill_value=fill_value,
                         seed=seed, **kwargs)

    def get_config(self):
        config = super().get_config()
        config["fraction"] = config.pop("translation")
        del config["rotation"], config["scale"]
        return config


@keras.saving.register_keras_serializable(package="ferkit")
class RandomZoom(RandomAffine):
    """Magnify each image by its own factor, uniform in ``[1 - fraction, 1 + fraction]``.

    A :class:`RandomAffine` with scale only, about the image centre (above 1
    zooms in, below 1 zooms out and fills the border); XLA-compatible,
    unlike Keras's ``RandomZoom``. Identity when ``training=False``.
    Introduced in lesson 06_augmentation.
    """

    def __init__(self, fraction, fill_mode="constant", fill_value=0.0, seed=None, **kwargs):
        if not 0.0 <= float(fraction) < 1.0:
            raise ValueError(f"fraction: expected a value in [0, 1), found {fraction!r}")
        super().__init__(scale=(1.0 - float(fraction), 1.0 + float(fraction)), fill_mode=fill_mode,
                         fill_value=fill_value, seed=seed, **kwargs)
        self.fraction = float(fraction)

    def get_config(self):
        config = super().get_config()
        del config["rotation"], config["translation"], config["scale"]
        config["fraction"] = self.fraction
        return config


@keras.saving.register_keras_serializable(package="ferkit")
class RandomResizedCrop(keras.layers.Layer):
    """torchvision's ``RandomResizedCrop``, one window per image, resized back to the image size.

    For every image, as ``torchvision.transforms.RandomResizedCrop.get_params``
    does: up to ``attempts`` (10) windows are drawn, each with an area that is
    a fraction of the image's drawn uniformly from ``scale`` and an aspect
    ratio (width / height) drawn log-uniformly from ``ratio``, sides rounded
    to whole pixels; the first that fits inside the image is used, at a
    uniformly random position; if none fits, the centre window of the whole
    image (its aspect clamped to ``ratio``). The window is resized to the
    input's size, bilinearly (edge pixels repeated at the border, as
    torchvision's resize does). Identity when ``training=False``.

    A consequence worth knowing: a window larger than the image never fits,
    so torchvision (and this layer) never zooms *out*. Qutub & Atay's
    ``scale=(0.8, 1.2)`` therefore crops 80 % to 100 % of the image (areas
    just above 1 round to the whole image), never 120 %.

    Returns images of the same shape, ``float32``; ``keras.ops`` only, so it
    runs inside an XLA-compiled step on every backend.
    Introduced in lesson 06_augmentation.
    """

    def __init__(self, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), attempts=10, seed=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.scale = _check_range(scale, "scale")
        self.ratio = _check_range(ratio, "ratio")
        if int(attempts) < 1:
            raise ValueError(f"attempts: expected a positive int, found {attempts!r}")
        self.attempts = int(attempts)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _fallback(self, height, width):
        """torchvision's fallback window ``(h, w)``: the centre crop of the whole image."""
        aspect = width / height
        if aspect < self.ratio[0]:
            return int(round(width / self.ratio[0])), width
        if aspect > self.ratio[1]:
            return height, int(round(height * self.ratio[1]))
        return height, width

    def call(self, images, training=True):
        if not training:
            return images
        batch, single = _images_batch(images)
        count = ops.shape(batch)[0]
        height, width = _static_size(batch)
        draws = (count, self.attempts)
        area = keras.random.uniform(draws, self.scale[0], self.scale[1], seed=self.seed_generator)
        area = area * float(height * width)
        aspect = ops.exp(keras.random.uniform(draws, math.log(self.ratio[0]), math.log(self.ratio[1]),
                                              seed=self.seed_generator))
        box_width = ops.round(ops.sqrt(area * aspect))
        box_height = ops.round(ops.sqrt(area / aspect))
        fits = (box_width > 0) & (box_width <= width) & (box_height > 0) & (box_height <= height)
        first = ops.argmax(ops.cast(fits, "int32"), axis=1)
        chosen = ops.one_hot(first, self.attempts, dtype="float32")
        found = ops.any(fits, axis=1)
        fallback_height, fallback_width = self._fallback(height, width)
        box_height = ops.where(found, ops.sum(box_height * chosen, axis=1), float(fallback_height))
        box_width = ops.where(found, ops.sum(box_width * chosen, axis=1), float(fallback_width))
        top = ops.floor(_uniform(count, 0.0, 1.0, self.seed_generator) * (height - box_height + 1.0))
        left = ops.floor(_uniform(count, 0.0, 1.0, self.seed_generator) * (width - box_width + 1.0))
        top = ops.where(found, top, float((height - fallback_height) // 2))
        left = ops.where(found, left, float((width - fallback_width) // 2))
        # Output pixel centre (i + 0.5) / H of the window, as torchvision's resize (align_corners=False).
        rows = (ops.arange(height, dtype="float32") + 0.5)[None, :]
        cols = (ops.arange(width, dtype="float32") + 0.5)[None, :]
        source_rows = top[:, None] + rows * (box_height / height)[:, None] - 0.5
        source_cols = left[:, None] + cols * (box_width / width)[:, None] - 0.5
        cropped = ops.cast(sample_separable(batch, source_rows, source_cols, "nearest"), batch.dtype)
        return cropped[0] if single else cropped

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(scale=list(self.scale), ratio=list(self.ratio), attempts=self.attempts,
                      seed=self.seed)
        return config


def _ten_crop_corners(height, width, size):
    """Top-left corners of the five TenCrop windows: four corners, then the centre (torchvision's rounding)."""
    size = int(size)
    if not 1 <= size <= min(height, width):
        raise ValueError(
            f"size: expected a crop side between 1 and {min(height, width)} "
            f"for {height}x{width} images, found {size}"
        )
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return [(0, 0), (0, width - size), (height - size, 0), (height - size, width - size), (top, left)]


@keras.saving.register_keras_serializable(package="ferkit")
class TenCrop(keras.layers.Layer):
    """Every image becomes its ten ``size`` x ``size`` crops: four corners, centre, and their mirrors.

    Qutub & Atay's training-time TenCrop (their section 3.3, 40x40 crops of
    the 48x48 faces, taken after the other transforms). Returns
    ``(10 * N, size, size, C)``, image-major: rows ``10 * n`` to
    ``10 * n + 9`` are the crops of image ``n``, in the order of
    :func:`ten_crop`. It is not random and acts in training and inference
    alike (``views = 10``): :func:`ferkit.train.fit` repeats each label for
    the ten crops of a training image and, for validation, averages the
    model's probabilities over the ten crops, as
    ``ferkit.evaluate.predict(..., tta="tencrop")`` does at test time. The
    model therefore takes ``size`` x ``size`` inputs. Use it through
    ``fit(augment=...)`` or ``make_dataset(augment=...)``, which know about
    the ten views, not inside a model. Introduced in lesson 06_augmentation.
    """

    views = 10

    def __init__(self, size, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, (int, np.integer)) or size < 1:
            raise ValueError(f"size: expected a positive int, found {size!r}")
        self.size = int(size)

    def call(self, images, training=None):
        batch, _ = _images_batch(images)
        height, width = _static_size(batch)
        size = self.size
        crops = [batch[:, y : y + size, x : x + size, :]
                 for y, x in _ten_crop_corners(height, width, size)]
        crops += [ops.flip(crop, axis=2) for crop in crops]
        stacked = ops.stack(crops, axis=1)
        return ops.reshape(stacked, (-1, size, size, batch.shape[-1]))

    def compute_output_shape(self, input_shape):
        count = None if input_shape[0] is None else input_shape[0] * self.views
        return (count, self.size, self.size, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size)
        return config


def views_per_image(augmentation):
    """How many images ``augmentation`` makes of each input image (10 with a :class:`TenCrop`).

    Returns the product of the ``views`` of the layers it holds (1 for
    ordinary augmentations, and for ``None``). :func:`ferkit.train.fit` and
    :func:`ferkit.pipeline.make_dataset` use it to repeat the labels.
    Introduced in lesson 06_augmentation.
    """
    if augmentation is None:
        return 1
    views = int(getattr(augmentation, "views", 1))
    for inner in getattr(augmentation, "layers", []):
        views *= views_per_image(inner)
    return views


@keras.saving.register_keras_serializable(package="ferkit")
class RandomErasing(keras.layers.Layer):
    """Erase one random rectangle per image with probability ``probability``.

    Random Erasing (Zhong et al., 2017) as torchvision's ``RandomErasing``
    does it and as Qutub & Atay use it (p = 0.5): with probability
    ``probability`` an image gets one rectangle, whose area is a fraction
    drawn uniformly from ``scale`` and whose aspect ratio (height / width)
    is drawn log-uniformly from ``ratio``, placed uniformly at random and
    filled with ``value`` in every channel. Nothing else in the image
    changes. Identity when ``training=False``.

    Returns the images with the same shape and dtype (single images
    ``(H, W, C)`` or batches ``(N, H, W, C)``).

    Differences from the references, stated so nobody is surprised:
    torchvision redraws a rectangle that does not fit (up to 10 times);
    this layer clips its sides to the image instead, which keeps it
    vectorised. ``keras.layers.RandomErasing`` exists but draws the
    probability itself from ``[0, factor]`` and the two sides
    independently, with no aspect-ratio control, so it is not the
    paper's augmentation.

    ``value`` is in the units of the images it sees: in a ferkit pipeline
    that is ``[0, 1]`` before normalisation, so ``0.0`` erases to black.
    (torchvision pipelines usually erase *after* normalising, where 0 is the
    mean grey; to mimic that, pass the normalisation mean as ``value``.)
    Introduced in lesson 06_augmentation.
    """

    def __init__(self, probability=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0,
                 seed=None, **kwargs):
        super().__init__(**kwargs)
        self.probability = _check_probability(probability)
        self.scale = _check_range(scale, "scale")
        self.ratio = _check_range(ratio, "ratio")
        self.value = float(value)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training or self.probability == 0.0:
            return images
        batch, single = _images_batch(images)
        shape = ops.shape(batch)
        count, height, width = shape[0], shape[1], shape[2]
        height_f = ops.cast(height, "float32")
        width_f = ops.cast(width, "float32")

        area = _uniform(count, self.scale[0], self.scale[1], self.seed_generator) * height_f * width_f
        log_ratio = _uniform(count, math.log(self.ratio[0]), math.log(self.ratio[1]), self.seed_generator)
        aspect = ops.exp(log_ratio)
        box_height = ops.clip(ops.round(ops.sqrt(area * aspect)), 1.0, height_f)
        box_width = ops.clip(ops.round(ops.sqrt(area / aspect)), 1.0, width_f)
        # Top-left corner uniform over the positions where the box fits.
        top = ops.floor(_uniform(count, 0.0, 1.0, self.seed_generator) * (height_f - box_height + 1.0))
        left = ops.floor(_uniform(count, 0.0, 1.0, self.seed_generator) * (width_f - box_width + 1.0))
        erase = _uniform(count, 0.0, 1.0, self.seed_generator) < self.probability

        rows = ops.cast(ops.arange(height), "float32")[None, :, None, None]
        cols = ops.cast(ops.arange(width), "float32")[None, None, :, None]
        inside = (
            (rows >= _per_image(top))
            & (rows < _per_image(top + box_height))
            & (cols >= _per_image(left))
            & (cols < _per_image(left + box_width))
            & _per_image(erase)
        )
        fill = ops.cast(self.value, batch.dtype)
        erased = ops.where(inside, fill, batch)
        return erased[0] if single else erased

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            probability=self.probability,
            scale=list(self.scale),
            ratio=list(self.ratio),
            value=self.value,
            seed=self.seed,
        )
        return config


@keras.saving.register_keras_serializable(package="ferkit")
class RandomApply(keras.layers.Layer):
    """Apply ``layer`` to each image with probability ``probability``.

    torchvision's ``RandomApply`` for Keras (Keras 3.15 has none): for every
    image a coin is tossed; heads gets ``layer(images, training=True)``,
    tails the image unchanged. Identity when ``training=False``.

    Returns images of the same shape. ``layer`` must keep the shape (colour
    jitter, translation and the like). It is run on the whole batch and the
    per-image choice is made afterwards, which is simple and costs one extra
    pass of ``layer`` at most. Introduced in lesson 06_augmentation.
    """

    def __init__(self, layer, probability=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(layer, dict):
            layer = keras.saving.deserialize_keras_object(layer)
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(f"layer: expected a Keras layer, found {type(layer).__name__}")
        self.layer = layer
        self.probability = _check_probability(probability)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.built = True

    def call(self, images, training=True):
        if not training or self.probability == 0.0:
            return images
        batch, single = _images_batch(images)
        changed = ops.cast(self.layer(batch, training=True), batch.dtype)
        heads = _uniform(ops.shape(batch)[0], 0.0, 1.0, self.seed_generator) < self.probability
        mixed = ops.where(_per_image(heads), changed, batch)
        return mixed[0] if single else mixed

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            layer=keras.saving.serialize_keras_object(self.layer),
            probability=self.probability,
            seed=self.seed,
        )
        return config


@keras.saving.register_keras_serializable(package="ferkit")
class RandomBrightnessScale(keras.layers.Layer):
    """Multiply each image by a factor drawn uniformly from ``[1 - factor, 1 + factor]``.

    The brightness jitter of torchvision's ``ColorJitter(brightness=factor)``,
    which the papers use, clipped to ``value_range``. Keras's own
    ``RandomBrightness`` *adds* an offset instead (``factor=0.5`` shifts by
    up to half the value range), which is a much stronger change for dark
    faces, hence this layer. Identity when ``training=False``.

    Returns images of the same shape and dtype. Introduced in lesson
    06_augmentation.
    """

    def __init__(self, factor=0.5, value_range=(0.0, 1.0), seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(factor) <= 1.0:
            raise ValueError(f"factor: expected a value in [0, 1], found {factor!r}")
        self.factor = float(factor)
        self.value_range = tuple(float(value) for value in value_range)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training or self.factor == 0.0:
            return images
        batch, single = _images_batch(images)
        scale = _uniform(ops.shape(batch)[0], 1.0 - self.factor, 1.0 + self.factor, self.seed_generator)
        brightened = ops.clip(batch * ops.cast(_per_image(scale), batch.dtype), *self.value_range)
        return brightened[0] if single else brightened

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, value_range=list(self.value_range), seed=self.seed)
        return config


@keras.saving.register_keras_serializable(package="ferkit")
class RandomSaturationScale(keras.layers.Layer):
    """Blend each RGB image with its grey version by a factor from ``[max(0, 1 - factor), 1 + factor]``.

    The saturation jitter of torchvision's ``ColorJitter(saturation=factor)``
    (``adjust_saturation``: ``gray + s * (image - gray)``, clipped to
    ``[0, 1]``). A grayscale image (one channel) has no saturation and is
    returned unchanged, as torchvision does, so on FER2013's faces this layer
    does nothing unless they are turned to RGB first. Keras's own
    ``RandomSaturation`` scales the HSV saturation with another meaning of
    ``factor`` (0.5 is the identity), hence this layer. Identity when
    ``training=False``. Introduced in lesson 06_augmentation.
    """

    def __init__(self, factor=0.5, seed=None, **kwargs):
        super().__init__(**kwargs)
        if float(factor) < 0.0:
            raise ValueError(f"factor: expected a non-negative value, found {factor!r}")
        self.factor = float(factor)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training or self.factor == 0.0 or images.shape[-1] == 1:
            return images
        batch, single = _images_batch(images)
        weights = ops.cast(ops.convert_to_tensor(GRAY_WEIGHTS), batch.dtype)
        gray = ops.sum(batch * weights, axis=-1, keepdims=True)
        saturation = _uniform(ops.shape(batch)[0], max(0.0, 1.0 - self.factor), 1.0 + self.factor,
                              self.seed_generator)
        blended = ops.clip(gray + ops.cast(_per_image(saturation), batch.dtype) * (batch - gray), 0.0, 1.0)
        return blended[0] if single else blended

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, seed=self.seed)
        return config


def _horizontal_flip(probability, seed, table):
    """Keras's ``RandomFlip("horizontal")`` (p = 0.5), behind a :class:`RandomApply` coin for a lower p."""
    probability = float(probability)
    if not 0.0 <= probability <= 0.5:
        raise ValueError(
            f"ferkit.papers.{table}['horizontal_flip_probability']: expected a value in [0, 0.5] "
            f"(Keras's RandomFlip flips half the images), found {probability}"
        )
    flip = keras.layers.RandomFlip("horizontal", seed=seed)
    if probability == 0.5:
        return flip
    return RandomApply(flip, 2.0 * probability, seed=None if seed is None else seed + 1000)


def _seeds(seed, count):
    """``count`` different layer seeds from one seed (all ``None`` when ``seed`` is)."""
    return [None if seed is None else seed + offset for offset in range(count)]


def qutub_augment(seed=None, erase_value=0.0, ten_crop=False):
    """Qutub & Atay's training augmentation (their section 3.3) as a Keras Sequential.

    Returns a ``keras.Sequential`` named ``"qutub_augment"`` of random layers,
    for float images in ``[0, 1]``, in the paper's order:

    1. random resized crop, scale 0.8-1.2 -> :class:`RandomResizedCrop`, as
       torchvision's (aspect ratio 3/4 to 4/3, torchvision's default, since
       the paper names none). Windows larger than the image never fit, so the
       crop keeps 80 % to 100 % of the image (see the class);
    2. brightness, contrast and saturation jitter 0.5, with p = 0.5 ->
       ``RandomApply(Sequential([RandomBrightnessScale(0.5), RandomContrast(0.5),
       RandomSaturationScale(0.5)]), 0.5)``, in that fixed order
       (torchvision's ``ColorJitter`` shuffles the order for every image; the
       saturation step changes RGB images only);
    3. random affine, 0 degrees, translation 0.2, with p = 0.5 ->
       ``RandomApply(RandomAffine(rotation=0, translation=0.2), 0.5)``
       (shifts in whole pixels, as torchvision's);
    4. horizontal flip (p = 0.5) -> Keras's ``RandomFlip("horizontal")``;
    5. rotation within +-45 degrees -> :class:`RandomRotation` (45);
    6. with ``ten_crop=True``, TenCrop of 40x40 -> :class:`TenCrop`: each
       face becomes its ten crops and the model takes 40x40 inputs (the
       paper does not say how the ten crops enter the loss; here each crop is
       a training example with its face's label, and validation averages the
       ten, see :class:`TenCrop`). Off by default: then the model takes the
       whole face;
    7. random erasing with p = 0.5 -> :class:`RandomErasing` (0.5), on each
       crop when there are crops.

    The paper's normalisation comes between 6 and 7 there; here it is *not*
    in the augmentation: it must also apply at test time, so it goes inside
    the model (:func:`normalization_layer`); see the module docstring.
    Borders uncovered by the geometry are black (``fill_value`` 0, as
    torchvision's). Every random layer is the identity with
    ``training=False``. ``seed`` (an int) makes the draws repeatable;
    ``erase_value`` is the fill of the erased rectangle. The numbers come
    from :data:`ferkit.papers.QUTUB_ATAY_AUGMENTATION` (:func:`paper_setting`).
    Introduced in lesson 06_augmentation.
    """
    settings = QUTUB_ATAY_AUGMENTATION

    def setting(key):
        return paper_setting(settings, key)

    seeds = _seeds(seed, 10)
    jitter = keras.Sequential(
        [
            RandomBrightnessScale(setting("brightness"), seed=seeds[0]),
            keras.layers.RandomContrast(setting("contrast"), value_range=(0, 1), seed=seeds[1]),
            RandomSaturationScale(setting("saturation"), seed=seeds[2]),
        ],
        name="color_jitter",
    )
    shift = RandomAffine(rotation=setting("affine_degrees"), translation=setting("translate"),
                         seed=seeds[5])
    layers = [
        RandomResizedCrop(setting("random_resized_crop_scale"), seed=seeds[3]),
        RandomApply(jitter, setting("color_jitter_probability"), seed=seeds[4]),
        RandomApply(shift, setting("translate_probability"), seed=seeds[6]),
    ]
    if setting("horizontal_flip"):
        layers.append(_horizontal_flip(setting("horizontal_flip_probability"), seeds[7],
                                       "QUTUB_ATAY_AUGMENTATION"))
    layers.append(RandomRotation(setting("rotation_degrees"), seed=seeds[8]))
    if ten_crop:
        layers.append(TenCrop(setting("ten_crop_size")))
    layers.append(RandomErasing(setting("random_erasing_probability"), value=erase_value,
                                seed=seeds[9]))
    return keras.Sequential(layers, name="qutub_augment")


def barbagallo_augment(seed=None):
    """Barbagallo's training augmentation: a horizontal flip with p = 0.5.

    Returns a ``keras.Sequential`` named ``"barbagallo_augment"`` holding one
    Keras ``RandomFlip("horizontal")`` (XLA-compatible, one coin per image,
    the identity with ``training=False``). The probability comes from
    :data:`ferkit.papers.BARBAGALLO_AUGMENTATION`. Their normalisation (mean
    0.5, std 0.5) goes inside the model as
    ``normalization_layer(*BARBAGALLO_NORMALIZATION)``, see the module
    docstring. Introduced in lesson 05_fer_kd.
    """
    table = "BARBAGALLO_AUGMENTATION"
    probability = paper_setting(BARBAGALLO_AUGMENTATION, "horizontal_flip_probability", table)
    flip = _horizontal_flip(probability, seed, table)
    return keras.Sequential([flip], name="barbagallo_augment")


def matijasevic_augment(seed=None):
    """Matijasevic's training augmentation (section 4.2): a horizontal flip, nothing else.

    Returns a ``keras.Sequential`` named ``"matijasevic_augment"`` holding one
    Keras ``RandomFlip("horizontal")`` (XLA-compatible, one coin per image,
    the identity with ``training=False``): the only step of
    :data:`ferkit.papers.MATIJASEVIC_AUGMENTATION` (RAF-DB's faces are
    already cropped and centred). The paper states no probability, so the
    flip's p = 0.5 (``RandomFlip``'s) is ours, unless the table records a
    ``horizontal_flip_probability``. A table that records another step
    raises a ``ValueError`` naming it, rather than being half-built. Used by
    the ``matijasevic_*`` experiments (lesson 07_transfer_learning);
    introduced in lesson 06_augmentation.
    """
    table = "MATIJASEVIC_AUGMENTATION"
    steps = tuple(paper_setting(MATIJASEVIC_AUGMENTATION, "steps", table))
    if steps != ("horizontal_flip",) or not paper_setting(MATIJASEVIC_AUGMENTATION, "horizontal_flip", table):
        raise ValueError(
            f"ferkit.papers.{table}: expected a horizontal flip as the only step (what "
            f"matijasevic_augment builds), found steps {steps} and horizontal_flip "
            f"{MATIJASEVIC_AUGMENTATION.get('horizontal_flip')!r}"
        )
    probability = MATIJASEVIC_AUGMENTATION.get("horizontal_flip_probability", 0.5)  # not stated: ours
    return keras.Sequential([_horizontal_flip(probability, seed, table)], name="matijasevic_augment")


def reference_augment(seed=None):
    """The course reference model's augmentation: ours, not a paper's.

    Returns a ``keras.Sequential`` named ``"reference_augment"``: a horizontal
    flip (Keras's ``RandomFlip``), then one :class:`RandomAffine` that shifts
    by up to 10 % of the image each way, rotates within +-15 degrees and
    zooms in or out by up to 10 % (magnification 0.9-1.1), borders filled by
    reflection, resampled once. Gentle on purpose: 48x48 faces lose their
    expression under strong geometry. The identity with ``training=False``.
    Used by the ``reference`` experiment; introduced in lesson
    06_augmentation.
    """
    seeds = _seeds(seed, 2)
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seeds[0]),
            RandomAffine(rotation=15.0, translation=0.1, scale=(0.9, 1.1), fill_mode="reflect",
                         seed=seeds[1]),
        ],
        name="reference_augment",
    )


RECIPES = {"qutub_augment": qutub_augment, "barbagallo_augment": barbagallo_augment,
           "matijasevic_augment": matijasevic_augment, "reference_augment": reference_augment}
"""The augmentation recipes by name: the papers' three and the course's own."""

BARBAGALLO_NORMALIZATION = (
    paper_setting(BARBAGALLO_AUGMENTATION, "normalize_mean", "BARBAGALLO_AUGMENTATION"),
    paper_setting(BARBAGALLO_AUGMENTATION, "normalize_std", "BARBAGALLO_AUGMENTATION"),
)
"""``(mean, std)`` of Barbagallo's normalisation: ``x -> (x - 0.5) / 0.5``, i.e. ``[0, 1] -> [-1, 1]``."""


def normalization_layer(mean, std, name="normalization"):
    """An always-on ``(x - mean) / std`` layer to put inside the model.

    Returns a ``keras.layers.Normalization`` with the given ``mean`` and
    ``std`` (scalars, or one value per channel), fixed at construction: it
    needs no ``adapt`` and is saved with the model. Place it right after the
    model's input so that training and test images are normalised
    identically (see the module docstring). For images in ``[0, 1]``.
    Introduced in lesson 06_augmentation.
    """
    std = np.asarray(std, dtype="float32")
    if np.any(std <= 0):
        raise ValueError(f"std: expected positive values, found {std.tolist()}")
    mean = np.asarray(mean, dtype="float32")
    return keras.layers.Normalization(mean=mean, variance=np.square(std), name=name)


def with_normalization(model, mean, std, name=None):
    """Return ``model`` with a fixed :func:`normalization_layer` in front of it.

    The returned model takes the same input as ``model``, computes
    ``(x - mean) / std`` and passes the result to ``model``, which becomes one
    of its layers (``get_layer(model.name)``). It adds no trainable weights and
    is saved with the two numbers. ``name`` defaults to
    ``"<model.name>_normalized"``. Introduced in lesson 03_shallow_dropout_deep.
    """
    inputs = keras.Input(shape=model.input_shape[1:], name="image")
    outputs = model(normalization_layer(mean, std)(inputs))
    return keras.Model(inputs, outputs, name=name or f"{model.name}_normalized")


def ten_crop(images, size):
    """The ten crops of TenCrop: four corners, centre, and the mirror of each.

    Returns an array of shape ``(10, N, size, size, C)`` and the dtype of
    ``images`` (``(N, H, W, C)``): ``crops[0:5]`` are the top-left, top-right,
    bottom-left, bottom-right and centre windows, ``crops[5 + k]`` is
    ``crops[k]`` mirrored left-right. The centre window starts at
    ``round((H - size) / 2)`` as torchvision's. (torchvision orders its last
    five by cropping the mirrored image, so its 6th crop is the mirror of our
    2nd; the ten crops are the same set when ``W - size`` is even.)

    For test-time augmentation use :func:`ferkit.evaluate.predict` with
    ``tta="tencrop"``, which crops in bounded memory; for training on crops,
    :class:`TenCrop` does the same inside the train step. Introduced in
    lesson 06_augmentation.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images: expected shape (N, H, W, C), found {images.shape}")
    height, width = images.shape[1:3]
    size = int(size)
    crops = [images[:, y : y + size, x : x + size] for y, x in _ten_crop_corners(height, width, size)]
    crops += [crop[:, :, ::-1] for crop in crops]
    return np.stack(crops)
