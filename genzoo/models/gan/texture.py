"""The histogram of neighbour steps: a texture statistic the generator is asked to match.

Pixel art is flat regions, outlines and a few shading steps between tones of one colour.
The region generator paints the first two but ends flat inside a region whatever the
discriminator says (docs/gan.md: 25-64-level steps 0.001-0.007 of its neighbour pairs, 0.027
of the sprites'). `texture_loss` compares the soft histogram of the steps between each
pixel and its right and lower neighbours (the largest channel difference, 0-255 levels) on
the global generated batch with the real batch's, and pushes each bin's share towards the
real one (feature matching on a hand-chosen statistic, Salimans et al. 2016).
"""

from __future__ import annotations

import tensorflow as tf

from genzoo.distribute import global_batch_mean

__all__ = ["STEP_EDGES", "step_histogram", "texture_loss"]

STEP_EDGES = (8.0, 16.0, 32.0, 64.0, 128.0)  # bins [0, 8), [8, 16), ..., [128, 255]
SOFTNESS = 2.0  # levels: the width of a bin edge's sigmoid, so a step near an edge has a gradient


def step_histogram(x: tf.Tensor) -> tf.Tensor:
    """Images `[B, H, W, C]` in [-1, 1] -> `[B, len(STEP_EDGES) + 1]`: each image's share of
    neighbour steps per bin, soft at the edges (a step exactly on an edge counts half)."""
    x = tf.convert_to_tensor(x, tf.float32) * 127.5
    batch = tf.shape(x)[0]
    steps = tf.concat([tf.reshape(tf.reduce_max(tf.abs(x[:, 1:] - x[:, :-1]), -1), [batch, -1]),
                       tf.reshape(tf.reduce_max(tf.abs(x[:, :, 1:] - x[:, :, :-1]), -1), [batch, -1])], 1)
    above = tf.reduce_mean(tf.sigmoid((steps[..., None] - tf.constant(STEP_EDGES)) / SOFTNESS), 1)  # [B, E]
    return tf.concat([1.0 - above[:, :1], above[:, :-1] - above[:, 1:], above[:, -1:]], 1)


def texture_loss(fake: tf.Tensor, real: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Generated and real images -> (per-example loss `[B]`, the histogram gap `[B]`).

    The global mean of the per-example loss has the gradient of sum_k |mean_fake_k - mean_real_k|
    (the L1 distance of the two batch histograms), whatever the number of replicas: each
    generated image's bin shares weighted by the sign of its bin's global gap. The gap is that
    L1 distance, repeated per example for the metric trackers.
    """
    generated = step_histogram(fake)
    gap = tf.stop_gradient(global_batch_mean(generated) - global_batch_mean(step_histogram(real)))
    per_example = tf.reduce_sum(tf.sign(gap) * generated, 1)
    return per_example, tf.fill(tf.shape(per_example), tf.reduce_sum(tf.abs(gap)))
