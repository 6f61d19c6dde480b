"""Figures of the course: every function returns a ``matplotlib.figure.Figure``.

The figures are built with matplotlib's object API (``Figure`` and its axes,
never ``pyplot``'s global state), so they work headless, never pile up as open
pyplot figures, and are shown exactly once in a notebook: make the figure the
last expression of a cell, or call ``display(figure)``. Save one with
``figure.savefig("name.png")``.

Images may be ``uint8`` (0-255) or float; ``(H, W, 1)`` images are shown in
grey. Class names come from :data:`ferkit.data.EMOTIONS`. This module only
draws: metrics come from scikit-learn or :mod:`ferkit.evaluate`.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from ferkit import introspect
from ferkit.conv import convolve2d, pool2d
from ferkit.data import EMOTIONS
from ferkit.pipeline import to_float

__all__ = [
    "show_images",
    "class_distribution",
    "class_examples",
    "training_curves",
    "confusion_matrices",
    "per_class_scores",
    "comparison_bars",
    "augmentation_examples",
    "filters",
    "feature_maps",
    "gradcam",
    "misclassified",
    "prediction_figure",
    "convolution_figure",
]


def _enable_notebook_display() -> None:
    """Let IPython show a returned Figure as a PNG, as the inline backend does.

    Jupyter's inline backend registers this only once pyplot has drawn
    something; figures made without pyplot would otherwise print as text.
    An existing registration (inline backend, user's choice) is kept.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    png_formatter = shell.display_formatter.formatters["image/png"]
    try:
        png_formatter.lookup_by_type(Figure)
    except KeyError:
        from IPython.core.pylabtools import print_figure

        png_formatter.for_type(Figure, lambda figure: print_figure(figure, "png", bbox_inches="tight"))


_enable_notebook_display()

_WRONG_COLOUR = "tab:red"
_RIGHT_COLOUR = "tab:green"
_MAX_PANELS = 256


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------

def _display_image(image) -> tuple[np.ndarray, dict]:
    """Return ``(array, imshow keyword arguments)`` that show ``image`` as it is.

    (H, W) and (H, W, 1) images are shown in grey, (H, W, 3) in colour.
    ``uint8`` images keep their 0-255 scale; float images in [0, 1] keep
    theirs; other floats (normalised images) are stretched to their own range.
    """
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise ValueError(
            f"image: expected shape (H, W), (H, W, 1) or (H, W, 3), found {image.shape}"
        )
    if image.dtype == np.uint8:
        low, high = 0.0, 255.0
    else:
        image = image.astype(np.float32)
        low, high = float(image.min()), float(image.max())
        if low >= -1e-3 and high <= 1.0 + 1e-3:  # [0, 1] up to rounding
            image = np.clip(image, 0.0, 1.0)
            low, high = 0.0, 1.0
    if image.ndim == 3:  # colour: imshow has no vmin/vmax for RGB, so rescale here
        if image.dtype != np.uint8:
            image = np.clip((image - low) / max(high - low, 1e-12), 0.0, 1.0)
        return image, {}
    return image, {"cmap": "gray", "vmin": low, "vmax": high}


def _show_image(ax, image, title: str | None = None, colour: str | None = None) -> None:
    """Draw one image on ``ax`` without ticks, with an optional (coloured) title."""
    array, style = _display_image(image)
    ax.imshow(array, interpolation="nearest", **style)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title, fontsize=9, **({"color": colour} if colour else {}))


def _check_images(images, name: str = "images") -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"{name}: expected an array of shape (N, H, W, C), found shape {images.shape}")
    return images


def _check_class_ids(ids, name: str) -> np.ndarray:
    """Return ``ids`` as int64 after checking they are ids into EMOTIONS."""
    ids = np.asarray(ids)
    if ids.ndim == 2:  # probabilities or one-hot rows
        ids = ids.argmax(axis=1)
    ids = ids.astype(np.int64).reshape(-1)
    if ids.size and (ids.min() < 0 or ids.max() >= len(EMOTIONS)):
        raise ValueError(
            f"{name}: expected class ids 0-{len(EMOTIONS) - 1}, found values {ids.min()}..{ids.max()}"
        )
    return ids


def _image_grid(images, titles, colours, columns: int, title: str, suptitle_colour=None) -> Figure:
    """Return a Figure with one small panel per image, ``columns`` per row."""
    count = len(images)
    if count == 0:
        raise ValueError("images: expected at least one image, found none")
    if count > _MAX_PANELS:
        raise ValueError(
            f"images: expected at most {_MAX_PANELS} images in one figure, found {count}; pass a slice"
        )
    if columns < 1:
        raise ValueError(f"columns: expected a positive integer, found {columns!r}")
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(1.5 * columns, 1.7 * rows + 0.5), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, image, panel_title, colour in zip(axes, images, titles, colours):
        _show_image(ax, image, panel_title, colour)
    for ax in axes[count:]:
        ax.set_axis_off()
    figure.suptitle(title, color=suptitle_colour)
    return figure


def _message_figure(message: str, title: str) -> Figure:
    """A small figure that says ``message`` (when there is nothing to draw)."""
    figure = Figure(figsize=(6, 2), layout="constrained")
    ax = figure.subplots()
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center")
    figure.suptitle(title)
    return figure


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def show_images(images, labels=None, predictions=None, columns: int = 8, title: str = "Faces") -> Figure:
    """Return a grid of faces, each titled with its emotion.

    ``labels`` and ``predictions`` are class ids (or probability rows, whose
    argmax is taken). With predictions, correct faces are titled in green with
    the predicted class and wrong ones in red, ``"pred X / true Y"``. At most
    256 images: pass a slice of a dataset.
    Introduced in lesson 02_fer2013; predictions in 03_shallow_dropout_deep.
    """
    images = _check_images(images)
    count = len(images)
    titles = [None] * count
    colours = [None] * count
    if labels is not None:
        labels = _check_class_ids(labels, "labels")
        if len(labels) != count:
            raise ValueError(f"labels: expected {count} labels (one per image), found {len(labels)}")
        titles = [EMOTIONS[label] for label in labels]
    if predictions is not None:
        predictions = _check_class_ids(predictions, "predictions")
        if len(predictions) != count:
            raise ValueError(f"predictions: expected {count} (one per image), found {len(predictions)}")
        if labels is None:
            titles = [f"pred {EMOTIONS[p]}" for p in predictions]
        else:
            titles, colours = [], []
            for predicted, true in zip(predictions, labels):
                if predicted == true:
                    titles.append(EMOTIONS[true])
                    colours.append(_RIGHT_COLOUR)
                else:
                    titles.append(f"pred {EMOTIONS[predicted]}\ntrue {EMOTIONS[true]}")
                    colours.append(_WRONG_COLOUR)
            wrong = int(np.sum(predictions != labels))
            title = f"{title} ({wrong} of {count} wrong, in red)"
    return _image_grid(images, titles, colours, columns, title)


def class_distribution(labels, title: str = "Images per class", split_name: str | None = None) -> Figure:
    """Return a bar chart of the number of images per emotion, counts written on the bars.

    ``labels`` is an array of class ids, or a dict ``{split name: labels}``
    that draws the splits side by side (e.g. train, public_test,
    private_test). Introduced in lesson 02_fer2013 (class imbalance).
    """
    from ferkit.data import class_counts

    if isinstance(labels, dict):
        splits = {str(name): split_labels for name, split_labels in labels.items()}
        if not splits:
            raise ValueError("labels: expected a non-empty dict {split name: labels}, found {}")
    else:
        splits = {split_name or "images": labels}
        if split_name:
            title = f"{title} ({split_name})"
    counts = {name: class_counts(_check_class_ids(split_labels, f"labels[{name!r}]"))
              for name, split_labels in splits.items()}
    figure = Figure(figsize=(8.0 + 1.5 * (len(counts) - 1), 4.2), layout="constrained")
    ax = figure.subplots()
    positions = np.arange(len(EMOTIONS))
    width = 0.8 / len(counts)
    for offset, (name, series) in enumerate(counts.items()):
        bars = ax.bar(positions + (offset - (len(counts) - 1) / 2) * width, series.to_numpy(), width,
                      label=f"{name} ({series.sum():,})")
        ax.bar_label(bars, fontsize=8, padding=2)
    ax.set_xticks(positions, EMOTIONS)
    ax.set_xlabel("emotion")
    ax.set_ylabel("images")
    ax.margins(y=0.12)
    if len(counts) > 1 or split_name:
        ax.legend()
    ax.set_title(title)
    return figure


def class_examples(images, labels, emotion, start: int = 0, count: int = 16, columns: int = 8,
                   title: str | None = None) -> Figure:
    """Return a grid of the faces of one emotion, from its ``start``-th face on.

    ``emotion`` is a class id or a name from :data:`~ferkit.data.EMOTIONS`;
    each panel is titled with the face's index in ``images``. Plain function
    of :func:`ferkit.widgets.dataset_browser`; introduced in lesson 02_fer2013.
    """
    images = _check_images(images)
    labels = _check_class_ids(labels, "labels")
    if len(labels) != len(images):
        raise ValueError(f"labels: expected {len(images)} labels (one per image), found {len(labels)}")
    if isinstance(emotion, str):
        if emotion not in EMOTIONS:
            raise ValueError(f"emotion: expected a name from {EMOTIONS} or an id 0-6, found {emotion!r}")
        emotion = EMOTIONS.index(emotion)
    emotion = int(_check_class_ids([emotion], "emotion")[0])
    indices = np.flatnonzero(labels == emotion)
    heading = title or f"{EMOTIONS[emotion]}: faces {start + 1}-{min(start + count, len(indices))} of {len(indices)}"
    chosen = indices[start:start + count]
    if chosen.size == 0:
        return _message_figure(f"no {EMOTIONS[emotion]} faces from position {start} on "
                               f"({len(indices)} in all)", heading)
    return _image_grid(images[chosen], [f"#{index}" for index in chosen], [None] * len(chosen),
                       columns, heading)


# ---------------------------------------------------------------------------
# Training and evaluation
# ---------------------------------------------------------------------------

def _history_dict(history) -> dict[str, list]:
    metrics = getattr(history, "history", history)
    if not isinstance(metrics, dict) or not metrics:
        raise ValueError(
            "history: expected a keras History or its .history dict of metric lists, "
            f"found {type(history).__name__}"
        )
    return {name: list(values) for name, values in metrics.items()}


def _accuracy_key(metrics: dict) -> str | None:
    for name in ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy"):
        if name in metrics:
            return name
    return next((name for name in metrics if name.endswith("accuracy") and not name.startswith("val_")), None)


def training_curves(history, title: str = "Training curves") -> Figure:
    """Return accuracy and loss per epoch, training vs validation, in two panels.

    ``history`` is the keras ``History`` returned by ``fit`` or its
    ``.history`` dict. The best validation epoch (lowest ``val_loss``, the
    checkpoint :func:`ferkit.train.fit` keeps) is marked on both panels. Like
    Mondal's learning-curve figures (Figures 3-5). Introduced
    in lesson 03_shallow_dropout_deep.
    """
    metrics = _history_dict(history)
    if "loss" not in metrics:
        raise ValueError(f"history: expected a 'loss' entry, found keys {sorted(metrics)}")
    accuracy = _accuracy_key(metrics)
    panels = [(accuracy, "accuracy")] if accuracy else []
    panels.append(("loss", "loss"))
    best_epoch = None
    if metrics.get("val_loss"):
        best_epoch = int(np.nanargmin(metrics["val_loss"])) + 1
    elif accuracy and metrics.get(f"val_{accuracy}"):
        best_epoch = int(np.nanargmax(metrics[f"val_{accuracy}"])) + 1

    figure = Figure(figsize=(5.2 * len(panels), 4.0), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False).ravel()
    for ax, (key, label) in zip(axes, panels):
        epochs = np.arange(1, len(metrics[key]) + 1)
        ax.plot(epochs, metrics[key], marker=".", label="training")
        if metrics.get(f"val_{key}"):
            validation = metrics[f"val_{key}"]
            ax.plot(np.arange(1, len(validation) + 1), validation, marker=".", label="validation")
            if best_epoch is not None:
                best_value = validation[best_epoch - 1]
                ax.axvline(best_epoch, color="grey", linestyle="--", linewidth=1,
                           label=f"best epoch ({best_epoch})")
                ax.plot([best_epoch], [best_value], marker="*", markersize=12, color="tab:red", linestyle="none")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_title(f"{label.capitalize()}")
        ax.grid(alpha=0.3)
        ax.legend()
    figure.suptitle(title)
    return figure


def confusion_matrices(y_true, y_pred, title: str = "Confusion matrix") -> Figure:
    """Return two annotated confusion matrices: raw counts and rows normalised to 1.

    Rows are the true classes, columns the predicted ones; the normalised
    panel's diagonal is each class's recall. ``y_pred`` may be class ids or
    probability rows. The matrices are :func:`ferkit.evaluate.confusion_matrix`'s,
    over all seven classes, drawn like Qutub & Atay's Figures 6-10.
    Introduced in lesson 08_evaluation.
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    from ferkit.evaluate import confusion_matrix

    y_true = _check_class_ids(y_true, "y_true")
    y_pred = _check_class_ids(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_pred: expected {len(y_true)} predictions like y_true, found {len(y_pred)}")
    counts = confusion_matrix(y_true, y_pred).to_numpy()
    normalised = confusion_matrix(y_true, y_pred, normalize="true").to_numpy()

    figure = Figure(figsize=(13, 5.6), layout="constrained")
    raw_ax, normalised_ax = figure.subplots(1, 2)
    ConfusionMatrixDisplay(counts, display_labels=EMOTIONS).plot(
        ax=raw_ax, cmap="Blues", colorbar=False, values_format="d", xticks_rotation=45)
    ConfusionMatrixDisplay(normalised, display_labels=EMOTIONS).plot(
        ax=normalised_ax, cmap="Blues", colorbar=False, values_format=".2f", xticks_rotation=45)
    normalised_ax.images[0].set_clim(0.0, 1.0)
    raw_ax.set_title("Counts")
    normalised_ax.set_title("Normalised by true class (diagonal = recall)")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    figure.suptitle(f"{title} (accuracy {accuracy:.1%}, {counts.sum():,} images)")
    return figure


def per_class_scores(reports, metric: str = "F1-score", title: str = "Per-class scores") -> Figure:
    """Return one group of bars per emotion: ``metric`` of several classification reports side by side.

    ``reports`` is a dict ``{legend label: report}``, each report a DataFrame in the layout
    of :func:`ferkit.evaluate.classification_report` (and
    :func:`ferkit.papers.classification_report`): indexed by the names of
    :data:`~ferkit.data.EMOTIONS`, with a ``metric`` column (``"F1-score"``,
    ``"Precision"`` or ``"Recall"``). A class a report lacks, or leaves empty, gets no bar.
    Let each label name its source, dataset and split, e.g. a paper's table beside our run.
    Introduced in lesson 05_fer_kd.
    """
    if not isinstance(reports, dict) or not reports:
        raise ValueError(f"reports: expected a non-empty dict {{label: report}}, found {reports!r}")
    for label, report in reports.items():
        if metric not in getattr(report, "columns", ()):
            raise ValueError(f"reports[{label!r}]: expected a {metric!r} column, found "
                             f"{list(getattr(report, 'columns', []))}")
    figure = Figure(figsize=(9.0, 4.4), layout="constrained")
    ax = figure.subplots()
    positions = np.arange(len(EMOTIONS))
    width = 0.8 / len(reports)
    for offset, (label, report) in enumerate(reports.items()):
        values = report[metric].reindex(list(EMOTIONS)).to_numpy(dtype=float)
        ax.bar(positions + (offset - (len(reports) - 1) / 2) * width, values, width, label=str(label))
    ax.set_xticks(positions, EMOTIONS)
    ax.set_xlabel("emotion")
    ax.set_ylabel(metric)
    ax.set_ylim(0.0, 1.0)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    ax.set_title(title)
    return figure


def comparison_bars(table, metric: str = "accuracy", title: str = "The paper beside ours") -> Figure:
    """Return one horizontal bar per row of ``table``, grouped by model, each labelled with its split.

    ``table`` is a DataFrame (or a list of dicts) with the columns ``"model"``,
    ``"source"``, ``"split"`` and ``metric``, and optionally ``"dataset"``: e.g. the output
    of :func:`ferkit.evaluate.compare`. Each bar's label names its model, source, dataset
    and split, so that a paper's number and ours measured on different splits are never
    read as a like-for-like pair; the colour says the source, the value is written at the
    bar's end. Rows without a value (NaN) get no bar. Introduced in lesson
    03_shallow_dropout_deep.
    """
    import textwrap

    import pandas as pd
    from matplotlib.patches import Patch

    rows = table.copy() if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table))
    missing = [column for column in ("model", "source", "split", metric) if column not in rows.columns]
    if missing:
        raise ValueError(f"table: expected the columns model, source, split and {metric!r}, "
                         f"missing {missing} (found {list(rows.columns)})")
    rows[metric] = pd.to_numeric(rows[metric], errors="coerce")
    rows = rows[rows[metric].notna()]
    if rows.empty:
        raise ValueError(f"table: expected at least one row with a {metric!r} value, found none")
    models = list(dict.fromkeys(rows["model"]))
    rows = rows.assign(_order=rows["model"].map(models.index)).sort_values("_order", kind="stable")
    sources = list(dict.fromkeys(rows["source"]))
    colours = {source: f"C{index % 10}" for index, source in enumerate(sources)}
    positions, labels, position, previous = [], [], 0.0, None
    for _, row in rows.iterrows():
        if previous is not None and row["model"] != previous:
            position += 0.6  # a gap between models
        positions.append(position)
        where = f"{row['dataset']}, {row['split']}" if "dataset" in rows.columns else str(row["split"])
        labels.append(f"{row['model']}: {row['source']}\n" + "\n".join(textwrap.wrap(where, 48)))
        previous, position = row["model"], position + 1.0
    figure = Figure(figsize=(10.0, 1.0 + 0.62 * len(rows)), layout="constrained")
    ax = figure.subplots()
    bars = ax.barh(positions, rows[metric].to_numpy(), height=0.8,
                   color=[colours[source] for source in rows["source"]])
    ax.bar_label(bars, fmt="%.3f", padding=3, fontsize=8)
    ax.set_yticks(positions, labels, fontsize=8)
    ax.invert_yaxis()
    largest = float(rows[metric].max())
    ax.set_xlim(0.0, max(1.0, largest) * 1.1 if largest <= 1.0 else largest * 1.15)
    ax.set_xlabel(metric)
    ax.grid(axis="x", alpha=0.3)
    handles = [Patch(color=colour, label=source) for source, colour in colours.items()]
    figure.legend(handles=handles, fontsize=8, loc="outside lower center", ncol=2)
    ax.set_title(title)
    return figure


def misclassified(images, y_true, probabilities, count: int = 16, columns: int = 8,
                  title: str = "Most confident mistakes") -> Figure:
    """Return the worst errors: wrong predictions sorted by the confidence of the wrong class.

    ``probabilities`` is the model's (N, 7) output. Each face is titled with
    its true and predicted class and the predicted probability.
    Introduced in lesson 08_evaluation.
    """
    images = _check_images(images)
    y_true = _check_class_ids(y_true, "y_true")
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.shape != (len(images), len(EMOTIONS)):
        raise ValueError(
            f"probabilities: expected shape ({len(images)}, {len(EMOTIONS)}), found {probabilities.shape}"
        )
    if len(y_true) != len(images):
        raise ValueError(f"y_true: expected {len(images)} labels (one per image), found {len(y_true)}")
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y_true)
    if wrong.size == 0:
        return _message_figure(f"no misclassified images among {len(images)}", title)
    worst = wrong[np.argsort(-confidence[wrong], kind="stable")][:count]
    titles = [f"true {EMOTIONS[y_true[i]]}\npred {EMOTIONS[predicted[i]]} {confidence[i]:.2f}" for i in worst]
    return _image_grid(images[worst], titles, [_WRONG_COLOUR] * len(worst), columns,
                       f"{title} ({len(worst)} of {wrong.size} errors)")


# ---------------------------------------------------------------------------
# Augmentation
# ---------------------------------------------------------------------------

def augmentation_examples(images, augment, samples: int = 4, variants: int = 5, seed: int = 0,
                          title: str = "Augmentation examples") -> Figure:
    """Return originals in the first column and ``variants`` augmented versions beside them.

    ``augment`` is any callable taking a float batch in [0, 1] and
    ``training=True`` (a Keras layer or ``keras.Sequential`` of random
    layers, e.g. :func:`ferkit.augment.qutub_augment`). ``seed`` picks which
    ``samples`` images are shown; the augmentation's own randomness comes from
    the seeds its layers were built with. Like the papers' Figures 4-5.
    Introduced in lesson 06_augmentation.
    """
    images = _check_images(images)
    if samples < 1 or variants < 1:
        raise ValueError(f"samples, variants: expected positive integers, found {samples}, {variants}")
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(images), size=min(samples, len(images)), replace=False))
    originals = np.asarray(to_float(images[chosen]))
    augmented = [np.asarray(augment(originals, training=True)) for _ in range(variants)]

    figure = Figure(figsize=(1.6 * (variants + 1), 1.7 * len(chosen) + 0.5), layout="constrained")
    axes = figure.subplots(len(chosen), variants + 1, squeeze=False)
    for row, original in enumerate(originals):
        _show_image(axes[row, 0], original, "original" if row == 0 else None)
        for column, batch in enumerate(augmented, start=1):
            _show_image(axes[row, column], batch[row], f"variant {column}" if row == 0 else None)
    figure.suptitle(title)
    return figure


# ---------------------------------------------------------------------------
# Inside a model: filters, feature maps, Grad-CAM, predictions
# ---------------------------------------------------------------------------

def filters(model_or_layer, layer_name: str | None = None, count: int = 64,
            title: str | None = None) -> Figure:
    """Return the kernels of a convolution layer (the first one by default) as small images.

    Each panel is one filter, averaged over its input channels (shown in
    colour for an RGB input layer), on one symmetric blue-white-red scale so
    that signs and sizes compare across filters. Introduced in lesson
    01_convolution.
    """
    layer = (introspect.find_layer(model_or_layer, layer_name) if hasattr(model_or_layer, "layers")
             else model_or_layer)
    kernel = introspect.filter_weights(layer)
    kernel_h, kernel_w, inputs, outputs = kernel.shape
    shown = min(count, outputs)
    columns = min(8, shown)
    rows = math.ceil(shown / columns)
    figure = Figure(figsize=(1.3 * columns + 1.0, 1.4 * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    limit = float(np.abs(kernel).max()) or 1.0
    image = None
    for index, ax in enumerate(axes):
        if index >= shown:
            ax.set_axis_off()
            continue
        if inputs == 3:  # an RGB input layer: show the filter in colour
            weights = kernel[..., index]
            image = ax.imshow((weights / limit + 1.0) / 2.0, interpolation="nearest")
        else:
            image = ax.imshow(kernel[..., index].mean(axis=-1), cmap="bwr", vmin=-limit, vmax=limit,
                              interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"filter {index}", fontsize=8)
    if inputs != 3:
        figure.colorbar(image, ax=axes.tolist(), shrink=0.8, label="weight")
    figure.suptitle(title or f"Filters of layer {layer.name!r} ({kernel_h}x{kernel_w}, "
                    f"{shown} of {outputs} shown)")
    return figure


def feature_maps(model, image, layer_name: str | None = None, maps: int = 16,
                 title: str | None = None) -> Figure:
    """Return the activation maps of a convolution layer (the first by default) for one image.

    ``image`` is one (H, W, C) face, uint8 or float. Each panel is one
    channel of the layer's output, brighter where the filter responds more.
    Introduced in lesson 01_convolution.
    """
    layer = introspect.find_layer(model, layer_name, last=False)
    activation = introspect.activations(model, image, layer.name)
    shown = min(maps, activation.shape[-1])
    columns = min(9, shown + 1)  # the input and 16 maps fill two rows
    rows = math.ceil((shown + 1) / columns)
    figure = Figure(figsize=(1.5 * columns, 1.6 * rows + 0.6), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    _show_image(axes[0], image, "input")
    for index, ax in enumerate(axes[1:]):
        if index >= shown:
            ax.set_axis_off()
            continue
        ax.imshow(activation[..., index], cmap="viridis", interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"map {index}", fontsize=8)
    height, width, channels = activation.shape
    figure.suptitle(title or f"Feature maps of layer {layer.name!r} ({height}x{width}, "
                    f"{shown} of {channels} shown)")
    return figure


def _predict_one(model, image) -> np.ndarray:
    """Return the model's probabilities for one (H, W, C) image (via :func:`ferkit.evaluate.predict`)."""
    from ferkit.evaluate import predict

    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"image: expected one image of shape (H, W, C), found shape {image.shape}")
    return predict(model, image[np.newaxis]).astype(np.float64)[0]


def gradcam(model, image, class_index: int | None = None, layer_name: str | None = None,
            opacity: float = 0.45, title: str | None = None) -> Figure:
    """Return three panels: the face, its Grad-CAM heatmap and the two overlaid.

    See :func:`ferkit.introspect.gradcam_heatmap`; the title names the class explained and the
    model's probability for it. Introduced in lesson 08_evaluation.
    """
    layer = introspect.find_layer(model, layer_name, last=True)
    probabilities = _predict_one(model, image)
    if class_index is None:
        class_index = int(probabilities.argmax())
    heatmap = introspect.gradcam_heatmap(model, image, class_index, layer.name)
    figure = Figure(figsize=(9.5, 3.6), layout="constrained")
    face_ax, heat_ax, overlay_ax = figure.subplots(1, 3)
    _show_image(face_ax, image, "face")
    shown = heat_ax.imshow(heatmap, cmap="jet", vmin=0, vmax=1)
    heat_ax.set_xticks([])
    heat_ax.set_yticks([])
    heat_ax.set_title(f"Grad-CAM of {layer.name!r}", fontsize=9)
    figure.colorbar(shown, ax=heat_ax, shrink=0.8, label="importance")
    _show_image(overlay_ax, image, "overlay")
    overlay_ax.imshow(heatmap, cmap="jet", alpha=opacity, vmin=0, vmax=1)
    name = EMOTIONS[class_index] if len(probabilities) == len(EMOTIONS) else f"class {class_index}"
    figure.suptitle(title or f"Where the model looks for {name!r} (p = {probabilities[class_index]:.2f})")
    return figure


def prediction_figure(model, image, label: int | None = None, title: str | None = None) -> Figure:
    """Return the face beside the model's probability for each emotion (a bar chart).

    The predicted class is highlighted; with ``label``, the true class is
    named in the title and its bar outlined. uint8 faces are scaled to [0, 1]
    first. Plain function of :func:`ferkit.widgets.prediction_explorer`;
    introduced in lesson 03_shallow_dropout_deep.
    """
    probabilities = _predict_one(model, image)
    if probabilities.shape != (len(EMOTIONS),):
        raise ValueError(f"model: expected {len(EMOTIONS)} outputs (one per emotion), found {probabilities.shape}")
    predicted = int(probabilities.argmax())
    figure = Figure(figsize=(8.5, 3.4), layout="constrained")
    face_ax, bar_ax = figure.subplots(1, 2, width_ratios=(1, 2))
    _show_image(face_ax, image, "face")
    colours = ["tab:blue"] * len(EMOTIONS)
    colours[predicted] = _RIGHT_COLOUR if label in (None, predicted) else _WRONG_COLOUR
    bars = bar_ax.barh(np.arange(len(EMOTIONS)), probabilities, color=colours)
    if label is not None:
        bars[label].set_edgecolor("black")
        bars[label].set_linewidth(2)
    bar_ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)
    bar_ax.set_yticks(np.arange(len(EMOTIONS)), EMOTIONS)
    bar_ax.invert_yaxis()
    bar_ax.set_xlim(0, 1.12)
    bar_ax.set_xlabel("probability")
    bar_ax.set_ylabel("emotion")
    bar_ax.set_title("Probability per class")
    heading = f"Predicted {EMOTIONS[predicted]} ({probabilities[predicted]:.2f})"
    if label is not None:
        heading += f", true {EMOTIONS[label]}"
    figure.suptitle(title or heading)
    return figure


# ---------------------------------------------------------------------------
# Convolution explainer
# ---------------------------------------------------------------------------

def convolution_figure(image, kernel, stride: int = 1, padding: str = "valid", pooling: str = "none") -> Figure:
    """Return the steps of one convolution: input, kernel, activation map and pooled map.

    ``image`` is one (H, W) or (H, W, 1) face (uint8 faces are scaled to
    [0, 1]); ``kernel`` a (k, k) array. The activation map is
    :func:`ferkit.conv.convolve2d` with ``stride`` and ``padding``;
    ``pooling`` is ``"none"``, ``"max"`` or ``"average"`` (2x2, stride 2, by
    :func:`ferkit.conv.pool2d`); without pooling the figure has three panels.
    Plain function of :func:`ferkit.widgets.convolution_explainer`;
    introduced in lesson 01_convolution.
    """
    if pooling not in ("none", "max", "average"):
        raise ValueError(f"pooling: expected 'none', 'max' or 'average', found {pooling!r}")
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim != 2:
        raise ValueError(f"image: expected a grey image (H, W) or (H, W, 1), found shape {image.shape}")
    image = np.asarray(to_float(image))
    kernel = np.asarray(kernel, dtype=np.float32)
    activation = convolve2d(image, kernel, stride=stride, padding=padding)
    panels = 3 if pooling == "none" else 4
    figure = Figure(figsize=(3.3 * panels, 3.6), layout="constrained")
    axes = figure.subplots(1, panels)

    _show_image(axes[0], image, f"input {image.shape[0]}x{image.shape[1]}")
    limit = float(np.abs(kernel).max()) or 1.0
    axes[1].imshow(kernel, cmap="bwr", vmin=-limit, vmax=limit)
    for (row, column), value in np.ndenumerate(kernel):
        axes[1].text(column, row, f"{value:.2g}", ha="center", va="center", fontsize=11)
    axes[1].set_xticks([])
    axes[1].set_yticks([])
    axes[1].set_title(f"kernel {kernel.shape[0]}x{kernel.shape[1]}", fontsize=9)
    shown = axes[2].imshow(activation, cmap="gray", interpolation="nearest")
    figure.colorbar(shown, ax=axes[2], shrink=0.8)
    axes[2].set_xticks([])
    axes[2].set_yticks([])
    axes[2].set_title(f"activation map {activation.shape[0]}x{activation.shape[1]}\n"
                      f"stride {stride}, padding {padding!r}", fontsize=9)
    if pooling != "none":
        if min(activation.shape) < 2:
            axes[3].set_axis_off()
            axes[3].set_title("too small to pool 2x2", fontsize=9)
        else:
            pooled = pool2d(activation, size=2, mode=pooling)
            shown = axes[3].imshow(pooled, cmap="gray", interpolation="nearest")
            figure.colorbar(shown, ax=axes[3], shrink=0.8)
            axes[3].set_xticks([])
            axes[3].set_yticks([])
            axes[3].set_title(f"{pooling} pooling 2x2 -> {pooled.shape[0]}x{pooled.shape[1]}", fontsize=9)
    figure.suptitle("Convolution step by step")
    return figure
