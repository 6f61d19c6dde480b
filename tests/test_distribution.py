"""ferkit.train.data_parallel: the same training on two devices as on one, each device taking half a batch.

TensorFlow must be told to split the CPU into two logical devices before it starts, so
the two-device run happens in a fresh Python process.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import numpy as np
    from ferkit import train

    sizes = []

    class RecordBatch(keras.layers.Layer):
        '''Records, at run time, how many images each device's copy of the model sees per step.'''

        def call(self, images):
            seen = tf.numpy_function(lambda n: sizes.append(int(n)) or n, [tf.shape(images)[0]], tf.int32)
            with tf.control_dependencies([seen]):
                return tf.identity(images)

        def compute_output_shape(self, input_shape):
            return input_shape

    def build():
        keras.utils.set_random_seed(0)
        return keras.Sequential([keras.Input((12, 12, 1)), RecordBatch(), keras.layers.Flatten(),
                                 keras.layers.Dense(16, activation="relu"), keras.layers.Dense(4),
                                 keras.layers.Activation("softmax", dtype="float32")])

    random = np.random.default_rng(0)
    images = random.integers(0, 256, (96, 12, 12, 1), dtype=np.uint8)
    labels = random.integers(0, 4, 96)
    options = dict(epochs=3, batch_size=16, optimizer="sgd", learning_rate=0.1, csv_log=False, verbose=0,
                   checkpoint_dir=sys.argv[1])
    result = {}

    one = build()
    result["one_device_loss"] = train.fit(one, (images, labels), None, **options)[0].history["loss"]
    result["one_device_sizes"] = sorted(set(sizes))

    try:
        train.data_parallel(3)
    except ValueError as error:
        result["too_many"] = str(error)
    before = build()  # built before data_parallel: refused below
    result["devices"] = train.data_parallel(2)
    result["replicas"] = train.replicas()
    try:
        train.fit(before, (images, labels), None, **options)
    except ValueError as error:
        result["built_before"] = str(error)
    sizes.clear()
    two = build()
    try:
        train.fit(two, (images, labels), None, **{**options, "batch_size": 15})
    except ValueError as error:
        result["uneven"] = str(error)
    result["steps_before_training"] = len(sizes)
    history, best = train.fit(two, (images, labels), None, **options)
    result["two_device_loss"] = history.history["loss"]
    result["two_device_sizes"] = sorted(set(sizes))
    result["jit_compile"] = bool(history.model.jit_compile)
    reloaded = keras.models.load_model(best, safe_mode=True, custom_objects={"RecordBatch": RecordBatch})
    result["reloaded_outputs"] = int(reloaded.output_shape[-1])
    print("RESULT" + json.dumps(result))
    """
)


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory):
    folder = tmp_path_factory.mktemp("distribution")
    script = folder / "two_devices.py"
    script.write_text(SCRIPT)
    environment = {**os.environ, "KERAS_BACKEND": "tensorflow", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run([sys.executable, str(script), str(folder)], capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[1], env=environment)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT"):])


@pytest.mark.slow
def test_two_devices_follow_the_one_device_loss_curve_with_half_a_batch_each(two_devices):
    """About 25 s: a fresh TensorFlow process, then three short trainings."""
    assert two_devices["devices"] == two_devices["replicas"] == 2
    assert two_devices["one_device_sizes"] == [16]  # 96 images: six full batches of 16
    assert two_devices["two_device_sizes"] == [8]  # each device takes half of every batch
    one, two = two_devices["one_device_loss"], two_devices["two_device_loss"]
    assert len(one) == len(two) == 3 and one[-1] < one[0]
    assert two == pytest.approx(one, rel=1e-4)
    assert two_devices["jit_compile"] is False  # Keras's "auto": no XLA under tf.distribute
    assert two_devices["reloaded_outputs"] == 4


@pytest.mark.slow
def test_impossible_requests_are_refused_before_any_training(two_devices):
    assert "asked for 3" in two_devices["too_many"] and "2 CPU device" in two_devices["too_many"]
    assert "batch_size" in two_devices["uneven"] and "multiple of 2" in two_devices["uneven"]
    assert two_devices["steps_before_training"] == 0
    assert "before ferkit.train.data_parallel" in two_devices["built_before"]


def test_data_parallel_on_jax():
    pytest.importorskip("jax", reason="JAX is not installed here; keras.distribution.DataParallel needs it")
    pytest.skip("the JAX variant needs JAX's own process with XLA_FLAGS=--xla_force_host_platform_device_count=2")
