"""What the five studies report, as data the lessons compare against.

Lesson 08_evaluation introduces this module; lessons 03-07 use it to put a
paper's figure beside ours. Paper numbers live here and nowhere else: a
notebook never types one in.

Each number is a :class:`ReportedResult` that names its paper, the table or
figure it comes from, the model, the dataset and split, and the metric.
Accuracies are fractions in ``[0, 1]`` (papers print percent: 71.02 % is
``0.7102``) so they sit beside ``sklearn.metrics.accuracy_score``.

**Nothing here is invented.** Where a table is known to exist but its
numbers have not been transcribed yet, its rows are listed with
``value=None`` and ``status=TO_TRANSCRIBE``; fill them in from the paper
(and change the status) rather than from memory. Where the source table of
a number, or the paper it belongs to, is not recorded yet, the field is
``None`` and the note says so. Every number below is traceable to the
project's issues 3 and 4 (the course's specification, which quotes the
papers); the ``note`` says which.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

PAPERS = {
    "mondal": "Mondal",
    "bedi": "Bedi",
    "barbagallo": "Barbagallo",
    "qutub_atay": "Qutub & Atay",
    "matijasevic": "Matijasevic",
}
"""The five studies of the course: key -> the name the lessons print."""

TRANSCRIBED = "transcribed"
TO_TRANSCRIBE = "to transcribe from the paper"
NOT_APPLICABLE = "n/a"


@dataclass(frozen=True)
class ReportedResult:
    """One number a paper reports, with where it comes from.

    ``paper`` is a key of :data:`PAPERS` (``None``: not attributed yet),
    ``table`` the table or figure (``None``: not recorded yet), ``dataset``
    and ``split`` what it was measured on (``"n/a"`` for parameter counts),
    ``metric`` e.g. ``"accuracy"`` (a fraction), ``"precision"``,
    ``"parameters"``, ``"trainable parameters"``; ``value`` is ``None`` while
    ``status`` is :data:`TO_TRANSCRIBE`. Introduced in lesson 08_evaluation.
    """

    paper: str | None
    table: str | None
    model: str
    dataset: str
    split: str
    metric: str
    value: float | int | None
    status: str = TRANSCRIBED
    note: str = ""

    def __post_init__(self):
        if self.paper is not None and self.paper not in PAPERS:
            raise ValueError(f"paper: expected one of {sorted(PAPERS)} or None, found {self.paper!r}")
        if (self.value is None) != (self.status == TO_TRANSCRIBE):
            raise ValueError(
                f"{self.model} {self.metric}: value None goes with status {TO_TRANSCRIBE!r} "
                f"and only with it; found value={self.value!r}, status={self.status!r}"
            )


# ---------------------------------------------------------------------------
# Parameter counts (issue 3). Dataset and split do not apply; the input shape
# that reproduces the count is in the note where issue 3 states it.
_ISSUE3 = "stated in issue 3"
_PARAMETER_COUNTS = [
    ReportedResult("mondal", "Figures 6-8", "mondal_shallow", NOT_APPLICABLE, NOT_APPLICABLE,
                   "parameters", 2_345_607, note=_ISSUE3),
    ReportedResult("mondal", "Figures 6-8", "mondal_dropout", NOT_APPLICABLE, NOT_APPLICABLE,
                   "parameters", 2_345_607, note=f"{_ISSUE3}: same count as mondal_shallow"),
    ReportedResult("mondal", "Figures 6-8", "mondal_deep", NOT_APPLICABLE, NOT_APPLICABLE,
                   "parameters", 20_552_775, note=_ISSUE3),
    ReportedResult("mondal", "Figures 6-8", "mondal_deep", NOT_APPLICABLE, NOT_APPLICABLE,
                   "trainable parameters", 20_543_559, note=_ISSUE3),
    ReportedResult("bedi", None, "bedi_cnn", NOT_APPLICABLE, NOT_APPLICABLE,
                   "parameters", 619_015, note=f"{_ISSUE3}; source table not recorded yet"),
    ReportedResult("barbagallo", None, "fer_kd", NOT_APPLICABLE, NOT_APPLICABLE,
                   "parameters", 10_479_111,
                   note=f"{_ISSUE3}; PyTorch counting (batch norm: 2 trainable parameters per "
                        "channel), matched by a 3-channel 48x48 input; source table not recorded yet"),
    ReportedResult("qutub_atay", None, "vgg16", NOT_APPLICABLE, NOT_APPLICABLE,
                   "parameters", 33_625_927,
                   note=f"{_ISSUE3}; 3-channel input, global average pooling, 4096, 4096, 7; "
                        "source table not recorded yet"),
    ReportedResult("qutub_atay", None, "vgg19", NOT_APPLICABLE, NOT_APPLICABLE,
                   "parameters", 45_227_079,
                   note=f"{_ISSUE3}; matches VGG19 with a flattened 2x2x512 head at 64x64 input, "
                        "not pooling; source table not recorded yet"),
    ReportedResult(None, None, "resnet18", NOT_APPLICABLE, NOT_APPLICABLE,
                   "trainable parameters", 11_180_103,
                   note=f"{_ISSUE3} (torchvision layout, 7-way FC); paper and table not recorded yet"),
    ReportedResult(None, None, "efficientnet_b0", NOT_APPLICABLE, NOT_APPLICABLE,
                   "trainable parameters", 4_016_515,
                   note=f"{_ISSUE3}; paper and table not recorded yet"),
]

# ---------------------------------------------------------------------------
# Accuracies and classification reports.
_BARBAGALLO_SPLIT = "public_test"
_BARBAGALLO_SPLIT_NOTE = (
    "Barbagallo swapped the usual roles of FER2013's test splits (selected on PrivateTest, "
    "reported PublicTest; shared/data/README.md): confirm the split against the paper"
)
BARBAGALLO_ABLATION_ROWS = (
    "+1 FC +1 conv", "+1 conv", "+1 FC", "base", "-1 conv", "-2 conv", "-3 conv", "-4 conv",
)
"""The rows of Barbagallo's Table 1 (the ablation of FER_KD), in the paper's order."""

_EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
_REPORT_METRICS = ("precision", "recall", "f1-score", "images (n)")

_ACCURACIES = [
    ReportedResult("barbagallo", "Table 1", f"fer_kd {row}", "FER2013", _BARBAGALLO_SPLIT,
                   "accuracy", None, TO_TRANSCRIBE, _BARBAGALLO_SPLIT_NOTE)
    for row in BARBAGALLO_ABLATION_ROWS
] + [
    ReportedResult("barbagallo", "Table 2", f"fer_kd: {emotion}", "FER2013", _BARBAGALLO_SPLIT,
                   metric, None, TO_TRANSCRIBE, f"classification report; {_BARBAGALLO_SPLIT_NOTE}")
    for emotion in _EMOTIONS
    for metric in _REPORT_METRICS
] + [
    ReportedResult(None, None, "best of the five studies", "FER2013", "to confirm",
                   "accuracy", 0.7102,
                   note="'the papers' best FER2013 figure is 71.02%' (course brief for issue 4); "
                        "which study, model, table and split are to be recorded"),
]

REPORTED = tuple(_PARAMETER_COUNTS + _ACCURACIES)
"""Every reported number (and every row still to transcribe), in one registry."""

# ---------------------------------------------------------------------------
# Training set-ups and augmentation settings the papers state.
TRAINING_SETUPS = {
    "bedi": {"optimizer": "adagrad", "epochs": 20, "batch_size": 64},
    "barbagallo": {"optimizer": "adam", "learning_rate": 5e-4, "weight_decay": 1e-3, "epochs": 15},
}
"""Optimiser, epochs and batch size as each paper states them (keys absent: not recorded).

Bedi's learning rate and Barbagallo's batch size are not recorded here yet.
Barbagallo trained in PyTorch, whose ``Adam(weight_decay=...)`` adds an L2
term to the gradient; Keras's ``weight_decay`` is decoupled (AdamW style),
so the same number is not the same regulariser (see :func:`ferkit.train.fit`).
"""

QUTUB_ATAY_AUGMENTATION = {
    "random_resized_crop_scale": (0.8, 1.2),
    "brightness": 0.5,
    "contrast": 0.5,
    "color_jitter_probability": 0.5,
    "translate": 0.2,
    "translate_probability": 0.5,
    "horizontal_flip": True,
    "rotation_degrees": 45.0,
    "normalize": True,
    "random_erasing_probability": 0.5,
}
"""Qutub & Atay's training augmentation (their section 3.3), as stated in issue 4.

The normalisation's mean and std are not recorded here yet.
"""

BARBAGALLO_AUGMENTATION = {
    "horizontal_flip_probability": 0.5,
    "normalize_mean": 0.5,
    "normalize_std": 0.5,
}
"""Barbagallo's training augmentation, as stated in issue 4."""


def reported(paper=None, table=None, model=None, metric=None, transcribed_only=False):
    """The reported numbers as a DataFrame, filtered by any of the arguments.

    Returns one row per :class:`ReportedResult` with the columns ``paper``
    (the printed name), ``table``, ``model``, ``dataset``, ``split``,
    ``metric``, ``value``, ``status`` and ``note``. ``paper`` is a key of
    :data:`PAPERS`; ``transcribed_only=True`` drops the rows still to
    transcribe. Introduced in lesson 08_evaluation.
    """
    if paper is not None and paper not in PAPERS:
        raise ValueError(f"paper: expected one of {sorted(PAPERS)}, found {paper!r}")
    rows = [
        entry for entry in REPORTED
        if (paper is None or entry.paper == paper)
        and (table is None or entry.table == table)
        and (model is None or entry.model == model)
        and (metric is None or entry.metric == metric)
        and not (transcribed_only and entry.status == TO_TRANSCRIBE)
    ]
    frame = pd.DataFrame([asdict(entry) for entry in rows], columns=list(ReportedResult.__dataclass_fields__))
    frame["paper"] = frame["paper"].map(lambda key: PAPERS.get(key, "not attributed yet"))
    frame["value"] = frame["value"].astype(object)
    return frame


def reported_value(model, metric="parameters"):
    """The one reported value of ``metric`` for ``model``, e.g. a parameter count.

    Returns the number; raises ``ValueError`` when there is none, several, or
    it is still to transcribe. Introduced in lesson 03_shallow_dropout_deep.
    """
    matches = [entry for entry in REPORTED if entry.model == model and entry.metric == metric]
    if len(matches) != 1:
        known = sorted({entry.model for entry in REPORTED if entry.metric == metric})
        raise ValueError(
            f"model={model!r}, metric={metric!r}: expected exactly one reported value, "
            f"found {len(matches)}; models with this metric: {known}"
        )
    if matches[0].value is None:
        raise ValueError(f"{model} {metric}: {TO_TRANSCRIBE} ({matches[0].table})")
    return matches[0].value
