"""The cvae's class prior p(z | y): closed forms, sampling from it, config and errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from genzoo import data
from genzoo.errors import UserError
from genzoo.losses import kl_per_dimension, normal_log_prob
from genzoo.models import VAE, ConditionalVAE


def _numeric_kl(mean, var, prior_mean, prior_var):
    """KL(N(mean, var) || N(prior_mean, prior_var)) by integrating on a grid."""
    x = np.linspace(-40, 40, 400001)
    log_q = -0.5 * (x - mean) ** 2 / var - 0.5 * np.log(2 * np.pi * var)
    log_p = -0.5 * (x - prior_mean) ** 2 / prior_var - 0.5 * np.log(2 * np.pi * prior_var)
    return np.trapezoid(np.exp(log_q) * (log_q - log_p), x)


def test_kl_against_a_gaussian_prior_matches_numeric_integration():
    rng = np.random.RandomState(0)
    mean, log_var = rng.randn(2, 3), rng.uniform(-2, 1.5, (2, 3))
    prior_mean, prior_log_var = rng.randn(2, 3), rng.uniform(-1, 1, (2, 3))
    got = kl_per_dimension(tf.constant(mean), tf.constant(log_var),
                           (tf.constant(prior_mean), tf.constant(prior_log_var))).numpy()
    expected = np.vectorize(lambda m, lv, pm, plv: _numeric_kl(m, math.exp(lv), pm, math.exp(plv)))(
        mean, log_var, prior_mean, prior_log_var)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # N(0, 1) as an explicit prior is the standard formula.
    zeros = tf.zeros_like(tf.constant(mean))
    np.testing.assert_allclose(kl_per_dimension(tf.constant(mean), tf.constant(log_var), (zeros, zeros)).numpy(),
                               kl_per_dimension(tf.constant(mean), tf.constant(log_var)).numpy(), rtol=1e-12)


def test_normal_log_prob_is_the_gaussian_density():
    rng = np.random.RandomState(1)
    z, mean, log_var = rng.randn(4, 3), rng.randn(4, 3), rng.uniform(-2, 2, (4, 3))
    expected = np.sum(-0.5 * np.log(2 * np.pi) - 0.5 * log_var - 0.5 * (z - mean) ** 2 / np.exp(log_var), axis=-1)
    got = normal_log_prob(tf.constant(z), tf.constant(mean), tf.constant(log_var)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10)


@pytest.fixture(scope="module")
def shapes():
    train, spec = data.load("shapes", "train")
    return train, spec


def _cvae(spec, **kw):
    kw.setdefault("class_prior", True)
    model = ConditionalVAE(spec, latent_dim=6, filters=8, hidden=32, pixel_layers=0, seed=1, **kw)
    model.compile_for_training(2e-3)
    return model


def _set_prior(model, means, log_vars):
    """Class c's prior: N(means[c], exp(log_vars[c])) (raw log-variances inverted through the bound)."""
    bound = model.log_var_bound
    raw = np.arctanh(np.asarray(log_vars) / bound) * bound
    model.prior_table.set_weights([np.concatenate([means, raw], axis=1).astype(np.float32)])


def test_class_prior_starts_at_the_standard_normal_and_samples_codes_from_each_class(shapes):
    _, spec = shapes
    model = _cvae(spec)
    labels = np.array([0, 1, 2, 3], np.int32)
    assert model.prior(labels)[0].numpy().tolist() == np.zeros((4, 6)).tolist()
    means = np.arange(spec.num_classes * 6, dtype=np.float32).reshape(spec.num_classes, 6)
    log_vars = np.full((spec.num_classes, 6), -1.0, np.float32)
    _set_prior(model, means, log_vars)
    mean, log_var = model.prior(labels)
    np.testing.assert_allclose(mean.numpy(), means[labels], rtol=1e-6)
    np.testing.assert_allclose(log_var.numpy(), log_vars[labels], rtol=1e-5)
    # Codes are the class's mean plus its scale times the seed's standard noise.
    eps = tf.random.stateless_normal([4, 6], [5, 0]).numpy()
    codes = model.sample_codes(4, 5, labels).numpy()
    np.testing.assert_allclose(codes, means[labels] + np.exp(-0.5) * eps, rtol=1e-5, atol=1e-5)
    # Labels left out cycle the classes, as `sample` does.
    np.testing.assert_allclose(model.sample_codes(4, 5).numpy(), codes, rtol=1e-6)
    # A sample is the decoder's output at those codes (temperature 0: its mode).
    np.testing.assert_array_equal(model.sample(4, 5, labels, temperature=0.0).numpy(),
                                  model.decode(codes, labels).numpy())
    # An interpolation row walks between two codes of its row's class.
    grid = model.interpolation_grid(2, 3, seed=7, labels=[2, 1]).numpy()
    ends = model.sample_codes(4, 7, [2, 2, 1, 1])
    np.testing.assert_array_equal(grid[[0, 2, 3, 5]], model.decode(ends, [2, 2, 1, 1]).numpy())


def test_the_bounds_take_the_class_prior(shapes):
    train, spec = shapes
    batch = next(iter(train.batch(8)))
    images, labels = batch["image"], batch["label"]
    model = _cvae(spec)
    plain = _cvae(spec, class_prior=False)
    plain.set_weights([w.numpy() for w in model.weights if not w.path.startswith("class_prior")])
    # A zero table is N(0, I): the same bounds as the model without a class prior.
    np.testing.assert_allclose(model.elbo(images, labels, seed=3).numpy(), plain.elbo(images, labels, seed=3).numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(model.importance_weighted_bound(images, labels, 4, seed=3).numpy(),
                               plain.importance_weighted_bound(images, labels, 4, seed=3).numpy(), rtol=1e-6)
    rng = np.random.RandomState(2)
    _set_prior(model, rng.randn(spec.num_classes, 6), rng.uniform(-1, 1, (spec.num_classes, 6)))
    mean, log_var = model.encode(images, labels)
    _, kl = model.elbo_terms(images, labels, seed=[3, 0])
    np.testing.assert_allclose(kl.numpy(), kl_per_dimension(mean, log_var, model.prior(labels)).numpy(), rtol=1e-6)
    # k = 1: log p(x|z) + log p(z|y) - log q(z|x) at the bound's own z, recomputed here.
    eps = tf.random.stateless_normal([1, 8, 6], [3, 2])
    z = mean + tf.exp(0.5 * log_var) * eps[0]
    log_px = model.likelihood.log_prob(model.decoder_params(z, labels), images)
    expected = log_px + normal_log_prob(z, *model.prior(labels)) - normal_log_prob(z, mean, log_var)
    np.testing.assert_allclose(model.importance_weighted_bound(images, labels, 1, seed=3).numpy(), expected.numpy(),
                               rtol=1e-4)


def test_class_priors_move_apart_in_training_and_round_trip(shapes, tmp_path):
    train, spec = shapes
    model = _cvae(spec, kl_warmup_steps=0)
    model.fit(train.take(640).batch(64), epochs=1, verbose=0)
    means = model.prior(np.arange(spec.num_classes))[0].numpy()
    assert np.min([np.linalg.norm(means[a] - means[b]) for a in range(4) for b in range(a)]) > 0.005  # 0 if the table got no gradient
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.class_prior is True and loaded.get_config()["class_prior"] is True
    np.testing.assert_array_equal(loaded.sample(4, 3).numpy(), model.sample(4, 3).numpy())


def test_class_prior_config_and_errors(shapes):
    _, spec = shapes
    config = _cvae(spec, class_prior=False).get_config()
    del config["class_prior"]  # a config written before the class prior existed
    assert ConditionalVAE.from_config(config).class_prior is False
    with pytest.raises(UserError, match="class_prior needs a conditional model"):
        VAE(spec, class_prior=True)
    with pytest.raises(UserError, match="class_prior must be true or false"):
        ConditionalVAE(spec, class_prior="yes")


def _dense(gradient):
    return tf.convert_to_tensor(gradient).numpy()  # an embedding's gradient comes as IndexedSlices


def test_free_bits_clamp_the_encoder_but_the_class_prior_learns_from_the_whole_kl(shapes):
    _, spec = shapes
    model = _cvae(spec, free_bits=100.0)  # every dimension below the threshold
    rng = np.random.RandomState(3)
    _set_prior(model, rng.randn(spec.num_classes, 6), rng.uniform(-1, 1, (spec.num_classes, 6)))
    labels = np.array([0, 1, 1, 3], np.int32)
    mean = tf.Variable(rng.randn(4, 6).astype(np.float32))
    log_var = tf.Variable(rng.uniform(-1, 1, (4, 6)).astype(np.float32))
    table = model.prior_table.embeddings
    with tf.GradientTape(persistent=True) as tape:
        prior = model.prior(labels)
        charged = model.charged_kl((mean, log_var), prior)
        whole = tf.reduce_sum(kl_per_dimension(mean, log_var, prior), axis=-1)
    np.testing.assert_allclose(charged.numpy(), np.full(4, 600.0), rtol=1e-6)  # the value: free bits alone
    assert np.all(tape.gradient(charged, mean).numpy() == 0)
    np.testing.assert_allclose(_dense(tape.gradient(charged, table)), _dense(tape.gradient(whole, table)),
                               rtol=1e-5, atol=1e-7)
    assert np.abs(_dense(tape.gradient(charged, table))).max() > 0.1
    # Without free bits the gradients are the plain KL's, for the encoder and the prior.
    model.free_bits = 0.0
    with tf.GradientTape(persistent=True) as tape:
        prior = model.prior(labels)
        charged = model.charged_kl((mean, log_var), prior)
        whole = tf.reduce_sum(kl_per_dimension(mean, log_var, prior), axis=-1)
    np.testing.assert_allclose(charged.numpy(), whole.numpy(), rtol=1e-6)
    for variable in (mean, log_var, table):
        np.testing.assert_allclose(_dense(tape.gradient(charged, variable)), _dense(tape.gradient(whole, variable)),
                                   rtol=1e-5, atol=1e-7)
