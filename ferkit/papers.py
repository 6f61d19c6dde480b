"""What the five studies report and state, as data the lessons compare against.

Lesson 08_evaluation introduces this module; lessons 02-07 use it to put a
paper's figure, setting or protocol beside ours. A paper's number lives here
and nowhere else: a notebook, a docstring or another module reads it from here.

What it holds, each item with the paper and the table (or section) it comes from:

* :data:`REPORTED`: every number of every table of the five papers, plus the
  figures their text states where the course needs them (parameter counts,
  dataset sizes, Mondal's section 2.2, Matijasevic's class counts). Each is a
  :class:`ReportedResult`; :func:`reported` gives them as one DataFrame,
  :func:`counts` says how many each table holds. Accuracies and the other
  rates are fractions in ``[0, 1]`` (papers print percent: 71.02 % is
  ``0.7102``) so they sit beside ``sklearn.metrics.accuracy_score``.
* :data:`CONFUSION_MATRICES`: the two confusion matrices whose counts survive
  in the text (Qutub & Atay, Figures 8 and 9).
* :func:`parameter_count`: each builder's published parameter count and
  which Keras count it equals.
* :func:`stated_settings` / :func:`stated_setting`: the training settings a
  paper states, each with its source; ``None`` means the paper is silent and
  the setting is ours. :data:`UNSTATED` says what a paper says instead of a
  value where it says something.
* :data:`QUTUB_ATAY_AUGMENTATION`, :data:`BARBAGALLO_AUGMENTATION`,
  :data:`MATIJASEVIC_AUGMENTATION`: the augmentation settings as stated.
* :data:`PROTOCOLS_STATED`: which split each paper trains on, selects on and
  reports.
* :data:`CONTRADICTIONS`: where a paper contradicts itself, both readings.
* :data:`NOT_REPORTED`: numbers a reader would expect but a paper does not
  give (Bedi states no accuracy).

The papers' full references are in the repository's ``references.bib``
under the keys of :data:`PAPERS`. Where the text conversion of a paper
garbled a table, the entry's ``note`` says how it was read.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import Decimal

import pandas as pd

PAPERS = {
    "mondal": "Mondal",
    "bedi": "Bedi",
    "barbagallo": "Barbagallo",
    "qutub_atay": "Qutub & Atay",
    "matijasevic": "Matijasevic",
}
"""The five studies of the course: key (also the ``references.bib`` key) -> the name the lessons print."""

NOT_APPLICABLE = "n/a"

EMOTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""The class names per-class rows use: FER2013's order, as :data:`ferkit.data.EMOTIONS`."""

SUMMARY_LABELS = ("macro avg", "weighted avg")
"""Labels of the averaged rows of a classification report (scikit-learn's names)."""

FRACTION_METRICS = ("accuracy", "precision", "recall", "f1-score", "share of images")
"""Metrics stored as fractions in ``[0, 1]``."""

COUNT_METRICS = (
    "parameters", "trainable parameters", "non-trainable parameters", "parameters (rounded)",
    "images (n)", "last epoch", "rank", "hidden neurons in dense layer",
)
"""Metrics stored as whole numbers."""

METRICS = FRACTION_METRICS + COUNT_METRICS + ("loss", "learning rate")
"""Every metric an entry may carry."""

FERKIT_SPLITS = ("train", "public_test", "private_test", "test", "validation")
"""Split names of :mod:`ferkit.data` a paper's split can equal (``"validation"``: a
protocol's validation share, as Matijasevic's 80/20 split)."""


@dataclass(frozen=True)
class ReportedResult:
    """One number a paper reports, with where it comes from.

    ``paper`` is a key of :data:`PAPERS`; ``table`` the table, figure or
    ``"text, section x"``; ``model`` a builder name of :mod:`ferkit.models`
    where one rebuilds the paper's network (``"vgg19"``, ``"fer_kd"``;
    ablation rows ``"fer_kd +1 conv"``...), otherwise the paper's name for it
    (``"baseline CNN"``), or ``"n/a"`` for a dataset's size; ``label`` the
    class of a per-class row (:data:`EMOTION_LABELS`) or ``"macro avg"`` /
    ``"weighted avg"``, ``None`` for a whole-split number; ``dataset`` and
    ``split`` what it was measured on, the split as the paper names it
    (``"n/a"`` for parameter counts and settings); ``ferkit_split`` the split
    of :mod:`ferkit.data` that is the same images (``None`` where none is:
    then a paper's number and ours never share a row); ``metric`` one of
    :data:`METRICS`; ``value`` the number (fractions for
    :data:`FRACTION_METRICS`); ``cited_from`` the study a number belongs to
    when the paper only cites it (Qutub & Atay, Tables 12-13), else ``None``.
    Introduced in lesson 08_evaluation.
    """

    paper: str
    table: str
    model: str
    dataset: str
    split: str
    metric: str
    value: float | int
    label: str | None = None
    ferkit_split: str | None = None
    cited_from: str | None = None
    note: str = ""

    def __post_init__(self):
        where = f"{self.paper} {self.table} {self.model} {self.label or ''} {self.metric}".strip()
        if self.paper not in PAPERS:
            raise ValueError(f"paper: expected one of {sorted(PAPERS)}, found {self.paper!r} ({where})")
        for name in ("table", "model", "dataset", "split"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name}: expected a non-empty string, found {getattr(self, name)!r} ({where})")
        if self.metric not in METRICS:
            raise ValueError(f"metric: expected one of {METRICS}, found {self.metric!r} ({where})")
        if isinstance(self.value, bool) or not isinstance(self.value, (int, float)) or math.isnan(self.value):
            raise ValueError(f"value: expected a number, found {self.value!r} ({where})")
        if self.metric in FRACTION_METRICS and not 0.0 <= self.value <= 1.0:
            raise ValueError(f"value: a {self.metric} is a fraction in [0, 1], found {self.value!r} ({where})")
        if self.metric in COUNT_METRICS and (not isinstance(self.value, int) or self.value < 0):
            raise ValueError(f"value: a {self.metric} is a whole number >= 0, found {self.value!r} ({where})")
        if self.label is not None and self.label not in EMOTION_LABELS + SUMMARY_LABELS:
            raise ValueError(
                f"label: expected None or one of {EMOTION_LABELS + SUMMARY_LABELS}, found {self.label!r} ({where})"
            )
        if self.ferkit_split is not None and self.ferkit_split not in FERKIT_SPLITS:
            raise ValueError(f"ferkit_split: expected None or one of {FERKIT_SPLITS}, found {self.ferkit_split!r}")


def _percent(text):
    """``"65.35"`` (a percentage as the paper prints it) -> ``0.6535``, without float noise."""
    return float(Decimal(text) / 100)


def _rows(paper, table, model, dataset, split, ferkit_split, values, note="", **fields):
    """Entries of one table row or column: ``values`` is ``[(metric, value), ...]``."""
    return [
        ReportedResult(paper, table, model, dataset, split, metric, value,
                       ferkit_split=ferkit_split, note=note, **fields)
        for metric, value in values
    ]


_REPORT_METRICS = ("precision", "recall", "f1-score", "images (n)")


def _classification_report(paper, table, model, dataset, split, ferkit_split, rows, note,
                           metrics=_REPORT_METRICS):
    """Entries of a per-class report: ``rows`` is ``[(label, v1, v2, ...), ...]`` in the paper's order.

    ``label`` is a class of :data:`EMOTION_LABELS`, one of :data:`SUMMARY_LABELS`, or
    ``None`` for the accuracy row (its values go with ``metrics`` given as
    ``(("accuracy", value), ("images (n)", total))`` pairs instead).
    """
    entries = []
    for label, *values in rows:
        if label is None:
            pairs = values
        else:
            pairs = list(zip(metrics, values, strict=True))
        entries += _rows(paper, table, model, dataset, split, ferkit_split, pairs, note, label=label)
    return entries


# ---------------------------------------------------------------------------
# Mondal (references.bib: mondal). Keras; FER2013.
# ---------------------------------------------------------------------------

_MONDAL_SPLITS_NOTE = (
    "Mondal splits FER2013 into training, validation and test sets of roughly 29,000, 4,000 and "
    "4,000 images (section 2.1) without saying which Kaggle parts they are"
)
_MONDAL_TRAIN = "training set (roughly 29,000 images)"
_MONDAL_VALIDATION = "validation set (roughly 4,000 images; which FER2013 part is not stated)"
_MONDAL_TEST = "test set (roughly 4,000 images; which FER2013 part is not stated)"
_MONDAL_TABLE3_MODELS = (  # Table 3's rows as printed -> builder
    ("Shallow Model", "mondal_shallow", "0.26", "1.8", "90", "58"),
    ("Improved CNN Model", "mondal_dropout", "0.91", "1.0", "65", "60"),
    ("Deep CNN Model", "mondal_deep", "1.0", "1.1", "59", "58"),
)

_MONDAL = (
    _rows("mondal", "Figure 6", "mondal_shallow", "FER2013", NOT_APPLICABLE, None,
          [("parameters", 2_345_607), ("trainable parameters", 2_345_607), ("non-trainable parameters", 0)],
          "Keras model summary of the shallow model (48x48x1 input)")
    + _rows("mondal", "Figure 7", "mondal_dropout", "FER2013", NOT_APPLICABLE, None,
            [("parameters", 2_345_607), ("trainable parameters", 2_345_607), ("non-trainable parameters", 0)],
            "Keras model summary of the improved (dropout) model")
    + _rows("mondal", "Figure 8", "mondal_deep", "FER2013", NOT_APPLICABLE, None,
            [("parameters", 20_552_775), ("trainable parameters", 20_543_559),
             ("non-trainable parameters", 9_216)],
            "Keras model summary of the deep model; 9,216 = batch-norm moving means and variances")
    + _rows("mondal", "Table 1", "mondal_shallow", "FER2013", NOT_APPLICABLE, None,
            [("learning rate", 0.001), ("hidden neurons in dense layer", 1024)],
            "hyper-parameters of the shallow model; section 4 keeps them for the improved model")
    + _rows("mondal", "Table 2", "mondal_deep", "FER2013", NOT_APPLICABLE, None,
            [("learning rate", 0.0001), ("hidden neurons in dense layer", 512)],
            "hyper-parameters of the deep model")
    + [
        entry
        for printed, model, train_loss, validation_loss, train_accuracy, validation_accuracy
        in _MONDAL_TABLE3_MODELS
        for entry in (
            _rows("mondal", "Table 3", model, "FER2013", _MONDAL_TRAIN, None,
                  [("loss", float(train_loss)), ("accuracy", _percent(train_accuracy))],
                  f"row {printed!r}, columns Train Loss / Train Accuracy; {_MONDAL_SPLITS_NOTE}")
            + _rows("mondal", "Table 3", model, "FER2013", _MONDAL_VALIDATION, None,
                    [("loss", float(validation_loss)), ("accuracy", _percent(validation_accuracy))],
                    f"row {printed!r}, columns Validation Loss / Validation Accuracy; {_MONDAL_SPLITS_NOTE}")
        )
    ]
    + _rows("mondal", "text, section 2.2", "mondal_shallow", "FER2013", _MONDAL_TRAIN, None,
            [("accuracy", _percent("90"))], "'before adding the dropout': agrees with Table 3")
    + _rows("mondal", "text, section 2.2", "mondal_shallow", "FER2013", _MONDAL_VALIDATION, None,
            [("accuracy", _percent("58"))], "'before adding the dropout': agrees with Table 3")
    + _rows("mondal", "text, section 2.2", "mondal_dropout", "FER2013", _MONDAL_TEST, None,
            [("accuracy", _percent("65"))],
            "'65% on the test data' after adding dropout; Table 3 gives 65% as the training accuracy "
            "(see CONTRADICTIONS)")
    + _rows("mondal", "text, section 2.2", "mondal_dropout", "FER2013", _MONDAL_VALIDATION, None,
            [("accuracy", _percent("61"))],
            "'61% on the validation data set'; Table 3 gives 60% (see CONTRADICTIONS)")
    + _rows("mondal", "text, section 2.2", "mondal_deep", "FER2013", _MONDAL_VALIDATION, None,
            [("accuracy", _percent("59"))],
            "'accuracy on the validation set of 59%'; Table 3 gives 58% validation, 59% training "
            "(see CONTRADICTIONS)")
    + _rows("mondal", "text, section 2.2", "mondal_deep", "FER2013", _MONDAL_TEST, None,
            [("accuracy", _percent("58"))], "'accuracy on the test set of 58%'")
)

# ---------------------------------------------------------------------------
# Bedi (references.bib: bedi). Keras; FER2013. No accuracy anywhere.
# ---------------------------------------------------------------------------

_BEDI = _rows(
    "bedi", "Figure 2", "bedi_cnn", "FER2013", NOT_APPLICABLE, None,
    [("parameters", 619_015), ("trainable parameters", 619_015), ("non-trainable parameters", 0)],
    "Keras model summary of the proposed CNN (48x48x1 input)",
)

NOT_REPORTED = {
    ("bedi", "accuracy"): (
        "Bedi states no accuracy: section IV says the model's accuracy and loss are assessed on "
        "the test set and that the results 'demonstrate the effectiveness' of the model, and the "
        "conclusion calls them 'promising', but no figure is printed anywhere in the paper."
    ),
    ("bedi", "loss"): "Bedi states no loss value either (section IV names the loss as evaluated, without a figure).",
    ("matijasevic", "test accuracy"): (
        "Matijasevic reports no test-split number: every accuracy is on the 20 % validation split "
        "(section 5, Tables 1-4)."
    ),
}
"""``(paper, metric) -> statement``: numbers a reader would look for that a paper does not give.

``reported(paper="bedi", metric="accuracy")`` is empty *because* of this entry, not
because something is pending. Introduced in lesson 04_compact_cnn."""

# ---------------------------------------------------------------------------
# Barbagallo (references.bib: barbagallo). FER2013; selects on PrivateTest,
# reports PublicTest (section 2).
# ---------------------------------------------------------------------------

_BARBAGALLO_VALIDATION = "validation (PrivateTest, 3,589 images)"
_BARBAGALLO_TEST = "test (PublicTest, 3,589 images)"
BARBAGALLO_ABLATION_ROWS = (
    "+1 FC +1 conv", "+1 conv", "+1 FC", "base", "-1 conv", "-2 conv", "-3 conv", "-4 conv",
)
"""The rows of Barbagallo's Table 1 (the ablation of FER_KD), in the paper's order.

The same keys as :data:`ferkit.models.FER_KD_ABLATION_VARIANTS`; the entries' model
is ``"fer_kd"`` for ``"base"`` (the paper's FER_KD) and ``"fer_kd <row>"`` otherwise."""

_BARBAGALLO_TABLE1 = (  # (row key, as printed, validation %, test %)
    ("+1 FC +1 conv", "+ 1 FC + 1 Conv Layers", "65.35", "62.29"),
    ("+1 conv", "+ 1 Conv Layer", "64.67", "63.14"),
    ("+1 FC", "+ 1 FC Layer", "64.42", "63.25"),
    ("base", "FER_KD", "65.43", "62.62"),
    ("-1 conv", "- 1 Conv Layer", "63.82", "60.78"),
    ("-2 conv", "- 2 Conv Layers", "60.12", "58.96"),
    ("-3 conv", "- 3 Conv Layers", "55.43", "53.84"),
    ("-4 conv", "- 4 Conv Layers", "48.96", "46.20"),
)


def _ablation_model(row):
    return "fer_kd" if row == "base" else f"fer_kd {row}"


_BARBAGALLO = (
    [
        entry
        for row, printed, validation, test in _BARBAGALLO_TABLE1
        for entry in (
            _rows("barbagallo", "Table 1", _ablation_model(row), "FER2013", _BARBAGALLO_VALIDATION,
                  "private_test", [("accuracy", _percent(validation))],
                  f"row {printed!r}, column Validation (section 2: PrivateTest is the validation set)")
            + _rows("barbagallo", "Table 1", _ablation_model(row), "FER2013", _BARBAGALLO_TEST,
                    "public_test", [("accuracy", _percent(test))],
                    f"row {printed!r}, column Test (section 2: PublicTest is the test set)")
        )
    ]
    + _classification_report(
        "barbagallo", "Table 2", "fer_kd", "FER2013", _BARBAGALLO_TEST, "public_test",
        [
            ("angry", 0.54, 0.62, 0.58, 467),
            ("disgust", 0.76, 0.34, 0.47, 56),
            ("fear", 0.51, 0.33, 0.40, 496),
            ("happy", 0.84, 0.82, 0.83, 895),
            ("sad", 0.49, 0.56, 0.52, 653),
            ("surprise", 0.76, 0.80, 0.78, 415),
            ("neutral", 0.55, 0.60, 0.58, 607),
            (None, ("accuracy", 0.63), ("images (n)", 3589)),
            ("macro avg", 0.64, 0.58, 0.59, 3589),
            ("weighted avg", 0.63, 0.63, 0.63, 3589),
        ],
        "'Metrics for the results of the final model' (FER_KD); the paper's column 'Support' is "
        "stored as images (n); classes printed as Anger, Disgust, Fear, Happiness, Sadness, "
        "Surprise, Neutral; the supports are PublicTest's class counts",
    )
    + _rows("barbagallo", "text, section 1", "fer_kd", "FER2013", NOT_APPLICABLE, None,
            [("parameters", 10_479_111)],
            "'the model has 10,479,111 parameters'; PyTorch counting (no batch-norm statistics)")
    + _rows("barbagallo", "text, section 2", NOT_APPLICABLE, "FER2013", "all images", None,
            [("images (n)", 35_887)], "the whole dataset")
    + _rows("barbagallo", "text, section 2", NOT_APPLICABLE, "FER2013", "Training", "train",
            [("images (n)", 28_709)], "used as the training set")
    + _rows("barbagallo", "text, section 2", NOT_APPLICABLE, "FER2013", "PublicTest", "public_test",
            [("images (n)", 3_589)], "used as the test set")
    + _rows("barbagallo", "text, section 2", NOT_APPLICABLE, "FER2013", "PrivateTest", "private_test",
            [("images (n)", 3_589)], "used as the validation set")
)

# ---------------------------------------------------------------------------
# Qutub & Atay (references.bib: qutub_atay). PyTorch; FER2013 and RAF-DB.
# ---------------------------------------------------------------------------

_QA_FER_TEST = "test (7,178 images: PublicTest + PrivateTest)"
_QA_RAF_TEST = "test (3,008 images)"
_QA_FER_NOTE = (
    "FER2013 test set: section 3.1 states 7,178 images (= PublicTest 3,589 + PrivateTest 3,589; "
    "the paper gives only the total); the per-class supports printed add up to 7,168"
)
_QA_RAF_NOTE = "RAF-DB test set: the per-class supports add up to 3,008, as printed (section 3.1)"


def _qa_report(table, model, dataset, rows, note):
    fer = dataset == "FER2013"
    return _classification_report(
        "qutub_atay", table, model, dataset, _QA_FER_TEST if fer else _QA_RAF_TEST, "test", rows,
        f"{note}; {_QA_FER_NOTE if fer else _QA_RAF_NOTE}",
    )


def _qa_accuracy(text, total):
    return (None, ("accuracy", _percent(text)), ("images (n)", total))


_QUTUB_ATAY_REPORTS = (
    _classification_report(
        "qutub_atay", "Table 1", "baseline CNN", "FER2013", _QA_FER_TEST, "test",
        [
            ("angry", 0.56, 0.50, 0.53),
            ("disgust", 0.48, 0.41, 0.44),
            ("fear", 0.47, 0.34, 0.39),
            ("happy", 0.80, 0.83, 0.82),
            ("neutral", 0.51, 0.66, 0.57),
            ("sad", 0.50, 0.48, 0.49),
            ("surprise", 0.72, 0.73, 0.72),
        ],
        "classification report of the baseline model (section 4.1): no support or accuracy row "
        f"(its accuracy is in Table 10); the dataset is FER2013 (section 4.6); {_QA_FER_NOTE}",
        metrics=("precision", "recall", "f1-score"),
    )
    + _qa_report("Table 2", "efficientnet_b0", "FER2013", [
        ("surprise", 0.79, 0.77, 0.78, 831),
        ("fear", 0.58, 0.51, 0.54, 1024),
        ("angry", 0.59, 0.57, 0.58, 958),
        ("neutral", 0.59, 0.66, 0.62, 1233),
        ("sad", 0.55, 0.53, 0.54, 1247),
        ("disgust", 0.68, 0.66, 0.67, 111),
        ("happy", 0.84, 0.87, 0.85, 1764),
        _qa_accuracy("67.09", 7178),
    ], "EfficientNet-B0 on FER2013")
    + _qa_report("Table 3", "efficientnet_b0", "RAF-DB", [
        ("surprise", 0.86, 0.81, 0.83, 329),
        ("fear", 0.66, 0.62, 0.64, 74),
        ("disgust", 0.65, 0.48, 0.55, 160),
        ("happy", 0.92, 0.94, 0.93, 1185),
        ("sad", 0.82, 0.83, 0.83, 478),
        ("angry", 0.76, 0.74, 0.75, 162),
        ("neutral", 0.78, 0.84, 0.81, 620),
        _qa_accuracy("84.547", 3008),
    ], "EfficientNet-B0 on RAF-DB (Table 11 rounds the accuracy to 84.55 %)")
    + _qa_report("Table 4", "resnet18", "FER2013", [
        ("surprise", 0.80, 0.80, 0.80, 831),
        ("fear", 0.54, 0.47, 0.50, 1024),
        ("angry", 0.62, 0.61, 0.61, 958),
        ("neutral", 0.61, 0.66, 0.63, 1233),
        ("sad", 0.55, 0.56, 0.55, 1247),
        ("disgust", 0.78, 0.66, 0.71, 111),
        ("happy", 0.86, 0.87, 0.87, 1764),
        _qa_accuracy("68.07", 7178),
    ], "ResNet18 on FER2013")
    + _qa_report("Table 5", "resnet18", "RAF-DB", [
        ("surprise", 0.86, 0.84, 0.85, 329),
        ("fear", 0.67, 0.61, 0.64, 74),
        ("disgust", 0.71, 0.59, 0.65, 160),
        ("happy", 0.93, 0.94, 0.94, 1185),
        ("sad", 0.84, 0.85, 0.84, 478),
        ("angry", 0.82, 0.78, 0.80, 162),
        ("neutral", 0.80, 0.85, 0.82, 620),
    ], "ResNet18 on RAF-DB. The text conversion scrambled this table (cells run together, "
       "supports displaced, the Angry label after its values) and it has no accuracy row; the values "
       "are read in the order of Tables 3, 7 and 9, with the supports of those tables, and Figure 8's "
       "confusion counts confirm every precision and recall. Its accuracy, 86.02 %, is in section 4.3 "
       "and Table 11")
    + _qa_report("Table 6", "vgg16", "FER2013", [
        ("surprise", 0.82, 0.81, 0.82, 831),
        ("fear", 0.56, 0.52, 0.54, 1024),
        ("angry", 0.64, 0.62, 0.63, 958),
        ("neutral", 0.64, 0.70, 0.67, 1233),
        ("sad", 0.57, 0.57, 0.57, 1247),
        ("disgust", 0.85, 0.68, 0.75, 111),
        ("happy", 0.88, 0.90, 0.89, 1764),
        _qa_accuracy("70.2", 7178),
    ], "VGGNet16 on FER2013 (printed with one decimal: 70.2 %; Table 10 prints 70.20 %)")
    + _qa_report("Table 7", "vgg16", "RAF-DB", [
        ("surprise", 0.86, 0.85, 0.85, 329),
        ("fear", 0.64, 0.57, 0.60, 74),
        ("disgust", 0.59, 0.57, 0.58, 160),
        ("happy", 0.94, 0.95, 0.95, 1185),
        ("sad", 0.83, 0.82, 0.83, 478),
        ("angry", 0.80, 0.75, 0.78, 162),
        ("neutral", 0.81, 0.84, 0.83, 620),
        _qa_accuracy("85.88", 3008),
    ], "VGGNet16 on RAF-DB")
    + _qa_report("Table 8", "vgg19", "FER2013", [
        ("surprise", 0.84, 0.79, 0.82, 831),
        ("fear", 0.57, 0.59, 0.58, 1024),
        ("angry", 0.61, 0.64, 0.63, 958),
        ("neutral", 0.68, 0.67, 0.67, 1233),
        ("sad", 0.59, 0.57, 0.58, 1247),
        ("disgust", 0.69, 0.72, 0.70, 111),
        ("happy", 0.89, 0.90, 0.89, 1764),
        _qa_accuracy("71.02", 7178),
    ], "VGGNet19 on FER2013")
    + _qa_report("Table 9", "vgg19", "RAF-DB", [
        ("surprise", 0.87, 0.83, 0.85, 329),
        ("fear", 0.77, 0.50, 0.61, 74),
        ("disgust", 0.66, 0.62, 0.64, 160),
        ("happy", 0.92, 0.95, 0.94, 1185),
        ("sad", 0.84, 0.83, 0.83, 478),
        ("angry", 0.87, 0.77, 0.82, 162),
        ("neutral", 0.81, 0.85, 0.83, 620),
        _qa_accuracy("85.87", 3008),
    ], "VGGNet19 on RAF-DB (the conversion repeats the table's caption many times; the cells "
       "themselves are intact)")
)

_QUTUB_ATAY_MODELS = (  # Tables 10-11: (model as printed, builder, FER2013 %, RAF-DB %, parameters)
    ("Base Line", "baseline CNN", "60.854", None, 1_672_775),
    ("EfficientNet-B0", "efficientnet_b0", "67.09", "84.55", 4_016_515),
    ("ResNet18", "resnet18", "68.07", "86.02", 11_180_103),
    ("VGGNet16", "vgg16", "70.20", "85.88", 33_625_927),
    ("VGGNet19", "vgg19", "71.02", "85.87", 45_227_079),
)

_QUTUB_ATAY_SUMMARIES = [
    entry
    for printed, model, fer, raf, parameters in _QUTUB_ATAY_MODELS
    for entry in (
        _rows("qutub_atay", "Table 10", model, "FER2013", _QA_FER_TEST, "test",
              [("accuracy", _percent(fer))], f"row {printed!r}, column Test Accuracy; {_QA_FER_NOTE}")
        + _rows("qutub_atay", "Table 10", model, "FER2013", NOT_APPLICABLE, None,
                [("parameters", parameters)],
                f"row {printed!r}, column Num. of Parameters (PyTorch counting: no batch-norm statistics)")
        + ([] if raf is None else (
            _rows("qutub_atay", "Table 11", model, "RAF-DB", _QA_RAF_TEST, "test",
                  [("accuracy", _percent(raf))], f"row {printed!r}, column Test Accuracy; {_QA_RAF_NOTE}")
            + _rows("qutub_atay", "Table 11", model, "RAF-DB", NOT_APPLICABLE, None,
                    [("parameters", parameters)],
                    f"row {printed!r}, column Num. of Parameters (PyTorch counting)")
        ))
    )
]

_CITED_SPLIT = "test set (as the cited study reports it)"
_QUTUB_ATAY_CITED = [
    ReportedResult("qutub_atay", "Table 12", "Devries et al.", "FER2013", _CITED_SPLIT, "accuracy",
                   _percent("67.21"), cited_from="Devries et al. (2014), as Qutub & Atay cite it",
                   note="another study's result, cited in Qutub & Atay's comparison (also section 2)"),
    ReportedResult("qutub_atay", "Table 12", "Zhang et al.", "FER2013", _CITED_SPLIT, "accuracy",
                   _percent("70.60"), cited_from="Zhang et al. (2015), as Qutub & Atay cite it",
                   note="another study's result (a merged multi-dataset approach, section 2)"),
    ReportedResult("qutub_atay", "Table 12", "vgg19", "FER2013", _QA_FER_TEST, "accuracy",
                   _percent("71.02"), ferkit_split="test",
                   note="row 'Ours (VGGNet19)': the paper's own result, as in Tables 8 and 10"),
    ReportedResult("qutub_atay", "Table 13", "gACNN", "RAF-DB", _CITED_SPLIT, "accuracy",
                   _percent("85.07"), cited_from="Li, Yong, et al. (2018), as Qutub & Atay cite it",
                   note="another study's result (also section 2)"),
    ReportedResult("qutub_atay", "Table 13", "DLP-CNN", "RAF-DB", _CITED_SPLIT, "accuracy",
                   _percent("74.20"), cited_from="Li et al. (2017), as Qutub & Atay cite it",
                   note="another study's result (also section 2)"),
    ReportedResult("qutub_atay", "Table 13", "resnet18", "RAF-DB", _QA_RAF_TEST, "accuracy",
                   _percent("86.02"), ferkit_split="test",
                   note="row 'Ours (ResNet18)': the paper's own result, as in Table 11"),
    ReportedResult("qutub_atay", "text, section 2", "RAN", "RAF-DB", _CITED_SPLIT, "accuracy",
                   _percent("86.90"), cited_from="Wang et al. (2020), as Qutub & Atay cite it",
                   note="region attention network; higher than the paper's 86.02 % but left out of "
                        "Table 13 (see CONTRADICTIONS)"),
]

_QUTUB_ATAY_TEXT = (
    _rows("qutub_atay", "text, section 3.1", NOT_APPLICABLE, "FER2013", _QA_FER_TEST, "test",
          [("images (n)", 7_178)], "'7,178 examples in the test set'")
    + _rows("qutub_atay", "text, section 3.1", NOT_APPLICABLE, "FER2013", "training set", "train",
            [("images (n)", 28_709)], "'28,709 examples in the training set' (split again into training "
                                       "and validation, fraction not stated)")
    + _rows("qutub_atay", "text, section 3.1", NOT_APPLICABLE, "RAF-DB", "whole database", None,
            [("images (n)", 29_672)], "'29,672 real-world facial photos' (basic and compound expressions)")
    + _rows("qutub_atay", "text, section 3.1", NOT_APPLICABLE, "RAF-DB", "training set", "train",
            [("images (n)", 12_271)], "images labelled with the basic emotions, used for training")
    + _rows("qutub_atay", "text, section 3.1", NOT_APPLICABLE, "RAF-DB", _QA_RAF_TEST, "test",
            [("images (n)", 3_008)], "'3,008 images as test data'")
    + _rows("qutub_atay", "text, section 4.4", "VGG (original, 1,000 classes)", "ImageNet", NOT_APPLICABLE,
            None, [("parameters (rounded)", 138_000_000)], "'VGGNet's original model has 138,000,000 parameters'")
    + _rows("qutub_atay", "text, section 4.4", "vgg16", "FER2013", NOT_APPLICABLE, None,
            [("parameters (rounded)", 33_600_000)], "after the customisation; Table 10 gives 33,625,927")
    + _rows("qutub_atay", "text, section 4.5", "vgg19", "FER2013", NOT_APPLICABLE, None,
            [("parameters (rounded)", 45_200_000)], "after the customisation; Table 10 gives 45,227,079")
)

_QUTUB_ATAY = _QUTUB_ATAY_REPORTS + _QUTUB_ATAY_SUMMARIES + _QUTUB_ATAY_CITED + _QUTUB_ATAY_TEXT

# ---------------------------------------------------------------------------
# Matijasevic (references.bib: matijasevic). Keras; RAF-DB without disgust,
# 80/20 training/validation split, last epoch.
# ---------------------------------------------------------------------------

_MATIJASEVIC_DATASET = "RAF-DB without disgust"
_MATIJASEVIC_TRAIN = "training (80 % of RAF-DB without disgust), last epoch"
_MATIJASEVIC_VALIDATION = "validation (20 % of RAF-DB without disgust), last epoch"
_MATIJASEVIC_TABLES = (  # (table, builder, last epoch, train loss, train acc, val loss, val acc)
    ("Table 1", "resnet50", 8, 0.1378, 0.9584, 0.8893, 0.7531),
    ("Table 2", "vgg16", 11, 0.1785, 0.9388, 0.5602, 0.8361),
    ("Table 3", "vgg19", 10, 0.2295, 0.9213, 0.6191, 0.8237),
)
_MATIJASEVIC_TABLE4 = (("resnet50", 0.7531, 3), ("vgg16", 0.8361, 2), ("vgg19", 0.8237, 1))

_MATIJASEVIC = (
    [
        entry
        for table, model, epoch, train_loss, train_accuracy, validation_loss, validation_accuracy
        in _MATIJASEVIC_TABLES
        for entry in (
            _rows("matijasevic", table, model, _MATIJASEVIC_DATASET, NOT_APPLICABLE, None,
                  [("last epoch", epoch)], "the epoch at which training stopped at 'saturation'")
            + _rows("matijasevic", table, model, _MATIJASEVIC_DATASET, _MATIJASEVIC_TRAIN, None,
                    [("loss", train_loss), ("accuracy", train_accuracy)],
                    "columns Training (Loss) / Training (Accuracy), last epoch")
            + _rows("matijasevic", table, model, _MATIJASEVIC_DATASET, _MATIJASEVIC_VALIDATION, "validation",
                    [("loss", validation_loss), ("accuracy", validation_accuracy)],
                    "columns Validation (Loss) / Validation (Accuracy), last epoch")
        )
    ]
    + [
        entry
        for model, accuracy, rank in _MATIJASEVIC_TABLE4
        for entry in _rows(
            "matijasevic", "Table 4", model, _MATIJASEVIC_DATASET, _MATIJASEVIC_VALIDATION, "validation",
            [("accuracy", accuracy), ("rank", rank)],
            "ranking table; the printed ranks contradict the accuracies and the text (see CONTRADICTIONS)",
        )
    ]
    + _rows("matijasevic", "text, section 5.4", NOT_APPLICABLE, _MATIJASEVIC_DATASET,
            "all images (before the 80/20 split)", None,
            [("images (n)", 5_957), ("share of images", _percent("41.2"))],
            "'the class happiness represents 41.2% (5957 images) of the total number of images'; "
            "Figure 4 (all class counts) was lost in the text conversion", label="happy")
    + _rows("matijasevic", "text, section 5.4", NOT_APPLICABLE, _MATIJASEVIC_DATASET,
            "all images (before the 80/20 split)", None,
            [("images (n)", 355), ("share of images", _percent("2.45"))],
            "'the smallest class (fear) has only 355 images (2.45%)'; Figure 4 was lost in the "
            "text conversion", label="fear")
)

REPORTED = tuple(_MONDAL + _BEDI + _BARBAGALLO + _QUTUB_ATAY + _MATIJASEVIC)
"""Every number the five papers report, in one registry, in each paper's order."""


# ---------------------------------------------------------------------------
# Confusion matrices whose counts survive in the text
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportedConfusion:
    """A confusion matrix a paper prints as a figure, with its counts as printed.

    ``labels`` are the classes in the paper's order (:data:`EMOTION_LABELS` names);
    ``counts[i][j]`` is the printed cell in row ``i``, column ``j``. In both of Qutub &
    Atay's figures the *columns* add up to the per-class supports of the matching
    table, so columns are the true classes and rows the predicted ones (the axis titles
    were lost in the conversion). :func:`reported_confusion_matrix` turns it round into
    :func:`ferkit.evaluate.confusion_matrix`'s layout. Introduced in lesson 08_evaluation.
    """

    paper: str
    figure: str
    model: str
    dataset: str
    split: str
    table: str
    labels: tuple
    counts: tuple
    note: str = ""


CONFUSION_MATRICES = (
    ReportedConfusion(
        "qutub_atay", "Figure 8", "resnet18", "RAF-DB", _QA_RAF_TEST, "Table 5",
        ("surprise", "fear", "disgust", "happy", "sad", "angry", "neutral"),
        (
            (278, 12, 5, 8, 3, 5, 14),
            (10, 45, 2, 3, 1, 6, 0),
            (6, 2, 95, 4, 6, 7, 13),
            (6, 4, 12, 1114, 24, 8, 24),
            (4, 5, 17, 10, 405, 2, 40),
            (3, 2, 11, 4, 4, 127, 4),
            (22, 4, 18, 42, 35, 7, 525),
        ),
        "ResNet18 on RAF-DB; the colour-bar ticks that the conversion mixed into the rows are left out",
    ),
    ReportedConfusion(
        "qutub_atay", "Figure 9", "vgg16", "FER2013", _QA_FER_TEST, "Table 6",
        ("surprise", "fear", "angry", "neutral", "sad", "disgust", "happy"),
        (
            (675, 70, 19, 10, 11, 0, 35),
            (81, 536, 104, 64, 151, 3, 17),
            (17, 106, 590, 54, 106, 24, 21),
            (18, 103, 80, 862, 222, 1, 64),
            (9, 180, 126, 170, 707, 5, 43),
            (1, 2, 6, 2, 2, 75, 0),
            (30, 27, 33, 71, 48, 3, 1584),
        ),
        "VGGNet16 on FER2013; its columns add up to Table 6's supports, 7,168 images in all",
    ),
)
"""The confusion counts that survive in the papers' text: Qutub & Atay, Figures 8 and 9."""


def reported_confusion_matrix(paper, figure):
    """A paper's confusion matrix as a DataFrame: rows = true class, columns = predicted.

    The layout of :func:`ferkit.evaluate.confusion_matrix` (index name ``"true"``,
    columns name ``"predicted"``, classes in :data:`EMOTION_LABELS` order), so the
    paper's matrix and ours can be subtracted. ``paper`` and ``figure`` name an entry of
    :data:`CONFUSION_MATRICES`, e.g. ``("qutub_atay", "Figure 9")``. Introduced in
    lesson 08_evaluation.
    """
    matches = [matrix for matrix in CONFUSION_MATRICES if (matrix.paper, matrix.figure) == (paper, figure)]
    if not matches:
        known = [(matrix.paper, matrix.figure) for matrix in CONFUSION_MATRICES]
        raise ValueError(f"paper, figure: no confusion matrix {(paper, figure)!r}; known: {known}")
    matrix = matches[0]
    printed = pd.DataFrame(matrix.counts, index=matrix.labels, columns=matrix.labels)
    return printed.T.loc[list(EMOTION_LABELS), list(EMOTION_LABELS)].rename_axis(
        index="true", columns="predicted"
    )


# ---------------------------------------------------------------------------
# Looking numbers up
# ---------------------------------------------------------------------------

_FRAME_COLUMNS = [
    "paper", "table", "model", "label", "dataset", "split", "ferkit_split", "metric", "value",
    "cited_from", "note",
]


def _check_paper(paper):
    if paper is not None and paper not in PAPERS:
        raise ValueError(f"paper: expected one of {sorted(PAPERS)}, found {paper!r}")


def _matching(paper=None, table=None, model=None, dataset=None, metric=None, label=None, split=None,
              include_cited=True):
    _check_paper(paper)
    return [
        entry for entry in REPORTED
        if (paper is None or entry.paper == paper)
        and (table is None or entry.table == table)
        and (model is None or entry.model == model)
        and (dataset is None or entry.dataset == dataset)
        and (metric is None or entry.metric == metric)
        and (label is None or entry.label == label)
        and (split is None or entry.split == split or entry.ferkit_split == split)
        and (include_cited or entry.cited_from is None)
    ]


def reported(paper=None, table=None, model=None, dataset=None, metric=None, label=None, split=None,
             include_cited=True):
    """The reported numbers as one DataFrame, filtered by any of the arguments.

    Returns one row per :class:`ReportedResult`, in each paper's order, with the
    columns ``paper`` (the printed name), ``table``, ``model``, ``label``,
    ``dataset``, ``split`` (as the paper names it), ``ferkit_split``, ``metric``,
    ``value``, ``cited_from`` and ``note``. ``paper`` is a key of :data:`PAPERS`
    (anything else raises a ``ValueError``); ``split`` matches the paper's name of
    the split or its ``ferkit_split``; ``include_cited=False`` drops the
    other studies' results that Qutub & Atay cite. With no argument it returns
    every number. An empty frame means the paper reports no such number; see
    :data:`NOT_REPORTED` for the ones a reader would look for. Introduced in lesson
    08_evaluation.
    """
    rows = _matching(paper, table, model, dataset, metric, label, split, include_cited)
    frame = pd.DataFrame([asdict(entry) for entry in rows], columns=list(ReportedResult.__dataclass_fields__))
    frame["paper"] = frame["paper"].map(PAPERS)
    frame["value"] = frame["value"].astype(object)
    return frame[_FRAME_COLUMNS]


def reported_value(model, metric="parameters", paper=None, table=None, dataset=None, split=None, label=None):
    """The one value a paper reports for ``model`` and ``metric``, e.g. a parameter count.

    The other arguments narrow the search (``split`` may be the paper's name of the
    split or the ``ferkit_split``). Several entries that agree count as one (Qutub &
    Atay print VGG19's 45,227,079 in Tables 10 and 11). Raises a ``ValueError`` when
    there is none, or when the matches disagree (it lists them, so you can say which
    table or split you mean). Introduced in lesson 03_shallow_dropout_deep.
    """
    matches = _matching(paper, table, model, dataset, metric, label, split)
    if not matches:
        known = sorted({entry.model for entry in REPORTED if entry.metric == metric})
        raise ValueError(
            f"model={model!r}, metric={metric!r}: no reported value with these filters; "
            f"models with this metric: {known}"
        )
    values = {entry.value for entry in matches}
    if len(values) > 1:
        listed = "; ".join(
            f"{PAPERS[entry.paper]} {entry.table}, {entry.dataset}, {entry.split}"
            f"{', ' + entry.label if entry.label else ''}: {entry.value}"
            for entry in matches
        )
        raise ValueError(
            f"model={model!r}, metric={metric!r}: {len(matches)} reported values disagree ({listed}); "
            "pass paper=, table=, dataset=, split= or label= to choose one"
        )
    return matches[0].value


def counts():
    """How many numbers each paper and table holds, as a DataFrame.

    One row per paper and table (in :data:`REPORTED`'s order) with the columns
    ``paper`` (printed name), ``table``, ``numbers`` (all entries), ``cited`` (other
    studies' results the paper only cites), ``pending`` (entries without a value:
    always 0, a :class:`ReportedResult` cannot be made without one) and ``models``
    (how many models the table covers). Introduced in lesson 08_evaluation.
    """
    frame = pd.DataFrame([asdict(entry) for entry in REPORTED])
    order = list(dict.fromkeys(zip(frame["paper"], frame["table"])))
    grouped = frame.groupby(["paper", "table"], sort=False)
    table = pd.DataFrame({
        "numbers": grouped.size(),
        "cited": grouped["cited_from"].apply(lambda column: int(column.notna().sum())),
        "pending": grouped["value"].apply(lambda column: int(column.isna().sum())),
        "models": grouped["model"].nunique(),
    }).loc[order].reset_index()
    table["paper"] = table["paper"].map(PAPERS)
    return table


def classification_report(paper, table):
    """A paper's per-class report in the layout of :func:`ferkit.evaluate.classification_report`.

    Returns a DataFrame indexed by class (:data:`EMOTION_LABELS` order) followed by
    ``"accuracy"``, ``"macro avg"`` and ``"weighted avg"`` where the paper prints
    them, with the columns ``"Precision"``, ``"Recall"``, ``"F1-score"`` and
    ``"Images (n)"`` (NaN / ``<NA>`` where the paper prints none; the accuracy row
    holds the accuracy in the F1-score column, as scikit-learn's text report does).
    ``paper`` and ``table`` name a table with per-class rows, e.g.
    ``("barbagallo", "Table 2")`` or ``("qutub_atay", "Table 8")``; anything else raises
    a ``ValueError``. Introduced in lesson 08_evaluation.
    """
    columns = {"precision": "Precision", "recall": "Recall", "f1-score": "F1-score", "images (n)": "Images (n)"}
    entries = [entry for entry in _matching(paper=paper, table=table) if entry.metric in columns
               or entry.metric == "accuracy"]
    if not any(entry.label in EMOTION_LABELS and entry.metric in columns for entry in entries):
        tables = sorted({(entry.paper, entry.table) for entry in REPORTED
                         if entry.label in EMOTION_LABELS and entry.metric == "precision"})
        raise ValueError(f"paper, table: {(paper, table)!r} has no per-class report; tables that do: {tables}")
    index = [label for label in EMOTION_LABELS + ("accuracy",) + SUMMARY_LABELS]
    frame = pd.DataFrame(float("nan"), index=pd.Index(index, name="class"), columns=list(columns.values()))
    for entry in entries:
        if entry.label is not None:
            frame.loc[entry.label, columns[entry.metric]] = entry.value
        elif entry.metric == "accuracy":
            frame.loc["accuracy", "F1-score"] = entry.value
        elif entry.metric == "images (n)":
            frame.loc["accuracy", "Images (n)"] = entry.value
    frame = frame.dropna(how="all")
    frame["Images (n)"] = frame["Images (n)"].astype("Int64")
    return frame


# ---------------------------------------------------------------------------
# Parameter counts
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ParameterCount:
    """A paper's parameter count for one builder of :mod:`ferkit.models`.

    ``value`` is the paper's figure; ``keras_count`` which of
    :func:`ferkit.models.count_parameters`'s counts it equals: ``"total"`` for the
    Keras papers (Mondal, Bedi: Keras counts batch-norm statistics too),
    ``"trainable"`` for the PyTorch ones (Barbagallo, Qutub & Atay: PyTorch counts
    every parameter but no batch-norm statistics, which is Keras's trainable count
    when nothing is frozen). ``source`` is paper and table. Introduced in lesson
    03_shallow_dropout_deep.
    """

    model: str
    value: int
    keras_count: str
    source: str
    note: str = ""


_PARAMETER_SOURCES = {  # builder -> (paper, table, Keras count it equals, note)
    "mondal_shallow": ("mondal", "Figure 6", "total", ""),
    "mondal_dropout": ("mondal", "Figure 7", "total", ""),
    "mondal_deep": ("mondal", "Figure 8", "total", "the figure also states 20,543,559 trainable"),
    "bedi_cnn": ("bedi", "Figure 2", "total", ""),
    "fer_kd": ("barbagallo", "text, section 1", "trainable",
               "matched only by a 3-channel input and a flattened 2x2x1024 head (see CONTRADICTIONS)"),
    "efficientnet_b0": ("qutub_atay", "Table 10", "trainable", "also in Table 11"),
    "resnet18": ("qutub_atay", "Table 10", "trainable", "also in Table 11"),
    "vgg16": ("qutub_atay", "Table 10", "trainable", "also in Table 11; no batch norm, so total = trainable"),
    "vgg19": ("qutub_atay", "Table 10", "trainable",
              "also in Table 11; matched only by a 2,048-feature head, not the pooled head the text "
              "describes (see CONTRADICTIONS)"),
}


def parameter_counts():
    """``{builder name: ParameterCount}`` for every builder whose paper states a count.

    Matijasevic states no parameter count (so ``resnet50`` is absent); Qutub &
    Atay's baseline CNN (1,672,775, Table 10) has no builder. Introduced in lesson
    03_shallow_dropout_deep.
    """
    table = {}
    for model, (paper, where, keras_count, note) in _PARAMETER_SOURCES.items():
        value = reported_value(model, "parameters", paper=paper, table=where)
        table[model] = ParameterCount(model, value, keras_count, f"{PAPERS[paper]}, {where}", note)
    return table


def parameter_count(model):
    """The paper's parameter count for builder ``model`` (e.g. ``"fer_kd"``) as a :class:`ParameterCount`.

    Raises a ``ValueError`` naming the builders that have one when ``model`` has
    none. Introduced in lesson 03_shallow_dropout_deep.
    """
    table = parameter_counts()
    if model not in table:
        raise ValueError(f"model: no paper states a parameter count for {model!r}; builders with one: {sorted(table)}")
    return table[model]


# ---------------------------------------------------------------------------
# Augmentation, as stated
# ---------------------------------------------------------------------------

QUTUB_ATAY_AUGMENTATION = {
    "steps": ("random_resized_crop", "color_jitter", "random_affine", "horizontal_flip",
              "random_rotation", "ten_crop", "normalize", "random_erasing"),
    "random_resized_crop_scale": (0.8, 1.2),
    "random_resized_crop_size": (48, 48),
    "brightness": 0.5,
    "contrast": 0.5,
    "saturation": 0.5,
    "color_jitter_probability": 0.5,
    "affine_degrees": 0.0,
    "translate": 0.2,
    "translate_probability": 0.5,
    "horizontal_flip": True,
    "horizontal_flip_probability": 0.5,
    "rotation_degrees": 45.0,
    "ten_crop_size": 40,
    "normalize": True,
    "normalize_target_mean": 0.0,
    "normalize_target_std": 1.0,
    "random_erasing_probability": 0.5,
}
"""Qutub & Atay's training augmentation, as their section 3.3 states it (torchvision names).

``steps`` is the paper's order (items 1-8). ``random_resized_crop_scale`` 0.8 and 1.2 with
the output kept at the original size, ``random_resized_crop_size`` (48x48, stated for
FER2013); colour jitter ``brightness``, ``contrast`` and ``saturation`` 0.5, applied with
probability 0.5; random affine with 0 degrees (``affine_degrees``) and ``translate``
(0.2, 0.2), probability 0.5; horizontal flip with probability 0.5; random rotation in
[-45, 45] degrees; TenCrop of (40, 40) after all the transforms above
(``ten_crop_size``); normalisation so that each channel has mean 0 and std 1
(``normalize_target_mean`` / ``_std``: the result; the mean and std used are not
stated); random erasing with probability 0.5 (its area and ratio ranges are not stated).
Section 4.7 says the pipeline was searched per model, so this is the pipeline the paper
describes, not necessarily each model's. Introduced in lesson 06_augmentation.
"""

BARBAGALLO_AUGMENTATION = {
    "steps": ("horizontal_flip", "normalize"),
    "horizontal_flip_probability": 0.5,
    "normalize_mean": 0.5,
    "normalize_std": 0.5,
}
"""Barbagallo's training augmentation (section 2): a horizontal flip with probability 0.5,
then a normalisation with mean 0.5 and standard deviation 0.5. Nothing else is stated.
Introduced in lesson 05_fer_kd."""

MATIJASEVIC_AUGMENTATION = {
    "steps": ("horizontal_flip",),
    "horizontal_flip": True,
}
"""Matijasevic's augmentation (section 4.2): a horizontal flip only, because the RAF-DB
images are already cropped and centred. The text calls it 'the horizontal rotation of the
image', a mirror flip; its probability is not stated. Introduced in lesson 07_transfer_learning."""


# ---------------------------------------------------------------------------
# Training settings, as stated
# ---------------------------------------------------------------------------

SETTING_NAMES = {
    "framework": "the library the paper trains with",
    "optimizer": "a Keras optimiser identifier (adam, adagrad)",
    "learning_rate": "the optimiser's learning rate",
    "weight_decay": "the optimiser's weight decay, as the paper's library applies it",
    "schedule": "a learning-rate schedule",
    "epochs": "how many epochs training runs",
    "batch_size": "images per step",
    "loss": "the loss function",
    "shuffle": "which sets are shuffled",
    "input_size": "(height, width) of the network's input",
    "input_channels": "channels of the network's input",
    "dense_widths": "widths of the hidden fully connected layers, in order",
    "dropout": "dropout rates the paper gives, by position",
    "head": "what sits between the backbone and the dense layers",
    "pretrained": "whether the backbone starts from pretrained weights, and which",
    "trainable_backbone": "whether a pretrained backbone is trained too (fine-tuning) or frozen "
                          "(feature extraction)",
    "augmentation": "the name of the augmentation table in this module",
    "stopping_rule": "when training stops",
    "checkpoint": "which epoch's weights are kept",
    "validation_fraction": "share of the training data held out for validation",
    "excluded_classes": "classes left out of every split",
}
"""Every setting name :func:`stated_settings` can return, with what it means."""


@dataclass(frozen=True)
class StatedSetting:
    """One setting a paper states: its ``value`` and ``source`` (paper and table or section).

    ``note`` adds what a reader needs to use the value faithfully. Introduced in
    lesson 04_compact_cnn.
    """

    value: object
    source: str
    note: str = ""


def _from_table(model, metric, paper, table):
    """A setting that a paper prints in a table: the value comes from :data:`REPORTED`."""
    return reported_value(model, metric, paper=paper, table=table)


_S = StatedSetting

_PAPER_WIDE_SETTINGS = {
    "mondal": {
        "framework": _S("keras", "Mondal, abstract; section 2", "TensorFlow with the Keras API"),
        "optimizer": _S("adam", "Mondal, section 2"),
        "epochs": _S(10, "Mondal, section 2.2", "stated for the shallow and the deep model; the improved "
                                               "model is 'trained the same way'"),
        "input_size": _S((48, 48), "Mondal, section 2.1; Figures 6-8"),
        "input_channels": _S(1, "Mondal, section 2.1 (grayscale); Figures 6-8 (first convolution: 320 "
                                "parameters = 3x3x1x32 + 32)"),
        "augmentation": _S("Keras ImageDataGenerator (transforms not stated)", "Mondal, section 2.1"),
    },
    "bedi": {
        "framework": _S("keras", "Bedi, section III; Figure 2 (a Keras model summary)"),
        "optimizer": _S("adagrad", "Bedi, section III"),
        "epochs": _S(20, "Bedi, section IV"),
        "batch_size": _S(64, "Bedi, section IV"),
        "checkpoint": _S("lowest validation loss", "Bedi, section IV", "Keras ModelCheckpoint on validation loss"),
        "input_size": _S((48, 48), "Bedi, section 3.1; Figure 2"),
        "input_channels": _S(1, "Bedi, Figure 2 (first convolution: 320 parameters = 3x3x1x32 + 32)",
                             "section III speaks of RGB layers (see CONTRADICTIONS)"),
    },
    "barbagallo": {
        "optimizer": _S("adam", "Barbagallo, section 3"),
        "learning_rate": _S(5e-4, "Barbagallo, section 3"),
        "weight_decay": _S(1e-3, "Barbagallo, section 3",
                           "PyTorch-style Adam weight decay: an L2 term added to the gradient; Keras's "
                           "weight_decay is decoupled (AdamW style), so the same number is not the same "
                           "regulariser (see ferkit.train.fit)"),
        "epochs": _S(15, "Barbagallo, section 3", "'all the models', i.e. every row of Table 1"),
        "batch_size": _S(64, "Barbagallo, section 3"),
        "loss": _S("cross-entropy", "Barbagallo, section 3", "also used to validate"),
        "shuffle": _S("training set only", "Barbagallo, section 3",
                      "the data loader shuffles the training set, not the validation and test sets"),
        "input_size": _S((48, 48), "Barbagallo, section 1"),
        "augmentation": _S("BARBAGALLO_AUGMENTATION", "Barbagallo, section 2"),
    },
    "qutub_atay": {
        "framework": _S("pytorch", "Qutub & Atay, section 3.3 (torchvision.transforms)"),
        "input_size": _S({"FER2013": (48, 48), "RAF-DB": (100, 100)},
                         "Qutub & Atay, sections 3.1 and 3.3 (FER2013); section 4.2 (RAF-DB)",
                         "before TenCrop, which cuts 40x40 crops (QUTUB_ATAY_AUGMENTATION)"),
        "input_channels": _S({"FER2013": 1, "RAF-DB": 3},
                             "Qutub & Atay, section 3.1 (FER2013 grayscale); section 4.2 (RAF-DB RGB)"),
        "augmentation": _S("QUTUB_ATAY_AUGMENTATION", "Qutub & Atay, section 3.3",
                           "section 4.7: the pipeline was searched per model"),
    },
    "matijasevic": {
        "framework": _S("keras", "Matijasevic, abstract; sections 3.1-3.2"),
        "pretrained": _S("imagenet", "Matijasevic, section 4.1; section 6 (transfer learning)"),
        "loss": _S("categorical cross-entropy", "Matijasevic, section 5"),
        "validation_fraction": _S(0.2, "Matijasevic, section 5", "80 % training, 20 % validation"),
        "excluded_classes": _S(("disgust",), "Matijasevic, section 4.2", "too few images"),
        "augmentation": _S("MATIJASEVIC_AUGMENTATION", "Matijasevic, section 4.2"),
        "stopping_rule": _S("saturation: stop when training and validation accuracy and loss converge",
                            "Matijasevic, sections 5.1-5.3"),
        "checkpoint": _S("last epoch", "Matijasevic, Tables 1-3 ('in the last epoch')"),
    },
}

_QUTUB_ATAY_TRANSFER = {
    "pretrained": _S(True, "Qutub & Atay, section 6",
                     "'transfer learning techniques to retrain' the four networks; 'pre-trained deep CNN "
                     "architectures'; the dataset they were pretrained on is not named"),
}
_QUTUB_ATAY_VGG_HEAD = {
    "head": _S("global average pooling", "Qutub & Atay, sections 4.4-4.5",
               "the last average pool's output changed from (7, 7) to (1, 1)"),
    "dense_widths": _S((4096, 4096), "Qutub & Atay, section 3.2 (VGG's first two FC layers); sections "
                                     "4.4-4.5 (top layer changed to seven outputs)"),
}

_MODEL_SETTINGS = {
    ("mondal", "mondal_shallow"): {
        "learning_rate": _S(_from_table("mondal_shallow", "learning rate", "mondal", "Table 1"), "Mondal, Table 1",
                            "section 4: 'kept as 0.001'"),
        "dense_widths": _S((_from_table("mondal_shallow", "hidden neurons in dense layer", "mondal", "Table 1"),),
                           "Mondal, Table 1; Figure 6"),
    },
    ("mondal", "mondal_dropout"): {
        "learning_rate": _S(_from_table("mondal_shallow", "learning rate", "mondal", "Table 1"),
                            "Mondal, section 4 (Table 1, unchanged for the improved model)"),
        "dense_widths": _S((_from_table("mondal_shallow", "hidden neurons in dense layer", "mondal", "Table 1"),),
                           "Mondal, section 4 (Table 1, unchanged); Figure 7"),
    },
    ("mondal", "mondal_deep"): {
        "learning_rate": _S(_from_table("mondal_deep", "learning rate", "mondal", "Table 2"), "Mondal, Table 2",
                            "section 2.2: 'learning-rate has been changed to 0.0001'"),
        "dense_widths": _S((_from_table("mondal_deep", "hidden neurons in dense layer", "mondal", "Table 2"),),
                           "Mondal, Table 2; section 2.2; Figure 8"),
    },
    ("bedi", "bedi_cnn"): {
        "dense_widths": _S((256,), "Bedi, Figure 2"),
    },
    ("barbagallo", "fer_kd"): {
        "dropout": _S({"after conv 3": 0.25, "after conv 4": 0.25}, "Barbagallo, section 1"),
        "dense_widths": _S((), "Barbagallo, section 1 ('5 convolutional layers and 1 full-connected layer')",
                           "the 10,479,111 count needs a hidden FC 1024 (see CONTRADICTIONS)"),
    },
    ("qutub_atay", "efficientnet_b0"): dict(_QUTUB_ATAY_TRANSFER),
    ("qutub_atay", "resnet18"): dict(_QUTUB_ATAY_TRANSFER),
    ("qutub_atay", "vgg16"): {**_QUTUB_ATAY_TRANSFER, **_QUTUB_ATAY_VGG_HEAD},
    ("qutub_atay", "vgg19"): {
        **_QUTUB_ATAY_TRANSFER, **_QUTUB_ATAY_VGG_HEAD,
        "head": _S("global average pooling", "Qutub & Atay, section 4.5; section 6",
                   "the last average pool's output changed from (7, 7) to (1, 1); Tables 10-11's "
                   "45,227,079 needs another head (see CONTRADICTIONS)"),
    },
    ("qutub_atay", "baseline CNN"): {},
}
for _table, _model, *_ in _MATIJASEVIC_TABLES:
    _MODEL_SETTINGS[("matijasevic", _model)] = {
        "epochs": _S(_from_table(_model, "last epoch", "matijasevic", _table), f"Matijasevic, {_table}",
                     "where the saturation rule stopped training, not a preset"),
    }
for _row in BARBAGALLO_ABLATION_ROWS:
    if _row != "base":
        _MODEL_SETTINGS[("barbagallo", _ablation_model(_row))] = {
            "dropout": _MODEL_SETTINGS[("barbagallo", "fer_kd")]["dropout"],
        }
del _table, _model, _row

UNSTATED = {
    ("mondal", "batch_size"): "not stated",
    ("mondal", "dropout"): "section 2.2 puts dropout 'after each convolution layer', Figure 7 has three "
                           "Dropout layers (after the 2nd and 4th blocks and the dense layer); no rate is given",
    ("mondal", "loss"): "not named (sections 2.2 call softmax 'the loss function')",
    ("mondal", "checkpoint"): "not stated: 10 epochs, then the figures of Table 3",
    ("bedi", "learning_rate"): "Adagrad is named (section III) without a learning rate",
    ("bedi", "dropout"): "Figure 2 has one Dropout layer after the 256-unit dense layer; its rate is not given",
    ("bedi", "loss"): "not stated",
    ("barbagallo", "framework"): "not named; 'Adaptive Max Pooling', the data loader and the PyTorch-style "
                                 "parameter count (section 1) point to PyTorch, on Google Colab (section 3)",
    ("barbagallo", "input_channels"): "FER2013 is described as grayscale (section 2); the 10,479,111 count "
                                      "needs 3 input channels",
    ("barbagallo", "checkpoint"): "not stated: every model trains 15 epochs; which epoch is evaluated is not said",
    ("qutub_atay", "optimizer"): "not stated; hyper-parameters came from an 'exhaustive search' per model "
                                 "(section 4.7)",
    ("qutub_atay", "learning_rate"): "chosen 'by trial-and-error' with a scheduler (section 6); no value given",
    ("qutub_atay", "schedule"): "a scheduler chosen 'by trial-and-error' (section 6); not named",
    ("qutub_atay", "epochs"): "not stated",
    ("qutub_atay", "batch_size"): "not stated",
    ("qutub_atay", "validation_fraction"): "the training data is split into training and validation sets "
                                           "(section 3.1); the fraction is not stated",
    ("qutub_atay", "checkpoint"): "not stated",
    ("matijasevic", "optimizer"): "not stated",
    ("matijasevic", "learning_rate"): "not stated",
    ("matijasevic", "batch_size"): "not stated",
    ("matijasevic", "input_size"): "not stated",
    ("matijasevic", "head"): "not stated (section 3.1 names the Keras models only)",
    ("matijasevic", "trainable_backbone"): "section 4.1 names feature extraction and fine-tuning without "
                                           "saying which was used",
    ("qutub_atay", "trainable_backbone"): "the networks are 'retrained' (section 6), which suggests "
                                          "fine-tuning; not stated explicitly",
}
"""``(paper, setting) -> what the paper says instead of a value`` (``"not stated"`` where
it says nothing a reader might look for). Such a setting is ours. Introduced in lesson
04_compact_cnn."""


def _papers_of(model):
    return [paper for paper, name in _MODEL_SETTINGS if name == model]


def stated_settings(model, paper=None):
    """The training settings the paper states for ``model``: ``{setting: StatedSetting}``.

    ``model`` is a builder name (``"mondal_deep"``, ``"bedi_cnn"``, ``"fer_kd"``,
    ``"vgg19"``...), a Barbagallo ablation row (``"fer_kd +1 conv"``) or Qutub &
    Atay's ``"baseline CNN"``. ``vgg16`` and ``vgg19`` appear in two papers, so they
    need ``paper`` (``"qutub_atay"`` or ``"matijasevic"``). The keys are names of
    :data:`SETTING_NAMES`; a setting that is absent is one the paper does not state,
    so whatever a run uses there is ours (:data:`UNSTATED` says what the paper says
    instead, where it says something). Example::

        stated_settings("mondal_deep")["learning_rate"]
        # StatedSetting(value=0.0001, source='Mondal, Table 2', note=...)

    Introduced in lesson 04_compact_cnn.
    """
    _check_paper(paper)
    papers = _papers_of(model)
    if not papers:
        known = sorted({name for _, name in _MODEL_SETTINGS})
        raise ValueError(f"model: no paper trains {model!r}; models with stated settings: {known}")
    if paper is None:
        if len(papers) > 1:
            raise ValueError(f"model {model!r} is trained in {papers}: pass paper= to say which paper's settings")
        paper = papers[0]
    if paper not in papers:
        raise ValueError(f"paper: {paper!r} does not train {model!r}; papers that do: {papers}")
    return {**_PAPER_WIDE_SETTINGS[paper], **_MODEL_SETTINGS[(paper, model)]}


def stated_setting(model, setting, paper=None):
    """The paper's value of one ``setting`` for ``model`` as a :class:`StatedSetting`, or ``None``.

    ``None`` means the paper does not state it: the setting is ours. This is the one
    lookup that answers "is this setting the paper's or ours?". ``setting`` must be a
    key of :data:`SETTING_NAMES`. Introduced in lesson 04_compact_cnn.
    """
    if setting not in SETTING_NAMES:
        raise ValueError(f"setting: expected one of {sorted(SETTING_NAMES)}, found {setting!r}")
    return stated_settings(model, paper).get(setting)


# ---------------------------------------------------------------------------
# Protocols, as stated
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StatedProtocol:
    """Which data a paper trains on, selects on and reports, in the paper's words.

    ``train``, ``selection`` and ``report`` are :class:`StatedSetting` (value: the
    paper's description; source: where it says so). ``ferkit_splits`` maps
    ``"train"``, ``"selection"`` and ``"report"`` to the split of :mod:`ferkit.data`
    holding the same images, or ``None`` where none does (a split the paper does not
    name, or one drawn at random). ``fractions`` and ``images`` are the split shares
    and sizes the paper states. Introduced in lesson 02_fer2013.
    """

    paper: str
    dataset: str
    train: StatedSetting
    selection: StatedSetting
    report: StatedSetting
    ferkit_splits: dict
    fractions: StatedSetting | None = None
    images: StatedSetting | None = None
    note: str = ""


PROTOCOLS_STATED = {
    ("mondal", "FER2013"): StatedProtocol(
        "mondal", "FER2013",
        train=_S("the training set, all of its images", "Mondal, sections 2.1-2.2"),
        selection=_S("a validation subset; the hyper-parameters of Tables 1-2 'obtained cross validation'",
                     "Mondal, section 2; Tables 1-2", "no checkpoint rule: 10 epochs"),
        report=_S("training and validation accuracy and loss (Table 3); the text also quotes test "
                  "accuracies (65 % improved model, 58 % deep model)", "Mondal, Table 3; section 2.2"),
        ferkit_splits={"train": "train", "selection": None, "report": None},
        images=_S({"training": "roughly 29,000", "validation": "roughly 4,000", "test": "roughly 4,000"},
                  "Mondal, section 2.1"),
        note="Which Kaggle parts (PublicTest, PrivateTest) are the validation and test sets is not said.",
    ),
    ("bedi", "FER2013"): StatedProtocol(
        "bedi", "FER2013",
        train=_S("FER2013, 'over 30,000 images'", "Bedi, section 3.1"),
        selection=_S("the checkpoint with the lowest validation loss (ModelCheckpoint)", "Bedi, section IV",
                     "the validation set is not described"),
        report=_S("accuracy and loss 'assessed on the test set', with no figure given", "Bedi, section IV"),
        ferkit_splits={"train": None, "selection": None, "report": None},
        note="Neither the validation nor the test set is named or sized.",
    ),
    ("barbagallo", "FER2013"): StatedProtocol(
        "barbagallo", "FER2013",
        train=_S("Training (28,709 images)", "Barbagallo, section 2"),
        selection=_S("PrivateTest, called the validation set (3,589 images); FER_KD is chosen as the best "
                     "model on it", "Barbagallo, section 2; section 4"),
        report=_S("PublicTest, called the test set (3,589 images): Table 1's Test column and Table 2; "
                  "Table 1 also prints the validation (PrivateTest) accuracy",
                  "Barbagallo, section 2; Tables 1-2"),
        ferkit_splits={"train": "train", "selection": "private_test", "report": "public_test"},
        images=_S({"all": 35_887, "Training": 28_709, "PublicTest": 3_589, "PrivateTest": 3_589},
                  "Barbagallo, section 2"),
        note="The challenge's roles swapped: PublicTest 'was not given during the original contest'. "
             "Which epoch is evaluated (after 15) is not said.",
    ),
    ("qutub_atay", "FER2013"): StatedProtocol(
        "qutub_atay", "FER2013",
        train=_S("the training set (28,709 images), split into training and validation sets",
                 "Qutub & Atay, section 3.1"),
        selection=_S("the validation part of the training set (fraction not stated)", "Qutub & Atay, section 3.1"),
        report=_S("the test set of 7,178 images, i.e. PublicTest and PrivateTest together (the paper gives "
                  "only the total)", "Qutub & Atay, section 3.1; Tables 2, 4, 6, 8, 10"),
        ferkit_splits={"train": "train", "selection": None, "report": "test"},
        images=_S({"training": 28_709, "test": 7_178, "test, summed from the per-class supports": 7_168},
                  "Qutub & Atay, section 3.1; Tables 2, 4, 6, 8"),
        note="The per-class supports add up to 7,168, not 7,178 (see CONTRADICTIONS).",
    ),
    ("qutub_atay", "RAF-DB"): StatedProtocol(
        "qutub_atay", "RAF-DB",
        train=_S("12,271 images labelled with the basic emotions, split into training and validation sets",
                 "Qutub & Atay, section 3.1"),
        selection=_S("the validation part of the training set (fraction not stated)", "Qutub & Atay, section 3.1"),
        report=_S("the test set of 3,008 images", "Qutub & Atay, section 3.1; Tables 3, 5, 7, 9, 11"),
        ferkit_splits={"train": "train", "selection": None, "report": "test"},
        images=_S({"whole database": 29_672, "training": 12_271, "test": 3_008}, "Qutub & Atay, section 3.1"),
        note="All seven classes; 100x100 RGB images (section 4.2).",
    ),
    ("matijasevic", "RAF-DB without disgust"): StatedProtocol(
        "matijasevic", "RAF-DB without disgust",
        train=_S("80 % of RAF-DB without disgust", "Matijasevic, section 5; section 4.2 (disgust discarded)"),
        selection=_S("the validation accuracy: the best model is the one with the highest", "Matijasevic, section 5.4"),
        report=_S("validation accuracy and loss of the last epoch, training stopped at saturation",
                  "Matijasevic, Tables 1-4; sections 5.1-5.3"),
        ferkit_splits={"train": None, "selection": "validation", "report": "validation"},
        fractions=_S({"training": 0.8, "validation": 0.2}, "Matijasevic, section 5"),
        images=_S({"happy (all images)": 5_957, "fear (all images)": 355}, "Matijasevic, section 5.4"),
        note="Selection and report are the same 20 % split, and no test split is used. The paper does not "
             "say whether RAF-DB's own train and test parts were pooled before the 80/20 split, nor how the "
             "split was drawn (seed, stratification); its class counts are 'of the total number of images'. "
             "Damaged images (blank or blurred) 'were largely moved out' by hand (section 5.4), how many is "
             "not said.",
    ),
}
"""``(paper, dataset) -> StatedProtocol``: each paper's evaluation protocol as it states it.

:data:`ferkit.data.PROTOCOLS` implements these as named choices. Introduced in lesson
02_fer2013."""


def protocols_stated():
    """:data:`PROTOCOLS_STATED` as a DataFrame, one row per paper and dataset.

    Columns: ``paper``, ``dataset``, ``train``, ``selection``, ``report`` (the
    paper's words), ``sources`` and ``note``. Introduced in lesson 02_fer2013.
    """
    rows = []
    for protocol in PROTOCOLS_STATED.values():
        parts = (protocol.train, protocol.selection, protocol.report)
        rows.append({
            "paper": PAPERS[protocol.paper], "dataset": protocol.dataset,
            "train": parts[0].value, "selection": parts[1].value, "report": parts[2].value,
            "sources": "; ".join(dict.fromkeys(part.source for part in parts)),
            "note": protocol.note,
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Contradictions
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Contradiction:
    """A place where a paper says two incompatible things: both readings and where each is.

    ``topic`` names it in a few words; ``reading`` / ``source`` is one statement,
    ``other_reading`` / ``other_source`` the other; ``note`` is one line on what to make
    of it. Material for the lessons' critical-reading sections. Introduced in lesson
    03_shallow_dropout_deep.
    """

    paper: str
    topic: str
    reading: str
    source: str
    other_reading: str
    other_source: str
    note: str = ""


_C = Contradiction
CONTRADICTIONS = (
    # Mondal
    _C("mondal", "deep model: how many convolutions",
       "4 convolution layers (64, 128, 512 and 512 filters) and 1 FC layer",
       "Mondal, section 2.2 (Figure 2's caption: 4 convolutional and 2 fully connected layers)",
       "13 convolution layers in four blocks (2 x 64, 3 x 128, 4 x 512, 4 x 512), one hidden dense "
       "layer of 512", "Mondal, Figure 8",
       "the model summary is what produced 20,552,775 parameters; ferkit.models.mondal_deep follows it"),
    _C("mondal", "deep model: kernel sizes", "all convolutions use 3x3 filters", "Mondal, section 2.2",
       "the three 128-filter convolutions have 204,928 and 409,728 parameters, i.e. 5x5 kernels "
       "((5 x 5 x 64 + 1) x 128 = 204,928)", "Mondal, Figure 8",
       "only the parameter counts reveal the kernel size"),
    _C("mondal", "deep model: dense layers",
       "'added a few more dense layers as shown in Table 2'", "Mondal, section 4",
       "one hidden dense layer of 512 units (Table 2 gives one width)", "Mondal, Table 2; Figure 8", ""),
    _C("mondal", "shallow model: layers",
       "two convolutional layers (32 and 128 filters) and one FC layer", "Mondal, section 2.2",
       "four convolutions (32, 64, 128, 128 filters); section 2 also gives the second one 64 filters",
       "Mondal, Figure 6; section 2", "ferkit.models.mondal_shallow follows Figure 6, which has the stated count"),
    _C("mondal", "improved model: where the dropout goes", "dropout 'after each convolution layer'",
       "Mondal, section 2.2",
       "three Dropout layers: after the 2nd and the 4th convolution blocks and after the dense layer",
       "Mondal, Figure 7", ""),
    _C("mondal", "improved model: accuracies", "65 % on the test data and 61 % on the validation data",
       "Mondal, section 2.2", "65 % training accuracy and 60 % validation accuracy", "Mondal, Table 3",
       "the text's 'test' figure is the table's training figure"),
    _C("mondal", "deep model: accuracies", "59 % on the validation set and 58 % on the test set",
       "Mondal, section 2.2", "59 % training accuracy and 58 % validation accuracy", "Mondal, Table 3", ""),
    _C("mondal", "which model is best",
       "the deep model's result 'has been more accurate', so 'go with the Deep CNN Model only'",
       "Mondal, section 4",
       "validation accuracy 58 % for the deep model against 60 % for the improved model", "Mondal, Table 3",
       "the deep model overfits least (train 59 %, validation 58 %) but is not the most accurate"),
    _C("mondal", "the seven classes",
       "happy, disgust, fear, happiness, sadness, neutral and angry (happy twice, no surprise); "
       "section 1 lists terror, sorrow and contempt", "Mondal, sections 1 and 2.1",
       "angry, neutral, sad, happy, surprise, fear, disgust", "Mondal, Figure 1's caption",
       "FER2013's classes are those of Figure 1"),
    # Bedi
    _C("bedi", "class balance", "FER2013 provides 'a balanced distribution of facial expressions'",
       "Bedi, section 3.1",
       "FER2013 is strongly imbalanced: happy is its largest class, disgust its smallest by more than "
       "ten times (ferkit.data.class_counts on the training split)", "the data (lesson 02_fer2013)",
       "not a contradiction inside the paper but with the data it describes"),
    _C("bedi", "pooling", "convolution layers are stacked 'with no pooling in between', then max-pooled",
       "Bedi, section III", "a max pool after every convolution", "Bedi, Figure 2", ""),
    _C("bedi", "colour channels",
       "the images are converted to arrays with a third dimension 'for rgb layers', for pretrained models",
       "Bedi, section III",
       "the first convolution has 320 parameters (3 x 3 x 1 x 32 + 32): one input channel, trained from scratch",
       "Bedi, Figure 2", "the transfer-learning paragraph does not describe the model the paper trains"),
    _C("bedi", "results", "'the evaluation results demonstrate the effectiveness of the proposed model'",
       "Bedi, section IV; section V", "no accuracy, loss or other figure anywhere", "Bedi, whole paper",
       "see NOT_REPORTED"),
    _C("bedi", "what the paper provides", "'a detailed flowchart and pseudo code'", "Bedi, section IV",
       "a block diagram (Figure 1) and a model summary (Figure 2), no pseudo code", "Bedi, Figures 1-2", ""),
    _C("bedi", "topic", "emotion recognition on FER2013", "Bedi, title; abstract",
       "keywords 'Lung Cancer Classification, Ensemble models'; a conclusion paragraph on farmland sensors",
       "Bedi, keywords; section V", "text left over from other papers: read the sources with care"),
    # Barbagallo
    _C("barbagallo", "FC against convolution layers",
       "convolutional layers improve the model more than fully-connected ones: adding one FC layer "
       "improves it less than adding one convolution", "Barbagallo, section 4",
       "+1 FC scores 63.25 % on test, the best (in bold), above +1 conv's 63.14 %; on validation both "
       "(64.42 %, 64.67 %) are below FER_KD's 65.43 %, so neither improves", "Barbagallo, Table 1",
       "the text's claim holds only for validation, and there neither row is an improvement"),
    _C("barbagallo", "Table 2 against Table 1",
       "FER_KD: 62.62 % on the test set", "Barbagallo, Table 1",
       "the final model's per-class recalls weighted by their supports give 0.632, and at least 0.627 "
       "whatever the rounding; Table 2's accuracy row says 0.63", "Barbagallo, Table 2",
       "the per-class report may come from another run or checkpoint than Table 1's FER_KD row"),
    _C("barbagallo", "the network's size",
       "5 convolutions, an adaptive max pool, 1,024 flattened features into the final FC layer, "
       "48x48 grayscale input", "Barbagallo, sections 1-2",
       "10,479,111 parameters, which ferkit.models.fer_kd reaches only with 3 input channels, a 2x2 "
       "adaptive pool (4,096 features) and a hidden FC 1024", "Barbagallo, section 1",
       "the count and the description cannot both be exact (lesson 05_fer_kd)"),
    _C("barbagallo", "feature-map sizes",
       "the fourth convolution gives 512x12x12 and is followed by a max pool", "Barbagallo, section 1",
       "the pool's output is also given as 512x12x12, although a 2x2 max pool halves it", "Barbagallo, section 1",
       ""),
    # Qutub & Atay
    _C("qutub_atay", "VGGNet19's accuracy on FER2013", "71.02 %",
       "Qutub & Atay, abstract; section 4.5; Tables 8, 10, 12", "70.2 %", "Qutub & Atay, section 6 (conclusion)",
       "70.2 % is VGGNet16's figure (Table 6)"),
    _C("qutub_atay", "VGGNet19's parameters", "45,200,000 (45,227,079)", "Qutub & Atay, section 4.5; Table 10",
       "33,600,000", "Qutub & Atay, section 6 (conclusion)", "33,600,000 is VGGNet16's figure (section 4.4)"),
    _C("qutub_atay", "size of the FER2013 test set", "7,178 images",
       "Qutub & Atay, section 3.1; accuracy rows of Tables 2, 4, 6, 8",
       "the per-class supports add up to 7,168 (Figure 9's columns too, happy 1,764); the baseline's "
       "60.854 % is a whole number of images out of 7,168 (4,362) but not out of 7,178",
       "Qutub & Atay, Tables 2, 4, 6, 8, 10; Figure 9",
       "10 images are unaccounted for; the models seem to have been scored on 7,168"),
    _C("qutub_atay", "VGGNet19's head",
       "the last average pool's output changed from (7, 7) to (1, 1): global average pooling, then "
       "4096, 4096, 7", "Qutub & Atay, section 4.5; section 6",
       "45,227,079 parameters: that head gives 38,935,623 (ferkit.models.vgg19(head='global_pool')); "
       "45,227,079 needs 2,048 features (a 2x2x512 map, e.g. flattened at 64x64 input), while the "
       "stated inputs (48x48, 40x40 crops) give VGG19 a 1x1 map", "Qutub & Atay, Tables 10-11",
       "VGGNet16's count (33,625,927) does match the pooled head"),
    _C("qutub_atay", "parameter reduction", "the customisation cut VGGNet's parameters 'by approximately 60%'",
       "Qutub & Atay, section 6",
       "138,000,000 -> 45,200,000 is a 67 % cut and 138,000,000 -> 33,600,000 a 76 % cut",
       "Qutub & Atay, sections 4.4-4.5", ""),
    _C("qutub_atay", "what 'normalized confusion matrix' divides by",
       "the confusion matrix divided by the number of images per label", "Qutub & Atay, section 4.2",
       "the normalised matrices' diagonals equal the tables' precision, not recall: the counts are "
       "divided by the number of predictions per label", "Qutub & Atay, Figures 8-9; Tables 5-6",
       "also the per-label 'accuracy' of the text is the precision (next entry)"),
    _C("qutub_atay", "per-label 'accuracy'",
       "EfficientNet-B0: happy 84 %, surprise 79 %; ResNet18: happy 86 %, surprise 80 %, disgust 78 % "
       "'accuracy'", "Qutub & Atay, sections 4.2-4.3",
       "those are the precisions; the recalls are 0.87, 0.77 and 0.87, 0.80, 0.66", "Qutub & Atay, Tables 2 and 4",
       "per-class accuracy usually means recall"),
    _C("qutub_atay", "ResNet18's F1 against EfficientNet-B0's", "'the F1-score per each label increased'",
       "Qutub & Atay, section 4.3", "fear: 0.50 against 0.54", "Qutub & Atay, Tables 2 and 4", ""),
    _C("qutub_atay", "VGGNet19's F1 against VGGNet16's",
       "'the F1-score of each label increased' and the error fell on all labels", "Qutub & Atay, section 4.5",
       "disgust 0.70 against 0.75; surprise (0.82) and angry (0.63) unchanged; surprise recall 0.79 "
       "against 0.81", "Qutub & Atay, Tables 6 and 8", ""),
    _C("qutub_atay", "best on RAF-DB", "ResNet18's 86.02 % outperforms all other models",
       "Qutub & Atay, section 4.7; Table 13",
       "the region attention network of Wang et al. reaches 86.90 % on RAF-DB", "Qutub & Atay, section 2",
       "Table 13 leaves it out"),
    _C("qutub_atay", "models run on RAF-DB", "only 'the three deep learning models' were used on RAF-DB",
       "Qutub & Atay, section 4.6", "four models on RAF-DB", "Qutub & Atay, Table 11", ""),
    _C("qutub_atay", "ResNet18's accuracy on RAF-DB", "86.02 %", "Qutub & Atay, section 4.3; Tables 11, 13",
       "Figure 8's counts: 2,589 correct of 3,008 = 86.07 %", "Qutub & Atay, Figure 8",
       "86.02 % is no whole number of images out of 3,008; nor are 84.547 % and 85.88 % "
       "(Tables 3, 7): RAF-DB accuracies may be averaged over batches or crops"),
    _C("qutub_atay", "VGGNet16's accuracy on FER2013", "70.20 %", "Qutub & Atay, Table 10",
       "Figure 9's counts: 5,029 correct of 7,168 = 70.16 %", "Qutub & Atay, Figure 9",
       "Table 6 prints 70.2 %, which 70.16 % rounds to"),
    # Matijasevic
    _C("matijasevic", "ranking", "Table 4 ranks VGG19 first (0.8237) and VGG16 second (0.8361)",
       "Matijasevic, Table 4", "VGG16 is the best model and VGG19 second",
       "Matijasevic, abstract; section 5.4; section 6", "the accuracies in Table 4 itself agree with the text"),
    _C("matijasevic", "accuracy or precision",
       "VGG16's 83.61 % and VGG19's 82.37 % are called a 'precision'",
       "Matijasevic, abstract; section 5.4; section 6", "they are validation accuracies",
       "Matijasevic, Tables 2-4", "the paper reports no precision"),
    _C("matijasevic", "VGG16's last epoch",
       "'stopped at the end of the eighth epoch' (the sentence introducing Table 2)", "Matijasevic, section 5.1",
       "11 epochs", "Matijasevic, Table 2; section 5.2", "the sentence is copied from ResNet50's"),
)
"""Every self-contradiction found in the five papers, both readings with their sources."""


def contradictions(paper=None):
    """:data:`CONTRADICTIONS` as a DataFrame (optionally one paper's), one row per contradiction.

    Columns: ``paper`` (printed name), ``topic``, ``reading``, ``source``,
    ``other_reading``, ``other_source`` and ``note``. Introduced in lesson
    03_shallow_dropout_deep.
    """
    _check_paper(paper)
    rows = [asdict(entry) for entry in CONTRADICTIONS if paper is None or entry.paper == paper]
    frame = pd.DataFrame(rows, columns=list(Contradiction.__dataclass_fields__))
    frame["paper"] = frame["paper"].map(PAPERS)
    return frame
