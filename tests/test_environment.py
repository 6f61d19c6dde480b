"""Tests for ferkit.environment: the data source rules every lesson follows."""

import pytest

from ferkit import environment


def test_sample_is_forced_under_ci_or_grading(monkeypatch, capsys):
    monkeypatch.setenv("CI", "true")
    assert environment.resolve_data_source("fer2013") == "sample"
    assert "generated sample" in capsys.readouterr().out
    monkeypatch.delenv("CI")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert environment.resolve_data_source("fer2013") == "sample"


def test_real_data_is_kept_elsewhere(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert environment.resolve_data_source("fer2013") == "fer2013"
    with pytest.raises(ValueError, match="DATA_SOURCE"):
        environment.resolve_data_source("affectnet")


def test_only_lessons_that_offer_rafdb_accept_it(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    with pytest.raises(ValueError, match="rafdb"):
        environment.resolve_data_source("rafdb")
    assert environment.resolve_data_source("rafdb", choices=("sample", "fer2013", "rafdb")) == "rafdb"


def test_describe_names_versions_and_the_gpus_keras_sees(monkeypatch):
    import keras
    import tensorflow as tf

    import ferkit
    from ferkit import train

    monkeypatch.setattr(train, "gpu_names", lambda: [])
    versions, accelerator = environment.describe().splitlines()
    assert f"TensorFlow {tf.__version__}" in versions and f"Keras {keras.__version__}" in versions
    assert f"({keras.backend.backend()} backend)" in versions and f"ferkit {ferkit.__version__}" in versions
    assert accelerator == "no GPU: running on the CPU"
    monkeypatch.setattr(train, "gpu_names", lambda: ["NVIDIA H200", "NVIDIA H200"])
    assert environment.describe().splitlines()[1] == "GPU: NVIDIA H200, NVIDIA H200"


def test_importing_it_keeps_tensorflow_s_native_start_up_lines_out_of_a_lesson():
    """TensorFlow writes oneDNN and CUDA notices to file descriptor 2; a notebook would show them."""
    import subprocess
    import sys

    quiet = subprocess.run([sys.executable, "-c", "import ferkit.environment, keras; keras.ops.ones(2)"],
                           capture_output=True, text=True, check=True)
    assert quiet.stderr == ""
    loud = subprocess.run([sys.executable, "-c", "import tensorflow as tf; tf.constant(0.0).numpy()"],
                          capture_output=True, text=True, check=True)
    assert "I0000" in loud.stderr or "cuda" in loud.stderr.lower()  # what there was to keep out
