"""ferkit.train distillation: Keras's Distiller on the fast path, checked against a by-hand loss."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from ferkit import augment, pipeline, train


def small_model(seed, width=8):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Flatten(), keras.layers.Dense(width, "relu"),
                             keras.layers.Dense(4), keras.layers.Activation("softmax", dtype="float32")])


def by_hand_loss(labels, student, teacher, temperature, label_weight):
    """label_weight * CE(labels, student) + (1 - label_weight) * T^2 * KL(soft teacher || soft student)."""
    def soften(probabilities):
        logits = np.log(probabilities) / temperature
        soft = np.exp(logits - logits.max(axis=1, keepdims=True))
        return soft / soft.sum(axis=1, keepdims=True)

    hard = np.mean(-np.log(student[np.arange(len(labels)), labels]))
    soft_teacher, soft_student = soften(teacher), soften(student)
    kl = np.mean(np.sum(soft_teacher * np.log(soft_teacher / soft_student), axis=1))
    return label_weight * hard + (1 - label_weight) * temperature ** 2 * kl


@pytest.fixture
def batch():
    random = np.random.default_rng(0)
    return random.integers(0, 256, (6, 12, 12, 1), dtype=np.uint8), np.array([0, 1, 2, 3, 0, 1])


@pytest.mark.parametrize("temperature, label_weight", [(1.0, 0.5), (4.0, 0.3), (2.5, 0.0)])
def test_the_loss_at_temperature_t_is_the_by_hand_loss(batch, temperature, label_weight):
    images, labels = batch
    student, teacher = small_model(0), small_model(1, width=16)
    distiller = train.distiller(student, teacher, temperature=temperature, label_weight=label_weight)
    distiller.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    predicted = distiller(images, training=False)
    loss = float(distiller.compute_loss(x=images, y=labels, y_pred=predicted, training=False))
    floats = pipeline.as_model_input(images, student)
    expected = by_hand_loss(labels, student.predict(floats, verbose=0), teacher.predict(floats, verbose=0),
                            temperature, label_weight)
    assert loss == pytest.approx(expected, rel=1e-4)
    assert isinstance(distiller, keras.distillation.Distiller)


def test_fit_with_a_teacher_trains_on_that_loss_and_the_checkpoint_is_the_student(tmp_path, batch):
    images, labels = batch
    student, teacher = small_model(0), small_model(1, width=16)
    floats = pipeline.as_model_input(images, student)
    expected = by_hand_loss(labels, student.predict(floats, verbose=0), teacher.predict(floats, verbose=0), 3.0, 0.5)
    history, best = train.distill(student, teacher, (images, labels), (images, labels), epochs=1,
                                  batch_size=6, optimizer="sgd", learning_rate=0.0, checkpoint_dir=tmp_path,
                                  verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-4)
    assert {"student_loss", "distillation_loss"} <= set(history.history)
    reloaded = keras.models.load_model(best, safe_mode=True)
    assert [layer.name for layer in reloaded.layers] == [layer.name for layer in student.layers]


def test_the_teacher_sees_the_students_augmented_images(tmp_path, batch):
    images, labels = batch
    student = small_model(0)
    twin = small_model(0)  # the same weights: the distillation term is 0 only on the same images
    history, _ = train.distill(student, twin, (images, labels), None, epochs=1, batch_size=6, label_weight=0.0,
                               optimizer="sgd", learning_rate=0.0, augment=augment.RandomErasing(1.0, seed=0),
                               checkpoint_dir=tmp_path, csv_log=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(0.0, abs=1e-6)
    erased = augment.RandomErasing(1.0, seed=0)(pipeline.as_model_input(images, student), training=True)
    unerased = pipeline.as_model_input(images, student)
    gap = by_hand_loss(labels, student.predict(erased, verbose=0), twin.predict(unerased, verbose=0), 3.0, 0.0)
    assert gap > 1e-3  # what the loss would have been had the teacher seen the images unerased


def quadrant_teacher():
    """A fixed teacher: the class is the brightest quarter of the face (top-left, top-right, ...)."""
    inputs = keras.Input((12, 12, 1))
    quarters = keras.layers.Flatten()(keras.layers.AveragePooling2D(6)(inputs))
    logits = keras.layers.Dense(4, use_bias=False, kernel_initializer=keras.initializers.Identity(40.0))(quarters)
    return keras.Model(inputs, keras.layers.Activation("softmax", dtype="float32")(logits), name="quadrants")


@pytest.mark.slow
def test_a_student_learns_what_only_the_teacher_knows(tmp_path):
    """The labels are all 0; with label_weight=0 all the student learns comes from the teacher (about 6 s)."""
    random = np.random.default_rng(0)
    images = random.integers(0, 256, (600, 12, 12, 1), dtype=np.uint8)
    teacher = quadrant_teacher()
    truth = pipeline.as_model_input(images, teacher).reshape(600, 2, 6, 2, 6).mean(axis=(2, 4)).reshape(600, 4)
    teacher_labels = teacher.predict(pipeline.as_model_input(images, teacher), verbose=0).argmax(axis=1)
    np.testing.assert_array_equal(teacher_labels, truth.argmax(axis=1))
    student = small_model(0, width=32)

    def agreement():
        predicted = student.predict(pipeline.as_model_input(images[500:], student), verbose=0).argmax(axis=1)
        return np.mean(predicted == teacher_labels[500:])

    before = agreement()
    train.distill(student, teacher, (images[:500], np.zeros(500, np.int64)), None, epochs=10, batch_size=50,
                  temperature=2.0, label_weight=0.0, learning_rate=1e-2, checkpoint_dir=tmp_path, csv_log=False,
                  verbose=0)
    majority = np.bincount(teacher_labels[500:]).max() / 100
    assert agreement() > max(before, majority) + 0.25  # the hard labels alone would teach "always 0"


def test_soft_labels_soften_with_the_temperature():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.05, 0.05, 0.9]], "float32")
    np.testing.assert_allclose(train.soft_labels(probabilities, 1.0), probabilities, atol=1e-6)
    soft = train.soft_labels(probabilities, 4.0)
    np.testing.assert_allclose(soft.sum(axis=1), 1.0, atol=1e-6)
    assert np.all(soft.max(axis=1) < probabilities.max(axis=1))
    np.testing.assert_array_equal(soft.argmax(axis=1), probabilities.argmax(axis=1))
    expected = probabilities ** 0.25 / (probabilities ** 0.25).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(soft, expected, atol=1e-6)


@pytest.mark.parametrize("settings, argument", [
    (dict(temperature=0.0), "temperature"), (dict(temperature=-2.0), "temperature"),
    (dict(temperature="hot"), "temperature"), (dict(temperature=np.inf), "temperature"),
    (dict(label_weight=1.5), "label_weight"), (dict(label_weight=-0.1), "label_weight"),
    (dict(label_weight=True), "label_weight"),
])
def test_bad_temperature_or_weight_is_a_clear_error(tmp_path, batch, settings, argument):
    images, labels = batch
    with pytest.raises(ValueError, match=argument):
        train.distiller(small_model(0), small_model(1), **settings)
    with pytest.raises(ValueError, match=argument):
        train.distill(small_model(0), small_model(1), (images, labels), None, epochs=1, checkpoint_dir=tmp_path,
                      **settings)
    if "temperature" in settings:
        with pytest.raises(ValueError, match="temperature"):
            train.soft_labels(np.full((1, 4), 0.25), settings["temperature"])


def test_distillation_refuses_class_weights_and_a_missing_teacher(tmp_path, batch):
    images, labels = batch
    with pytest.raises(ValueError, match="class_weight"):
        train.distill(small_model(0), small_model(1), (images, labels), None, epochs=1, class_weight="balanced",
                      checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="teacher"):
        train.distill(small_model(0), None, (images, labels), None, epochs=1, checkpoint_dir=tmp_path)
