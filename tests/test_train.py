"""ferkit.train: class weights, precision policy, and a real learning run with a checkpoint."""

import csv
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

from ferkit import pipeline, train
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
