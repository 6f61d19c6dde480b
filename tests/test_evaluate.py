"""ferkit.evaluate: TTA averaging, bounded TenCrop, reports equal to scikit-learn's, paper comparisons."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from ferkit import augment, evaluate, papers, pipeline
from ferkit.data import EMOTIONS


def small_model(side=48, channels=1, seed=0):
    """An untrained but position-sensitive model: TTA views give different outputs."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((side, side, channels)),
            keras.layers.Conv2D(4, 5, strides=2, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(7, activation="softmax"),
        ]
    )


class BatchRecorder(keras.Sequential):
    """A Sequential that remembers the size of every batch it is asked to predict."""

    def predict_on_batch(self, x):
        self.batch_sizes.append(int(x.shape[0]))
        return super().predict_on_batch(x)


@pytest.fixture
def faces():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(20, 48, 48, 1), dtype=np.uint8)


def test_predict_without_tta_equals_model_predict(faces):
    model = small_model()
    probabilities = evaluate.predict(model, faces, batch_size=8)
    assert probabilities.shape == (20, 7) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, model.predict(faces / 255.0, verbose=0), atol=1e-6)
    # Float input in [0, 1] gives the same answer as uint8.
    np.testing.assert_allclose(evaluate.predict(model, faces / 255.0), probabilities, atol=1e-6)


def test_flip_tta_is_the_average_of_image_and_mirror(faces):
    model = small_model()
    plain = model.predict(faces / 255.0, verbose=0)
    mirrored = model.predict(faces[:, :, ::-1] / 255.0, verbose=0)
    assert not np.allclose(plain, mirrored)  # the test would prove nothing otherwise
    np.testing.assert_allclose(
        evaluate.predict(model, faces, batch_size=6, tta="flip"), (plain + mirrored) / 2, atol=1e-6
    )


def test_tencrop_tta_is_the_average_over_the_ten_crops(faces):
    model = small_model(side=40)
    crops = augment.ten_crop(faces, 40)
    manual = np.mean([model.predict(crop / 255.0, verbose=0) for crop in crops], axis=0)
    np.testing.assert_allclose(evaluate.predict(model, faces, batch_size=7, tta="tencrop"), manual, atol=1e-6)


def test_tencrop_resizes_crops_to_the_model_input(faces):
    model = small_model(side=48, channels=3)
    crops = augment.ten_crop(faces, 40)
    manual = np.mean(
        [
            model.predict(pipeline.to_float(pipeline.resize_images(crop, 48), channels=3), verbose=0)
            for crop in crops
        ],
        axis=0,
    )
    result = evaluate.predict(model, faces, batch_size=8, tta="tencrop", crop_size=40)
    np.testing.assert_allclose(result, manual, atol=1e-6)


def test_tencrop_memory_is_bounded_by_the_batch_size(faces):
    keras.utils.set_random_seed(0)
    model = BatchRecorder(
        [keras.Input((40, 40, 1)), keras.layers.Flatten(), keras.layers.Dense(7, activation="softmax")]
    )
    model.batch_sizes = []
    many = np.concatenate([faces] * 3)  # 60 images
    evaluate.predict(model, many, batch_size=8, tta="tencrop")
    assert max(model.batch_sizes) <= 8  # never 10 * 8, let alone 10 * 60
    assert sum(model.batch_sizes) == 10 * len(many)


def test_predict_checks_its_arguments(faces):
    model = small_model()
    with pytest.raises(ValueError, match="tta"):
        evaluate.predict(model, faces, tta="twelvecrop")
    with pytest.raises(ValueError, match="crop_size"):
        evaluate.predict(model, faces, tta="tencrop")
    logits = keras.Sequential([keras.Input((48, 48, 1)), keras.layers.Flatten(), keras.layers.Dense(7)])
    with pytest.raises(ValueError, match="softmax"):
        evaluate.predict(logits, faces)


@pytest.fixture
def predictions():
    rng = np.random.default_rng(5)
    y_true = rng.integers(0, 7, size=300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, 7, size=300))
    y_pred[y_pred == 1] = 2  # "disgust" never predicted: zero_division matters
    return y_true, y_pred


def test_classification_report_equals_scikit_learn(predictions):
    y_true, y_pred = predictions
    report = evaluate.classification_report(y_true, y_pred)
    assert list(report.columns) == ["Precision", "Recall", "F1-score", "Images (n)"]
    assert list(report.index) == list(EMOTIONS) + ["accuracy", "macro avg", "weighted avg"]
    reference = metrics.classification_report(
        y_true, y_pred, labels=range(7), target_names=EMOTIONS, output_dict=True, zero_division=0
    )
    for name in list(EMOTIONS) + ["macro avg", "weighted avg"]:
        row = report.loc[name]
        assert row["Precision"] == pytest.approx(reference[name]["precision"])
        assert row["Recall"] == pytest.approx(reference[name]["recall"])
        assert row["F1-score"] == pytest.approx(reference[name]["f1-score"])
        assert row["Images (n)"] == reference[name]["support"]
    assert report.loc["accuracy", "F1-score"] == pytest.approx(reference["accuracy"])
    assert report.loc["accuracy", "Images (n)"] == 300
    assert report.loc["disgust", "Precision"] == 0.0


def test_classification_report_accepts_probabilities(predictions):
    y_true, y_pred = predictions
    probabilities = np.eye(7)[y_pred] * 0.9 + 0.1 / 7
    pd.testing.assert_frame_equal(
        evaluate.classification_report(y_true, probabilities),
        evaluate.classification_report(y_true, y_pred),
    )


def test_confusion_matrix_is_scikit_learn_with_names(predictions):
    y_true, y_pred = predictions
    counts = evaluate.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(counts.to_numpy(), metrics.confusion_matrix(y_true, y_pred, labels=range(7)))
    assert list(counts.index) == list(EMOTIONS) and counts.index.name == "true"
    assert counts.columns.name == "predicted"
    rates = evaluate.confusion_matrix(y_true, y_pred, normalize="true")
    np.testing.assert_allclose(rates.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="normalize"):
        evaluate.confusion_matrix(y_true, y_pred, normalize="all")


def test_most_confused_pairs():
    y_true = np.array([2, 2, 2, 2, 4, 4, 5, 3])
    y_pred = np.array([4, 4, 4, 2, 2, 4, 2, 3])
    pairs = evaluate.most_confused_pairs(y_true, y_pred, top=2)
    assert list(pairs.columns) == ["true", "predicted", "count", "share of true class"]
    assert pairs.iloc[0].tolist() == ["fear", "sad", 3, 0.75]
    assert pairs.iloc[1][["true", "predicted", "count"]].tolist() == ["sad", "fear", 1]
    assert len(pairs) == 2


def test_compare_puts_paper_and_ours_side_by_side_with_splits(predictions):
    y_true, y_pred = predictions
    ours = [evaluate.result("fer_kd", "sample", "public_test", y_true, y_pred)]
    table = evaluate.compare(ours, "barbagallo")
    assert list(table.columns) == ["model", "dataset", "split", "ferkit split", "source", "reference", "accuracy"]
    paper_rows = table[table["source"] == evaluate.SOURCE_PAPER]
    # Table 1: every ablation row on validation (PrivateTest) and test (PublicTest); Table 2's accuracy row.
    assert len(paper_rows) == 2 * len(papers.BARBAGALLO_ABLATION_ROWS) + 1
    assert paper_rows["accuracy"].notna().all()
    fer_kd = paper_rows[(paper_rows["model"] == "fer_kd") & (paper_rows["reference"] == "Barbagallo, Table 1")]
    assert fer_kd.set_index("ferkit split")["accuracy"].to_dict() == {
        "private_test": pytest.approx(0.6543), "public_test": pytest.approx(0.6262)}
    assert set(fer_kd["split"]) == {"validation (PrivateTest, 3,589 images)", "test (PublicTest, 3,589 images)"}
    our_row = table.iloc[-1]
    assert our_row["source"] == evaluate.SOURCE_THIS_RUN and our_row["split"] == our_row["ferkit split"] == "public_test"
    assert our_row["accuracy"] == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    assert table[["dataset", "split"]].notna().all().all()
    with pytest.raises(ValueError, match="split"):
        evaluate.compare([{"model": "x", "dataset": "FER2013", "accuracy": 0.5}], "barbagallo")


def test_compare_labels_cited_studies_and_splits_no_ferkit_split_equals():
    cited = evaluate.compare([], papers.reported(paper="qutub_atay", table="Table 12"))
    assert cited["accuracy"].tolist() == [pytest.approx(0.6721), pytest.approx(0.7060), pytest.approx(0.7102)]
    assert cited["reference"].str.contains("citing").tolist() == [True, True, False]
    assert cited["ferkit split"].tolist() == ["", "", "test"]
    mondal = evaluate.compare([], "mondal")
    assert len(mondal) == 6 + 6  # Table 3 (three models, train and validation) and section 2.2
    assert (mondal["ferkit split"] == "").all()  # Mondal never says which FER2013 part is which


def test_compare_without_paper_numbers_keeps_our_rows(predictions):
    y_true, y_pred = predictions
    ours = [evaluate.result("bedi_cnn", "sample", "public_test", y_true, y_pred)]
    table = evaluate.compare(ours, "bedi")  # Bedi states no accuracy (papers.NOT_REPORTED)
    assert table["source"].tolist() == [evaluate.SOURCE_THIS_RUN]
    assert ("bedi", "accuracy") in papers.NOT_REPORTED


def test_compare_with_majority_baseline_tells_a_class_counter_from_a_reader():
    train_labels = np.array([3] * 50 + [0] * 30 + [4] * 20)
    y_true = np.array([3] * 40 + [0] * 30 + [4] * 30)  # always answering happy scores 0.40
    counter = evaluate.compare_with_majority_baseline(train_labels, y_true, np.full(100, 3))
    assert counter["always answering"] == "happy" and counter["majority-class rate"] == pytest.approx(0.40)
    assert counter["accuracy"] == pytest.approx(0.40)
    assert counter["most frequent answer"] == "happy" and counter["share of that answer"] == 1.0
    assert not counter["above the majority-class rate"] and counter["p-value"] > 0.5
    reader = y_true.copy()
    reader[:10] = 0  # 90 of 100 right
    probabilities = np.eye(7)[reader]  # probabilities work as well as labels
    found = evaluate.compare_with_majority_baseline(train_labels, y_true, probabilities)
    assert found["accuracy"] == pytest.approx(0.90) and found["above the majority-class rate"]
    assert found["p-value"] < 1e-6 and found["share of that answer"] == pytest.approx(0.40)
    with pytest.raises(ValueError, match="alpha"):
        evaluate.compare_with_majority_baseline(train_labels, y_true, reader, alpha=5)
    with pytest.raises(ValueError, match="y_pred"):
        evaluate.compare_with_majority_baseline(train_labels, y_true, reader[:5])


def test_majority_baselines_name_every_part_s_split_and_rate():
    parts = {"train": (None, np.array([3, 3, 3, 0])), "selection": (None, np.array([3, 0])),
             "report": (None, np.array([0, 0, 0, 3, 5]))}
    names = {"train": "train", "selection": "public_test", "report": "private_test"}
    table = evaluate.majority_baselines(parts, names, "sample")
    assert list(table.index) == ["train", "selection", "report"] and table.index.name == "part"
    assert table["split"].tolist() == ["train", "public_test", "private_test"]
    assert table["images"].tolist() == [4, 2, 5]
    assert set(table["always answering"]) == {"happy"}  # the train part's most frequent class, everywhere
    assert table["majority-class rate"].tolist() == pytest.approx([0.75, 0.5, 0.2])
    assert (table["dataset"] == "sample").all()
    with pytest.raises(ValueError, match="missing"):
        evaluate.majority_baselines(parts, {"train": "train"}, "sample")
    with pytest.raises(ValueError, match="train"):
        evaluate.majority_baselines({"report": parts["report"]}, names, "sample")
