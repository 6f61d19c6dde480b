"""The papers' networks as Keras 3 models, exact to their published parameter counts.

One builder per network. Every builder has the same shape,
``builder(input_shape=..., num_classes=7, ...)``, and returns an *uncompiled*
``keras.Model`` with a readable ``name``; optimisers, epochs and callbacks belong
to :mod:`ferkit.train`. Every model ends in ``Dense(num_classes, "softmax")``
kept in float32 (so it stays numerically sound under a mixed-precision policy).

Input contract: every model takes **float32 images in [0, 1]**, shape
``(N, H, W, C)``, which is what :mod:`ferkit.pipeline` produces. The transfer
builders (:func:`vgg16`, :func:`vgg19`, :func:`resnet50`, :func:`resnet18`,
:func:`efficientnet_b0`) do their backbone's own ImageNet preprocessing *inside*
the model and repeat a grayscale channel three times there too, so callers
never call a ``preprocess_input`` themselves.

Grayscale into an RGB backbone: the builders repeat the channel (a built-in
``Concatenate`` layer, so the models save and load with ``safe_mode=True``).
The alternative is *weight folding*: sum the first convolution's pretrained
kernel over its three input channels and build the backbone for one channel.
On gray images the two agree (exactly, but for the border pixels where the
per-channel mean subtraction meets the zero padding); folding saves a little
memory and compute in the first layer, repeating reuses ``keras.applications``
unchanged and keeps RGB input possible.

Parameter counts: Keras counts batch-norm moving mean and variance as
*non-trainable* parameters (2 per channel); PyTorch does not count them at all
(its batch norm has 2 *trainable* parameters per channel, the same as Keras's
gamma and beta). So a PyTorch paper's figure equals Keras's *trainable* count,
and a Keras paper's figure equals Keras's *total* count.
:func:`summary_table` puts our counts beside the papers' (read from
:func:`ferkit.papers.parameter_count`, which says which count each figure is);
the papers' training settings are in :func:`ferkit.papers.stated_settings`.

Lessons: 01_convolution (:func:`lenet5`), 03_shallow_dropout_deep
(``mondal_*``), 04_compact_cnn (:func:`bedi_cnn`), 05_fer_kd (:func:`fer_kd`),
07_transfer_learning (the transfer builders, :func:`transfer_from` for a source network
that is not an ImageNet one, :func:`freeze_backbone` / :func:`unfreeze` for feature
extraction and fine-tuning, and :func:`summary_table`).
"""

from __future__ import annotations

import os

import keras
import numpy as np
import pandas as pd
from keras import layers, ops

from ferkit import papers

__all__ = [
    "BUILDERS",
    "reference_cnn",
    "FER_KD_ABLATION_VARIANTS",
    "IMAGENET_WEIGHT_FILES",
    "ImageNetPreprocessing",
    "WeightsUnavailableError",
    "bedi_cnn",
    "count_parameters",
    "efficientnet_b0",
    "fer_kd",
    "lenet5",
    "mondal_deep",
    "mondal_dropout",
    "mondal_shallow",
    "RESNET18_IMAGENET_PRESET",
    "backbone_of",
    "blocks",
    "freeze_backbone",
    "imagenet_weights",
    "resnet18",
    "resnet50",
    "summary_table",
    "transfer_from",
    "unfreeze",
    "vgg16",
    "vgg19",
]

# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def _output_layer(x, num_classes):
    """The common classifier: float32 softmax over ``num_classes``."""
    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(x)


def _check_input_shape(input_shape, argument="input_shape"):
    """Return ``input_shape`` as a tuple ``(H, W, C)`` or raise a clear ValueError."""
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(size, (int, np.integer)) and size > 0 for size in shape):
        raise ValueError(
            f"{argument} must be (height, width, channels) with positive integers, "
            f"got {input_shape!r}."
        )
    return tuple(int(size) for size in shape)


def _check_num_classes(num_classes):
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}.")
    return int(num_classes)


def _check_choice(argument, value, choices):
    if value not in choices:
        raise ValueError(f"{argument} must be one of {choices!r}, got {value!r}.")


def count_parameters(model) -> dict[str, int]:
    """Return ``{"total", "trainable", "non_trainable"}`` parameter counts of a Keras model.

    ``non_trainable`` holds what Keras keeps but does not learn by gradient
    descent: batch-norm moving means and variances, frozen layers, and the
    statistics of a ``Normalization`` layer. Lesson 03_shallow_dropout_deep.
    """
    trainable = int(sum(np.prod(weight.shape) for weight in model.trainable_weights))
    non_trainable = int(sum(np.prod(weight.shape) for weight in model.non_trainable_weights))
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}


# ---------------------------------------------------------------------------
# Lesson 01: LeNet-5
# ---------------------------------------------------------------------------


def lenet5(input_shape=(48, 48, 1), num_classes=7, activation="tanh"):
    """Return the classic LeNet-5 adapted to 48x48 faces (Keras model ``"lenet5"``).

    LeCun's layout: conv 6 (5x5, valid) -> average pool 2 -> conv 16 (5x5, valid)
    -> average pool 2 -> flatten -> dense 120 -> dense 84 -> dense ``num_classes``.
    At 48x48x1 the maps are 44 -> 22 -> 18 -> 9, so the flatten has 9*9*16 = 1,296
    features. Parameters (Keras, 48x48x1, 7 classes): 168,971 total, all trainable,
    0 non-trainable. Assumptions: C3 is fully connected to S2 (the 1998 network
    wired each C3 map to a subset of S2 maps), the sub-sampling layers are plain
    average pools without trainable coefficients, and the output is a softmax
    instead of RBF units. ``activation`` is ``"tanh"`` as in the original; try
    ``"relu"`` to see why modern networks changed. Input: float images in [0, 1].
    Lesson 01_convolution.
    """
    input_shape = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Conv2D(6, 5, activation=activation, name="c1")(inputs)
    x = layers.AveragePooling2D(2, name="s2")(x)
    x = layers.Conv2D(16, 5, activation=activation, name="c3")(x)
    x = layers.AveragePooling2D(2, name="s4")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(120, activation=activation, name="c5")(x)
    x = layers.Dense(84, activation=activation, name="f6")(x)
    outputs = _output_layer(x, num_classes)
    return keras.Model(inputs, outputs, name="lenet5")


# ---------------------------------------------------------------------------
# Lesson 03: Mondal's shallow, dropout and deep CNNs
# ---------------------------------------------------------------------------


def _mondal_small(input_shape, num_classes, dropout, name):
    """Mondal's shallow network (Figure 6), with or without the dropout layers of Figure 7."""
    input_shape = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    inputs = keras.Input(shape=input_shape, name="image")
    # Block 1 and 2: conv 32, conv 64, pool.
    x = layers.Conv2D(32, 3, activation="relu", name="block1_conv")(inputs)
    x = layers.Conv2D(64, 3, activation="relu", name="block2_conv")(x)
    x = layers.MaxPooling2D(2, name="block2_pool")(x)
    if dropout:
        x = layers.Dropout(0.25, name="block2_dropout")(x)
    # Blocks 3 and 4: conv 128, pool, conv 128, pool.
    x = layers.Conv2D(128, 3, activation="relu", name="block3_conv")(x)
    x = layers.MaxPooling2D(2, name="block3_pool")(x)
    x = layers.Conv2D(128, 3, activation="relu", name="block4_conv")(x)
    x = layers.MaxPooling2D(2, name="block4_pool")(x)
    if dropout:
        x = layers.Dropout(0.25, name="block4_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(1024, activation="relu", name="dense")(x)
    if dropout:
        x = layers.Dropout(0.5, name="dense_dropout")(x)
    outputs = _output_layer(x, num_classes)
    return keras.Model(inputs, outputs, name=name)


def mondal_shallow(input_shape=(48, 48, 1), num_classes=7):
    """Return Mondal's shallow CNN (Keras model ``"mondal_shallow"``), Mondal's Figure 6.

    conv 32 -> conv 64 -> max pool -> conv 128 -> max pool -> conv 128 -> max pool
    -> flatten (4x4x128 = 2,048) -> dense 1024 -> dense ``num_classes``. All
    convolutions are 3x3, ``valid`` padding, ReLU; pools are 2x2 (48 -> 46 -> 44
    -> 22 -> 20 -> 10 -> 8 -> 4). Parameters (Keras, 48x48x1, 7 classes):
    2,345,607 total = trainable, 0 non-trainable, matching Mondal's 2,345,607
    (Figure 6). The dense width 1024 is Mondal's Table 1. Section 2.2 describes
    two convolutions instead of Figure 6's four (``ferkit.papers.CONTRADICTIONS``);
    this builder follows the figure, which is what has the count. Assumption: the
    3x3 kernels and valid padding are the only choice that gives the count and the
    2,048-wide flatten. Training settings: ``ferkit.papers.stated_settings
    ("mondal_shallow")`` (Adam, learning rate 1e-3, 10 epochs). Input: float
    images in [0, 1]. Lesson 03_shallow_dropout_deep.
    """
    return _mondal_small(input_shape, num_classes, dropout=False, name="mondal_shallow")


def mondal_dropout(input_shape=(48, 48, 1), num_classes=7):
    """Return Mondal's shallow CNN with dropout (Keras model ``"mondal_dropout"``), Mondal's Figure 7.

    :func:`mondal_shallow` plus dropout after the 2nd block (conv 64 + pool), the
    4th block (last conv 128 + pool) and the dense 1024 layer. Dropout has no
    parameters: 2,345,607 total = trainable, 0 non-trainable, as Figure 7 states.
    Assumption: the rates, 0.25 after the conv blocks and 0.5 after the dense
    layer (Figure 7 fixes the positions, section 2.2 gives no rate; these are the
    customary Keras rates). Section 2.2 puts dropout "after each convolution
    layer"; this builder follows Figure 7. Input: float images in [0, 1].
    Lesson 03_shallow_dropout_deep.
    """
    return _mondal_small(input_shape, num_classes, dropout=True, name="mondal_dropout")


def mondal_deep(input_shape=(48, 48, 1), num_classes=7, dropout_rate=0.25):
    """Return Mondal's deep CNN (Keras model ``"mondal_deep"``), Mondal's Figure 8.

    Four blocks of conv -> batch norm -> ReLU (``same`` padding), each block ending
    in a 2x2 max pool and dropout: two conv 64 (3x3), three conv 128 (5x5), four
    conv 512 (3x3), four conv 512 (3x3); 48 -> 24 -> 12 -> 6 -> 3, flatten
    3x3x512 = 4,608 -> dense 512 -> dense ``num_classes``.
    Parameters (Keras, 48x48x1, 7 classes): 20,552,775 total, 20,543,559 trainable,
    9,216 non-trainable (the moving mean and variance of the 4,608 batch-norm
    channels), matching Figure 8's figures. The 5x5 kernels of the 128-filter block
    come from Figure 8's per-layer counts; section 2.2 describes 4 convolutions of
    3x3 instead (``ferkit.papers.CONTRADICTIONS``). The dense width 512 is Mondal's
    Table 2. Assumptions: batch norm after the convolution and before the ReLU (the
    order does not change the count), and ``dropout_rate`` 0.25 for every block
    (Mondal gives no rate). Training settings: ``ferkit.papers.stated_settings
    ("mondal_deep")`` (Adam, learning rate 1e-4, 10 epochs). Input: float images
    in [0, 1]. Lesson 03_shallow_dropout_deep.
    """
    input_shape = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    blocks = [(64, 3, 2), (128, 5, 3), (512, 3, 4), (512, 3, 4)]  # (filters, kernel, convs)
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for block, (filters, kernel_size, convs) in enumerate(blocks, start=1):
        for conv in range(1, convs + 1):
            prefix = f"block{block}_conv{conv}"
            x = layers.Conv2D(filters, kernel_size, padding="same", name=prefix)(x)
            x = layers.BatchNormalization(name=f"{prefix}_bn")(x)
            x = layers.ReLU(name=f"{prefix}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
        x = layers.Dropout(dropout_rate, name=f"block{block}_dropout")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="dense")(x)
    outputs = _output_layer(x, num_classes)
    return keras.Model(inputs, outputs, name="mondal_deep")


# ---------------------------------------------------------------------------
# Lesson 04: Bedi's compact CNN
# ---------------------------------------------------------------------------


def bedi_cnn(input_shape=(48, 48, 1), num_classes=7, dropout_rate=0.5):
    """Return Bedi's compact three-convolution CNN (Keras model ``"bedi_cnn"``), Bedi's Figure 2.

    conv 32 -> max pool -> conv 64 -> max pool -> conv 128 -> max pool -> flatten
    (4x4x128 = 2,048) -> dense 256 -> dropout -> dense ``num_classes``; 3x3
    ``valid`` convolutions with ReLU and 2x2 pools (48 -> 46 -> 23 -> 21 -> 10 ->
    8 -> 4). Parameters (Keras, 48x48x1, 7 classes): 619,015 total = trainable,
    0 non-trainable, Bedi's 619,015 (Figure 2). Assumptions: 3x3 kernels with valid
    padding (the only common choice that gives the count) and ``dropout_rate`` 0.5
    (Figure 2 names the dropout layer, not the rate). Bedi trains it with Adagrad,
    20 epochs, batch 64 (sections III-IV): see ``ferkit.papers.stated_settings
    ("bedi_cnn")``. Input: float images in [0, 1]. Lesson 04_compact_cnn.
    """
    input_shape = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for block, filters in enumerate((32, 64, 128), start=1):
        x = layers.Conv2D(filters, 3, activation="relu", name=f"block{block}_conv")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(256, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout_rate, name="dropout")(x)
    outputs = _output_layer(x, num_classes)
    return keras.Model(inputs, outputs, name="bedi_cnn")


# ---------------------------------------------------------------------------
# Lesson 05: Barbagallo's FER_KD and its ablation
# ---------------------------------------------------------------------------

# (filters, max pool after it, dropout after it) for the five base convolutions.
_FER_KD_CONVS = ((64, False, 0.0), (128, True, 0.0), (256, True, 0.25), (512, True, 0.25), (1024, False, 0.0))

#: Barbagallo's Table 1 ablation rows (``ferkit.papers.BARBAGALLO_ABLATION_ROWS``)
#: -> :func:`fer_kd` keyword arguments, e.g.
#: ``{row: fer_kd(**kwargs) for row, kwargs in FER_KD_ABLATION_VARIANTS.items()}``.
FER_KD_ABLATION_VARIANTS: dict[str, dict] = {
    "+1 FC +1 conv": {"extra_conv": True, "extra_fc": True},
    "+1 conv": {"extra_conv": True},
    "+1 FC": {"extra_fc": True},
    "base": {},
    "-1 conv": {"remove_convs": 1},
    "-2 conv": {"remove_convs": 2},
    "-3 conv": {"remove_convs": 3},
    "-4 conv": {"remove_convs": 4},
}


def _fer_kd_name(extra_conv, extra_fc, remove_convs, head):
    name = "fer_kd"
    if extra_conv:
        name += "_extra_conv"
    if extra_fc:
        name += "_extra_fc"
    if remove_convs:
        name += f"_minus{remove_convs}_conv"
    if head != "flatten":
        name += f"_{head}"
    return name


def _adaptive_max_pool_2x2(x):
    """PyTorch's ``AdaptiveMaxPool2d((2, 2))``: a plain ``MaxPooling2D`` when the map's sides are even.

    With even sides the adaptive windows are the four quadrants, exactly what a max pool of
    half the side computes, and on the TensorFlow backend it is much faster than
    ``AdaptiveMaxPooling2D``.
    """
    height, width = x.shape[1:3]
    if height is not None and width is not None and height % 2 == 0 and width % 2 == 0:
        return layers.MaxPooling2D((height // 2, width // 2), name="adaptive_max_pool")(x)
    return layers.AdaptiveMaxPooling2D((2, 2), name="adaptive_max_pool")(x)


def fer_kd(
    input_shape=(48, 48, 3),
    num_classes=7,
    extra_conv=False,
    extra_fc=False,
    remove_convs=0,
    head="flatten",
):
    """Return Barbagallo's FER_KD network (section 1) or one of its ablation variants (Table 1).

    The default reconstruction (Keras model ``"fer_kd"``), a PyTorch network
    rewritten in Keras: five conv 3x3 (``same``) -> batch norm -> ReLU layers,
    64, 128, max pool, 256, max pool, dropout 0.25, 512, max pool, dropout 0.25,
    1024, then an adaptive max pool to 2x2 (``AdaptiveMaxPooling2D``, PyTorch's
    ``AdaptiveMaxPool2d``), flatten 2x2x1024 = 4,096 -> FC 1024 -> batch norm ->
    ReLU -> FC ``num_classes``.

    Parameters (Keras, 48x48x3, 7 classes): 10,485,127 total, **10,479,111
    trainable** (= Barbagallo's 10,479,111, section 1: PyTorch counts batch norm's
    2 learnable parameters per channel, not its statistics) and 6,016 non-trainable
    (moving mean and variance of the 3,008 batch-norm channels).

    The detective work: Barbagallo's text and count disagree
    (``ferkit.papers.CONTRADICTIONS``). Read literally (pooling the last map to
    1,024 features before the classifier, a 1-channel 48x48 input), the network
    has 7,332,231 parameters. Only a 3-channel input (+1,152), and a head that
    flattens a 2x2x1024 map (4,096 features into FC 1024, +3,145,728) reproduce
    10,479,111 exactly, so that is the default. ``head="global_pool"`` gives the
    text's reading (global average pooling, 1,024 features; 7,333,383 trainable at
    3 channels). FER2013 is grayscale: feed it with three identical channels
    (``ferkit.pipeline`` can), or pass ``input_shape=(48, 48, 1)`` and accept the
    1,152 fewer parameters.

    Ablation options (Barbagallo's Table 1; :data:`FER_KD_ABLATION_VARIANTS` maps
    each row to these arguments). The paper names the changes, not where they go,
    so: ``extra_conv`` appends a sixth conv 1024 -> BN -> ReLU after the last one;
    ``extra_fc`` inserts a second FC 1024 -> BN -> ReLU before the output;
    ``remove_convs`` (0-4) drops that many convolutions from the end, each with the
    pool and dropout that follow it, keeping the adaptive 2x2 pool (so "-4 conv"
    is conv 64 -> pool to 2x2 -> 256 features). Batch norm uses PyTorch's defaults
    (epsilon 1e-5, momentum 0.1, i.e. Keras ``momentum=0.9``). The dropout rate
    0.25 after the 3rd and 4th convolutions is section 1's.
    Barbagallo trains every row with Adam (learning rate 5e-4, weight decay 1e-3),
    batch 64, 15 epochs (section 3): see ``ferkit.papers.stated_settings("fer_kd")``.
    Input: float images in [0, 1]. Lesson 05_fer_kd.
    """
    input_shape = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    _check_choice("head", head, ("flatten", "global_pool"))
    if not isinstance(remove_convs, (int, np.integer)) or not 0 <= remove_convs <= 4:
        raise ValueError(f"remove_convs must be an integer from 0 to 4, got {remove_convs!r}.")

    def conv_bn_relu(x, filters, name):
        x = layers.Conv2D(filters, 3, padding="same", name=name)(x)
        x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    convs = list(_FER_KD_CONVS[: len(_FER_KD_CONVS) - remove_convs])
    if extra_conv:
        convs.append((convs[-1][0], False, 0.0))
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for index, (filters, pool, dropout) in enumerate(convs, start=1):
        x = conv_bn_relu(x, filters, f"conv{index}")
        if pool:
            x = layers.MaxPooling2D(2, name=f"conv{index}_pool")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"conv{index}_dropout")(x)
    if head == "flatten":
        x = _adaptive_max_pool_2x2(x)
        x = layers.Flatten(name="flatten")(x)
    else:
        x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    for index in range(1, 3 if extra_fc else 2):
        x = layers.Dense(1024, name=f"fc{index}")(x)
        x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"fc{index}_bn")(x)
        x = layers.ReLU(name=f"fc{index}_relu")(x)
    outputs = _output_layer(x, num_classes)
    return keras.Model(inputs, outputs, name=_fer_kd_name(extra_conv, extra_fc, remove_convs, head))


# ---------------------------------------------------------------------------
# Lesson 07: transfer learning
# ---------------------------------------------------------------------------


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights were asked for but are neither in the cache nor downloadable.

    Its message says where the file is looked for and how to get it. The builders
    raise it instead of falling back to random weights. Lesson 07_transfer_learning.
    """


#: The ImageNet weight files (no classifier top) that ``keras.applications``
#: downloads, as ``{backbone: (file name, URL, md5)}``; Keras caches them in
#: ``~/.keras/models/`` (or ``$KERAS_HOME/models/``). Taken from Keras 3.15.
IMAGENET_WEIGHT_FILES: dict[str, tuple[str, str, str]] = {
    "vgg16": (
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "6d6bbae143d832006294945121d1f1fc",
    ),
    "vgg19": (
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
        "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "253f8cb515780f3b799900260a226db6",
    ),
    "resnet50": (
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
        "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5",
        "4d473c1dd8becc155b73f8504c6f6626",
    ),
    "efficientnetb0": (
        "efficientnetb0_notop.h5",
        "https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5",
        "50bc09e76180e00e4465e1a485ddc09d",
    ),
}

RESNET18_IMAGENET_PRESET = "resnet_18_imagenet"
"""KerasHub's ImageNet ResNet18 (``keras_hub.models.ResNetBackbone.from_preset``): Keras
Applications has no ResNet18. KerasHub (``pip install "ferkit[resnet18]"``) downloads the
preset from Kaggle Models (handle ``keras/resnetv1/keras/resnet_18_imagenet``) through
``kagglehub``, which caches it in ``~/.cache/kagglehub`` (or ``$KAGGLEHUB_CACHE``). Lesson
07_transfer_learning."""

_BUILDER_BACKBONES = {"vgg16": "vgg16", "vgg19": "vgg19", "resnet50": "resnet50",
                      "efficientnet_b0": "efficientnetb0"}


def _keras_models_folder():
    """Where ``keras.utils.get_file(..., cache_subdir="models")`` keeps files."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "models")


def _ensure_imagenet_weights(backbone):
    """Make sure the backbone's ImageNet file is in the Keras cache; return its path.

    ``keras.utils.get_file`` returns the cached file when it is there (hash
    checked) and downloads it otherwise. Any failure becomes a
    :class:`WeightsUnavailableError` that says how to get the file: this module
    never falls back to random weights.
    """
    file_name, url, md5 = IMAGENET_WEIGHT_FILES[backbone]
    try:
        return keras.utils.get_file(file_name, url, cache_subdir="models", file_hash=md5)
    except Exception as error:  # URLError, HTTPError, OSError, Keras's own Exception...
        expected = os.path.join(_keras_models_folder(), file_name)
        raise WeightsUnavailableError(
            f"weights='imagenet' needs the {backbone} ImageNet weights file {file_name!r}; "
            f"it is not in the Keras cache ({expected}) and downloading it from {url} failed "
            f"({type(error).__name__}: {error}). To get it: run the same builder once on a "
            "machine with internet access (e.g. Google Colab), which saves it there, then copy "
            f"the file to {expected} on this machine (or set KERAS_HOME to a folder whose "
            "models/ subfolder holds it). Or pass weights=None to train the network from "
            "scratch (random initialisation)."
        ) from error


def _kerashub_resnet18_backbone(rgb_shape):
    """KerasHub's ImageNet ResNet18 backbone on ``rgb_shape``, or a :class:`WeightsUnavailableError`."""
    try:
        import keras_hub
    except ImportError as error:
        raise WeightsUnavailableError(
            "resnet18(weights='imagenet') loads KerasHub's preset "
            f"{RESNET18_IMAGENET_PRESET!r} (Keras Applications has no ResNet18), but KerasHub is not "
            "installed: pip install \"ferkit[resnet18]\" (or pip install keras-hub). Or pass "
            "weights=None to train ResNet18 from scratch (random initialisation)."
        ) from error
    try:
        return keras_hub.models.ResNetBackbone.from_preset(  # under the global (mixed) precision policy
            RESNET18_IMAGENET_PRESET, image_shape=tuple(rgb_shape), name="resnet18_backbone",
            dtype=keras.config.dtype_policy().name)
    except Exception as error:  # kagglehub's network and HTTP errors, a missing cache...
        cache = os.environ.get("KAGGLEHUB_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "kagglehub")
        raise WeightsUnavailableError(
            f"resnet18(weights='imagenet') needs KerasHub's preset {RESNET18_IMAGENET_PRESET!r}; it is "
            f"not in the kagglehub cache ({cache}) and downloading it from Kaggle Models failed "
            f"({type(error).__name__}: {error}). To get it: build the model once on a machine with "
            "internet access (e.g. Google Colab), then copy that cache folder to this machine (or set "
            "KAGGLEHUB_CACHE to a folder holding it). Or pass weights=None to train from scratch."
        ) from error


def imagenet_weights(name):
    """Find (or download once) the ImageNet weights of transfer builder ``name``; say where they are.

    ``name`` is ``"vgg16"``, ``"vgg19"``, ``"resnet50"``, ``"efficientnet_b0"`` (Keras
    Applications' files, cached in ``~/.keras/models/``) or ``"resnet18"`` (KerasHub's
    preset :data:`RESNET18_IMAGENET_PRESET`, cached by ``kagglehub``). Returns a short
    description of where the weights are. Raises :class:`WeightsUnavailableError` when they
    cannot be had (offline, KerasHub missing), with what to do; a ``ValueError`` for another
    name. A lesson asks this before choosing ImageNet weights, so that it never falls back
    silently. Lesson 07_transfer_learning.
    """
    if name == "resnet18":
        _kerashub_resnet18_backbone((32, 32, 3))
        return f"KerasHub preset {RESNET18_IMAGENET_PRESET!r} (kagglehub's cache)"
    if name not in _BUILDER_BACKBONES:
        raise ValueError(f"name: expected one of {sorted([*_BUILDER_BACKBONES, 'resnet18'])}, found {name!r}")
    return _ensure_imagenet_weights(_BUILDER_BACKBONES[name])


@keras.saving.register_keras_serializable(package="ferkit")
class ImageNetPreprocessing(layers.Layer):
    """Turn [0, 1] RGB images into what an ImageNet backbone was trained on.

    ``mode="caffe"`` (VGG16, VGG19, ResNet50 in ``keras.applications``): RGB -> BGR,
    times 255, minus the ImageNet mean pixel (103.939, 116.779, 123.68), no
    scaling; the same as their ``preprocess_input`` applied to [0, 255] images.
    ``mode="torch"`` (torchvision and KerasHub's ResNet18): minus mean
    (0.485, 0.456, 0.406), divided by std (0.229, 0.224, 0.225), on [0, 1] images.
    A registered layer, not a ``Lambda``, so models holding it save and load with
    ``safe_mode=True``. Lesson 07_transfer_learning.
    """

    CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
    TORCH_MEAN_RGB = (0.485, 0.456, 0.406)
    TORCH_STD_RGB = (0.229, 0.224, 0.225)

    def __init__(self, mode="caffe", **kwargs):
        super().__init__(**kwargs)
        _check_choice("mode", mode, ("caffe", "torch"))
        self.mode = mode

    def build(self, input_shape):
        if input_shape[-1] != 3:
            raise ValueError(
                f"ImageNetPreprocessing expects 3 channels (RGB) in the last axis, got shape {input_shape}."
            )
        self.built = True

    def call(self, images):
        if self.mode == "caffe":
            mean = ops.convert_to_tensor(self.CAFFE_MEAN_BGR, dtype=images.dtype)
            return ops.flip(images, axis=-1) * ops.cast(255.0, images.dtype) - mean
        mean = ops.convert_to_tensor(self.TORCH_MEAN_RGB, dtype=images.dtype)
        std = ops.convert_to_tensor(self.TORCH_STD_RGB, dtype=images.dtype)
        return (images - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def _rgb_input(input_shape):
    """Return ``(inputs, x)``: the model input and its 3-channel version.

    A 1-channel input is repeated three times with ``Concatenate`` (a built-in
    layer, so the model stays serialisable with ``safe_mode=True``). The
    alternative, folding the weights, sums the first convolution's kernel over
    its 3 input channels so the network takes 1 channel directly: the same
    outputs, a third of the first layer's input memory, but the backbone must be
    rebuilt instead of reused.
    """
    input_shape = _check_input_shape(input_shape)
    channels = input_shape[-1]
    if channels not in (1, 3):
        raise ValueError(
            f"input_shape must end in 1 (grayscale) or 3 (RGB) channels, got {input_shape!r}."
        )
    inputs = keras.Input(shape=input_shape, name="image")
    if channels == 1:
        return inputs, layers.Concatenate(axis=-1, name="gray_to_rgb")([inputs, inputs, inputs])
    return inputs, inputs


def _check_weights(weights, pretrained=("imagenet",)):
    if weights is not None and weights not in pretrained:
        raise ValueError(
            f"weights must be None (random initialisation) or one of {list(pretrained)}, got {weights!r}. "
            "To load your own weights, build with weights=None and call model.load_weights(path)."
        )


def _keras_backbone(application, backbone, rgb_shape, weights):
    """Build ``keras.applications`` ``application`` without its top, on 3-channel ``rgb_shape``."""
    _check_weights(weights)
    if weights == "imagenet":
        _ensure_imagenet_weights(backbone)  # raises with instructions when offline
    return application(include_top=False, weights=weights, input_shape=rgb_shape)


def _features(backbone, x, pretrained):
    """Call ``backbone`` on ``x``; a pretrained one with ``training=False``.

    Keras's transfer-learning advice: a pretrained backbone's batch-norm layers stay in
    inference mode (their ImageNet statistics) even once the backbone is unfrozen for
    fine-tuning, or the first fine-tuning steps wreck what it learned. A backbone trained
    from scratch needs its batch statistics, so it is called normally.
    """
    return backbone(x, training=False) if pretrained else backbone(x)


def _dense_head(x, units, num_classes):
    for index, width in enumerate(units, start=1):
        x = layers.Dense(width, activation="relu", name=f"head_dense{index}")(x)
    return _output_layer(x, num_classes)


def _pool(x, head):
    _check_choice("head", head, ("global_pool", "flatten"))
    if head == "global_pool":
        return layers.GlobalAveragePooling2D(name="head_global_pool")(x)
    return layers.Flatten(name="head_flatten")(x)


def _transfer_model(inputs, backbone, head_outputs, freeze, name):
    backbone.trainable = not freeze
    return keras.Model(inputs, head_outputs, name=name)


def _vgg(application, backbone_name, input_shape, num_classes, weights, freeze, head, default_head):
    """VGG16 or VGG19 without its top -> ``head`` -> dense 4096 -> dense 4096 -> softmax."""
    input_shape, num_classes = _check_input_shape(input_shape), _check_num_classes(num_classes)
    inputs, x = _rgb_input(input_shape)
    backbone = _keras_backbone(application, backbone_name, (*input_shape[:2], 3), weights)
    x = ImageNetPreprocessing("caffe", name="imagenet_preprocessing")(x)
    x = _pool(_features(backbone, x, weights is not None), head)
    outputs = _dense_head(x, (4096, 4096), num_classes)
    name = backbone_name if head == default_head else f"{backbone_name}_{head}"
    return _transfer_model(inputs, backbone, outputs, freeze, name)


def vgg16(input_shape=(48, 48, 1), num_classes=7, weights="imagenet", freeze=False, head="global_pool"):
    """Return VGG16 with Qutub & Atay's head (Keras model ``"vgg16"``).

    ``keras.applications.VGG16`` without its top (a nested model, layer
    ``"vgg16"``) -> global average pooling -> dense 4096 -> dense 4096 -> dense
    ``num_classes``: the head of Qutub & Atay's section 4.4 (the last average pool
    reduced to 1x1, the top layer cut to seven outputs). Parameters (7 classes,
    any input size, 1 or 3 channels): 33,625,927 total = trainable (no batch
    norm), 0 non-trainable, Qutub & Atay's 33,625,927 (Table 10). Matijasevic
    also trains VGG16 (on RAF-DB) but states no head or count. With ``freeze=True``
    only the head is trainable (18,911,239); the backbone keeps its 14,714,688 as
    non-trainable. ``head="flatten"`` flattens the last map instead (model
    ``"vgg16_flatten"``; counts then depend on the input size).

    Input: float images in [0, 1], grayscale (repeated to 3 channels inside; see
    the module docstring for weight folding) or RGB; the model applies VGG's own
    preprocessing (:class:`ImageNetPreprocessing`, ``"caffe"``). ``weights="imagenet"``
    needs the Keras weight file (:func:`imagenet_weights`): offline it raises
    :class:`WeightsUnavailableError` saying how to get it; ``None`` starts from
    random weights. A pretrained backbone runs with ``training=False`` (see
    :func:`unfreeze`). Smallest input: 32x32. Lesson 07_transfer_learning.
    """
    return _vgg(keras.applications.VGG16, "vgg16", input_shape, num_classes, weights, freeze, head,
                default_head="global_pool")


def vgg19(input_shape=(64, 64, 1), num_classes=7, weights="imagenet", freeze=False, head="flatten"):
    """Return VGG19 with Qutub & Atay's head (Keras model ``"vgg19"``).

    ``keras.applications.VGG19`` without its top -> flatten -> dense 4096 ->
    dense 4096 -> dense ``num_classes``. Qutub & Atay state 45,227,079
    parameters (Table 10); their section 4.5 describes the same pooled head as
    for VGG16, which gives only 38,935,623 (``ferkit.papers.CONTRADICTIONS``).
    Their figure is matched exactly by *flattening* the 2x2x512 map that VGG19
    makes from a **64x64** input (2,048 features), so that is the default (the
    count decides): 45,227,079 total = trainable, 0 non-trainable (7 classes,
    64x64, 1 or 3 channels). ``head="global_pool"`` (model ``"vgg19_global_pool"``)
    is the text's reading: 38,935,623 at any input size. With ``freeze=True`` only
    the head is trainable (the backbone's 20,024,384 become non-trainable). At
    48x48 the flatten head sees 1x1x512 and counts 38,935,623 too.

    Input: float images in [0, 1], grayscale or RGB, VGG preprocessing inside the
    model, as :func:`vgg16`; ``weights="imagenet"`` offline raises
    :class:`WeightsUnavailableError`. Lesson 07_transfer_learning.
    """
    return _vgg(keras.applications.VGG19, "vgg19", input_shape, num_classes, weights, freeze, head,
                default_head="flatten")


def resnet50(input_shape=(100, 100, 3), num_classes=7, weights="imagenet", freeze=False):
    """Return ResNet50 for RAF-DB as Matijasevic uses it (Keras model ``"resnet50"``).

    ``keras.applications.ResNet50`` without its top -> global average pooling ->
    dense ``num_classes``. Parameters (7 classes, any input size): 23,602,055
    total, 23,548,935 trainable, 53,120 non-trainable (batch-norm statistics).
    With ``freeze=True`` only the 14,343 head parameters are trainable; frozen
    batch-norm layers then also run in inference mode (Keras 3 behaviour), as
    feature extraction needs, and with ImageNet weights the backbone is called with
    ``training=False``, so they stay so once unfrozen (:func:`unfreeze`).
    Assumption: the head is the standard one (global average pooling and one
    softmax layer): Matijasevic names the Keras model (section 3.1) but states no
    head and no parameter count, nor whether the backbone is fine-tuned or frozen
    (section 4.1). Matijasevic's settings: ``ferkit.papers.stated_settings
    ("resnet50")`` (ImageNet weights, horizontal flip only, 80/20 split, stopped at
    saturation after 8 epochs, Table 1). Default input: RAF-DB's 100x100x3;
    grayscale input is repeated to 3 channels.

    Input: float images in [0, 1]; ResNet50's ``"caffe"`` preprocessing happens
    inside the model. ``weights="imagenet"`` offline raises
    :class:`WeightsUnavailableError`. Smallest input: 32x32.
    Lesson 07_transfer_learning.
    """
    input_shape, num_classes = _check_input_shape(input_shape), _check_num_classes(num_classes)
    inputs, x = _rgb_input(input_shape)
    backbone = _keras_backbone(keras.applications.ResNet50, "resnet50", (*input_shape[:2], 3), weights)
    x = ImageNetPreprocessing("caffe", name="imagenet_preprocessing")(x)
    x = layers.GlobalAveragePooling2D(name="head_global_pool")(_features(backbone, x, weights is not None))
    outputs = _output_layer(x, num_classes)
    return _transfer_model(inputs, backbone, outputs, freeze, "resnet50")


def efficientnet_b0(input_shape=(96, 96, 1), num_classes=7, weights="imagenet", freeze=False, dropout_rate=0.2):
    """Return EfficientNet-B0 with a new classifier (Keras model ``"efficientnet_b0"``).

    ``keras.applications.EfficientNetB0`` without its top -> global average
    pooling -> dropout -> dense ``num_classes`` (the layout of Keras's own top,
    dropout 0.2). Parameters (7 classes, any input size): 4,058,538 total,
    **4,016,515 trainable**, 42,023 non-trainable (42,016 batch-norm statistics and
    7 in the built-in ``Normalization`` layer). With ``freeze=True`` only the
    8,967 head parameters are trainable. The trainable count is Qutub & Atay's
    4,016,515 (Table 10, PyTorch counting), which fixes the new classifier at one
    dense layer on the 1,280 pooled features.

    Input: float images in [0, 1], grayscale or RGB. Keras's EfficientNet already
    contains its preprocessing for [0, 255] images (rescale and normalise), so
    the model multiplies by 255 first (a ``Rescaling`` layer). ``weights="imagenet"``
    offline raises :class:`WeightsUnavailableError`. Smallest input: 32x32.
    Lesson 07_transfer_learning.
    """
    input_shape, num_classes = _check_input_shape(input_shape), _check_num_classes(num_classes)
    inputs, x = _rgb_input(input_shape)
    backbone = _keras_backbone(
        keras.applications.EfficientNetB0, "efficientnetb0", (*input_shape[:2], 3), weights
    )
    x = layers.Rescaling(255.0, name="to_0_255")(x)
    x = layers.GlobalAveragePooling2D(name="head_global_pool")(_features(backbone, x, weights is not None))
    x = layers.Dropout(dropout_rate, name="head_dropout")(x)
    outputs = _output_layer(x, num_classes)
    return _transfer_model(inputs, backbone, outputs, freeze, "efficientnet_b0")


# ResNet18 in torchvision's layout ---------------------------------------------


def _torch_batch_norm(name):
    """Batch norm with PyTorch's defaults (epsilon 1e-5, momentum 0.1 = Keras 0.9)."""
    return layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=name)


def _torch_conv(x, filters, kernel_size, stride, name):
    """A bias-free convolution padded as PyTorch pads it (``kernel_size // 2`` each side).

    Keras's ``padding="same"`` pads stride-2 convolutions asymmetrically, which
    would shift every map by half a pixel against torchvision's; explicit
    zero padding keeps the two layouts numerically interchangeable.
    """
    padding = kernel_size // 2
    if padding:
        x = layers.ZeroPadding2D(padding, name=f"{name}_pad")(x)
    return layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=name)(x)


def _basic_block(x, filters, stride, name):
    """torchvision's ``BasicBlock``: two 3x3 convs with a (projected) identity shortcut."""
    shortcut = x
    y = _torch_conv(x, filters, 3, stride, f"{name}_conv1")
    y = layers.ReLU(name=f"{name}_relu1")(_torch_batch_norm(f"{name}_bn1")(y))
    y = _torch_conv(y, filters, 3, 1, f"{name}_conv2")
    y = _torch_batch_norm(f"{name}_bn2")(y)
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _torch_conv(x, filters, 1, stride, f"{name}_downsample_0")
        shortcut = _torch_batch_norm(f"{name}_downsample_1")(shortcut)
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.ReLU(name=f"{name}_relu2")(y)


def _resnet18_backbone(rgb_shape):
    """torchvision's ResNet18 without ``fc``, as a Keras model ``"resnet18_backbone"``."""
    inputs = keras.Input(shape=rgb_shape, name="rgb")
    x = _torch_conv(inputs, 64, 7, 2, "conv1")
    x = layers.ReLU(name="relu")(_torch_batch_norm("bn1")(x))
    # Zero padding is safe before this max pool: its inputs are >= 0 after the ReLU.
    x = layers.ZeroPadding2D(1, name="maxpool_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="maxpool")(x)
    for stage, filters in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            x = _basic_block(x, filters, stride, f"layer{stage}_{block}")
    x = layers.GlobalAveragePooling2D(name="avgpool")(x)
    return keras.Model(inputs, x, name="resnet18_backbone")


def resnet18(input_shape=(96, 96, 1), num_classes=7, weights=None, freeze=False):
    """Return ResNet18 (Keras model ``"resnet18"``): torchvision's layout, or KerasHub's with ImageNet weights.

    Keras Applications has no ResNet18, so with ``weights=None`` (the default) it
    is written here exactly as torchvision builds it: conv 7x7/2 64 (no bias) ->
    BN -> ReLU -> max pool 3x3/2 -> four stages of two ``BasicBlock``s (64, 128,
    256, 512 filters; the first block of stages 2-4 halves the map and projects
    its shortcut with a 1x1 conv + BN) -> global average pool -> FC
    ``num_classes``. Layer names follow torchvision's (``layer2_0_downsample_0``
    for ``layer2.0.downsample.0``), padding is symmetric as in PyTorch and batch
    norm uses PyTorch's epsilon and momentum. Parameters (7 classes, any input
    size): 11,189,703 total, **11,180,103 trainable** (torchvision's count with a
    7-way FC, Qutub & Atay's 11,180,103 in Table 10), 9,600 non-trainable
    (batch-norm statistics of 4,800 channels). ``freeze=True`` leaves only the FC
    (3,591) trainable.

    ``weights="imagenet"``: the backbone is KerasHub's ImageNet ResNet18
    (:data:`RESNET18_IMAGENET_PRESET`, the same architecture and counts, KerasHub's
    layer names) -> global average pooling -> FC. It needs the optional extra
    ``pip install "ferkit[resnet18]"`` and a download once; without either it
    raises :class:`WeightsUnavailableError` saying what to do. The default stays
    ``None`` because of that extra.

    Input: float images in [0, 1], grayscale (repeated to 3 channels) or RGB,
    normalised inside the model with ImageNet's mean and std
    (:class:`ImageNetPreprocessing`, ``"torch"``). Lesson 07_transfer_learning.
    """
    _check_weights(weights)
    input_shape, num_classes = _check_input_shape(input_shape), _check_num_classes(num_classes)
    inputs, x = _rgb_input(input_shape)
    rgb_shape = (*input_shape[:2], 3)
    x = ImageNetPreprocessing("torch", name="imagenet_preprocessing")(x)
    if weights == "imagenet":
        backbone = _kerashub_resnet18_backbone(rgb_shape)
        x = layers.GlobalAveragePooling2D(name="head_global_pool")(_features(backbone, x, True))
    else:
        backbone = _resnet18_backbone(rgb_shape)
        x = backbone(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="fc")(x)
    return _transfer_model(inputs, backbone, outputs, freeze, "resnet18")


# A source network's convolutional base on a new dataset -------------------------


def _resized(x, size):
    """``x`` resized to ``size`` inside the model, antialiased without leaving XLA.

    A reduction by a whole factor or more goes through a bilinear resize to a multiple
    of ``size`` and an average pool (a box filter: what an antialiased resize does);
    TensorFlow's own antialiased resize has no XLA kernel, which would keep the whole
    model off XLA on a GPU.
    """
    height, width = x.shape[1:3]
    if (height, width) == tuple(size):
        return x
    factor = min(height // size[0], width // size[1])
    if factor >= 2:
        x = layers.Resizing(factor * size[0], factor * size[1], interpolation="bilinear", name="resize")(x)
        return layers.AveragePooling2D(factor, name="resize_average")(x)
    return layers.Resizing(size[0], size[1], interpolation="bilinear", name="resize")(x)


def _convolutional_base_end(source):
    """The name of the last layer before ``source``'s first flatten or global pooling layer."""
    heads = (layers.Flatten, layers.GlobalAveragePooling2D, layers.GlobalMaxPooling2D)
    previous = None
    for layer in source.layers:
        if isinstance(layer, heads):
            if previous is None:
                break
            return previous
        previous = layer.name
    raise ValueError(
        f"source: model {source.name!r} has no flatten or global pooling layer after its convolutional "
        "base; pass last_layer= to say where the base ends."
    )


def transfer_from(source, input_shape=(100, 100, 3), num_classes=7, weights="source", freeze=False,
                  last_layer=None, dropout_rate=0.5, name=None):
    """Return a new model for ``input_shape`` built on ``source``'s convolutional base.

    The transfer of lesson 07 without ImageNet: ``source`` is a trained Keras model
    (e.g. :func:`ferkit.pretrained.load`, trained on FER2013's 48x48 grey faces) and
    the new model is for another dataset (e.g. RAF-DB's 100x100 colour faces). Layers,
    in order: the input (``input_shape``), the adaptation to what ``source`` takes
    (colour to grey, layer ``colour_to_grey``, with :data:`ferkit.pipeline.GRAY_WEIGHTS`;
    or grey repeated to colour, ``gray_to_rgb``; then a resize to the source's input
    size, ``resize``), the base (a copy of ``source`` up to ``last_layer``, a nested
    model named ``"<source>_base"``; default ``last_layer``: the layer before the
    source's first flatten or global pooling layer), and a new head: flatten
    (``head_flatten``), dropout ``dropout_rate`` (``head_dropout``) and a softmax over
    ``num_classes`` (``predictions``). The source model itself is never changed.

    ``weights="source"`` copies the base's weights from ``source``; the base then runs
    with ``training=False`` (its batch norm keeps the source's statistics even once
    unfrozen, as Keras advises). ``weights=None`` builds the same network with random
    weights, the from-scratch baseline. ``freeze=True`` makes the base non-trainable
    (feature extraction); :func:`unfreeze` then opens named blocks (fine-tuning).
    Default name: ``"<source>_transfer"`` (``"<source>_scratch"`` with ``weights=None``).
    Lesson 07_transfer_learning.
    """
    if not isinstance(source, keras.Model) or len(source.inputs) != 1 or len(source.input.shape) != 4:
        raise ValueError(f"source: expected a Keras model with one image input, found {type(source).__name__}")
    _check_weights(weights, pretrained=("source",))
    input_shape, num_classes = _check_input_shape(input_shape), _check_num_classes(num_classes)
    if not 0.0 <= float(dropout_rate) < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate!r}.")
    last_layer = last_layer or _convolutional_base_end(source)
    try:
        end = source.get_layer(last_layer)
    except ValueError as error:
        raise ValueError(f"last_layer: model {source.name!r} has no layer {last_layer!r}") from error
    source_height, source_width, source_channels = source.input.shape[1:]
    if input_shape[-1] not in (1, 3) or source_channels not in (1, 3):
        raise ValueError(f"input_shape and the source's input must have 1 or 3 channels, got {input_shape!r} "
                         f"and {tuple(source.input.shape[1:])}.")
    base = keras.Model(source.inputs, end.output, name=f"{source.name}_base")
    backbone = keras.models.clone_model(base)  # new layers, fresh weights: the source stays untouched
    if weights == "source":
        backbone.set_weights(base.get_weights())

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if input_shape[-1] == 3 and source_channels == 1:
        from ferkit.pipeline import ToModelInput

        x = ToModelInput(None, 1, name="colour_to_grey")(x)
    elif input_shape[-1] == 1 and source_channels == 3:
        x = layers.Concatenate(axis=-1, name="gray_to_rgb")([x, x, x])
    x = _resized(x, (source_height, source_width))
    x = layers.Flatten(name="head_flatten")(_features(backbone, x, weights == "source"))
    x = layers.Dropout(dropout_rate, name="head_dropout")(x)
    outputs = _output_layer(x, num_classes)
    name = name or f"{source.name}_{'transfer' if weights == 'source' else 'scratch'}"
    return _transfer_model(inputs, backbone, outputs, freeze, name)


def backbone_of(model):
    """The backbone of a transfer model: its one nested ``keras.Model`` layer.

    That is the layer :func:`freeze_backbone` and :func:`unfreeze` act on (``"vgg16"``,
    ``"resnet18_backbone"``, ``"reference_cnn_base"``...). A ``ValueError`` says so when
    ``model`` has none or several. Lesson 07_transfer_learning.
    """
    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(nested) != 1:
        raise ValueError(
            f"model: expected one nested backbone model in {model.name!r}, found "
            f"{[layer.name for layer in nested] or 'none'} (build it with a transfer builder of ferkit.models)"
        )
    return nested[0]


def _block_name(layer_name):
    """``"block4_conv2"`` -> ``"block4"``, ``"conv5_block3_out"`` -> ``"conv5"``, ``"top_bn"`` -> ``"top"``."""
    return layer_name.split("_")[0]


def blocks(model):
    """The names of the backbone's blocks that hold weights, input to output.

    A block is the part of a layer name before its first ``_``: ``block1`` ... ``block5``
    in VGG, ``conv1`` ... ``conv5`` in ResNet50, ``layer1`` ... ``layer4`` in ResNet18,
    ``stem``, ``block1a`` ... ``block7a`` and ``top`` in EfficientNet-B0. Lesson
    07_transfer_learning.
    """
    return list(dict.fromkeys(_block_name(layer.name) for layer in backbone_of(model).layers if layer.weights))


def freeze_backbone(model):
    """Make ``model``'s whole backbone non-trainable (feature extraction); return the backbone.

    Keras 3 then also runs its batch-norm layers in inference mode while the head trains.
    Recompile the model afterwards (:func:`ferkit.train.fit` compiles an uncompiled model).
    Lesson 07_transfer_learning.
    """
    backbone = backbone_of(model)
    backbone.trainable = False
    return backbone


def unfreeze(model, names, batch_norm=False):
    """Make trainable the backbone layers in ``names`` (block names, see :func:`blocks`, or layer names).

    Every other backbone layer becomes (or stays) frozen, so this is the fine-tuning step
    after feature extraction: e.g. ``unfreeze(model, blocks(model)[-1:])`` opens the top
    block only. Batch-norm layers stay frozen unless ``batch_norm=True`` (Keras's
    fine-tuning advice; a pretrained backbone also runs with ``training=False``, so their
    statistics never move). Returns the names of the layers now trainable. A name that
    matches no layer raises a ``ValueError`` listing the blocks. Recompile the model with
    a low learning rate before training on. Lesson 07_transfer_learning.
    """
    backbone = backbone_of(model)
    names = [names] if isinstance(names, str) else list(names)
    known_blocks = blocks(model)
    layer_names = {layer.name for layer in backbone.layers}
    unknown = [name for name in names if name not in known_blocks and name not in layer_names]
    if unknown or not names:
        raise ValueError(f"names: expected block names of {backbone.name!r} from {known_blocks} or layer "
                         f"names, found {unknown or names!r}")
    backbone.trainable = True
    opened = []
    for layer in backbone.layers:
        named = layer.name in names or _block_name(layer.name) in names
        layer.trainable = named and (batch_norm or not isinstance(layer, layers.BatchNormalization))
        if layer.trainable and layer.weights:
            opened.append(layer.name)
    return opened


# ---------------------------------------------------------------------------
# Registry and the comparison table
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# The course's reference model (ours, not a paper's)
# ---------------------------------------------------------------------------


def reference_cnn(input_shape=(48, 48, 1), num_classes=7, widths=(32, 64, 128, 256), dropout_rate=0.4):
    """The course's reference FER2013 model: a compact VGG-style CNN with batch norm.

    Not a paper's network: the model shipped by :mod:`ferkit.pretrained` and
    trained by the ``reference`` experiment of :mod:`ferkit.experiments`. Four
    blocks of 3x3 conv -> batch norm -> ReLU (one conv in the first block, two in
    the others; ``widths`` channels) each followed by 2x2 max pooling, then
    flatten, dropout, dense 256 -> batch norm -> ReLU, dropout and the softmax.
    Convolutions feeding batch norm carry no bias. Input: float images in [0, 1].
    Lesson 09_deployment.
    """
    input_shape = _check_input_shape(input_shape)
    num_classes = _check_num_classes(num_classes)
    inputs = keras.Input(input_shape, name="image")
    x = inputs
    for block, width in enumerate(widths, start=1):
        for repeat in range(1 if block == 1 else 2):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{block}_conv{repeat + 1}")(x)
            x = layers.BatchNormalization(name=f"block{block}_bn{repeat + 1}")(x)
            x = layers.Activation("relu", name=f"block{block}_relu{repeat + 1}")(x)
        x = layers.MaxPooling2D(name=f"block{block}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout_rate, name="dropout1")(x)
    x = layers.Dense(256, use_bias=False, name="dense")(x)
    x = layers.BatchNormalization(name="dense_bn")(x)
    x = layers.Activation("relu", name="dense_relu")(x)
    x = layers.Dropout(dropout_rate, name="dropout2")(x)
    return keras.Model(inputs, _output_layer(x, num_classes), name="reference_cnn")


#: Every builder by its model's name, e.g. ``BUILDERS["bedi_cnn"]()``.
BUILDERS = {
    "lenet5": lenet5,
    "mondal_shallow": mondal_shallow,
    "mondal_dropout": mondal_dropout,
    "mondal_deep": mondal_deep,
    "bedi_cnn": bedi_cnn,
    "fer_kd": fer_kd,
    "vgg16": vgg16,
    "vgg19": vgg19,
    "resnet50": resnet50,
    "resnet18": resnet18,
    "efficientnet_b0": efficientnet_b0,
    "reference_cnn": reference_cnn,
}


def summary_table(models) -> pd.DataFrame:
    """Return our parameter counts beside the papers' as a DataFrame, one row per model.

    ``models`` is a list of Keras models, or a dict ``{label: model}`` (the label
    then fills the ``name`` column). Columns: ``name``, ``total``, ``trainable``,
    ``non_trainable`` (Keras's counts, see :func:`count_parameters`), ``paper``
    (the paper's figure for a builder of the model's ``name``, from
    :func:`ferkit.papers.parameter_count`, or None), ``paper_source`` (paper and
    table, e.g. ``"Mondal, Figure 6"``), ``paper_counts`` (which of our columns the
    paper's figure counts: ``"total"`` for Keras papers, ``"trainable"`` for
    PyTorch ones) and ``matches`` (True/False, None where no paper gives a figure).
    Lessons 03_shallow_dropout_deep and 07_transfer_learning.
    """
    stated = papers.parameter_counts()
    items = models.items() if isinstance(models, dict) else ((model.name, model) for model in models)
    rows = []
    for label, model in items:
        counts = count_parameters(model)
        figure = stated.get(model.name)
        rows.append(
            {
                "name": label,
                **counts,
                "paper": None if figure is None else figure.value,
                "paper_source": None if figure is None else figure.source,
                "paper_counts": None if figure is None else figure.keras_count,
                "matches": None if figure is None else counts[figure.keras_count] == figure.value,
            }
        )
    columns = ["name", "total", "trainable", "non_trainable", "paper", "paper_source", "paper_counts", "matches"]
    table = pd.DataFrame(rows, columns=columns)
    table["paper"] = table["paper"].astype("Int64")
    return table
