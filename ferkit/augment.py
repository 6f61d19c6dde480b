"""The papers' data augmentation, as Keras preprocessing layers, and TenCrop.

Lesson 06_augmentation introduces this module.

**Where each piece goes.** Augmentation and normalisation are kept apart on
purpose:

* :func:`qutub_augment` and :func:`barbagallo_augment` return a
  ``keras.Sequential`` of *random* layers only. Every one of them is the
  identity when called with ``training=False``, so the Sequential can go
  either into the data pipeline
  (``ferkit.pipeline.make_dataset(..., augment=qutub_augment())``, which
  applies it to training batches only) or at the start of the model (Keras
  switches it off in ``evaluate`` and ``predict``).
* :func:`normalization_layer` is *always on*. Put it inside the model, right
  after the input, so training, validation, test and deployment data are
  normalised the same way and a saved model carries its own normalisation.
  Putting it in the augmentation pipeline instead would normalise the
  training batches only: the classic train/test mismatch.

ferkit's random layers (:class:`RandomErasing`, :class:`RandomApply`,
:class:`RandomBrightnessScale`) are plain Keras 3 layers written with
``keras.ops`` and ``keras.random.SeedGenerator``: they run inside
``tf.data`` (ferkit uses the TensorFlow backend) and inside a model, and
they are registered for ``keras.saving`` under the package ``"ferkit"``, so
a saved model that contains them reloads with ``safe_mode=True`` once
``ferkit.augment`` is imported.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from ferkit.papers import BARBAGALLO_AUGMENTATION, QUTUB_ATAY_AUGMENTATION


def _images_batch(images):
    """Return ``(batch, was_single)`` with a batch axis added to a single image."""
    if len(images.shape) == 3:
        return ops.expand_dims(images, 0), True
    if len(images.shape) == 4:
        return images, False
    raise ValueError(
        f"images: expected (H, W, C) or (N, H, W, C), found shape {tuple(images.shape)}"
    )


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

        area = keras.random.uniform(
            (count,), self.scale[0], self.scale[1], seed=self.seed_generator
        ) * height_f * width_f
        log_ratio = keras.random.uniform(
            (count,), math.log(self.ratio[0]), math.log(self.ratio[1]), seed=self.seed_generator
        )
        aspect = ops.exp(log_ratio)
        box_height = ops.clip(ops.round(ops.sqrt(area * aspect)), 1.0, height_f)
        box_width = ops.clip(ops.round(ops.sqrt(area / aspect)), 1.0, width_f)
        # Top-left corner uniform over the positions where the box fits.
        top = ops.floor(
            keras.random.uniform((count,), 0.0, 1.0, seed=self.seed_generator)
            * (height_f - box_height + 1.0)
        )
        left = ops.floor(
            keras.random.uniform((count,), 0.0, 1.0, seed=self.seed_generator)
            * (width_f - box_width + 1.0)
        )
        erase = keras.random.uniform((count,), 0.0, 1.0, seed=self.seed_generator) < self.probability

        rows = ops.cast(ops.arange(height), "float32")[None, :, None, None]
        cols = ops.cast(ops.arange(width), "float32")[None, None, :, None]

        def per_image(values):
            return values[:, None, None, None]

        inside = (
            (rows >= per_image(top))
            & (rows < per_image(top + box_height))
            & (cols >= per_image(left))
            & (cols < per_image(left + box_width))
            & per_image(erase)
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
        heads = keras.random.uniform(
            (ops.shape(batch)[0],), 0.0, 1.0, seed=self.seed_generator
        ) < self.probability
        mixed = ops.where(heads[:, None, None, None], changed, batch)
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
        scale = keras.random.uniform(
            (ops.shape(batch)[0], 1, 1, 1), 1.0 - self.factor, 1.0 + self.factor,
            seed=self.seed_generator,
        )
        brightened = ops.clip(batch * ops.cast(scale, batch.dtype), *self.value_range)
        return brightened[0] if single else brightened

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(factor=self.factor, value_range=list(self.value_range), seed=self.seed)
        return config


def _seeds(seed, count):
    """``count`` different layer seeds from one seed (all ``None`` when ``seed`` is)."""
    return [None if seed is None else seed + offset for offset in range(count)]


def qutub_augment(seed=None, erase_value=0.0):
    """Qutub & Atay's training augmentation (their section 3.3) as a Keras Sequential.

    Returns a ``keras.Sequential`` named ``"qutub_augment"`` of random layers,
    for float images in ``[0, 1]``, in the paper's order:

    1. random resized crop, scale 0.8-1.2 -> ``RandomZoom``. The scale of a
       torchvision ``RandomResizedCrop`` is the crop's *area* as a fraction
       of the image, so the crop's side is ``sqrt(scale)`` of the image's,
       and Keras's zoom factor ``z`` samples a window of side ``1 + z``:
       ``z`` in ``(sqrt(0.8) - 1, sqrt(1.2) - 1)``, about -0.106 to +0.095.
       Our choices where the paper is silent: the aspect ratio is kept (no
       ratio jitter), and scale > 1 (a window larger than the image, which a
       torchvision crop cannot do) zooms out with a black border. (Reading
       0.8-1.2 as a linear scale instead would be ``RandomZoom(+-0.2)``.)
    2. brightness and contrast jitter 0.5, with p = 0.5 ->
       ``RandomApply(Sequential([RandomBrightnessScale(0.5), RandomContrast(0.5)]), 0.5)``;
    3. random affine translation 0.2, with p = 0.5 ->
       ``RandomApply(RandomTranslation(0.2, 0.2), 0.5)``;
    4. horizontal flip (p = 0.5) -> ``RandomFlip("horizontal")``;
    5. rotation within +-45 degrees -> ``RandomRotation(45 / 360)``;
    6. random erasing with p = 0.5 -> :class:`RandomErasing` (0.5).

    The paper's normalisation is *not* in here: it must also apply at test
    time, so it goes inside the model (:func:`normalization_layer`); see the
    module docstring. Every layer is the identity with ``training=False``.
    ``seed`` (an int) makes the draws repeatable; ``erase_value`` is the fill
    of the erased rectangle. The numbers come from
    :data:`ferkit.papers.QUTUB_ATAY_AUGMENTATION`.
    Introduced in lesson 06_augmentation.
    """
    settings = QUTUB_ATAY_AUGMENTATION
    low, high = settings["random_resized_crop_scale"]
    seeds = _seeds(seed, 8)
    geometry = dict(fill_mode="constant", fill_value=0.0)
    jitter = keras.Sequential(
        [
            RandomBrightnessScale(settings["brightness"], seed=seeds[0]),
            keras.layers.RandomContrast(settings["contrast"], value_range=(0, 1), seed=seeds[1]),
        ],
        name="color_jitter",
    )
    shift = settings["translate"]
    return keras.Sequential(
        [
            # Area fraction s -> window side sqrt(s) -> zoom factor sqrt(s) - 1.
            keras.layers.RandomZoom(
                (math.sqrt(low) - 1.0, math.sqrt(high) - 1.0), seed=seeds[2], **geometry
            ),
            RandomApply(jitter, settings["color_jitter_probability"], seed=seeds[3]),
            RandomApply(
                keras.layers.RandomTranslation(shift, shift, seed=seeds[4], **geometry),
                settings["translate_probability"],
                seed=seeds[5],
            ),
            keras.layers.RandomFlip("horizontal", seed=seeds[6]),
            keras.layers.RandomRotation(
                settings["rotation_degrees"] / 360.0, seed=seeds[7], **geometry
            ),
            RandomErasing(
                settings["random_erasing_probability"],
                value=erase_value,
                seed=None if seed is None else seed + 8,
            ),
        ],
        name="qutub_augment",
    )


def barbagallo_augment(seed=None):
    """Barbagallo's training augmentation: a horizontal flip with p = 0.5.

    Returns a ``keras.Sequential`` named ``"barbagallo_augment"`` holding one
    ``RandomFlip("horizontal")`` (the identity with ``training=False``). Their
    normalisation (mean 0.5, std 0.5) goes inside the model as
    ``normalization_layer(*BARBAGALLO_NORMALIZATION)``, see the module
    docstring. Introduced in lesson 05_fer_kd.
    """
    return keras.Sequential(
        [keras.layers.RandomFlip("horizontal", seed=seed)], name="barbagallo_augment"
    )


def reference_augment(seed=None):
    """The course reference model's augmentation: ours, not a paper's.

    Returns a ``keras.Sequential`` named ``"reference_augment"``: a horizontal
    flip, a shift of up to 10 % of the image each way, a rotation within
    +-15 degrees and a zoom in or out of up to 10 %, borders filled by
    reflection. Gentle on purpose: 48x48 faces lose their expression under
    strong geometry. The identity with ``training=False``. Used by the
    ``reference`` experiment of :mod:`ferkit.experiments`; introduced in
    lesson 06_augmentation.
    """
    seeds = _seeds(seed, 4)
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seeds[0]),
            keras.layers.RandomTranslation(0.1, 0.1, seed=seeds[1]),
            keras.layers.RandomRotation(15.0 / 360.0, seed=seeds[2]),
            keras.layers.RandomZoom(0.1, seed=seeds[3]),
        ],
        name="reference_augment",
    )


BARBAGALLO_NORMALIZATION = (
    BARBAGALLO_AUGMENTATION["normalize_mean"],
    BARBAGALLO_AUGMENTATION["normalize_std"],
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

    For training on crops use ``crops.reshape(-1, size, size, C)`` with
    ``np.tile(labels, 10)``; for test-time augmentation use
    :func:`ferkit.evaluate.predict` with ``tta="tencrop"``, which crops in
    bounded memory. Introduced in lesson 06_augmentation.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images: expected shape (N, H, W, C), found {images.shape}")
    height, width = images.shape[1:3]
    size = int(size)
    if not 1 <= size <= min(height, width):
        raise ValueError(
            f"size: expected a crop side between 1 and {min(height, width)} "
            f"for {height}x{width} images, found {size}"
        )
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    corners = [
        (0, 0),
        (0, width - size),
        (height - size, 0),
        (height - size, width - size),
        (top, left),
    ]
    crops = [images[:, y : y + size, x : x + size] for y, x in corners]
    crops += [crop[:, :, ::-1] for crop in crops]
    return np.stack(crops)
