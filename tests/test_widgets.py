"""ferkit.widgets: every explorer builds, and changing a control redraws its output."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib

matplotlib.use("Agg")

import base64
import io

import ipywidgets
import keras
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from ferkit import widgets
from ferkit.conv import KERNELS
from ferkit.data import EMOTIONS


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 12, 12, 1), dtype=np.uint8)
    labels = np.arange(30) % len(EMOTIONS)
    labels[:10] = 3  # 13 happy faces in all
    return images, labels


def control(box, description):
    """The widget with ``description`` anywhere inside ``box``."""
    for child in getattr(box, "children", ()):
        if getattr(child, "description", None) == description:
            return child
        found = control(child, description)
        if found is not None:
            return found
    return None


def shown_png(box):
    """The PNG bytes the explorer's Output shows (it is the box's last child)."""
    output = box.children[-1]
    assert isinstance(output, ipywidgets.Output)
    (item,) = output.outputs
    assert item["output_type"] == "display_data", item
    png = base64.b64decode(item["data"]["image/png"])
    Image.open(io.BytesIO(png)).verify()  # a real PNG
    return png


def test_convolution_explainer_draws_the_plain_figure(faces):
    box = widgets.convolution_explainer(faces[0], index=2, kernel="blur")
    assert isinstance(box, ipywidgets.VBox)
    # The first drawing is convolution_figure's own figure for the initial controls.
    expected = widgets.convolution_figure(faces[0][2], KERNELS["blur"], 1, "valid", "max")
    buffer = io.BytesIO()
    expected.savefig(buffer, format="png", dpi=widgets._DPI)
    assert shown_png(box) == buffer.getvalue()


def test_convolution_explainer_passes_every_control_on(faces, monkeypatch):
    calls = []

    def quick_figure(image, kernel, stride, padding, pooling):
        """A tiny stand-in for convolution_figure that records its arguments."""
        calls.append((image, kernel.copy(), stride, padding, pooling))
        figure = Figure(figsize=(1, 1))
        figure.suptitle(f"{len(calls)}")
        return figure

    monkeypatch.setattr(widgets, "convolution_figure", quick_figure)
    images = faces[0]
    box = widgets.convolution_explainer(images, kernel="blur")
    cells = box.children[0].children[1].children[1].children
    assert len(cells) == 9 and [cell.value for cell in cells] == pytest.approx(KERNELS["blur"].ravel())
    seen = [shown_png(box)]
    for description, value in [("stride", 2), ("padding", "same"), ("pooling", "average"), ("face", 4)]:
        control(box, description).value = value
        seen.append(shown_png(box))
        assert seen[-1] != seen[-2], description
    image, kernel, stride, padding, pooling = calls[-1]
    assert (stride, padding, pooling) == (2, "same", "average")
    np.testing.assert_array_equal(image, images[4])
    np.testing.assert_allclose(kernel, KERNELS["blur"])
    preset = control(box, "kernel")
    preset.value = "sobel y"  # one redraw for the nine new values, not nine
    assert [cell.value for cell in cells] == list(KERNELS["sobel y"].ravel())
    assert len(calls) == 6
    np.testing.assert_array_equal(calls[-1][1], KERNELS["sobel y"])
    cells[4].value = 3.0  # editing a value makes the kernel custom
    assert preset.value == "custom"
    assert calls[-1][1][1, 1] == 3.0 and len(calls) == 7
    assert shown_png(box) != seen[-1]


def test_convolution_explainer_rejects_unknown_kernel(faces):
    with pytest.raises(ValueError, match="kernel"):
        widgets.convolution_explainer(faces[0], kernel="emboss")


def test_dataset_browser_follows_emotion_and_position(faces):
    images, labels = faces
    box = widgets.dataset_browser(images, labels, count=4, columns=4)
    emotion, start = control(box, "emotion"), control(box, "first face")
    assert emotion.value == 3 and start.max == 13 - 4  # the largest class first
    first = shown_png(box)
    start.value = 3
    second = shown_png(box)
    assert second != first
    emotion.value = 0
    assert start.value == 0 and start.max == 0  # 3 angry faces fit in one view
    assert shown_png(box) != second
    assert "angry (3)" in [label for label, _ in emotion.options]


def test_prediction_explorer_updates_with_the_face(faces):
    images, labels = faces
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(3, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(7, activation="softmax")])
    box = widgets.prediction_explorer(model, images, labels)
    first = shown_png(box)
    control(box, "face").value = 7
    assert shown_png(box) != first


def test_augmentation_layers_from_settings(faces):
    batch = faces[0][:3].astype(np.float32) / 255.0
    identity = widgets.augmentation_layers(rotation=0, zoom=0, translation=0, flip=False)
    np.testing.assert_array_equal(np.asarray(identity(batch, training=True)), batch)
    layers = widgets.augmentation_layers(rotation=30, zoom=0.2, translation=0.1, flip=True, seed=5)
    assert [type(layer).__name__ for layer in layers.layers] == [
        "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation"]
    assert layers.layers[1].factor == pytest.approx((-30 / 360, 30 / 360))
    assert not np.allclose(np.asarray(layers(batch, training=True)), batch)
    with pytest.raises(ValueError, match="zoom"):
        widgets.augmentation_layers(zoom=2.0)


def test_augmentation_layers_erasing(faces):
    batch = faces[0][:4].astype(np.float32) / 255.0
    erase_all = widgets.augmentation_layers(rotation=0, zoom=0, translation=0, flip=False, erasing=1.0)
    assert type(erase_all.layers[-1]).__name__ == "RandomErasing"
    erased = np.asarray(erase_all(batch, training=True))
    assert all((erased[i] != batch[i]).any() for i in range(4))


def test_augmentation_playground_redraws(faces):
    box = widgets.augmentation_playground(faces[0], samples=2, variants=2)
    first = shown_png(box)
    control(box, "rotation (deg)").value = 45.0
    second = shown_png(box)
    assert second != first
    control(box, "seed").value = 3
    third = shown_png(box)
    assert third != second
    control(box, "erasing p").value = 1.0
    assert shown_png(box) != third


def test_a_value_error_is_shown_as_text():
    output = ipywidgets.Output()

    def failing():
        raise ValueError("kernel: too large")

    widgets._draw(output, failing)
    (item,) = output.outputs
    assert item["output_type"] == "stream" and "kernel: too large" in item["text"]
