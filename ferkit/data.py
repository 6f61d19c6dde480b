"""Finding, reading, validating and caching the course's datasets.

Lesson 02_fer2013 introduces this module. Every loader returns the same thing:

* ``images``: ``uint8`` array of shape ``(N, H, W, C)`` (48x48x1 for FER2013,
  100x100x3 for RAF-DB);
* ``labels``: ``int64`` array of shape ``(N,)`` with ids into :data:`EMOTIONS`,
  the FER2013 order, whatever order the source uses.

Where the data lives:

* pass ``path=`` to a loader (a CSV file, or a dataset folder in any of the
  layouts described in each loader), or
* set the environment variable ``FERKIT_DATA`` to a folder that holds
  ``fer2013/`` and/or ``rafdb/``, or
* use :func:`load_sample`, the generated offline sample, which needs nothing.

Decoded arrays are cached as ``.npz`` files in ``FERKIT_CACHE`` (default
``~/.cache/ferkit``), keyed on the source files' paths, sizes and modification
times, so a second load takes a fraction of a second.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""The seven expression classes in FER2013 order: label ``i`` is ``EMOTIONS[i]``."""

FER2013_SPLITS = ("train", "public_test", "private_test", "test")
RAFDB_SPLITS = ("train", "test")
FER2013_IMAGE_SHAPE = (48, 48, 1)
RAFDB_IMAGE_SHAPE = (100, 100, 3)

# FER2013 CSV "Usage" values and the split each belongs to.
_USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "public_test", "PrivateTest": "private_test"}
_SPLIT_TO_USAGE = {split: usage for usage, split in _USAGE_TO_SPLIT.items()}

# RAF-DB's own label numbers (1 surprise ... 7 neutral) -> EMOTIONS ids.
RAFDB_LABEL_TO_EMOTION = {1: 5, 2: 2, 3: 1, 4: 3, 5: 4, 6: 0, 7: 6}

# Folder names seen in the wild for each class, all lower case.
_EMOTION_ALIASES = {
    "angry": 0, "anger": 0,
    "disgust": 1, "disgusted": 1,
    "fear": 2, "fearful": 2,
    "happy": 3, "happiness": 3,
    "sad": 4, "sadness": 4,
    "surprise": 5, "surprised": 5,
    "neutral": 6,
}

_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}
_CACHE_VERSION = "1"
_SAMPLE_SPLIT_SIZES = {"train": 3000, "public_test": 600, "private_test": 600}
_SAMPLE_SPLIT_SEEDS = {"train": 20130, "public_test": 20131, "private_test": 20132}


# ---------------------------------------------------------------------------
# Where the data is
# ---------------------------------------------------------------------------

def cache_directory() -> Path:
    """Return the folder for decoded-array caches: ``FERKIT_CACHE`` or ``~/.cache/ferkit``."""
    configured = os.environ.get("FERKIT_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "ferkit"


def dataset_path(name: str, path: str | os.PathLike | None = None) -> Path:
    """Return where dataset ``name`` ("fer2013" or "rafdb") lives.

    ``path`` wins when given; otherwise ``$FERKIT_DATA/<name>``. Raises
    ``FileNotFoundError`` saying what to do when neither exists.
    """
    if path is not None:
        resolved = Path(path).expanduser()
        if not resolved.exists():
            raise FileNotFoundError(f"{name}: path {str(resolved)!r} does not exist.")
        return resolved
    root = os.environ.get("FERKIT_DATA")
    if root:
        candidate = Path(root).expanduser() / name
        if candidate.exists():
            return candidate
        raise FileNotFoundError(
            f"FERKIT_DATA is {root!r} but it has no {name!r} folder. Put the dataset at "
            f"{str(candidate)!r}, pass path=..., or use ferkit.data.load_sample()."
        )
    raise FileNotFoundError(
        f"No {name} data: pass path=... (a CSV file or dataset folder), or set the "
        f"environment variable FERKIT_DATA to a folder containing {name}/. "
        f"Offline, ferkit.data.load_sample() gives the generated sample; "
        f"ferkit.data.download({name!r}) explains how to get the real data."
    )


# ---------------------------------------------------------------------------
# FER2013
# ---------------------------------------------------------------------------

def load_fer2013(path=None, split="train", cache=True):
    """Load a FER2013 split as ``(images uint8 (N, 48, 48, 1), labels int64 (N,))``.

    ``path`` is the CSV (``fer2013.csv`` with columns ``emotion,pixels,Usage``, or
    Kaggle's ``icml_face_data.csv`` whose column names carry a leading space), a
    folder in the Kaggle layout ``train/<emotion>/*.jpg`` and ``test/<emotion>/*.jpg``,
    or a folder containing either. ``None`` uses ``$FERKIT_DATA/fer2013``.

    ``split`` is ``"train"``, ``"public_test"``, ``"private_test"`` or ``"test"``
    (public and private together). In the folder layout the test folder is split by
    the ``PublicTest_``/``PrivateTest_`` file-name prefixes. Introduced in lesson
    02_fer2013.
    """
    _check_choice("split", split, FER2013_SPLITS)
    source = _find_fer2013_source(dataset_path("fer2013", path))
    if source.is_file():
        return _load_fer2013_csv(source, split, cache)
    return _load_fer2013_folder(source, split, cache)


def _find_fer2013_source(path: Path) -> Path:
    """Return the CSV file or the layout folder (holding train/ and test/) under ``path``."""
    if path.is_file():
        return path
    children = {child.name.lower(): child for child in path.iterdir()}
    if "train" in children or "test" in children:
        return path
    for csv_name in ("fer2013.csv", "icml_face_data.csv"):
        if csv_name in children:
            return children[csv_name]
    if "fer2013" in children and children["fer2013"].is_dir():
        return _find_fer2013_source(children["fer2013"])
    raise FileNotFoundError(
        f"{str(path)!r} is not a FER2013 source: expected fer2013.csv, icml_face_data.csv, "
        f"or train/ and test/ emotion folders; found {sorted(children) or 'an empty folder'}."
    )


def _load_fer2013_csv(csv_path: Path, split: str, cache: bool):
    key = _file_key(csv_path)
    if cache:
        cached = _read_cache("fer2013-csv", key, split)
        if cached is not None:
            return cached
    per_usage = read_fer2013_csv(csv_path)
    arrays = {}
    for split_name in ("train", "public_test", "private_test"):
        arrays[split_name] = per_usage[_SPLIT_TO_USAGE[split_name]]
    arrays["test"] = tuple(
        np.concatenate([arrays["public_test"][i], arrays["private_test"][i]]) for i in range(2)
    )
    if cache:
        for split_name, (images, labels) in arrays.items():
            _write_cache("fer2013-csv", key, split_name, images, labels)
    if len(arrays[split][1]) == 0:
        raise ValueError(f"{str(csv_path)!r} has no rows with Usage {_usage_names(split)}.")
    return arrays[split]


def _usage_names(split):
    if split == "test":
        return "PublicTest or PrivateTest"
    return _SPLIT_TO_USAGE[split]


def read_fer2013_csv(csv_path, rows_per_chunk=4000):
    """Parse a FER2013 CSV into ``{usage: (images, labels)}`` for each ``Usage`` value.

    Accepts ``emotion,pixels,Usage`` in any column order and column names with stray
    spaces (Kaggle's ``icml_face_data.csv``). Every row is checked; a bad row raises
    ``ValueError`` naming the file and line. The pixel strings are parsed in chunks by
    NumPy's C tokenizer (see :func:`parse_pixel_rows`),
    several times faster than splitting each row in Python. Lesson 02_fer2013.
    """
    csv_path = Path(csv_path)
    lines = csv_path.read_bytes().split(b"\n")
    if lines and lines[-1].strip() == b"":
        lines.pop()
    if not lines:
        raise ValueError(f"{str(csv_path)!r} is empty: expected a header emotion,pixels,Usage.")
    header = [name.strip().strip(b'"').decode("utf-8", "replace").lower() for name in lines[0].split(b",")]
    missing = {"emotion", "pixels", "usage"} - set(header)
    if missing or len(header) != 3:
        raise ValueError(
            f"{str(csv_path)!r}, line 1: expected the columns emotion, pixels, Usage; found {header}."
        )
    emotion_column, pixels_column, usage_column = (header.index(name) for name in ("emotion", "pixels", "usage"))

    labels = np.empty(len(lines) - 1, dtype=np.int64)
    usages = []
    pixel_rows = []
    for row_index, line in enumerate(lines[1:]):
        line_number = row_index + 2
        fields = line.rstrip(b"\r").split(b",")
        if len(fields) != 3:
            raise ValueError(
                f"{str(csv_path)!r}, line {line_number}: expected 3 comma-separated fields, found {len(fields)}."
            )
        emotion_text = fields[emotion_column].strip().strip(b'"')
        if not emotion_text.isdigit() or int(emotion_text) > 6:
            raise ValueError(
                f"{str(csv_path)!r}, line {line_number}: emotion must be an integer 0-6, "
                f"found {emotion_text.decode('utf-8', 'replace')!r}."
            )
        labels[row_index] = int(emotion_text)
        usage = fields[usage_column].strip().strip(b'"').decode("utf-8", "replace")
        if usage not in _USAGE_TO_SPLIT:
            raise ValueError(
                f"{str(csv_path)!r}, line {line_number}: Usage must be one of "
                f"{sorted(_USAGE_TO_SPLIT)}, found {usage!r}."
            )
        usages.append(usage)
        pixel_rows.append(fields[pixels_column].strip().strip(b'"'))

    pixel_count = FER2013_IMAGE_SHAPE[0] * FER2013_IMAGE_SHAPE[1]
    images = np.empty((len(pixel_rows), pixel_count), dtype=np.uint8)
    for start in range(0, len(pixel_rows), rows_per_chunk):
        chunk = pixel_rows[start:start + rows_per_chunk]
        images[start:start + len(chunk)] = parse_pixel_rows(
            chunk, pixel_count, source=str(csv_path), first_line=start + 2
        )
    images = images.reshape((-1, *FER2013_IMAGE_SHAPE))
    usages = np.array(usages)
    return {
        usage: (images[usages == usage], labels[usages == usage]) for usage in _USAGE_TO_SPLIT
    }


def parse_pixel_rows(rows, pixel_count, source="<rows>", first_line=1):
    """Parse byte strings of space-separated integers 0-255 into ``uint8 (len(rows), pixel_count)``.

    The fast path hands all rows at once to NumPy's C tokenizer (``np.fromstring``)
    after checking, per row, that it has ``pixel_count - 1`` single-space separators.
    Anything unusual (a stray character, a missing value, double spaces) takes a slow
    row-by-row path that either parses the row or raises ``ValueError`` naming
    ``source`` and the line (``first_line`` is the line of ``rows[0]``).
    """
    separators_expected = pixel_count - 1
    if all(row.count(b" ") == separators_expected for row in rows):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                values = np.fromstring(b" ".join(rows), dtype=np.int32, sep=" ")
            except (ValueError, DeprecationWarning):
                values = None
        if values is not None and values.size == len(rows) * pixel_count:
            if values.size == 0 or (values.min() >= 0 and values.max() <= 255):
                return values.astype(np.uint8).reshape(len(rows), pixel_count)
    return np.stack([
        _parse_one_pixel_row(row, pixel_count, source, first_line + offset) for offset, row in enumerate(rows)
    ]) if rows else np.empty((0, pixel_count), dtype=np.uint8)


def _parse_one_pixel_row(row, pixel_count, source, line_number):
    tokens = row.split()
    if len(tokens) != pixel_count:
        raise ValueError(f"{source}, line {line_number}: expected {pixel_count} pixel values, found {len(tokens)}.")
    for token in tokens:
        if not token.isdigit() or int(token) > 255:
            raise ValueError(
                f"{source}, line {line_number}: pixels must be space-separated integers 0-255, "
                f"found {token.decode('utf-8', 'replace')!r}."
            )
    return np.array(tokens, dtype=np.int32).astype(np.uint8)


def _load_fer2013_folder(root: Path, split: str, cache: bool):
    folder_name = "train" if split == "train" else "test"
    split_folder = _child_folder(root, folder_name)
    files, labels, key = _list_class_folders(split_folder, _emotion_id_from_folder_name)
    if split in ("public_test", "private_test"):
        files, labels = _select_by_prefix(split_folder, files, labels, split)
    return _decode_cached("fer2013-folder", split, files, labels, FER2013_IMAGE_SHAPE, cache, key)


def _select_by_prefix(split_folder, files, labels, split):
    prefix = "PublicTest_" if split == "public_test" else "PrivateTest_"
    names = [os.path.basename(f) for f in files]
    has_prefix = np.array([name.startswith(("PublicTest_", "PrivateTest_")) for name in names], dtype=bool)
    if not has_prefix.any():
        raise ValueError(
            f"split={split!r}: the files in {str(split_folder)!r} carry no PublicTest_/PrivateTest_ "
            f"prefixes, so only split='test' is available for this copy."
        )
    if not has_prefix.all():
        unprefixed = files[int(np.argmin(has_prefix))]
        raise ValueError(
            f"split={split!r}: {int((~has_prefix).sum())} files in {str(split_folder)!r} have neither "
            f"prefix (e.g. {str(unprefixed)!r}); use split='test' or rename them."
        )
    chosen = np.array([name.startswith(prefix) for name in names], dtype=bool)
    if not chosen.any():
        raise ValueError(
            f"split={split!r}: no {prefix}* files in {str(split_folder)!r} (this copy withholds "
            f"{_SPLIT_TO_USAGE[split]}); available: split='test'."
        )
    return [f for f, keep in zip(files, chosen) if keep], labels[chosen]


# ---------------------------------------------------------------------------
# RAF-DB
# ---------------------------------------------------------------------------

def load_rafdb(path=None, split="train", exclude=(), cache=True):
    """Load a RAF-DB split as ``(images uint8 (N, 100, 100, 3), labels int64 (N,))``.

    Layouts: the official ``basic/`` release (``EmoLabel/list_patition_label.txt`` and
    ``Image/aligned/*_aligned.jpg``) and Kaggle's ``DATASET/{train,test}/<1..7>/``
    folders (RAF-DB's own numbering; emotion-named folders work too); ``path`` may be
    that folder or one containing it. RAF-DB numbers classes 1 surprise, 2 fear,
    3 disgust, 4 happiness, 5 sadness, 6 anger, 7 neutral; labels come back in
    :data:`EMOTIONS` order. ``exclude`` drops classes by name or id (Matijasevic
    dropped ``"disgust"``); the remaining labels keep their EMOTIONS ids.
    Lesson 07_transfer_learning.
    """
    _check_choice("split", split, RAFDB_SPLITS)
    excluded_ids = _emotion_ids(exclude, "exclude")
    root = dataset_path("rafdb", path)
    official = _find_rafdb_official(root)
    if official is not None:
        files, labels = _list_rafdb_official(official, split)
        kind = "rafdb-basic"
    else:
        folder_root = _find_rafdb_folders(root)
        files, labels, _ = _list_class_folders(_child_folder(folder_root, split), _rafdb_id_from_folder_name)
        kind = "rafdb-folder"
    keep = ~np.isin(labels, list(excluded_ids))
    files = [f for f, k in zip(files, keep) if k]
    return _decode_cached(kind, split, files, labels[keep], RAFDB_IMAGE_SHAPE, cache)


def _find_rafdb_official(root: Path):
    for candidate in (root, root / "basic"):
        if (candidate / "EmoLabel" / "list_patition_label.txt").is_file():
            return candidate
    return None


def _find_rafdb_folders(root: Path) -> Path:
    for candidate in (root, root / "DATASET"):
        if candidate.is_dir() and {"train", "test"} & {c.name.lower() for c in candidate.iterdir()}:
            return candidate
    raise FileNotFoundError(
        f"{str(root)!r} is not a RAF-DB folder: expected basic/EmoLabel/list_patition_label.txt "
        f"with basic/Image/aligned/, or DATASET/train/<1..7>/ and DATASET/test/<1..7>/."
    )


def _list_rafdb_official(basic: Path, split: str):
    label_file = basic / "EmoLabel" / "list_patition_label.txt"
    image_folder = basic / "Image" / "aligned"
    files, labels = [], []
    for line_number, line in enumerate(label_file.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) not in RAFDB_LABEL_TO_EMOTION:
            raise ValueError(
                f"{str(label_file)!r}, line {line_number}: expected '<name>.jpg <label 1-7>', found {line!r}."
            )
        name = parts[0]
        if not name.startswith(split + "_"):
            continue
        stem, suffix = os.path.splitext(name)
        files.append(str(image_folder / f"{stem}_aligned{suffix}"))
        labels.append(RAFDB_LABEL_TO_EMOTION[int(parts[1])])
    if not files:
        raise ValueError(f"{str(label_file)!r} lists no {split}_* images.")
    return files, np.array(labels, dtype=np.int64)


def _rafdb_id_from_folder_name(name: str):
    if name.isdigit() and int(name) in RAFDB_LABEL_TO_EMOTION:
        return RAFDB_LABEL_TO_EMOTION[int(name)]
    return _EMOTION_ALIASES.get(name.lower())


# ---------------------------------------------------------------------------
# The generated sample
# ---------------------------------------------------------------------------

def load_sample(split="train", image_size=48, channels=1, cache=True):
    """Load the generated offline sample as ``(images uint8, labels int64)``.

    Synthetic faces from :mod:`ferkit.sample`, with FER2013-like class frequencies and
    FER2013's split names: ``train`` (3,000 faces), ``public_test`` and
    ``private_test`` (600 each), ``test`` (both). ``image_size=48, channels=1`` mimics
    FER2013; ``image_size=100, channels=3`` mimics RAF-DB. Deterministic: every call
    returns the same arrays. Numbers measured on it are sample results, not FER2013
    results. Lesson 02_fer2013.
    """
    _check_choice("split", split, FER2013_SPLITS)
    _check_choice("channels", channels, (1, 3))
    if split == "test":
        parts = [load_sample(name, image_size, channels, cache) for name in ("public_test", "private_test")]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    from ferkit import sample

    # Keyed on the generator's source, so a change to the generator never serves stale faces.
    generator_hash = hashlib.sha1(Path(sample.__file__).read_bytes()).hexdigest()[:12]
    key = f"sample-{generator_hash}-{image_size}-{channels}"
    if cache:
        cached = _read_cache("sample", key, split)
        if cached is not None:
            return cached
    images, labels = sample.generate_faces(
        _SAMPLE_SPLIT_SIZES[split], seed=_SAMPLE_SPLIT_SEEDS[split], image_size=image_size, channels=channels
    )
    if cache:
        _write_cache("sample", key, split, images, labels)
    return images, labels


SAMPLE_LAYOUTS = ("fer2013_csv", "icml_csv", "fer2013_folder", "rafdb_basic", "rafdb_folder")


def write_sample(directory, layout, count=None):
    """Write the generated sample to ``directory`` in a real dataset's layout.

    ``layout`` is one of ``"fer2013_csv"``, ``"icml_csv"``, ``"fer2013_folder"``,
    ``"rafdb_basic"`` or ``"rafdb_folder"``. ``count`` limits the images per split
    (``None`` writes them all). Returns the path to hand to :func:`load_fer2013` or
    :func:`load_rafdb`, so every loader can be exercised end to end on files.
    Lesson 02_fer2013.
    """
    _check_choice("layout", layout, SAMPLE_LAYOUTS)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if layout.startswith("rafdb"):
        splits = {"train": load_sample("train", 100, 3), "test": load_sample("test", 100, 3)}
    else:
        splits = {usage: load_sample(split) for split, usage in _SPLIT_TO_USAGE.items()}
    if count is not None:
        splits = {name: (images[:count], labels[:count]) for name, (images, labels) in splits.items()}
    writer = {
        "fer2013_csv": _write_fer2013_csv,
        "icml_csv": _write_fer2013_csv,
        "fer2013_folder": _write_fer2013_folder,
        "rafdb_basic": _write_rafdb_basic,
        "rafdb_folder": _write_rafdb_folder,
    }[layout]
    return writer(directory, splits, layout)


def _write_fer2013_csv(directory, splits, layout):
    if layout == "icml_csv":
        path, header = directory / "icml_face_data.csv", "emotion, Usage, pixels"
        row = "{label},{usage},{pixels}"
    else:
        path, header = directory / "fer2013.csv", "emotion,pixels,Usage"
        row = "{label},{pixels},{usage}"
    lines = [header]
    for usage, (images, labels) in splits.items():
        for image, label in zip(images, labels):
            pixels = " ".join(map(str, image.reshape(-1).tolist()))
            lines.append(row.format(label=int(label), usage=usage, pixels=pixels))
    path.write_text("\n".join(lines) + "\n")
    return path


def _write_fer2013_folder(directory, splits, layout):
    root = directory / "fer2013"
    for usage, (images, labels) in splits.items():
        folder = "train" if usage == "Training" else "test"
        for index, (image, label) in enumerate(zip(images, labels)):
            target = root / folder / EMOTIONS[label] / f"{usage}_{index:05d}.jpg"
            _save_image(image, target)
    return root


def _write_rafdb_basic(directory, splits, layout):
    basic = directory / "basic"
    emotion_to_rafdb = {emotion: raf for raf, emotion in RAFDB_LABEL_TO_EMOTION.items()}
    lines = []
    for split, (images, labels) in splits.items():
        for index, (image, label) in enumerate(zip(images, labels), start=1):
            name = f"{split}_{index:05d}"
            _save_image(image, basic / "Image" / "aligned" / f"{name}_aligned.jpg")
            lines.append(f"{name}.jpg {emotion_to_rafdb[int(label)]}")
    label_file = basic / "EmoLabel" / "list_patition_label.txt"
    label_file.parent.mkdir(parents=True, exist_ok=True)
    label_file.write_text("\n".join(lines) + "\n")
    return basic


def _write_rafdb_folder(directory, splits, layout):
    root = directory / "DATASET"
    emotion_to_rafdb = {emotion: raf for raf, emotion in RAFDB_LABEL_TO_EMOTION.items()}
    for split, (images, labels) in splits.items():
        for index, (image, label) in enumerate(zip(images, labels), start=1):
            _save_image(image, root / split / str(emotion_to_rafdb[int(label)]) / f"{split}_{index:05d}.jpg")
    return root


def _save_image(image, target: Path):
    from PIL import Image

    target.parent.mkdir(parents=True, exist_ok=True)
    array = image[..., 0] if image.shape[-1] == 1 else image
    Image.fromarray(array).save(target, quality=95)


# ---------------------------------------------------------------------------
# Downloads, inspection
# ---------------------------------------------------------------------------

_MANUAL_STEPS = {
    "fer2013": (
        "To get FER2013 by hand: sign in at kaggle.com, download the dataset 'msambare/fer2013' "
        "(folder layout) or the challenge file 'fer2013.csv', unpack it to a folder such as "
        "~/data/fer2013, then either pass path='~/data/fer2013' to ferkit.data.load_fer2013 or set "
        "FERKIT_DATA=~/data (the folder holding fer2013/)."
    ),
    "rafdb": (
        "RAF-DB is released only under a licence agreement: request access from the RAF-DB "
        "authors (the Real-world Affective Faces Database page), download the 'basic' release, "
        "unpack it to e.g. ~/data/rafdb/basic, then pass path='~/data/rafdb' to "
        "ferkit.data.load_rafdb or set FERKIT_DATA=~/data."
    ),
}


def download(name):
    """Download a dataset, or explain exactly how to get it by hand.

    ``"fer2013"`` downloads Kaggle's folder layout with ``kagglehub`` (an optional
    dependency: ``pip install ferkit[kaggle]``; needs internet and Kaggle credentials)
    and returns the local folder. Offline, without ``kagglehub``, or for ``"rafdb"``
    (licence agreement), raises ``RuntimeError`` with the manual steps. Nothing is
    downloaded unless this function is called. Lesson 02_fer2013.
    """
    _check_choice("name", name, tuple(_MANUAL_STEPS))
    if name == "rafdb":
        raise RuntimeError("RAF-DB cannot be downloaded automatically. " + _MANUAL_STEPS["rafdb"])
    try:
        import kagglehub
    except ImportError:
        raise RuntimeError(
            "Downloading FER2013 needs the optional package kagglehub (pip install 'ferkit[kaggle]'). "
            + _MANUAL_STEPS["fer2013"]
        ) from None
    try:
        return Path(kagglehub.dataset_download("msambare/fer2013"))
    except Exception as error:  # kagglehub raises many types when offline or unauthenticated
        raise RuntimeError(
            f"Downloading FER2013 with kagglehub failed ({type(error).__name__}: {error}). "
            + _MANUAL_STEPS["fer2013"]
        ) from error


def find_blank_images(images, threshold=2.0):
    """Return the indices of near-constant images (pixel standard deviation below ``threshold``).

    FER2013 contains a few blank frames; Matijasevic removed blank RAF-DB images by
    hand. This finds them in one vectorised pass. Lesson 02_fer2013.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images: expected an array of shape (N, H, W, C), found shape {images.shape}.")
    deviations = images.reshape(len(images), -1).std(axis=1)
    return np.flatnonzero(deviations < threshold)


def stratified_subset(images, labels, count, seed=0):
    """Return ``count`` images and labels drawn at random with each class's share kept.

    Real datasets are often stored sorted by class, so ``images[:count]`` may hold one
    class only; this draws a seeded, stratified subset instead (scikit-learn's
    ``train_test_split``). Returns all of them, unchanged, when ``count >= len(labels)``.
    Lesson 02_fer2013.
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels)
    if not isinstance(count, (int, np.integer)) or count < len(np.unique(labels)):
        raise ValueError(f"count: expected an int of at least the number of classes, found {count!r}.")
    if count >= len(labels):
        return images, labels
    chosen, _ = train_test_split(np.arange(len(labels)), train_size=int(count), stratify=labels, random_state=seed)
    chosen = np.sort(chosen)
    return images[chosen], labels[chosen]


def class_counts(labels):
    """Return a pandas Series of image counts per class, indexed by :data:`EMOTIONS`. Lesson 02_fer2013."""
    import pandas as pd

    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= len(EMOTIONS)):
        raise ValueError(f"labels: expected ids 0-{len(EMOTIONS) - 1}, found {labels.min()}..{labels.max()}.")
    counts = np.bincount(labels, minlength=len(EMOTIONS))
    return pd.Series(counts, index=list(EMOTIONS), name="images")


# ---------------------------------------------------------------------------
# The dataset registry: one entry per dataset a lesson or the runner can name
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Dataset:
    """One dataset the course can load by name: its title, splits, loader and default protocol.

    ``name`` is what lessons pass as ``DATA_SOURCE`` and the runner as ``--dataset``;
    ``title`` is what tables and figures print. ``family`` is the kind of data it is
    (``"fer2013"``, ``"rafdb"`` or the FER2013-like ``"sample"``): it picks the loader of a
    real dataset and the split a protocol reports (:attr:`Protocol.report`). ``excluded``
    names classes left out of every split (Matijasevic trains and tests on RAF-DB without
    disgust). Introduced in lesson 02_fer2013.
    """

    name: str
    family: str
    title: str
    splits: tuple
    default_protocol: str
    real: bool
    image_shape: tuple
    excluded: tuple = ()

    def load(self, split, path=None, cache=True):
        """Load ``split`` as ``(images uint8, labels int64)`` (``path``: see :func:`load_fer2013`, :func:`load_rafdb`)."""
        _check_choice(f"split (dataset {self.name!r})", split, self.splits)
        if self.real:
            if self.family == "rafdb":
                return load_rafdb(path, split, exclude=self.excluded, cache=cache)
            return load_fer2013(path, split, cache=cache)
        height, width, channels = self.image_shape
        images, labels = load_sample(split, image_size=height, channels=channels, cache=cache)
        keep = ~np.isin(labels, list(_emotion_ids(self.excluded, "excluded")))
        return images[keep], labels[keep]


DATASETS = {
    "sample": Dataset("sample", "sample", "sample", FER2013_SPLITS, "canonical", False, FER2013_IMAGE_SHAPE),
    "fer2013": Dataset("fer2013", "fer2013", "FER2013", FER2013_SPLITS, "carveout", True, FER2013_IMAGE_SHAPE),
    "rafdb": Dataset("rafdb", "rafdb", "RAF-DB", RAFDB_SPLITS, "carveout", True, RAFDB_IMAGE_SHAPE),
    "rafdb_without_disgust": Dataset("rafdb_without_disgust", "rafdb", "RAF-DB without disgust", RAFDB_SPLITS,
                                     "carveout", True, RAFDB_IMAGE_SHAPE, excluded=("disgust",)),
    "rafdb_sample": Dataset("rafdb_sample", "rafdb", "sample (RAF-DB style)", RAFDB_SPLITS, "carveout", False,
                            RAFDB_IMAGE_SHAPE),
}
"""Every dataset by name. The sample mimics FER2013's splits; ``rafdb_sample`` is the same
generated faces in colour at 100x100 with RAF-DB's two splits (its ``test`` is the sample's
``public_test`` and ``private_test`` together)."""


def dataset(name):
    """The :class:`Dataset` called ``name``; a ``ValueError`` lists the known names otherwise."""
    _check_choice("dataset", name, tuple(DATASETS))
    return DATASETS[name]


def dataset_title(name):
    """The name tables print for dataset ``name``, e.g. ``"FER2013"`` for ``"fer2013"``. Lesson 02_fer2013."""
    return dataset(name).title


def load(name, split, path=None, cache=True):
    """Load ``split`` of dataset ``name`` (a key of :data:`DATASETS`) as ``(images, labels)``.

    The one entry point the lessons use; real datasets come from ``path`` or ``$FERKIT_DATA``.
    Lesson 02_fer2013.
    """
    return dataset(name).load(split, path=path, cache=cache)


# ---------------------------------------------------------------------------
# Protocols: which split trains, which selects, which is reported once
# ---------------------------------------------------------------------------

CARVEOUT_FRACTION = 0.1
"""Share of train held out for selection by the carve-out protocols (ours; stratified, seeded)."""


@dataclass(frozen=True)
class Protocol:
    """How a dataset is split into the parts a run uses: train, selection and report.

    ``selection`` and ``report`` name a split of the dataset, or ``"carve-out"`` (a
    seeded, stratified share of train) or ``"validation"`` (a share of the pooled data, as a
    paper describes). ``source`` says whose protocol it is. Introduced in lesson 02_fer2013.
    """

    name: str
    description: str
    source: str
    selection: str
    report: dict
    needs: tuple = ()
    validation_fraction: float = CARVEOUT_FRACTION


PROTOCOLS = {
    "carveout": Protocol(
        "carveout", "select on a 10 % stratified carve-out of train, report the test split once",
        "ours: the clean protocol for data without PrivateTest", "carve-out",
        {"fer2013": "public_test", "sample": "public_test", "rafdb": "test"}),
    "canonical": Protocol(
        "canonical", "select on PublicTest, report PrivateTest once",
        "the FER2013 challenge's own split of its test data", "public_test",
        {"fer2013": "private_test", "sample": "private_test"}, needs=("public_test", "private_test")),
    "barbagallo": Protocol(
        "barbagallo", "select on PrivateTest, report PublicTest (the challenge's roles swapped)",
        "Barbagallo, section 2", "private_test",
        {"fer2013": "public_test", "sample": "public_test"}, needs=("public_test", "private_test")),
    "qutub_atay": Protocol(
        "qutub_atay", "select on a carve-out of train, report PublicTest and PrivateTest together "
                      "(FER2013's 7,178 test images) or RAF-DB's test split",
        "Qutub & Atay, section 3.1 (the size of their validation split is not stated: 10 % is ours)",
        "carve-out", {"fer2013": "test", "sample": "test", "rafdb": "test"},
        needs=("public_test", "private_test")),
    "matijasevic": Protocol(
        "matijasevic", "pool RAF-DB's images and split them 80/20 into training and validation; "
                       "report the validation accuracy of the last epoch",
        "Matijasevic, section 5; section 4.2 (whether RAF-DB's own train and test were pooled is not "
        "stated: pooled here)", "validation", {"rafdb": "validation"}, validation_fraction=0.2),
}
"""Every protocol by name: ours (``carveout``, the default for data without PrivateTest), the
challenge's (``canonical``) and the papers' own, so that a paper's table can be rebuilt on
the paper's split. A paper's number and ours compare only when the protocols match."""


def default_protocol(dataset_name):
    """The protocol a lesson or run uses unless told otherwise: ``carveout`` for FER2013 and RAF-DB,
    ``canonical`` for the sample, which has both test splits. Lesson 02_fer2013."""
    return dataset(dataset_name).default_protocol


def check_protocol(dataset_name, protocol, path=None):
    """Raise a ``ValueError`` naming what is missing when ``protocol`` cannot be built on the data.

    Checks that the protocol applies to the dataset (RAF-DB has no PublicTest, Matijasevic's
    split is RAF-DB's only) and, for FER2013, that the user's copy holds the splits the protocol
    needs (a copy without PrivateTest cannot select or report on it). Lesson 02_fer2013.
    """
    _check_choice("protocol", protocol, tuple(PROTOCOLS))
    chosen = PROTOCOLS[protocol]
    entry = dataset(dataset_name)
    family = entry.family
    workable = [name for name, candidate in PROTOCOLS.items() if family in candidate.report]
    if family not in chosen.report:
        raise ValueError(
            f"protocol {protocol!r} ({chosen.source}) does not apply to {dataset_title(dataset_name)}; "
            f"protocols for it: {workable}.")
    if entry.real and family == "fer2013":
        for split in chosen.needs:
            try:
                entry.load(split, path)
            except ValueError as error:
                raise ValueError(
                    f"protocol {protocol!r} needs FER2013's {split} split, which your copy cannot give "
                    f"({str(error).rstrip('.')}); use protocol='carveout' (select on a carve-out of "
                    f"train, report public_test).") from error


def split_for_protocol(dataset_name, protocol=None, path=None, seed=0, max_train_images=None):
    """Load ``dataset_name`` and split it by ``protocol`` (default: :func:`default_protocol`).

    Returns ``(parts, split_names)``: ``parts`` is ``{"train": (x, y), "selection": (x, y),
    "report": (x, y)}``; ``split_names`` names where each part comes from, e.g. ``"train minus
    10% stratified carve-out (seed 0)"``. "Select" means: the epoch kept is the one with the
    lowest loss on the selection part; the report part is predicted once, by that model.
    ``max_train_images`` keeps a seeded, stratified subset of the training part
    (:func:`stratified_subset`). Introduced in lesson 02_fer2013.
    """
    from sklearn.model_selection import train_test_split

    entry = dataset(dataset_name)
    protocol = protocol or entry.default_protocol
    check_protocol(dataset_name, protocol, path)
    chosen = PROTOCOLS[protocol]
    report_split = chosen.report[entry.family]

    def part(indices, images, labels):
        return images[indices], labels[indices]

    if chosen.selection == "validation":  # Matijasevic: pool everything, split 80/20
        pooled = [entry.load(split, path) for split in entry.splits]
        images = np.concatenate([images for images, _ in pooled])
        labels = np.concatenate([labels for _, labels in pooled])
        train_indices, validation_indices = train_test_split(
            np.arange(len(labels)), test_size=chosen.validation_fraction, stratify=labels, random_state=seed)
        parts = {"train": part(np.sort(train_indices), images, labels),
                 "selection": part(np.sort(validation_indices), images, labels)}
        parts["report"] = parts["selection"]
        share = f"{chosen.validation_fraction:.0%}"
        names = {"train": f"{1 - chosen.validation_fraction:.0%} of all {entry.title} images (seed {seed})",
                 "selection": f"{share} validation split of all {entry.title} images (seed {seed})",
                 "report": f"the same {share} validation split, last epoch (Matijasevic's protocol)"}
        if max_train_images is not None and max_train_images < len(parts["train"][1]):
            parts["train"] = stratified_subset(*parts["train"], max_train_images, seed)
            names["train"] += f", stratified subset of {max_train_images:,}"
    else:
        images, labels = entry.load("train", path)
        cut = ""
        if max_train_images is not None and max_train_images < len(labels):
            images, labels = stratified_subset(images, labels, max_train_images, seed)
            cut = f", train cut to a stratified {len(labels):,} first"
        names = {"train": f"train cut to a stratified {len(labels):,} (seed {seed})" if cut else "train"}
        if chosen.selection == "carve-out":
            fit_indices, selection_indices = train_test_split(
                np.arange(len(labels)), test_size=chosen.validation_fraction, stratify=labels,
                random_state=seed)
            parts = {"train": part(np.sort(fit_indices), images, labels),
                     "selection": part(np.sort(selection_indices), images, labels)}
            share = f"{chosen.validation_fraction:.0%}"
            names = {"train": f"train minus {share} stratified carve-out (seed {seed}){cut}",
                     "selection": f"{share} stratified carve-out of train (seed {seed}){cut}"}
        else:
            parts = {"train": (images, labels), "selection": entry.load(chosen.selection, path)}
            names["selection"] = chosen.selection
        parts["report"] = entry.load(report_split, path)
        names["report"] = report_split
    return parts, names


def trim_parts(parts, split_names, sizes, seed=0):
    """Keep a seeded, stratified subset of some parts; the one trimming every lesson's ``FAST`` uses.

    ``parts`` and ``split_names`` are what :func:`split_for_protocol` returns; ``sizes`` maps a
    part name to the most images it keeps, e.g. ``{"train": 3000, "selection": 600}`` (parts
    not named, and parts already small enough, are kept whole). Returns new ``(parts,
    split_names)``; each trimmed part's name says so, e.g. ``"public_test, stratified subset
    of 600"``. Each class keeps its share (:func:`stratified_subset`), so a trimmed part is
    never one class only, as ``images[:n]`` of a class-sorted dataset would be.
    Introduced in lesson 02_fer2013.
    """
    unknown = set(sizes) - set(parts)
    if unknown:
        raise ValueError(f"sizes: expected part names from {sorted(parts)}, found {sorted(unknown)}.")
    parts, split_names = dict(parts), dict(split_names)
    for name, count in sizes.items():
        images, labels = parts[name]
        if count is None or count >= len(labels):
            continue
        parts[name] = stratified_subset(images, labels, count, seed)
        split_names[name] = f"{split_names[name]}, stratified subset of {count:,}"
    return parts, split_names


# ---------------------------------------------------------------------------
# Shared plumbing: class folders, decoding, caching, argument checks
# ---------------------------------------------------------------------------

def _check_choice(argument, value, choices):
    if value not in choices:
        raise ValueError(f"{argument}: expected one of {list(choices)}, found {value!r}.")


def _emotion_ids(classes, argument):
    ids = set()
    for item in classes:
        if isinstance(item, (int, np.integer)) and 0 <= item < len(EMOTIONS):
            ids.add(int(item))
        elif isinstance(item, str) and item.lower() in _EMOTION_ALIASES:
            ids.add(_EMOTION_ALIASES[item.lower()])
        else:
            raise ValueError(f"{argument}: expected emotion names or ids from {EMOTIONS}, found {item!r}.")
    return ids


def _emotion_id_from_folder_name(name: str):
    return _EMOTION_ALIASES.get(name.lower())


def _child_folder(root: Path, name: str) -> Path:
    for child in root.iterdir():
        if child.is_dir() and child.name.lower() == name:
            return child
    raise FileNotFoundError(f"{str(root)!r} has no {name}/ folder.")


def _list_class_folders(folder: Path, class_id_from_name):
    """List image files in ``folder/<class>/`` sorted by class id then name.

    Returns ``(files, labels, key)``: paths as strings, ``int64`` labels, and a cache
    key built from every file's name, size and modification time.
    """
    entries = []
    for class_folder in sorted(folder.iterdir()):
        if not class_folder.is_dir():
            continue
        class_id = class_id_from_name(class_folder.name)
        if class_id is None:
            raise ValueError(
                f"{str(class_folder)!r}: unknown emotion folder {class_folder.name!r}; "
                f"expected one of {list(EMOTIONS)} (any case)."
            )
        with os.scandir(class_folder) as scan:
            for entry in scan:
                if os.path.splitext(entry.name)[1].lower() in _IMAGE_SUFFIXES and entry.is_file():
                    stat = entry.stat()
                    entries.append((class_id, entry.name, entry.path, stat.st_size, stat.st_mtime_ns))
    if not entries:
        raise FileNotFoundError(f"{str(folder)!r} holds no images in emotion folders.")
    entries.sort()
    digest = hashlib.sha1(str(folder.resolve()).encode())
    digest.update("".join(f"{e[0]}|{e[1]}|{e[3]}|{e[4]}\n" for e in entries).encode())
    files = [entry[2] for entry in entries]
    labels = np.array([entry[0] for entry in entries], dtype=np.int64)
    return files, labels, digest.hexdigest()


def _decode_cached(kind, split, files, labels, shape, cache, key=None):
    key = key if key is not None else _files_key(files)
    if cache:
        cached = _read_cache(kind, key, split)
        if cached is not None:
            return cached
    images = decode_images(files, shape)
    if cache:
        _write_cache(kind, key, split, images, labels)
    return images, labels


def decode_images(files, shape, workers=None):
    """Decode image ``files`` into ``uint8 (N, *shape)`` with OpenCV, in parallel threads.

    Raises ``ValueError`` naming the file for an unreadable or truncated image, or one
    whose size is not ``shape``'s height and width.
    """
    import cv2

    height, width, channels = shape
    read_flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    images = np.empty((len(files), height, width, channels), dtype=np.uint8)

    def decode(index):
        path = files[index]
        encoded = Path(path).read_bytes()
        if encoded.startswith(b"\xff\xd8") and not encoded.rstrip(b"\x00").endswith(b"\xff\xd9"):
            raise ValueError(f"{str(path)!r}: truncated JPEG (no end-of-image marker).")
        image = cv2.imdecode(np.frombuffer(encoded, dtype=np.uint8), read_flag)
        if image is None:
            raise ValueError(f"{str(path)!r}: unreadable image (not a JPEG/PNG/BMP OpenCV can decode).")
        if image.shape[:2] != (height, width):
            raise ValueError(
                f"{str(path)!r}: expected a {width}x{height} image, found {image.shape[1]}x{image.shape[0]}."
            )
        if channels == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        images[index] = image.reshape(height, width, channels)

    workers = workers or min(8, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(decode, range(len(files))):
            pass
    return images


def _file_key(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def _files_key(files) -> str:
    digest = hashlib.sha1()
    for path in files:
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"{path!r}: listed in the dataset but missing on disk.") from None
        digest.update(f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _cache_file(kind, key, split) -> Path:
    digest = hashlib.sha1(f"{_CACHE_VERSION}|{kind}|{key}".encode()).hexdigest()[:20]
    return cache_directory() / f"{kind}-{split}-{digest}.npz"


def _read_cache(kind, key, split):
    path = _cache_file(kind, key, split)
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            return stored["images"], stored["labels"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        warnings.warn(f"Ignoring the corrupt cache file {str(path)!r} ({error}); rebuilding it.", stacklevel=3)
        return None


def _write_cache(kind, key, split, images, labels):
    """Write the arrays atomically: a temporary file in the same folder, then a rename."""
    path = _cache_file(kind, key, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, images=images, labels=labels)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
