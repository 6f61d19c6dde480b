"""Benchmark ferkit.data on the real FER2013 folder (issue 2).

Prints: cold load of the folder layout (empty cache), cached load, and the time to
parse a full-size FER2013 CSV (written from the folder) with ferkit's vectorised
parser against the usual per-row ``str.split`` approach, as a ratio.

    FERKIT_DATA=../shared/data python bench/bench_data.py
"""

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from ferkit import data


def naive_parse(csv_path):
    """The approach most tutorials use: split every row in Python."""
    images, labels, usages = [], [], []
    with open(csv_path) as stream:
        next(stream)
        for line in stream:
            emotion, pixels, usage = line.rstrip("\n").split(",")
            images.append(np.array(pixels.split(), dtype=np.uint8).reshape(48, 48, 1))
            labels.append(int(emotion))
            usages.append(usage)
    return np.stack(images), np.array(labels), usages


def timed(function, *arguments):
    start = time.perf_counter()
    result = function(*arguments)
    return time.perf_counter() - start, result


def main():
    root = os.environ.get("FERKIT_DATA")
    if not root or not (Path(root) / "fer2013").is_dir():
        print("bench_data: skipped, it needs the real FER2013: set FERKIT_DATA to the folder "
              "holding fer2013/ (e.g. ../shared/data).")
        return
    folder = Path(root) / "fer2013"
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["FERKIT_CACHE"] = str(Path(scratch) / "cache")
        cold, (train_images, train_labels) = timed(data.load_fer2013, folder, "train")
        cached, _ = timed(data.load_fer2013, folder, "train")
        test_images, test_labels = data.load_fer2013(folder, "public_test")
        print(f"folder layout, train ({len(train_labels):,} images): cold {cold:.2f} s, cached {cached:.3f} s")

        csv_path = Path(scratch) / "fer2013.csv"
        with open(csv_path, "w") as stream:
            stream.write("emotion,pixels,Usage\n")
            for images, labels, usage in ((train_images, train_labels, "Training"),
                                          (test_images, test_labels, "PublicTest")):
                for image, label in zip(images, labels):
                    stream.write(f"{label},{' '.join(map(str, image.ravel().tolist()))},{usage}\n")
        size_mb = csv_path.stat().st_size / 1e6
        fast, parsed = timed(data.read_fer2013_csv, csv_path)
        naive, (naive_images, _, _) = timed(naive_parse, csv_path)
        assert np.array_equal(parsed["Training"][0], naive_images[: len(train_labels)])
        print(f"CSV parse ({size_mb:.0f} MB, {len(naive_images):,} rows): ferkit {fast:.2f} s, "
              f"per-row str.split {naive:.2f} s, speed-up {naive / fast:.1f}x")


if __name__ == "__main__":
    main()
