"""Pixel likelihoods p(x | params) matched to each encoding.

Each maps decoder outputs `params [B, H, W, P]` to per-image log-likelihoods
(summed over pixels, in nats) and to samples. `for_spec(spec)` picks one.
"""

from __future__ import annotations

import math

import tensorflow as tf

from genzoo.data.spec import DatasetSpec


def _sum_per_image(values: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.reshape(values, [tf.shape(values)[0], -1]), axis=-1)


class Categorical:
    """Softmax over the palette's N colours per pixel: the lecture's 1-of-N output."""

    def __init__(self, num_colors: int):
        self.num_params = num_colors

    def log_prob(self, params, images):
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(images, tf.int32), logits=params)
        return -_sum_per_image(ce)

    def sample(self, params, seed):
        flat = tf.reshape(params, [-1, self.num_params])
        draws = tf.random.stateless_categorical(flat, 1, seed, dtype=tf.int32)
        return tf.reshape(draws, tf.shape(params)[:-1])

    def mode(self, params):
        return tf.argmax(params, axis=-1, output_type=tf.int32)


class Bernoulli:
    """Independent binary pixels with logits."""

    num_params = 1

    def log_prob(self, params, images):
        return -_sum_per_image(tf.nn.sigmoid_cross_entropy_with_logits(labels=images, logits=params))

    def sample(self, params, seed):
        uniform = tf.random.stateless_uniform(tf.shape(params), seed)
        return tf.cast(uniform < tf.sigmoid(params), tf.float32)

    def mode(self, params):
        return tf.cast(params > 0, tf.float32)


class DiscretizedLogistic:
    """A logistic per channel, discretised to the 256 pixel values.

    Salimans et al. 2017 (PixelCNN++), eq. 2 with one mixture component: the
    probability of value v is the logistic mass of its bin, the edge bins taking
    the tails. Pixels x in [0, 1] are mapped to y = 2x - 1, so a bin is 2/255 wide.
    """

    MIN_LOG_SCALE = -7.0

    def __init__(self, channels: int):
        self.channels = channels
        self.num_params = 2 * channels

    def _split(self, params):
        mean, log_scale = tf.split(params, 2, axis=-1)
        return mean, tf.maximum(log_scale, self.MIN_LOG_SCALE)

    def log_prob(self, params, images):
        mean, log_scale = self._split(params)
        y = 2.0 * images - 1.0
        centered = y - mean
        inv_scale = tf.exp(-log_scale)
        plus_in = inv_scale * (centered + 1.0 / 255.0)
        min_in = inv_scale * (centered - 1.0 / 255.0)
        log_cdf_plus = plus_in - tf.nn.softplus(plus_in)  # log sigmoid: value 0 takes the left tail
        log_one_minus_cdf_min = -tf.nn.softplus(min_in)  # value 255 takes the right tail
        cdf_delta = tf.sigmoid(plus_in) - tf.sigmoid(min_in)
        mid_in = inv_scale * centered
        # Where the bin mass underflows, the density at the centre times the bin width.
        log_pdf_mid = mid_in - log_scale - 2.0 * tf.nn.softplus(mid_in) - math.log(127.5)
        log_bin = tf.where(cdf_delta > 1e-5, tf.math.log(tf.maximum(cdf_delta, 1e-12)), log_pdf_mid)
        log_probs = tf.where(y < -0.999, log_cdf_plus, tf.where(y > 0.999, log_one_minus_cdf_min, log_bin))
        return _sum_per_image(log_probs)

    def sample(self, params, seed):
        mean, log_scale = self._split(params)
        u = tf.random.stateless_uniform(tf.shape(mean), seed, minval=1e-5, maxval=1.0 - 1e-5)
        y = mean + tf.exp(log_scale) * (tf.math.log(u) - tf.math.log(1.0 - u))
        return self._to_pixels(y)

    def mode(self, params):
        mean, _ = self._split(params)
        return self._to_pixels(mean)

    @staticmethod
    def _to_pixels(y):
        return tf.round((tf.clip_by_value(y, -1.0, 1.0) + 1.0) * 127.5) / 255.0


def for_spec(spec: DatasetSpec):
    if spec.encoding == "palette":
        return Categorical(spec.num_colors)
    if spec.encoding == "binary":
        return Bernoulli()
    return DiscretizedLogistic(spec.channels)
