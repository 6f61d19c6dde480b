"""Tests of ferkit.sample, the generated synthetic-face dataset (lesson 02_fer2013)."""

import os

import numpy as np
import pytest

from ferkit.sample import SAMPLE_CLASS_FREQUENCIES, generate_faces

DISGUST, SURPRISE, NEUTRAL = 1, 5, 6
FER2013_TRAIN_COUNTS = np.array([3995, 436, 4097, 7215, 4830, 3171, 4965])


@pytest.fixture(scope="module")
def train_faces():
    return generate_faces(3000, seed=0)


@pytest.fixture(scope="module")
def validation_faces():
    return generate_faces(600, seed=1)


def test_class_frequencies_are_fer2013_proportions():
    frequencies = np.array(SAMPLE_CLASS_FREQUENCIES)
    assert frequencies.shape == (7,)
    assert frequencies.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(frequencies, FER2013_TRAIN_COUNTS / FER2013_TRAIN_COUNTS.sum())
    assert frequencies.argmin() == DISGUST


def test_grayscale_faces_have_fer2013_shape_and_range(train_faces):
    images, labels = train_faces
    assert images.shape == (3000, 48, 48, 1) and images.dtype == np.uint8
    assert labels.shape == (3000,) and labels.dtype == np.int64
    assert labels.min() >= 0 and labels.max() <= 6
    assert images.min() < 40 and images.max() > 215  # uses the whole brightness range
    assert images.std(axis=(1, 2, 3)).min() > 5  # no blank images


def test_colour_faces_have_rafdb_shape_and_colour():
    images, labels = generate_faces(40, seed=3, image_size=100, channels=3)
    assert images.shape == (40, 100, 100, 3) and images.dtype == np.uint8
    assert labels.shape == (40,) and labels.dtype == np.int64
    assert set(labels.tolist()) <= set(range(7))
    red, green, blue = (images[..., k].astype(float) for k in range(3))
    assert np.abs(red - blue).mean() > 10  # really coloured, not grey copied three times


def test_zero_faces_give_empty_arrays():
    images, labels = generate_faces(0, seed=0)
    assert images.shape == (0, 48, 48, 1) and images.dtype == np.uint8
    assert labels.shape == (0,) and labels.dtype == np.int64


@pytest.mark.parametrize("image_size, channels", [(48, 1), (64, 3)])
def test_same_seed_same_faces_other_seed_other_faces(image_size, channels):
    first = generate_faces(30, seed=7, image_size=image_size, channels=channels)
    again = generate_faces(30, seed=7, image_size=image_size, channels=channels)
    other = generate_faces(30, seed=8, image_size=image_size, channels=channels)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])
    assert np.abs(first[0].astype(int) - other[0].astype(int)).mean() > 10


def test_labels_follow_fer2013_frequencies(train_faces):
    _, labels = train_faces
    observed = np.bincount(labels, minlength=7) / len(labels)
    clean = np.array(SAMPLE_CLASS_FREQUENCIES)
    noise = 0.03  # the default: each noisy label moves to one of the 6 other classes
    expected = clean * (1 - noise) + noise * (1 - clean) / 6
    np.testing.assert_allclose(observed, expected, atol=0.03)
    assert observed.argmin() == DISGUST


@pytest.mark.parametrize("arguments, name", [
    (dict(count=-1), "count"),
    (dict(count=2.5), "count"),
    (dict(image_size=31), "image_size"),
    (dict(image_size=48.0), "image_size"),
    (dict(channels=2), "channels"),
    (dict(channels=4), "channels"),
    (dict(label_noise=-0.01), "label_noise"),
    (dict(label_noise=0.6), "label_noise"),
])
def test_bad_arguments_raise_value_error_naming_the_argument(arguments, name):
    call = dict(count=4, seed=0) | arguments
    with pytest.raises(ValueError, match=name):
        generate_faces(**call)


def _standardised_face_centres(images):
    """Each image scaled to mean 0 and std 1, cropped to the inner face."""
    pixels = images[..., 0].astype(float)
    pixels = (pixels - pixels.mean(axis=(1, 2), keepdims=True)) \
        / (pixels.std(axis=(1, 2), keepdims=True) + 1e-6)
    return pixels[:, 12:46, 10:38]


def test_class_mean_images_show_the_expressions(train_faces):
    images, labels = train_faces
    faces = _standardised_face_centres(images)
    classes = [c for c in range(7) if c != DISGUST]  # disgust is too rare for stable means

    def mean_distance(labels):
        means = {c: faces[labels == c].mean(axis=0) for c in classes}
        return np.mean([np.sqrt(((means[a] - means[b]) ** 2).mean())
                        for a in classes for b in classes if a < b])

    shuffled = np.random.default_rng(0).permutation(labels)
    # Class means differ far more than means of random groups of the same sizes.
    assert mean_distance(labels) > 1.5 * mean_distance(shuffled)
    # Surprised mouths are open: the mouth region is darker than in neutral faces.
    mouth = faces[:, 20:30, 6:22].mean(axis=(1, 2))
    assert mouth[labels == SURPRISE].mean() < mouth[labels == NEUTRAL].mean() - 0.1


def test_label_noise_replaces_about_that_fraction_of_labels():
    clean_images, clean = generate_faces(1000, seed=11, image_size=32, label_noise=0.0)
    noisy_images, noisy = generate_faces(1000, seed=11, image_size=32, label_noise=0.1)
    np.testing.assert_array_equal(clean_images, noisy_images)  # only the labels change
    changed = clean != noisy
    assert 0.065 < changed.mean() < 0.135


@pytest.mark.slow
def test_small_cnn_learns_the_expressions(train_faces, validation_faces):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    images, labels = train_faces
    validation_images, validation_labels = validation_faces
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((48, 48, 1)),
        keras.layers.Rescaling(1 / 127.5, offset=-1.0),
        keras.layers.Conv2D(16, 5, strides=2, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(7, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images, labels, epochs=5, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(validation_images, validation_labels, verbose=0)
    majority = np.bincount(validation_labels, minlength=7).max() / len(validation_labels)
    assert accuracy > 0.45
    assert accuracy > majority + 0.15
