"""What every lesson checks first: versions, GPU, and which data to use.

Each lesson's first code cell imports this module, calls :func:`describe` and passes
its parameters cell through :func:`resolve_data_source`, so that under CI or nbgrader
grading the generated sample is always used. Importing it starts TensorFlow without the
native log lines it would print into the lesson. Introduced in lesson 01_convolution.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def native_stderr_silenced():
    """Point file descriptor 2 at ``/dev/null`` for the duration: native libraries' log lines vanish.

    Python's own warnings and exceptions are unaffected (they still reach the caller);
    only what C++ code writes straight to the descriptor is dropped.
    """
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)


def _start_tensorflow_quietly():
    """Import TensorFlow and start its runtime without its C++ start-up lines.

    TensorFlow 2.21 logs to the process's standard error before it reads
    ``TF_CPP_MIN_LOG_LEVEL`` (oneDNN notices, CUDA probing on a machine without a GPU), and
    Jupyter shows those lines in the lesson. Starting the runtime here, once, keeps them out;
    TensorFlow's Python logger is then set to show errors only.
    ``FERKIT_NATIVE_LOGS=1`` keeps them. Without TensorFlow (Keras on JAX) nothing happens.
    """
    if os.environ.get("FERKIT_NATIVE_LOGS") == "1" or os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return
    with native_stderr_silenced():
        try:
            import tensorflow as tf
        except ImportError:
            return
        tf.config.list_physical_devices()
        tf.constant(0.0).numpy()
    # TensorFlow's Python notes (e.g. "triggered tf.function retracing" when a lesson
    # predicts with several models in turn) are for library authors; errors still show.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


_start_tensorflow_quietly()

DATA_SOURCES = ("sample", "fer2013")


def in_ci_or_grading():
    """True under continuous integration (``CI``) or nbgrader autograding (``NBGRADER_EXECUTION``)."""
    return bool(os.environ.get("CI") or os.environ.get("NBGRADER_EXECUTION"))


def resolve_data_source(requested, choices=DATA_SOURCES):
    """Return the data source a lesson should use: ``"sample"`` or one of ``choices``.

    ``"fer2013"`` (and ``"rafdb"``, in the lessons whose ``choices`` include it)
    needs the real data (``FERKIT_DATA``); under CI or grading the sample is used
    whatever was requested, and the function says so.
    """
    if requested not in choices:
        raise ValueError(f"DATA_SOURCE: expected one of {list(choices)}, found {requested!r}.")
    if requested != "sample" and in_ci_or_grading():
        print("Running under CI or nbgrader: using the generated sample instead of", requested)
        return "sample"
    return requested


def describe():
    """Return one line per fact: the versions (Python, TensorFlow when installed, Keras and its
    backend, ferkit), then the GPUs Keras sees (:func:`ferkit.train.gpu_names`) or that there is none.
    """
    import keras

    import ferkit
    from ferkit import train

    try:
        import tensorflow as tf
        tensorflow = f", TensorFlow {tf.__version__}"
    except ImportError:  # e.g. Keras on JAX on a GPU machine without TensorFlow
        tensorflow = ""
    gpus = train.gpu_names()
    accelerator = f"GPU: {', '.join(gpus)}" if gpus else "no GPU: running on the CPU"
    return "\n".join([
        f"Python {platform.python_version()}{tensorflow}, Keras {keras.__version__} "
        f"({keras.backend.backend()} backend), ferkit {ferkit.__version__}",
        accelerator,
    ])
