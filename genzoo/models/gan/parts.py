"""The parts term: a region generator asked to paint each body in several confident regions.

Every shaded `cgan` on `pokemon40` painted one body region per sprite (docs/gan.md, "Lines
inside the body"): the shade alone draws a one-hue body, so lines between parts and parts of
other colours never appear. The sprites' bodies are a few coloured parts. `parts_loss` asks
each generated image for at least `parts` confidently painted body regions: the mutual
information between a block of the body and its region, I = H(region usage over the body) - the
body's mean region entropy within a block, whose exponential counts equally used regions that
each block commits to (a blend of three regions everywhere counts one). Blocks of POOL x POOL
pixels, not single pixels: measured per pixel, the generator met the term within 24 epochs with
regions alternating pixel by pixel (a cross-hatch, which `inner_lines` then drew), so a part must
fill blocks to count. The loss is max(0, log(parts) - I) per image: nothing once an image has that
many parts.
"""

from __future__ import annotations

import math

import tensorflow as tf

__all__ = ["body_parts", "parts_loss"]

TINY = 1e-8
POOL = 4  # a part counts by the 4 x 4 blocks it fills (10 x 10 blocks on pokemon40, 5 x 5 on pokemon)


def _entropy(p, axis=-1):
    return -tf.reduce_sum(p * tf.math.log(p + TINY), axis)


def body_parts(weights: tf.Tensor, background: bool, pool: int = POOL) -> tf.Tensor:
    """Region weights `[B, H, W, K]` (a softmax per pixel; region 0 the background when `background`)
    -> `[B]`: I in nats, the mutual information between a `pool` x `pool` block of the body and its
    body region, each block weighted by its body share (`pool=1`: per pixel). exp(I) is the number
    of equally used regions when each block is one region; 0 for an image without body."""
    weights = tf.convert_to_tensor(weights, tf.float32)
    body = weights[..., 1:] if background else weights
    if pool > 1:  # block sums (a mean; the ratios below do not see the factor)
        body = tf.nn.avg_pool2d(body, pool, pool, "SAME")
    share = tf.reduce_sum(body, -1)  # [B, H, W]: each block's body share
    mass = tf.reduce_sum(share, [1, 2])  # [B]
    usage = tf.reduce_sum(body, [1, 2]) / (mass[:, None] + TINY)  # [B, K']
    block = _entropy(body / (share[..., None] + TINY))  # [B, H, W]: each block's entropy among body regions
    within = tf.reduce_sum(share * block, [1, 2]) / (mass + TINY)
    return _entropy(usage) - within


def parts_loss(weights: tf.Tensor, background: bool, parts: int, pool: int = POOL) -> tf.Tensor:
    """`[B]`: max(0, log(parts) - I) per image (`body_parts`)."""
    return tf.nn.relu(math.log(parts) - body_parts(weights, background, pool))
