"""The shipped reference model: what test-time augmentation buys, and how fast it predicts on a CPU.

Run: ``.venv/bin/python bench/bench_pretrained.py`` (with ``FERKIT_DATA`` pointing at a folder
holding ``fer2013/``; without it only the speed part runs).

1. Accuracy of :func:`ferkit.pretrained.load` with ``tta="none"``, ``"flip"`` and
   ``"tencrop"`` (44x44 crops resized to the model's 48x48), first on the 10 % carve-out of
   train the model was selected on (where a TTA mode should be chosen), then on PublicTest.
2. Inference speed: one face at a time (``predict_on_batch`` of one 48x48 face: the live
   webcam case), batches of 256 faces, and the whole :func:`ferkit.pretrained.predict_faces`
   on a 640x480 frame with faces (Haar detection, crops, prediction).

Figures are measurements of this machine at this moment, never asserted anywhere.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from ferkit import data, evaluate, pretrained  # noqa: E402

TTA_MODES = {"none": {}, "flip": {}, "tencrop": {"crop_size": pretrained.TENCROP_SIZE}}


def accuracy_by_tta(model, images, labels):
    return {mode: float((evaluate.predict(model, images, tta=mode, **options).argmax(axis=1) == labels).mean())
            for mode, options in TTA_MODES.items()}


def rate(function, items, rounds=5):
    """Median items per second of ``function()`` over ``rounds`` calls, after one warm-up."""
    function()
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return items / statistics.median(seconds)


def frame_with_faces(count=3):
    """A grey 640x480 frame holding ``count`` generated sample faces, 160 pixels wide."""
    import cv2

    faces, _ = data.load_sample("public_test")
    frame = np.full((480, 640), 128, dtype=np.uint8)
    for index in range(count):
        frame[160:320, 30 + index * 205 : 190 + index * 205] = cv2.resize(
            faces[index + 4, ..., 0], (160, 160), interpolation=cv2.INTER_CUBIC)
    return frame


def main():
    model = pretrained.load()
    print(f"model: {pretrained.MODEL_PATH.name}, {model.count_params():,} parameters; "
          f"{os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f} at start")
    try:
        parts, names = data.split_for_protocol("fer2013", "carveout")
    except FileNotFoundError as error:
        print(f"accuracy part skipped: {error}")
    else:
        for part in ("selection", "report"):
            images, labels = parts[part]
            scores = accuracy_by_tta(model, images, labels)
            print(f"\naccuracy on {names[part]} ({len(labels)} images)")
            for mode, score in scores.items():
                print(f"  tta={mode:<8} {score:.4f}   gain {100 * (score - scores['none']):+.2f} points")

    face = np.random.default_rng(0).random((1, 48, 48, 1), dtype=np.float32)
    faces = np.random.default_rng(1).random((256, 48, 48, 1), dtype=np.float32)
    frame = frame_with_faces()
    found = len(pretrained.detect_faces(frame))
    print("\nCPU inference speed (median of 5 timed calls after a warm-up)")
    print(f"  one face per call:         {rate(lambda: model.predict_on_batch(face), 1):8.0f} faces/s")
    print(f"  256 faces per call:        {rate(lambda: model.predict_on_batch(faces), 256):8.0f} faces/s")
    print(f"  predict_faces, 640x480 frame with {found} faces found: "
          f"{rate(lambda: pretrained.predict_faces(frame, model=model), 1):6.1f} frames/s")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (the machine may be shared)")


if __name__ == "__main__":
    main()
