"""The parts term: a region generator asked to paint each body in several confident regions.

Every shaded `cgan` on `pokemon40` painted one body region per sprite (docs/gan.md, "Lines
inside the body"): the shade alone draws a one-hue body, so lines between parts and parts of
other colours never appear. The sprites' bodies are a few coloured parts. `parts_loss` asks
each generated image for at least `parts` confidently painted body regions: the mutual
information between a body pixel and its region, I = H(region usage over the body) - the
body's mean per-pixel region entropy, whose exponential counts equally used regions that each
pixel commits to (a blend of three regions in every pixel counts one). The loss is
max(0, log(parts) - I) per image: nothing once an image has that many parts.
"""

from __future__ import annotations

import math

import tensorflow as tf

__all__ = ["body_parts", "parts_loss"]

TINY = 1e-8


def _entropy(p, axis=-1):
    return -tf.reduce_sum(p * tf.math.log(p + TINY), axis)


def body_parts(weights: tf.Tensor, background: bool) -> tf.Tensor:
    """Region weights `[B, H, W, K]` (a softmax per pixel; region 0 the background when `background`)
    -> `[B]`: I in nats, the mutual information between a body pixel and its body region, each
    pixel weighted by its body share. exp(I) is the number of equally used regions for one-hot
    pixels; 0 for an image without body."""
    weights = tf.convert_to_tensor(weights, tf.float32)
    body = weights[..., 1:] if background else weights
    share = tf.reduce_sum(body, -1)  # [B, H, W]: each pixel's body share
    mass = tf.reduce_sum(share, [1, 2])  # [B]
    usage = tf.reduce_sum(body, [1, 2]) / (mass[:, None] + TINY)  # [B, K']
    pixel = _entropy(body / (share[..., None] + TINY))  # [B, H, W]: each pixel's entropy among body regions
    within = tf.reduce_sum(share * pixel, [1, 2]) / (mass + TINY)
    return _entropy(usage) - within


def parts_loss(weights: tf.Tensor, background: bool, parts: int) -> tf.Tensor:
    """`[B]`: max(0, log(parts) - I) per image (`body_parts`)."""
    return tf.nn.relu(math.log(parts) - body_parts(weights, background))
