"""From ``uint8`` arrays to a ``tf.data.Dataset`` a Keras model trains on.

Lesson 02_fer2013 introduces this module; every later lesson feeds its model
through :func:`make_dataset`. The order of the steps is chosen for memory:

1. ``example_dataset``: one ``uint8`` example at a time, resized when asked
   (48 -> the size a transfer model needs), still ``uint8``, optionally
   cached in memory so the resize is computed once;
2. shuffled (training only, seeded), then batched;
3. only then converted to ``float32`` in ``[0, 1]`` and, when asked,
   grayscale -> RGB (or RGB -> grayscale): a float copy of FER2013 never
   exists in memory, only one batch of it;
4. augmented (training only) by a Keras layer, e.g. one from
   :mod:`ferkit.augment`;
5. prefetched, so the next batch is prepared while the model trains.

Models in ferkit take float inputs in ``[0, 1]``; normalisation belongs inside
the model (see :func:`ferkit.augment.normalization_layer`), so training and
test data get exactly the same treatment.

Without TensorFlow (Keras 3 on its JAX or PyTorch backend, e.g. a GPU machine
that has JAX but no TensorFlow) :func:`make_dataset` returns an
:class:`ArrayBatches` instead: the same batches, built with NumPy and
``keras.ops``, that ``model.fit`` accepts the same way.

**The fast path.** :func:`make_dataset` prepares every batch on the host's
CPU. :func:`ferkit.train.fit`, given ``(images, labels)`` arrays, instead feeds
``uint8`` batches straight from memory (:class:`MemoryBatches`) and does the
rest on the accelerator, inside the compiled train step: :class:`ToModelInput`
(scale, resize, channels), then the augmentation. The dataset in host memory
stays ``uint8`` (FER2013's training set: about 70 MB).

**What a model expects.** :func:`model_input` reads a model's
``(image_size, channels)`` and :func:`as_model_input` turns images into the
float batch it takes; prediction, plots and training all go through them.
"""

from __future__ import annotations

import keras
import numpy as np

from ferkit.augment import GRAY_WEIGHTS as _AUGMENT_GRAY_WEIGHTS
from ferkit.augment import views_per_image

try:
    import tensorflow as tf
except ImportError:  # Keras on JAX or PyTorch: make_dataset returns ArrayBatches
    tf = None

AUTOTUNE = tf.data.AUTOTUNE if tf is not None else None

GRAY_WEIGHTS = np.array(_AUGMENT_GRAY_WEIGHTS, dtype=np.float32)
"""RGB -> gray weights (ITU-R 601): those of ``tf.image.rgb_to_grayscale``, applied without TensorFlow."""


def check_images(images, argument="images"):
    """Check an image array and return it unchanged.

    Returns ``images`` when it is a ``uint8`` array of shape ``(N, H, W, C)``
    with ``C`` 1 or 3; raises ``ValueError`` naming ``argument`` otherwise.
    Introduced in lesson 02_fer2013.
    """
    if not isinstance(images, np.ndarray):
        raise ValueError(
            f"{argument}: expected a numpy array of dtype uint8 and shape (N, H, W, C), "
            f"found {type(images).__name__}"
        )
    if images.dtype != np.uint8:
        raise ValueError(
            f"{argument}: expected dtype uint8 (the ferkit.data loaders return uint8), "
            f"found dtype {images.dtype}"
        )
    if images.ndim != 4:
        raise ValueError(
            f"{argument}: expected 4 dimensions (N, H, W, C), found shape {images.shape}"
        )
    if images.shape[-1] not in (1, 3):
        raise ValueError(
            f"{argument}: expected 1 (grayscale) or 3 (RGB) channels in the last axis, "
            f"found shape {images.shape}"
        )
    return images


def _check_labels(labels, count):
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"labels: expected a 1-D array of class ids, found shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels: expected integer class ids (sparse labels), found dtype {labels.dtype}"
        )
    if len(labels) != count:
        raise ValueError(
            f"labels: expected one label per image ({count}), found {len(labels)}"
        )
    return labels.astype(np.int64)


def _check_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, (int, np.integer)):
        image_size = (int(image_size), int(image_size))
    image_size = tuple(int(side) for side in image_size)
    if len(image_size) != 2 or min(image_size) < 1:
        raise ValueError(
            f"image_size: expected a positive int or a (height, width) pair, found {image_size}"
        )
    return image_size


def _check_channels(channels):
    if channels is not None and channels not in (1, 3):
        raise ValueError(f"channels: expected 1, 3 or None, found {channels!r}")
    return channels


def resize_images(images, image_size):
    """Resize one image ``(H, W, C)`` or a batch ``(N, H, W, C)`` to ``image_size``.

    Returns a tensor of the same dtype: ``uint8`` in gives ``uint8`` out
    (bilinear, rounded), so a resized dataset stays as small as possible;
    float in gives float out. ``image_size`` is an int (square) or
    ``(height, width)``; ``None`` returns the images unchanged.
    Introduced in lesson 07_transfer_learning (48x48 faces, 96x96 backbones).
    """
    image_size = _check_size(image_size)
    if tf is None:
        return _resize_images_without_tensorflow(images, image_size)
    images = tf.convert_to_tensor(images)
    if image_size is None or tuple(images.shape[-3:-1]) == image_size:
        return images
    resized = tf.image.resize(images, image_size, method="bilinear", antialias=True)
    if images.dtype == tf.uint8:
        return tf.cast(tf.clip_by_value(tf.round(resized), 0.0, 255.0), tf.uint8)
    return tf.cast(resized, images.dtype)


def to_float(images, channels=None):
    """Scale a ``uint8`` batch to ``float32`` in ``[0, 1]`` and set the channel count.

    Returns a ``float32`` tensor. ``channels=3`` repeats a grayscale channel
    (what an ImageNet backbone expects), ``channels=1`` converts RGB to
    grayscale, ``None`` keeps the channels. Float input is taken to be in
    ``[0, 1]`` already. Introduced in lesson 02_fer2013.
    """
    _check_channels(channels)
    if tf is None:
        return _to_float_without_tensorflow(images, channels)
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        images = tf.cast(images, tf.float32) / 255.0
    else:
        images = tf.cast(images, tf.float32)
    current = images.shape[-1]
    if channels is None or channels == current:
        return images
    if channels == 3:
        return tf.image.grayscale_to_rgb(images)
    return tf.image.rgb_to_grayscale(images)


def model_input(model):
    """The ``(image_size, channels)`` a Keras image model takes.

    Returns ``((height, width), channels)`` read from the model's input
    shape ``(None, H, W, C)``; ``image_size`` is ``None`` when the model
    accepts any size, ``channels`` is ``None`` when the last axis is not 1 or
    3 (or unknown). Raises ``ValueError`` for a model with several inputs or
    an input that is not an image. Introduced in lesson 02_fer2013.
    """
    inputs = getattr(model, "inputs", None)
    if inputs is not None and len(inputs) > 1:
        raise ValueError(
            f"model: expected a model with one image input, found {len(inputs)} inputs"
        )
    try:
        shape = tuple(inputs[0].shape) if inputs else tuple(model.input_shape)
    except (AttributeError, ValueError) as error:
        raise ValueError(f"model: its input shape is unknown; build it with keras.Input ({error})")
    if shape and isinstance(shape[0], (tuple, list)):
        raise ValueError(f"model: expected a model with one image input, found inputs {shape}")
    if len(shape) != 4:
        raise ValueError(f"model: expected an image input (None, H, W, C), found input shape {shape}")
    height, width, channels = shape[1:4]
    image_size = (int(height), int(width)) if height is not None and width is not None else None
    return image_size, channels if channels in (1, 3) else None


def as_model_input(images, model):
    """Turn ``uint8`` (or float ``[0, 1]``) images into the float batch ``model`` expects.

    Returns a ``float32`` NumPy array ``(N, H, W, C)`` in ``[0, 1]``: resized
    to the model's input size (as :func:`resize_images`), grey repeated to
    RGB or RGB turned grey (as :func:`to_float`), read by
    :func:`model_input`. The same steps as :func:`make_dataset` and as
    :class:`ToModelInput` in the train step, so a model sees its test images
    exactly as it saw its training images. A single image ``(H, W, C)`` gets
    a batch axis. Works without TensorFlow. Introduced in lesson 02_fer2013.
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[np.newaxis]
    if images.ndim != 4:
        raise ValueError(f"images: expected shape (N, H, W, C) or (H, W, C), found {images.shape}")
    image_size, channels = model_input(model)
    batch = to_float(resize_images(images, image_size), channels)
    return np.asarray(batch, dtype=np.float32)


def _resize_float(images, image_size, rounded):
    """keras.ops resize of a float batch of 0-255 (``rounded``) or [0, 1] values to ``image_size``."""
    height, width = images.shape[1], images.shape[2]
    shrinking = height is None or width is None or image_size[0] < height or image_size[1] < width
    # Antialiasing changes only a reduction; leaving it out when enlarging keeps XLA usable.
    resized = keras.ops.image.resize(images, image_size, interpolation="bilinear", antialias=shrinking)
    if rounded:  # as the uint8 resize of resize_images: whole grey levels
        resized = keras.ops.clip(keras.ops.round(resized), 0.0, 255.0)
    return resized


def _set_channels(images, channels):
    """keras.ops version of to_float's channel conversion (1 <-> 3)."""
    current = images.shape[-1]
    if channels is None or channels == current:
        return images
    if channels == 3:
        return keras.ops.repeat(images, 3, axis=-1)
    weights = keras.ops.convert_to_tensor(GRAY_WEIGHTS, dtype=images.dtype)
    return keras.ops.sum(images * weights, axis=-1, keepdims=True)


@keras.saving.register_keras_serializable(package="ferkit")
class ToModelInput(keras.layers.Layer):
    """``uint8`` (or float ``[0, 1]``) batches -> the float32 ``[0, 1]`` batches a model takes.

    A Keras layer written with ``keras.ops``, so it runs on the accelerator,
    inside the compiled train step, on every backend: integer input is cast
    and divided by 255, resized to ``image_size`` (bilinear; rounded to whole
    grey levels, as :func:`resize_images` rounds a ``uint8`` resize) and
    converted to ``channels`` (:func:`to_float`'s rules). ``None`` keeps the
    size or the channels. The same numbers as :func:`as_model_input` on the
    host. Always computes in ``float32``, whatever the precision policy.
    :func:`ferkit.train.fit` puts it in front of the model while training
    only; it is not saved in the checkpoint. Introduced in lesson 04_compact_cnn.
    """

    def __init__(self, image_size=None, channels=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.image_size = _check_size(image_size)
        self.channels = _check_channels(channels)

    def call(self, images):
        integer = "int" in str(images.dtype)
        batch = keras.ops.cast(images, "float32")
        if self.image_size is not None and tuple(batch.shape[1:3]) != self.image_size:
            batch = _resize_float(batch, self.image_size, rounded=integer)
        if integer:
            batch = batch / 255.0
        return _set_channels(batch, self.channels)

    def compute_output_shape(self, input_shape):
        size = self.image_size or tuple(input_shape[1:3])
        channels = self.channels or input_shape[-1]
        return (input_shape[0], *size, channels)

    def compute_output_spec(self, images):
        return keras.KerasTensor(self.compute_output_shape(images.shape), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(image_size=self.image_size, channels=self.channels)
        return config


def _resize_images_without_tensorflow(images, image_size):
    images = np.asarray(images)
    if image_size is None or tuple(images.shape[-3:-1]) == image_size:
        return images
    resized = np.asarray(
        keras.ops.image.resize(images.astype(np.float32), image_size, interpolation="bilinear",
                               antialias=True)
    )
    if images.dtype == np.uint8:
        return np.clip(np.round(resized), 0, 255).astype(np.uint8)
    return resized.astype(images.dtype)


def _to_float_without_tensorflow(images, channels):
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / np.float32(255.0)
    else:
        images = images.astype(np.float32)
    if channels is None or channels == images.shape[-1]:
        return images
    if channels == 3:
        return np.repeat(images, 3, axis=-1)
    return (images @ GRAY_WEIGHTS)[..., np.newaxis]


class MemoryBatches(keras.utils.PyDataset):
    """``uint8`` training batches straight from the arrays in memory: the fast path's feed.

    A ``keras.utils.PyDataset`` of ``(images, labels)`` batches (images only
    when ``labels`` is ``None``) cut from ``images`` as they are: ``uint8``,
    no float copy, no resize, no augmentation (those run on the accelerator,
    see :class:`ToModelInput` and :func:`ferkit.train.fit`). With
    ``training=True`` the order is reshuffled every epoch by a generator
    seeded with ``seed``; ``drop_remainder=True`` leaves out the last,
    smaller batch (for data-parallel training, where every batch must split
    evenly); ``repeat=True`` never ends (reshuffled after every pass), for
    ``fit(steps_per_epoch=...)``. Works on every Keras backend, with or
    without TensorFlow. Introduced in lesson 04_compact_cnn.
    """

    def __init__(self, images, labels, batch_size, training, seed=0, drop_remainder=False, repeat=False):
        super().__init__()
        self.repeat = bool(repeat)
        self.passes = 0
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size: expected a positive int, found {batch_size!r}")
        self.images = images
        self.labels = None if labels is None else _check_labels(labels, len(images))
        self.batch_size = int(batch_size)
        self.training = bool(training)
        self.drop_remainder = bool(drop_remainder)
        self.random = np.random.default_rng(seed)
        self.order = np.arange(len(images))
        if self.training:
            self.random.shuffle(self.order)

    def __len__(self):
        if self.drop_remainder:
            return len(self.order) // self.batch_size
        return -(-len(self.order) // self.batch_size)

    @property
    def num_batches(self):
        return None if self.repeat else len(self)

    def _indices(self, index):
        if self.repeat:
            finished, index = divmod(index, len(self))
            while self.passes < finished:  # a new pass through the data: a new order
                self.passes += 1
                if self.training:
                    self.random.shuffle(self.order)
        return self.order[index * self.batch_size : (index + 1) * self.batch_size]

    def __getitem__(self, index):
        chosen = self._indices(index)
        batch = self.images[chosen]
        if self.labels is None:
            return batch
        return batch, self.labels[chosen]

    def on_epoch_end(self):
        if self.training and not self.repeat:
            self.random.shuffle(self.order)


class ArrayBatches(MemoryBatches):
    """The batches of :func:`make_dataset`, built without TensorFlow.

    A ``keras.utils.PyDataset`` of ``(images, labels)`` batches (or images
    only when ``labels`` is ``None``): ``float32`` in ``[0, 1]``, resized and
    channel-converted, reshuffled every epoch with a generator seeded by
    ``seed`` and augmented with ``training=True`` when ``training``.
    :func:`make_dataset` returns one when TensorFlow is not installed; the
    arguments are its arguments. The lessons run on TensorFlow and never meet it.
    """

    def __init__(self, images, labels, batch_size, training, augment=None, image_size=None,
                 channels=None, seed=0):
        super().__init__(_resize_images_without_tensorflow(images, image_size), labels, batch_size,
                         training, seed)
        self.augment = augment if training else None
        self.views = views_per_image(self.augment)
        self.channels = channels

    def __getitem__(self, index):
        chosen = self._indices(index)
        batch = _to_float_without_tensorflow(self.images[chosen], self.channels)
        if self.augment is not None:
            batch = np.asarray(keras.ops.convert_to_numpy(self.augment(batch, training=True)),
                               dtype=np.float32)
        if self.labels is None:
            return batch
        return batch, np.repeat(self.labels[chosen], self.views)


def example_dataset(images, labels=None, image_size=None, cache=True):
    """The unbatched dataset :func:`make_dataset` starts from.

    Returns a ``tf.data.Dataset`` of ``uint8`` images ``(H, W, C)`` (resized to
    ``image_size`` when given), paired with ``int64`` labels unless ``labels``
    is ``None``. With ``cache=True`` and a resize, the resized ``uint8`` images
    are kept in memory after the first pass (N*H*W*C bytes), so later epochs
    skip the resize; without a resize there is nothing worth caching (the
    arrays are in memory already) and ``cache`` has no effect.
    Introduced in lesson 02_fer2013.
    """
    check_images(images)
    image_size = _check_size(image_size)
    if labels is None:
        dataset = tf.data.Dataset.from_tensor_slices(images)
    else:
        labels = _check_labels(labels, len(images))
        dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if image_size is not None and tuple(images.shape[1:3]) != image_size:
        if labels is None:
            dataset = dataset.map(lambda x: resize_images(x, image_size), num_parallel_calls=AUTOTUNE)
        else:
            dataset = dataset.map(
                lambda x, y: (resize_images(x, image_size), y), num_parallel_calls=AUTOTUNE
            )
        if cache:
            dataset = dataset.cache()
    return dataset


def make_dataset(
    images,
    labels,
    batch_size,
    training,
    augment=None,
    image_size=None,
    channels=None,
    seed=0,
    cache=True,
):
    """Build the ``tf.data`` pipeline that feeds a model.

    Returns a ``tf.data.Dataset`` of batches ``(images, labels)``: images
    ``float32`` in ``[0, 1]`` of shape ``(batch, H, W, C)``, labels ``int64``
    class ids (sparse, for ``sparse_categorical_crossentropy``). With
    ``labels=None`` it yields images only, for ``model.predict``. Without
    TensorFlow installed it returns an :class:`ArrayBatches` of the same batches.

    - ``images``: ``uint8`` ``(N, H, W, C)``, ``C`` 1 or 3, as the
      :mod:`ferkit.data` loaders return. They stay ``uint8`` until a batch
      is formed (see the module docstring).
    - ``training``: ``True`` shuffles (a full-size buffer, reshuffled every
      epoch, seeded by ``seed`` so runs repeat) and applies ``augment``;
      ``False`` keeps the order and never augments.
    - ``augment``: a Keras layer or ``Sequential`` applied to each float
      batch with ``training=True``, e.g. :func:`ferkit.augment.qutub_augment`.
      It must not contain the normalisation, which belongs in the model.
    - ``image_size``: int or ``(height, width)`` to resize to, e.g. 96 for a
      transfer model; ``None`` keeps the size.
    - ``channels``: 3 repeats a grayscale channel, 1 converts RGB to gray,
      ``None`` keeps it.
    - ``cache``: keep the resized ``uint8`` images in memory (see
      :func:`example_dataset`).

    This is the host path: every batch is prepared on the CPU, which caps a
    GPU at a few thousand images per second with augmentation (see
    ``bench/``). :func:`ferkit.train.fit` given the arrays themselves does the
    same work inside the compiled train step instead (the fast path).

    Augmentation runs one batch at a time in order (not in parallel): the
    random layers draw from one seeded generator, so the same ``seed`` and
    the same augmentation seed give the same batches; ``prefetch`` still
    overlaps it with training.
    Introduced in lesson 02_fer2013; augmentation in 06_augmentation.
    """
    check_images(images)
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, found {batch_size!r}")
    _check_channels(channels)
    if tf is None:
        labels = None if labels is None else _check_labels(labels, len(images))
        return ArrayBatches(images, labels, batch_size, training, augment,
                            _check_size(image_size), channels, seed)
    dataset = example_dataset(images, labels, image_size=image_size, cache=cache)
    has_labels = labels is not None
    if training:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(int(batch_size))
    augmenting = bool(training) and augment is not None
    # Random layers share one seeded generator: run them in order.
    parallel = None if augmenting else AUTOTUNE

    views = views_per_image(augment) if augmenting else 1

    def prepare(x):
        x = to_float(x, channels)
        if augmenting:
            x = tf.cast(augment(x, training=True), tf.float32)
        return x

    if has_labels:
        # An augmentation that makes several views of an image (TenCrop) repeats its label.
        dataset = dataset.map(lambda x, y: (prepare(x), tf.repeat(y, views)), num_parallel_calls=parallel)
    else:
        dataset = dataset.map(prepare, num_parallel_calls=parallel)
    return dataset.prefetch(AUTOTUNE)
