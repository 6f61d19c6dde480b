"""Training images per second of each paper's model with its augmentation: old path against new.

Run on a GPU machine (``bench/gpu_run.sh`` calls it in time-boxed groups)::

    .venv/bin/python bench/bench_gpu.py --models bedi_cnn fer_kd reference --batch 256

For each experiment named (``ferkit.experiments``: builder, input shape, augmentation),
a fresh model is built under ``--precision`` (default ``auto``: ``mixed_float16`` on a
GPU) and trained for two epochs of ``--steps`` batches of ``--batch`` random ``uint8``
48x48 faces (the rate does not depend on what the faces show); the second epoch is
timed. Two paths:

* **old**: ``ferkit.pipeline.make_dataset(..., augment=...)`` (scaling, resizing and
  augmentation on the CPU, in ``tf.data``), then ``model.fit``;
* **new**: ``ferkit.train.fit(model, (images, labels), augment=...)``: ``uint8``
  batches from memory, preparation and augmentation inside the compiled step;
  with ``--spe N`` also with ``steps_per_execution=N``.

Prints one row per model (images/s, the speed-up, whether the new path kept XLA) and,
with ``--csv``, writes the table. Without a GPU it says so and stops, unless
``--allow-cpu`` (the dry run of ``gpu_run.sh``). Figures are measurements of that
machine at that moment, never asserted anywhere.
"""

from __future__ import annotations

import argparse
import csv
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ferkit import augment, experiments, models, pipeline, train  # noqa: E402
from ferkit.pipeline import tf  # noqa: E402

GROUPS = {
    "small": ["bedi_cnn", "mondal_shallow", "mondal_deep", "fer_kd", "reference"],
    "transfer": ["vgg16", "vgg19", "resnet18", "efficientnet_b0", "resnet50"],
}
"""The paper models in two groups, each meant to fit in one command of a few minutes."""


class StepsTimer(keras.callbacks.Callback):
    """Seconds from the first to the last train step of the last epoch (the first epoch compiles).

    Callbacks that run between epochs (ferkit's checkpoint) are outside the timed span.
    """

    def __init__(self, steps):
        super().__init__()
        self.steps, self.epoch, self.seconds = steps, 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch > 0 and batch == 0:
            self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch > 0 and batch == self.steps - 1:
            float(logs["loss"])  # waits for the device
            self.seconds = time.perf_counter() - self.start


def build(experiment, precision):
    keras.utils.set_random_seed(0)
    with train.precision(precision):
        return getattr(models, experiment.builder)(input_shape=experiment.input_shape,
                                                   **experiment.builder_arguments)


def recipe(experiment):
    return augment.RECIPES[experiment.augment](seed=0) if experiment.augment else None


def old_path(experiment, images, labels, batch, precision):
    model = build(experiment, precision)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    height, width, channels = experiment.input_shape
    dataset = pipeline.make_dataset(images, labels, batch, training=True, augment=recipe(experiment),
                                    image_size=(height, width), channels=channels)
    timer = StepsTimer(-(-len(images) // batch))
    model.fit(dataset, epochs=2, verbose=0, callbacks=[timer], shuffle=False)
    return len(images) / timer.seconds, bool(model.jit_compile)


def new_path(experiment, images, labels, batch, precision, steps_per_execution=None):
    model = build(experiment, precision)
    timer = StepsTimer(-(-len(images) // batch))
    history, _ = train.fit(model, (images, labels), None, epochs=2, batch_size=batch,
                           augment=recipe(experiment), steps_per_execution=steps_per_execution,
                           csv_log=False, verbose=0, callbacks=[timer])
    return len(images) / timer.seconds, bool(history.model.jit_compile)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=None,
                        help=f"experiment names, or a group: {sorted(GROUPS)} (default: both groups)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=40, help="batches per epoch (two epochs, the second timed)")
    parser.add_argument("--spe", type=int, default=0, help="also time the new path with steps_per_execution=N")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (a dry run)")
    parser.add_argument("--csv", default=None, help="also write the table to this CSV file")
    parser.add_argument("--list-group", choices=sorted(GROUPS), help="print a group's models and stop")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds: start no further model once this much time has passed")
    options = parser.parse_args()
    if options.list_group:
        print(" ".join(GROUPS[options.list_group]))
        return

    gpus = train.gpu_names()
    if not gpus and not options.allow_cpu:
        print("bench_gpu: skipped, no GPU here (bench/gpu_run.sh --dry-run runs it on the CPU, tiny)")
        return
    if tf is None:
        print("bench_gpu: skipped, the old path is tf.data and TensorFlow is not installed")
        return
    names = []
    for name in options.models or sorted(GROUPS):
        names += GROUPS.get(name, [name])
    table = experiments.experiments()
    unknown = [name for name in names if name not in table]
    if unknown:
        raise SystemExit(f"--models: unknown experiments {unknown}; known: {sorted(table)} or {sorted(GROUPS)}")

    count = options.batch * options.steps
    random = np.random.default_rng(0)
    images = random.integers(0, 256, (count, 48, 48, 1), dtype=np.uint8)
    labels = random.integers(0, 7, count)
    policy = train.resolve_precision(options.precision)
    print(f"Keras {keras.__version__} on {keras.backend.backend()}, TensorFlow {tf.__version__}; "
          f"GPU: {', '.join(gpus) or 'none (dry run on the CPU)'}; {os.cpu_count()} CPU cores; "
          f"batch {options.batch}, {options.steps} steps per epoch, precision {policy}")
    header = ["model", "input", "augmentation", "old img/s", "new img/s", "new/old", "new XLA"]
    if options.spe:
        header += [f"new spe={options.spe} img/s"]
    print(" | ".join(header), flush=True)
    writer = None
    if options.csv:
        stream = open(options.csv, "w", newline="")
        writer = csv.writer(stream)
        writer.writerow(header)
    began = time.perf_counter()
    for name in names:
        if options.budget is not None and time.perf_counter() - began > options.budget:
            print(f"{name}: not run, the time budget of {options.budget:.0f} s is spent", flush=True)
            continue
        experiment = table[name]
        started = time.perf_counter()
        old, _ = old_path(experiment, images, labels, options.batch, policy)
        new, xla = new_path(experiment, images, labels, options.batch, policy)
        row = [name, "x".join(map(str, experiment.input_shape)), experiment.augment or "none",
               f"{old:,.0f}", f"{new:,.0f}", f"{new / old:.1f}x", str(xla)]
        if options.spe:
            fused, _ = new_path(experiment, images, labels, options.batch, policy, options.spe)
            row += [f"{fused:,.0f}"]
        print(" | ".join(row) + f"   ({time.perf_counter() - started:.0f} s)", flush=True)
        if writer is not None:  # row by row: a run cut short keeps what it measured
            writer.writerow(row)
            stream.flush()
    print(f"{time.perf_counter() - began:.0f} s in all", flush=True)


if __name__ == "__main__":
    main()
