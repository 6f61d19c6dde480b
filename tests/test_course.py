"""`make course` (tools.course): which data the course runs on, and the real-data path.

The sample path is the executed book build of tests/test_book.py. Here the
real-data path runs on the generated sample written in FER2013's folder layout,
so that it can run offline and fast; a lesson that ran on it says "FER2013".
"""

import nbformat
import pytest
import yaml

from ferkit import data, experiments
from tools import course


@pytest.fixture
def outside_ci(monkeypatch):
    """No CI or grading variables: as on a student's or a lecturer's machine."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


@pytest.fixture
def fake_real_data(tmp_path, monkeypatch):
    """``FERKIT_DATA`` pointing at the sample written in Kaggle's FER2013 folder layout."""
    root = tmp_path / "data"
    data.write_sample(root, "fer2013_folder")
    monkeypatch.setenv("FERKIT_DATA", str(root))
    monkeypatch.setenv("FERKIT_CACHE", str(tmp_path / "cache"))
    return root


def test_auto_runs_the_sample_without_real_data(outside_ci, monkeypatch):
    monkeypatch.delenv("FERKIT_DATA", raising=False)
    assert course.choose_data_source("auto") == "sample"


def test_auto_runs_fer2013_when_ferkit_data_holds_it(outside_ci, fake_real_data):
    assert course.choose_data_source("auto") == "fer2013"


def test_ci_and_grading_always_run_the_sample(fake_real_data, monkeypatch, capsys):
    monkeypatch.setenv("CI", "true")
    assert course.choose_data_source("auto") == "sample"
    assert course.choose_data_source("fer2013") == "sample"
    assert "sample" in capsys.readouterr().out


def test_asking_for_fer2013_without_the_data_fails_before_any_work(outside_ci, tmp_path, monkeypatch):
    monkeypatch.setenv("FERKIT_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="fer2013"):
        course.choose_data_source("fer2013")


def test_real_parameters_take_the_epochs_of_the_experiment_a_lesson_rebuilds():
    declared = {"DATA_SOURCE": {}, "EPOCHS": {}, "FAST": {}}
    bedi_epochs = experiments.experiment_named("bedi_cnn").epochs
    assert course.real_parameters("04_compact_cnn", declared) == {
        "DATA_SOURCE": "fer2013", "FAST": False, "EPOCHS": bedi_epochs}
    assert course.real_parameters("04_compact_cnn", declared, fast=True) == {
        "DATA_SOURCE": "fer2013", "FAST": True}
    assert course.real_parameters("01_convolution", declared) == {"DATA_SOURCE": "fer2013", "FAST": False}
    assert course.real_parameters("09_deployment", {"PHOTO": {}}) == {}


def test_every_lesson_experiment_exists_and_every_lesson_is_named_right():
    lesson_names = {path.stem for path in (course.ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert set(course.LESSON_EXPERIMENTS) <= lesson_names
    for experiment_name in course.LESSON_EXPERIMENTS.values():
        experiments.experiment_named(experiment_name)


def test_the_copy_of_the_sources_never_executes_again_and_leaves_solutions_out(tmp_path):
    source = course.copy_book_sources(tmp_path / "source")
    config = yaml.safe_load((source / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert not (source / "solutions").exists() and not (source / ".git").exists()
    lessons = sorted(path.name for path in (source / "notebooks").glob("*.ipynb"))
    assert lessons == sorted(path.name for path in (course.ROOT / "notebooks").glob("*.ipynb"))
    assert (source / "_toc.yml").read_text() == (course.ROOT / "_toc.yml").read_text()


@pytest.mark.slow
def test_a_lesson_runs_on_real_data_and_the_book_publishes_that_run(outside_ci, fake_real_data, tmp_path):
    source = course.copy_book_sources(tmp_path / "source")
    seconds = course.execute_lessons(source, fast=True, lessons=["02_fer2013"])
    assert list(seconds) == ["02_fer2013"]
    executed = nbformat.read(source / "notebooks" / "02_fer2013.ipynb", as_version=4)
    injected = [cell for cell in executed.cells if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1 and 'DATA_SOURCE = "fer2013"' in injected[0].source
    outputs = [output for cell in executed.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    assert "FER2013, train" in "".join(output.get("text", "") for output in outputs)

    assert course.build_book(source, output=tmp_path) == 0
    page = (tmp_path / "_build" / "html" / "notebooks" / "02_fer2013.html").read_text()
    assert "FER2013, train:" in page  # the real run's output, not a sample run's ("sample, train:")


@pytest.mark.slow
def test_lesson_07_runs_on_rafdb(outside_ci, tmp_path, monkeypatch):
    """Lesson 07 takes ``DATA_SOURCE = "rafdb"``: here the sample written in RAF-DB's official layout."""
    import papermill

    data.write_sample(tmp_path / "data" / "rafdb", "rafdb_basic")  # writes data/rafdb/basic/
    monkeypatch.setenv("FERKIT_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("FERKIT_CACHE", str(tmp_path / "cache"))
    executed_path = tmp_path / "07_transfer_learning.ipynb"
    papermill.execute_notebook(str(course.ROOT / "notebooks" / "07_transfer_learning.ipynb"), str(executed_path),
                               parameters={"DATA_SOURCE": "rafdb"}, cwd=str(course.ROOT / "notebooks"),
                               progress_bar=False)
    executed = nbformat.read(executed_path, as_version=4)
    printed = "".join(output.get("text", "") for cell in executed.cells if cell.cell_type == "code"
                      for output in cell.outputs)
    assert "RAF-DB, report part = test" in printed
    assert "RAF-DB without disgust: no real run recorded yet" in printed
