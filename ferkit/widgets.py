"""Interactive explorers for JupyterLab and Colab, built with ipywidgets.

Each explorer is a thin wrapper: its controls call one plain function that
returns a matplotlib Figure, and the figure is drawn (as a PNG) into an
``ipywidgets.Output``. The plain functions work without widgets, so the
static book shows their figure where no kernel runs a widget:

* :func:`convolution_explainer` -> :func:`ferkit.plots.convolution_figure`
* :func:`dataset_browser` -> :func:`ferkit.plots.class_examples`
* :func:`prediction_explorer` -> :func:`ferkit.plots.prediction_figure`
* :func:`augmentation_playground` -> :func:`augmentation_layers` and
  :func:`ferkit.plots.augmentation_examples`

Every explorer returns its top-level ``ipywidgets.VBox``; make it the last
expression of a cell (or ``display`` it).
"""

from __future__ import annotations

import base64
import io

import ipywidgets as widgets
import numpy as np

from ferkit.conv import KERNELS
from ferkit.data import EMOTIONS
from ferkit.plots import augmentation_examples, class_examples, convolution_figure, prediction_figure

__all__ = [
    "convolution_explainer",
    "dataset_browser",
    "prediction_explorer",
    "augmentation_layers",
    "augmentation_playground",
    # the plain functions, re-exported from ferkit.plots for convenience
    "convolution_figure",
    "class_examples",
    "prediction_figure",
    "augmentation_examples",
]

_DPI = 90
_SLIDER = {"continuous_update": False, "style": {"description_width": "initial"}}


def _draw(output: widgets.Output, make_figure) -> None:
    """Replace what ``output`` shows by the Figure ``make_figure()`` returns.

    The figure is rendered to PNG here and set as the Output's content
    directly, which works in JupyterLab, Colab and outside a kernel (tests)
    alike; a ``ValueError`` (e.g. a kernel larger than the padded image) is
    shown as text instead of a figure.
    """
    try:
        figure = make_figure()
    except ValueError as error:
        output.outputs = ({"output_type": "stream", "name": "stderr", "text": f"{error}\n"},)
        return
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=_DPI)
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    text = figure.texts[0].get_text() if figure.texts else "figure"
    output.outputs = ({
        "output_type": "display_data",
        "data": {"image/png": png, "text/plain": f"<Figure: {text}>"},
        "metadata": {},
    },)


def _face_slider(images, value: int = 0, description: str = "face") -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=0, max=len(images) - 1, description=description, **_SLIDER)


def _check_images(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images: expected a non-empty array of shape (N, H, W, C), found shape {images.shape}")
    return images


# ---------------------------------------------------------------------------
# Convolution explainer (lesson 01_convolution)
# ---------------------------------------------------------------------------

def convolution_explainer(images, index: int = 0, kernel: str = "edge") -> widgets.VBox:
    """Return an explorer of one convolution step on a face.

    Controls: the face (index into ``images``), a preset 3x3 kernel
    (:data:`ferkit.conv.KERNELS`) or its nine editable values, the stride
    (1-3), the padding (valid/same) and the pooling (none, max 2x2, average
    2x2). Shows :func:`ferkit.plots.convolution_figure`: input, kernel,
    activation map, pooled map. Introduced in lesson 01_convolution.
    """
    images = _check_images(images)
    if kernel not in KERNELS:
        raise ValueError(f"kernel: expected one of {list(KERNELS)}, found {kernel!r}")
    face = _face_slider(images, index)
    preset = widgets.Dropdown(options=[*KERNELS, "custom"], value=kernel, description="kernel")
    cells = [widgets.FloatText(value=float(value), layout=widgets.Layout(width="70px"))
             for value in KERNELS[kernel].ravel()]
    grid = widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns="repeat(3, 75px)"))
    stride = widgets.IntSlider(value=1, min=1, max=3, description="stride", **_SLIDER)
    padding = widgets.ToggleButtons(options=["valid", "same"], value="valid", description="padding")
    pooling = widgets.Dropdown(options=[("none", "none"), ("max 2x2", "max"), ("average 2x2", "average")],
                               value="max", description="pooling")
    output = widgets.Output()
    syncing = {"cells": False}  # True while a preset writes its nine values

    def current_kernel():
        return np.array([cell.value for cell in cells], dtype=np.float32).reshape(3, 3)

    def redraw(_change=None):
        if syncing["cells"]:
            return
        _draw(output, lambda: convolution_figure(images[face.value], current_kernel(),
                                                 stride.value, padding.value, pooling.value))

    def on_preset(change):
        if change["new"] == "custom":
            return
        syncing["cells"] = True
        for cell, value in zip(cells, KERNELS[change["new"]].ravel()):
            cell.value = float(value)
        syncing["cells"] = False
        redraw()

    def on_cell(_change):
        if syncing["cells"]:
            return
        if preset.value != "custom" and not np.array_equal(current_kernel(), KERNELS[preset.value]):
            preset.value = "custom"  # an edited kernel is no longer the preset
        redraw()

    preset.observe(on_preset, names="value")
    for cell in cells:
        cell.observe(on_cell, names="value")
    for control in (face, stride, padding, pooling):
        control.observe(redraw, names="value")
    redraw()
    controls = widgets.HBox([widgets.VBox([face, preset, stride, padding, pooling]),
                             widgets.VBox([widgets.Label("kernel values"), grid])])
    return widgets.VBox([controls, output])


# ---------------------------------------------------------------------------
# Dataset browser (lesson 02_fer2013)
# ---------------------------------------------------------------------------

def dataset_browser(images, labels, count: int = 16, columns: int = 8) -> widgets.VBox:
    """Return a browser of the faces of one emotion at a time.

    Controls: the emotion (with its number of faces) and the position of the
    first face shown; shows :func:`ferkit.plots.class_examples`, ``count``
    faces per view. Introduced in lesson 02_fer2013.
    """
    images = _check_images(images)
    labels = np.asarray(labels)
    counts = np.bincount(labels.astype(np.int64), minlength=len(EMOTIONS))
    emotion = widgets.Dropdown(options=[(f"{name} ({counts[i]:,})", i) for i, name in enumerate(EMOTIONS)],
                               value=int(counts.argmax()), description="emotion")
    start = widgets.IntSlider(value=0, min=0, description="first face", **_SLIDER)
    output = widgets.Output()

    def set_range(_change=None):
        start.max = max(int(counts[emotion.value]) - count, 0)
        start.step = max(1, min(count, start.max))

    def redraw(_change=None):
        _draw(output, lambda: class_examples(images, labels, emotion.value, start.value, count, columns))

    def on_emotion(change):
        set_range()
        if start.value != 0:
            start.value = 0  # triggers redraw
        else:
            redraw()

    set_range()
    emotion.observe(on_emotion, names="value")
    start.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([emotion, start]), output])


# ---------------------------------------------------------------------------
# Prediction explorer (lesson 03_shallow_dropout_deep)
# ---------------------------------------------------------------------------

def prediction_explorer(model, images, labels=None) -> widgets.VBox:
    """Return an explorer of a model's probabilities per emotion for a chosen face.

    Controls: the face (index into ``images``); shows
    :func:`ferkit.plots.prediction_figure`, with the true class when
    ``labels`` is given. Introduced in lesson 03_shallow_dropout_deep.
    """
    images = _check_images(images)
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"labels: expected {len(images)} labels (one per image), found {len(labels)}")
    face = _face_slider(images)
    output = widgets.Output()

    def redraw(_change=None):
        label = None if labels is None else int(labels[face.value])
        _draw(output, lambda: prediction_figure(model, images[face.value], label))

    face.observe(redraw, names="value")
    redraw()
    return widgets.VBox([face, output])


# ---------------------------------------------------------------------------
# Augmentation playground (lesson 06_augmentation)
# ---------------------------------------------------------------------------

def augmentation_layers(rotation: float = 15.0, zoom: float = 0.1, translation: float = 0.1,
                        flip: bool = True, erasing: float = 0.0, seed: int = 0):
    """Return a ``keras.Sequential`` of random augmentation layers built from plain settings.

    ``rotation`` in degrees (up to +-rotation), ``zoom`` and ``translation``
    as fractions of the image size (up to +-), ``flip`` a random horizontal
    mirror, ``erasing`` the probability of :class:`ferkit.augment.RandomErasing`.
    The layers are the ones training uses (Keras's ``RandomFlip``,
    :class:`ferkit.augment.RandomRotation`, :class:`~ferkit.augment.RandomZoom`,
    :class:`~ferkit.augment.RandomTranslation`), so the result can go to
    ``ferkit.train.fit(augment=...)`` as it is. A setting of 0 leaves its layer
    out; every layer is seeded from ``seed``. Plain function of
    :func:`augmentation_playground`; introduced in lesson 06_augmentation.
    """
    import keras

    from ferkit import augment

    for name, value, high in (("rotation", rotation, 180.0), ("zoom", zoom, 0.99),
                              ("translation", translation, 1.0), ("erasing", erasing, 1.0)):
        if not 0.0 <= value <= high:
            raise ValueError(f"{name}: expected a value in [0, {high:g}], found {value!r}")
    layers = []
    if flip:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seed))
    if rotation:
        layers.append(augment.RandomRotation(rotation, seed=seed + 1))
    if zoom:
        layers.append(augment.RandomZoom(zoom, seed=seed + 2))
    if translation:
        layers.append(augment.RandomTranslation(translation, seed=seed + 3))
    if erasing:
        layers.append(augment.RandomErasing(probability=erasing, seed=seed + 4))
    if not layers:
        layers.append(keras.layers.Identity())
    return keras.Sequential(layers, name="augmentation")


def augmentation_playground(images, samples: int = 4, variants: int = 5, seed: int = 0) -> widgets.VBox:
    """Return a playground that shows random augmentations of a few faces.

    Sliders for rotation, zoom, translation and the erasing probability, a
    flip checkbox and a seed; each change builds :func:`augmentation_layers`
    and shows :func:`ferkit.plots.augmentation_examples` (originals in the
    first column). Introduced in lesson 06_augmentation.
    """
    images = _check_images(images)
    rotation = widgets.FloatSlider(value=15.0, min=0.0, max=90.0, step=5.0, description="rotation (deg)", **_SLIDER)
    zoom = widgets.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.05, description="zoom", **_SLIDER)
    translation = widgets.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.05, description="translation", **_SLIDER)
    flip = widgets.Checkbox(value=True, description="horizontal flip")
    erasing = widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.1, description="erasing p", **_SLIDER)
    seed_box = widgets.IntText(value=seed, description="seed", layout=widgets.Layout(width="160px"))
    output = widgets.Output()
    controls = [rotation, zoom, translation, flip, erasing, seed_box]

    def redraw(_change=None):
        def make_figure():
            augment = augmentation_layers(rotation.value, zoom.value, translation.value, flip.value,
                                          erasing.value, seed=seed_box.value)
            return augmentation_examples(images, augment, samples=samples, variants=variants, seed=seed_box.value)

        _draw(output, make_figure)

    for control in controls:
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([widgets.VBox(controls[:3]), widgets.VBox(controls[3:])]), output])
