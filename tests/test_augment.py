"""ferkit.augment: each augmentation does what it says, and TenCrop takes the right windows."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf

from ferkit import augment, papers, pipeline


@pytest.fixture
def bright_faces():
    """Float images in [0.1, 1]: erasing to 0 changes every pixel it touches."""
    rng = np.random.default_rng(1)
    return rng.uniform(0.1, 1.0, size=(64, 24, 32, 3)).astype("float32")


def test_erasing_changes_exactly_one_rectangle_and_nothing_else(bright_faces):
    layer = augment.RandomErasing(probability=1.0, seed=0)
    erased = keras.ops.convert_to_numpy(layer(bright_faces, training=True))
    height, width = bright_faces.shape[1:3]
    for before, after in zip(bright_faces, erased):
        changed = np.any(before != after, axis=-1)
        rows, cols = np.nonzero(changed)
        assert rows.size > 0
        top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        # The changed pixels fill their bounding box: one rectangle ...
        assert changed.sum() == (bottom - top) * (right - left)
        # ... erased to the fill value in every channel, everything else untouched.
        assert np.all(after[top:bottom, left:right] == 0.0)
        outside = ~changed
        np.testing.assert_array_equal(after[outside], before[outside])
        # Its area is within the scale range, give or take the rounding of its sides.
        area = (bottom - top) * (right - left) / (height * width)
        assert 0.02 * 0.5 <= area <= 0.33 * 1.6


def test_erasing_probability_zero_and_inference_are_the_identity(bright_faces):
    never = augment.RandomErasing(probability=0.0, seed=0)
    np.testing.assert_array_equal(never(bright_faces, training=True), bright_faces)
    always = augment.RandomErasing(probability=1.0, seed=0)
    np.testing.assert_array_equal(always(bright_faces, training=False), bright_faces)


def test_erasing_probability_half_erases_about_half(bright_faces):
    layer = augment.RandomErasing(probability=0.5, seed=2)
    many = np.concatenate([bright_faces] * 4)
    erased = keras.ops.convert_to_numpy(layer(many, training=True))
    fraction = np.mean(np.any(erased != many, axis=(1, 2, 3)))
    assert 0.35 < fraction < 0.65


def test_erasing_works_on_one_image_and_in_tf_data(bright_faces):
    layer = augment.RandomErasing(probability=1.0, seed=0)
    single = keras.ops.convert_to_numpy(layer(bright_faces[0], training=True))
    assert single.shape == bright_faces[0].shape and np.any(single != bright_faces[0])
    dataset = tf.data.Dataset.from_tensor_slices(bright_faces).batch(16)
    dataset = dataset.map(lambda x: layer(x, training=True))
    erased = np.concatenate([batch.numpy() for batch in dataset])
    assert np.all(np.any(erased != bright_faces, axis=(1, 2, 3)))


def test_erasing_rejects_bad_settings():
    with pytest.raises(ValueError, match="probability"):
        augment.RandomErasing(probability=1.5)
    with pytest.raises(ValueError, match="scale"):
        augment.RandomErasing(scale=(0.5, 0.1))


def test_flip_is_an_exact_mirror(bright_faces):
    flipped = keras.ops.convert_to_numpy(augment.barbagallo_augment(seed=0)(bright_faces, training=True))
    mirrored = 0
    for before, after in zip(bright_faces, flipped):
        if np.array_equal(after, before[:, ::-1]):
            mirrored += 1
        else:
            np.testing.assert_array_equal(after, before)
    assert 0 < mirrored < len(bright_faces)


def test_random_apply_applies_the_layer_to_some_images_only(bright_faces):
    halve = keras.layers.Rescaling(0.5)
    always = augment.RandomApply(halve, probability=1.0, seed=0)
    np.testing.assert_allclose(always(bright_faces, training=True), bright_faces * 0.5)
    never = augment.RandomApply(halve, probability=0.0, seed=0)
    np.testing.assert_array_equal(never(bright_faces, training=True), bright_faces)
    sometimes = augment.RandomApply(halve, probability=0.5, seed=0)
    out = keras.ops.convert_to_numpy(sometimes(bright_faces, training=True))
    halved = np.array([np.allclose(after, before * 0.5) for before, after in zip(bright_faces, out)])
    kept = np.array([np.array_equal(after, before) for before, after in zip(bright_faces, out)])
    assert np.all(halved | kept) and halved.any() and kept.any()
    np.testing.assert_array_equal(sometimes(bright_faces, training=False), bright_faces)


def test_brightness_scale_multiplies_each_image_by_one_factor():
    rng = np.random.default_rng(3)
    images = rng.uniform(0.1, 0.6, size=(32, 8, 8, 1)).astype("float32")
    out = keras.ops.convert_to_numpy(augment.RandomBrightnessScale(0.5, seed=0)(images, training=True))
    factors = (out / images).reshape(len(images), -1)
    # Images <= 0.6 times a factor <= 1.5 never reach the clip at 1.0.
    np.testing.assert_allclose(factors, factors[:, :1] * np.ones_like(factors), rtol=1e-5)
    assert np.all((factors[:, 0] >= 0.5 - 1e-6) & (factors[:, 0] <= 1.5 + 1e-6))
    assert np.ptp(factors[:, 0]) > 0.1  # a different factor for each image
    clipped = augment.RandomBrightnessScale(0.5, seed=0)(np.ones((8, 2, 2, 1), "float32"), training=True)
    assert keras.ops.convert_to_numpy(clipped).max() <= 1.0


def test_qutub_augment_is_the_identity_at_inference_and_random_in_training(bright_faces):
    layers = augment.qutub_augment(seed=0)
    np.testing.assert_array_equal(layers(bright_faces, training=False), bright_faces)
    out = keras.ops.convert_to_numpy(layers(bright_faces, training=True))
    assert out.shape == bright_faces.shape
    assert np.all(np.any(out != bright_faces, axis=(1, 2, 3)))
    assert out.min() >= -1e-6 and out.max() <= 1.0 + 1e-6
    names = [type(layer).__name__ for layer in layers.layers]
    assert names == ["RandomZoom", "RandomApply", "RandomApply", "RandomFlip", "RandomRotation", "RandomErasing"]
    settings = papers.QUTUB_ATAY_AUGMENTATION
    assert layers.layers[-1].probability == settings["random_erasing_probability"]
    zoom = layers.layers[0]
    low, high = settings["random_resized_crop_scale"]
    np.testing.assert_allclose(zoom.height_factor, (np.sqrt(low) - 1, np.sqrt(high) - 1))


def test_reference_augment_is_the_identity_at_inference(bright_faces):
    layers = augment.reference_augment(seed=0)
    np.testing.assert_array_equal(layers(bright_faces, training=False), bright_faces)
    out = keras.ops.convert_to_numpy(layers(bright_faces, training=True))
    assert out.shape == bright_faces.shape and not np.array_equal(out, bright_faces)


def test_qutub_augment_runs_inside_make_dataset():
    images = np.random.default_rng(0).integers(0, 256, (12, 48, 48, 1), dtype=np.uint8)
    dataset = pipeline.make_dataset(
        images, np.zeros(12, dtype=np.int64), 4, training=True, image_size=64, channels=3,
        augment=augment.qutub_augment(seed=0),
    )
    batch, _ = next(iter(dataset))
    assert batch.shape == (4, 64, 64, 3) and batch.dtype == tf.float32


def test_normalization_layer_is_always_on():
    layer = augment.normalization_layer(*augment.BARBAGALLO_NORMALIZATION)
    images = np.linspace(0, 1, 48, dtype="float32").reshape(1, 4, 4, 3)
    expected = (images - 0.5) / 0.5
    np.testing.assert_allclose(layer(images, training=True), expected, atol=1e-6)
    np.testing.assert_allclose(layer(images, training=False), expected, atol=1e-6)
    with pytest.raises(ValueError, match="std"):
        augment.normalization_layer(0.5, 0.0)


def test_with_normalization_standardises_then_runs_the_model_unchanged():
    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), keras.layers.Dense(3)], name="inner")
    model = augment.with_normalization(inner, mean=0.4, std=0.2)
    images = np.random.default_rng(0).random((5, 6, 6, 1), dtype="float32")
    np.testing.assert_allclose(model(images), inner((images - 0.4) / 0.2), rtol=1e-5, atol=1e-5)
    assert model.name == "inner_normalized" and model.get_layer("inner") is inner
    assert model.count_params() == inner.count_params()  # the layer's mean and variance are not weights
    with pytest.raises(ValueError, match="std"):
        augment.with_normalization(inner, mean=0.4, std=-1.0)


def test_a_model_with_augmentation_and_normalisation_saves_and_reloads(tmp_path, bright_faces):
    model = keras.Sequential(
        [
            keras.Input((24, 32, 3)),
            augment.qutub_augment(seed=0),
            augment.normalization_layer(0.5, 0.25),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(7, activation="softmax"),
        ]
    )
    before = model.predict(bright_faces, verbose=0)
    # predict runs with training=False: only the normalisation acts.
    pooled = ((bright_faces - 0.5) / 0.25).mean(axis=(1, 2))
    dense = model.layers[-1]
    kernel, bias = (keras.ops.convert_to_numpy(weight) for weight in dense.weights)
    logits = pooled @ kernel + bias
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(before, expected, atol=1e-5)

    path = tmp_path / "augmented.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(bright_faces, verbose=0), before, atol=1e-6)
    erasing = reloaded.layers[0].layers[-1]
    assert isinstance(erasing, augment.RandomErasing) and erasing.probability == 0.5


def test_ten_crop_windows_are_the_numpy_slices_and_their_mirrors():
    images = np.arange(3 * 9 * 11 * 2, dtype=np.int64).reshape(3, 9, 11, 2).astype(np.uint8)
    crops = augment.ten_crop(images, 5)
    assert crops.shape == (10, 3, 5, 5, 2) and crops.dtype == np.uint8
    np.testing.assert_array_equal(crops[0], images[:, 0:5, 0:5])
    np.testing.assert_array_equal(crops[1], images[:, 0:5, 6:11])
    np.testing.assert_array_equal(crops[2], images[:, 4:9, 0:5])
    np.testing.assert_array_equal(crops[3], images[:, 4:9, 6:11])
    np.testing.assert_array_equal(crops[4], images[:, 2:7, 3:8])  # round(4/2), round(6/2)
    for k in range(5):
        np.testing.assert_array_equal(crops[5 + k], crops[k][:, :, ::-1])


def test_ten_crop_centre_follows_torchvision_rounding():
    images = np.arange(48 * 48, dtype=np.int64).reshape(1, 48, 48, 1)
    centre = augment.ten_crop(images, 41)[4]
    offset = int(round((48 - 41) / 2.0))  # 3.5 -> 4, as torchvision's center_crop
    np.testing.assert_array_equal(centre, images[:, offset : offset + 41, offset : offset + 41])


def test_ten_crop_rejects_a_crop_larger_than_the_image():
    with pytest.raises(ValueError, match="size"):
        augment.ten_crop(np.zeros((1, 8, 8, 1)), 9)
