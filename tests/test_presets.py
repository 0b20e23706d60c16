"""Presets: the shipped ones load, reproduce their card's held-out figure and sample; the format's checks."""

import hashlib
import json
import os

import numpy as np
import pytest

from genzoo import data, files, presets
from genzoo.errors import UserError
from genzoo.evaluation import features as feats
from genzoo.evaluation import generate, two_sample
from genzoo.models import from_preset, registry
from genzoo.training import TrainConfig, train
from tests.small_models import SMALL_HPARAMS

SHIPPED = presets.names()


def test_presets_are_shipped_within_the_size_limits():
    assert SHIPPED, "no preset in genzoo/presets"
    sizes = {name: os.path.getsize(os.path.join(presets.PRESET_DIR, f"{name}.npz")) for name in SHIPPED}
    assert max(sizes.values()) < 8 * 2**20 and sum(sizes.values()) < 40 * 2**20, sizes


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_preset_reproduces_its_heldout_figure_and_samples(name, pokemon_dir):
    card = presets.card(name)
    model = from_preset(name)
    assert model.registered_name() == card["model"]
    if card["heldout"]:
        heldout, _ = data.load(card["data"]["dataset"], "test", encoding=card["data"]["encoding"],
                               data_dir=str(pokemon_dir))
        figure = presets.heldout_figure(model, heldout)
        assert figure["num_images"] == card["data"]["num_heldout"]
        assert abs(figure["bits_per_dim"] - card["heldout"]["bits_per_dim"]) < 1e-3
        assert abs(card["heldout"]["bits_per_dim"] - card["heldout"]["float32_bits_per_dim"]) <= \
            presets.FLOAT16_TOLERANCE
    else:  # no likelihood (a GAN): the card's two-sample test, its first seed, is reproduced instead
        c2st = card["two_sample"]["c2st"]
        assert c2st["num_per_side"] == card["data"]["num_heldout"] == 80
        heldout_ds, spec = data.load(card["data"]["dataset"], "test", data_dir=str(pokemon_dir))
        heldout_rgb = data.to_rgb_uint8(feats.arrays(heldout_ds)[0], spec).numpy()
        samples_rgb = data.to_rgb_uint8(generate(model, 500, seed=0), spec).numpy()
        again = two_sample.c2st(heldout_rgb, samples_rgb, seeds=c2st["seeds"][:1])
        # Equal on the machine that made the card. Elsewhere the classifier's training drifts where TF's
        # CPU kernels round differently (thread count, oneDNN, AMX): up to 3 of the 160 predictions
        # moved over the three GAN presets x seeds 0-2 x 1/2 threads x oneDNN on/off on an Intel Xeon
        # with AMX (2026-12-07), while the seeds' own spread is up to 10. 5 of 160 keeps the test
        # failing on a card that no longer matches its weights.
        assert abs(again["per_seed"][0] - c2st["per_seed"][0]) <= 5 / 160, (again["per_seed"], c2st["per_seed"])
    labels = [0, 1, 2, 3] if model.conditional else None
    first, again = model.sample(4, 7, labels), model.sample(4, 7, labels)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (4, *model.spec.image_shape)
    if model.conditional:  # the label steers the sample: same noise, other classes, other images
        assert model.spec.num_classes == card["model_config"]["spec"]["num_classes"] > 1
        assert np.any(np.asarray(model.sample(4, 7, [5, 5, 5, 5])) != np.asarray(first))


@pytest.fixture
def tiny_preset(tmp_path, monkeypatch):
    """A small pixel_cnn saved as preset `tiny` in a folder of its own."""
    monkeypatch.setattr(presets, "PRESET_DIR", str(tmp_path))
    spec = data.load("shapes", "test")[1]
    model = registry.build("pixel_cnn", spec, seed=3, **SMALL_HPARAMS["pixel_cnn"])
    info = presets.save("tiny", model, {"train": {"dataset": "shapes", "encoding": None,
                                                  "hparams": SMALL_HPARAMS["pixel_cnn"]}}, "float16")
    return model, info, tmp_path


def test_a_preset_round_trips_in_float16(tiny_preset):
    model, info, _ = tiny_preset
    loaded = presets.load("tiny")
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a.numpy(), np.float16).astype(np.float32), b.numpy())
    assert info["weights_dtype"] == "float16" and info["model"] == "pixel_cnn"


def test_a_tampered_or_mismatched_preset_is_refused(tiny_preset):
    _, _, folder = tiny_preset
    with pytest.raises(UserError, match="unknown preset 'nope'; presets: tiny"):
        presets.load("nope")
    path = folder / "tiny.npz"
    good = path.read_bytes()
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    with pytest.raises(UserError, match="tiny.npz has sha256 .*, its card says .*; reinstall genzoo"):
        presets.load("tiny")
    path.write_bytes(good)
    other = registry.build("pixel_cnn", data.load("shapes", "test")[1], seed=3, filters=16, blocks=1, embed_dim=8)
    with pytest.raises(UserError, match="--preset=tiny is a pixel_cnn with other settings"):
        presets.apply_weights(other, "tiny")


def test_train_fine_tunes_from_a_preset(tiny_preset, tmp_path):
    model, _, _ = tiny_preset
    config = TrainConfig(model="pixel_cnn", dataset="shapes", model_dir=str(tmp_path / "run"), epochs=0,
                         num_samples=4, preset="tiny", hparams=SMALL_HPARAMS["pixel_cnn"], seed=5)
    started, _ = train(config, verbose=0)
    for a, b in zip(model.weights, started.weights):
        np.testing.assert_array_equal(np.asarray(a.numpy(), np.float16).astype(np.float32), b.numpy())


def test_fine_tuning_keeps_the_settings_of_a_preset_older_than_a_new_default(tmp_path, monkeypatch):
    """A card written before `code_mixture` existed: the preset has none, though the cvae's default is 10."""
    monkeypatch.setattr(presets, "PRESET_DIR", str(tmp_path))
    spec = data.load("shapes", "test")[1]
    hparams = {**SMALL_HPARAMS["cvae"], "code_mixture": 0}
    model = registry.build("cvae", spec, seed=3, **hparams)
    info = presets.save("old", model, {"train": {"dataset": "shapes", "encoding": None,
                                                 "hparams": SMALL_HPARAMS["cvae"]}}, "float32")
    del info["model_config"]["code_mixture"]
    files.write_json(os.path.join(str(tmp_path), "old.json"), info)
    config = TrainConfig(model="cvae", dataset="shapes", model_dir=str(tmp_path / "run"), epochs=0,
                         num_samples=4, preset="old", hparams=SMALL_HPARAMS["cvae"], seed=5)
    started, _ = train(config, verbose=0)
    assert started.code_mixture == 0
    for a, b in zip(model.weights, started.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_byte_planes_hold_the_same_float16_values(tiny_preset):
    model, _, folder = tiny_preset
    data = presets.weights_npz(model, "float16", "byteplanes")
    card_path = folder / "tiny.json"
    card = {**json.loads(card_path.read_text()), "weights_layout": "byteplanes",
            "weights_sha256": hashlib.sha256(data).hexdigest()}
    (folder / "tiny.npz").write_bytes(data)
    card_path.write_text(json.dumps(card))
    loaded = presets.load("tiny")
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(np.asarray(a.numpy(), np.float16).astype(np.float32), b.numpy())
    card_path.write_text(json.dumps({**card, "weights_layout": "zip"}))
    with pytest.raises(UserError, match="unknown weights_layout 'zip'"):
        presets.load("tiny")
    with pytest.raises(UserError, match="byteplanes with float16"):
        presets.weights_npz(model, "float32", "byteplanes")


def test_round_float16_keeps_the_asked_mantissa_bits():
    x = np.random.default_rng(0).uniform(-4, 4, 4096).astype(np.float32)
    np.testing.assert_array_equal(presets.round_float16(x), x.astype(np.float16).astype(np.float32))
    for bits in (9, 6):
        rounded = presets.round_float16(x, bits)
        assert not np.any(rounded.astype(np.float16).view(np.uint16) & ((1 << (10 - bits)) - 1))
        # nearest k-bit value, up to one step where rounding to float16 first made a tie
        assert np.all(np.abs(rounded - x) <= 2.0 ** -bits * np.abs(x) + 1e-6)
    assert presets.round_float16(np.float32([1 + 2**-10]), 9)[0] == 1 + 2**-9  # a tie rounds the magnitude up
    with pytest.raises(UserError, match="overflows float16"):
        presets.round_float16(np.float32([65504.0]), 2)
    with pytest.raises(UserError, match="mantissa_bits=11"):
        presets.round_float16(x, 11)


def test_make_preset_matches_metrics_to_their_checkpoint_however_evaluate_was_given_the_run():
    relative = {"checkpoint": "runs/a/checkpoints/ckpt-2200", "model_dir": "/w/runs/a"}  # evaluate ran in /w
    assert presets.measured_on(relative, "/w/runs/a/checkpoints/ckpt-2200")
    assert not presets.measured_on(relative, "/w/runs/a/checkpoints/ckpt-2189")
    assert not presets.measured_on(relative, "/w/runs/b/checkpoints/ckpt-2200")
    best = {"checkpoint": "/w/runs/a/checkpoints/best/ckpt-5", "model_dir": "/w/runs/a"}
    assert presets.measured_on(best, "/w/runs/a/checkpoints/best/ckpt-5")
    assert not presets.measured_on(best, "/w/runs/a/checkpoints/ckpt-5")
    inside = {"checkpoint": "checkpoints/best/ckpt-5", "model_dir": "/w/runs/a"}  # evaluate ran in the run folder
    assert presets.measured_on(inside, "/w/runs/a/checkpoints/best/ckpt-5")
