"""The registry of named experiments: which model, trained how, and whose each setting is.

An experiment is a paper's model with the paper's settings wherever the paper states them
(read from :mod:`ferkit.papers`), and ours, marked as ours, where it is silent. Running
one and keeping its record is :mod:`ferkit.runner`'s job; the command line keeps this
module's name::

    python -m ferkit.experiments list
    python -m ferkit.experiments run bedi_cnn --dataset fer2013

Experiment names are identifiers (``fer_kd_remove_2_conv``, not ``"fer_kd -2 conv"``), so a
record's file name is ``<experiment>-<dataset>.json`` as it stands. Introduced in lesson
04_compact_cnn.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Experiment:
    """A named experiment: which model, trained how, and where each setting comes from.

    ``builder`` names a function of :mod:`ferkit.models` (called with
    ``builder_arguments``); ``augment`` names a function of :mod:`ferkit.augment`
    or is ``None``. ``sources`` says, setting by setting, whether the value is the
    paper's (with the table or section that states it) or ours (with why);
    ``settings_source`` is the same in one line. ``dataset`` is the dataset of
    :data:`ferkit.data.DATASETS` the experiment is meant for (``--dataset``), and
    ``protocol`` the paper's own protocol of :data:`ferkit.data.PROTOCOLS`
    (``--protocol`` rebuilds the paper's table; a run without it uses ours); both
    ``None`` where any will do.
    """

    name: str
    builder: str
    input_shape: tuple
    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float
    sources: dict
    weight_decay: float | None = None
    augment: str | None = None
    builder_arguments: dict = field(default_factory=dict)
    early_stopping_patience: int | None = None
    cosine_schedule: bool = False
    paper: str | None = None
    dataset: str | None = None
    protocol: str | None = None

    @property
    def settings_source(self):
        """Every setting's source in one line, e.g. ``"optimizer adagrad: Bedi, section III; ..."``."""
        return "; ".join(f"{setting}: {source}" for setting, source in self.sources.items())


def _paper(model, setting, paper=None):
    """``(value, source)`` of a setting the paper states (an error here is a registry mistake)."""
    from ferkit import papers

    stated = papers.stated_setting(model, setting, paper)
    if stated is None:
        raise ValueError(f"{model}: ferkit.papers has no stated {setting!r}")
    return stated.value, f"paper ({stated.source})"


def _paper_input_shape(model):
    """``((height, width, channels), source)`` from the paper's stated input size and channels."""
    (height, width), size_source = _paper(model, "input_size")
    channels, channels_source = _paper(model, "input_channels")
    return (height, width, channels), f"{size_source}; channels {channels_source}"


def _ours(value, why):
    return value, f"ours ({why})"


def _experiment(name, builder, paper, **settings):
    """An :class:`Experiment` from ``setting=(value, source)`` pairs (see :func:`_paper`, :func:`_ours`)."""
    values = {setting: value for setting, (value, _) in settings.items()}
    sources = {setting: f"{_shown(value)} {source}" for setting, (value, source) in settings.items()}
    return Experiment(name=name, builder=builder, paper=paper, sources=sources, **values)


def _shown(value):
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


FER_KD_ABLATION_EXPERIMENTS = {
    "+1 FC +1 conv": "fer_kd_add_fc_conv",
    "+1 conv": "fer_kd_add_conv",
    "+1 FC": "fer_kd_add_fc",
    "base": "fer_kd",
    "-1 conv": "fer_kd_remove_1_conv",
    "-2 conv": "fer_kd_remove_2_conv",
    "-3 conv": "fer_kd_remove_3_conv",
    "-4 conv": "fer_kd_remove_4_conv",
}
"""Barbagallo's Table 1 row -> the name of the experiment that rebuilds it."""


def _mondal_experiment(name):
    """Mondal's settings (Tables 1-2, section 2.2): Adam, the table's learning rate, 10 epochs."""
    return _experiment(
        name, name, "mondal", input_shape=_paper_input_shape(name),
        optimizer=_paper(name, "optimizer"), learning_rate=_paper(name, "learning_rate"),
        epochs=_paper(name, "epochs"),
        batch_size=_ours(32, "not stated; Keras's default, which a Keras paper that names none trained with"),
    )


def _fer_kd_experiments():
    from ferkit.models import FER_KD_ABLATION_VARIANTS

    table = {}
    for row, arguments in FER_KD_ABLATION_VARIANTS.items():
        name = FER_KD_ABLATION_EXPERIMENTS[row]
        height, width = _paper("fer_kd", "input_size")[0]
        table[name] = _experiment(
            name, "fer_kd", "barbagallo",
            builder_arguments=(dict(arguments), f"paper (Barbagallo, Table 1, row {row!r})"),
            input_shape=((height, width, 3), "48x48 paper (Barbagallo, section 1); 3 channels ours (grey "
                                             "repeated: the only input that gives the stated parameter count)"),
            optimizer=_paper("fer_kd", "optimizer"), learning_rate=_paper("fer_kd", "learning_rate"),
            weight_decay=_paper("fer_kd", "weight_decay"), epochs=_paper("fer_kd", "epochs"),
            batch_size=_paper("fer_kd", "batch_size"),
            augment=("barbagallo_augment", "paper (Barbagallo, section 2: flip; the normalisation is "
                                           "inside the model)"),
        )
    return table


MATIJASEVIC_EXPERIMENTS = {"resnet50": "matijasevic_resnet50", "vgg16": "matijasevic_vgg16",
                           "vgg19": "matijasevic_vgg19"}
"""Matijasevic's Tables 1-3 (ResNet50, VGG16, VGG19 on RAF-DB without disgust) -> the experiment
that rebuilds each. Lesson 07_transfer_learning."""

QUTUB_ATAY_DATASETS = {"fer2013": "FER2013", "rafdb": "RAF-DB"}
"""The datasets of Qutub & Atay's Tables 10-11: ferkit name -> the paper's."""

QUTUB_ATAY_MODELS = ("efficientnet_b0", "resnet18", "vgg16", "vgg19")
"""The transfer networks of Qutub & Atay's Tables 10-11, as builders of :mod:`ferkit.models`."""


def qutub_atay_experiment_name(model, dataset):
    """The experiment rebuilding Qutub & Atay's ``model`` on ``dataset``, e.g. ``qutub_atay_vgg19_rafdb``."""
    if dataset not in QUTUB_ATAY_DATASETS:
        raise ValueError(f"dataset: expected one of {sorted(QUTUB_ATAY_DATASETS)}, found {dataset!r}")
    return f"qutub_atay_{model}_{dataset}"


def transfer_experiments(dataset):
    """The papers' transfer experiments meant for ``dataset`` (a key of :data:`ferkit.data.DATASETS`).

    ``rafdb_without_disgust``: Matijasevic's three; ``rafdb`` and ``fer2013``: Qutub & Atay's four
    on that dataset; ``rafdb_sample`` (the sample in RAF-DB's form): those on RAF-DB; ``sample``
    (FER2013's form): those on FER2013. Lesson 07_transfer_learning.
    """
    from ferkit import data

    data.dataset(dataset)  # a ValueError naming the known datasets
    if dataset == "rafdb_without_disgust":
        return list(MATIJASEVIC_EXPERIMENTS.values())
    family = "rafdb" if dataset.startswith("rafdb") else "fer2013"
    return [qutub_atay_experiment_name(model, family) for model in QUTUB_ATAY_MODELS]


def _matijasevic_experiments():
    """ResNet50, VGG16 and VGG19 as Matijasevic trains them (sections 4-5), from ImageNet weights.

    The paper's: Keras Applications with ImageNet weights (section 4.1), RAF-DB without disgust
    (section 4.2), a horizontal flip only (section 4.2), its 80/20 protocol and last-epoch
    validation accuracy (section 5, Tables 1-3; ``--protocol matijasevic``), training until
    'saturation'. Ours: what stops training (early stopping on the selection loss), the epoch cap,
    optimiser, learning rate, batch size, input size and head, none of which the paper states.
    """
    from ferkit import data

    table = {}
    for model, name in MATIJASEVIC_EXPERIMENTS.items():
        def paper(setting):
            return _paper(model, setting, paper="matijasevic")

        pretrained, pretrained_source = paper("pretrained")
        excluded, excluded_source = paper("excluded_classes")
        _, augmentation_source = paper("augmentation")
        stopped_after, stopped_source = paper("epochs")
        _, stopping_source = paper("stopping_rule")
        table[name] = _experiment(
            name, model, "matijasevic",
            dataset=("rafdb_without_disgust",
                     f"{excluded_source[:-1]}: RAF-DB without {', '.join(excluded)})"),
            protocol=("matijasevic", f"paper ({data.PROTOCOLS['matijasevic'].source})"),
            builder_arguments=({"weights": pretrained},
                               f"{pretrained_source}; freeze=False ours (section 4.1 names feature "
                               "extraction and fine-tuning without saying which: the whole network trains)"),
            input_shape=_ours((100, 100, 3), "not stated; RAF-DB's aligned 100x100 colour faces as they are"),
            augment=("matijasevic_augment",
                     f"{augmentation_source[:-1]}: a horizontal flip only; p = 0.5, RandomFlip's, is ours: "
                     "the paper states none)"),
            epochs=_ours(30, f"a cap: not stated; training stopped at saturation, after {stopped_after} "
                             f"epochs in {stopped_source.removeprefix('paper (').rstrip(')')}"),
            early_stopping_patience=_ours(3, "our saturation rule: stop once the selection loss has not "
                                             "improved for 3 epochs; "
                                             f"{stopping_source.removeprefix('paper (').rstrip(')')} "
                                             "stop when accuracy and loss converge"),
            optimizer=_ours("adam", "not stated"),
            learning_rate=_ours(1e-4, "not stated; a low rate for a pretrained network that trains whole"),
            batch_size=_ours(32, "not stated; Keras's default"),
        )
    return table


def _qutub_atay_experiments():
    """EfficientNet-B0, ResNet18, VGG16 and VGG19 on FER2013 and RAF-DB as Qutub & Atay train them.

    The paper's: pretrained networks retrained (section 6), their augmentation (section 3.3),
    their heads (sections 4.4-4.5; VGG19's from Table 10's count), their input (FER2013 grey
    48x48, repeated to three channels inside the model; RAF-DB colour 100x100) and protocol
    (``--protocol qutub_atay``). VGG19 takes 64x64: the count decides (``models.vgg19``). Ours:
    ImageNet as the pretraining data (not named), optimiser, learning rate, batch size, epochs
    and early stopping (not stated; hyper-parameters were searched per model, section 4.7).
    """
    from ferkit import data

    table = {}
    for model in QUTUB_ATAY_MODELS:
        sizes, size_source = _paper(model, "input_size", paper="qutub_atay")
        channels, channels_source = _paper(model, "input_channels", paper="qutub_atay")
        _, pretrained_source = _paper(model, "pretrained", paper="qutub_atay")
        _, augmentation_source = _paper(model, "augmentation", paper="qutub_atay")
        for dataset, title in QUTUB_ATAY_DATASETS.items():
            name = qutub_atay_experiment_name(model, dataset)
            size, depth = sizes[title], channels[title]
            if model == "vgg19":
                input_shape = ((64, 64, depth), f"ours (64x64: the only input at which VGG19's flatten head "
                                                f"gives Tables 10-11's 45,227,079 parameters; the count decides "
                                                f"over the text's pooled head); channels {channels_source}")
            else:
                input_shape = ((*size, depth), f"{size_source}; channels {channels_source}")
            table[name] = _experiment(
                name, model, "qutub_atay",
                dataset=(dataset, f"paper (Qutub & Atay, section 3.1; Table {10 if dataset == 'fer2013' else 11})"),
                protocol=("qutub_atay", f"paper ({data.PROTOCOLS['qutub_atay'].source})"),
                input_shape=input_shape,
                builder_arguments=({"weights": "imagenet"},
                                   f"pretrained {pretrained_source}; ImageNet ours (the pretraining data is "
                                   "not named); freeze=False ours (the networks are 'retrained', section 6, "
                                   "which suggests fine-tuning)"),
                augment=("qutub_augment", f"{augmentation_source[:-1]}; TenCrop off ours: the model takes "
                                          "the whole face)"),
                epochs=_ours(30, "not stated"), batch_size=_ours(64, "not stated"),
                optimizer=_ours("adam", "not stated; searched per model, section 4.7"),
                learning_rate=_ours(1e-4, "not stated; 'trial-and-error', section 6"),
                early_stopping_patience=_ours(5, "not stated"),
            )
    return table


def experiments():
    """Return ``{name: Experiment}`` for every experiment the runner knows."""
    table = {
        "bedi_cnn": _experiment(
            "bedi_cnn", "bedi_cnn", "bedi", input_shape=_paper_input_shape("bedi_cnn"),
            optimizer=_paper("bedi_cnn", "optimizer"), epochs=_paper("bedi_cnn", "epochs"),
            batch_size=_paper("bedi_cnn", "batch_size"),
            learning_rate=_ours(0.01, "not stated; the customary Adagrad rate, ten times Keras's default"),
        ),
    }
    for name in ("mondal_shallow", "mondal_dropout", "mondal_deep"):
        table[name] = _mondal_experiment(name)
    table.update(_fer_kd_experiments())
    transfer_inputs = {"vgg16": (48, 48, 1), "vgg19": (64, 64, 1), "resnet50": (96, 96, 1),
                       "resnet18": (96, 96, 1), "efficientnet_b0": (96, 96, 1)}
    for name, shape in transfer_inputs.items():  # the from-scratch baselines of lesson 07
        table[name] = _experiment(
            name, name, None,
            input_shape=_ours(shape, "the input that gives Qutub & Atay's parameter count"),
            builder_arguments=_ours({"weights": None}, "trained from scratch, offline"),
            epochs=_ours(30, "not stated"), batch_size=_ours(64, "not stated"),
            optimizer=_ours("adam", "not stated"), learning_rate=_ours(1e-4, "not stated"),
            augment=_ours("qutub_augment", "Qutub & Atay's pipeline, section 3.3"),
            early_stopping_patience=_ours(5, "not stated"),
        )
    table.update(_matijasevic_experiments())
    table.update(_qutub_atay_experiments())
    table["reference"] = _experiment(
        "reference", "reference_cnn", None,
        input_shape=_ours((48, 48, 1), "the course's reference model, not a paper's"),
        epochs=_ours(30, "reference recipe"), batch_size=_ours(64, "reference recipe"),
        optimizer=_ours("adamw", "reference recipe"), learning_rate=_ours(2e-3, "reference recipe"),
        weight_decay=_ours(1e-4, "reference recipe"), cosine_schedule=_ours(True, "reference recipe"),
        augment=_ours("reference_augment", "flip, shift, rotation and zoom"),
    )
    return table


def experiment_named(name):
    """The :class:`Experiment` called ``name``; a ``ValueError`` lists the known names otherwise."""
    table = experiments()
    if name not in table:
        raise ValueError(f"name: unknown experiment {name!r}; known: {sorted(table)}")
    return table[name]


if __name__ == "__main__":  # python -m ferkit.experiments: the runner's command line
    from ferkit.runner import main

    sys.exit(main())
