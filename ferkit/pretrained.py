"""The shipped reference model, face detection, and predictions on new photos.

Lesson 09_deployment introduces this module. The reference model is a compact
CNN trained on the real FER2013 by :mod:`ferkit.experiments` (its model card,
``ferkit/assets/reference_model.md``, states the data, protocol and accuracy).
It takes 48x48 grayscale faces, like FER2013, so a photo goes through three
steps: find the faces (OpenCV's Haar cascade), crop and shrink each to 48x48
grey, and predict the seven class probabilities.

    from ferkit import pretrained
    faces = pretrained.predict_faces("group_photo.jpg")
    for face in faces:
        print(face["box"], face["label"], face["probabilities"]["happy"])

The same from a shell: ``ferkit predict photo.jpg --out annotated.png``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ferkit.data import EMOTIONS

ASSETS = Path(__file__).resolve().parent / "assets"
MODEL_PATH = ASSETS / "reference_model.keras"
MODEL_CARD_PATH = ASSETS / "reference_model.md"
FACE_SIZE = 48
TENCROP_SIZE = 44
"""Crop side for ``tta="tencrop"`` on 48x48 faces: ten 44x44 crops, each resized back to 48x48."""


@functools.lru_cache(maxsize=1)
def load():
    """Return the shipped reference model (a ``keras.Model``, loaded with ``safe_mode=True``).

    It expects float images in [0, 1] of shape ``(48, 48, 1)`` and returns softmax
    probabilities over :data:`ferkit.data.EMOTIONS`. Loaded once, then reused.
    """
    import keras

    if not MODEL_PATH.exists():
        raise FileNotFoundError(
            f"The reference model is missing from the package ({MODEL_PATH}). Reinstall ferkit, or "
            f"train it with: python -m ferkit.experiments run reference --dataset fer2013"
        )
    return keras.models.load_model(MODEL_PATH, safe_mode=True)


def export(checkpoint, destination=MODEL_PATH):
    """Write the model of a training checkpoint without its optimiser state, ready to ship.

    ``checkpoint`` is a ``best.keras`` file from :func:`ferkit.train.fit` (which holds the
    optimiser's moments too, about three times the weights); the exported file holds the
    architecture and weights only, loadable with ``safe_mode=True``. Returns the
    destination path. Used once, after ``python -m ferkit.experiments run reference``.
    """
    import keras

    model = keras.models.load_model(checkpoint, safe_mode=True, compile=False)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    model.save(destination)
    return destination


def model_card():
    """Return the reference model's card (Markdown): data, protocol, accuracy, limits."""
    return MODEL_CARD_PATH.read_text()


@functools.lru_cache(maxsize=1)
def _face_cascade():
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    if cascade.empty():
        raise RuntimeError("OpenCV's frontal-face Haar cascade could not be loaded from cv2.data.")
    return cascade


def read_image(source):
    """Return ``source`` (a file path or an array) as a ``uint8`` RGB or grey array.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the file
    for one that is not an image OpenCV can read.
    """
    import cv2

    if isinstance(source, np.ndarray):
        image = source
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{str(path)!r}: no such file.")
        image = cv2.imdecode(np.frombuffer(path.read_bytes(), dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"{str(path)!r}: not an image OpenCV can read (JPEG, PNG, BMP, ...).")
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] != 3):
        raise ValueError(
            f"image: expected uint8 (H, W), (H, W, 1) or (H, W, 3), found {image.dtype} {image.shape}."
        )
    return image


def _grey(image):
    import cv2

    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def detect_faces(image, min_size=48, min_neighbors=5):
    """Return face boxes ``(x, y, width, height)`` found by OpenCV's Haar cascade, largest first."""
    grey = _grey(read_image(image))
    boxes = _face_cascade().detectMultiScale(
        grey, scaleFactor=1.1, minNeighbors=min_neighbors, minSize=(min_size, min_size)
    )
    boxes = [tuple(int(v) for v in box) for box in boxes]
    return sorted(boxes, key=lambda box: -box[2] * box[3])


def crop_faces(image, boxes):
    """Return each box of ``image`` as a 48x48 grey ``uint8`` face, ``(len(boxes), 48, 48, 1)``."""
    import cv2

    grey = _grey(read_image(image))
    faces = np.empty((len(boxes), FACE_SIZE, FACE_SIZE, 1), dtype=np.uint8)
    for index, (x, y, width, height) in enumerate(boxes):
        crop = grey[y:y + height, x:x + width]
        faces[index, ..., 0] = cv2.resize(crop, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    return faces


def predict_faces(image, model=None, tta="none", min_size=48):
    """Find the faces in ``image`` and predict each one's expression.

    ``image`` is a file path or an array. Returns a list (largest face first; empty
    when no face is found) of dicts with ``box`` ``(x, y, width, height)``, ``label``
    (the most probable emotion) and ``probabilities`` ``{emotion: probability}``.
    ``model`` defaults to the shipped reference model; ``tta`` is passed to
    :func:`ferkit.evaluate.predict` (``"none"``, ``"flip"`` or ``"tencrop"`` with
    :data:`TENCROP_SIZE` crops; the model card gives each mode's measured gain).
    """
    from ferkit import evaluate

    image = read_image(image)
    boxes = detect_faces(image, min_size=min_size)
    if not boxes:
        return []
    crop_size = TENCROP_SIZE if tta == "tencrop" else None
    probabilities = evaluate.predict(model or load(), crop_faces(image, boxes), tta=tta, crop_size=crop_size)
    return [
        {
            "box": box,
            "label": EMOTIONS[int(row.argmax())],
            "probabilities": {emotion: float(p) for emotion, p in zip(EMOTIONS, row)},
        }
        for box, row in zip(boxes, probabilities)
    ]


def annotate(image, faces):
    """Return a copy of ``image`` (RGB) with each face's box and label drawn on it."""
    import cv2

    image = read_image(image)
    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image.copy()
    thickness = max(1, round(max(canvas.shape[:2]) / 300))
    for face in faces:
        x, y, width, height = face["box"]
        text = f"{face['label']} {face['probabilities'][face['label']]:.0%}"
        cv2.rectangle(canvas, (x, y), (x + width, y + height), (0, 200, 0), thickness)
        cv2.putText(canvas, text, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness,
                    (0, 200, 0), thickness, cv2.LINE_AA)
    return canvas


def write_image(image, path):
    """Save an RGB or grey ``uint8`` array to ``path`` (format from the suffix)."""
    import cv2

    path = Path(path)
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if not cv2.imwrite(str(path), bgr):
        raise ValueError(f"{str(path)!r}: could not write an image there (check the folder and suffix).")
    return path
