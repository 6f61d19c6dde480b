"""What the input pipeline and the precision policy cost in training throughput.

Run: ``.venv/bin/python bench/bench_pipeline.py [--images 1024] [--rounds 3] [--precision-images 256]``

Prints training images per second for one small CNN (48x48x1, batch 64) fed

* from pre-materialised float32 arrays (``model.fit(x_float, y)``): the baseline,
* through ``ferkit.pipeline.make_dataset`` without augmentation,
* through ``make_dataset`` with Barbagallo's flip and with Qutub & Atay's pipeline,

each as a ratio to the baseline (goal: the pipeline without augmentation
costs under 10 %), then the same CNN built under ``mixed_bfloat16`` vs
``float32`` on pre-materialised arrays.

The modes are timed in interleaved rounds (A B C D, A B C D, ...) after one
warm-up epoch each, and the median epoch is reported, so a neighbour's load
on a shared machine hits every mode alike. Figures are measurements of this
machine at this moment, never asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ferkit import augment, pipeline, train  # noqa: E402

BATCH = 64


def small_cnn(seed=0):
    """Three conv blocks and a small head, ending in a float32 softmax."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((48, 48, 1)),
            keras.layers.Conv2D(32, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(128, 3, activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(7),
            keras.layers.Activation("softmax", dtype="float32"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def load_images(count):
    try:
        from ferkit.data import load_sample

        images, labels = load_sample("train")
        images, labels = images[:count], labels[:count]
        source = "ferkit.data.load_sample('train')"
    except ImportError:
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (count, 48, 48, 1), dtype=np.uint8)
        labels = rng.integers(0, 7, count)
        source = "random uint8 (load_sample unavailable)"
    return images, labels, source


def timed_epochs(modes, rounds):
    """Median seconds per epoch for each mode, timed in interleaved rounds."""
    for fit_one_epoch in modes.values():  # warm-up: tracing, caches
        fit_one_epoch()
    seconds = {name: [] for name in modes}
    for _ in range(rounds):
        for name, fit_one_epoch in modes.items():
            start = time.perf_counter()
            fit_one_epoch()
            seconds[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in seconds.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precision-images", type=int, default=256,
                        help="images per epoch for the precision comparison (bf16 is slow without "
                             "hardware support)")
    options = parser.parse_args()

    images, labels, source = load_images(options.images)
    count = len(images)
    floats = images.astype("float32") / 255.0
    print(f"data: {count} images {images.shape[1:]} from {source}; batch {BATCH}")
    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at start, "
          f"GPU: {train.has_gpu()}, TensorFlow {tf.__version__}, Keras {keras.__version__}")

    def array_mode(model, count=count):
        return lambda: model.fit(
            floats[:count], labels[:count], batch_size=BATCH, epochs=1, shuffle=True, verbose=0
        )

    def dataset_mode(model, augmentation):
        dataset = pipeline.make_dataset(images, labels, BATCH, training=True, augment=augmentation)
        return lambda: model.fit(dataset, epochs=1, verbose=0, shuffle=False)

    modes = {
        "pre-materialised float32 arrays": array_mode(small_cnn()),
        "make_dataset, no augmentation": dataset_mode(small_cnn(), None),
        "make_dataset + barbagallo_augment": dataset_mode(small_cnn(), augment.barbagallo_augment(seed=0)),
        "make_dataset + qutub_augment": dataset_mode(small_cnn(), augment.qutub_augment(seed=0)),
    }
    seconds = timed_epochs(modes, options.rounds)
    baseline = count / seconds["pre-materialised float32 arrays"]
    print("\ntraining throughput (median of interleaved epochs)")
    for name, value in seconds.items():
        rate = count / value
        print(f"  {name:<36} {rate:8.0f} img/s   ratio {rate / baseline:5.2f}   "
              f"(cost {100 * (1 - rate / baseline):+5.1f} %)")

    with train.precision("mixed_bfloat16"):
        bf16_model = small_cnn()
    small = min(options.precision_images, count)
    precision_modes = {
        "float32": array_mode(small_cnn(), small),
        "mixed_bfloat16": array_mode(bf16_model, small),
    }
    seconds = timed_epochs(precision_modes, options.rounds)
    print(f"\nprecision on this machine (pre-materialised arrays, {small} images per epoch)")
    for name, value in seconds.items():
        print(f"  {name:<36} {small / value:8.0f} img/s   ratio {seconds['float32'] / value:5.2f}")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (the machine is shared)")


if __name__ == "__main__":
    main()
