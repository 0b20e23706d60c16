"""Presets: the shipped ones load, reproduce their card's held-out figure and sample; the format's checks."""

import os

import numpy as np
import pytest

from genzoo import data, presets
from genzoo.errors import UserError
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
    first, again = model.sample(4, 7), model.sample(4, 7)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (4, *model.spec.image_shape)


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
