"""Walks in a decoder's code space: interpolations and attribute vectors, for any `Decoder`.

References:
  White, *Sampling Generative Networks*, 2016 (spherical interpolation of codes).
  Radford, Metz & Chintala, *Unsupervised Representation Learning with Deep
    Convolutional GANs*, 2016 (section 6.3: vector arithmetic on codes).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from genzoo.data.encodings import to_rgb_uint8
from genzoo.errors import UserError
from genzoo.models import capabilities


def interpolate(z0, z1, steps: int, spherical: bool = True) -> tf.Tensor:
    """`steps` codes from z0 to z1 (both ends included), `[steps, latent_dim]`.

    Spherical by default (White 2016): a straight line between two Gaussian codes
    passes through codes of atypically small norm.
    """
    if steps < 2:
        raise UserError(f"interpolation needs at least 2 steps, got {steps}")
    z0, z1 = tf.convert_to_tensor(z0, tf.float32), tf.convert_to_tensor(z1, tf.float32)
    t = tf.linspace(0.0, 1.0, steps)[:, None]
    if not spherical:
        return (1.0 - t) * z0 + t * z1
    cos = tf.reduce_sum(z0 * z1) / (tf.norm(z0) * tf.norm(z1))
    omega = tf.acos(tf.clip_by_value(cos, -1.0 + 1e-7, 1.0 - 1e-7))
    return (tf.sin((1.0 - t) * omega) * z0 + tf.sin(t * omega) * z1) / tf.sin(omega)


def attribute_vector(codes_a, codes_b) -> tf.Tensor:
    """mean(codes_a) - mean(codes_b): adding it to a code moves its image from group b
    towards group a (Radford et al. 2016, section 6.3, the "smiling" vector)."""
    return tf.reduce_mean(tf.cast(codes_a, tf.float32), 0) - tf.reduce_mean(tf.cast(codes_b, tf.float32), 0)


def _row_labels(model, labels, rows: int):
    """One class per row: `labels` cycled over the rows (None: the classes in turn); None unconditional."""
    return model.labels_for(rows, None if labels is None else np.resize(labels, rows))


def _repeat(labels, times: int):
    return None if labels is None else tf.repeat(labels, times)


class CodeSpaceWalks(capabilities.CodeSpace):
    """`CodeSpace` for any decoder with `sample_codes` and `decode`."""

    interpolate = staticmethod(interpolate)
    attribute_vector = staticmethod(attribute_vector)

    def interpolation_grid(self, rows: int, steps: int, seed: int, labels=None):
        """Encoded images `[rows * steps, ...]`: each row walks between two random codes.

        A conditional model keeps one class per row (`labels` cycled over the rows; the classes
        in turn when None), and draws both ends from that class's prior.
        """
        row_labels = _row_labels(self, labels, rows)
        codes = self.sample_codes(2 * rows, seed, _repeat(row_labels, 2))
        path = tf.concat([interpolate(codes[2 * r], codes[2 * r + 1], steps) for r in range(rows)], 0)
        return self.decode(path, _repeat(row_labels, steps))

    def attribute_grid(self, rows: int, steps: int, seed: int, labels=None, pool: int = 512):
        """Encoded images `[rows * steps, ...]` adding -2..2 times the "more ink" vector to `rows` codes.

        The lecture's demo labels samples by hand; here the groups are labelled by a
        property every dataset has: the quarter of `pool` samples with the most
        non-background pixels minus the quarter with the fewest.
        """
        pool_labels = self.labels_for(pool, None)
        codes = self.sample_codes(pool, seed, pool_labels)
        pictures = tf.cast(to_rgb_uint8(self.decode(codes, pool_labels), self.spec), tf.float32)
        ink = tf.reduce_mean(tf.cast(tf.reduce_min(pictures, axis=-1) < 200.0, tf.float32), axis=[1, 2])
        order = tf.argsort(ink)
        quarter = pool // 4
        vector = attribute_vector(tf.gather(codes, order[-quarter:]), tf.gather(codes, order[:quarter]))
        row_labels = _row_labels(self, labels, rows)
        base = self.sample_codes(rows, seed + 1, row_labels)
        scales = tf.linspace(-2.0, 2.0, steps)
        path = tf.reshape(base[:, None, :] + scales[None, :, None] * vector, [-1, self.latent_dim])
        return self.decode(path, _repeat(row_labels, steps))
