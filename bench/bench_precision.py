"""Training throughput of the course's models under each precision policy, on this machine.

Run: ``.venv/bin/python bench/bench_precision.py [--models reference_cnn mondal_deep] [--images 512]``

For each model of :data:`ferkit.models.BUILDERS` named, prints training images
per second (median of ``--rounds`` timed epochs after one warm-up epoch) on
pre-materialised float32 arrays, built under ``float32``, ``mixed_float16`` and
``mixed_bfloat16`` (:func:`ferkit.train.precision`), and the ratio to
``float32``. On the TensorFlow backend each policy is also timed with XLA
(``jit_compile=True``) and without; Keras's JAX backend always compiles with
XLA, so there the "xla" column is the only one.

It is meant for a GPU machine (``KERAS_BACKEND=jax`` works where TensorFlow is
absent); on a CPU without native bfloat16 the mixed policies are emulated and
slow, so keep ``--images`` small there. Figures are measurements of this
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

from ferkit import experiments, models, train  # noqa: E402

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def experiment_input(builder_name):
    """Input shape and builder arguments of the experiment that trains ``builder_name``.

    The experiment of the same name comes first (``fer_kd``, not one of its ablation rows).

    Models no experiment trains (LeNet-5) take 48x48x1 faces and their builder's defaults.
    """
    table = experiments.experiments()
    named = [table[builder_name]] if builder_name in table else []
    for experiment in named + list(table.values()):
        if experiment.builder == builder_name:
            return experiment.input_shape, experiment.builder_arguments
    return (48, 48, 1), {}


def training_rate(builder, input_shape, policy, jit_compile, images, labels, batch_size, rounds):
    """Median training images per second of one freshly built model."""
    keras.utils.set_random_seed(0)
    with train.precision(policy):
        model = builder(input_shape=input_shape)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit_compile)
    model.fit(images, labels, batch_size=batch_size, epochs=1, verbose=0)  # warm-up: compilation
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        model.fit(images, labels, batch_size=batch_size, epochs=1, verbose=0)
        seconds.append(time.perf_counter() - start)
    return len(images) / statistics.median(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["reference_cnn"], choices=sorted(models.BUILDERS))
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--policies", nargs="+", default=list(POLICIES), choices=POLICIES)
    options = parser.parse_args()

    backend = keras.backend.backend()
    xla_modes = (True, False) if backend == "tensorflow" else (True,)
    gpus = train.gpu_names()
    print(f"Keras {keras.__version__} on {backend}; {os.cpu_count()} CPU cores; "
          f"GPU: {', '.join(gpus) if gpus else 'none'}; batch {options.batch_size}, "
          f"{options.images} random images per epoch")
    random = np.random.default_rng(0)
    for name in options.models:
        builder = models.BUILDERS[name]
        input_shape, arguments = experiment_input(name)
        images = random.random((options.images, *input_shape), dtype=np.float32)
        labels = random.integers(0, 7, options.images)
        print(f"\n{name} {input_shape}")
        baseline = {}
        for jit_compile in xla_modes:
            for policy in options.policies:
                rate = training_rate(lambda **shape: builder(**shape, **arguments), input_shape, policy,
                                     jit_compile, images, labels, options.batch_size, options.rounds)
                baseline.setdefault(jit_compile, rate)
                print(f"  {policy:<15} {'xla' if jit_compile else 'no xla':<7} {rate:10.0f} img/s   "
                      f"ratio to float32 {rate / baseline[jit_compile]:5.2f}")


if __name__ == "__main__":
    main()
