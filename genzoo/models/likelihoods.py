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

    def sample_tempered(self, params, seed, temperature=1.0):
        """A draw from softmax(logits / T) per pixel (Gumbel-max); T = 0 is the mode."""
        return self.tempered_from(params, self.uniform(tf.shape(params), seed), temperature)

    @staticmethod
    def uniform(shape, seed):
        """The uniform noise `sample_tempered` draws for params of `shape` (drawable outside XLA)."""
        return tf.random.stateless_uniform(shape, seed, minval=1e-20, maxval=1.0)

    def tempered_from(self, params, uniform, temperature=1.0):
        """`sample_tempered` given its `uniform` noise."""
        temperature = tf.cast(temperature, tf.float32)
        gumbel = -tf.math.log(-tf.math.log(uniform))
        drawn = tf.argmax(params / tf.maximum(temperature, 1e-6) + gumbel, axis=-1, output_type=tf.int32)
        return tf.where(temperature > 0, drawn, self.mode(params))


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

    def sample_tempered(self, params, seed, temperature=1.0):
        """A draw from sigmoid(logits / T) per pixel; T = 0 is the mode."""
        return self.tempered_from(params, self.uniform(tf.shape(params), seed), temperature)

    @staticmethod
    def uniform(shape, seed):
        """The uniform noise `sample_tempered` draws for params of `shape` (drawable outside XLA)."""
        return tf.random.stateless_uniform(shape, seed)

    def tempered_from(self, params, uniform, temperature=1.0):
        """`sample_tempered` given its `uniform` noise."""
        temperature = tf.cast(temperature, tf.float32)
        drawn = tf.cast(uniform < tf.sigmoid(params / tf.maximum(temperature, 1e-6)), tf.float32)
        return tf.where(temperature > 0, drawn, self.mode(params))


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

    def sample_tempered(self, params, seed, temperature=1.0):
        """A draw with the logistic's scale times T; T = 0 is the mode (the mean)."""
        mean, log_scale = self._split(params)
        u = tf.random.stateless_uniform(tf.shape(mean), seed, minval=1e-5, maxval=1.0 - 1e-5)
        noise = tf.exp(log_scale) * (tf.math.log(u) - tf.math.log(1.0 - u))
        return self._to_pixels(mean + tf.cast(temperature, tf.float32) * noise)

    @staticmethod
    def _to_pixels(y):
        return tf.round((tf.clip_by_value(y, -1.0, 1.0) + 1.0) * 127.5) / 255.0


class DiscretizedLogisticMixture:
    """A mixture of K discretised logistics per pixel, the channels coupled linearly.

    Salimans et al. 2017 (PixelCNN++), section 2.1-2.2: a pixel is drawn from one of K
    components; inside it, R is a discretised logistic and G, B are logistics whose
    means shift linearly with the earlier channels (mu_G + a R, mu_B + b R + c G), so
    one component can hold a whole colour (a type's red, the white background) and the
    mixture several colours of one pixel without the mean averaging them to grey.
    Params per pixel: K logits, then K x C means, K x C log-scales, K x C(C-1)/2
    coefficients (C channels: 1 or 3). Pixels x in [0, 1] are mapped to y = 2x - 1.
    """

    MIN_LOG_SCALE = -7.0

    def __init__(self, channels: int, components: int):
        if channels not in (1, 3):
            raise ValueError(f"a logistic mixture takes 1 or 3 channels, got {channels}")
        self.channels, self.components = channels, components
        self.num_coeffs = channels * (channels - 1) // 2
        self.num_params = components * (1 + 2 * channels + self.num_coeffs)

    def _split(self, params):
        k, c = self.components, self.channels
        shape = tf.shape(params)[:-1]
        logits = params[..., :k]
        rest = tf.reshape(params[..., k:], tf.concat([shape, [k, 2 * c + self.num_coeffs]], 0))
        means, log_scales = rest[..., :c], tf.maximum(rest[..., c:2 * c], self.MIN_LOG_SCALE)
        coeffs = tf.tanh(rest[..., 2 * c:])  # bounded coupling, as PixelCNN++
        return logits, means, log_scales, coeffs

    def _coupled_means(self, means, coeffs, y):
        """Means of each channel given the earlier channels' values y `[..., 1, C]` (broadcast over K)."""
        if self.channels == 1:
            return means
        r, g = y[..., 0:1], y[..., 1:2]
        return tf.concat([means[..., 0:1], means[..., 1:2] + coeffs[..., 0:1] * r,
                          means[..., 2:3] + coeffs[..., 1:2] * r + coeffs[..., 2:3] * g], axis=-1)

    def log_prob(self, params, images):
        logits, means, log_scales, coeffs = self._split(params)
        y = (2.0 * images - 1.0)[..., None, :]  # [B, H, W, 1, C]
        centered = y - self._coupled_means(means, coeffs, y)
        inv_scale = tf.exp(-log_scales)
        plus_in = inv_scale * (centered + 1.0 / 255.0)
        min_in = inv_scale * (centered - 1.0 / 255.0)
        log_cdf_plus = plus_in - tf.nn.softplus(plus_in)
        log_one_minus_cdf_min = -tf.nn.softplus(min_in)
        cdf_delta = tf.sigmoid(plus_in) - tf.sigmoid(min_in)
        mid_in = inv_scale * centered
        log_pdf_mid = mid_in - log_scales - 2.0 * tf.nn.softplus(mid_in) - math.log(127.5)
        log_bin = tf.where(cdf_delta > 1e-5, tf.math.log(tf.maximum(cdf_delta, 1e-12)), log_pdf_mid)
        log_probs = tf.where(y < -0.999, log_cdf_plus, tf.where(y > 0.999, log_one_minus_cdf_min, log_bin))
        per_component = tf.reduce_sum(log_probs, axis=-1) + tf.nn.log_softmax(logits, axis=-1)
        return _sum_per_image(tf.reduce_logsumexp(per_component, axis=-1))

    def _draw(self, params, seed, temperature):
        logits, means, log_scales, coeffs = self._split(params)
        temperature = tf.cast(temperature, tf.float32)
        seeds = tf.random.experimental.stateless_split(seed, 2)
        uniform = tf.random.stateless_uniform(tf.shape(logits), seeds[0], minval=1e-20, maxval=1.0)
        gumbel = -tf.math.log(-tf.math.log(uniform))
        component = tf.where(temperature > 0,
                             tf.argmax(logits / tf.maximum(temperature, 1e-6) + gumbel, axis=-1),
                             tf.argmax(logits, axis=-1))
        pick = tf.one_hot(component, self.components)[..., None]  # [..., K, 1]
        mean = tf.reduce_sum(means * pick, axis=-2)
        log_scale = tf.reduce_sum(log_scales * pick, axis=-2)
        coeff = tf.reduce_sum(coeffs * pick, axis=-2)
        u = tf.random.stateless_uniform(tf.shape(mean), seeds[1], minval=1e-5, maxval=1.0 - 1e-5)
        x = mean + temperature * tf.exp(log_scale) * (tf.math.log(u) - tf.math.log(1.0 - u))
        if self.channels == 3:  # the channel coupling, on the values already drawn (R, then G)
            r = tf.clip_by_value(x[..., 0:1], -1.0, 1.0)
            g = tf.clip_by_value(x[..., 1:2] + coeff[..., 0:1] * r, -1.0, 1.0)
            b = tf.clip_by_value(x[..., 2:3] + coeff[..., 1:2] * r + coeff[..., 2:3] * g, -1.0, 1.0)
            x = tf.concat([r, g, b], axis=-1)
        return DiscretizedLogistic._to_pixels(x)

    def sample(self, params, seed):
        return self._draw(params, seed, 1.0)

    def sample_tempered(self, params, seed, temperature=1.0):
        """Component from softmax(logits / T), the logistic's scale times T; T = 0: the most
        likely component's mean (channels coupled)."""
        return self._draw(params, seed, temperature)

    def mode(self, params):
        return self._draw(params, tf.constant([0, 0], tf.int64), 0.0)


def for_spec(spec: DatasetSpec, mixture: int = 0):
    """The pixel likelihood of an encoding; `mixture` > 0 picks a K-component logistic mixture for RGB."""
    if spec.encoding == "palette":
        return Categorical(spec.num_colors)
    if spec.encoding == "binary":
        return Bernoulli()
    if mixture:
        return DiscretizedLogisticMixture(spec.channels, mixture)
    return DiscretizedLogistic(spec.channels)
