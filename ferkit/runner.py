"""Running the named experiments and keeping their JSON records.

One command runs a paper's model with its settings (:mod:`ferkit.experiments`) on a named
dataset (:data:`ferkit.data.DATASETS`) under a named protocol
(:data:`ferkit.data.PROTOCOLS`) and writes a record of everything it measured::

    python -m ferkit.experiments list
    python -m ferkit.experiments run bedi_cnn --dataset fer2013
    python -m ferkit.experiments run fer_kd --dataset sample --epochs 2

Where records live:

* **shipped records** come with the package (``ferkit/records/*.json``, read through
  ``importlib.resources``), so a ``pip install`` on Colab sees the same recorded runs as a
  checkout;
* **your records**: a run writes to ``$FERKIT_RESULTS`` or, by default, ``results/`` in
  the working directory, never into the installed package. :func:`load_record` looks
  there first, then among the shipped records, and says which one it found.

Introduced in lesson 04_compact_cnn.
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
from importlib import resources
from pathlib import Path

import numpy as np

from ferkit import data
from ferkit.experiments import experiment_named, experiments

SHIPPED_RECORDS = "records"
"""The package folder (``ferkit/records``) holding the records that ship with ferkit."""


def results_folder(folder=None):
    """Where a run writes its record: ``folder``, else ``$FERKIT_RESULTS``, else ``./results``."""
    if folder is not None:
        return Path(folder)
    configured = os.environ.get("FERKIT_RESULTS")
    return Path(configured).expanduser() if configured else Path.cwd() / "results"


def run(name, dataset="sample", data_path=None, protocol=None, epochs=None, batch_size=None, seed=0,
        results_directory=None, max_train_images=None, verbose="auto", command=None, precision="float32",
        checkpoint_dir=None):
    """Run experiment ``name`` and write its record; return the record (a dict).

    ``dataset`` is a key of :data:`ferkit.data.DATASETS` (real data is read from
    ``data_path`` or ``$FERKIT_DATA``); ``protocol`` a key of :data:`ferkit.data.PROTOCOLS`,
    by default :func:`ferkit.data.default_protocol`.
    ``epochs``/``batch_size`` override the experiment's (the record keeps both).
    ``max_train_images`` trims the training split to a seeded, stratified subset for
    quick checks. ``precision`` is a policy for :func:`ferkit.train.set_precision`
    (``"float32"``, ``"mixed_float16"``, ``"mixed_bfloat16"`` or ``"auto"``).
    ``checkpoint_dir`` keeps the selected model (``best.keras``) and ``history.csv``
    there; by default they go to a temporary folder. The record goes to
    :func:`results_folder`.
    """
    import keras

    from ferkit import augment as augment_module
    from ferkit import models, train

    experiment = experiment_named(name)
    protocol = protocol or data.default_protocol(dataset)
    epochs = epochs or experiment.epochs
    batch_size = batch_size or experiment.batch_size
    keras.utils.set_random_seed(seed)
    with train.precision(precision) as policy:  # first: missing ImageNet weights stop the run before the data loads
        model = getattr(models, experiment.builder)(input_shape=experiment.input_shape,
                                                    **experiment.builder_arguments)
    parts, split_names = data.split_for_protocol(dataset, protocol, data_path, seed, max_train_images)
    augmentation = getattr(augment_module, experiment.augment)(seed=seed) if experiment.augment else None

    steps_per_epoch = -(-len(parts["train"][1]) // batch_size)
    started = time.perf_counter()
    # uint8 batches from memory; scaling, resizing and augmentation run inside the compiled step.
    history, best_path = train.fit(
        model, parts["train"], parts["selection"], epochs=epochs, batch_size=batch_size, augment=augmentation,
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
    write_record(record, results_folder(results_directory) / record_file_name(name, dataset, protocol))
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
    protocol = protocol or data.default_protocol(dataset)
    history = pd.read_csv(history_csv)
    missing = {"loss", "val_loss"} - set(history.columns)
    if missing:
        raise ValueError(f"{history_csv}: expected the columns of a Keras CSVLogger, missing {sorted(missing)}")
    parts, split_names = data.split_for_protocol(dataset, protocol, data_path, seed)
    model = keras.models.load_model(checkpoint, safe_mode=True, compile=False)
    record = _record(
        experiment, dataset, protocol, parts, split_names, model,
        {key: history[key].tolist() for key in history.columns if key != "epoch"},
        epochs or experiment.epochs, batch_size or experiment.batch_size, seed, model.dtype_policy.name,
        None, command or f"python -m ferkit.experiments evaluate {shlex.quote(name)} --checkpoint {checkpoint} "
                         f"--history {history_csv} --dataset {dataset}",
    )
    record.update(interrupted=True, note=note)
    write_record(record, results_folder(results_directory) / record_file_name(name, dataset, protocol))
    return record




def record_file_name(name, dataset, protocol=None):
    """The file name of a record: ``<experiment>-<dataset>.json`` under the dataset's default
    protocol, ``<experiment>-<dataset>-<protocol>.json`` under another (e.g. a paper's own)."""
    protocol = protocol or data.default_protocol(dataset)
    for argument, value in (("name", name), ("dataset", dataset), ("protocol", protocol)):
        if not str(value).isidentifier():
            raise ValueError(f"{argument}: expected an identifier (letters, digits, _), found {value!r}.")
    if protocol == data.default_protocol(dataset):
        return f"{name}-{dataset}.json"
    return f"{name}-{dataset}-{protocol}.json"


def write_record(record, path):
    """Write ``record`` as JSON atomically (a temporary file, then a rename): never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(temporary, path)
    return path


def shipped_record_names():
    """The file names of the records that ship with ferkit (``ferkit/records/*.json``)."""
    folder = resources.files("ferkit").joinpath(SHIPPED_RECORDS)
    return sorted(item.name for item in folder.iterdir() if item.name.endswith(".json"))


def load_record(name, dataset="fer2013", results_directory=None, protocol=None):
    """Return the recorded run of experiment ``name`` on ``dataset``, or ``None`` if there is none.

    ``protocol`` defaults to the dataset's (:func:`ferkit.data.default_protocol`); a run under
    a paper's own protocol has a record of its own.

    With ``results_directory`` only that folder is read. Otherwise your records
    (:func:`results_folder`) come first, then those shipped with ferkit. The returned dict
    has one key more than the file: ``"location"``, the file it was read from (or
    ``"shipped with ferkit: <file>"``). Lessons show it beside the paper's number and the run
    just made.
    """
    file_name = record_file_name(name, dataset, protocol)
    yours = results_folder(results_directory) / file_name
    if yours.is_file():
        return {**json.loads(yours.read_text()), "location": str(yours)}
    if results_directory is None:
        shipped = resources.files("ferkit").joinpath(SHIPPED_RECORDS, file_name)
        if shipped.is_file():
            return {**json.loads(shipped.read_text()), "location": f"shipped with ferkit: {file_name}"}
    return None


def load_records(names, dataset="fer2013", results_directory=None, protocol=None):
    """``{name: record}`` for those of ``names`` that have a record on ``dataset`` (see :func:`load_record`).

    Lessons list the missing names themselves: ``[n for n in names if n not in records]``.
    """
    found = {name: load_record(name, dataset, results_directory, protocol) for name in names}
    return {name: record for name, record in found.items() if record is not None}


def settings_changed(record):
    """What the experiment does differently today from what ``record``'s run did.

    Returns ``{setting: (recorded value, value today)}`` for the optimiser, learning rate,
    weight decay, epochs, batch size, augmentation, input shape, early stopping and
    builder arguments; empty when the record was made with today's settings. A lesson
    labels a record whose settings changed as made with its own settings until it is rerun.
    """
    experiment = experiment_named(record["experiment"])
    recorded = dict(record["settings"], epochs=record["epochs_requested"])
    today = {"optimizer": experiment.optimizer, "learning_rate": experiment.learning_rate,
             "weight_decay": experiment.weight_decay, "epochs": experiment.epochs,
             "batch_size": experiment.batch_size, "augment": experiment.augment,
             "input_shape": list(experiment.input_shape),
             "early_stopping_patience": experiment.early_stopping_patience,
             "builder_arguments": experiment.builder_arguments}
    return {setting: (recorded.get(setting), value) for setting, value in today.items()
            if recorded.get(setting) != value}


def record_row(record, model=None):
    """One row for :func:`ferkit.evaluate.compare` from a record: where its numbers come from.

    Returns ``{"model", "dataset", "split", "source", "reference", "accuracy", "macro f1"}``:
    the dataset's title, the reported split, :data:`ferkit.evaluate.SOURCE_RECORDED`, the
    command that made the record, and its accuracy and macro F1 on the reported split.
    ``model`` overrides the row's model name (default: the experiment's).
    """
    from ferkit import evaluate

    report = record["classification_report"]
    macro = next((row for key, row in report.items() if key.lower().startswith("macro")), {})
    return {
        "model": model or record["experiment"],
        "dataset": data.dataset_title(record["dataset"]),
        "split": record["reported_split"],
        "source": evaluate.SOURCE_RECORDED,
        "reference": record["command"],
        "accuracy": record["accuracy"],
        "macro f1": macro.get("F1-score"),
    }


def _optimizer(experiment, epochs, steps_per_epoch):
    """The optimiser name, or an optimiser object when the experiment decays its learning rate."""
    import keras

    if not experiment.cosine_schedule:
        return experiment.optimizer
    schedule = keras.optimizers.schedules.CosineDecay(experiment.learning_rate, epochs * steps_per_epoch)
    if experiment.optimizer != "adamw":
        raise ValueError(f"cosine_schedule is wired for AdamW only, found {experiment.optimizer!r}.")
    return keras.optimizers.AdamW(learning_rate=schedule, weight_decay=experiment.weight_decay or 0.0)


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
        # Matijasevic reports this figure: the selection split's accuracy after the last epoch.
        "last_epoch_selection_accuracy": (float(history["val_accuracy"][-1])
                                          if history.get("val_accuracy") else None),
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
    common.add_argument("--protocol", choices=tuple(data.PROTOCOLS), default=None)
    common.add_argument("--epochs", type=int, default=None)
    common.add_argument("--batch-size", type=int, default=None)
    common.add_argument("--seed", type=int, default=0)
    common.add_argument("--results", dest="results_directory", default=None)
    runner = commands.add_parser("run", parents=[common], help="run one experiment and write its record")
    runner.add_argument("--dataset", choices=tuple(data.DATASETS), default="sample")
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
    evaluator.add_argument("--dataset", choices=tuple(data.DATASETS), default="fer2013")
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
    from ferkit.models import WeightsUnavailableError

    try:
        record = run(**settings, command=command)
    except WeightsUnavailableError as error:  # offline, or an optional package missing: say so, no traceback
        print(f"{options.name}: {error}", file=sys.stderr)
        return 1
    print(f"{record['experiment']} on {record['dataset']} ({record['protocol']}): accuracy "
          f"{record['accuracy']:.4f} on {record['reported_split']}, selected on {record['selection_split']}, "
          f"{record['epochs_run']} epochs in {record['training_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
