"""Losses as pure functions on tensors."""

from __future__ import annotations

import tensorflow as tf


def kl_divergence(mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per example, summed over latent dims.

    Kingma & Welling 2013, appendix B: -1/2 * sum(1 + log_var - mean^2 - exp(log_var)).
    """
    return -0.5 * tf.reduce_sum(1.0 + log_var - tf.square(mean) - tf.exp(log_var), axis=-1)


def standard_normal_log_prob(x: tf.Tensor) -> tf.Tensor:
    """log N(x; 0, I) per example, summed over the last axis."""
    log_2pi = tf.math.log(2.0 * tf.constant(3.141592653589793, x.dtype))
    return -0.5 * tf.reduce_sum(log_2pi + tf.square(x), axis=-1)


def reparameterised_log_prob(eps: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """log N(z; mean, diag(exp(log_var))) of z = mean + exp(log_var / 2) * eps, per example.

    From the noise eps, not from (z - mean)^2 / exp(log_var): for a posterior as narrow
    as log_var = -170, z - mean rounds to 0 and exp(-log_var) to inf, and 0 * inf is NaN.
    """
    return standard_normal_log_prob(eps) - 0.5 * tf.reduce_sum(log_var, axis=-1)


def kl_per_dimension(mean: tf.Tensor, log_var: tf.Tensor, prior: tuple | None = None) -> tf.Tensor:
    """KL(N(mean, exp(log_var)) || prior) of each latent dimension, `[..., latent_dim]`.

    `prior` None is N(0, 1): the terms of `kl_divergence` before the sum,
    -1/2 (1 + log_var - mean^2 - exp(log_var)). A prior `(prior_mean, prior_log_var)` gives
    1/2 (prior_log_var - log_var + (exp(log_var) + (mean - prior_mean)^2) / exp(prior_log_var) - 1).
    """
    if prior is None:
        return -0.5 * (1.0 + log_var - tf.square(mean) - tf.exp(log_var))
    prior_mean, prior_log_var = prior
    return 0.5 * (prior_log_var - log_var - 1.0
                  + (tf.exp(log_var) + tf.square(mean - prior_mean)) * tf.exp(-prior_log_var))


def normal_log_prob(z: tf.Tensor, mean: tf.Tensor, log_var: tf.Tensor) -> tf.Tensor:
    """log N(z; mean, diag(exp(log_var))) per example, summed over the last axis."""
    return standard_normal_log_prob((z - mean) * tf.exp(-0.5 * log_var)) - 0.5 * tf.reduce_sum(log_var, axis=-1)


def free_bits_kl(kl_per_dim: tf.Tensor, free_bits: float) -> tf.Tensor:
    """The KL a training loss charges with free bits: sum_j max(free_bits, KL_j), per example.

    Kingma et al. 2016 (IAF), appendix C.8: a dimension below `free_bits` nats costs a
    constant, so the optimiser gains nothing by closing it, and the code stays in use.
    Clamped per example (the paper clamps the minibatch mean), so the loss does not depend
    on how a batch is split over replicas. `free_bits` = 0 is the plain KL.
    """
    if not free_bits:
        return tf.reduce_sum(kl_per_dim, axis=-1)
    return tf.reduce_sum(tf.maximum(kl_per_dim, free_bits), axis=-1)
