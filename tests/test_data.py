"""Tests for ferkit.data: every loader on files in each real layout, bad input, the cache."""

import os
import shutil
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest

from ferkit import data
from ferkit.data import EMOTIONS

PER_SPLIT = 24  # images per split written by write_sample in these tests


@pytest.fixture
def isolated_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("FERKIT_CACHE", str(cache))
    return cache


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    """The sample written once in every layout: {layout: path to give the loader}."""
    root = tmp_path_factory.mktemp("layouts")
    return {layout: data.write_sample(root / layout, layout, count=PER_SPLIT) for layout in data.SAMPLE_LAYOUTS}


def copy_layout(layouts, layout, tmp_path):
    source = layouts[layout]
    target = tmp_path / source.parent.name / source.name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        target.parent.mkdir(parents=True)
        shutil.copy(source, target)
    return target


def write_csv(path, rows, header="emotion,pixels,Usage"):
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def pixel_string(value=0, count=2304):
    return " ".join([str(value)] * count)


# --- conventions and the sample ---------------------------------------------

def test_emotions_are_in_fer2013_order():
    assert EMOTIONS == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def test_sample_shapes_dtypes_and_determinism():
    images, labels = data.load_sample("train")
    assert images.shape == (3000, 48, 48, 1) and images.dtype == np.uint8
    assert labels.shape == (3000,) and labels.dtype == np.int64
    assert set(np.unique(labels)) == set(range(7))
    again_images, again_labels = data.load_sample("train", cache=False)
    np.testing.assert_array_equal(images, again_images)
    np.testing.assert_array_equal(labels, again_labels)


def test_sample_test_split_is_public_plus_private():
    public = data.load_sample("public_test")
    private = data.load_sample("private_test")
    both = data.load_sample("test")
    np.testing.assert_array_equal(both[0], np.concatenate([public[0], private[0]]))
    np.testing.assert_array_equal(both[1], np.concatenate([public[1], private[1]]))
    assert not np.array_equal(public[0], private[0])


def test_sample_rgb_variant_mirrors_rafdb():
    images, labels = data.load_sample("public_test", image_size=100, channels=3)
    assert images.shape == (600, 100, 100, 3) and images.dtype == np.uint8
    assert len(labels) == 600


@pytest.mark.parametrize("argument, value", [("split", "validation"), ("channels", 2)])
def test_sample_rejects_bad_arguments(argument, value):
    with pytest.raises(ValueError, match=argument):
        data.load_sample(**{argument: value})


# --- FER2013 in each layout ---------------------------------------------------

@pytest.mark.parametrize("layout", ["fer2013_csv", "icml_csv"])
def test_fer2013_csv_layouts_round_trip_exactly(layouts, layout, isolated_cache):
    for split in ("train", "public_test", "private_test"):
        images, labels = data.load_fer2013(layouts[layout], split)
        expected_images, expected_labels = data.load_sample(split)
        np.testing.assert_array_equal(images, expected_images[:PER_SPLIT])
        np.testing.assert_array_equal(labels, expected_labels[:PER_SPLIT])
        assert images.dtype == np.uint8 and labels.dtype == np.int64
    test_images, _ = data.load_fer2013(layouts[layout], "test")
    assert len(test_images) == 2 * PER_SPLIT


def test_fer2013_folder_layout_maps_labels_by_name(layouts, isolated_cache):
    for split in ("train", "public_test", "private_test", "test"):
        images, labels = data.load_fer2013(layouts["fer2013_folder"], split)
        expected_images, expected_labels = data.load_sample(split)
        if split == "test":
            expected_images = np.concatenate([data.load_sample(s)[0][:PER_SPLIT] for s in ("public_test", "private_test")])
            expected_labels = np.concatenate([data.load_sample(s)[1][:PER_SPLIT] for s in ("public_test", "private_test")])
        else:
            expected_images, expected_labels = expected_images[:PER_SPLIT], expected_labels[:PER_SPLIT]
        # The loader orders files by class then name; compare as multisets per class.
        assert np.array_equal(np.bincount(labels, minlength=7), np.bincount(expected_labels, minlength=7))
        assert images.shape == (len(expected_labels), 48, 48, 1) and images.dtype == np.uint8
        # JPEG is lossy but close: the mean image of each class matches.
        for class_id in np.unique(labels):
            difference = np.abs(images[labels == class_id].mean(0) - expected_images[expected_labels == class_id].mean(0))
            assert difference.mean() < 3.0


def test_fer2013_folder_names_are_case_insensitive(layouts, tmp_path, isolated_cache):
    root = copy_layout(layouts, "fer2013_folder", tmp_path)
    original = data.load_fer2013(root, "train")
    for folder in (root / "train").iterdir():
        folder.rename(folder.with_name(folder.name.upper()))
    (root / "train").rename(root / "Train")
    renamed = data.load_fer2013(root, "train")
    np.testing.assert_array_equal(original[1], renamed[1])
    np.testing.assert_array_equal(original[0], renamed[0])


def test_fer2013_found_through_ferkit_data(layouts, monkeypatch, isolated_cache):
    monkeypatch.setenv("FERKIT_DATA", str(layouts["fer2013_folder"].parent))
    images, labels = data.load_fer2013(split="train")
    assert len(labels) == PER_SPLIT


def test_fer2013_without_prefixes_offers_only_test(layouts, tmp_path, isolated_cache):
    root = copy_layout(layouts, "fer2013_folder", tmp_path)
    for path in (root / "test").rglob("*.jpg"):
        path.rename(path.with_name(path.name.replace("PublicTest_", "a").replace("PrivateTest_", "b")))
    images, labels = data.load_fer2013(root, "test")
    assert len(labels) == 2 * PER_SPLIT
    with pytest.raises(ValueError, match="only split='test'"):
        data.load_fer2013(root, "public_test")


def test_fer2013_withheld_private_test_is_a_clear_error(layouts, tmp_path, isolated_cache):
    root = copy_layout(layouts, "fer2013_folder", tmp_path)
    for path in (root / "test").rglob("PrivateTest_*.jpg"):
        path.unlink()
    assert len(data.load_fer2013(root, "public_test")[1]) == PER_SPLIT
    with pytest.raises(ValueError, match="no PrivateTest_"):
        data.load_fer2013(root, "private_test")


def test_fer2013_bad_split_and_missing_data(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="split"):
        data.load_fer2013(tmp_path, "validation")
    monkeypatch.delenv("FERKIT_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="load_sample"):
        data.load_fer2013(split="train")
    monkeypatch.setenv("FERKIT_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="FERKIT_DATA"):
        data.load_fer2013(split="train")
    with pytest.raises(FileNotFoundError, match="not a FER2013 source"):
        data.load_fer2013(tmp_path, "train")


# --- bad FER2013 CSV rows -------------------------------------------------------

@pytest.mark.parametrize("row, message", [
    (f"3,{pixel_string(count=2303)},Training", "line 3: expected 2304 pixel values, found 2303"),
    (f"3,{pixel_string()} 7,Training", "line 3: expected 2304 pixel values, found 2305"),
    (f"3,{pixel_string()[:-1]}x,Training", "line 3: pixels must be .* found 'x'"),
    (f"3,{pixel_string()[:-1]}256,Training", "line 3: pixels must be .*'256'"),
    (f"7,{pixel_string()},Training", "line 3: emotion must be an integer 0-6, found '7'"),
    (f"happy,{pixel_string()},Training", "line 3: emotion must be an integer 0-6, found 'happy'"),
    (f"3,{pixel_string()},Validation", "line 3: Usage must be one of"),
    (f"3,{pixel_string()}", "line 3: expected 3 comma-separated fields, found 2"),
])
def test_bad_csv_row_names_file_and_line(tmp_path, row, message, isolated_cache):
    path = write_csv(tmp_path / "fer2013.csv", [f"0,{pixel_string(1)},Training", row])
    with pytest.raises(ValueError, match=message) as error:
        data.load_fer2013(path, "train")
    assert "fer2013.csv" in str(error.value)
    assert not list(isolated_cache.glob("*")) if isolated_cache.exists() else True


def test_bad_csv_header(tmp_path):
    path = write_csv(tmp_path / "fer2013.csv", [f"0,{pixel_string()},Training"], header="label,pixels,Usage")
    with pytest.raises(ValueError, match="line 1: expected the columns emotion, pixels, Usage"):
        data.read_fer2013_csv(path)


def test_irregular_spacing_parses_through_the_careful_path():
    regular = [pixel_string(v, 16).encode() for v in (0, 7, 255)]
    irregular = [b"  " + row.replace(b" ", b"  ") for row in regular]
    np.testing.assert_array_equal(data.parse_pixel_rows(regular, 16), data.parse_pixel_rows(irregular, 16))
    assert data.parse_pixel_rows(regular, 16)[2].tolist() == [255] * 16


# --- RAF-DB ---------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["rafdb_basic", "rafdb_folder"])
def test_rafdb_layouts_map_labels_into_emotions(layouts, layout, isolated_cache):
    images, labels = data.load_rafdb(layouts[layout], "train")
    expected_labels = data.load_sample("train", 100, 3)[1][:PER_SPLIT]
    assert images.shape == (PER_SPLIT, 100, 100, 3) and images.dtype == np.uint8
    assert np.array_equal(np.bincount(labels, minlength=7), np.bincount(expected_labels, minlength=7))
    test_images, test_labels = data.load_rafdb(layouts[layout].parent, "test")  # the parent folder works too
    assert len(test_labels) == PER_SPLIT


def test_rafdb_label_numbers_follow_the_official_order():
    assert [EMOTIONS[data.RAFDB_LABEL_TO_EMOTION[raf]] for raf in range(1, 8)] == [
        "surprise", "fear", "disgust", "happy", "sad", "angry", "neutral"]


def test_rafdb_exclude_drops_a_class(layouts, isolated_cache):
    images, labels = data.load_rafdb(layouts["rafdb_basic"], "train")
    kept_images, kept_labels = data.load_rafdb(layouts["rafdb_basic"], "train", exclude=["disgust", 3])
    assert not np.isin(kept_labels, [1, 3]).any()
    assert len(kept_labels) == np.isin(labels, [1, 3], invert=True).sum()
    with pytest.raises(ValueError, match="exclude"):
        data.load_rafdb(layouts["rafdb_basic"], "train", exclude=["boredom"])


def test_rafdb_bad_label_line(layouts, tmp_path, isolated_cache):
    basic = copy_layout(layouts, "rafdb_basic", tmp_path)
    label_file = basic / "EmoLabel" / "list_patition_label.txt"
    lines = label_file.read_text().splitlines()
    lines[4] = lines[4].split()[0] + " 9"
    label_file.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=r"list_patition_label.txt', line 5"):
        data.load_rafdb(basic, "train")


# --- bad files in folder layouts -------------------------------------------------

def first_image(root):
    return sorted((root / "train").rglob("*.jpg"))[0]


def test_unknown_emotion_folder(layouts, tmp_path, isolated_cache):
    root = copy_layout(layouts, "fer2013_folder", tmp_path)
    (root / "train" / "contempt").mkdir()
    with pytest.raises(ValueError, match="unknown emotion folder 'contempt'"):
        data.load_fer2013(root, "train")


@pytest.mark.parametrize("damage, message", [
    (lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]), "truncated"),
    (lambda path: path.write_text("not an image"), "unreadable"),
    (lambda path: __import__("PIL.Image").Image.new("L", (64, 48)).save(path), "expected a 48x48 image, found 64x48"),
])
def test_bad_image_file_is_named(layouts, tmp_path, damage, message, isolated_cache):
    root = copy_layout(layouts, "fer2013_folder", tmp_path)
    victim = first_image(root)
    damage(victim)
    with pytest.raises(ValueError, match=message) as error:
        data.load_fer2013(root, "train")
    assert victim.name in str(error.value)
    assert not isolated_cache.exists() or not list(isolated_cache.glob("*"))


# --- the cache ------------------------------------------------------------------

def test_cache_is_reused_and_rebuilt_when_the_source_changes(layouts, tmp_path, isolated_cache, monkeypatch):
    root = copy_layout(layouts, "fer2013_folder", tmp_path)
    images, labels = data.load_fer2013(root, "train")
    assert len(list(isolated_cache.glob("*.npz"))) == 1

    real_decode = data.decode_images
    calls = []
    monkeypatch.setattr(data, "decode_images", lambda *a, **k: calls.append(1) or real_decode(*a, **k))
    cached_images, cached_labels = data.load_fer2013(root, "train")
    assert calls == []
    np.testing.assert_array_equal(images, cached_images)

    victim = first_image(root)
    os.utime(victim, ns=(victim.stat().st_atime_ns, victim.stat().st_mtime_ns + 10**9))
    data.load_fer2013(root, "train")
    assert calls == [1]


def test_corrupt_cache_is_rebuilt(layouts, isolated_cache):
    images, _ = data.load_fer2013(layouts["fer2013_csv"], "train")
    for cache_file in isolated_cache.glob("*.npz"):
        cache_file.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="corrupt cache"):
        rebuilt, _ = data.load_fer2013(layouts["fer2013_csv"], "train")
    np.testing.assert_array_equal(images, rebuilt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data.load_fer2013(layouts["fer2013_csv"], "train")


def test_failed_cache_write_leaves_nothing_behind(layouts, isolated_cache, monkeypatch):
    def failing_savez(stream, **arrays):
        stream.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        data.load_fer2013(layouts["fer2013_csv"], "train")
    assert list(isolated_cache.iterdir()) == []


# --- download and inspection ---------------------------------------------------------

def test_download_rafdb_explains_the_licence():
    with pytest.raises(RuntimeError, match="licence agreement"):
        data.download("rafdb")


def test_download_fer2013_without_kagglehub_gives_manual_steps(monkeypatch):
    monkeypatch.setitem(sys.modules, "kagglehub", None)
    with pytest.raises(RuntimeError, match="kagglehub.*msambare/fer2013"):
        data.download("fer2013")


def test_download_fer2013_offline_gives_manual_steps(monkeypatch):
    def offline(handle):
        raise ConnectionError("no route to host")

    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=offline))
    with pytest.raises(RuntimeError, match="ConnectionError: no route to host.*FERKIT_DATA"):
        data.download("fer2013")


def test_download_unknown_name():
    with pytest.raises(ValueError, match="name"):
        data.download("affectnet")


def test_find_blank_images_and_class_counts():
    images = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 1), dtype=np.uint8)
    images[1] = 0
    images[3] = 128
    images[3, 0, 0, 0] = 129
    assert data.find_blank_images(images).tolist() == [1, 3]
    with pytest.raises(ValueError, match="shape"):
        data.find_blank_images(images[..., 0])
    counts = data.class_counts(np.array([0, 3, 3, 6]))
    assert counts.index.tolist() == list(EMOTIONS) and counts.tolist() == [1, 0, 0, 2, 0, 0, 1]
    with pytest.raises(ValueError, match="labels"):
        data.class_counts(np.array([7]))


# --- the real FER2013 (skipped where FERKIT_DATA has no fer2013/) -----------------------

REAL_COUNTS = {  # from the shared copy's README: train / PublicTest
    "angry": (3995, 467), "disgust": (436, 56), "fear": (4097, 496), "happy": (7215, 895),
    "sad": (4830, 653), "surprise": (3171, 415), "neutral": (4965, 607),
}


@pytest.mark.real_data
def test_real_fer2013_counts(fer2013_real):
    for column, (split, total) in enumerate((("train", 28709), ("public_test", 3589))):
        images, labels = data.load_fer2013(fer2013_real, split)
        assert images.shape == (total, 48, 48, 1) and images.dtype == np.uint8
        counts = data.class_counts(labels)
        assert counts.to_dict() == {name: REAL_COUNTS[name][column] for name in EMOTIONS}


def test_stratified_subset_keeps_class_shares_even_when_sorted():
    labels = np.repeat(np.arange(7), [400, 40, 400, 700, 480, 320, 500])  # sorted by class, like a folder
    images = np.arange(len(labels))[:, None, None, None].astype(np.uint8)
    subset_images, subset_labels = data.stratified_subset(images, labels, 284, seed=1)
    assert len(subset_labels) == 284 and set(subset_labels) == set(range(7))
    shares = np.bincount(subset_labels, minlength=7) / 284
    assert np.abs(shares - np.bincount(labels) / len(labels)).max() < 0.01
    again = data.stratified_subset(images, labels, 284, seed=1)[1]
    np.testing.assert_array_equal(subset_labels, again)
    assert data.stratified_subset(images, labels, 10_000)[1] is labels
    with pytest.raises(ValueError, match="count"):
        data.stratified_subset(images, labels, 3)
