"""Training with the papers' callbacks, repeatable seeds and a precision policy.

Lesson 04_compact_cnn introduces this module (Bedi's best-checkpoint
habit); every later lesson trains through :func:`fit`.

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
from pathlib import Path

import keras
import numpy as np
from sklearn.utils.class_weight import compute_class_weight

from ferkit.pipeline import make_dataset, tf


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


def _model_input(model):
    shape = model.input_shape
    if isinstance(shape, list):
        raise ValueError("model: expected a model with one image input, found several inputs")
    height, width, channels = shape[1:4]
    image_size = (height, width) if height is not None and width is not None else None
    return image_size, channels


def _as_dataset(data, argument, model, batch_size, training, seed):
    """A dataset from ``data``: a ``tf.data.Dataset`` as is, or ``(images, labels)``."""
    if data is None or _is_dataset(data):
        return data
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise ValueError(
            f"{argument}: expected a tf.data.Dataset or an (images, labels) pair, "
            f"found {type(data).__name__}"
        )
    images, labels = data
    image_size, channels = _model_input(model)
    return make_dataset(
        images, labels, batch_size, training=training,
        image_size=image_size, channels=channels, seed=seed,
    )


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
):
    """Train ``model`` with the papers' callbacks.

    Returns ``(history, best_checkpoint_path)``: the Keras ``History`` and
    the path (a ``str``) of the ``.keras`` file holding the model at its
    best validation loss (Bedi's checkpoint), reloadable with
    ``keras.models.load_model(path)``.

    - ``train``, ``validation``: ``tf.data`` datasets from
      :func:`ferkit.pipeline.make_dataset`, or ``(images, labels)`` pairs,
      which are turned into datasets of ``batch_size`` resized and
      channel-converted to the model's input (training shuffled, no
      augmentation). ``validation=None`` monitors the training loss.
    - The model is compiled only when it is not yet: ``optimizer`` (a name
      such as ``"adam"`` or Bedi's ``"adagrad"``, or an optimiser object),
      ``learning_rate`` and ``weight_decay`` (Keras applies it decoupled,
      AdamW style, unlike PyTorch's ``Adam(weight_decay=...)``), sparse
      categorical cross-entropy and accuracy. A compiled model keeps its own.
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
      ``(images, labels)`` pair).
    - ``seed``: ``keras.utils.set_random_seed(seed)`` before training, which
      fixes shuffling, dropout and augmentation draws. For repeatable
      initial weights, call it before building the model too.
    - ``mixed_precision``: ``None`` trains the model as built; otherwise
      (``"auto"``, ``True``, a policy name) ``fit`` checks the model was
      built under that policy with a float32 output and raises a
      ``ValueError`` explaining the order if not (see the module docstring).
    - ``steps_per_epoch``: batches per epoch; the training data then repeats.

    Introduced in lesson 04_compact_cnn.
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs: expected a positive int, found {epochs!r}")
    if mixed_precision is not None:
        _check_precision(model, mixed_precision)
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

    train_data = _as_dataset(train, "train", model, batch_size, training=True, seed=seed)
    validation_data = _as_dataset(validation, "validation", model, batch_size, training=False, seed=seed)
    if steps_per_epoch is not None and tf is not None and isinstance(train_data, tf.data.Dataset):
        train_data = train_data.repeat()

    if not model.compiled:
        model.compile(
            optimizer=_make_optimizer(optimizer, learning_rate, weight_decay),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )

    folder = Path(checkpoint_dir) if checkpoint_dir is not None else Path(
        tempfile.mkdtemp(prefix="ferkit-run-")
    )
    folder.mkdir(parents=True, exist_ok=True)
    best_path = folder / "best.keras"
    monitor = "val_loss" if validation_data is not None else "loss"
    callbacks = [
        keras.callbacks.ModelCheckpoint(best_path, monitor=monitor, mode="min", save_best_only=True)
    ]
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

    history = model.fit(
        train_data,
        validation_data=validation_data,
        epochs=int(epochs),
        steps_per_epoch=steps_per_epoch,
        class_weight=class_weight,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # the datasets shuffle themselves (make_dataset, training=True)
    )
    return history, str(best_path)
