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
fill blocks to count. The loss is max(0, log(parts) - I) per image, and a floor on the usage of its
`parts` most used body regions (`parts_loss`): nothing once an image has that many parts.
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


def parts_loss(logits: tf.Tensor, background: bool, parts: int, pool: int = POOL) -> tf.Tensor:
    """Region logits `[B, H, W, K]` (before the softmax) -> `[B]`: max(0, log(parts) - I) (`body_parts`) plus
    the sum over the image's `parts` most used body regions of max(0, log(1 / (2 parts)) - log(usage)).

    The second term is what moves a generator that paints one region: there the other regions' softmax
    shares are ~e^-40 (the annealed gain times logits of std ~5), I's gradient (~u log u) vanishes, and a
    run with the first term alone stayed at one region (docs/gan.md, "Bodies in parts"). The gradient of
    -log(usage) is about 1 per region however small its usage, taken where that region is already likeliest,
    so a part grows there; both terms are 0 once the image has `parts` parts of at least half an equal share.
    """
    logits = tf.convert_to_tensor(logits, tf.float32)
    log_p = tf.nn.log_softmax(logits, -1)
    log_body = log_p[..., 1:] if background else log_p
    log_share = tf.reduce_logsumexp(log_body, -1)  # [B, H, W]
    log_usage = tf.reduce_logsumexp(log_body, [1, 2]) - tf.reduce_logsumexp(log_share, [1, 2])[:, None]
    most_used = tf.math.top_k(log_usage, parts).values  # [B, parts]
    floor = tf.reduce_sum(tf.nn.relu(math.log(1.0 / (2 * parts)) - most_used), -1)
    return tf.nn.relu(math.log(parts) - body_parts(tf.exp(log_p), background, pool)) + floor
