"""Predictions with test-time augmentation, reports, and paper comparisons.

Lesson 08_evaluation introduces this module. The metrics are
scikit-learn's; this module only shapes them like the papers' tables and
keeps every number next to the dataset and split it was measured on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics

from ferkit.augment import ten_crop
from ferkit.data import EMOTIONS
from ferkit.pipeline import as_model_input, model_input

TTA_MODES = ("none", "flip", "tencrop")

SOURCE_PAPER = "paper"
SOURCE_RECORDED = "ours (recorded real run)"
SOURCE_THIS_RUN = "ours (this run, sample)"


def _probabilities(model, images):
    """Model probabilities for one chunk of images (uint8 or float in [0, 1])."""
    batch = as_model_input(images, model)
    probabilities = np.asarray(model.predict_on_batch(batch), dtype=np.float32)
    sums = probabilities.sum(axis=1)
    if probabilities.ndim != 2 or not np.allclose(sums, 1.0, atol=1e-2):
        raise ValueError(
            "model: expected probabilities (rows summing to 1; end the model with a softmax), "
            f"found outputs of shape {probabilities.shape} with row sums {sums[:3]}..."
        )
    return probabilities


def predict(model, images, batch_size=256, tta="none", crop_size=None):
    """Class probabilities for ``images``, optionally with test-time augmentation.

    Returns a ``float32`` array ``(N, classes)``; ``argmax(axis=1)`` gives
    the predicted labels. ``images`` is ``uint8`` ``(N, H, W, C)`` (or float
    in ``[0, 1]``); each chunk of ``batch_size`` images is scaled, resized
    and channel-converted to the model's input as
    :func:`ferkit.pipeline.make_dataset` does. ``model`` must output
    probabilities (a softmax).

    ``tta`` averages probabilities (not labels) over views of each image:

    - ``"none"``: the image itself;
    - ``"flip"``: the image and its mirror;
    - ``"tencrop"``: the ten crops of :func:`ferkit.augment.ten_crop` of side
      ``crop_size`` (default: the model's input side when the images are
      larger). Crops of another size than the model's input are resized to
      it: Qutub & Atay's crop-and-feed.

    Memory stays bounded: crops are made per chunk of ``batch_size`` images
    and the model sees one crop position at a time, so no call ever holds
    more than ``batch_size`` images (TenCrop on all of a test set at once,
    ``10 * N`` images, is the classic out-of-memory trap).
    Introduced in lesson 08_evaluation (TenCrop in 06_augmentation).
    """
    if tta not in TTA_MODES:
        raise ValueError(f"tta: expected one of {TTA_MODES}, found {tta!r}")
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images: expected shape (N, H, W, C), found {images.shape}")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, found {batch_size!r}")
    size, _ = model_input(model)
    if tta == "tencrop" and crop_size is None:
        if size is None or size[0] != size[1] or size[0] >= min(images.shape[1:3]):
            raise ValueError(
                f"crop_size: required for tta='tencrop' when the model's input {size} is not a "
                f"square smaller than the images {images.shape[1:3]}"
            )
        crop_size = size[0]

    chunks = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        if tta == "none":
            probabilities = _probabilities(model, chunk)
        elif tta == "flip":
            probabilities = (
                _probabilities(model, chunk)
                + _probabilities(model, chunk[:, :, ::-1])
            ) / 2.0
        else:
            crops = ten_crop(chunk, crop_size)
            probabilities = sum(_probabilities(model, crop) for crop in crops) / 10.0
        chunks.append(probabilities)
    if not chunks:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    return np.concatenate(chunks).astype(np.float32)


def _labels(values, argument):
    values = np.asarray(values)
    if values.ndim == 2:  # probabilities -> labels
        values = values.argmax(axis=1)
    if values.ndim != 1:
        raise ValueError(f"{argument}: expected class ids (N,) or probabilities (N, classes), found shape {values.shape}")
    return values


def _check_pair(y_true, y_pred):
    y_true = _labels(y_true, "y_true")
    y_pred = _labels(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_pred: expected {len(y_true)} predictions (one per y_true), found {len(y_pred)}")
    return y_true, y_pred


def classification_report(y_true, y_pred, labels=EMOTIONS):
    """Precision, recall, F1 and support per class, as the papers print it.

    Returns a DataFrame indexed by the class names of ``labels`` (ids
    ``0..len(labels)-1``) followed by ``"accuracy"``, ``"macro avg"`` and
    ``"weighted avg"``, with the columns ``"Precision"``, ``"Recall"``,
    ``"F1-score"`` and ``"Images (n)"``. The numbers are scikit-learn's
    ``precision_recall_fscore_support`` with ``zero_division=0``; as in
    scikit-learn's text report, the accuracy row holds the accuracy in the
    F1-score column (Precision and Recall are NaN) and the total count.
    ``y_pred`` may be labels or probabilities. Introduced in lesson 08_evaluation.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    ids = list(range(len(labels)))
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=ids, zero_division=0
    )
    frame = pd.DataFrame(
        {"Precision": precision, "Recall": recall, "F1-score": f1, "Images (n)": support},
        index=pd.Index(list(labels), name="class"),
    )
    total = int(support.sum())
    frame.loc["accuracy"] = [np.nan, np.nan, metrics.accuracy_score(y_true, y_pred), total]
    for average in ("macro", "weighted"):
        p, r, f, _ = metrics.precision_recall_fscore_support(
            y_true, y_pred, labels=ids, average=average, zero_division=0
        )
        frame.loc[f"{average} avg"] = [p, r, f, total]
    frame["Images (n)"] = frame["Images (n)"].astype(int)
    return frame


def confusion_matrix(y_true, y_pred, labels=EMOTIONS, normalize=None):
    """The confusion matrix as a labelled DataFrame.

    Returns rows = true class, columns = predicted class (index name
    ``"true"``, columns name ``"predicted"``), counts with
    ``normalize=None`` or row fractions (each true class sums to 1) with
    ``normalize="true"``; scikit-learn's ``confusion_matrix``.
    Introduced in lesson 08_evaluation.
    """
    if normalize not in (None, "true"):
        raise ValueError(f"normalize: expected None or 'true', found {normalize!r}")
    y_true, y_pred = _check_pair(y_true, y_pred)
    matrix = metrics.confusion_matrix(
        y_true, y_pred, labels=list(range(len(labels))), normalize=normalize
    )
    return pd.DataFrame(
        matrix,
        index=pd.Index(list(labels), name="true"),
        columns=pd.Index(list(labels), name="predicted"),
    )


def most_confused_pairs(y_true, y_pred, top=5, labels=EMOTIONS):
    """The ``top`` most frequent mistakes, e.g. fear taken for sad.

    Returns a DataFrame with the columns ``"true"``, ``"predicted"``,
    ``"count"`` and ``"share of true class"`` (the fraction of that true
    class's images that went to that wrong class), largest count first;
    only pairs that occur. Introduced in lesson 08_evaluation.
    """
    counts = confusion_matrix(y_true, y_pred, labels=labels)
    values = counts.to_numpy()
    row_totals = values.sum(axis=1)
    rows = [
        (labels[t], labels[p], int(values[t, p]), values[t, p] / row_totals[t])
        for t in range(len(labels))
        for p in range(len(labels))
        if t != p and values[t, p] > 0
    ]
    rows.sort(key=lambda row: (-row[2], row[0], row[1]))
    return pd.DataFrame(rows[:top], columns=["true", "predicted", "count", "share of true class"])


def majority_baseline(train_labels, labels):
    """The accuracy on ``labels`` of always answering the most frequent class of ``train_labels``.

    Returns ``(class_id, accuracy)``. A network that has learned only how often each class
    occurs scores exactly this: every accuracy should be read against it. Lesson
    02_fer2013 computes it by hand with ``numpy.bincount``; later lessons call this.
    """
    train_labels = _labels(train_labels, "train_labels")
    labels = _labels(labels, "labels")
    if train_labels.size == 0:
        raise ValueError("train_labels: expected at least one label, found none")
    most_frequent = int(np.bincount(train_labels, minlength=len(EMOTIONS)).argmax())
    return most_frequent, float(np.mean(labels == most_frequent)) if labels.size else float("nan")


def majority_baselines(parts, split_names, dataset):
    """The majority-class baseline of every part of a split, one row per part.

    ``parts`` and ``split_names`` are what :func:`ferkit.data.split_for_protocol` (or
    :func:`ferkit.data.trim_parts`) return; ``dataset`` is the title tables print
    (:func:`ferkit.data.dataset_title`). Returns a DataFrame indexed by part with the
    columns ``"dataset"``, ``"split"``, ``"images"``, ``"always answering"`` (the most
    frequent class of the ``train`` part) and ``"majority-class rate"`` (the accuracy of
    always answering it, :func:`majority_baseline`): the number every accuracy measured
    on that part must beat. Introduced in lesson 03_shallow_dropout_deep.
    """
    if "train" not in parts:
        raise ValueError(f"parts: expected a 'train' part, found {sorted(parts)}")
    missing = sorted(set(parts) - set(split_names))
    if missing:
        raise ValueError(f"split_names: expected a name for every part, missing {missing}")
    train_labels = parts["train"][1]
    rows = {}
    for part, (_, labels) in parts.items():
        majority, rate = majority_baseline(train_labels, labels)
        rows[part] = {"dataset": dataset, "split": split_names[part], "images": len(labels),
                      "always answering": EMOTIONS[majority], "majority-class rate": rate}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("part")


def compare_with_majority_baseline(train_labels, y_true, y_pred, alpha=0.05):
    """Whether predictions beat the majority-class baseline, and what the model answers most.

    Returns a dict: ``"accuracy"`` of ``y_pred`` (labels or probabilities) on ``y_true``;
    ``"always answering"`` (the most frequent class of ``train_labels``) and
    ``"majority-class rate"`` (:func:`majority_baseline` on ``y_true``); ``"most frequent
    answer"`` (a class name) and ``"share of that answer"`` (its fraction of the
    predictions); ``"p-value"`` of a one-sided binomial test (how likely at least this many
    correct answers are for a guesser right at the majority-class rate, scipy's
    ``binomtest``); and ``"above the majority-class rate"``, ``True`` when the p-value is
    below ``alpha``. A run that has learned only how often each class occurs is not above
    the rate, and usually gives one answer for nearly every face. Introduced in lesson
    03_shallow_dropout_deep.
    """
    from scipy import stats

    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha: expected a significance level in (0, 1), found {alpha!r}")
    y_true, y_pred = _check_pair(y_true, y_pred)
    if y_true.size == 0:
        raise ValueError("y_true: expected at least one label, found none")
    majority, rate = majority_baseline(train_labels, y_true)
    correct = int(np.sum(y_true == y_pred))
    answers = np.bincount(y_pred, minlength=len(EMOTIONS))
    p_value = float(stats.binomtest(correct, len(y_true), rate, alternative="greater").pvalue) if rate < 1 else 1.0
    return {
        "accuracy": correct / len(y_true),
        "always answering": EMOTIONS[majority],
        "majority-class rate": rate,
        "most frequent answer": EMOTIONS[int(answers.argmax())],
        "share of that answer": float(answers.max() / answers.sum()),
        "p-value": p_value,
        "above the majority-class rate": p_value < alpha,
    }


def result(model, dataset, split, y_true, y_pred, source=SOURCE_THIS_RUN, reference=""):
    """One row for :func:`compare`: our accuracy and macro F1 with where they come from.

    Returns a dict with ``model``, ``dataset``, ``split``, ``source``,
    ``reference``, ``accuracy`` and ``macro f1``. ``source`` says whose
    number it is: :data:`SOURCE_THIS_RUN` for the sample trained in the
    notebook, :data:`SOURCE_RECORDED` for a real run recorded by
    :mod:`ferkit.experiments`. Introduced in lesson 08_evaluation.
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return {
        "model": model,
        "dataset": dataset,
        "split": split,
        "source": source,
        "reference": reference,
        "accuracy": metrics.accuracy_score(y_true, y_pred),
        "macro f1": metrics.f1_score(y_true, y_pred, average="macro", zero_division=0),
    }


_COMPARE_COLUMNS = ["model", "dataset", "split", "ferkit split", "source", "reference"]


def compare(results, paper, metric="accuracy"):
    """A paper's reported numbers beside ours, one row per number.

    Returns a DataFrame with the columns ``model``, ``dataset``, ``split`` (as
    its source names it: the paper's words for a paper's row), ``ferkit split``
    (the split of :mod:`ferkit.data` holding the same images; empty for a paper's
    split that no ferkit split equals, such as Mondal's unnamed validation set),
    ``source`` (:data:`SOURCE_PAPER` or ours), ``reference`` (the paper and table,
    or our run) and ``metric`` (the value); the paper's rows first. A paper's
    number and ours measure the same thing only where their ``ferkit split``
    agrees. ``paper`` is a key of :data:`ferkit.papers.PAPERS` or a DataFrame from
    :func:`ferkit.papers.reported`; only its whole-split rows of ``metric`` are
    shown (per-class rows are left to :func:`ferkit.papers.classification_report`),
    including the studies a paper only cites (their reference says so). A paper
    with no such number contributes no row (:data:`ferkit.papers.NOT_REPORTED`
    says why). ``results`` is a list of dicts (e.g. from :func:`result`) or a
    DataFrame; every row must state its ``model``, ``dataset`` and ``split``.
    Introduced in lesson 08_evaluation.
    """
    from ferkit import papers

    table = papers.reported(paper=paper) if isinstance(paper, str) else paper
    table = table[(table["metric"] == metric) & table["label"].isna()]
    references = []
    for name, where, cited in zip(table["paper"], table["table"], table["cited_from"]):
        references.append(f"{name}, {where}" + (f", citing {cited}" if isinstance(cited, str) else ""))
    paper_rows = pd.DataFrame(
        {
            "model": table["model"],
            "dataset": table["dataset"],
            "split": table["split"],
            "ferkit split": table["ferkit_split"].fillna(""),
            "source": SOURCE_PAPER,
            "reference": references,
            metric: pd.to_numeric(table["value"]),
        }
    )
    ours = pd.DataFrame(results) if not isinstance(results, pd.DataFrame) else results.copy()
    if ours.empty:
        ours = pd.DataFrame(columns=["model", "dataset", "split", metric])
    for column in ("model", "dataset", "split", metric):
        if column not in ours.columns:
            raise ValueError(f"results: every row needs a {column!r} entry, found columns {list(ours.columns)}")
        missing = ours[column].isna()
        if missing.any():
            raise ValueError(f"results: row {int(np.flatnonzero(missing)[0])} has no {column!r}")
    if "source" not in ours.columns:
        ours["source"] = SOURCE_THIS_RUN
    if "reference" not in ours.columns:
        ours["reference"] = ""
    ours["ferkit split"] = ours["split"]
    ours = ours[_COMPARE_COLUMNS + [metric]]
    if ours.empty:
        return paper_rows.reset_index(drop=True)
    if paper_rows.empty:
        return ours.reset_index(drop=True)
    return pd.concat([paper_rows, ours], ignore_index=True)
