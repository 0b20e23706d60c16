"""Classifier-free guidance of the cvae's decoder: label dropout in training, guided logits in sampling."""

import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.errors import UserError
from genzoo.models import VAE, ConditionalVAE


@pytest.fixture(scope="module")
def shapes():
    train, spec = data.load("shapes", "train")
    return train, spec


def _cvae(spec, **kw):
    kw.setdefault("pixel_layers", 0)
    kw.setdefault("label_dropout", 0.2)
    model = ConditionalVAE(spec, latent_dim=6, filters=8, hidden=32, pixel_filters=8, seed=1, **kw)
    model.compile_for_training(2e-3)
    return model


def test_label_dropout_hides_the_drawn_share_of_labels_from_the_decoder(shapes):
    train, spec = shapes
    model = _cvae(spec, label_dropout=0.3)
    seed = tf.constant([4, 9], tf.int64)
    keep = model.label_keep(seed, 20000).numpy()
    assert set(np.unique(keep)) == {0.0, 1.0} and abs(keep.mean() - 0.7) < 0.015
    np.testing.assert_array_equal(model.label_keep(seed, 20000).numpy(), keep)
    # A training step's reconstruction is the decoder's with those labels hidden.
    batch = next(iter(train.batch(16)))
    images, labels = batch["image"], batch["label"]
    reconstruction, (mean, log_var), _ = model.posterior_terms(images, labels, seed, training=True)
    eps = tf.random.stateless_normal([16, 6], seed)
    z = mean + tf.exp(0.5 * log_var) * eps
    hidden = model.label_keep(seed, 16)
    assert 0 < hidden.numpy().sum() < 16
    expected = model.likelihood.log_prob(model.decoder_params(z, labels, images, keep=hidden), images)
    np.testing.assert_allclose(reconstruction.numpy(), expected.numpy(), rtol=1e-5)
    seen = model.likelihood.log_prob(model.decoder_params(z, labels, images), images).numpy()
    assert not np.allclose(reconstruction.numpy(), seen)  # the hidden labels changed something
    # Held-out evaluation sees every label.
    held_out, _, _ = model.posterior_terms(images, labels, seed, training=False)
    np.testing.assert_allclose(held_out.numpy(), seen, rtol=1e-5)


def test_guided_decoding_mixes_the_logits_with_and_without_labels(shapes):
    _, spec = shapes
    model = _cvae(spec, guidance=3.0)
    z = tf.random.stateless_normal([8, 6], [1, 2]) * 3.0
    labels = np.arange(8, dtype=np.int32) % 4
    conditional = model.decoder_params(z, labels).numpy()
    unconditional = model.decoder_params(z, labels, keep=tf.zeros([8])).numpy()
    np.testing.assert_allclose(model.guided_params(z, labels).numpy(),
                               unconditional + 3.0 * (conditional - unconditional), rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(model.decode(z, labels).numpy(),
                                  np.argmax(unconditional + 3.0 * (conditional - unconditional), -1))
    # Scale 0 is the decoder without labels: the images no longer depend on them.
    model.guidance = 0.0
    np.testing.assert_array_equal(model.decode(z, labels).numpy(), model.decode(z, (labels + 1) % 4).numpy())


@pytest.mark.parametrize("guidance", [0.0, 2.5])
def test_guided_pixel_vae_cached_sampler_equals_the_reference(shapes, guidance):
    _, spec = shapes
    model = _cvae(spec, pixel_layers=2, guidance=guidance)
    labels = np.array([0, 1, 2, 3, 1], np.int32)
    cached = model.sample(5, 11, labels).numpy()
    np.testing.assert_array_equal(cached, model.naive_sample(5, 11, labels).numpy())
    if guidance == 0.0:  # the labels play no part
        np.testing.assert_array_equal(cached, model.sample(5, 11, (labels + 2) % 4).numpy())
    # A scale set after sampling is used (the compiled samplers trace anew), and scale 1 is unguided.
    model.set_guidance(1.0)
    plain = model.sample(5, 11, labels).numpy()
    np.testing.assert_array_equal(plain, model.naive_sample(5, 11, labels).numpy())
    model.set_guidance(guidance)
    np.testing.assert_array_equal(model.sample(5, 11, labels).numpy(), cached)
    assert not np.array_equal(plain, cached)


def test_guidance_config_round_trips_and_bad_values_fail(shapes):
    _, spec = shapes
    model = _cvae(spec, guidance=2.0)
    config = model.get_config()
    assert config["guidance"] == 2.0 and config["label_dropout"] == 0.2
    rebuilt = ConditionalVAE.from_config(config)
    assert rebuilt.guidance == 2.0 and rebuilt.label_dropout == 0.2
    with pytest.raises(UserError, match="guidance needs label_dropout"):
        ConditionalVAE(spec, guidance=2.0)
    with pytest.raises(UserError, match="label_dropout must lie in"):
        ConditionalVAE(spec, label_dropout=1.0)
    with pytest.raises(UserError, match="guidance must be >= 0"):
        ConditionalVAE(spec, label_dropout=0.1, guidance=-1.0)
    with pytest.raises(UserError, match="need a conditional model"):
        VAE(spec, label_dropout=0.1)
    _, rgb = data.load("shapes", "train", encoding="rgb")
    with pytest.raises(UserError, match="guidance mixes logits"):
        ConditionalVAE(rgb, label_dropout=0.1, guidance=2.0)
