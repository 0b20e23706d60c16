"""The self-supervised discriminator (`recon_weight`, FastGAN): a decoder rebuilds real images from its features."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.errors import UserError
from genzoo.models import DCGAN, GAN, ConditionalGAN
from genzoo.models.gan import recon


@pytest.fixture(scope="module")
def shapes():
    train, spec = data.load("shapes", "train")
    return next(iter(train.batch(16))), spec


def _pair(spec, weight, cls=DCGAN, **extra):
    """The same starting weights with and without the term (the decoder is built last)."""
    models = []
    for w in (0.0, weight):
        keras.utils.set_random_seed(0)
        model = cls(spec, latent_dim=8, filters=8, seed=1, recon_weight=w, **extra)
        model.compile_for_training(1e-3)
        models.append(model)
    return models


@pytest.mark.parametrize("cls, extra", [(DCGAN, {}), (DCGAN, {"r1_gamma": 1.0, "spectral_norm": True}),
                                        (ConditionalGAN, {})])
def test_the_discriminator_loss_adds_the_weighted_error_of_the_rebuilt_real_images(shapes, cls, extra):
    """The first step's loss is the plain game's plus w times the mean absolute error of the decoder's
    picture of each real image as D sees it, computed here from the networks (R1, the class head and
    DiffAugment alike)."""
    batch, spec = shapes
    plain, rebuilt = _pair(spec, 2.5, cls, **extra)
    real = plain.to_model_space(batch["image"])
    labels = batch["label"] if plain.conditional else None
    seed = plain.step_seed(0)
    state = [v.numpy() for v in rebuilt.discriminator.non_trainable_variables]  # spectral norm's u moves in training
    # What D sees: the real batch after DiffAugment (the cgan's recipe on shapes augments; the dcgan's does not).
    seen = rebuilt.augment(real, tf.random.experimental.stateless_fold_in(seed, 2))
    *_, features = recon.feature_view(rebuilt.discriminator)(rebuilt._inputs(seen, labels), training=True)
    error = tf.reduce_mean(tf.abs(rebuilt.d_decoder(features, training=True) - seen), axis=[1, 2, 3])
    for v, value in zip(rebuilt.discriminator.non_trainable_variables, state):
        v.assign(value)
    without = plain.discriminator_step(real, labels, seed)
    with_term = rebuilt.discriminator_step(real, labels, seed)
    np.testing.assert_allclose(with_term["d_recon"], error, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(with_term["d_loss"], without["d_loss"] + 2.5 * error, rtol=1e-4, atol=1e-5)
    assert "d_recon" not in without


def test_the_decoder_learns_to_rebuild_the_real_images(shapes):
    """Discriminator steps on one batch: the decoder's error falls (it and the discriminator's features
    train on it); the decoder's weights are the discriminator optimizer's."""
    batch, spec = shapes
    _, model = _pair(spec, 1.0)
    real = model.to_model_space(batch["image"])
    step = tf.function(lambda seed: model.discriminator_step(real, None, seed))
    errors = [float(tf.reduce_mean(step(model.step_seed(k))["d_recon"])) for k in range(60)]
    assert errors[-1] < 0.5 * errors[0], errors
    assert {id(v) for v in model.d_decoder.trainable_variables} <= {id(v) for v in model.discriminator_variables()}


def test_the_held_out_step_reports_the_error_and_the_generator_step_ignores_the_decoder(shapes):
    batch, spec = shapes
    plain, rebuilt = _pair(spec, 1.0)
    assert rebuilt.test_step(batch)["d_recon"] > 0
    real = plain.to_model_space(batch["image"])
    steps = [m.generator_step(real, None, m.step_seed(0)) for m in (plain, rebuilt)]
    np.testing.assert_allclose(steps[1]["g_loss"], steps[0]["g_loss"], rtol=1e-5)


@pytest.mark.parametrize("bad", [-1.0, "1", True, float("nan")])
def test_recon_weight_is_checked(shapes, bad):
    with pytest.raises(UserError, match="recon_weight must be a number >= 0"):
        DCGAN(shapes[1], latent_dim=8, filters=8, recon_weight=bad)


def test_recon_weight_needs_a_dcgan_discriminator(shapes):
    with pytest.raises(UserError, match=r"recon_weight .*DCGAN discriminator .*got 1.0 for GAN"):
        GAN(shapes[1], latent_dim=8, hidden=16, recon_weight=1.0)


def test_recon_weight_round_trips_and_an_older_config_rebuilds_without_it(shapes):
    model = DCGAN(shapes[1], latent_dim=8, filters=8, recon_weight=0.5)
    again = DCGAN.from_config(model.get_config())
    assert again.recon_weight == 0.5
    assert len(again.d_decoder.weights) == len(model.d_decoder.weights)
    old = {k: v for k, v in model.get_config().items() if k != "recon_weight"}
    assert DCGAN.from_config(old).recon_weight == 0.0
