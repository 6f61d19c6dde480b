"""ferkit.conv: convolution and pooling by hand compute what Keras computes."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from ferkit.conv import KERNELS, convolve2d, output_size, pool2d, same_padding


def keras_conv(image, kernel, stride, padding):
    """One Keras Conv2D filter (no bias) with ``kernel`` applied to one image."""
    kernel = kernel if kernel.ndim == 3 else kernel[..., np.newaxis]
    layer = keras.layers.Conv2D(1, kernel.shape[:2], strides=stride, padding=padding, use_bias=False)
    layer.build((None, *image.shape))
    layer.set_weights([kernel[..., np.newaxis]])
    return np.asarray(layer(image[np.newaxis].astype(np.float32)))[0, ..., 0]


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("kernel_size", [2, 3, 4])
def test_convolve2d_matches_keras_conv2d(stride, padding, kernel_size):
    rng = np.random.default_rng(100 * stride + kernel_size)
    image = rng.random((11, 14, 1), dtype=np.float32)  # odd and even sides: asymmetric "same" padding
    kernel = rng.normal(size=(kernel_size, kernel_size)).astype(np.float32)
    ours = convolve2d(image, kernel, stride=stride, padding=padding)
    theirs = keras_conv(image, kernel, stride, padding)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_convolve2d_sums_over_channels_like_one_keras_filter(padding):
    rng = np.random.default_rng(7)
    image = rng.random((9, 10, 3), dtype=np.float32)
    kernel = rng.normal(size=(3, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(convolve2d(image, kernel, stride=2, padding=padding),
                               keras_conv(image, kernel, 2, padding), atol=1e-5)


def test_convolve2d_is_cross_correlation_not_flipped():
    image = np.zeros((5, 5))
    image[2, 2] = 1.0
    kernel = np.arange(9.0).reshape(3, 3)
    # A single bright pixel reproduces the kernel rotated by 180 degrees (cross-correlation).
    np.testing.assert_array_equal(convolve2d(image, kernel, padding="same")[1:4, 1:4], kernel[::-1, ::-1])
    np.testing.assert_array_equal(convolve2d(image[..., np.newaxis], KERNELS["identity"], padding="same"), image)


def test_convolving_the_input_with_the_output_gradient_gives_the_kernel_gradient():
    """The identity lesson 01 uses for its backward pass, against one Keras SGD step (any backend)."""
    rng = np.random.default_rng(3)
    images = rng.random((4, 9, 8, 1), dtype=np.float32)
    kernel = rng.normal(size=(3, 3, 1, 1)).astype(np.float32)
    model = keras.Sequential([keras.Input((9, 8, 1)), keras.layers.Conv2D(1, 3, use_bias=False)])
    model.layers[0].set_weights([kernel])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mean_squared_error")
    model.train_on_batch(images, np.zeros((4, 7, 6, 1), dtype=np.float32))
    # Loss: the mean of output**2 over all 4*7*6 values, so d loss / d output = 2 * output / 168.
    outputs = np.stack([convolve2d(image, kernel[..., 0]) for image in images])
    output_gradients = 2 * outputs / outputs.size
    kernel_gradient = sum(convolve2d(image, gradient) for image, gradient in zip(images, output_gradients))
    assert kernel_gradient.shape == (3, 3)
    np.testing.assert_allclose(model.layers[0].get_weights()[0][..., 0, 0], kernel[..., 0, 0] - kernel_gradient,
                               atol=1e-5)


def test_same_padding_puts_the_odd_pixel_after():
    assert same_padding(48, 3, 1) == (1, 1)
    assert same_padding(48, 3, 2) == (0, 1)  # TensorFlow: extra padding on the bottom/right
    assert same_padding(48, 4, 1) == (1, 2)
    assert output_size(48, 3, 2, "same") == 24
    assert output_size(48, 3, 2, "valid") == 23
    assert output_size(2, 3, 1, "valid") == 0


@pytest.mark.parametrize("mode, keras_layer", [("max", keras.layers.MaxPooling2D),
                                                ("average", keras.layers.AveragePooling2D)])
@pytest.mark.parametrize("size, stride", [(2, None), (3, None), (2, 1), (3, 2)])
def test_pool2d_matches_keras_pooling(mode, keras_layer, size, stride):
    rng = np.random.default_rng(size * 10 + (stride or 0))
    feature_map = rng.normal(size=(9, 12, 2)).astype(np.float32)
    ours = pool2d(feature_map, size=size, stride=stride, mode=mode)
    theirs = np.asarray(keras_layer(pool_size=size, strides=stride)(feature_map[np.newaxis]))[0]
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    # A 2-D map gives the same numbers as its channel.
    np.testing.assert_allclose(pool2d(feature_map[..., 0], size, stride, mode), ours[..., 0])


def test_presets_are_3x3():
    assert {"identity", "edge", "sharpen", "blur", "sobel x", "sobel y"} <= set(KERNELS)
    assert all(kernel.shape == (3, 3) for kernel in KERNELS.values())
    assert KERNELS["blur"].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("call, argument", [
    (lambda: convolve2d(np.zeros((5, 5)), np.ones((3, 3)), padding="full"), "padding"),
    (lambda: convolve2d(np.zeros((5, 5)), np.ones((3, 3)), stride=0), "stride"),
    (lambda: convolve2d(np.zeros((5, 5, 3)), np.ones((3, 3))), "kernel"),
    (lambda: convolve2d(np.zeros((2, 2)), np.ones((3, 3))), "kernel"),
    (lambda: pool2d(np.zeros((4, 4)), mode="median"), "mode"),
    (lambda: pool2d(np.zeros((1, 4)), size=2), "size"),
])
def test_bad_arguments_are_named(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()
