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


def test_describe_names_versions_and_accelerator():
    text = environment.describe()
    assert "TensorFlow" in text and "Keras" in text and ("GPU" in text)
