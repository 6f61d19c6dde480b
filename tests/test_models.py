"""Tests for ferkit.models: exact parameter counts, shapes, inputs, freezing, offline weights."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import functools

import keras
import numpy as np
import pandas as pd
import pytest

from ferkit import models, papers

# (builder, kwargs) -> (total, trainable, non_trainable), as Keras counts them.
# Keras keeps batch-norm moving mean and variance as non-trainable weights
# (2 per channel); a PyTorch paper's figure therefore equals our *trainable* count.
EXPECTED_COUNTS = {
    # 6*26 + 16*151 + 1296*120+120 + 120*84+84 + 84*7+7
    "lenet5": (("lenet5", {}), (168_971, 168_971, 0)),
    "mondal_shallow": (("mondal_shallow", {}), (2_345_607, 2_345_607, 0)),
    "mondal_dropout": (("mondal_dropout", {}), (2_345_607, 2_345_607, 0)),
    # Mondal states both: 20,552,775 total, 20,543,559 trainable; 9,216 = 2 * 4,608 BN channels.
    "mondal_deep": (("mondal_deep", {}), (20_552_775, 20_543_559, 9_216)),
    "bedi_cnn": (("bedi_cnn", {}), (619_015, 619_015, 0)),
    # Barbagallo's 10,479,111 (PyTorch counting) = Keras trainable; 6,016 = 2 * 3,008 BN channels.
    "fer_kd": (("fer_kd", {}), (10_485_127, 10_479_111, 6_016)),
    "fer_kd_global_pool": (("fer_kd", {"head": "global_pool"}), (7_339_399, 7_333_383, 6_016)),
    "vgg16": (("vgg16", {"weights": None}), (33_625_927, 33_625_927, 0)),
    "vgg19": (("vgg19", {"weights": None}), (45_227_079, 45_227_079, 0)),
    "vgg19_global_pool": (("vgg19", {"weights": None, "head": "global_pool"}), (38_935_623, 38_935_623, 0)),
    "resnet50": (("resnet50", {"weights": None}), (23_602_055, 23_548_935, 53_120)),
    # torchvision's resnet18 with a 7-way fc: 11,180,103; 9,600 = 2 * 4,800 BN channels.
    "resnet18": (("resnet18", {}), (11_189_703, 11_180_103, 9_600)),
    # 42,023 = 42,016 BN statistics + 7 in EfficientNet's Normalization layer.
    "efficientnet_b0": (("efficientnet_b0", {"weights": None}), (4_058_538, 4_016_515, 42_023)),
}

SMALL_MODELS = ("lenet5", "mondal_shallow", "mondal_dropout", "mondal_deep", "bedi_cnn", "fer_kd")
TRANSFER_MODELS = ("vgg16", "vgg19", "resnet50", "resnet18", "efficientnet_b0")


@functools.cache
def built(key):
    """Build each configuration of EXPECTED_COUNTS once for the whole module."""
    (builder, kwargs), _ = EXPECTED_COUNTS[key]
    return models.BUILDERS[builder](**kwargs)


def random_images(model, batch=2, seed=0):
    shape = (batch, *model.input_shape[1:])
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


@pytest.mark.parametrize("key", list(EXPECTED_COUNTS))
def test_parameter_counts_are_exact(key):
    total, trainable, non_trainable = EXPECTED_COUNTS[key][1]
    counts = models.count_parameters(built(key))
    assert counts == {"total": total, "trainable": trainable, "non_trainable": non_trainable}
    assert built(key).count_params() == total


@pytest.mark.parametrize("key", list(EXPECTED_COUNTS))
def test_output_is_a_softmax_over_seven_classes(key):
    model = built(key)
    probabilities = np.asarray(model(random_images(model), training=False))
    assert probabilities.shape == (2, 7)
    assert probabilities.dtype == np.float32
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_every_builder_returns_an_uncompiled_named_model():
    for name in SMALL_MODELS + TRANSFER_MODELS:
        model = built(name)
        assert isinstance(model, keras.Model)
        assert model.name == name
        assert not model.compiled
        assert model.layers[-1].activation is keras.activations.softmax


def test_summary_table_puts_every_paper_figure_beside_a_matching_count():
    stated = papers.parameter_counts()
    keys = [key for key in EXPECTED_COUNTS if key in stated]
    assert set(keys) == set(stated)
    table = models.summary_table([built(key) for key in keys])
    assert list(table.columns[:6]) == ["name", "total", "trainable", "non_trainable", "paper", "paper_source"]
    assert table["matches"].tolist() == [True] * len(keys)
    fer_kd = table.set_index("name").loc["fer_kd"]
    assert fer_kd["paper"] == fer_kd["trainable"] == 10_479_111  # PyTorch counting
    assert fer_kd["total"] == 10_479_111 + 6_016
    assert table.set_index("name").loc["mondal_shallow", "paper_source"] == "Mondal, Figure 6"
    assert table.set_index("name").loc["vgg19", "paper_source"] == "Qutub & Atay, Table 10"
    # Only the flatten head at 64x64 reaches Qutub & Atay's 45,227,079; the pooled head of their text does not.
    pooled = models.summary_table({"vgg19, pooled": built("vgg19_global_pool")})
    assert pd.isna(pooled.loc[0, "paper"]) and pooled.loc[0, "matches"] is None  # another name: no figure
    assert built("vgg19_global_pool").count_params() != papers.parameter_count("vgg19").value


def test_summary_table_labels_and_mismatches():
    rgb_shallow = models.mondal_shallow(input_shape=(48, 48, 3))
    table = models.summary_table({"shallow, RGB": rgb_shallow, "LeNet": built("lenet5")})
    assert table["name"].tolist() == ["shallow, RGB", "LeNet"]
    # An RGB first conv has 2 * 9 * 32 more weights, so the paper's figure no longer matches.
    assert table.loc[0, "total"] == 2_345_607 + 2 * 9 * 32
    assert table.loc[0, "matches"] is not None and not table.loc[0, "matches"]
    assert table.loc[1, "matches"] is None and table["paper"].isna()[1]


@pytest.mark.parametrize("name", TRANSFER_MODELS)
def test_transfer_models_take_grayscale_and_rgb_with_the_same_count(name):
    (builder, kwargs), (total, trainable, _) = EXPECTED_COUNTS[name]
    height, width, channels = built(name).input_shape[1:]
    other = 3 if channels == 1 else 1
    model = models.BUILDERS[builder](input_shape=(height, width, other), **kwargs)
    assert model.input_shape == (None, height, width, other)
    assert models.count_parameters(model)["trainable"] == trainable
    assert model.count_params() == total


def test_grayscale_input_equals_the_rgb_model_on_repeated_channels():
    gray = models.resnet18(input_shape=(32, 32, 1))
    rgb = models.resnet18(input_shape=(32, 32, 3))
    rgb.set_weights(gray.get_weights())
    images = np.random.default_rng(1).random((3, 32, 32, 1), dtype=np.float32)
    np.testing.assert_allclose(
        np.asarray(gray(images)), np.asarray(rgb(np.repeat(images, 3, axis=-1))), rtol=1e-5, atol=1e-6
    )


def test_small_models_accept_rgb_input():
    model = models.bedi_cnn(input_shape=(48, 48, 3))
    assert model.count_params() == 619_015 + 2 * 9 * 32
    assert model(random_images(model)).shape == (2, 7)


def test_imagenet_preprocessing_matches_keras_preprocess_input():
    rgb = np.random.default_rng(2).random((2, 8, 8, 3), dtype=np.float32)
    caffe = models.ImageNetPreprocessing("caffe")(rgb)
    expected = keras.applications.vgg16.preprocess_input(rgb * 255.0)
    np.testing.assert_allclose(np.asarray(caffe), expected, rtol=1e-5, atol=1e-3)
    torch = models.ImageNetPreprocessing("torch")(rgb)
    expected = keras.applications.imagenet_utils.preprocess_input(rgb * 255.0, mode="torch")
    np.testing.assert_allclose(np.asarray(torch), expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="mode"):
        models.ImageNetPreprocessing("tf")


# (builder kwargs that build fast, trainable count of the head alone)
FROZEN_HEADS = {
    "vgg16": ({"weights": None}, 512 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 7 + 7),
    "vgg19": ({"weights": None}, 2048 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 7 + 7),
    "resnet50": ({"weights": None, "input_shape": (32, 32, 3)}, 2048 * 7 + 7),
    "resnet18": ({"input_shape": (32, 32, 1)}, 512 * 7 + 7),
    "efficientnet_b0": ({"weights": None, "input_shape": (32, 32, 1)}, 1280 * 7 + 7),
}


@pytest.mark.parametrize("name", TRANSFER_MODELS)
def test_freeze_leaves_only_the_head_trainable(name):
    kwargs, head = FROZEN_HEADS[name]
    model = models.BUILDERS[name](freeze=True, **kwargs)
    trainable_layers = {layer.name for layer in model.layers if layer.trainable_weights}
    assert all(layer_name.startswith(("head_", "predictions", "fc")) for layer_name in trainable_layers)
    counts = models.count_parameters(model)
    assert counts["trainable"] == head
    assert counts["total"] == EXPECTED_COUNTS[name][1][0]
    # Fine-tuning (the default) trains the backbone too.
    assert models.count_parameters(built(name))["trainable"] > head


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No cached weights and no network: keras.utils.get_file always fails."""
    calls = []

    def failing_get_file(fname=None, origin=None, **kwargs):
        calls.append((fname, origin, kwargs.get("cache_subdir")))
        raise OSError("network is unreachable (simulated by the test)")

    def never_build(*args, **kwargs):
        raise AssertionError("the backbone must not be built when its weights are unavailable")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.utils, "get_file", failing_get_file)
    for application in ("VGG16", "VGG19", "ResNet50", "EfficientNetB0"):
        monkeypatch.setattr(keras.applications, application, never_build)
    return calls, tmp_path


KERAS_BACKBONES = {"vgg16": "vgg16", "vgg19": "vgg19", "resnet50": "resnet50", "efficientnet_b0": "efficientnetb0"}


@pytest.mark.parametrize("name", list(KERAS_BACKBONES))
def test_imagenet_weights_offline_raise_a_helpful_error(name, offline):
    calls, keras_home = offline
    with pytest.raises(models.WeightsUnavailableError) as caught:
        models.BUILDERS[name](weights="imagenet")
    assert isinstance(caught.value, RuntimeError)
    message = str(caught.value)
    file_name, url, _ = models.IMAGENET_WEIGHT_FILES[KERAS_BACKBONES[name]]
    assert calls == [(file_name, url, "models")]
    assert os.path.join(str(keras_home), "models", file_name) in message
    assert "Colab" in message and "weights=None" in message
    assert "network is unreachable" in message


def test_resnet18_imagenet_weights_come_from_kerashub_not_keras_applications(monkeypatch):
    """Keras Applications has no ResNet18: the ImageNet path is KerasHub's preset, an optional extra."""
    monkeypatch.setitem(__import__("sys").modules, "keras_hub", None)  # as if the extra were not installed
    with pytest.raises(models.WeightsUnavailableError, match="KerasHub") as caught:
        models.resnet18(weights="imagenet")
    assert models.RESNET18_IMAGENET_PRESET in str(caught.value) and "weights=None" in str(caught.value)
    with pytest.raises(ValueError, match="weights"):
        models.resnet18(weights="imagenet21k")


def test_invalid_arguments_are_rejected_with_clear_messages():
    with pytest.raises(ValueError, match="weights"):
        models.vgg16(weights="imagenet21k")
    with pytest.raises(ValueError, match="remove_convs"):
        models.fer_kd(remove_convs=5)
    with pytest.raises(ValueError, match="head"):
        models.fer_kd(head="attention")
    with pytest.raises(ValueError, match="input_shape"):
        models.bedi_cnn(input_shape=(48, 48))
    with pytest.raises(ValueError, match="channels"):
        models.resnet18(input_shape=(32, 32, 2))
    with pytest.raises(ValueError, match="num_classes"):
        models.lenet5(num_classes=1)


def test_fer_kd_ablation_variants_build_with_the_expected_sizes():
    variants = {row: models.fer_kd(**kwargs) for row, kwargs in models.FER_KD_ABLATION_VARIANTS.items()}
    assert list(variants) == ["+1 FC +1 conv", "+1 conv", "+1 FC", "base", "-1 conv", "-2 conv", "-3 conv", "-4 conv"]
    assert len({model.name for model in variants.values()}) == len(variants)
    assert variants["base"].name == "fer_kd"
    trainable = [models.count_parameters(model)["trainable"] for model in variants.values()]
    assert trainable == sorted(trainable, reverse=True) and len(set(trainable)) == len(trainable)
    assert trainable[3] == 10_479_111
    # "+1 conv": one more conv 1024 (3x3, bias) and its BN gamma/beta.
    assert trainable[1] - trainable[3] == 9 * 1024 * 1024 + 1024 + 2 * 1024
    # "+1 FC": one more FC 1024 and its BN gamma/beta.
    assert trainable[2] - trainable[3] == 1024 * 1024 + 1024 + 2 * 1024
    # "-4 conv": conv 64 (+BN) -> pool to 2x2 -> 256 features -> FC 1024 (+BN) -> FC 7.
    assert trainable[7] == (27 * 64 + 64 + 128) + (256 * 1024 + 1024 + 2048) + (1024 * 7 + 7)
    assert variants["-4 conv"].get_layer("flatten").output.shape == (None, 256)
    for model in variants.values():
        assert model.output_shape == (None, 7)


def test_resnet18_follows_torchvisions_layout():
    backbone = built("resnet18").get_layer("resnet18_backbone")
    # 96x96: conv1 /2 -> 48, maxpool /2 -> 24, then 24, 12, 6, 3 per stage.
    expected = {"relu": 48, "maxpool": 24, "layer1_1_relu2": 24, "layer2_1_relu2": 12,
                "layer3_1_relu2": 6, "layer4_1_relu2": 3}
    for layer_name, size in expected.items():
        assert backbone.get_layer(layer_name).output.shape[1:3] == (size, size)
    convs = [layer for layer in backbone.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 1 + 4 * 4 + 3  # stem, 16 block convs, 3 downsample projections
    assert not any(conv.use_bias for conv in convs)
    assert [layer.name for layer in backbone.layers if "downsample_0" in layer.name and "pad" not in layer.name] == [
        "layer2_0_downsample_0", "layer3_0_downsample_0", "layer4_0_downsample_0"]


def test_transfer_model_saves_and_loads_in_safe_mode(tmp_path):
    model = models.resnet18(input_shape=(32, 32, 1))
    path = tmp_path / "resnet18.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    images = np.random.default_rng(3).random((2, 32, 32, 1), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(loaded(images)), np.asarray(model(images)), rtol=1e-5)
    assert isinstance(loaded.get_layer("imagenet_preprocessing"), models.ImageNetPreprocessing)


def test_stated_settings_name_built_models_and_real_keras_optimizers():
    optimizers = {}
    for name in models.BUILDERS:
        try:
            settings = papers.stated_settings(name, paper="qutub_atay" if name in ("vgg16", "vgg19") else None)
        except ValueError:  # no paper trains it (lenet5, reference_cnn)
            continue
        if "optimizer" in settings:
            optimizer = keras.optimizers.get(settings["optimizer"].value)
            assert isinstance(optimizer, keras.optimizers.Optimizer)
            optimizers[name] = type(optimizer).__name__
    assert optimizers == {"mondal_shallow": "Adam", "mondal_dropout": "Adam", "mondal_deep": "Adam",
                          "bedi_cnn": "Adagrad", "fer_kd": "Adam"}
    # The builders' dense widths are the papers' where the papers state them.
    for name in ("mondal_shallow", "mondal_deep", "bedi_cnn"):
        widths = [layer.units for layer in built(name).layers if isinstance(layer, keras.layers.Dense)][:-1]
        assert tuple(widths) == papers.stated_setting(name, "dense_widths").value


@pytest.fixture(scope="module")
def sample_batch():
    try:
        from ferkit.data import load_sample
    except ImportError:  # ferkit.data not there yet: random faces of the same shape
        rng = np.random.default_rng(4)
        return rng.integers(0, 256, (8, 48, 48, 1), dtype=np.uint8), rng.integers(0, 7, 8)
    images, labels = load_sample("train")
    # A small batch: one step of mondal_deep on 32 faces takes tens of seconds on 2 shared cores.
    return images[:8], labels[:8]


@pytest.mark.parametrize("name", SMALL_MODELS)
def test_small_models_take_one_training_step_on_the_sample(name, sample_batch):
    images, labels = sample_batch
    model = models.BUILDERS[name]()
    x = images.astype("float32") / 255.0
    if model.input_shape[-1] == 3:
        x = np.repeat(x, 3, axis=-1)
    # No XLA: compiling the step would cost more than the step itself on a CPU.
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy", jit_compile=False)
    before = [weight.copy() for weight in model.get_weights()]
    loss = model.train_on_batch(x, labels)
    assert np.isfinite(loss)
    changed = [not np.array_equal(old, new) for old, new in zip(before, model.get_weights())]
    assert any(changed)


def test_reference_cnn_counts_and_output():
    model = models.reference_cnn()
    assert models.count_parameters(model) == {"total": 1_757_863, "trainable": 1_755_495, "non_trainable": 2_368}
    probabilities = model(np.random.default_rng(0).random((2, 48, 48, 1), dtype=np.float32), training=False)
    np.testing.assert_allclose(np.asarray(probabilities).sum(axis=1), 1.0, rtol=1e-5)
    assert models.BUILDERS["reference_cnn"] is models.reference_cnn


@pytest.mark.parametrize("size", [48, 49])
def test_fer_kd_pools_to_two_by_two_like_pytorch_adaptive_max_pool(size):
    """Even map sides take the fast MaxPooling2D; odd ones the adaptive layer; both give 2x2."""
    model = models.fer_kd(input_shape=(size, size, 3), remove_convs=4)
    pool = model.get_layer("adaptive_max_pool")
    assert tuple(pool.output.shape[1:3]) == (2, 2)
    feature_map = np.random.default_rng(0).random((2, size, size, 64), dtype=np.float32)
    expected = keras.layers.AdaptiveMaxPooling2D((2, 2))(feature_map)
    np.testing.assert_allclose(pool(feature_map), expected)
