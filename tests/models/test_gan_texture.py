"""The texture term: the histogram of neighbour steps, its L1 gradient, and the generator it steers."""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.errors import UserError
from genzoo.models import DCGAN
from genzoo.models.gan import texture

REPO = Path(__file__).resolve().parents[2]


def _image(steps_right):
    """A 1 x 4 RGB row whose red channel climbs by the given steps (0-255 levels), in [-1, 1]."""
    red = np.cumsum([0.0, *steps_right])
    row = np.zeros((1, 1, len(red), 3), np.float32)
    row[..., 0] = red
    return row / 127.5 - 1.0


def test_step_histogram_counts_each_neighbour_step_in_its_bin():
    # Steps of 0, 40 and 200 levels: bins [0, 8), [32, 64) and [128, 255], a third each. The soft edges
    # leak sigmoid(-4) = 0.018 of a step 8 levels from its nearest edge (0 from the 8-level edge).
    x = np.concatenate([_image([0, 40, 200]), _image([200, 200, 200])])
    histogram = texture.step_histogram(x).numpy()
    np.testing.assert_allclose(histogram.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(histogram[0], [1 / 3, 0, 0, 1 / 3, 0, 1 / 3], atol=0.02)
    np.testing.assert_allclose(histogram[1], [0, 0, 0, 0, 0, 1], atol=1e-6)
    # The largest channel's step counts: 40 levels in green beside 10 in red is a 40-level step.
    both = _image([10, 10, 10])
    both[..., 1] = np.cumsum([0.0, 40, 40, 40]) / 127.5 - 1.0
    np.testing.assert_allclose(texture.step_histogram(both)[0, 3], 1.0, atol=0.02)


def test_texture_loss_has_the_gradient_of_the_l1_distance_of_the_batch_histograms():
    rng = np.random.default_rng(0)
    fake = tf.constant(rng.uniform(-1, 1, (4, 5, 5, 3)).astype(np.float32))
    real = tf.constant(np.repeat(_image([0, 40, 200]), 4, 0))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(fake)
        per_example, gap = texture.texture_loss(fake, real)
        surrogate = tf.reduce_mean(per_example)
        l1 = tf.reduce_sum(tf.abs(tf.reduce_mean(texture.step_histogram(fake), 0)
                                  - tf.reduce_mean(texture.step_histogram(real), 0)))
    np.testing.assert_allclose(tape.gradient(surrogate, fake), tape.gradient(l1, fake), atol=1e-7)
    np.testing.assert_allclose(gap.numpy(), np.full(4, l1.numpy()), rtol=1e-6)


def test_texture_weight_draws_the_generated_histogram_towards_the_real_one():
    """With the texture term alone steering it (a large weight, a fast learning rate) the generator's
    steps approach the real images' within a few updates; without it, they do not."""
    train, spec = data.load("shapes", "train")
    real = DCGAN(spec).to_model_space(next(iter(train.batch(16)))["image"])
    gaps = {}
    for weight in (0.0, 300.0):
        model = DCGAN(spec, latent_dim=8, filters=8, seed=1, regions=4, texture_weight=weight)
        model.compile_for_training(1e-2)
        step = tf.function(functools.partial(model.generator_step, real, None))
        gaps[weight] = [float(step(model.step_seed(0))["texture_gap"][0]) for _ in range(15)]
    assert gaps[300.0][-1] < 0.5 * gaps[300.0][0], gaps[300.0]
    assert gaps[300.0][-1] < 0.5 * gaps[0.0][-1], gaps


@pytest.mark.parametrize("bad", [-1.0, True, "much"])
def test_texture_weight_is_checked(bad):
    with pytest.raises(UserError, match="texture_weight"):
        DCGAN(data.load("shapes", "train")[1], texture_weight=bad)


def test_texture_gap_is_the_global_batch_gap_on_every_replica():
    """Each replica compares the global batches' histograms, not its own share's (which differ here)."""
    result = subprocess.run([sys.executable, "-m", "tests.models.texture_replicas"], capture_output=True, text=True,
                            cwd=REPO, timeout=300, check=False, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["replicas"]) == 2 and report["single"][0] > 0.5
    for gaps in report["replicas"]:
        np.testing.assert_allclose(gaps, report["single"][:4], rtol=1e-5)


def test_texture_weight_round_trips_and_an_older_config_rebuilds_without_it():
    spec = data.load("shapes", "train")[1]
    model = DCGAN(spec, latent_dim=8, filters=8, regions=3, shading=0.3, texture_weight=2.5)
    assert DCGAN.from_config(model.get_config()).texture_weight == 2.5
    old = {k: v for k, v in model.get_config().items() if k != "texture_weight"}
    assert DCGAN.from_config(old).texture_weight == 0.0
