"""Named real experiments and their JSON records.

One command runs a paper's model with the paper's settings on a named dataset and
writes a record of everything it measured::

    python -m ferkit.experiments list
    python -m ferkit.experiments run bedi_cnn --dataset fer2013
    python -m ferkit.experiments run fer_kd --dataset sample --epochs 2

Protocols (the record says which was used):

* ``carveout``: select on a seeded, stratified 10 % validation carve-out of the
  training split, report ``public_test`` once (RAF-DB: ``test``). The team's
  protocol for the shared FER2013 copy, which withholds PrivateTest. Default for
  FER2013 and RAF-DB.
* ``canonical``: select on ``public_test``, report ``private_test`` once. Use it
  with the full Kaggle data; default for the generated sample, which has both.

"Select" means: the checkpoint kept is the epoch with the lowest loss on the
selection split; the reported split is predicted once, by that checkpoint.
Records go to ``results/<experiment>-<dataset>.json``; lessons read them with
:func:`load_record`. Introduced in lesson 04_compact_cnn.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferkit import data

PROTOCOLS = ("carveout", "canonical")
DATASETS = ("sample", "fer2013", "rafdb", "rafdb_without_disgust")
EXCLUDED_CLASSES = {"rafdb_without_disgust": ("disgust",)}
"""Datasets that leave classes out: Matijasevic trains and tests on RAF-DB without disgust."""
RESULTS_DIRECTORY = Path(__file__).resolve().parent.parent / "results"
CARVEOUT_FRACTION = 0.1


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


def _fer_kd_experiments():
    from ferkit.models import FER_KD_ABLATION_VARIANTS

    experiments = {}
    for row, arguments in FER_KD_ABLATION_VARIANTS.items():
        name = "fer_kd" if row == "base" else "fer_kd " + row
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


def default_protocol(dataset):
    """``carveout`` for FER2013 (the team's copy withholds PrivateTest) and RAF-DB (train and
    test only), ``canonical`` for the sample.

    The lessons pick their protocol with it; lesson 02_fer2013 explains both.
    """
    return "canonical" if dataset == "sample" else "carveout"


def _results_directory(results_directory):
    return Path(results_directory) if results_directory is not None else RESULTS_DIRECTORY


def _optimizer(experiment, epochs, steps_per_epoch):
    """The optimiser name, or an optimiser object when the experiment decays its learning rate."""
    import keras

    if not experiment.cosine_schedule:
        return experiment.optimizer
    schedule = keras.optimizers.schedules.CosineDecay(experiment.learning_rate, epochs * steps_per_epoch)
    if experiment.optimizer != "adamw":
        raise ValueError(f"cosine_schedule is wired for AdamW only, found {experiment.optimizer!r}.")
    return keras.optimizers.AdamW(learning_rate=schedule, weight_decay=experiment.weight_decay or 0.0)


def split_for_protocol(dataset, protocol, data_path=None, seed=0, max_train_images=None):
    """Load ``dataset`` and split it by ``protocol``.

    Returns ``{"train": (x, y), "selection": (x, y), "report": (x, y)}`` and a dict
    naming each part's split (e.g. ``"train minus 10% carve-out (seed 0)"``). The
    carve-out protocol reports FER2013's (and the sample's) ``public_test`` and
    RAF-DB's ``test``; RAF-DB has no second test split, so no canonical protocol.
    """
    from sklearn.model_selection import train_test_split

    _check("dataset", dataset, DATASETS)
    _check("protocol", protocol, PROTOCOLS)
    rafdb = dataset.startswith("rafdb")
    if rafdb and protocol == "canonical":
        raise ValueError("protocol: RAF-DB has only a train and a test split, so there is nothing to select "
                         "on but a carve-out of train; use protocol='carveout'.")
    report_split = "test" if rafdb else "public_test"

    def load(split):
        if dataset == "sample":
            return data.load_sample(split)
        if rafdb:
            return data.load_rafdb(data_path, split, exclude=EXCLUDED_CLASSES.get(dataset, ()))
        return data.load_fer2013(data_path, split)

    train_images, train_labels = load("train")
    if max_train_images is not None:
        train_images, train_labels = data.stratified_subset(train_images, train_labels, max_train_images, seed)
    if protocol == "carveout":
        indices = np.arange(len(train_labels))
        fit_indices, selection_indices = train_test_split(
            indices, test_size=CARVEOUT_FRACTION, stratify=train_labels, random_state=seed
        )
        parts = {
            "train": (train_images[fit_indices], train_labels[fit_indices]),
            "selection": (train_images[selection_indices], train_labels[selection_indices]),
            "report": load(report_split),
        }
        names = {
            "train": f"train minus {CARVEOUT_FRACTION:.0%} stratified carve-out (seed {seed})",
            "selection": f"{CARVEOUT_FRACTION:.0%} stratified carve-out of train (seed {seed})",
            "report": report_split,
        }
    else:
        parts = {"train": (train_images, train_labels), "selection": load("public_test"),
                 "report": load("private_test")}
        names = {"train": "train", "selection": "public_test", "report": "private_test"}
    return parts, names


def run(name, dataset="sample", data_path=None, protocol=None, epochs=None, batch_size=None, seed=0,
        results_directory=None, max_train_images=None, verbose="auto", command=None, precision="float32",
        checkpoint_dir=None):
    """Run experiment ``name`` and write its record; return the record (a dict).

    ``dataset`` is one of :data:`DATASETS` (real data is read from ``data_path`` or
    ``$FERKIT_DATA``). ``protocol`` defaults to :func:`default_protocol`.
    ``epochs``/``batch_size`` override the experiment's (the record keeps both).
    ``max_train_images`` trims the training split to a seeded, stratified subset for
    quick checks. ``precision`` is a policy for :func:`ferkit.train.set_precision`
    (``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"`` or ``"auto"``).
    ``checkpoint_dir`` keeps the selected model (``best.keras``) and ``history.csv``
    there; by default they go to a temporary folder.
    """
    import keras

    from ferkit import augment as augment_module
    from ferkit import models, train

    experiment = experiment_named(name)
    protocol = protocol or default_protocol(dataset)
    epochs = epochs or experiment.epochs
    batch_size = batch_size or experiment.batch_size
    parts, split_names = split_for_protocol(dataset, protocol, data_path, seed, max_train_images)

    keras.utils.set_random_seed(seed)
    with train.precision(precision) as policy:
        model = getattr(models, experiment.builder)(input_shape=experiment.input_shape,
                                                    **experiment.builder_arguments)
    augmentation = getattr(augment_module, experiment.augment)(seed=seed) if experiment.augment else None
    train_dataset, selection_dataset = _datasets(parts, experiment, batch_size, augmentation, seed)

    steps_per_epoch = -(-len(parts["train"][1]) // batch_size)
    started = time.perf_counter()
    history, best_path = train.fit(
        model, train_dataset, selection_dataset, epochs=epochs,
        optimizer=_optimizer(experiment, epochs, steps_per_epoch),
        learning_rate=experiment.learning_rate, weight_decay=experiment.weight_decay,
        early_stopping_patience=experiment.early_stopping_patience, seed=seed, verbose=verbose,
        mixed_precision=policy, checkpoint_dir=checkpoint_dir,
    )
    training_seconds = time.perf_counter() - started
    best_model = keras.models.load_model(best_path, safe_mode=True, compile=False)
    record = _record(
        experiment, dataset, protocol, parts, split_names, best_model, history.history, epochs, batch_size,
        seed, policy, training_seconds,
        command or f"python -m ferkit.experiments run {shlex.quote(name)} --dataset {dataset} "
                   f"--protocol {protocol} --epochs {epochs} --batch-size {batch_size} --seed {seed} "
                   f"--precision {policy}",
    )
    write_record(record, _results_directory(results_directory) / record_file_name(name, dataset))
    return record


def evaluate_checkpoint(name, checkpoint, history_csv, dataset="fer2013", data_path=None, protocol=None,
                        epochs=None, batch_size=None, seed=0, results_directory=None, note=None,
                        command=None):
    """Write the record of a training run that stopped before its end, from its files.

    A run cut short (a GPU machine's time limit, a closed laptop) leaves ``best.keras`` and
    ``history.csv`` in its ``--checkpoint-dir``: the checkpoint was selected on the selection
    split as usual, so it can be reported once on the report split. The record is the one
    :func:`run` writes, with ``training_seconds`` unknown (``None``), ``interrupted: True``
    and ``note`` saying what happened. ``epochs``, ``batch_size`` and ``seed`` must be the
    run's.
    """
    import keras
    import pandas as pd

    experiment = experiment_named(name)
    protocol = protocol or default_protocol(dataset)
    history = pd.read_csv(history_csv)
    missing = {"loss", "val_loss"} - set(history.columns)
    if missing:
        raise ValueError(f"{history_csv}: expected the columns of a Keras CSVLogger, missing {sorted(missing)}")
    parts, split_names = split_for_protocol(dataset, protocol, data_path, seed)
    model = keras.models.load_model(checkpoint, safe_mode=True, compile=False)
    record = _record(
        experiment, dataset, protocol, parts, split_names, model,
        {key: history[key].tolist() for key in history.columns if key != "epoch"},
        epochs or experiment.epochs, batch_size or experiment.batch_size, seed, model.dtype_policy.name,
        None, command or f"python -m ferkit.experiments evaluate {shlex.quote(name)} --checkpoint {checkpoint} "
                         f"--history {history_csv} --dataset {dataset}",
    )
    record.update(interrupted=True, note=note)
    write_record(record, _results_directory(results_directory) / record_file_name(name, dataset))
    return record


def _record(experiment, dataset, protocol, parts, split_names, best_model, history, epochs, batch_size, seed,
            policy, training_seconds, command):
    """The JSON record of one run: the selected model reported once on the report split."""
    from ferkit import evaluate

    report_images, report_labels = parts["report"]
    probabilities = evaluate.predict(best_model, report_images)
    predictions = probabilities.argmax(axis=1)
    report = evaluate.classification_report(report_labels, predictions)
    return {
        "experiment": experiment.name,
        "dataset": dataset,
        "protocol": protocol,
        "splits": split_names,
        "sample_result": dataset == "sample",
        "accuracy": float((predictions == report_labels).mean()),
        "reported_split": split_names["report"],
        "selection_split": split_names["selection"],
        "images": {part: int(len(labels)) for part, (_, labels) in parts.items()},
        "classification_report": json.loads(report.to_json(orient="index")),
        "confusion_matrix": evaluate.confusion_matrix(report_labels, predictions).to_numpy().tolist(),
        "labels": list(data.EMOTIONS),
        "history": {key: [float(v) for v in values] for key, values in history.items()},
        "epochs_requested": int(epochs),
        "epochs_run": len(history.get("loss", [])),
        "best_epoch": int(np.argmin(history["val_loss"])) + 1,
        "settings": {
            "builder": experiment.builder, "builder_arguments": experiment.builder_arguments,
            "input_shape": list(experiment.input_shape), "optimizer": experiment.optimizer,
            "learning_rate": experiment.learning_rate, "weight_decay": experiment.weight_decay,
            "batch_size": batch_size, "augment": experiment.augment, "seed": seed,
            "early_stopping_patience": experiment.early_stopping_patience,
            "cosine_schedule": experiment.cosine_schedule, "precision": policy,
            "source": experiment.settings_source,
        },
        "parameters": int(best_model.count_params()),
        "training_seconds": None if training_seconds is None else round(training_seconds, 1),
        "hardware": hardware(),
        "versions": versions(),
        "git_commit": git_commit(),
        "command": command,
    }


def _datasets(parts, experiment, batch_size, augmentation, seed):
    from ferkit.pipeline import make_dataset

    height, width, channels = experiment.input_shape
    common = dict(batch_size=batch_size, image_size=(height, width), channels=channels, seed=seed)
    train_dataset = make_dataset(*parts["train"], training=True, augment=augmentation, **common)
    selection_dataset = make_dataset(*parts["selection"], training=False, **common)
    return train_dataset, selection_dataset


def record_file_name(name, dataset):
    """``results/`` file name of a record: ``<experiment>-<dataset>.json`` (spaces and signs made safe)."""
    safe = name.replace(" ", "_").replace("+", "plus").replace("-", "minus")
    return f"{safe}-{dataset}.json"


def write_record(record, path):
    """Write ``record`` as JSON atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(temporary, path)
    return path


def load_record(name, dataset="fer2013", results_directory=None):
    """Return the recorded run of experiment ``name`` on ``dataset``, or ``None`` if none exists yet.

    Lessons show it beside the paper's number and the run just made.
    """
    path = _results_directory(results_directory) / record_file_name(name, dataset)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def hardware():
    """A short description of where a run happened: processor, core count, GPUs."""
    from ferkit.train import gpu_names

    return {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpu_cores": os.cpu_count(), "gpus": gpu_names()}


def versions():
    """Versions of the libraries a record depends on."""
    import keras
    import sklearn

    import ferkit
    from ferkit.pipeline import tf

    backend = keras.backend.backend()
    backend_version = tf.__version__ if backend == "tensorflow" else __import__(backend).__version__
    return {"python": platform.python_version(), "keras": keras.__version__, "keras_backend": backend,
            backend: backend_version, "numpy": np.__version__, "scikit-learn": sklearn.__version__,
            "ferkit": ferkit.__version__}


def git_commit():
    """The checkout's commit (with ``+dirty`` when files changed), or ``None`` outside git.

    A copy of the checkout whose ``.git`` is absent or stale (e.g. sent to a GPU machine)
    names its commit in the ``FERKIT_GIT_COMMIT`` environment variable, which wins.
    """
    root = Path(__file__).resolve().parent.parent
    if os.environ.get("FERKIT_GIT_COMMIT"):
        return os.environ["FERKIT_GIT_COMMIT"] + " (from FERKIT_GIT_COMMIT)"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def _check(argument, value, choices):
    if value not in choices:
        raise ValueError(f"{argument}: expected one of {list(choices)}, found {value!r}.")


def main(arguments=None):
    """Command line: ``list`` the experiments or ``run`` one."""
    parser = argparse.ArgumentParser(prog="python -m ferkit.experiments", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="list the experiments and their settings")
    # What run and evaluate both take: the experiment, its data and protocol, the run's settings.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("name")
    common.add_argument("--data", dest="data_path", default=None,
                        help="the dataset's CSV or folder (default: $FERKIT_DATA/fer2013 or $FERKIT_DATA/rafdb)")
    common.add_argument("--protocol", choices=PROTOCOLS, default=None)
    common.add_argument("--epochs", type=int, default=None)
    common.add_argument("--batch-size", type=int, default=None)
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--results", dest="results_directory", default=None)
    runner = commands.add_parser("run", parents=[common], help="run one experiment and write its record")
    runner.add_argument("--dataset", choices=DATASETS, default="sample")
    runner.add_argument("--max-train-images", type=int, default=None)
    runner.add_argument("--precision", default="float32",
                        choices=("float32", "mixed_float16", "mixed_bfloat16", "auto"),
                        help="dtype policy the model is built under (auto: mixed_float16 on a GPU)")
    runner.add_argument("--checkpoint-dir", default=None, help="keep best.keras and history.csv here")
    runner.add_argument("--verbose", type=int, choices=(0, 1, 2), default=None,
                        help="Keras progress output: 0 silent, 1 progress bar, 2 one line per epoch")
    evaluator = commands.add_parser(
        "evaluate", parents=[common],
        help="write the record of a run that stopped early, from its best.keras and history.csv",
        description="Write the record of a run that stopped early, from its best.keras and history.csv. "
                    "--epochs, --batch-size and --seed must be the ones the run was started with.")
    evaluator.add_argument("--checkpoint", required=True, help="the run's best.keras")
    evaluator.add_argument("--history", dest="history_csv", required=True, help="the run's history.csv")
    evaluator.add_argument("--dataset", choices=DATASETS, default="fer2013")
    evaluator.add_argument("--note", default=None, help="why the run stopped, where it ran")
    options = parser.parse_args(arguments)
    command = "python -m ferkit.experiments " + " ".join(shlex.quote(a) for a in (arguments or sys.argv[1:]))
    if options.command == "evaluate":
        settings = {key: value for key, value in vars(options).items() if key != "command"}
        settings["command"] = command
        record = evaluate_checkpoint(**settings)
        print(f"{record['experiment']} on {record['dataset']} ({record['protocol']}, interrupted run): accuracy "
              f"{record['accuracy']:.4f} on {record['reported_split']}, best epoch {record['best_epoch']} of "
              f"{record['epochs_run']} run")
        return 0
    if options.command == "list":
        for name, experiment in experiments().items():
            print(f"{name:24s} {experiment.epochs:3d} epochs  batch {experiment.batch_size:3d}  "
                  f"{experiment.optimizer:8s} lr {experiment.learning_rate:g}  [{experiment.settings_source}]")
        return 0
    settings = {key: value for key, value in vars(options).items() if key not in ("command",)}
    settings["verbose"] = "auto" if options.verbose is None else options.verbose
    record = run(**settings, command=command)
    print(f"{record['experiment']} on {record['dataset']} ({record['protocol']}): accuracy "
          f"{record['accuracy']:.4f} on {record['reported_split']}, selected on {record['selection_split']}, "
          f"{record['epochs_run']} epochs in {record['training_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
