import math

import numpy as np
import tensorflow as tf

from genzoo.models import likelihoods


def test_discretized_logistic_sums_to_one_over_256_values():
    lik = likelihoods.DiscretizedLogistic(1)
    values = np.arange(256, dtype=np.float32) / 255.0
    for mean, log_scale in [(0.0, -2.0), (0.7, -4.0), (-0.95, -1.0), (0.3, -6.5)]:
        params = tf.constant([[mean, log_scale]] * 256, tf.float32)[:, None, None, :]
        log_p = lik.log_prob(params, values[:, None, None, None]).numpy()
        np.testing.assert_allclose(np.exp(log_p).sum(), 1.0, atol=2e-3)


def test_discretized_logistic_matches_logistic_cdf_difference():
    lik = likelihoods.DiscretizedLogistic(1)
    mean, scale, value = 0.1, 0.2, 140
    params = tf.constant([[[[mean, math.log(scale)]]]])
    y = 2 * value / 255 - 1
    cdf = lambda t: 1 / (1 + math.exp(-(t - mean) / scale))
    expected = math.log(cdf(y + 1 / 255) - cdf(y - 1 / 255))
    got = lik.log_prob(params, tf.constant([[[[value / 255]]]])).numpy()[0]
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_categorical_log_prob_is_summed_log_softmax():
    logits = np.random.RandomState(0).randn(2, 3, 3, 5).astype(np.float32)
    images = np.random.RandomState(1).randint(0, 5, (2, 3, 3))
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expected = np.take_along_axis(log_softmax, images[..., None], -1).sum(axis=(1, 2, 3))
    got = likelihoods.Categorical(5).log_prob(tf.constant(logits), tf.constant(images)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_bernoulli_log_prob_and_sampling_frequency():
    logits = tf.fill([1, 40, 40, 1], 1.0)
    p = 1 / (1 + math.exp(-1.0))
    ones = tf.ones([1, 40, 40, 1])
    np.testing.assert_allclose(likelihoods.Bernoulli().log_prob(logits, ones).numpy(), [1600 * math.log(p)], rtol=1e-5)
    draws = likelihoods.Bernoulli().sample(logits, tf.constant([1, 2], tf.int64)).numpy()
    assert abs(draws.mean() - p) < 0.05
