"""Tests for transfer learning: a source network on a new dataset, freezing, fine-tuning,
the papers' counts, ImageNet weights offline, and the papers' transfer experiments."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import functools
import sys
import types

import keras
import numpy as np
import pytest

from ferkit import augment, data, experiments, models, papers, pretrained, runner, train


@functools.cache
def rafdb_sample_batch(count=64):
    """A stratified handful of the RAF-DB-style sample (colour, 100x100)."""
    images, labels = data.load("rafdb_sample", "train")
    return data.stratified_subset(images, labels, count, seed=0)


def backbone_weights(model):
    return {weight.path: weight.numpy().copy() for weight in models.backbone_of(model).weights}


def changed_weights(before, model):
    now = {weight.path: weight.numpy() for weight in models.backbone_of(model).weights}
    return {path for path, value in before.items() if not np.array_equal(value, now[path])}


# ---------------------------------------------------------------------------
# A source network's convolutional base on a new dataset
# ---------------------------------------------------------------------------

def test_transfer_from_adapts_colour_faces_to_the_grey_source_and_copies_its_base():
    source = pretrained.load()
    model = models.transfer_from(source, input_shape=(100, 100, 3))
    assert model.input_shape == (None, 100, 100, 3) and model.output_shape == (None, 7)
    assert [layer.name for layer in model.layers] == [
        "image", "colour_to_grey", "resize", "resize_average", "reference_cnn_base",
        "head_flatten", "head_dropout", "predictions"]
    assert model.get_layer("resize_average").output.shape[1:] == (48, 48, 1)
    base = models.backbone_of(model)
    assert base.layers[-1].name == "block4_pool"  # the layer before the source's flatten
    for layer in base.layers:
        if layer.weights:
            original = source.get_layer(layer.name)
            assert layer is not original  # a copy: training it leaves the shipped model alone
            for copied, weight in zip(layer.weights, original.weights):
                np.testing.assert_array_equal(copied.numpy(), weight.numpy())
    scratch = models.transfer_from(source, weights=None)
    assert scratch.name == "reference_cnn_scratch" and model.name == "reference_cnn_transfer"
    assert models.count_parameters(scratch)["total"] == models.count_parameters(model)["total"]
    kernel = scratch.get_layer("reference_cnn_base").get_layer("block1_conv1").kernel.numpy()
    assert not np.array_equal(kernel, source.get_layer("block1_conv1").kernel.numpy())


def test_the_colour_to_grey_layer_matches_the_pipeline_and_the_model_reloads(tmp_path):
    from ferkit import pipeline

    model = models.transfer_from(pretrained.load())
    images, _ = rafdb_sample_batch()
    floats = images[:4].astype("float32") / 255.0
    grey = keras.ops.convert_to_numpy(model.get_layer("colour_to_grey")(floats))
    np.testing.assert_allclose(grey, floats @ pipeline.GRAY_WEIGHTS[:, None], rtol=1e-5, atol=1e-6)
    path = tmp_path / "transfer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(floats, verbose=0), model.predict(floats, verbose=0), rtol=1e-5)


def test_a_grey_target_of_the_source_s_size_needs_no_adaptation_layer():
    model = models.transfer_from(pretrained.load(), input_shape=(48, 48, 1))
    assert [layer.name for layer in model.layers][:2] == ["image", "reference_cnn_base"]


def test_transfer_from_rejects_what_it_cannot_build():
    source = pretrained.load()
    with pytest.raises(ValueError, match="weights"):
        models.transfer_from(source, weights="imagenet")
    with pytest.raises(ValueError, match="last_layer: model 'reference_cnn' has no layer 'block9_pool'"):
        models.transfer_from(source, last_layer="block9_pool")
    inputs = keras.Input((8, 8, 1))
    convolutional_only = keras.Model(inputs, keras.layers.Conv2D(2, 3)(inputs), name="tiny")
    with pytest.raises(ValueError, match="no flatten or global pooling layer"):
        models.transfer_from(convolutional_only)
    with pytest.raises(ValueError, match="source: expected a Keras model"):
        models.transfer_from("reference_model.keras")
    with pytest.raises(ValueError, match="expected one nested backbone"):
        models.backbone_of(models.bedi_cnn())


# ---------------------------------------------------------------------------
# Feature extraction: the frozen backbone does not move
# ---------------------------------------------------------------------------

def test_a_frozen_backbone_keeps_every_weight_while_the_head_trains():
    images, labels = rafdb_sample_batch()
    keras.utils.set_random_seed(0)
    model = models.transfer_from(pretrained.load(), freeze=True)
    counts = models.count_parameters(model)
    assert counts["trainable"] == 3 * 3 * 256 * 7 + 7  # the new head only: flatten 3x3x256 -> 7
    before = backbone_weights(model)
    head_before = model.get_layer("predictions").kernel.numpy().copy()
    train.fit(model, (images, labels), (images, labels), epochs=1, batch_size=32, verbose=0, csv_log=False)
    assert changed_weights(before, model) == set()  # kernels, batch-norm scales and statistics alike
    assert any("moving_mean" in path for path in before)  # the statistics were among those checked
    assert not np.array_equal(head_before, model.get_layer("predictions").kernel.numpy())


def test_a_frozen_keras_backbone_runs_its_batch_norm_in_inference_mode():
    model = models.resnet18(input_shape=(32, 32, 1), freeze=True)
    before = backbone_weights(model)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", jit_compile=False)
    images = np.random.default_rng(0).random((8, 32, 32, 1), dtype=np.float32)
    model.train_on_batch(images, np.arange(8) % 7)
    assert changed_weights(before, model) == set()
    # Unfrozen, a from-scratch ResNet18 trains its batch norm with batch statistics.
    model.get_layer("resnet18_backbone").trainable = True
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy", jit_compile=False)
    model.train_on_batch(images, np.arange(8) % 7)
    assert any("moving_mean" in path for path in changed_weights(before, model))


# ---------------------------------------------------------------------------
# Fine-tuning: only the named layers open
# ---------------------------------------------------------------------------

def test_unfreeze_opens_only_the_named_block_and_keeps_batch_norm_frozen():
    images, labels = rafdb_sample_batch()
    model = models.transfer_from(pretrained.load(), freeze=True)
    assert models.blocks(model) == ["block1", "block2", "block3", "block4"]
    opened = models.unfreeze(model, models.blocks(model)[-1:])
    assert opened == ["block4_conv1", "block4_conv2"]
    trainable = {layer.name for layer in models.backbone_of(model).layers if layer.trainable and layer.weights}
    assert trainable == set(opened)
    assert models.count_parameters(model)["trainable"] == 3 * 3 * 128 * 256 + 3 * 3 * 256 * 256 + 3 * 3 * 256 * 7 + 7
    before = backbone_weights(model)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy", jit_compile=False)
    model.fit(images, labels, epochs=1, batch_size=32, verbose=0)
    assert changed_weights(before, model) == {"block4_conv1/kernel", "block4_conv2/kernel"}


def test_unfreeze_takes_layer_names_and_batch_norm_on_request():
    model = models.transfer_from(pretrained.load(), freeze=True)
    assert models.unfreeze(model, "block3_conv2") == ["block3_conv2"]
    assert models.unfreeze(model, ["block4"], batch_norm=True) == [
        "block4_conv1", "block4_bn1", "block4_conv2", "block4_bn2"]
    assert not models.backbone_of(model).get_layer("block3_conv2").trainable  # a new call starts afresh
    with pytest.raises(ValueError, match=r"names: expected block names of 'reference_cnn_base' from \['block1'"):
        models.unfreeze(model, ["block5"])


def test_blocks_name_the_papers_backbones_top_blocks():
    vgg = models.vgg16(input_shape=(32, 32, 1), weights=None)
    assert models.blocks(vgg) == ["block1", "block2", "block3", "block4", "block5"]
    assert models.unfreeze(vgg, ["block5"]) == ["block5_conv1", "block5_conv2", "block5_conv3"]
    resnet = models.resnet18(input_shape=(32, 32, 1))
    assert models.blocks(resnet)[-1] == "layer4"
    efficientnet = models.efficientnet_b0(input_shape=(32, 32, 1), weights=None)
    assert models.blocks(efficientnet)[-2:] == ["block7a", "top"]


# ---------------------------------------------------------------------------
# Qutub & Atay's Tables 10-11: the counts decide
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["efficientnet_b0", "resnet18", "vgg16", "vgg19"])
def test_the_qutub_atay_experiments_build_the_counts_of_tables_10_and_11(model):
    stated = papers.parameter_count(model)
    assert papers.reported_value(model, "parameters", paper="qutub_atay", table="Table 11") == stated.value
    for dataset in experiments.QUTUB_ATAY_DATASETS:
        experiment = experiments.experiment_named(experiments.qutub_atay_experiment_name(model, dataset))
        arguments = {**experiment.builder_arguments, "weights": None}  # the counts do not need the download
        built = getattr(models, experiment.builder)(input_shape=experiment.input_shape, **arguments)
        assert models.count_parameters(built)[stated.keras_count] == stated.value, (model, dataset)
        keras.backend.clear_session()


def test_vgg19_s_count_fits_the_flatten_head_at_64x64_not_the_text_s_pooled_head():
    stated = papers.parameter_count("vgg19").value
    assert models.vgg19(input_shape=(64, 64, 3), weights=None).count_params() == stated
    for shape in ((48, 48, 1), (100, 100, 3)):
        assert models.vgg19(input_shape=shape, weights=None, head="global_pool").count_params() != stated
    assert models.vgg19(input_shape=(100, 100, 3), weights=None).count_params() != stated  # 3x3x512 flattened
    assert papers.stated_setting("vgg19", "head", paper="qutub_atay").value == "global average pooling"
    assert experiments.experiment_named("qutub_atay_vgg19_rafdb").input_shape == (64, 64, 3)


# ---------------------------------------------------------------------------
# ImageNet weights: asked for, never a silent fallback
# ---------------------------------------------------------------------------

@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No cached weights and no network: keras.utils.get_file always fails."""
    def failing_get_file(*args, **kwargs):
        raise OSError("network is unreachable (simulated by the test)")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.utils, "get_file", failing_get_file)
    return tmp_path


@pytest.mark.parametrize("name", ["vgg16", "vgg19", "resnet50", "efficientnet_b0"])
def test_imagenet_weights_offline_is_the_clear_error(name, offline):
    with pytest.raises(models.WeightsUnavailableError, match="not in the Keras cache") as caught:
        models.imagenet_weights(name)
    assert str(offline / "models") in str(caught.value)
    with pytest.raises(ValueError, match="name: expected one of"):
        models.imagenet_weights("alexnet")


def test_resnet18_imagenet_without_kerashub_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_hub", None)  # as if not installed
    for attempt in (lambda: models.resnet18(weights="imagenet"), lambda: models.imagenet_weights("resnet18")):
        with pytest.raises(models.WeightsUnavailableError, match=r'pip install "ferkit\[resnet18\]"'):
            attempt()


def test_resnet18_imagenet_offline_with_kerashub_is_the_clear_error(monkeypatch, tmp_path):
    asked = []

    def from_preset(preset, **kwargs):
        asked.append((preset, kwargs))
        raise OSError("Kaggle Models unreachable (simulated by the test)")

    fake = types.SimpleNamespace(models=types.SimpleNamespace(ResNetBackbone=types.SimpleNamespace(
        from_preset=from_preset)))
    monkeypatch.setitem(sys.modules, "keras_hub", fake)
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path))
    with pytest.raises(models.WeightsUnavailableError, match="Kaggle Models unreachable") as caught:
        models.resnet18(input_shape=(48, 48, 1), weights="imagenet")
    assert str(tmp_path) in str(caught.value)
    assert asked == [(models.RESNET18_IMAGENET_PRESET,
                      {"image_shape": (48, 48, 3), "name": "resnet18_backbone", "dtype": "float32"})]


# ---------------------------------------------------------------------------
# The papers' recipes in the runner
# ---------------------------------------------------------------------------

def test_matijasevic_experiments_follow_the_paper_and_mark_the_rest_ours():
    for model, name in experiments.MATIJASEVIC_EXPERIMENTS.items():
        experiment = experiments.experiment_named(name)
        assert experiment.builder == model and experiment.paper == "matijasevic"
        assert experiment.dataset == "rafdb_without_disgust" and experiment.protocol == "matijasevic"
        assert experiment.builder_arguments == {"weights": "imagenet"}
        assert papers.MATIJASEVIC_AUGMENTATION["steps"] == ("horizontal_flip",)  # a flip, nothing else
        flip_only = getattr(augment, experiment.augment)(seed=0)
        assert [type(layer).__name__ for layer in flip_only.layers] == ["RandomFlip"]
        for setting in ("dataset", "protocol", "builder_arguments", "augment"):
            assert " paper (Matijasevic" in experiment.sources[setting], (name, setting)
        for setting in ("optimizer", "learning_rate", "batch_size", "epochs", "early_stopping_patience",
                        "input_shape"):
            assert " ours (" in experiment.sources[setting], (name, setting)
        stopped = papers.stated_setting(model, "epochs", paper="matijasevic").value
        assert f"after {stopped} epochs" in experiment.sources["epochs"]
    assert data.dataset("rafdb_without_disgust").excluded == papers.stated_setting(
        "resnet50", "excluded_classes", paper="matijasevic").value


def test_qutub_atay_experiments_take_their_inputs_per_dataset():
    for model in ("efficientnet_b0", "resnet18", "vgg16"):
        fer = experiments.experiment_named(experiments.qutub_atay_experiment_name(model, "fer2013"))
        raf = experiments.experiment_named(experiments.qutub_atay_experiment_name(model, "rafdb"))
        assert fer.input_shape == (48, 48, 1) and raf.input_shape == (100, 100, 3)  # grey 48x48; colour 100x100
        for experiment in (fer, raf):
            assert experiment.augment == "qutub_augment" and experiment.protocol == "qutub_atay"
            assert experiment.builder_arguments == {"weights": "imagenet"}
            assert experiment.sources["input_shape"].count(" paper (Qutub & Atay") == 2
    assert experiments.experiment_named("qutub_atay_vgg19_fer2013").input_shape == (64, 64, 1)
    with pytest.raises(ValueError, match="dataset: expected one of"):
        experiments.qutub_atay_experiment_name("vgg16", "affectnet")


def test_the_list_command_shows_the_papers_transfer_experiments(capsys):
    assert runner.main(["list"]) == 0
    listed = {line.split()[0] for line in capsys.readouterr().out.splitlines() if line.strip()}
    expected = set(experiments.MATIJASEVIC_EXPERIMENTS.values()) | {
        experiments.qutub_atay_experiment_name(model, dataset)
        for model in ("efficientnet_b0", "resnet18", "vgg16", "vgg19") for dataset in ("fer2013", "rafdb")}
    assert expected <= listed


def test_a_run_offline_stops_with_the_weights_error_before_loading_data(offline, monkeypatch, tmp_path, capsys):
    def no_data(*args, **kwargs):
        raise AssertionError("the data must not be loaded when the weights are missing")

    monkeypatch.setattr(data, "split_for_protocol", no_data)
    results = tmp_path / "results"
    assert runner.main(["run", "matijasevic_resnet50", "--dataset", "rafdb_sample", "--results", str(results)]) == 1
    message = capsys.readouterr().err
    assert message.startswith("matijasevic_resnet50: ") and "resnet50 ImageNet weights" in message
    with pytest.raises(models.WeightsUnavailableError, match="vgg19 ImageNet weights"):
        runner.run("qutub_atay_vgg19_rafdb", dataset="rafdb_sample", results_directory=results)
    assert not results.exists()


def test_the_clean_figure_and_the_paper_s_protocol_have_records_of_their_own():
    name = experiments.MATIJASEVIC_EXPERIMENTS["vgg16"]
    assert runner.record_file_name(name, "rafdb_without_disgust") == f"{name}-rafdb_without_disgust.json"
    assert runner.record_file_name(name, "rafdb_without_disgust", "matijasevic") == (
        f"{name}-rafdb_without_disgust-matijasevic.json")
    assert data.PROTOCOLS["carveout"].report["rafdb"] == "test"  # our clean figure: RAF-DB's test split, once
