"""tools/region_stats.py reads how sharp a region GAN's region maps are."""

import os
import sys

import keras
import numpy as np
import pytest

from genzoo import data
from genzoo.models import DCGAN, ConditionalGAN

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import region_stats


def _logit_conv(model):
    """The convolution that feeds RegionPaint its logits: the generator's one Conv2D with K = 5 filters."""
    (conv,) = [layer for layer in model.generator.layers
               if isinstance(layer, keras.layers.Conv2D) and layer.filters == 5]
    return conv


@pytest.mark.parametrize("cls", [DCGAN, ConditionalGAN])
def test_flat_and_one_hot_region_maps_read_as_such(cls):
    spec = data.load("shapes", "train", encoding="rgb")[1]
    model = cls(spec, latent_dim=4, filters=4, regions=5, region_gain=2.0, seed=0)
    conv = _logit_conv(model)
    kernel, bias = conv.get_weights()
    conv.set_weights([np.zeros_like(kernel), np.zeros_like(bias)])  # every logit 0: the uniform softmax
    flat = region_stats.region_stats(model, 16)
    assert flat["max_probability"] == pytest.approx(0.2) and flat["logit_std"] == pytest.approx(0.0)
    conv.set_weights([np.zeros_like(kernel), np.array([0.0, 5.0, 0.0, 0.0, 0.0], np.float32)])  # region 1 everywhere
    peaked = region_stats.region_stats(model, 16)
    expected = np.exp(10.0) / (np.exp(10.0) + 4)  # the gain doubles the logits
    assert peaked["max_probability"] == pytest.approx(expected, rel=1e-5)
    assert peaked["regions_used"] == 1 and peaked["same_as_right"] == 1.0
    assert peaked["parts"] == pytest.approx(1.0, rel=1e-4)  # one region, no background: one part
    assert 0 < peaked["colour_distance"] < 2 * np.sqrt(3)
    # The picture: the trained generator (training mode, inference), then the averaged one.
    rows = region_stats.painted_rows(model, num=3)
    assert rows.shape == (4 * 20, 3 * 20, 3) and rows.dtype == np.uint8
    one_region = np.asarray(model.generator(region_stats.generator_inputs(model, 3), training=False))
    np.testing.assert_allclose(rows[20:40], np.concatenate(list((one_region + 1) * 127.5), axis=1), atol=0.51)


def test_a_missing_run_and_a_grid_of_two_runs_are_refused(tmp_path, capsys):
    assert region_stats.main([str(tmp_path / "missing")]) == 1
    assert "missing" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        region_stats.main(["a", "b", "--grid=x.png"])
    assert "--grid draws one run" in capsys.readouterr().err


def test_an_annealed_gain_is_read_from_its_weight():
    spec = data.load("shapes", "train", encoding="rgb")[1]
    model = DCGAN(spec, latent_dim=4, filters=4, regions=5, region_gain=1.0, region_gain_end=8.0,
                  region_anneal_steps=10, seed=0)
    conv = _logit_conv(model)
    kernel, _ = conv.get_weights()
    conv.set_weights([np.zeros_like(kernel), np.array([0.0, 1.0, 0.0, 0.0, 0.0], np.float32)])
    model.generator.get_layer("region_paint").annealed_gain.assign(3.0)  # as the training step leaves it
    stats = region_stats.region_stats(model, 4)
    assert stats["max_probability"] == pytest.approx(np.exp(3.0) / (np.exp(3.0) + 4), rel=1e-5)


def test_a_background_region_counts_with_its_lead_and_its_colour():
    """Zero logits: the background leads by b = log(0.8 / 0.2 * 4), so its probability is 0.8; the
    distance averages over all 5 colours, the background's (white) among them."""
    spec = data.load("shapes", "train", encoding="rgb")[1]
    model = DCGAN(spec, latent_dim=4, filters=4, regions=5, region_background=True, seed=0)
    conv = _logit_conv(model)
    kernel, bias = conv.get_weights()
    conv.set_weights([np.zeros_like(kernel), np.zeros_like(bias)])
    colours = model.generator.get_layer("region_colours")
    k, b = colours.get_weights()
    grey = np.zeros_like(b)  # the 4 free colours grey (0), the background white (1): 4 of 10 pairs at sqrt(3)
    colours.set_weights([np.zeros_like(k), grey])
    stats = region_stats.region_stats(model, 4)
    assert stats["max_probability"] == pytest.approx(0.8, rel=1e-5)
    assert stats["regions_used"] == 1
    assert stats["colour_distance"] == pytest.approx(4 * 2 * np.sqrt(3) / 20, rel=1e-5)


def test_parts_count_the_equally_used_body_regions_of_the_generator_asked_for():
    """Two body regions split 8 / 12 columns, the background nowhere: 1.96 parts; the averaged generator,
    where every pixel is half one region and half the other, one."""
    spec = data.load("shapes", "train", encoding="rgb")[1]
    model = DCGAN(spec, latent_dim=4, filters=4, regions=3, region_background=True, seed=0)
    for network, scale in ((model.generator, 1.0), (model.ema_generator, 0.0)):
        conv = next(layer for layer in network.layers
                    if isinstance(layer, keras.layers.Conv2D) and layer.filters == 3)
        kernel, _ = conv.get_weights()
        conv.set_weights([np.zeros_like(kernel), np.array([-100.0, 0.0, 0.0], np.float32)])
        paint = network.get_layer("region_paint")
        # Left half region 1, right half region 2: no bias does that, so the logits are shifted on their way in.
        shift = np.zeros((1, 20, 20, 3), np.float32)
        shift[:, :, :8, 1], shift[:, :, 8:, 2] = 50.0 * scale, 50.0 * scale  # along the 4 x 4 blocks' edges
        paint.gained = lambda logits, colours, gained=paint.gained, shift=shift: gained(logits + shift, colours)
    usage = np.array([8, 12]) / 20
    assert region_stats.region_stats(model, 4)["parts"] == pytest.approx(np.exp(-(usage * np.log(usage)).sum()), rel=1e-4)
    assert region_stats.region_stats(model, 4, ema=True)["parts"] == pytest.approx(1.0, rel=1e-4)
