"""What every lesson checks first: versions, GPU, and which data to use.

Each lesson's first code cell calls :func:`describe` and its parameters cell is
passed through :func:`resolve_data_source`, so that under CI or nbgrader grading
the generated sample is always used. Introduced in lesson 01_convolution.
"""

from __future__ import annotations

import os
import platform

# Keep TensorFlow's C++ start-up chatter (CUDA probing on a CPU machine) out of the lessons;
# set TF_CPP_MIN_LOG_LEVEL=0 before importing ferkit to see it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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
