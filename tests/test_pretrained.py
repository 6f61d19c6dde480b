"""Tests for ferkit.pretrained and the `ferkit predict` command, offline, on generated faces."""

import re

import cv2
import numpy as np
import pytest

from ferkit import __main__ as command_line
from ferkit import data, evaluate, models, pretrained, runner


@pytest.fixture(scope="module")
def photo():
    """A 'photo' of two generated faces, upscaled and placed left and right on a grey canvas."""
    faces, _ = data.load_sample("public_test")
    canvas = np.full((320, 640), 128, dtype=np.uint8)
    for column, index in enumerate((4, 5)):
        canvas[64:256, 64 + 320 * column:256 + 320 * column] = cv2.resize(
            faces[index, ..., 0], (192, 192), interpolation=cv2.INTER_CUBIC)
    return np.stack([canvas] * 3, axis=-1)


@pytest.fixture(scope="module")
def small_model():
    return models.bedi_cnn()


@pytest.fixture
def photo_file(photo, tmp_path):
    path = tmp_path / "photo.png"
    pretrained.write_image(photo, path)
    return path


def test_detects_both_faces_in_place(photo):
    boxes = pretrained.detect_faces(photo)
    assert len(boxes) == 2
    centres = sorted(x + width / 2 for x, y, width, height in boxes)
    assert 64 < centres[0] < 256 and 384 < centres[1] < 576


def test_predict_faces_returns_boxes_and_probabilities(photo, small_model):
    faces = pretrained.predict_faces(photo, model=small_model)
    assert len(faces) == 2
    for face in faces:
        assert set(face["probabilities"]) == set(data.EMOTIONS)
        assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
        assert face["label"] == max(face["probabilities"], key=face["probabilities"].get)
    for tta in ("flip", "tencrop"):
        augmented = pretrained.predict_faces(photo, model=small_model, tta=tta)
        assert [f["box"] for f in augmented] == [f["box"] for f in faces]


def test_crop_faces_gives_fer2013_shaped_faces(photo):
    crops = pretrained.crop_faces(photo, pretrained.detect_faces(photo))
    assert crops.shape == (2, 48, 48, 1) and crops.dtype == np.uint8


def test_no_face_gives_an_empty_list(small_model):
    assert pretrained.predict_faces(np.full((200, 200), 90, dtype=np.uint8), model=small_model) == []


def test_bad_inputs_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        pretrained.predict_faces(tmp_path / "missing.jpg")
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("hello")
    with pytest.raises(ValueError, match="notes.jpg.*not an image"):
        pretrained.predict_faces(not_an_image)
    with pytest.raises(ValueError, match="expected uint8"):
        pretrained.predict_faces(np.zeros((10, 10, 4), dtype=np.float32))


def test_missing_model_file_says_how_to_get_it(monkeypatch, tmp_path):
    pretrained.load.cache_clear()
    monkeypatch.setattr(pretrained, "MODEL_PATH", tmp_path / "absent.keras")
    with pytest.raises(FileNotFoundError, match="ferkit.experiments run reference"):
        pretrained.load()
    pretrained.load.cache_clear()


@pytest.mark.skipif(not pretrained.MODEL_PATH.exists(), reason="the reference model has not been trained and shipped yet")
def test_shipped_model_loads_offline_and_predicts():
    model = pretrained.load()
    probabilities = model(np.zeros((1, 48, 48, 1), dtype=np.float32), training=False)
    assert tuple(probabilities.shape) == (1, 7)
    assert "PublicTest" in pretrained.model_card()


def card_accuracy():
    """The PublicTest accuracy the model card states, as a fraction."""
    match = re.search(r"PublicTest accuracy: (\d+\.\d+)%", pretrained.model_card())
    assert match, "the model card must state 'PublicTest accuracy: NN.NN%'"
    return float(match.group(1)) / 100


@pytest.mark.skipif(not pretrained.MODEL_PATH.exists(), reason="the reference model has not been shipped")
def test_model_card_agrees_with_the_record():
    record = runner.load_record("reference", "fer2013")
    assert record["reported_split"] == "public_test" and record["selection_split"].startswith("10%")
    assert card_accuracy() == pytest.approx(record["accuracy"], abs=5e-5)


@pytest.mark.skipif(not pretrained.MODEL_PATH.exists(), reason="the reference model has not been shipped")
def test_shipped_model_reaches_its_card_accuracy_on_real_public_test(fer2013_real):
    images, labels = data.load_fer2013(fer2013_real, "public_test")
    predictions = evaluate.predict(pretrained.load(), images).argmax(axis=1)
    assert abs((predictions == labels).mean() - card_accuracy()) <= 0.005


def test_predict_command_prints_and_annotates(photo_file, small_model, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(pretrained, "load", lambda: small_model)
    out = tmp_path / "annotated.png"
    assert command_line.main(["predict", str(photo_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("face ") == 2 and "annotated image written" in printed
    annotated = cv2.imread(str(out))
    assert annotated.shape == (320, 640, 3)
    assert not np.array_equal(annotated, cv2.imread(str(photo_file)))


def test_predict_command_reports_no_face_and_bad_files(small_model, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(pretrained, "load", lambda: small_model)
    blank = tmp_path / "blank.png"
    pretrained.write_image(np.full((100, 100), 200, dtype=np.uint8), blank)
    assert command_line.main(["predict", str(blank)]) == 0
    assert "No face found in" in capsys.readouterr().out
    assert command_line.main(["predict", str(tmp_path / "nothing.png")]) == 2
    assert "nothing.png" in capsys.readouterr().err
