"""Each GAN loss against values worked out by hand on two examples."""

import math

import numpy as np
import pytest
import tensorflow as tf

from genzoo import gan_losses as L

LN3 = math.log(3.0)
# sigmoid(0) = 1/2, sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4.
REAL = tf.constant([0.0, LN3])
FAKE = tf.constant([0.0, -LN3])
# Raw scores for the losses that read the outputs as numbers, not probabilities.
REAL_SCORES = tf.constant([2.0, 0.5])
FAKE_SCORES = tf.constant([-0.25, 1.5])


@pytest.mark.parametrize("loss, expected", [
    # -log(1/2) - log(1/2); -log(3/4) - log(1 - 1/4)
    (L.minimax_discriminator_loss, [2 * math.log(2.0), 2 * math.log(4.0 / 3.0)]),
    (L.non_saturating_discriminator_loss, [2 * math.log(2.0), 2 * math.log(4.0 / 3.0)]),
])
def test_log_loss_discriminators_match_hand_values(loss, expected):
    np.testing.assert_allclose(loss(REAL, FAKE).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("loss, expected", [
    (L.minimax_generator_loss, [math.log(0.5), math.log(0.75)]),  # log(1 - D(G(z)))
    (L.non_saturating_generator_loss, [math.log(2.0), math.log(4.0)]),  # -log D(G(z))
])
def test_log_loss_generators_match_hand_values(loss, expected):
    np.testing.assert_allclose(loss(FAKE).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("loss, expected", [
    (L.wasserstein_discriminator_loss, [-0.25 - 2.0, 1.5 - 0.5]),
    # max(0, 1 - 2) + max(0, 1 - 0.25); max(0, 1 - 0.5) + max(0, 1 + 1.5)
    (L.hinge_discriminator_loss, [0.75, 0.5 + 2.5]),
    # (2 - 1)^2 / 2 + 0.25^2 / 2; (0.5 - 1)^2 / 2 + 1.5^2 / 2
    (L.least_squares_discriminator_loss, [0.5 + 0.03125, 0.125 + 1.125]),
])
def test_score_discriminators_match_hand_values(loss, expected):
    np.testing.assert_allclose(loss(REAL_SCORES, FAKE_SCORES).numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("loss, expected", [
    (L.wasserstein_generator_loss, [0.25, -1.5]),
    (L.hinge_generator_loss, [0.25, -1.5]),
    (L.least_squares_generator_loss, [0.5 * 1.25**2, 0.5 * 0.5**2]),
])
def test_score_generators_match_hand_values(loss, expected):
    np.testing.assert_allclose(loss(FAKE_SCORES).numpy(), expected, rtol=1e-6)


def test_log_losses_stay_finite_for_extreme_logits():
    extreme = tf.constant([-200.0, 200.0])
    for value in (L.minimax_discriminator_loss(extreme, -extreme), L.minimax_generator_loss(extreme),
                  L.non_saturating_generator_loss(extreme)):
        assert np.all(np.isfinite(value.numpy()))


def test_gradient_penalty_of_a_linear_critic_is_squared_norm_gap():
    w = tf.constant([[3.0], [4.0]])  # ||w|| = 5 for every interpolate, so the penalty is (5 - 1)^2
    critic = lambda x: tf.squeeze(x @ w, -1)
    real, fake = tf.random.normal([3, 2], seed=1), tf.random.normal([3, 2], seed=2)
    penalty = L.wasserstein_gradient_penalty(critic, real, fake, tf.constant([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(penalty.numpy(), [16.0] * 3, rtol=1e-5)


def test_gradient_penalty_matches_finite_differences():
    rng = np.random.RandomState(0)
    w1, w2 = rng.randn(2 * 3 * 1, 5), rng.randn(5)

    def critic_np(x):  # images [B, 2, 3, 1] -> [B]
        return np.tanh(x.reshape(len(x), -1) @ w1) @ w2

    def critic_tf(x):
        flat = tf.reshape(tf.cast(x, tf.float64), [tf.shape(x)[0], -1])
        return tf.linalg.matvec(tf.tanh(flat @ w1), w2)

    real, fake, eps = rng.rand(4, 2, 3, 1), rng.rand(4, 2, 3, 1), rng.rand(4)
    x_hat = eps[:, None, None, None] * real + (1 - eps[:, None, None, None]) * fake
    h = 1e-6
    expected = []
    for x in x_hat:
        grad = np.zeros(x.size)
        for j in range(x.size):
            step = np.zeros(x.size)
            step[j] = h
            up, down = (x.ravel() + step).reshape(1, *x.shape), (x.ravel() - step).reshape(1, *x.shape)
            grad[j] = (critic_np(up)[0] - critic_np(down)[0]) / (2 * h)
        expected.append((np.linalg.norm(grad) - 1.0) ** 2)
    penalty = L.wasserstein_gradient_penalty(critic_tf, tf.constant(real), tf.constant(fake), tf.constant(eps))
    np.testing.assert_allclose(penalty.numpy(), expected, rtol=1e-6)


def test_get_knows_every_loss_and_rejects_others():
    assert set(L.LOSSES) == {"minimax", "non_saturating", "wgan_gp", "hinge", "least_squares"}
    assert L.get("wgan_gp").gradient_penalty and not L.get("hinge").gradient_penalty
    with pytest.raises(ValueError, match="choose one of"):
        L.get("wasserstein")


def test_every_public_function_is_exported():
    for name in L.__all__:
        assert hasattr(L, name)
    for family in ("minimax", "non_saturating", "wasserstein", "hinge", "least_squares"):
        assert f"{family}_generator_loss" in L.__all__ and f"{family}_discriminator_loss" in L.__all__
