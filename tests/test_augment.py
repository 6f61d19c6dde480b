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
    assert names == ["RandomResizedCrop", "RandomApply", "RandomApply", "RandomFlip", "RandomRotation",
                     "RandomErasing"]
    settings = papers.QUTUB_ATAY_AUGMENTATION
    crop, jitter, shift, _, rotation, erasing = layers.layers
    assert crop.scale == tuple(settings["random_resized_crop_scale"])
    assert jitter.probability == settings["color_jitter_probability"]
    assert [type(layer).__name__ for layer in jitter.layer.layers] == [
        "RandomBrightnessScale", "RandomContrast", "RandomSaturationScale"]
    assert jitter.layer.layers[2].factor == settings["saturation"]
    assert shift.probability == settings["translate_probability"]
    assert shift.layer.translation == settings["translate"] and shift.layer.rotation == settings["affine_degrees"]
    assert rotation.rotation == settings["rotation_degrees"]
    assert erasing.probability == settings["random_erasing_probability"]


def test_qutub_ten_crop_makes_ten_crops_of_the_papers_size_before_erasing(bright_faces):
    faces = np.random.default_rng(0).uniform(0.1, 1.0, (3, 48, 48, 1)).astype("float32")
    layers = augment.qutub_augment(seed=0, ten_crop=True)
    assert [type(layer).__name__ for layer in layers.layers][-2:] == ["TenCrop", "RandomErasing"]
    size = papers.QUTUB_ATAY_AUGMENTATION["ten_crop_size"]
    assert augment.views_per_image(layers) == 10 and augment.views_per_image(augment.qutub_augment()) == 1
    out = keras.ops.convert_to_numpy(layers(faces, training=True))
    assert out.shape == (30, size, size, 1)
    # At inference the random layers stand still and the crops are exactly TenCrop's.
    crops = augment.ten_crop(faces, size)  # (10, N, ...)
    inference = keras.ops.convert_to_numpy(layers(faces, training=False))
    np.testing.assert_array_equal(inference, crops.transpose(1, 0, 2, 3, 4).reshape(30, size, size, 1))


def test_a_missing_paper_setting_is_a_clear_error():
    with pytest.raises(ValueError, match="QUTUB_ATAY_AUGMENTATION has no 'hue'"):
        augment.paper_setting(papers.QUTUB_ATAY_AUGMENTATION, "hue")


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
    reloaded_layers = reloaded.layers[0].layers
    assert isinstance(reloaded_layers[-1], augment.RandomErasing) and reloaded_layers[-1].probability == 0.5
    assert [type(layer) for layer in reloaded_layers] == [type(layer) for layer in model.layers[0].layers]
    np.testing.assert_array_equal(  # the reloaded augmentation draws as the original, seeds included
        reloaded.layers[0](bright_faces, training=True), augment.qutub_augment(seed=0)(bright_faces, training=True))


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


# ---------------------------------------------------------------------------
# The XLA-compatible geometry: one resampler, per-image draws

def test_affine_source_positions_rotate_counter_clockwise_shift_and_zoom_about_the_centre():
    one = np.ones(1, "float32")
    rows, cols = (keras.ops.convert_to_numpy(part) for part in augment.affine_source_positions(
        5, 5, one * np.pi / 2, 0 * one, 0 * one, one))
    # A quarter turn counter-clockwise: the top-centre pixel comes from the right-centre one.
    assert (rows[0, 0, 2], cols[0, 0, 2]) == pytest.approx((2.0, 4.0), abs=1e-5)
    rows, cols = (keras.ops.convert_to_numpy(part) for part in augment.affine_source_positions(
        5, 5, 0 * one, 1 * one, 2 * one, one))
    # Shifted one down and two right: output (r, c) comes from (r - 1, c - 2).
    np.testing.assert_allclose(rows[0], np.arange(5)[:, None] - 1 + 0 * cols[0], atol=1e-5)
    np.testing.assert_allclose(cols[0], np.arange(5)[None, :] - 2 + 0 * rows[0], atol=1e-5)
    rows, cols = (keras.ops.convert_to_numpy(part) for part in augment.affine_source_positions(
        5, 5, 0 * one, 0 * one, 0 * one, 2 * one))
    np.testing.assert_allclose(cols[0, 0], [1.0, 1.5, 2.0, 2.5, 3.0], atol=1e-5)  # zoomed in x2 about 2


def test_sample_bilinear_reads_pixels_interpolates_and_fills():
    image = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    grid_rows, grid_cols = np.meshgrid(np.arange(4.0), np.arange(4.0), indexing="ij")
    same = augment.sample_bilinear(image, grid_rows[None], grid_cols[None])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(same), image)
    half = augment.sample_bilinear(image, np.full((1, 1, 1), 0.5, "float32"), np.full((1, 1, 1), 1.5, "float32"))
    assert float(keras.ops.convert_to_numpy(half)[0, 0, 0, 0]) == pytest.approx((1 + 2 + 5 + 6) / 4)
    outside_rows, outside_cols = np.array([[[-1.0, 4.0]]], "float32"), np.array([[[0.0, 1.0]]], "float32")
    constant = augment.sample_bilinear(image, outside_rows, outside_cols, "constant", fill_value=-7.0)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(constant)[0, 0, :, 0], [-7.0, -7.0])
    reflect = augment.sample_bilinear(image, outside_rows, outside_cols, "reflect")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reflect)[0, 0, :, 0], [0.0, 13.0])
    nearest = augment.sample_bilinear(image, outside_rows, outside_cols, "nearest")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(nearest)[0, 0, :, 0], [0.0, 13.0])
    with pytest.raises(ValueError, match="fill_mode"):
        augment.sample_bilinear(image, outside_rows, outside_cols, "wrap")


def test_translation_moves_each_image_by_its_own_whole_pixel_shift():
    image = np.random.default_rng(0).uniform(0.1, 1.0, (1, 20, 20, 1)).astype("float32")
    batch = np.repeat(image, 16, axis=0)
    moved = keras.ops.convert_to_numpy(augment.RandomTranslation(0.2, seed=3)(batch, training=True))
    shifts = set()
    for out in moved:
        found = None
        for down in range(-4, 5):
            for right in range(-4, 5):
                expected = np.zeros_like(image[0])
                rows, cols = slice(max(down, 0), 20 + min(down, 0)), slice(max(right, 0), 20 + min(right, 0))
                source = (slice(max(-down, 0), 20 + min(-down, 0)), slice(max(-right, 0), 20 + min(-right, 0)))
                expected[rows, cols] = image[0][source]
                if np.allclose(out, expected, atol=1e-5):
                    found = (down, right)
        assert found is not None  # an exact shift: whole pixels, black border
        shifts.add(found)
    assert len(shifts) > 4  # drawn per image


@pytest.mark.parametrize("layer", [
    augment.RandomAffine(rotation=30, translation=0.1, scale=(0.8, 1.2), seed=1),
    augment.RandomRotation(30, seed=1),
    augment.RandomZoom(0.2, seed=1),
    augment.RandomResizedCrop((0.5, 1.0), seed=1),
    augment.RandomBrightnessScale(0.5, seed=1),
    augment.RandomSaturationScale(0.5, seed=1),
    augment.RandomErasing(1.0, seed=1),
], ids=lambda layer: type(layer).__name__)
def test_every_random_layer_draws_per_image_and_stands_still_at_inference(layer):
    image = np.random.default_rng(0).uniform(0.1, 0.6, (1, 24, 24, 3)).astype("float32")
    batch = np.repeat(image, 8, axis=0)
    out = keras.ops.convert_to_numpy(layer(batch, training=True))
    assert out.shape == batch.shape
    different = {out[i].tobytes() for i in range(len(out))}
    assert len(different) > 4  # Keras's RandomCrop, by contrast, treats a whole batch alike
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(batch, training=False)), batch)
    assert layer.supports_jit


def test_geometric_layers_keep_a_flat_image_flat_inside_and_reflect_fills_the_border():
    flat = np.full((4, 16, 16, 1), 0.5, "float32")
    rotated = keras.ops.convert_to_numpy(augment.RandomAffine(rotation=40, seed=0)(flat, training=True))
    assert np.allclose(rotated[:, 7:9, 7:9], 0.5) and (rotated < 0.25).any()  # black corners
    reflected = augment.RandomAffine(rotation=40, scale=(0.7, 0.8), fill_mode="reflect", seed=0)(flat, training=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reflected), 0.5, atol=1e-6)


def test_resized_crop_takes_one_window_per_image_resized_as_torchvision_and_never_zooms_out():
    # A horizontal ramp: after cropping and resizing, each row is a ramp whose slope is w / W.
    width = 48
    ramp = np.tile(np.arange(width, dtype="float32"), (width, 1))[None, ..., None]
    batch = np.repeat(ramp, 64, axis=0)
    quarter = augment.RandomResizedCrop((0.25, 0.25), ratio=(1.0, 1.0), seed=0)
    out = keras.ops.convert_to_numpy(quarter(batch, training=True))[..., 0]
    slopes = np.diff(out[:, 10, 10:30], axis=1)
    np.testing.assert_allclose(slopes, 0.5, atol=1e-4)  # a 24-pixel window of a 48-pixel image
    lefts = out[:, 10, 20] - (20 + 0.5) * 0.5 + 0.5  # the window's left column, a whole pixel
    np.testing.assert_allclose(lefts, np.round(lefts), atol=1e-4)
    assert 0 <= lefts.min() and lefts.max() <= 24 and np.ptp(lefts) > 4
    papers_scale = augment.RandomResizedCrop(papers.QUTUB_ATAY_AUGMENTATION["random_resized_crop_scale"], seed=0)
    out = keras.ops.convert_to_numpy(papers_scale(batch, training=True))[..., 0]
    slopes = np.diff(out[:, 24, 10:38], axis=1).mean(axis=1)
    assert slopes.max() <= 1.0 + 1e-4 and slopes.min() < 0.99  # windows of 80-100 %, none larger
    whole = augment.RandomResizedCrop((1.0, 1.0), ratio=(1.0, 1.0), seed=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(whole(batch[:2], training=True)), batch[:2], atol=1e-4)


def test_saturation_blends_with_grey_as_torchvision_and_leaves_grey_faces_alone():
    rgb = np.random.default_rng(0).uniform(0.3, 0.6, (16, 6, 6, 3)).astype("float32")
    layer = augment.RandomSaturationScale(0.5, seed=0)
    out = keras.ops.convert_to_numpy(layer(rgb, training=True))
    weights = np.array(augment.GRAY_WEIGHTS, "float32")
    np.testing.assert_allclose(out @ weights, rgb @ weights, atol=1e-4)  # the grey level is kept
    gray = (rgb @ weights)[..., None]
    factors = ((out - gray) / (rgb - gray)).reshape(16, -1)
    np.testing.assert_allclose(factors, factors[:, :1] * np.ones_like(factors), rtol=1e-3)
    assert factors[:, 0].min() >= 0.5 - 1e-4 and factors[:, 0].max() <= 1.5 + 1e-4
    faces = rgb[..., :1]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(faces, training=True)), faces)


def test_ten_crop_layer_is_the_ten_crop_function_image_major():
    images = np.random.default_rng(0).integers(0, 256, (2, 9, 11, 3)).astype("float32")
    layer = augment.TenCrop(5)
    out = keras.ops.convert_to_numpy(layer(images))
    expected = augment.ten_crop(images, 5).transpose(1, 0, 2, 3, 4).reshape(20, 5, 5, 3)
    np.testing.assert_array_equal(out, expected)
    assert layer.compute_output_shape((2, 9, 11, 3)) == (20, 5, 5, 3)
    with pytest.raises(ValueError, match="size"):
        layer(np.zeros((1, 4, 4, 1), "float32"))


def test_bad_geometry_settings_raise_naming_the_argument():
    with pytest.raises(ValueError, match="rotation"):
        augment.RandomAffine(rotation=200)
    with pytest.raises(ValueError, match="translation"):
        augment.RandomTranslation(1.5)
    with pytest.raises(ValueError, match="fraction"):
        augment.RandomZoom(1.0)
    with pytest.raises(ValueError, match="fill_mode"):
        augment.RandomRotation(10, fill_mode="wrap")
    with pytest.raises(ValueError, match="scale"):
        augment.RandomResizedCrop((1.0, 0.5))


def test_models_with_ferkits_layers_reload_safely(tmp_path):
    layers = [augment.RandomAffine(10, 0.1, (0.9, 1.1), "reflect", seed=1), augment.RandomRotation(5, seed=2),
              augment.RandomTranslation(0.1, seed=3), augment.RandomZoom(0.1, seed=4),
              augment.RandomResizedCrop((0.8, 1.0), seed=5), augment.RandomSaturationScale(0.5, seed=6)]
    model = keras.Sequential([keras.Input((16, 16, 3)), *layers, keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(2, activation="softmax")])
    model.save(tmp_path / "layers.keras")
    reloaded = keras.models.load_model(tmp_path / "layers.keras", safe_mode=True)
    for before, after in zip(model.layers, reloaded.layers):
        assert type(before) is type(after) and before.get_config() == after.get_config()
    images = np.random.default_rng(0).random((4, 16, 16, 3), dtype="float32")
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


# ---------------------------------------------------------------------------
# Augmentation never costs a model its XLA compilation

def _tiny_model(side):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((side, side, 1)), keras.layers.Conv2D(2, 3, strides=2),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(7),
                             keras.layers.Activation("softmax", dtype="float32")])


class _JitWatch(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        self.jit_compile = self.model.jit_compile
        self.loss = logs["loss"]


@pytest.mark.slow
@pytest.mark.parametrize("recipe, arguments, side", [
    ("barbagallo_augment", {}, 48),
    ("reference_augment", {}, 48),
    ("qutub_augment", {}, 48),
    ("qutub_augment", {"ten_crop": True}, 40),
], ids=["barbagallo", "reference", "qutub", "qutub_ten_crop"])
def test_each_recipe_keeps_xla_on_and_one_train_step_runs(tmp_path, recipe, arguments, side):
    """About 3-12 s each on two CPU cores (the XLA compilation of the step)."""
    from ferkit import train

    images = np.random.default_rng(0).integers(0, 256, (8, 48, 48, 1), dtype=np.uint8)
    labels = np.arange(8) % 7
    model = _tiny_model(side)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=True)
    watch = _JitWatch()
    train.fit(model, (images, labels), None, epochs=1, batch_size=8, augment=augment.RECIPES[recipe](
        seed=0, **arguments), checkpoint_dir=tmp_path, csv_log=False, verbose=0, callbacks=[watch])
    assert watch.jit_compile is True and np.isfinite(watch.loss)


@pytest.mark.slow
def test_a_keras_layer_without_jit_support_does_turn_xla_off(tmp_path):
    """The control for the test above: Keras's RandomRotation switches XLA off (about 2 s)."""
    from ferkit import train

    images = np.zeros((8, 48, 48, 1), dtype=np.uint8)
    model = _tiny_model(48)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=True)
    watch = _JitWatch()
    with pytest.warns(UserWarning, match="jit_compile"):
        train.fit(model, (images, np.zeros(8, np.int64)), None, epochs=1, batch_size=8,
                  augment=keras.Sequential([keras.layers.RandomRotation(0.1)]), checkpoint_dir=tmp_path,
                  csv_log=False, verbose=0, callbacks=[watch])
    assert watch.jit_compile is False


@pytest.mark.parametrize("fill_mode, fill_value", [("constant", 0.0), ("constant", 0.3), ("reflect", 0.0),
                                                   ("nearest", 0.0)])
def test_the_separable_resampler_gives_the_gather_resamplers_numbers(fill_mode, fill_value):
    random = np.random.default_rng(4)
    images = random.random((3, 7, 9, 2), dtype="float32")
    rows = random.uniform(-9, 16, (3, 5)).astype("float32")  # inside, on the border and far outside
    cols = random.uniform(-12, 20, (3, 6)).astype("float32")
    grid_rows = np.broadcast_to(rows[:, :, None], (3, 5, 6))
    grid_cols = np.broadcast_to(cols[:, None, :], (3, 5, 6))
    gathered = augment.sample_bilinear(images, grid_rows, grid_cols, fill_mode, fill_value)
    separable = augment.sample_separable(images, rows, cols, fill_mode, fill_value)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(separable), keras.ops.convert_to_numpy(gathered),
                               atol=1e-5)


# ---------------------------------------------------------------------------
# Matijasevic's augmentation: the flip the paper states, read from ferkit.papers

def test_matijasevic_augment_is_one_per_image_flip_and_nothing_else(bright_faces):
    layers = augment.matijasevic_augment(seed=0)
    assert layers.name == "matijasevic_augment" and augment.RECIPES["matijasevic_augment"] is augment.matijasevic_augment
    assert [type(layer).__name__ for layer in layers.layers] == ["RandomFlip"]
    many = np.concatenate([bright_faces] * 4)
    out = keras.ops.convert_to_numpy(layers(many, training=True))
    mirrored = np.array([np.array_equal(after, before[:, ::-1]) for before, after in zip(many, out)])
    kept = np.array([np.array_equal(after, before) for before, after in zip(many, out)])
    assert np.all(mirrored | kept)  # each face is mirrored whole or left as it is, nothing else
    assert 0.35 < mirrored.mean() < 0.65  # one coin per image at p = 0.5 (ours: the paper states none)
    np.testing.assert_array_equal(layers(many, training=False), many)


def test_matijasevic_augment_follows_its_table_and_refuses_a_step_it_cannot_build(monkeypatch, bright_faces):
    stated = dict(papers.MATIJASEVIC_AUGMENTATION)
    monkeypatch.setattr(augment, "MATIJASEVIC_AUGMENTATION", {**stated, "horizontal_flip_probability": 0.0})
    never = augment.matijasevic_augment(seed=0)
    np.testing.assert_array_equal(never(bright_faces, training=True), bright_faces)
    monkeypatch.setattr(augment, "MATIJASEVIC_AUGMENTATION", {**stated, "steps": ("horizontal_flip", "random_rotation")})
    with pytest.raises(ValueError, match="MATIJASEVIC_AUGMENTATION.*random_rotation"):
        augment.matijasevic_augment(seed=0)
