"""The parts term: each generated body painted in at least P confident regions."""

import functools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.errors import UserError
from genzoo.models import DCGAN
from genzoo.models.gan import parts


def _one_hot(regions, k):
    return np.eye(k, dtype=np.float32)[np.asarray(regions)][None]


def test_body_parts_is_the_log_of_the_number_of_equally_used_confident_regions():
    background = [[0, 0, 0, 0], [0, 1, 1, 0], [0, 2, 2, 0], [0, 0, 0, 0]]
    # Two body regions, half the body each: I = log 2; the background does not count.
    np.testing.assert_allclose(parts.body_parts(_one_hot(background, 4), True, pool=1), [math.log(2)], atol=1e-5)
    # The same map without a background region: three regions used 12/16, 2/16, 2/16 of the image.
    usage = np.array([12, 2, 2]) / 16
    np.testing.assert_allclose(parts.body_parts(_one_hot(background, 4), False, pool=1), [-(usage * np.log(usage)).sum()],
                               atol=1e-5)
    # One region: nothing.
    one = [[0, 1], [1, 1]]
    np.testing.assert_allclose(parts.body_parts(_one_hot(one, 3), True, pool=1), [0.0], atol=1e-5)


def test_a_blend_of_regions_in_every_pixel_counts_as_one_part():
    # Every body pixel half region 1, half region 2: usage entropy log 2, each pixel's entropy log 2.
    weights = np.zeros((1, 3, 3, 3), np.float32)
    weights[..., 0] = 0.5
    weights[..., 1:] = 0.25
    np.testing.assert_allclose(parts.body_parts(weights, True, pool=1), [0.0], atol=1e-5)
    # Against a brute-force sum over pixels: I = sum_x w(x)/W KL(q(.|x) || usage), pixels weighted by body share.
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 5, 6)).astype(np.float32) * 2
    weights = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    body = weights[..., 1:]
    share = body.sum(-1)
    q = body / share[..., None]
    usage = body.sum((1, 2)) / share.sum((1, 2))[:, None]
    kl = (q * np.log(q / usage[:, None, None])).sum(-1)
    expected = (share * kl).sum((1, 2)) / share.sum((1, 2))
    np.testing.assert_allclose(parts.body_parts(weights, True, pool=1), expected, rtol=1e-4)


def _logits(regions, k, sharpness=30.0):
    return sharpness * _one_hot(regions, k)


def test_parts_loss_stops_at_the_asked_number_of_parts():
    three = _logits([[1, 2, 3], [1, 2, 3], [0, 0, 0]], 5)
    np.testing.assert_allclose(parts.parts_loss(three, True, 2, pool=1), [0.0], atol=1e-6)
    np.testing.assert_allclose(parts.parts_loss(three, True, 3, pool=1), [0.0], atol=1e-5)
    # Four asked: I falls short by log 4/3, and the fourth region's usage (its softmax share summed over all
    # nine pixels, over the body's mass) is far below 1/8.
    p = np.exp(three[0].astype(np.float64))
    p /= p.sum(-1, keepdims=True)
    fourth = p[..., 4].sum() / p[..., 1:].sum()
    expected = math.log(4) - math.log(3) + math.log(1 / 8) - math.log(fourth)
    np.testing.assert_allclose(parts.parts_loss(three, True, 4, pool=1), [expected], rtol=1e-4)


def test_the_usage_floor_moves_a_region_that_the_softmax_has_all_but_switched_off():
    """One body region at e^-50 odds against the others: I's gradient is nil, the floor's is not, and it
    raises the second region's logits where they are highest (on the left, where its logit is 2 higher)."""
    logits = np.zeros((1, 4, 4, 3), np.float32)
    logits[..., 1] = 50.0
    logits[:, :, :2, 2] = 2.0
    logits = tf.constant(logits)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        information = parts.body_parts(tf.nn.softmax(logits), True, pool=1)
        loss = parts.parts_loss(logits, True, 2, pool=1)
    assert np.abs(tape.gradient(information, logits)).max() < 1e-12
    grad = tape.gradient(loss, logits).numpy()[0, ..., 2]
    assert grad.sum() == pytest.approx(-1.0, rel=1e-3)  # d(-log usage) summed over the pixels
    assert grad[:, :2].sum() / grad.sum() == pytest.approx(np.exp(2) / (1 + np.exp(2)), rel=1e-3)


def test_parts_count_by_blocks_so_regions_alternating_pixel_by_pixel_are_one_part():
    checkerboard = (np.indices((8, 8)).sum(0) % 2) + 1  # regions 1 and 2 pixel by pixel
    halves = np.where(np.arange(8) < 4, 1, 2)[None].repeat(8, 0)  # left half 1, right half 2
    np.testing.assert_allclose(parts.body_parts(_one_hot(checkerboard, 3), True, pool=1), [math.log(2)], atol=1e-5)
    np.testing.assert_allclose(parts.body_parts(_one_hot(checkerboard, 3), True), [0.0], atol=1e-5)  # POOL = 4
    np.testing.assert_allclose(parts.body_parts(_one_hot(halves, 3), True), [math.log(2)], atol=1e-5)
    # Halves split at column 2: the blocks over columns 0-3 hold both regions half and half.
    # Blocks: left (share 1, entropy log 2), right (all region 2). Usage 1/4, 3/4.
    split = np.where(np.arange(8) < 2, 1, 2)[None].repeat(8, 0)
    usage = np.array([0.25, 0.75])
    expected = -(usage * np.log(usage)).sum() - 0.5 * math.log(2)
    np.testing.assert_allclose(parts.body_parts(_one_hot(split, 3), True), [expected], atol=1e-5)


@pytest.fixture(scope="module")
def shapes():
    train, spec = data.load("shapes", "train")
    return train, spec


def test_the_parts_term_spreads_a_generators_bodies_over_more_regions(shapes):
    """With the parts term alone steering it (a large weight, a fast learning rate) the generator's body
    parts grow within a few updates; without it they do not."""
    train, spec = shapes
    real = DCGAN(spec).to_model_space(next(iter(train.batch(16)))["image"])
    measured = {}
    for weight in (None, 100.0):
        extra = {"parts": 4, "parts_weight": weight} if weight else {}
        keras.utils.set_random_seed(0)  # the same starting weights each time
        model = DCGAN(spec, latent_dim=8, filters=8, seed=1, regions=6, region_background=True, **extra)
        model.compile_for_training(1e-2)
        step = tf.function(functools.partial(model.generator_step, real, None))
        for _ in range(40):  # measured in training mode: batch norm's moving statistics lag 40 steps
            step(model.step_seed(0))
        inputs = model.noise(16, model.step_seed(1))
        measured[weight] = float(tf.reduce_mean(parts.body_parts(tf.nn.softmax(model.painted(inputs)[1]), True)))
    assert measured[100.0] > math.log(2), measured  # two or more parts, by 4 x 4 blocks
    assert measured[100.0] > measured[None] + 0.3, measured


def test_the_generator_step_calls_the_generator_once(shapes):
    """The view that reads the region weights shares the generator's layers: batch norm's moving
    statistics move as much as without the term, and no weights are added."""
    train, spec = shapes
    real = DCGAN(spec).to_model_space(next(iter(train.batch(8)))["image"])
    models = [DCGAN(spec, latent_dim=8, filters=8, seed=1, regions=4, region_background=True, **extra)
              for extra in ({}, {"parts": 2})]
    models[1].set_weights(models[0].get_weights())
    moved = []
    for model in models:
        model.compile_for_training(1e-3)
        count = len(model.generator.weights)
        before = [w.numpy() for w in model.generator.non_trainable_weights]
        model.generator_step(real, None, model.step_seed(0))
        moved.append([w.numpy() - b for w, b in zip(model.generator.non_trainable_weights, before)])
        assert len(model.generator.weights) == count
    assert max(np.abs(m).max() for m in moved[0]) > 1e-4  # one update moved them
    for once, with_parts in zip(*moved):
        np.testing.assert_allclose(with_parts, once, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("bad", [1, -2, 2.0, True, "3", 4])
def test_parts_is_checked(shapes, bad):
    # regions=4 with a background: three body regions, so 4 parts cannot be painted.
    with pytest.raises(UserError, match="parts must be 0"):
        DCGAN(shapes[1], latent_dim=8, filters=8, regions=4, region_background=True, parts=bad)


def test_parts_needs_regions_and_a_positive_weight(shapes):
    with pytest.raises(UserError, match=r"parts must be 0 .*regions=0"):
        DCGAN(shapes[1], latent_dim=8, filters=8, regions=0, parts=2)
    for bad in (0.0, -1.0, "1", True):
        with pytest.raises(UserError, match="parts_weight"):
            DCGAN(shapes[1], latent_dim=8, filters=8, regions=4, parts=2, parts_weight=bad)


def test_parts_round_trips_and_an_older_config_rebuilds_without_it(shapes):
    model = DCGAN(shapes[1], latent_dim=8, filters=8, regions=5, region_background=True, parts=3, parts_weight=0.5)
    again = DCGAN.from_config(model.get_config())
    assert (again.parts, again.parts_weight) == (3, 0.5)
    old = {k: v for k, v in model.get_config().items() if k not in ("parts", "parts_weight")}
    assert DCGAN.from_config(old).parts == 0
