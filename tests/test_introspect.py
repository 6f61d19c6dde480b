"""ferkit.introspect: filters, activations and Grad-CAM as arrays, checked against closed forms."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from ferkit import introspect


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(40, 12, 12, 1), dtype=np.uint8), np.arange(40) % 7


def test_gradcam_heatmap_equals_the_formula():
    """conv -> global average -> softmax: Grad-CAM has a closed form to check against."""
    keras.utils.set_random_seed(4)
    inputs = keras.Input((10, 10, 1))
    activation_layer = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")
    activations = activation_layer(inputs)
    dense = keras.layers.Dense(7, activation="softmax")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(activations)))
    image = np.random.default_rng(5).random((10, 10, 1), dtype=np.float32)
    feature = np.asarray(keras.Model(inputs, activations)(image[np.newaxis]))[0]
    probabilities = np.asarray(model(image[np.newaxis]))[0]
    weights = dense.get_weights()[0]  # (channels, classes)
    for class_index in range(7):
        # d p_c / d A[h, w, k] = p_c (W[k, c] - sum_j p_j W[k, j]) / (H W), the same at every position
        alpha = probabilities[class_index] * (weights[:, class_index] - weights @ probabilities) / 100
        cam = np.maximum(feature @ alpha, 0)
        expected = cam / cam.max() if cam.max() > 0 else cam
        heatmap = introspect.gradcam_heatmap(model, image, class_index=class_index)
        assert heatmap.shape == (10, 10) and heatmap.dtype == np.float32
        np.testing.assert_allclose(heatmap, expected, atol=1e-4)


class KeepTopRight(keras.layers.Layer):
    """Zero every pixel outside the top-right quadrant."""

    def call(self, images):
        height, width = images.shape[1], images.shape[2]
        mask = np.zeros((1, height, width, 1), dtype=np.float32)
        mask[:, : height // 2, width // 2 :] = 1.0
        return images * mask


def quadrant_model():
    inputs = keras.Input((16, 16, 1))
    conv = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="conv",
                               kernel_initializer=keras.initializers.Constant(1 / 9))
    dense = keras.layers.Dense(7, activation="softmax", name="dense")
    outputs = dense(keras.layers.GlobalAveragePooling2D()(conv(KeepTopRight()(inputs))))
    model = keras.Model(inputs, outputs)
    weights = np.zeros((3, 7), dtype=np.float32)
    weights[:, 3] = 2.0  # evidence for "happy" only
    dense.set_weights([weights, np.zeros(7, dtype=np.float32)])
    return model


def test_gradcam_heatmap_is_highest_where_the_model_looks():
    model = quadrant_model()
    rng = np.random.default_rng(6)
    image = rng.random((16, 16, 1), dtype=np.float32)
    changed = image.copy()
    changed[8:] = rng.random((8, 16, 1))
    changed[:8, :8] = rng.random((8, 8, 1))
    # The prediction depends on the top-right quadrant only ...
    np.testing.assert_allclose(model(image[np.newaxis]), model(changed[np.newaxis]), atol=1e-6)
    heatmap = introspect.gradcam_heatmap(model, image)  # predicted class: happy
    assert heatmap.shape == (16, 16) and 0.0 <= heatmap.min() and heatmap.max() == pytest.approx(1.0)
    # ... and Grad-CAM finds it: the peak is there and the rest is far cooler.
    row, column = np.unravel_index(heatmap.argmax(), heatmap.shape)
    assert row < 8 and column >= 8
    top_right = heatmap[:8, 8:].mean()
    elsewhere = np.concatenate([heatmap[:8, :8].ravel(), heatmap[8:].ravel()]).mean()
    assert top_right > 5 * elsewhere
    # A class with no evidence gets an all-zero map (negative evidence is clipped).
    assert introspect.gradcam_heatmap(model, image, class_index=0).max() == 0.0
    with pytest.raises(ValueError, match="class_index"):
        introspect.gradcam_heatmap(model, image, class_index=7)


def test_gradcam_through_a_nested_model_and_a_sequential_agree(faces):
    """A transfer model nests its backbone; Sequential and functional wrappers give the same map."""
    functional, sequential = nested_models()
    image = faces[0][3]
    for layer_name in (None, "block1", "backbone"):
        from_functional = introspect.gradcam_heatmap(functional, image, class_index=2, layer_name=layer_name)
        from_sequential = introspect.gradcam_heatmap(sequential, image, class_index=2, layer_name=layer_name)
        assert from_functional.shape == (12, 12)
        np.testing.assert_allclose(from_functional, from_sequential, atol=1e-5)
    # The default is the last convolution, inside the backbone.
    np.testing.assert_allclose(introspect.gradcam_heatmap(functional, image, 2),
                               introspect.gradcam_heatmap(functional, image, 2, layer_name="block2"), atol=1e-6)


def nested_models():
    keras.utils.set_random_seed(8)
    backbone_inputs = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="block1")(backbone_inputs)
    backbone = keras.Model(backbone_inputs, keras.layers.Conv2D(6, 3, activation="relu", name="block2")(x),
                           name="backbone")
    pooling = keras.layers.GlobalAveragePooling2D()
    dense = keras.layers.Dense(7, activation="softmax")
    inputs = keras.Input((12, 12, 1))
    functional = keras.Model(inputs, dense(pooling(backbone(inputs))))
    sequential = keras.Sequential([keras.Input((12, 12, 1)), backbone, pooling, dense])
    return functional, sequential


def test_the_continuation_after_a_layer_gives_the_model_output(faces):
    """What JAX and PyTorch differentiate: the graph from a layer's output on to the model's."""
    batch = faces[0][:2].astype(np.float32) / 255.0
    for model in nested_models():
        for name in ("block1", "block2", "backbone"):
            layer = introspect.find_layer(model, name)
            activation, output = introspect._forward(model, batch, layer)
            np.testing.assert_allclose(introspect._continuation(model, layer)(activation), output, atol=1e-6)


def test_a_cut_that_a_skip_connection_crosses_is_refused():
    inputs = keras.Input((8, 8, 1))
    first = keras.layers.Conv2D(2, 3, padding="same", name="first")(inputs)
    second = keras.layers.Conv2D(2, 3, padding="same", name="second")(first)
    joined = keras.layers.Add()([first, second])
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(joined)))
    with pytest.raises(ValueError, match="skips over that layer"):
        introspect._continuation(model, model.get_layer("second"))
    # The tape of TensorFlow needs no cut: Grad-CAM of that layer works there.
    assert introspect.gradcam_heatmap(model, np.zeros((8, 8, 1), np.uint8), layer_name="second").shape == (8, 8)


def test_filter_weights_and_activations_are_the_layer_s_own(faces):
    functional, _ = nested_models()
    np.testing.assert_array_equal(introspect.filter_weights(functional),
                                  functional.get_layer("backbone").get_layer("block1").get_weights()[0])
    image = faces[0][0]
    inner = functional.get_layer("backbone")
    expected = np.asarray(keras.Model(inner.input, inner.get_layer("block2").output)(image[None] / 255.0))[0]
    np.testing.assert_allclose(introspect.activations(functional, image, "block2"), expected, atol=1e-6)
    assert [layer.name for layer in introspect.conv_layers(functional)] == ["block1", "block2"]
    with pytest.raises(ValueError, match="expected one image"):
        introspect.activations(functional, faces[0][:2])
    with pytest.raises(ValueError, match="layer_name"):
        introspect.find_layer(functional, "missing")
