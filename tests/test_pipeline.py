"""ferkit.pipeline: shapes, dtypes, order, seeds and argument checks."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
import tensorflow as tf

from ferkit import pipeline


@pytest.fixture
def faces():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(10, 48, 48, 1), dtype=np.uint8)
    labels = np.arange(10) % 7
    return images, labels


def collect(dataset):
    images, labels = [], []
    for batch_images, batch_labels in dataset:
        images.append(batch_images.numpy())
        labels.append(batch_labels.numpy())
    return np.concatenate(images), np.concatenate(labels)


def test_batches_are_float_in_unit_range_with_int64_labels(faces):
    images, labels = faces
    dataset = pipeline.make_dataset(images, labels, batch_size=4, training=False)
    sizes = []
    for batch_images, batch_labels in dataset:
        assert batch_images.dtype == tf.float32
        assert batch_labels.dtype == tf.int64
        assert batch_images.shape[1:] == (48, 48, 1)
        sizes.append(batch_images.shape[0])
    assert sizes == [4, 4, 2]
    out_images, out_labels = collect(dataset)
    np.testing.assert_allclose(out_images, images / 255.0, atol=1e-7)
    np.testing.assert_array_equal(out_labels, labels)


def test_examples_stay_uint8_until_batching(faces):
    images, labels = faces
    examples = pipeline.example_dataset(images, labels, image_size=96)
    image_spec, label_spec = examples.element_spec
    assert image_spec.dtype == tf.uint8 and tuple(image_spec.shape) == (96, 96, 1)
    assert label_spec.dtype == tf.int64
    batched = pipeline.make_dataset(images, labels, 4, training=False, image_size=96)
    assert batched.element_spec[0].dtype == tf.float32


def test_resize_48_to_96_and_gray_to_rgb(faces):
    images, labels = faces
    dataset = pipeline.make_dataset(images, labels, 4, training=False, image_size=96, channels=3)
    out, _ = collect(dataset)
    assert out.shape == (10, 96, 96, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    # The uint8 resize is the float bilinear resize, rounded to whole grey levels.
    reference = tf.image.resize(images.astype("float32"), (96, 96), antialias=True).numpy() / 255.0
    np.testing.assert_allclose(out[..., :1], reference, atol=0.5 / 255 + 1e-6)


def test_resize_keeps_a_flat_image_flat():
    flat = np.full((2, 48, 48, 1), 77, dtype=np.uint8)
    out = pipeline.resize_images(flat, 96).numpy()
    assert out.dtype == np.uint8 and out.shape == (2, 96, 96, 1)
    assert np.all(out == 77)


def test_rgb_to_gray_uses_luma_weights():
    rgb = np.zeros((1, 4, 4, 3), dtype=np.uint8)
    rgb[..., 1] = 255  # pure green
    gray = pipeline.to_float(rgb, channels=1).numpy()
    assert gray.shape == (1, 4, 4, 1)
    np.testing.assert_allclose(gray, 0.587, atol=1e-3)


def test_cache_gives_the_same_batches(faces):
    images, labels = faces
    cached = collect(pipeline.make_dataset(images, labels, 3, False, image_size=64, cache=True))
    uncached = collect(pipeline.make_dataset(images, labels, 3, False, image_size=64, cache=False))
    np.testing.assert_array_equal(cached[0], uncached[0])


def test_shuffles_only_when_training_and_repeats_with_the_seed():
    images = np.repeat(np.arange(64, dtype=np.uint8)[:, None, None, None], 4, axis=1)
    images = np.repeat(images, 4, axis=2)
    labels = np.arange(64)
    _, kept = collect(pipeline.make_dataset(images, labels, 8, training=False))
    np.testing.assert_array_equal(kept, labels)

    dataset = pipeline.make_dataset(images, labels, 8, training=True, seed=3)
    first_epoch_images, first_epoch = collect(dataset)
    _, second_epoch = collect(dataset)
    assert sorted(first_epoch) == list(labels)
    assert not np.array_equal(first_epoch, labels)
    assert not np.array_equal(first_epoch, second_epoch)  # reshuffled every epoch
    # Images travel with their labels.
    np.testing.assert_allclose(first_epoch_images[:, 0, 0, 0] * 255.0, first_epoch, atol=1e-4)

    _, again = collect(pipeline.make_dataset(images, labels, 8, training=True, seed=3))
    np.testing.assert_array_equal(first_epoch, again)
    _, other = collect(pipeline.make_dataset(images, labels, 8, training=True, seed=4))
    assert not np.array_equal(first_epoch, other)


def test_augment_only_when_training_and_repeatable_with_seeds(faces):
    images, _ = faces
    labels = np.arange(len(images))  # one id per image, to find each output's source

    def flip_layer():
        return keras.layers.RandomFlip("horizontal", seed=11)

    plain, _ = collect(pipeline.make_dataset(images, labels, 4, training=False))
    evaluated, _ = collect(pipeline.make_dataset(images, labels, 4, training=False, augment=flip_layer()))
    np.testing.assert_array_equal(plain, evaluated)

    first, first_indices = collect(pipeline.make_dataset(images, labels, 4, True, augment=flip_layer(), seed=1))
    second, _ = collect(pipeline.make_dataset(images, labels, 4, True, augment=flip_layer(), seed=1))
    np.testing.assert_array_equal(first, second)
    # Every output is its source image or that image's mirror, and both happen.
    sources = {int(label): image.astype(np.float32) / np.float32(255) for image, label in zip(images, labels)}
    kept = mirrored = 0
    for image, index in zip(first, first_indices):
        source = sources[int(index)]
        if np.array_equal(image, source):
            kept += 1
        else:
            np.testing.assert_array_equal(image, source[:, ::-1])
            mirrored += 1
    assert kept > 0 and mirrored > 0


def test_images_only_dataset_for_prediction(faces):
    images, _ = faces
    dataset = pipeline.make_dataset(images, None, 4, training=False, image_size=32)
    assert isinstance(dataset.element_spec, tf.TensorSpec)
    batches = list(dataset)
    assert [batch.shape[0] for batch in batches] == [4, 4, 2]
    assert batches[0].shape[1:] == (32, 32, 1)


@pytest.mark.parametrize(
    "change, argument",
    [
        (dict(images=np.zeros((2, 8, 8, 1), dtype=np.float32)), "images"),
        (dict(images=np.zeros((2, 8, 8), dtype=np.uint8)), "images"),
        (dict(images=np.zeros((2, 8, 8, 2), dtype=np.uint8)), "images"),
        (dict(labels=np.zeros(3, dtype=np.int64)), "labels"),
        (dict(labels=np.zeros(2, dtype=np.float32)), "labels"),
        (dict(channels=2), "channels"),
        (dict(batch_size=0), "batch_size"),
        (dict(image_size=(0, 5)), "image_size"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(change, argument):
    arguments = dict(
        images=np.zeros((2, 8, 8, 1), dtype=np.uint8),
        labels=np.zeros(2, dtype=np.int64),
        batch_size=2,
        training=False,
    )
    arguments.update(change)
    with pytest.raises(ValueError, match=argument):
        pipeline.make_dataset(**arguments)


def test_array_batches_match_the_tf_data_pipeline():
    """The TensorFlow-free path (Keras on JAX or PyTorch) yields the same batches."""
    random = np.random.default_rng(0)
    images = random.integers(0, 256, (10, 40, 40, 1), dtype=np.uint8)
    labels = np.arange(10) % 7
    expected = list(pipeline.make_dataset(images, labels, 4, training=False, image_size=48, channels=3))
    batches = pipeline.ArrayBatches(images, labels, 4, training=False, image_size=(48, 48), channels=3)
    assert len(batches) == len(expected) == 3
    for index, (expected_images, expected_labels) in enumerate(expected):
        batch_images, batch_labels = batches[index]
        assert batch_images.dtype == np.float32 and batch_images.shape == tuple(expected_images.shape)
        np.testing.assert_allclose(batch_images, expected_images.numpy(), atol=1 / 255)
        np.testing.assert_array_equal(batch_labels, expected_labels.numpy())


def test_array_batches_shuffle_by_seed_and_augment_only_when_training():
    images = np.arange(8, dtype=np.uint8).reshape(8, 1, 1, 1) * 30
    labels = np.arange(8)
    first = pipeline.ArrayBatches(images, labels, 8, training=True, seed=1)
    again = pipeline.ArrayBatches(images, labels, 8, training=True, seed=1)
    order = first[0][1]
    assert sorted(order) == list(range(8)) and not np.array_equal(order, labels)
    np.testing.assert_array_equal(order, again[0][1])
    first.on_epoch_end()
    assert not np.array_equal(first[0][1], order)  # reshuffled every epoch
    doubling = lambda batch, training: batch * 2  # noqa: E731
    trained = pipeline.ArrayBatches(images, labels, 8, training=True, augment=doubling, seed=1)
    evaluated = pipeline.ArrayBatches(images, labels, 8, training=False, augment=doubling)
    np.testing.assert_allclose(trained[0][0], images[trained[0][1]] / 255 * 2, atol=1e-6)
    np.testing.assert_allclose(evaluated[0][0], images / 255, atol=1e-6)


# ---------------------------------------------------------------------------
# What a model expects, and the fast path's pieces

def _image_model(shape):
    return keras.Sequential([keras.Input(shape), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(7)])


def test_model_input_reads_size_and_channels():
    assert pipeline.model_input(_image_model((96, 96, 3))) == ((96, 96), 3)
    assert pipeline.model_input(_image_model((None, None, 1))) == (None, 1)
    assert pipeline.model_input(_image_model((48, 48, 2))) == ((48, 48), None)
    two = keras.Input((8, 8, 1)), keras.Input((8, 8, 1))
    with pytest.raises(ValueError, match="one image input"):
        pipeline.model_input(keras.Model(list(two), keras.layers.Add()(list(two))))
    vector = keras.Sequential([keras.Input((10,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="image input"):
        pipeline.model_input(vector)


def test_as_model_input_is_what_make_dataset_feeds(faces):
    images, labels = faces
    model = _image_model((96, 96, 3))
    batch = pipeline.as_model_input(images, model)
    assert isinstance(batch, np.ndarray) and batch.dtype == np.float32 and batch.shape == (10, 96, 96, 3)
    expected, _ = collect(pipeline.make_dataset(images, labels, 4, training=False, image_size=96, channels=3))
    np.testing.assert_array_equal(batch, expected)
    np.testing.assert_array_equal(pipeline.as_model_input(images[0], model), batch[:1])  # one image
    np.testing.assert_array_equal(pipeline.as_model_input(batch, model), batch)  # float in [0, 1] as is


@pytest.mark.parametrize("source, target", [((48, 48, 1), (96, 96, 3)), ((40, 40, 3), (40, 40, 1)),
                                            ((48, 48, 1), (48, 48, 1)), ((100, 100, 3), (48, 48, 3))])
def test_to_model_input_on_the_device_matches_the_host(source, target):
    images = np.random.default_rng(1).integers(0, 256, (6, *source), dtype=np.uint8)
    model = _image_model(target)
    layer = pipeline.ToModelInput(*pipeline.model_input(model))
    device = keras.ops.convert_to_numpy(layer(images))
    assert device.dtype == np.float32 and device.shape == (6, *target)
    np.testing.assert_allclose(device, pipeline.as_model_input(images, model), atol=1e-6)
    if source[:2] <= target[:2]:  # enlarging (all fit feeds it): compiles under XLA too
        compiled = tf.function(layer, jit_compile=True)
        np.testing.assert_allclose(compiled(images).numpy(), device, atol=1e-6)


def test_memory_batches_stay_uint8_shuffle_by_seed_and_drop_the_remainder():
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
    labels = np.arange(10)
    batches = pipeline.MemoryBatches(images, labels, 4, training=True, seed=2)
    assert len(batches) == 3
    first = [batches[index] for index in range(3)]
    assert all(batch.dtype == np.uint8 for batch, _ in first)
    order = np.concatenate([label for _, label in first])
    assert sorted(order) == list(range(10)) and not np.array_equal(order, labels)
    np.testing.assert_array_equal(np.concatenate([batch[:, 0, 0, 0] for batch, _ in first]), order)
    again = pipeline.MemoryBatches(images, labels, 4, training=True, seed=2)
    np.testing.assert_array_equal(np.concatenate([again[i][1] for i in range(3)]), order)
    batches.on_epoch_end()
    assert not np.array_equal(np.concatenate([batches[i][1] for i in range(3)]), order)
    kept = pipeline.MemoryBatches(images, labels, 4, training=False)
    np.testing.assert_array_equal(np.concatenate([kept[i][1] for i in range(3)]), labels)
    assert len(pipeline.MemoryBatches(images, labels, 4, training=True, drop_remainder=True)) == 2
    with pytest.raises(ValueError, match="labels"):
        pipeline.MemoryBatches(images, labels[:5], 4, training=True)


def test_an_augmentation_with_ten_views_repeats_the_labels_on_the_host_path(faces):
    from ferkit import augment

    images, labels = faces
    crops = keras.Sequential([augment.TenCrop(40)])
    batch_images, batch_labels = next(iter(pipeline.make_dataset(images, labels, 4, training=False)))
    trained = pipeline.make_dataset(images, labels, 4, training=True, augment=crops, seed=0)
    crop_images, crop_labels = next(iter(trained))
    assert crop_images.shape == (40, 40, 40, 1) and crop_labels.shape == (40,)
    np.testing.assert_array_equal(crop_labels.numpy().reshape(4, 10), np.repeat(crop_labels.numpy()[::10, None], 10, 1))
    arrays = pipeline.ArrayBatches(images, labels, 4, training=True, augment=crops, seed=0)
    array_images, array_labels = arrays[0]
    assert array_images.shape == (40, 40, 40, 1)
    np.testing.assert_array_equal(array_labels, np.repeat(labels[arrays.order[:4]], 10))
    assert batch_images.shape == (4, 48, 48, 1) and batch_labels.shape == (4,)  # no views without training


def test_repeating_memory_batches_reshuffle_after_every_pass():
    batches = pipeline.MemoryBatches(np.zeros((10, 1, 1, 1), np.uint8), np.arange(10), 4, training=True,
                                     seed=0, repeat=True)
    assert batches.num_batches is None
    labels = [batches[index][1] for index in range(9)]
    passes = [np.concatenate(labels[start : start + 3]) for start in (0, 3, 6)]
    for order in passes:
        assert sorted(order) == list(range(10))
    assert not np.array_equal(passes[0], passes[1]) and not np.array_equal(passes[1], passes[2])
