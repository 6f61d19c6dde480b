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
"""

from __future__ import annotations

import keras
import numpy as np

try:
    import tensorflow as tf
except ImportError:  # Keras on JAX or PyTorch: make_dataset returns ArrayBatches
    tf = None

AUTOTUNE = tf.data.AUTOTUNE if tf is not None else None

GRAY_WEIGHTS = np.array([0.2989, 0.5870, 0.1140], dtype=np.float32)
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
    """What images ``model`` expects: ``(image_size, channels)``, e.g. ``((96, 96), 3)``.

    ``image_size`` is ``None`` when the model takes any size; ``channels`` may be ``None``
    too. The one place that reads a model's input shape: :mod:`ferkit.train`,
    :mod:`ferkit.evaluate`, :mod:`ferkit.introspect` and :mod:`ferkit.plots` ask here.
    Introduced in lesson 02_fer2013.
    """
    shape = model.input_shape
    if isinstance(shape, list):
        raise ValueError(f"model: expected a model with one image input, found {len(shape)} inputs")
    if len(shape) != 4:
        raise ValueError(f"model: expected an image input (N, H, W, C), found input shape {shape}")
    height, width, channels = shape[1:4]
    image_size = (height, width) if height is not None and width is not None else None
    return image_size, channels


def prepare_images(images, model):
    """Turn uint8 (or float in [0, 1]) images into the float32 batch ``model`` expects.

    The same steps as a batch of :func:`make_dataset`: resized to the model's input size
    and its channel count (grey repeated to RGB, or RGB to grey) when the model asks for
    it, scaled to [0, 1]. Introduced in lesson 02_fer2013.
    """
    image_size, channels = model_input(model)
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"images: expected a batch of shape (N, H, W, 1 or 3), found shape {images.shape}")
    return to_float(resize_images(images, image_size), channels if channels in (1, 3) else None)


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


class ArrayBatches(keras.utils.PyDataset):
    """The batches of :func:`make_dataset`, built without TensorFlow.

    A ``keras.utils.PyDataset`` of ``(images, labels)`` batches (or images
    only when ``labels`` is ``None``): ``float32`` in ``[0, 1]``, resized and
    channel-converted, reshuffled every epoch with a generator seeded by
    ``seed`` and augmented with ``training=True`` when ``training``.
    :func:`make_dataset` returns one when TensorFlow is not installed; the
    arguments are its arguments. The lessons run on TensorFlow and never meet it;
    :mod:`ferkit.experiments` uses it on a GPU machine that has JAX only.
    """

    def __init__(self, images, labels, batch_size, training, augment=None, image_size=None,
                 channels=None, seed=0):
        super().__init__()
        self.images = _resize_images_without_tensorflow(images, image_size)
        self.labels = labels
        self.batch_size = int(batch_size)
        self.training = bool(training)
        self.augment = augment if training else None
        self.channels = channels
        self.random = np.random.default_rng(seed)
        self.order = np.arange(len(images))
        if self.training:
            self.random.shuffle(self.order)

    def __len__(self):
        return -(-len(self.order) // self.batch_size)

    def __getitem__(self, index):
        chosen = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        batch = _to_float_without_tensorflow(self.images[chosen], self.channels)
        if self.augment is not None:
            batch = np.asarray(keras.ops.convert_to_numpy(self.augment(batch, training=True)),
                               dtype=np.float32)
        if self.labels is None:
            return batch
        return batch, self.labels[chosen]

    def on_epoch_end(self):
        if self.training:
            self.random.shuffle(self.order)


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

    def prepare(x):
        x = to_float(x, channels)
        if augmenting:
            x = tf.cast(augment(x, training=True), tf.float32)
        return x

    if has_labels:
        dataset = dataset.map(lambda x, y: (prepare(x), y), num_parallel_calls=parallel)
    else:
        dataset = dataset.map(prepare, num_parallel_calls=parallel)
    return dataset.prefetch(AUTOTUNE)
