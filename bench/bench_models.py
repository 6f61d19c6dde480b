"""Training and inference speed (images/s) of every ferkit model, float32 vs mixed bfloat16.

Each model is built at its builder's default ("natural") input size with
``weights=None``, fed random [0, 1] images in batches of 64 (no tf.data
pipeline: bench_pipeline measures that cost), and timed after one warm-up
batch. Models are compiled with Adam, no XLA (``jit_compile=False``). The
precision policy is set with ``keras.mixed_precision.set_global_policy``, the
model is rebuilt under it, and the policy is restored afterwards.

The figures let the lessons set CPU epochs honestly; they depend on the machine
and its load, so the script prints both with the table. Nothing is asserted.

    python bench/bench_models.py                  # every model, both precisions
    python bench/bench_models.py --quick          # fewer timed batches
    python bench/bench_models.py --models bedi_cnn,fer_kd --precisions float32
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import logging  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ferkit import models  # noqa: E402

#: Cheapest first, so a partial run still says something.
DEFAULT_ORDER = (
    "bedi_cnn",
    "lenet5",
    "mondal_shallow",
    "mondal_dropout",
    "efficientnet_b0",
    "resnet18",
    "fer_kd",
    "vgg16",
    "resnet50",
    "vgg19",
    "mondal_deep",
)
TRANSFER = {"vgg16", "vgg19", "resnet50", "efficientnet_b0"}


# Each model traces its own train and predict functions once; TensorFlow's
# "retracing" warning about that is noise here.
logging.getLogger("tensorflow").setLevel(logging.ERROR)


def build(name):
    """Build ``name`` at its default input size, from random weights (no download)."""
    kwargs = {"weights": None} if name in TRANSFER else {}
    return models.BUILDERS[name](**kwargs)


def images_per_second(step, batch_size, min_steps, min_seconds, max_steps):
    """Time ``step()`` after one warm-up call; return images per second."""
    step()  # warm-up: traces the function, allocates buffers
    steps, start = 0, time.perf_counter()
    while steps < min_steps or (time.perf_counter() - start < min_seconds and steps < max_steps):
        step()
        steps += 1
    return steps * batch_size / (time.perf_counter() - start)


def measure(name, policy, batch_size, min_steps, min_seconds, max_steps):
    """Return ``(train images/s, inference images/s)`` for one model under one policy."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.clear_session()
        model = build(name)
        rng = np.random.default_rng(0)
        images = rng.random((batch_size, *model.input_shape[1:]), dtype=np.float32)
        labels = rng.integers(0, 7, batch_size)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=False)
        train = images_per_second(
            lambda: model.train_on_batch(images, labels), batch_size, min_steps, min_seconds, max_steps
        )
        infer = images_per_second(
            lambda: model.predict_on_batch(images), batch_size, min_steps, min_seconds, max_steps
        )
        return train, infer, model.input_shape[1:]
    finally:
        keras.mixed_precision.set_global_policy(previous)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 timed batch minimum, 2 s per measurement")
    parser.add_argument("--models", default=",".join(DEFAULT_ORDER), help="comma-separated model names")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16", help="comma-separated Keras policies")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    names = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = sorted(set(names) - set(models.BUILDERS))
    if unknown:
        parser.error(f"--models: unknown {unknown}; choose from {sorted(models.BUILDERS)}")
    policies = [policy.strip() for policy in args.precisions.split(",") if policy.strip()]
    min_steps, min_seconds, max_steps = (1, 2.0, 5) if args.quick else (3, 10.0, 30)

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average at start {os.getloadavg()[0]:.1f}; Keras {keras.__version__}, "
          f"backend {keras.backend.backend()}; batch {args.batch_size}; "
          f"{'quick' if args.quick else 'full'} mode", flush=True)
    rows = []
    for name in names:
        row = {"model": name}
        for policy in policies:
            start = time.perf_counter()
            train, infer, shape = measure(name, policy, args.batch_size, min_steps, min_seconds, max_steps)
            row["input"] = "x".join(str(size) for size in shape)
            row[f"train {policy}"] = round(train, 1)
            row[f"infer {policy}"] = round(infer, 1)
            print(f"  {name:16s} {policy:15s} train {train:9.1f} img/s  infer {infer:9.1f} img/s  "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    print(f"\nimages/s, batch {args.batch_size} (load average at end {os.getloadavg()[0]:.1f}):")
    print(table.to_string())
    return table


if __name__ == "__main__":
    main()
