"""Training with the papers' callbacks, repeatable seeds, a precision policy, on the device.

Lesson 04_compact_cnn introduces this module (Bedi's best-checkpoint
habit); every later lesson trains through :func:`fit`.

**The fast path.** Given ``(images, labels)`` arrays, :func:`fit` feeds
``uint8`` batches straight from memory and trains a *training model* that
wraps the caller's: :class:`ferkit.pipeline.ToModelInput` (scale, resize,
channels), then the ``augment`` layers, then the model, all inside the
compiled train step, on the accelerator. The checkpoint holds the caller's
model alone. Keras's ``jit_compile="auto"`` decides on XLA (on a GPU, not on
a CPU); ferkit's augmentation layers never switch it off. Large batches
(:func:`scaled_learning_rate`), ``steps_per_execution``, several devices
(:func:`data_parallel`) and knowledge distillation (:func:`distill`, on
Keras's ``keras.distillation.Distiller``) go through the same path.

Precision, in this order:

1. ``set_precision("auto")`` (or use ``precision(...)`` as a context),
2. *then* build the model: a layer takes its dtype policy when it is
   created, so a model built before the call stays ``float32``;
3. end the model with a ``float32`` softmax
   (``keras.layers.Activation("softmax", dtype="float32")``) so the
   probabilities and the loss are computed in full precision;
4. ``fit`` (which checks the order when asked, see its ``mixed_precision``).

``"auto"`` means ``mixed_float16`` on a GPU and ``float32`` on a CPU. On
the course's 2-core CPU (AMD EPYC with AVX2 but no AVX-512 BF16, so
bfloat16 is emulated) ``bench/bench_pipeline.py`` measured a small CNN
training at 0.15x the ``float32`` speed under ``mixed_bfloat16``, so it is
not the CPU default; a CPU with native bfloat16 may gain, so measure there
and ask for it explicitly with ``set_precision("mixed_bfloat16")``.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
from pathlib import Path

import keras
import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from ferkit import augment as augment_module
from ferkit.pipeline import MemoryBatches, ToModelInput, check_images, model_input, resize_images, tf


def gpu_names():
    """Names of the GPUs Keras's backend sees (an empty list on a CPU machine).

    TensorFlow's device details when TensorFlow is installed, otherwise the
    JAX or PyTorch backend's. Introduced in lesson 04_compact_cnn.
    """
    if tf is not None:
        return [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                for gpu in tf.config.list_physical_devices("GPU")]
    if keras.backend.backend() == "jax":
        import jax

        return [device.device_kind for device in jax.devices() if device.platform == "gpu"]
    if keras.backend.backend() == "torch":
        import torch

        return [torch.cuda.get_device_name(index) for index in range(torch.cuda.device_count())]
    return []


def has_gpu():
    """Return ``True`` when Keras's backend sees a GPU. Introduced in lesson 04_compact_cnn."""
    return bool(gpu_names())


def resolve_precision(policy="auto"):
    """The Keras dtype policy name that ``policy`` stands for.

    Returns ``"float32"``, ``"mixed_float16"`` or ``"mixed_bfloat16"``:
    ``"auto"`` is ``mixed_float16`` on a GPU and ``float32`` on a CPU;
    ``True`` is mixed precision for the device (``mixed_float16`` on a GPU,
    ``mixed_bfloat16`` on a CPU); ``False`` or ``None`` is ``float32``; a
    policy name is returned as is. Introduced in lesson 04_compact_cnn.
    """
    if policy is None or policy is False:
        return "float32"
    if policy is True:
        return "mixed_float16" if has_gpu() else "mixed_bfloat16"
    if policy == "auto":
        return "mixed_float16" if has_gpu() else "float32"
    names = ("float32", "mixed_float16", "mixed_bfloat16")
    if policy not in names:
        raise ValueError(f"policy: expected 'auto', True, False or one of {names}, found {policy!r}")
    return policy


def set_precision(policy="auto"):
    """Set Keras's global dtype policy for the models built from now on.

    Returns the name of the policy that was in force before, so it can be
    restored. Call it *before* building the model (see the module
    docstring); ``policy`` is read by :func:`resolve_precision`.
    Introduced in lesson 04_compact_cnn.
    """
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(resolve_precision(policy))
    return previous


@contextlib.contextmanager
def precision(policy="auto"):
    """Context manager: build models under ``policy``, then restore the previous policy.

    Yields the policy name in force inside the block. Introduced in lesson
    04_compact_cnn::

        with train.precision("mixed_bfloat16"):
            model = models.bedi_cnn()
    """
    previous = set_precision(policy)
    try:
        yield keras.config.dtype_policy().name
    finally:
        keras.config.set_dtype_policy(previous)


def class_weights(labels, num_classes=None):
    """Class weights that balance an imbalanced training set (FER2013's "disgust").

    Returns a dict ``{class id: weight}`` from scikit-learn's
    ``compute_class_weight("balanced")``: ``n_samples / (n_classes *
    count)``, so a rare class weighs more. Classes in ``range(num_classes)``
    absent from ``labels`` get weight 1.0 (there is nothing to balance).
    Pass it to :func:`fit` as ``class_weight``. Introduced in lesson 02_fer2013.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels: expected a 1-D array of integer class ids, found shape {labels.shape} "
            f"dtype {labels.dtype}"
        )
    present = np.unique(labels)
    weights = compute_class_weight("balanced", classes=present, y=labels)
    result = {int(label): float(weight) for label, weight in zip(present, weights)}
    if num_classes is not None:
        result = {label: result.get(label, 1.0) for label in range(num_classes)}
    return result


def _is_dataset(data):
    """True for a ``tf.data.Dataset`` or a ``keras.utils.PyDataset`` (what make_dataset returns)."""
    return isinstance(data, keras.utils.PyDataset) or (tf is not None and isinstance(data, tf.data.Dataset))


def _make_optimizer(optimizer, learning_rate, weight_decay):
    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer
    options = {"learning_rate": learning_rate}
    if weight_decay is not None:
        options["weight_decay"] = weight_decay
    return keras.optimizers.get({"class_name": optimizer, "config": options})


def _check_precision(model, mixed_precision):
    wanted = resolve_precision(mixed_precision)
    found = model.dtype_policy.name
    if found != wanted:
        raise ValueError(
            f"mixed_precision={mixed_precision!r} means policy {wanted!r}, but the model was "
            f"built under {found!r}. A layer takes its policy when it is created: call "
            f"ferkit.train.set_precision({mixed_precision!r}) before building the model."
        )
    if wanted != "float32" and model.outputs and model.outputs[0].dtype != "float32":
        raise ValueError(
            f"model: under {wanted!r} the output should stay float32, found "
            f"{model.outputs[0].dtype}; end the model with "
            "keras.layers.Activation('softmax', dtype='float32')"
        )



# ---------------------------------------------------------------------------
# Large batches
ADAPTIVE_OPTIMIZERS = ("adam", "adamw", "adagrad", "adamax", "nadam", "rmsprop", "adadelta", "lion",
                       "lamb", "adafactor")
"""Optimiser names whose learning rate :func:`scaled_learning_rate` scales by the square root."""


def scaled_learning_rate(learning_rate, batch_size, base_batch_size, optimizer="adam"):
    """The learning rate for ``batch_size``, given the one that works at ``base_batch_size``.

    Returns ``learning_rate * k`` with ``k = batch_size / base_batch_size`` for
    SGD (the linear scaling rule of Goyal et al., 2017: ``k`` times fewer
    steps, each ``k`` times longer) and ``sqrt(k)`` for adaptive optimisers
    (:data:`ADAPTIVE_OPTIMIZERS`: Adam, AdamW, Adagrad, ...; the square-root
    rule, as Malladi et al., 2022 derive for Adam, since their steps are
    already normalised by the gradient's size). A rule of thumb, not a law:
    check the first epochs' loss when you change the batch size by much.
    Introduced in lesson 04_compact_cnn.
    """
    for name, value in (("batch_size", batch_size), ("base_batch_size", base_batch_size)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}: expected a positive int, found {value!r}")
    if not isinstance(optimizer, str):
        raise ValueError(f"optimizer: expected an optimiser name such as 'adam' or 'sgd', found "
                         f"{type(optimizer).__name__}")
    ratio = batch_size / base_batch_size
    return float(learning_rate) * (ratio ** 0.5 if optimizer.lower() in ADAPTIVE_OPTIMIZERS else ratio)


# ---------------------------------------------------------------------------
# Several devices
def data_parallel(devices="all"):
    """Train the models built from now on on several devices at once (data parallelism).

    Call it *before* building the model (its weights are then copied to every
    device), then :func:`fit` as usual: every batch of ``batch_size`` images
    is split evenly among the devices, each computes the gradients of its
    share, and the averaged gradients update every copy. Keras 3's own
    distribution API does the work: ``tf.distribute.MirroredStrategy`` on
    TensorFlow (set for the whole program with
    ``tf.distribute.experimental_set_strategy``), ``keras.distribution.DataParallel``
    on JAX. ``devices`` is ``"all"`` (every GPU; the CPU when there is none)
    or a number; ``1`` goes back to one device.

    Returns the number of devices now in use. Raises ``ValueError`` when more
    devices are asked for than exist (nothing changes then). Keep the batch a
    multiple of the count: :func:`fit` refuses one that does not divide.
    Under TensorFlow, Keras trains without XLA under a strategy (its
    ``jit_compile="auto"``). Introduced in lesson 04_compact_cnn (the
    set-up page's section on several GPUs).
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        pool = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        kind = "GPU" if tf.config.list_logical_devices("GPU") else "CPU"
    elif backend == "jax":
        pool = keras.distribution.list_devices("gpu") or keras.distribution.list_devices()
        kind = "JAX"
    else:
        raise ValueError(f"data_parallel: Keras's {backend!r} backend is not supported; use "
                         "TensorFlow or JAX")
    count = len(pool) if devices == "all" else devices
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"devices: expected 'all' or a positive int, found {devices!r}")
    if count > len(pool):
        raise ValueError(f"devices: asked for {count}, but only {len(pool)} {kind} device(s) exist: "
                         f"{[getattr(device, 'name', device) for device in pool]}")
    if backend == "tensorflow":
        strategy = tf.distribute.MirroredStrategy([device.name for device in pool[:count]]) if count > 1 else None
        tf.distribute.experimental_set_strategy(strategy)
    else:
        distribution = keras.distribution.DataParallel(devices=pool[:count]) if count > 1 else None
        keras.distribution.set_distribution(distribution)
    return int(count)


def replicas():
    """The number of devices :func:`data_parallel` trains on now (1 without it)."""
    if keras.backend.backend() == "tensorflow":
        return int(tf.distribute.get_strategy().num_replicas_in_sync)
    if keras.backend.backend() == "jax":
        distribution = keras.distribution.distribution()
        if distribution is None:
            return 1
        return int(np.prod(distribution.device_mesh.shape))
    return 1


def _check_distribution(model, batch_size):
    count = replicas()
    if count == 1:
        return 1
    if batch_size % count:
        raise ValueError(
            f"batch_size: {batch_size} images do not split evenly among {count} devices; "
            f"use a multiple of {count} (e.g. {count * max(1, round(batch_size / count))})"
        )
    if keras.backend.backend() == "tensorflow" and model.weights and not isinstance(
        model.weights[0].value, tf.distribute.DistributedValues
    ):
        raise ValueError(
            f"model: built before ferkit.train.data_parallel(); call data_parallel({count}) "
            "first, then build the model, so that its weights are copied to every device"
        )
    return count


# ---------------------------------------------------------------------------
# The model as trained: input preparation and augmentation inside the compiled step
class _OnDevice:
    """What a training model does on the accelerator around the caller's model.

    ``prepare`` (a :class:`ferkit.pipeline.ToModelInput`) then ``augment``
    (random layers; only in training, except multi-view layers such as
    TenCrop, which act in both). With ``views`` > 1, a training step repeats
    each label for the views of its image, and inference averages the
    probabilities over the views.
    """

    def _setup(self, prepare, augment):
        self.prepare = prepare
        self.augment = augment
        self.views = augment_module.views_per_image(augment)

    def _inputs(self, images, training):
        batch = self.prepare(images)
        if self.augment is not None and (training or self.views > 1):
            batch = self.augment(batch, training=bool(training))
        return batch

    def _outputs(self, probabilities, training):
        if self.views > 1 and not training:
            classes = probabilities.shape[-1]
            probabilities = keras.ops.mean(keras.ops.reshape(probabilities, (-1, self.views, classes)),
                                           axis=1)
        return probabilities

    def train_step(self, *arguments):
        *state, data = arguments
        if self.views > 1:  # each view of an image is an example with that image's label
            images, *targets = data
            data = (images, *[None if target is None else keras.ops.repeat(target, self.views, axis=0)
                              for target in targets])
        return super().train_step(*state, data)


class _TrainingModel(_OnDevice, keras.Model):
    """``model`` behind its input preparation and augmentation: what :func:`fit` trains."""

    def __init__(self, model, prepare, augment, **kwargs):
        super().__init__(name=f"{model.name}_training", **kwargs)
        self.trained_model = model
        self._setup(prepare, augment)

    def call(self, images, training=False):
        outputs = self.trained_model(self._inputs(images, training), training=training)
        return self._outputs(outputs, training)


@keras.saving.register_keras_serializable(package="ferkit")
class ProbabilityDistillation(keras.distillation.LogitsDistillation):
    """Keras's ``LogitsDistillation`` for models that end in a softmax.

    ferkit's models output probabilities, not logits. ``log(p)`` differs from
    the logits by a constant per row, which a softmax ignores, so the
    teacher's softened probabilities ``softmax(log(p) / T)`` (see
    :func:`soft_labels`) are exactly those of its logits at temperature
    ``T``. The loss is then Keras's: the Kullback-Leibler divergence from the
    teacher's softened probabilities to the student's, times ``T**2`` (Hinton
    et al., 2015, so that its gradients keep their size as ``T`` changes).
    The loss is given as a ``keras.losses.KLDivergence()`` object: with
    Keras 3.15's default, the string ``"kl_divergence"``, ``LogitsDistillation``
    receives the plain function, misses its own ``isinstance`` test and applies
    the divergence to the scaled logits themselves (no softmax, no ``T**2``).
    Introduced in lesson 09_deployment.
    """

    def __init__(self, temperature=3.0):
        super().__init__(temperature=temperature, loss=keras.losses.KLDivergence())

    def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        def logits(probabilities):
            return keras.ops.log(keras.ops.clip(keras.ops.cast(probabilities, "float32"), 1e-7, 1.0))

        return super().compute_loss(logits(teacher_outputs), logits(student_outputs), **kwargs)


class _DistillationModel(_OnDevice, keras.distillation.Distiller):
    """Keras's ``Distiller``, fed like :class:`_TrainingModel`: the teacher sees the student's batch.

    The teacher must see the very images the student sees, augmentation
    included: :meth:`call` keeps the prepared batch of this step (one per
    thread: ``tf.distribute`` traces its replicas in threads) for the
    teacher's forward pass, which the ``Distiller`` runs while computing the
    loss.
    """

    def __init__(self, teacher, student, temperature, label_weight, prepare, augment, **kwargs):
        super().__init__(teacher=teacher, student=student,
                         distillation_losses=ProbabilityDistillation(temperature=temperature),
                         student_loss_weight=label_weight, name=f"{student.name}_distillation", **kwargs)
        self.trained_model = student
        self._setup(prepare, augment)
        self._step = threading.local()

    def call(self, images, training=False, **kwargs):
        batch = self._inputs(images, training)
        self._step.batch, self._step.training = batch, training
        return self._outputs(self.student(batch, training=training), training)

    def _extract_all_teacher_features(self, images):
        teacher = self.teacher(self._step.batch, training=False)
        return {"final_output": self._outputs(teacher, self._step.training)}


def soft_labels(probabilities, temperature):
    """A model's probabilities softened at ``temperature``: ``softmax(log(p) / T)``.

    Returns a ``float32`` NumPy array of the shape of ``probabilities``
    (rows summing to 1). ``T = 1`` gives them back; a larger ``T`` brings
    them closer to uniform and shows the teacher's "dark knowledge" (which
    wrong classes it finds likely). What :func:`distill`'s student learns to
    match. Introduced in lesson 09_deployment.
    """
    temperature = _check_temperature(temperature)
    logits = np.log(np.clip(np.asarray(probabilities, dtype=np.float32), 1e-7, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    soft = np.exp(logits)
    return (soft / soft.sum(axis=-1, keepdims=True)).astype(np.float32)


def _check_temperature(temperature):
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.floating, np.integer)) \
            or not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature: expected a positive number (e.g. 3.0), found {temperature!r}")
    return float(temperature)


def _check_label_weight(label_weight):
    if isinstance(label_weight, bool) or not isinstance(label_weight, (int, float, np.floating, np.integer)) \
            or not 0.0 <= float(label_weight) <= 1.0:
        raise ValueError(
            f"label_weight: expected the weight of the hard labels in [0, 1] (the teacher's soft "
            f"labels get 1 - label_weight), found {label_weight!r}"
        )
    return float(label_weight)


def distiller(student, teacher, temperature=3.0, label_weight=0.5, augment=None):
    """The Keras ``Distiller`` :func:`distill` trains: ``student`` learning from ``teacher``.

    Returns a ``keras.distillation.Distiller`` (ferkit's subclass) whose
    loss is ``label_weight * CE(labels, student) + (1 - label_weight) *
    T**2 * KL(soft_labels(teacher, T) || soft_labels(student, T))``
    (:class:`ProbabilityDistillation`). It takes ``uint8`` (or float)
    batches, prepares them for the student on the device, augments them with
    ``augment`` in training, and shows the teacher the very same images.
    The teacher is frozen (``trainable = False``) and must take the
    student's input shape. Compile it, or let :func:`fit` do it.
    Introduced in lesson 09_deployment.
    """
    temperature = _check_temperature(temperature)
    label_weight = _check_label_weight(label_weight)
    for name, value in (("student", student), ("teacher", teacher)):
        if not isinstance(value, keras.Model):
            raise ValueError(f"{name}: expected a keras.Model, found {type(value).__name__}")
    return _DistillationModel(teacher, student, temperature, label_weight,
                              ToModelInput(*model_input(student)), augment)


# ---------------------------------------------------------------------------
# Data
def _prepared_size(model, augment, images):
    """The size ToModelInput must give the images so that ``augment`` hands ``model`` its input."""
    image_size, channels = model_input(model)
    if augment is None or images is None:
        return image_size
    height, width, depth = images.shape[1:4]
    try:
        after = augment.compute_output_shape((None, height, width, channels or depth))
    except Exception:  # noqa: BLE001 - a layer without compute_output_shape keeps the size
        return image_size
    if tuple(after[1:3]) == (height, width):
        return image_size
    if image_size is not None and tuple(after[1:3]) != image_size:
        raise ValueError(
            f"augment: turns {height}x{width} images into {after[1]}x{after[2]} ones, but the "
            f"model takes {image_size[0]}x{image_size[1]}; build the model for {after[1]}x{after[2]}"
        )
    return None  # the augmentation sets the size (TenCrop): prepare keeps the images' own


def _memory_batches(data, argument, size, batch_size, training, seed, drop_remainder, repeat=False):
    """``(images, labels)`` -> uint8 MemoryBatches, shrunk once on the host when the model is smaller."""
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(
            f"{argument}: expected a tf.data.Dataset or an (images, labels) pair, "
            f"found {type(data).__name__}"
        )
    images, labels = data
    check_images(images, f"{argument} images")
    if size is not None and (size[0] < images.shape[1] or size[1] < images.shape[2]):
        # A reduction needs antialiasing, which XLA lacks: do it once, here, still uint8.
        images = np.asarray(resize_images(images, size))
    return MemoryBatches(images, labels, batch_size, training, seed=seed, drop_remainder=drop_remainder,
                         repeat=repeat)


def _first_images(data):
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], np.ndarray):
        return data[0]
    return None


class _SaveTrainedModel(keras.callbacks.ModelCheckpoint):
    """Keras's best-checkpoint callback, saving the caller's model rather than the training model."""

    def set_model(self, model):
        super().set_model(getattr(model, "trained_model", model))


def _compile_settings(model, compiled_by_us, steps_per_execution):
    """Optimizer, loss, metrics, XLA and steps of the training model, from the caller's model."""
    config = keras.saving.deserialize_keras_object(model.get_compile_config())
    return dict(
        optimizer=model.optimizer,
        loss=model.loss,
        metrics=config.get("metrics"),
        jit_compile="auto" if compiled_by_us else config.get("jit_compile", "auto"),
        steps_per_execution=steps_per_execution or config.get("steps_per_execution", 1),
    )


def fit(
    model,
    train,
    validation,
    epochs,
    optimizer="adam",
    learning_rate=1e-3,
    weight_decay=None,
    batch_size=64,
    checkpoint_dir=None,
    early_stopping_patience=None,
    reduce_lr_patience=None,
    class_weight=None,
    seed=0,
    mixed_precision=None,
    verbose="auto",
    csv_log=True,
    steps_per_epoch=None,
    augment=None,
    steps_per_execution=None,
    base_batch_size=None,
    teacher=None,
    temperature=3.0,
    label_weight=0.5,
    callbacks=None,
):
    """Train ``model`` with the papers' callbacks, augmenting inside the compiled train step.

    Returns ``(history, best_checkpoint_path)``: the Keras ``History`` and
    the path (a ``str``) of the ``.keras`` file holding ``model`` at its
    best validation loss (Bedi's checkpoint), reloadable with
    ``keras.models.load_model(path, safe_mode=True)``. The checkpoint holds
    the model as the caller built it, nothing else: the input preparation
    and the augmentation live in a training model around it and are not
    saved, so the checkpoint predicts with :func:`ferkit.evaluate.predict`
    exactly as ``model`` does.

    - ``train``, ``validation``: ``(images, labels)`` pairs of ``uint8``
      arrays (the fast path), or datasets from
      :func:`ferkit.pipeline.make_dataset`. Pairs are fed as ``uint8`` batches
      of ``batch_size`` straight from memory (:class:`ferkit.pipeline.MemoryBatches`,
      training shuffled every epoch); scaling to ``[0, 1]``, resizing and
      channels (:class:`ferkit.pipeline.ToModelInput`, from the model's
      input) and ``augment`` then run on the device, inside the compiled
      step. The arrays stay ``uint8`` in host memory. ``validation=None``
      monitors the training loss.
    - ``augment``: random layers applied to training batches only, e.g.
      :func:`ferkit.augment.qutub_augment` (with a dataset too: on top of
      what the dataset did). ferkit's augmentations keep XLA available.
      With TenCrop (``qutub_augment(ten_crop=True)``) each crop is a training
      example with its image's label and validation averages the ten crops.
    - The model is compiled only when it is not yet: ``optimizer`` (a name
      such as ``"adam"`` or Bedi's ``"adagrad"``, or an optimiser object),
      ``learning_rate`` and ``weight_decay`` (Keras applies it decoupled,
      AdamW style, unlike PyTorch's ``Adam(weight_decay=...)``), sparse
      categorical cross-entropy and accuracy. A compiled model keeps its own
      optimiser, loss, metrics and ``jit_compile``. XLA follows Keras's
      default ``jit_compile="auto"``: on a GPU, not on a CPU (so the lessons
      pay no compile time), not under ``tf.distribute``.
    - ``steps_per_execution``: train steps per call into the compiled
      function (fewer round trips to the device for small models).
    - ``base_batch_size``: for large batches. ``learning_rate`` is then the
      rate that works at ``base_batch_size`` (e.g. the paper's 64) and is
      scaled to ``batch_size`` by :func:`scaled_learning_rate` (square root
      for Adam-like optimisers, linear for SGD).
    - ``teacher``: knowledge distillation. ``model`` (the student) learns from
      the hard labels with weight ``label_weight`` and from ``teacher``'s
      probabilities softened at ``temperature`` with weight
      ``1 - label_weight`` (:func:`distiller`, on Keras's ``Distiller``);
      the teacher sees the same augmented batches. ``val_loss`` (which
      picks the checkpoint) is then that combined loss on the validation data.
    - ``checkpoint_dir``: where ``best.keras`` and ``history.csv`` (when
      ``csv_log``) go; ``None`` makes a fresh temporary folder.
    - ``early_stopping_patience``: stop after that many epochs without a
      better validation loss (Matijasevic); at the end of training the
      model gets the best epoch's weights back, stopped early or not, so
      it predicts as the checkpoint does. Without it the model ends with
      the last epoch's weights and only the checkpoint holds the best.
    - ``reduce_lr_patience``: divide the learning rate by 10 after that
      many epochs on a plateau.
    - ``class_weight``: ``None``, a dict, or ``"balanced"`` (from the
      training labels with :func:`class_weights`; needs ``train`` as an
      ``(images, labels)`` pair). Not with a ``teacher`` (Keras's
      ``Distiller`` ignores sample weights).
    - ``seed``: ``keras.utils.set_random_seed(seed)`` before training, which
      fixes shuffling, dropout and augmentation draws. For repeatable
      initial weights, call it before building the model too.
    - ``mixed_precision``: ``None`` trains the model as built; otherwise
      (``"auto"``, ``True``, a policy name) ``fit`` checks the model was
      built under that policy with a float32 output and raises a
      ``ValueError`` explaining the order if not (see the module docstring).
    - ``steps_per_epoch``: batches per epoch; the training data then repeats.
    - Several devices: call :func:`data_parallel` before building the model;
      ``batch_size`` is then the global batch and must divide evenly.
    - ``callbacks``: more Keras callbacks, run after ferkit's (their
      ``self.model`` is the training model; the caller's is its
      ``trained_model``).

    Introduced in lesson 04_compact_cnn.
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs: expected a positive int, found {epochs!r}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, found {batch_size!r}")
    if steps_per_execution is not None and (
            not isinstance(steps_per_execution, (int, np.integer)) or steps_per_execution < 1):
        raise ValueError(f"steps_per_execution: expected a positive int, found {steps_per_execution!r}")
    if mixed_precision is not None:
        _check_precision(model, mixed_precision)
    if teacher is not None:
        temperature = _check_temperature(temperature)
        label_weight = _check_label_weight(label_weight)
        if class_weight is not None:
            raise ValueError("class_weight: not supported with a teacher (Keras's Distiller ignores "
                             "sample weights); leave it None")
    if augment is not None and not callable(augment):
        raise ValueError(f"augment: expected a Keras layer such as ferkit.augment.qutub_augment(), "
                         f"found {type(augment).__name__}")
    if base_batch_size is not None:
        if model.compiled or not isinstance(optimizer, str):
            raise ValueError("base_batch_size: needs an uncompiled model and an optimiser name, so that "
                             "fit can set the learning rate")
        learning_rate = scaled_learning_rate(learning_rate, batch_size, base_batch_size, optimizer)
    devices = _check_distribution(model, int(batch_size))
    keras.utils.set_random_seed(seed)

    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight: expected None, a dict or 'balanced', found {class_weight!r}")
        if _is_dataset(train):
            raise ValueError(
                "class_weight='balanced' needs train as an (images, labels) pair; with a dataset "
                "pass class_weight=ferkit.train.class_weights(train_labels)"
            )
        class_weight = class_weights(train[1])

    size = _prepared_size(model, augment, _first_images(train))
    train_data = train if _is_dataset(train) else _memory_batches(
        train, "train", size, int(batch_size), True, seed, drop_remainder=devices > 1,
        repeat=steps_per_epoch is not None)
    validation_data = validation if validation is None or _is_dataset(validation) else _memory_batches(
        validation, "validation", size, int(batch_size), False, seed, drop_remainder=False)
    if steps_per_epoch is not None and tf is not None and isinstance(train_data, tf.data.Dataset):
        train_data = train_data.repeat()

    compiled_by_us = not model.compiled
    if compiled_by_us:
        model.compile(
            optimizer=_make_optimizer(optimizer, learning_rate, weight_decay),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
    prepare = ToModelInput(size, model_input(model)[1])
    if teacher is None:
        trainer = _TrainingModel(model, prepare, augment)
    else:
        trainer = _DistillationModel(teacher, model, temperature, label_weight, prepare, augment)
    trainer.compile(**_compile_settings(model, compiled_by_us, steps_per_execution))

    folder = Path(checkpoint_dir) if checkpoint_dir is not None else Path(
        tempfile.mkdtemp(prefix="ferkit-run-")
    )
    folder.mkdir(parents=True, exist_ok=True)
    best_path = folder / "best.keras"
    monitor = "val_loss" if validation_data is not None else "loss"
    extra_callbacks = list(callbacks or [])
    callbacks = [_SaveTrainedModel(best_path, monitor=monitor, mode="min", save_best_only=True)]
    if early_stopping_patience is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, mode="min", patience=early_stopping_patience,
                restore_best_weights=True,
            )
        )
    if reduce_lr_patience is not None:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(monitor=monitor, mode="min", factor=0.1,
                                              patience=reduce_lr_patience)
        )
    if csv_log:
        callbacks.append(keras.callbacks.CSVLogger(str(folder / "history.csv")))
    callbacks += extra_callbacks

    history = trainer.fit(
        train_data,
        validation_data=validation_data,
        epochs=int(epochs),
        steps_per_epoch=steps_per_epoch,
        class_weight=class_weight,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the batches shuffle themselves (MemoryBatches, make_dataset)
    )
    return history, str(best_path)


def distill(student, teacher, train, validation, epochs, temperature=3.0, label_weight=0.5, **options):
    """Train ``student`` on ``teacher``'s softened probabilities and the hard labels.

    :func:`fit` with a ``teacher`` (all of ``fit``'s ``options`` apply, the
    fast path and ``augment`` included); returns ``(history, best_checkpoint_path)``,
    the checkpoint holding the student alone. ``temperature`` (> 0; Keras's
    default 3) softens both models' probabilities (:func:`soft_labels`);
    ``label_weight`` (in [0, 1]; Keras's default 0.5) weighs the hard labels,
    ``1 - label_weight`` the teacher. The history has ``student_loss`` and
    ``distillation_loss`` beside ``loss``. Introduced in lesson 09_deployment.
    """
    if teacher is None:
        raise ValueError("teacher: expected a trained keras.Model, found None")
    return fit(student, train, validation, epochs, teacher=teacher, temperature=temperature,
               label_weight=label_weight, **options)
