"""Tests for ferkit.runner and the experiment registry: a tiny run on the sample writes a complete, valid record."""

import json

import numpy as np
import pytest

from ferkit import data, experiments, runner

RECORD_KEYS = {
    "experiment", "dataset", "protocol", "splits", "sample_result", "accuracy", "reported_split",
    "selection_split", "images", "classification_report", "confusion_matrix", "labels", "history",
    "epochs_requested", "epochs_run", "best_epoch", "last_epoch_selection_accuracy", "settings", "parameters", "training_seconds",
    "hardware", "versions", "git_commit", "command",
}


@pytest.fixture(scope="module")
def tiny_record(tmp_path_factory):
    directory = tmp_path_factory.mktemp("results")
    record = runner.run("bedi_cnn", dataset="sample", protocol="carveout", epochs=2,
                             max_train_images=600, results_directory=directory, verbose=0,
                             checkpoint_dir=directory / "checkpoint")
    return record, directory


def test_tiny_run_writes_a_complete_record(tiny_record):
    record, directory = tiny_record
    stored = json.loads((directory / "bedi_cnn-sample-carveout.json").read_text())
    assert stored == json.loads(json.dumps(record))
    assert stored["last_epoch_selection_accuracy"] == pytest.approx(stored["history"]["val_accuracy"][-1])
    assert set(stored) == RECORD_KEYS
    assert stored["sample_result"] is True
    assert stored["selection_split"].startswith("10% stratified carve-out of train")
    assert stored["reported_split"] == "public_test"
    assert stored["images"] == {"train": 540, "selection": 60, "report": 600}
    assert stored["epochs_run"] == 2 and len(stored["history"]["val_loss"]) == 2
    assert 1 <= stored["best_epoch"] <= 2
    assert stored["parameters"] == 619015
    assert stored["settings"]["optimizer"] == "adagrad" and "Bedi" in stored["settings"]["source"]


def test_record_numbers_agree_with_each_other(tiny_record):
    record = tiny_record[0]
    matrix = np.array(record["confusion_matrix"])
    assert matrix.shape == (7, 7) and matrix.sum() == record["images"]["report"]
    assert record["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert record["classification_report"]["accuracy"]["F1-score"] == pytest.approx(record["accuracy"])
    assert record["labels"][0] == "angry" and record["labels"][6] == "neutral"


def test_an_interrupted_run_is_recorded_from_its_files(tiny_record, tmp_path):
    record, directory = tiny_record
    assert record["settings"]["precision"] == "float32"
    resumed = runner.evaluate_checkpoint(
        "bedi_cnn", directory / "checkpoint" / "best.keras", directory / "checkpoint" / "history.csv",
        dataset="sample", protocol="carveout", epochs=2, results_directory=tmp_path, note="stopped by hand",
    )
    stored = json.loads((tmp_path / "bedi_cnn-sample-carveout.json").read_text())
    assert set(stored) == RECORD_KEYS | {"interrupted", "note"}
    assert stored["interrupted"] is True and stored["note"] == "stopped by hand"
    assert stored["training_seconds"] is None
    assert resumed["accuracy"] == record["accuracy"]  # same checkpoint, same report split
    assert resumed["confusion_matrix"] == record["confusion_matrix"]
    assert resumed["history"]["val_loss"] == pytest.approx(record["history"]["val_loss"])
    with pytest.raises(ValueError, match="history.csv"):
        bad = tmp_path / "history.csv"
        bad.write_text("epoch,accuracy\n0,0.5\n")
        runner.evaluate_checkpoint("bedi_cnn", directory / "checkpoint" / "best.keras", bad,
                                        dataset="sample")


def test_load_record_finds_it_or_says_none(tiny_record):
    record, directory = tiny_record
    assert runner.load_record("bedi_cnn", "sample", directory) is None  # no run under the sample's default
    found = runner.load_record("bedi_cnn", "sample", directory, protocol="carveout")
    assert found["accuracy"] == record["accuracy"]
    assert found["location"] == str(directory / "bedi_cnn-sample-carveout.json")
    assert runner.load_record("mondal_deep", "fer2013", directory) is None


def test_carveout_is_stratified_and_disjoint():
    parts, names = data.split_for_protocol("sample", "carveout", seed=3)
    train_labels, selection_labels = parts["train"][1], parts["selection"][1]
    assert len(selection_labels) == 300 and len(train_labels) == 2700
    train_share = np.bincount(train_labels, minlength=7) / len(train_labels)
    selection_share = np.bincount(selection_labels, minlength=7) / len(selection_labels)
    assert np.abs(train_share - selection_share).max() < 0.01
    train_rows = {image.tobytes() for image in parts["train"][0]}
    assert not any(image.tobytes() in train_rows for image in parts["selection"][0])
    assert names["report"] == "public_test"


def test_canonical_protocol_selects_on_public_and_reports_private():
    parts, names = data.split_for_protocol("sample", "canonical")
    assert names == {"train": "train", "selection": "public_test", "report": "private_test"}
    assert len(parts["report"][1]) == 600


@pytest.fixture(scope="module")
def rafdb_folder(tmp_path_factory):
    """The sample's colour faces written in RAF-DB's official layout (300 per split)."""
    from ferkit import data

    return data.write_sample(tmp_path_factory.mktemp("rafdb"), "rafdb_basic", count=300)


def test_rafdb_selects_on_a_carveout_and_reports_its_test_split(rafdb_folder):
    from ferkit import data

    assert data.default_protocol("rafdb") == "carveout"
    parts, names = data.split_for_protocol("rafdb", "carveout", path=rafdb_folder)
    test_images, test_labels = data.load_rafdb(rafdb_folder, "test", cache=False)
    assert names["report"] == "test" and names["selection"].startswith("10% stratified carve-out")
    np.testing.assert_array_equal(parts["report"][1], test_labels)
    assert parts["report"][0].shape[1:] == (100, 100, 3)
    assert len(parts["train"][1]) + len(parts["selection"][1]) == 300
    with pytest.raises(ValueError, match="does not apply to RAF-DB"):
        data.split_for_protocol("rafdb", "canonical", path=rafdb_folder)


def test_rafdb_without_disgust_leaves_disgust_out_of_every_part(rafdb_folder):
    parts, names = data.split_for_protocol("rafdb_without_disgust", "carveout", path=rafdb_folder)
    with_disgust, _ = data.split_for_protocol("rafdb", "carveout", path=rafdb_folder)
    disgust = data.EMOTIONS.index("disgust")
    assert (with_disgust["train"][1] == disgust).any()  # there was something to leave out
    for part, (_, labels) in parts.items():
        assert disgust not in labels, part
    assert sum(len(labels) for _, labels in parts.values()) == sum(
        (labels != disgust).sum() for _, labels in with_disgust.values())
    assert names["report"] == "test"


@pytest.mark.slow
def test_a_run_on_rafdb_resizes_its_faces_and_writes_its_own_record(rafdb_folder, tmp_path):
    record = runner.run("bedi_cnn", dataset="rafdb", data_path=rafdb_folder, epochs=1,
                             results_directory=tmp_path, verbose=0)
    assert (tmp_path / "bedi_cnn-rafdb.json").exists()
    assert record["dataset"] == "rafdb" and record["reported_split"] == "test" and record["protocol"] == "carveout"
    assert record["images"] == {"train": 270, "selection": 30, "report": 300}
    assert record["classification_report"]["accuracy"]["Images (n)"] == 300


def test_every_experiment_names_a_real_builder_and_the_source_of_its_settings():
    from ferkit import augment, models

    for name, experiment in experiments.experiments().items():
        assert callable(getattr(models, experiment.builder)), name
        assert experiment.augment is None or callable(getattr(augment, experiment.augment)), name
        assert experiment.settings_source, name


@pytest.mark.parametrize("arguments, message", [
    ({"name": "alexnet"}, "unknown experiment"),
    ({"name": "bedi_cnn", "dataset": "affectnet"}, "dataset"),
    ({"name": "bedi_cnn", "protocol": "cross-validation"}, "protocol"),
])
def test_bad_arguments_are_named(arguments, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        runner.run(results_directory=tmp_path, **arguments)


# ---------------------------------------------------------------------------
# The papers' protocols, and asking for one the data cannot build
# ---------------------------------------------------------------------------

def test_barbagallo_selects_on_private_and_reports_public():
    parts, names = data.split_for_protocol("sample", "barbagallo")
    assert names == {"train": "train", "selection": "private_test", "report": "public_test"}
    np.testing.assert_array_equal(parts["report"][1], data.load_sample("public_test")[1])


def test_qutub_atay_reports_both_test_splits_together():
    parts, names = data.split_for_protocol("sample", "qutub_atay")
    assert names["report"] == "test" and len(parts["report"][1]) == 1200
    assert names["selection"].startswith("10% stratified carve-out of train")


def test_matijasevic_pools_rafdb_and_splits_it_80_20(rafdb_folder):
    parts, names = data.split_for_protocol("rafdb_without_disgust", "matijasevic", path=rafdb_folder)
    everything = sum(len(data.load_rafdb(rafdb_folder, split, exclude=["disgust"])[1]) for split in ("train", "test"))
    assert len(parts["train"][1]) + len(parts["selection"][1]) == everything
    assert len(parts["selection"][1]) == pytest.approx(0.2 * everything, abs=1)
    assert parts["report"] is parts["selection"] and "last epoch" in names["report"]
    assert data.EMOTIONS.index("disgust") not in parts["train"][1]


@pytest.mark.parametrize("protocol", ["canonical", "barbagallo", "qutub_atay"])
def test_a_protocol_the_copy_cannot_build_names_what_is_missing(protocol, tmp_path):
    """Kaggle's folder layout with PublicTest only, as many copies are: no PrivateTest to use."""
    folder = data.write_sample(tmp_path, "fer2013_folder", count=300)
    for private in (folder / "test").rglob("PrivateTest_*"):
        private.unlink()
    with pytest.raises(ValueError, match="needs FER2013's private_test split.*protocol='carveout'"):
        data.split_for_protocol("fer2013", protocol, path=folder)
    parts, names = data.split_for_protocol("fer2013", "carveout", path=folder)
    assert names["report"] == "public_test" and len(parts["report"][1]) > 0


def test_matijasevic_protocol_is_refused_on_fer2013_with_the_alternatives():
    with pytest.raises(ValueError, match=r"does not apply to sample.*'carveout'"):
        data.split_for_protocol("sample", "matijasevic")


def test_every_protocol_names_its_source_and_every_dataset_its_title():
    for name, protocol in data.PROTOCOLS.items():
        assert protocol.name == name and protocol.source and protocol.report, name
    assert data.dataset_title("fer2013") == "FER2013" and data.dataset_title("rafdb") == "RAF-DB"
    with pytest.raises(ValueError, match="dataset: expected one of"):
        data.dataset("affectnet")


def test_trim_parts_keeps_class_shares_and_says_so():
    parts, names = data.split_for_protocol("sample", "canonical")
    trimmed, trimmed_names = data.trim_parts(parts, names, {"train": 700, "report": 5000})
    assert len(trimmed["train"][1]) == 700 and trimmed["report"] is parts["report"]
    assert trimmed_names["train"] == "train, stratified subset of 700" and trimmed_names["report"] == "private_test"
    full_share = np.bincount(parts["train"][1], minlength=7) / len(parts["train"][1])
    assert np.abs(np.bincount(trimmed["train"][1], minlength=7) / 700 - full_share).max() < 0.01
    with pytest.raises(ValueError, match="sizes: expected part names"):
        data.trim_parts(parts, names, {"validation": 10})


# ---------------------------------------------------------------------------
# Records: shipped with the package, yours in your folder
# ---------------------------------------------------------------------------

def test_shipped_records_are_found_without_a_results_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FERKIT_RESULTS", raising=False)
    record = runner.load_record("bedi_cnn", "fer2013")
    assert record["location"] == "shipped with ferkit: bedi_cnn-fer2013.json"
    assert record["reported_split"] == "public_test"
    assert set(runner.load_records(["bedi_cnn", "fer_kd_remove_4_conv"])) == {"bedi_cnn"}


def test_your_record_wins_over_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.setenv("FERKIT_RESULTS", str(tmp_path))
    shipped = runner.load_record("bedi_cnn", "fer2013")
    shipped.pop("location")
    runner.write_record({**shipped, "accuracy": 0.5}, tmp_path / "bedi_cnn-fer2013.json")
    assert runner.load_record("bedi_cnn", "fer2013")["accuracy"] == 0.5
    assert runner.results_folder() == tmp_path


def test_record_row_names_its_dataset_split_and_source():
    row = runner.record_row(runner.load_record("mondal_deep", "fer2013"))
    assert row["dataset"] == "FER2013" and row["split"] == "public_test"
    assert row["source"] == "ours (recorded real run)" and 0 < row["macro f1"] < row["accuracy"] < 1


def test_experiment_names_are_identifiers_and_so_are_record_file_names():
    for name in experiments.experiments():
        assert name.isidentifier(), name
        assert runner.record_file_name(name, "fer2013") == f"{name}-fer2013.json"
    with pytest.raises(ValueError, match="name: expected an identifier"):
        runner.record_file_name("fer_kd -2 conv", "fer2013")
    assert runner.record_file_name("fer_kd", "fer2013", "carveout") == "fer_kd-fer2013.json"
    assert runner.record_file_name("fer_kd", "sample", "barbagallo") == "fer_kd-sample-barbagallo.json"


def test_every_setting_a_paper_states_is_the_paper_s_and_the_rest_is_marked_ours():
    from ferkit import papers

    table = experiments.experiments()
    assert table["mondal_deep"].learning_rate == papers.stated_setting("mondal_deep", "learning_rate").value == 1e-4
    assert table["mondal_shallow"].learning_rate == 1e-3 and table["mondal_shallow"].epochs == 10
    assert table["fer_kd"].batch_size == papers.stated_setting("fer_kd", "batch_size").value == 64
    assert table["bedi_cnn"].optimizer == "adagrad" and table["bedi_cnn"].epochs == 20
    for name, setting in [("mondal_deep", "learning_rate"), ("fer_kd", "batch_size"), ("bedi_cnn", "optimizer")]:
        assert " paper (" in table[name].sources[setting], (name, setting)
    assert table["bedi_cnn"].sources["learning_rate"].startswith("0.01 ours (not stated")
    assert table["mondal_deep"].sources["batch_size"].startswith("32 ours (")
    for name, experiment in table.items():
        assert all(" paper (" in source or " ours (" in source for source in experiment.sources.values()), name


def test_settings_changed_names_what_a_record_ran_with_that_the_experiment_no_longer_does(tiny_record):
    record, _ = tiny_record
    assert runner.settings_changed(record) == {"epochs": (2, 20)}  # the tiny run asked for 2 epochs
    older = json.loads(json.dumps(record))
    older["settings"]["learning_rate"] = 0.1
    assert runner.settings_changed(older)["learning_rate"] == (0.1, 0.01)
