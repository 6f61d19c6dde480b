"""ferkit.train: class weights, precision policy, and a real learning run with a checkpoint."""

import csv
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from ferkit import augment, evaluate, pipeline, train
from ferkit.data import load_sample


def small_cnn(seed=0):
    """A CNN small enough to learn the sample in seconds on two CPU cores."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((48, 48, 1)),
            keras.layers.Conv2D(16, 3, strides=2, activation="relu", padding="same"),
            keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(7),
            keras.layers.Activation("softmax", dtype="float32"),
        ]
    )


def test_class_weights_are_scikit_learns_balanced_weights():
    labels = np.array([0] * 50 + [1] * 5 + [3] * 45)
    weights = train.class_weights(labels)
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 3]), y=labels)
    assert list(weights) == [0, 1, 3]
    np.testing.assert_allclose([weights[0], weights[1], weights[3]], expected)
    assert weights[1] > weights[3] > weights[0]
    assert train.class_weights(labels, num_classes=7)[6] == 1.0
    with pytest.raises(ValueError, match="labels"):
        train.class_weights(np.array([0.5, 1.5]))


def test_precision_policy_applies_to_models_built_inside_the_block():
    assert train.resolve_precision(False) == "float32"
    assert train.resolve_precision("mixed_bfloat16") == "mixed_bfloat16"
    if not train.has_gpu():
        assert train.resolve_precision("auto") == "float32"
        assert train.resolve_precision(True) == "mixed_bfloat16"
    with pytest.raises(ValueError, match="policy"):
        train.resolve_precision("float8")
    before = keras.config.dtype_policy().name
    with train.precision("mixed_bfloat16") as name:
        assert name == "mixed_bfloat16"
        model = small_cnn()
    assert keras.config.dtype_policy().name == before
    assert model.layers[0].compute_dtype == "bfloat16"
    assert model.outputs[0].dtype == "float32"  # the softmax stays float32
    later = small_cnn()
    assert later.layers[0].compute_dtype == "float32"


def test_fit_refuses_mixed_precision_on_a_model_built_before_the_policy(tmp_path):
    images = np.zeros((8, 48, 48, 1), dtype=np.uint8)
    labels = np.zeros(8, dtype=np.int64)
    with pytest.raises(ValueError, match="before building the model"):
        train.fit(small_cnn(), (images, labels), None, epochs=1, mixed_precision="mixed_bfloat16",
                  checkpoint_dir=tmp_path)


def test_fit_checks_its_arguments(tmp_path):
    images = np.zeros((8, 48, 48, 1), dtype=np.uint8)
    labels = np.zeros(8, dtype=np.int64)
    dataset = pipeline.make_dataset(images, labels, 4, training=True)
    with pytest.raises(ValueError, match="balanced"):
        train.fit(small_cnn(), dataset, None, epochs=1, class_weight="balanced", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="epochs"):
        train.fit(small_cnn(), dataset, None, epochs=0, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="train"):
        train.fit(small_cnn(), images, None, epochs=1, checkpoint_dir=tmp_path)


@pytest.mark.slow
def test_fit_learns_the_sample_and_the_best_checkpoint_reloads(tmp_path):
    """A real learning test: well above chance (1/7) and the majority class in a few epochs."""
    images, labels = load_sample("train")
    val_images, val_labels = load_sample("public_test")
    majority = np.bincount(val_labels).max() / len(val_labels)

    model = small_cnn(seed=0)
    history, best_path = train.fit(
        model,
        (images, labels),
        (val_images, val_labels),
        epochs=5,
        batch_size=32,
        learning_rate=3e-3,
        checkpoint_dir=tmp_path / "run",
        early_stopping_patience=3,
        verbose=0,
    )
    val_accuracy = history.history["val_accuracy"]
    assert max(val_accuracy) > 0.4 > majority + 0.1

    best_path = Path(best_path)
    assert best_path == tmp_path / "run" / "best.keras" and best_path.exists()
    with open(tmp_path / "run" / "history.csv") as log:
        assert len(list(csv.DictReader(log))) == len(val_accuracy)

    # The model ends with its best weights (early stopping restores them), and
    # the checkpoint reloads, safely, to the same predictions.
    reloaded = keras.models.load_model(best_path, safe_mode=True)
    val_batch = val_images[:200].astype("float32") / 255.0
    np.testing.assert_allclose(
        reloaded.predict(val_batch, verbose=0), model.predict(val_batch, verbose=0), atol=1e-6
    )
    best_epoch = int(np.argmin(history.history["val_loss"]))
    loss, accuracy = reloaded.evaluate(val_images / 255.0, val_labels, verbose=0)
    assert loss == pytest.approx(history.history["val_loss"][best_epoch], rel=1e-4)
    assert accuracy == pytest.approx(val_accuracy[best_epoch], abs=1e-6)


# ---------------------------------------------------------------------------
# The fast path: uint8 batches from memory, preparation and augmentation in the step

def tiny_model(shape=(48, 48, 1), seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input(shape), keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(7),
                             keras.layers.Activation("softmax", dtype="float32")])


def cross_entropy(probabilities, labels):
    return float(np.mean(-np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0))))


@pytest.fixture
def faces():
    random = np.random.default_rng(0)
    return random.integers(0, 256, (48, 48, 48, 1), dtype=np.uint8), random.integers(0, 7, 48)


class Blackout(keras.layers.Layer):
    """A test augmentation: every training image becomes black."""

    def call(self, images, training=True):
        return images * 0.0 if training else images


def test_augment_runs_on_training_batches_only_and_the_checkpoint_is_the_callers_model(tmp_path, faces):
    images, labels = faces
    model = tiny_model((64, 64, 3))  # the step resizes 48 -> 64 and repeats grey to RGB
    history, best = train.fit(model, (images, labels), (images, labels), epochs=1, batch_size=16,
                              optimizer="sgd", learning_rate=0.0, augment=Blackout(), checkpoint_dir=tmp_path,
                              verbose=0)
    black = np.zeros((len(images), 64, 64, 3), "float32")
    assert history.history["loss"][0] == pytest.approx(cross_entropy(model.predict(black, verbose=0), labels),
                                                       rel=1e-5)
    real = pipeline.as_model_input(images, model)
    assert history.history["val_loss"][0] == pytest.approx(cross_entropy(model.predict(real, verbose=0), labels),
                                                           rel=1e-5)
    reloaded = keras.models.load_model(best, safe_mode=True)
    assert [type(layer) for layer in reloaded.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_array_equal(evaluate.predict(reloaded, images), evaluate.predict(model, images))


def test_ten_crop_trains_on_every_crop_and_validates_on_their_average(tmp_path, faces):
    images, labels = faces
    model = tiny_model((40, 40, 1))
    crops = keras.Sequential([augment.TenCrop(40)])
    history, _ = train.fit(model, (images, labels), (images, labels), epochs=1, batch_size=16, optimizer="sgd",
                           learning_rate=0.0, augment=crops, checkpoint_dir=tmp_path, verbose=0)
    views = augment.ten_crop(images, 40).astype("float32") / 255.0  # (10, N, 40, 40, 1)
    each = np.stack([model.predict(view, verbose=0) for view in views])  # (10, N, 7)
    per_crop = np.mean([cross_entropy(probabilities, labels) for probabilities in each])
    assert history.history["loss"][0] == pytest.approx(per_crop, rel=1e-5)
    averaged = cross_entropy(each.mean(axis=0), labels)
    assert history.history["val_loss"][0] == pytest.approx(averaged, rel=1e-5)
    tta = evaluate.predict(model, images, tta="tencrop", crop_size=40)
    np.testing.assert_allclose(tta, each.mean(axis=0), atol=1e-5)  # the same average as at test time


def test_the_host_arrays_stay_uint8(tmp_path):
    import tracemalloc

    images = np.zeros((2048, 48, 48, 1), dtype=np.uint8)
    labels = np.zeros(2048, dtype=np.int64)
    model = tiny_model()
    tracemalloc.start()
    try:
        train.fit(model, (images, labels), None, epochs=1, batch_size=128, checkpoint_dir=tmp_path,
                  csv_log=False, verbose=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    float_copy = images.size * 4
    assert peak < float_copy / 2  # batches come and go; a float32 copy of the set never exists


def test_steps_per_execution_and_the_large_batch_learning_rate(tmp_path, faces):
    images, labels = faces

    class Watch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.steps = self.model.steps_per_execution

    watch = Watch()
    model = tiny_model()
    train.fit(model, (images, labels), None, epochs=2, batch_size=32, base_batch_size=8, optimizer="adam",
              learning_rate=1e-3, steps_per_execution=2, steps_per_epoch=4, checkpoint_dir=tmp_path, verbose=0,
              callbacks=[watch])
    assert watch.steps == 2
    assert int(model.optimizer.iterations) == 8  # 2 epochs of 4 steps: the 48 faces (2 batches) repeat
    assert float(model.optimizer.learning_rate) == pytest.approx(2e-3)  # sqrt(32 / 8) for Adam
    assert train.scaled_learning_rate(0.1, 256, 64, "sgd") == pytest.approx(0.4)  # linear for SGD
    assert train.scaled_learning_rate(1e-3, 64, 256, "adamw") == pytest.approx(5e-4)
    with pytest.raises(ValueError, match="base_batch_size"):
        train.fit(model, (images, labels), None, epochs=1, base_batch_size=8, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="steps_per_execution"):
        train.fit(tiny_model(), (images, labels), None, epochs=1, steps_per_execution=0, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="augment"):
        train.fit(tiny_model(), (images, labels), None, epochs=1, augment="flip", checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="train images"):
        train.fit(tiny_model(), (images.astype("float32"), labels), None, epochs=1, checkpoint_dir=tmp_path)


def test_a_compiled_model_keeps_its_own_settings(tmp_path, faces):
    images, labels = faces
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="sparse_categorical_crossentropy",
                  metrics=["sparse_top_k_categorical_accuracy"])
    history, _ = train.fit(model, (images, labels), None, epochs=1, batch_size=16, checkpoint_dir=tmp_path,
                           verbose=0)
    assert "sparse_top_k_categorical_accuracy" in history.history and "accuracy" not in history.history
    assert isinstance(model.optimizer, keras.optimizers.SGD) and int(model.optimizer.iterations) == 3


def test_data_parallel_refuses_more_devices_than_exist():
    with pytest.raises(ValueError, match="devices"):
        train.data_parallel(10_000)
    with pytest.raises(ValueError, match="devices"):
        train.data_parallel(0)
    assert train.replicas() == 1
