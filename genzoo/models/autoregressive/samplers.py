"""Samplers of the autoregressive models: the draw of one sub-pixel and two generic loops.

Every sampler draws sub-pixel `step` with the Gumbel noise of (seed, step), so two
samplers that compute the same logits draw the same images: the naive re-run is the
reference that faster samplers are tested against.
"""

from __future__ import annotations

import tensorflow as tf

from genzoo.models.base import seed_pair


def uniform_noise(shape, seed, step) -> tf.Tensor:
    """Uniform noise in (0, 1) of `shape` (`[B, V]`) for sub-pixel `step`: a stateless draw seeded by (seed, step)."""
    return tf.random.stateless_uniform(shape, seed_pair(seed, step), minval=1e-20, maxval=1.0, alg="philox")


def gumbel(uniform) -> tf.Tensor:
    """Uniform noise -> Gumbel noise, -log(-log u), elementwise (any shape: the same numbers)."""
    return -tf.math.log(-tf.math.log(uniform))


def gumbel_noise(shape, seed, step) -> tf.Tensor:
    """Gumbel noise of `shape` (`[B, V]`) for sub-pixel `step`."""
    return gumbel(uniform_noise(shape, seed, step))


def pick(logits, gumbel, temperature) -> tf.Tensor:
    """One value per row of `logits [B, V]`: softmax(logits / T) sampled, argmax at T = 0.

    The Gumbel-max trick, argmax(logits / T + Gumbel noise), is an exact categorical
    sample and shares one argmax with the greedy T = 0 path.
    """
    logits = tf.cast(logits, tf.float32)
    temperature = tf.cast(temperature, tf.float32)
    greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
    drawn = tf.argmax(logits / tf.maximum(temperature, 1e-6) + gumbel, axis=-1, output_type=tf.int32)
    return tf.where(temperature > 0, drawn, greedy)


def draw(logits, seed, step, temperature) -> tf.Tensor:
    """`pick` with the noise of sub-pixel `step` under `seed`."""
    return pick(logits, gumbel_noise(tf.shape(logits), seed, step), temperature)


def prefix_logits(model, values, step, labels=None) -> tf.Tensor:
    """Logits `[B, V]` of sub-pixel `step` from a full re-run of `model.value_logits` (the default
    `prefix_logits` of a model; a recurrent model may re-run only the prefix)."""
    channels, width = model.num_channels, model.spec.width
    pixel, channel = step // channels, step % channels
    logits = model.value_logits(values, labels)
    return tf.gather(logits[:, pixel // width, pixel % width], channel, axis=1)


def naive_generate(model, known, num_known, seed, temperature, labels=None):
    """Sub-pixel by sub-pixel, re-running the network on the whole image each time.

    `known [B, H, W, C]` values: the first `num_known` pixels are kept, the rest drawn.
    O(H*W*C) network evaluations: the exact reference for every faster sampler.
    """
    shape = tf.shape(known)
    total = model.num_pixels * model.num_channels
    flat_known = tf.reshape(known, [shape[0], total])
    keep = tf.range(total) < num_known * model.num_channels
    values = tf.where(keep[None], flat_known, 0)  # hidden values never enter the network

    def body(step, values):
        logits = model.prefix_logits(tf.reshape(values, shape), step, labels)
        value = tf.where(step < num_known * model.num_channels, flat_known[:, step],
                         draw(logits, seed, step, temperature))
        here = tf.one_hot(step, total, dtype=tf.int32)[None]
        return step + 1, values * (1 - here) + value[:, None] * here

    _, values = tf.while_loop(lambda step, _: step < total, body, (tf.constant(0), values))
    return tf.reshape(values, shape)


def rowwise_generate(model, known, num_known, seed, temperature, labels=None):
    """`naive_generate`, but row r's sub-pixels run the network on rows 0..r only.

    For networks that take any number of rows (PixelCNN): row r depends on rows 0..r
    alone, so the logits are the same (a test checks) for about half the work; each
    row's network is traced once with its own height.
    """
    width, channels = model.spec.width, model.num_channels
    per_row = width * channels
    known_subpixels = num_known * channels
    rows = []
    for r in range(model.spec.height):  # unrolled: each row's network has its own static height
        row_known = tf.reshape(known[:, r], [-1, per_row])
        first = r * per_row
        row = tf.where((first + tf.range(per_row) < known_subpixels)[None], row_known, 0)

        def body(k, row, r=r, first=first, row_known=row_known):
            prefix = tf.concat(rows + [tf.reshape(row, [-1, 1, width, channels])], axis=1)
            logits = tf.gather(model.value_logits(prefix, labels)[:, r, k // channels], k % channels, axis=1)
            step = first + k
            value = tf.where(step < known_subpixels, row_known[:, k], draw(logits, seed, step, temperature))
            here = tf.one_hot(k, per_row, dtype=tf.int32)[None]
            return k + 1, row * (1 - here) + value[:, None] * here

        # Rows wholly given (completion) skip the network.
        start = tf.clip_by_value(known_subpixels - first, 0, per_row)
        _, row = tf.while_loop(lambda k, _: k < per_row, body, (start, row))
        rows.append(tf.reshape(row, [-1, 1, width, channels]))
    return tf.concat(rows, axis=1)
