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
    or is ``None``. ``settings_source`` says which settings the paper states and
    which are ours.
    """

    name: str
    builder: str
    input_shape: tuple
    epochs: int
    batch_size: int
    optimizer: str
    learning_rate: float
    settings_source: str
    weight_decay: float | None = None
    augment: str | None = None
    builder_arguments: dict = field(default_factory=dict)
    early_stopping_patience: int | None = None
    cosine_schedule: bool = False


_OURS = "ours (the paper does not state it)"


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


def _fer_kd_experiments():
    from ferkit.models import FER_KD_ABLATION_VARIANTS

    experiments = {}
    for row, arguments in FER_KD_ABLATION_VARIANTS.items():
        name = FER_KD_ABLATION_EXPERIMENTS[row]
        experiments[name] = Experiment(
            name=name, builder="fer_kd", builder_arguments=dict(arguments), input_shape=(48, 48, 3),
            epochs=15, batch_size=64, optimizer="adam", learning_rate=5e-4, weight_decay=1e-3,
            augment="barbagallo_augment",
            settings_source=(
                f"Barbagallo, Table 1 row {row!r}: Adam, lr 5e-4, weight decay 1e-3, 15 epochs, "
                f"flip + normalisation (paper); batch size 64: {_OURS}"
            ),
        )
    return experiments


def experiments():
    """Return ``{name: Experiment}`` for every experiment the runner knows."""
    table = {
        "bedi_cnn": Experiment(
            name="bedi_cnn", builder="bedi_cnn", input_shape=(48, 48, 1), epochs=20, batch_size=64,
            optimizer="adagrad", learning_rate=0.01,
            settings_source=f"Bedi: Adagrad, 20 epochs, batch 64, best-validation checkpoint (paper); "
                            f"learning rate 0.01: {_OURS}",
        ),
    }
    for name in ("mondal_shallow", "mondal_dropout", "mondal_deep"):
        table[name] = Experiment(
            name=name, builder=name, input_shape=(48, 48, 1), epochs=30, batch_size=64,
            optimizer="adam", learning_rate=1e-3, early_stopping_patience=5,
            settings_source=f"Mondal, Figures 6-8 (architecture); optimiser Adam lr 1e-3, batch 64, "
                            f"up to 30 epochs with early stopping: {_OURS}",
        )
    table.update(_fer_kd_experiments())
    transfer_inputs = {"vgg16": (48, 48, 1), "vgg19": (64, 64, 1), "resnet50": (96, 96, 1),
                       "resnet18": (96, 96, 1), "efficientnet_b0": (96, 96, 1)}
    for name, shape in transfer_inputs.items():
        table[name] = Experiment(
            name=name, builder=name, input_shape=shape, epochs=30, batch_size=64, optimizer="adam",
            learning_rate=1e-4, augment="qutub_augment", early_stopping_patience=5,
            builder_arguments={"weights": None},
            settings_source=f"Qutub & Atay / Matijasevic (architecture and augmentation); trained from "
                            f"scratch here (weights=None, offline), Adam lr 1e-4, up to 30 epochs with "
                            f"early stopping: {_OURS}",
        )
    table["reference"] = Experiment(
        name="reference", builder="reference_cnn", input_shape=(48, 48, 1), epochs=30, batch_size=64,
        optimizer="adamw", learning_rate=2e-3, weight_decay=1e-4, augment="reference_augment",
        cosine_schedule=True,
        settings_source="ours: the course's reference model (not a paper's); AdamW with a cosine "
                        "learning-rate decay, flip/shift/rotation/zoom augmentation",
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
