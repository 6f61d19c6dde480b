"""How fast the host hands training batches to the step, the old path against the fast path.

Run: ``.venv/bin/python bench/bench_delivery.py [--batch 256] [--rounds 3] [--steps 6]``

Prints, on this machine:

1. the **host delivery rate** (training images per second) at batch ``--batch``:
   the old path (``ferkit.pipeline.make_dataset``: float conversion and
   augmentation on the CPU, in ``tf.data``) against the fast path
   (:class:`ferkit.pipeline.MemoryBatches`: ``uint8`` batches from memory,
   through the data adapter ``model.fit`` uses; the augmentation then runs in
   the step), without augmentation and with ``reference_augment`` and
   ``qutub_augment``;
2. the **augmentation itself**, inside a compiled function as in the train step
   (``ToModelInput`` then the recipe), in images per second, with XLA and
   without, on this CPU;
3. **XLA on against off for one train step** of the reference model with its
   augmentation in the step (``ferkit.train.fit``'s training model), and their ratio,
   then the same without augmentation.

Data: the real FER2013 training images when ``FERKIT_DATA`` holds ``fer2013/``, else
the generated sample (the rates depend on the image size, not on the faces). Modes
are timed in interleaved rounds and the median is reported, so a neighbour's load
on a shared machine hits every mode alike. Figures are measurements of this machine
at this moment, never asserted anywhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from ferkit import augment, data, models, pipeline, train  # noqa: E402
from ferkit.pipeline import tf  # noqa: E402

RECIPES = {"no augmentation": None, "reference_augment": augment.reference_augment,
           "qutub_augment": augment.qutub_augment}


def training_images():
    """FER2013's training split when FERKIT_DATA has it, else the sample's."""
    root = os.environ.get("FERKIT_DATA")
    if root and os.path.isdir(os.path.join(root, "fer2013")):
        images, labels = data.load_fer2013(os.path.join(root, "fer2013"), split="train")
        return images, labels, "FER2013 train (FERKIT_DATA)"
    images, labels = data.load_sample("train")
    return images, labels, "the generated sample, train (FERKIT_DATA has no fer2013/)"


def keras_feed(batches):
    """The tf.data dataset model.fit builds from a PyDataset (Keras 3's data adapter)."""
    from keras.src.trainers.data_adapters import get_data_adapter  # what fit calls

    return get_data_adapter(batches, shuffle=False).get_tf_dataset()


def delivery_rate(make_batches, images_per_round):
    """A callable timing one pass of ``images_per_round`` images through a warm iterator."""
    dataset = make_batches()
    iterator = iter(dataset.repeat())
    next(iterator)  # warm-up: fills the shuffle buffer, traces the map

    def one_round():
        delivered = 0
        while delivered < images_per_round:
            images, _ = next(iterator)
            delivered += int(images.shape[0])
        return delivered

    return one_round


def interleaved(modes, rounds):
    """Median images per second of each mode over interleaved rounds."""
    rates = {name: [] for name in modes}
    for _ in range(rounds):
        for name, one_round in modes.items():
            start = time.perf_counter()
            count = one_round()
            rates[name].append(count / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def delivery(images, labels, batch, rounds):
    images_per_round = 20 * batch  # the iterators repeat the data, so any set size will do
    modes = {}
    for name, recipe in RECIPES.items():
        augmentation = recipe(seed=0) if recipe else None
        modes[f"old: make_dataset, {name}"] = delivery_rate(
            lambda augmentation=augmentation: pipeline.make_dataset(images, labels, batch, training=True,
                                                                    augment=augmentation),
            images_per_round)
    modes["new: MemoryBatches (uint8; augmentation in the step)"] = delivery_rate(
        lambda: keras_feed(pipeline.MemoryBatches(images, labels, batch, training=True)), images_per_round)
    return interleaved(modes, rounds)


def augmentation_rates(images, batch, rounds):
    """Images per second of ToModelInput + each recipe, compiled as in the train step."""
    uint8 = tf.constant(images[:batch])
    prepare = pipeline.ToModelInput((48, 48), 1)
    modes = {}
    for name, recipe in RECIPES.items():
        if recipe is None:
            continue
        for xla in (True, False):
            layers = recipe(seed=0)
            step = tf.function(lambda x, layers=layers: layers(prepare(x), training=True), jit_compile=xla)
            step(uint8)  # compile

            def one_round(step=step, repeats=5):
                for _ in range(repeats):
                    out = step(uint8)
                out.numpy()
                return repeats * batch

            modes[f"{name}, {'XLA' if xla else 'no XLA'}"] = one_round
    return interleaved(modes, rounds)


class StepTimes(keras.callbacks.Callback):
    """Seconds per train step, after the first epoch (which compiles)."""

    def __init__(self):
        super().__init__()
        self.seconds, self.epoch = [], 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch > 0:
            float(logs["loss"])  # wait for the step
            self.seconds.append(time.perf_counter() - self.start)


def train_step_seconds(images, labels, batch, steps, jit_compile, augmented=True):
    keras.utils.set_random_seed(0)
    model = models.reference_cnn()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)
    timer = StepTimes()
    history, _ = train.fit(model, (images, labels), None, epochs=2, batch_size=batch, steps_per_epoch=steps,
                           augment=augment.reference_augment(seed=0) if augmented else None, csv_log=False,
                           verbose=0, callbacks=[timer])
    return statistics.median(timer.seconds), bool(history.model.jit_compile)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6, help="timed train steps per XLA mode")
    options = parser.parse_args()
    if tf is None:
        print("bench_delivery: skipped, it compares tf.data with the fast path and TensorFlow is not installed")
        return
    images, labels, source = training_images()
    print(f"data: {len(images):,} images {images.shape[1:]} from {source}; batch {options.batch}")
    print(f"machine: {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at start, "
          f"GPU: {train.gpu_names() or 'none'}, TensorFlow {tf.__version__}, Keras {keras.__version__}")

    started = time.perf_counter()
    rates = delivery(images, labels, options.batch, options.rounds)
    print(f"\n1. host delivery rate of training batches to the step (median of {options.rounds} rounds)")
    for name, rate in rates.items():
        print(f"  {name:<58} {rate:10,.0f} img/s")

    rates = augmentation_rates(images, options.batch, options.rounds)
    print(f"\n2. the augmentation itself, compiled as in the train step (ToModelInput + recipe), this CPU")
    for name, rate in rates.items():
        print(f"  {name:<58} {rate:10,.0f} img/s")

    print(f"\n3. one train step of reference_cnn, batch {options.batch} (median of {options.steps} steps)")
    for augmented in (True, False):
        on, jit_on = train_step_seconds(images, labels, options.batch, options.steps, True, augmented)
        off, jit_off = train_step_seconds(images, labels, options.batch, options.steps, False, augmented)
        print(f"  {'with reference_augment in the step' if augmented else 'without augmentation'}")
        print(f"    XLA on  (jit_compile={jit_on}) {on * 1000:8.1f} ms/step {options.batch / on:8,.0f} img/s")
        print(f"    XLA off (jit_compile={jit_off}) {off * 1000:8.1f} ms/step {options.batch / off:8,.0f} img/s")
        print(f"    ratio XLA on / off: {off / on:.2f}x the speed")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (the machine is shared); "
          f"{time.perf_counter() - started:.0f} s in all")


if __name__ == "__main__":
    main()
