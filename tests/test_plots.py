"""ferkit.plots: every figure has the panels, titles and numbers it promises."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib

matplotlib.use("Agg")

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix

from ferkit import introspect, plots
from ferkit.conv import KERNELS, convolve2d
from ferkit.data import EMOTIONS


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    """plots builds Figures without pyplot, so none is ever left open."""
    yield
    leftover = plt.get_fignums()
    plt.close("all")
    assert leftover == []


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(40, 12, 12, 1), dtype=np.uint8)
    labels = np.arange(40) % len(EMOTIONS)
    return images, labels


def image_axes(figure):
    """Axes that show an image (colour bars and switched-off axes excluded)."""
    return [ax for ax in figure.axes if ax.images and ax.axison]


def suptitle(figure):
    return figure._suptitle.get_text() if figure._suptitle else ""


def small_cnn(input_shape=(12, 12, 1), seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(6, 3, activation="relu", name="first_conv")(inputs)
    x = keras.layers.Conv2D(5, 3, activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(len(EMOTIONS), activation="softmax")(x)
    return keras.Model(inputs, outputs)


# ---------------------------------------------------------------------------
# Data figures
# ---------------------------------------------------------------------------

def test_show_images_marks_wrong_predictions_in_red(faces):
    images, labels = faces[0][:10], faces[1][:10]
    predictions = labels.copy()
    predictions[[1, 4, 7]] = (labels[[1, 4, 7]] + 1) % len(EMOTIONS)
    figure = plots.show_images(images, labels, predictions, columns=8)
    assert isinstance(figure, Figure)
    shown = image_axes(figure)
    assert len(shown) == 10 and len(figure.axes) == 16  # 2 rows of 8, the last 6 switched off
    np.testing.assert_array_equal(shown[0].images[0].get_array(), images[0, ..., 0])
    for index, ax in enumerate(shown):
        title = ax.title
        if index in (1, 4, 7):
            assert title.get_text() == f"pred {EMOTIONS[predictions[index]]}\ntrue {EMOTIONS[labels[index]]}"
            assert matplotlib.colors.same_color(title.get_color(), "tab:red")
        else:
            assert title.get_text() == EMOTIONS[labels[index]]
            assert not matplotlib.colors.same_color(title.get_color(), "tab:red")
    assert "3 of 10 wrong" in suptitle(figure)


def test_show_images_with_labels_only_and_bad_input(faces):
    images, labels = faces
    figure = plots.show_images(images[:5], labels[:5], title="Sample")
    assert [ax.get_title() for ax in image_axes(figure)] == [EMOTIONS[label] for label in labels[:5]]
    assert suptitle(figure) == "Sample"
    with pytest.raises(ValueError, match="images"):
        plots.show_images(images[0])
    with pytest.raises(ValueError, match="labels"):
        plots.show_images(images[:3], [0, 1, 9])


def test_class_distribution_counts_on_the_bars(faces):
    labels = np.array([0, 3, 3, 3, 6, 6, 1])
    figure = plots.class_distribution(labels, split_name="train")
    (ax,) = figure.axes
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == list(np.bincount(labels, minlength=7))
    assert [text.get_text() for text in ax.texts] == [str(count) for count in np.bincount(labels, minlength=7)]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == list(EMOTIONS)
    assert ax.get_xlabel() and ax.get_ylabel()
    assert "train" in ax.get_title()


def test_class_distribution_puts_splits_side_by_side(faces):
    splits = {"train": faces[1], "public_test": np.array([2, 2, 5])}
    figure = plots.class_distribution(splits)
    (ax,) = figure.axes
    assert len(ax.patches) == 2 * len(EMOTIONS)
    heights = [bar.get_height() for bar in ax.patches]
    assert heights[:7] == list(np.bincount(faces[1], minlength=7))
    assert heights[7:] == list(np.bincount([2, 2, 5], minlength=7))
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["train (40)", "public_test (3)"]


def test_class_examples_shows_one_emotion_from_a_position(faces):
    images, labels = faces
    happy = np.flatnonzero(labels == 3)
    figure = plots.class_examples(images, labels, "happy", start=1, count=3)
    assert [ax.get_title() for ax in image_axes(figure)] == [f"#{index}" for index in happy[1:4]]
    assert suptitle(figure).startswith("happy")
    empty = plots.class_examples(images, labels, 3, start=100)
    assert not image_axes(empty) and "no happy faces" in empty.axes[0].texts[0].get_text()


# ---------------------------------------------------------------------------
# Training and evaluation figures
# ---------------------------------------------------------------------------

HISTORY = {
    "loss": [2.0, 1.5, 1.2, 1.0, 0.8],
    "val_loss": [2.1, 1.6, 1.3, 1.4, 1.5],
    "accuracy": [0.2, 0.3, 0.4, 0.5, 0.6],
    "val_accuracy": [0.2, 0.3, 0.36, 0.35, 0.34],
}


def test_training_curves_two_panels_and_best_epoch():
    history = keras.callbacks.History()
    history.history = HISTORY
    for source in (HISTORY, history):
        figure = plots.training_curves(source)
        accuracy_ax, loss_ax = figure.axes
        assert (accuracy_ax.get_title(), loss_ax.get_title()) == ("Accuracy", "Loss")
        assert accuracy_ax.get_xlabel() == loss_ax.get_xlabel() == "epoch"
        assert (accuracy_ax.get_ylabel(), loss_ax.get_ylabel()) == ("accuracy", "loss")
        lines = {line.get_label(): line for line in loss_ax.get_lines()}
        np.testing.assert_array_equal(lines["training"].get_ydata(), HISTORY["loss"])
        np.testing.assert_array_equal(lines["validation"].get_ydata(), HISTORY["val_loss"])
        np.testing.assert_array_equal(lines["validation"].get_xdata(), [1, 2, 3, 4, 5])
        assert list(lines["best epoch (3)"].get_xdata()) == [3, 3]  # lowest val_loss
        assert "best epoch (3)" in [text.get_text() for text in accuracy_ax.get_legend().get_texts()]


def test_training_curves_without_validation_or_accuracy():
    figure = plots.training_curves({"loss": [1.0, 0.5]})
    (ax,) = figure.axes
    assert [line.get_label() for line in ax.get_lines()] == ["training"]
    assert len(plots.training_curves({"loss": [1, 0.5], "accuracy": [0.1, 0.2]}).axes) == 2
    with pytest.raises(ValueError, match="loss"):
        plots.training_curves({"accuracy": [0.1]})


def test_confusion_matrices_match_scikit_learn():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 7, size=300)
    y_true[y_true == 1] = 0  # disgust absent: its normalised row must be zeros, not NaN
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 7, size=300))
    figure = plots.confusion_matrices(y_true, y_pred, title="Sample")
    heat_maps = image_axes(figure)
    assert len(heat_maps) == 2
    raw_ax, normalised_ax = heat_maps
    expected = confusion_matrix(y_true, y_pred, labels=range(7))
    annotations = np.array([int(text.get_text()) for text in raw_ax.texts]).reshape(7, 7)
    np.testing.assert_array_equal(annotations, expected)
    normalised = np.asarray(normalised_ax.images[0].get_array())
    present = expected.sum(axis=1) > 0
    np.testing.assert_allclose(normalised[present].sum(axis=1), 1.0)
    np.testing.assert_array_equal(normalised[1], 0.0)
    values = np.array([float(text.get_text()) for text in normalised_ax.texts]).reshape(7, 7)
    np.testing.assert_allclose(values, normalised, atol=0.005)
    assert raw_ax.get_xlabel() == "Predicted label" and raw_ax.get_ylabel() == "True label"
    assert [tick.get_text() for tick in raw_ax.get_yticklabels()] == list(EMOTIONS)
    assert raw_ax.get_title() == "Counts" and normalised_ax.get_title().startswith("Normalised")
    assert suptitle(figure).startswith("Sample")
    # Probability rows are reduced to their argmax.
    probabilities = np.eye(7)[y_pred]
    again = plots.confusion_matrices(y_true, probabilities)
    assert [t.get_text() for t in image_axes(again)[0].texts] == [t.get_text() for t in raw_ax.texts]


def test_misclassified_shows_the_most_confident_errors_first(faces):
    images, labels = faces[0][:6], np.array([0, 1, 2, 3, 4, 5])
    probabilities = np.full((6, 7), 0.02)
    probabilities[np.arange(6), labels] = 0.88  # right by default
    probabilities[1] = [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.70]  # wrong, 0.70 on neutral
    probabilities[4] = [0.90, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0]  # wrong, 0.90 on angry
    probabilities[5] = [0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.6]  # wrong, 0.60 on neutral
    figure = plots.misclassified(images, labels, probabilities, count=2)
    titles = [ax.get_title() for ax in image_axes(figure)]
    assert titles == ["true sad\npred angry 0.90", "true disgust\npred neutral 0.70"]
    np.testing.assert_array_equal(image_axes(figure)[0].images[0].get_array(), images[4, ..., 0])
    assert "2 of 3 errors" in suptitle(figure)
    right = plots.misclassified(images, labels, np.eye(7)[labels])
    assert not image_axes(right) and "no misclassified" in right.axes[0].texts[0].get_text()


# ---------------------------------------------------------------------------
# Augmentation
# ---------------------------------------------------------------------------

def test_augmentation_examples_originals_then_variants(faces):
    images = faces[0]
    calls = []

    def invert(batch, training=False):
        calls.append(training)
        assert batch.dtype == np.float32 and 0.0 <= batch.min() and batch.max() <= 1.0
        return 1.0 - batch

    figure = plots.augmentation_examples(images, invert, samples=3, variants=4, seed=1)
    assert calls == [True] * 4
    shown = image_axes(figure)
    assert len(shown) == 3 * 5
    assert [ax.get_title() for ax in shown[:5]] == ["original", "variant 1", "variant 2", "variant 3", "variant 4"]
    chosen = np.sort(np.random.default_rng(1).choice(len(images), 3, replace=False))
    for row, index in enumerate(chosen):
        original = shown[5 * row].images[0].get_array()
        np.testing.assert_allclose(original, images[index, ..., 0] / 255.0, atol=1e-6)
        np.testing.assert_allclose(shown[5 * row + 2].images[0].get_array(), 1.0 - original, atol=1e-6)
    assert suptitle(figure) == "Augmentation examples"


def test_augmentation_examples_with_keras_layers(faces):
    augment = keras.Sequential([keras.layers.RandomFlip("horizontal", seed=1),
                                keras.layers.RandomRotation(0.1, seed=2)])
    figure = plots.augmentation_examples(faces[0], augment, samples=2, variants=3)
    shown = image_axes(figure)
    assert len(shown) == 8
    assert not np.allclose(shown[0].images[0].get_array(), shown[1].images[0].get_array())


# ---------------------------------------------------------------------------
# Inside a model
# ---------------------------------------------------------------------------

def test_filters_shows_the_first_conv_kernels():
    model = small_cnn()
    figure = plots.filters(model)
    shown = image_axes(figure)
    kernel = model.get_layer("first_conv").get_weights()[0]
    assert len(shown) == 6
    np.testing.assert_allclose(shown[2].images[0].get_array(), kernel[..., 0, 2], atol=1e-6)
    assert "first_conv" in suptitle(figure)
    by_layer = plots.filters(model.get_layer("last_conv"))
    np.testing.assert_allclose(image_axes(by_layer)[0].images[0].get_array(),
                               model.get_layer("last_conv").get_weights()[0][..., 0].mean(axis=-1), atol=1e-6)
    assert len(image_axes(plots.filters(model, layer_name="last_conv", count=3))) == 3


def test_feature_maps_are_the_layer_activations(faces):
    model = small_cnn()
    image = faces[0][0]
    figure = plots.feature_maps(model, image, maps=4)
    shown = image_axes(figure)
    assert len(shown) == 1 + 4 and shown[0].get_title() == "input"
    probe = keras.Model(model.input, model.get_layer("first_conv").output)
    expected = np.asarray(probe(image[np.newaxis].astype(np.float32) / 255.0))[0]
    for index in range(4):
        np.testing.assert_allclose(shown[1 + index].images[0].get_array(), expected[..., index], atol=1e-5)
    assert "first_conv" in suptitle(figure) and "4 of 6" in suptitle(figure)
    with pytest.raises(ValueError, match="layer_name"):
        plots.feature_maps(model, image, layer_name="missing")


def test_gradcam_figure(faces):
    from test_introspect import quadrant_model

    model = quadrant_model()
    image = (np.random.default_rng(9).random((16, 16, 1)) * 255).astype(np.uint8)
    figure = plots.gradcam(model, image)
    shown = image_axes(figure)
    assert [ax.get_title() for ax in shown] == ["face", "Grad-CAM of 'conv'", "overlay"]
    np.testing.assert_allclose(shown[1].images[0].get_array(), introspect.gradcam_heatmap(model, image), atol=1e-6)
    assert "'happy'" in suptitle(figure)


def test_prediction_figure_bars_are_the_probabilities(faces):
    model = small_cnn()
    image = faces[0][5]
    figure = plots.prediction_figure(model, image, label=1)
    face_ax, bar_ax = figure.axes
    expected = np.asarray(model(image[np.newaxis].astype(np.float32) / 255.0))[0]
    np.testing.assert_allclose([bar.get_width() for bar in bar_ax.patches], expected, atol=1e-5)
    assert [tick.get_text() for tick in bar_ax.get_yticklabels()] == list(EMOTIONS)
    assert bar_ax.get_xlabel() == "probability"
    assert suptitle(figure).startswith(f"Predicted {EMOTIONS[expected.argmax()]}")
    assert suptitle(figure).endswith("true disgust")


# ---------------------------------------------------------------------------
# Convolution explainer figure
# ---------------------------------------------------------------------------

def test_convolution_figure_panels(faces):
    image = faces[0][0]
    kernel = KERNELS["sobel x"]
    figure = plots.convolution_figure(image, kernel, stride=2, padding="same", pooling="max")
    input_ax, kernel_ax, activation_ax, pooled_ax = image_axes(figure)
    expected = convolve2d(image[..., 0] / 255.0, kernel, stride=2, padding="same")
    np.testing.assert_allclose(activation_ax.images[0].get_array(), expected, atol=1e-5)
    assert pooled_ax.images[0].get_array().shape == (3, 3)
    assert [float(text.get_text()) for text in kernel_ax.texts] == list(kernel.ravel())
    assert activation_ax.get_title().startswith("activation map 6x6")
    assert suptitle(figure) == "Convolution step by step"
    assert len(image_axes(plots.convolution_figure(image, kernel, pooling="none"))) == 3
    with pytest.raises(ValueError, match="pooling"):
        plots.convolution_figure(image, kernel, pooling="median")


# ---------------------------------------------------------------------------
# Per-class scores of several reports (lesson 05)
# ---------------------------------------------------------------------------

def test_per_class_scores_draws_each_report_s_values_per_emotion():
    import pandas as pd

    paper = pd.DataFrame({"F1-score": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]}, index=list(EMOTIONS))
    ours = pd.DataFrame({"F1-score": [0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.9]},
                        index=list(EMOTIONS) + ["macro avg"]).drop(index="disgust")
    figure = plots.per_class_scores({"paper": paper, "ours": ours}, title="F1")
    (ax,) = figure.axes
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights[:7], paper["F1-score"].to_numpy())
    np.testing.assert_allclose(heights[7:], [0.7, np.nan, 0.5, 0.4, 0.3, 0.2, 0.1])  # no disgust bar
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["paper", "ours"]
    assert [tick.get_text() for tick in ax.get_xticklabels()] == list(EMOTIONS)
    assert ax.get_ylabel() == "F1-score" and ax.get_title() == "F1"
    with pytest.raises(ValueError, match="Recall"):
        plots.per_class_scores({"paper": paper}, metric="Recall")
    with pytest.raises(ValueError, match="non-empty dict"):
        plots.per_class_scores({})


# ---------------------------------------------------------------------------
# The paper's numbers beside ours, one bar per row (lesson 03)
# ---------------------------------------------------------------------------

def test_comparison_bars_draw_one_labelled_bar_per_row_with_a_value():
    rows = [
        {"model": "mondal_shallow", "source": "paper", "dataset": "FER2013", "split": "validation set", "accuracy": 0.58},
        {"model": "mondal_dropout", "source": "paper", "dataset": "FER2013", "split": "validation set", "accuracy": 0.60},
        {"model": "mondal_shallow", "source": "ours", "dataset": "FER2013", "split": "public_test", "accuracy": 0.57},
        {"model": "mondal_deep", "source": "ours", "dataset": "sample", "split": "private_test",
         "accuracy": float("nan")},
    ]
    figure = plots.comparison_bars(rows, title="Table 3")
    (ax,) = figure.axes
    assert [round(bar.get_width(), 2) for bar in ax.patches] == [0.58, 0.57, 0.60]  # grouped by model, NaN left out
    labels = [tick.get_text() for tick in ax.get_yticklabels()]
    assert labels[0] == "mondal_shallow: paper\nFER2013, validation set"
    assert labels[1] == "mondal_shallow: ours\nFER2013, public_test"
    assert ax.patches[0].get_facecolor() != ax.patches[1].get_facecolor()  # one colour per source
    (legend,) = figure.legends
    assert [text.get_text() for text in legend.get_texts()] == ["paper", "ours"]
    assert [handle.get_facecolor() for handle in legend.legend_handles] == [
        ax.patches[0].get_facecolor(), ax.patches[1].get_facecolor()]  # the legend's colours are the bars'
    assert ax.get_title() == "Table 3" and ax.get_xlabel() == "accuracy"
    with pytest.raises(ValueError, match="split"):
        plots.comparison_bars([{"model": "m", "source": "s", "accuracy": 0.5}])
    with pytest.raises(ValueError, match="at least one row"):
        plots.comparison_bars(rows[3:])
