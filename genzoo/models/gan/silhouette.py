"""A second discriminator that sees silhouettes only (`silhouette_weight`).

The `pokemon40` GANs paint the sprites' colours per body (docs/gan.md, "Hues per body") but blobs for
bodies: fewer thin parts and enclosed gaps than the sprites ("Shading in steps"). The main discriminator
sees colour first; this one sees only where the body is, a binary mask: the real sprite's non-background
pixels against the generator's body regions (every pixel whose most likely region is not the background,
as sampling paints it, with the background share's gradient: straight-through), so shapes (limbs, gaps,
outlines' turns) are asked for on their own. It trains beside the main discriminator with the model's loss,
and the generator's loss adds `silhouette_weight` times its adversarial term.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from genzoo.models.gan.networks import straight_through

__all__ = ["fake_mask", "real_mask", "to_input"]

# A real pixel is background when every channel is within this of the background colour (model space [-1, 1]).
TOLERANCE = 1e-3


def real_mask(images: tf.Tensor, background) -> tf.Tensor:
    """`[B, H, W, C]` real images in [-1, 1] -> `[B, H, W, 1]` 1 on the body, 0 on the background colour."""
    background = tf.constant(background, images.dtype)
    off = tf.reduce_max(tf.abs(images - background), axis=-1, keepdims=True)
    return tf.cast(off > TOLERANCE, images.dtype)


def fake_mask(region_logits: tf.Tensor) -> tf.Tensor:
    """`[B, H, W, K]` gained region logits (region 0 the background) -> `[B, H, W, 1]`: 1 where sampling would
    paint a body region, with the gradient of the soft body share 1 - softmax(logits)[0] (straight-through)."""
    soft = 1.0 - keras.ops.softmax(region_logits, axis=-1)[..., :1]
    return straight_through(soft, tf.cast(tf.argmax(region_logits, axis=-1)[..., None] > 0, soft.dtype))


def to_input(mask: tf.Tensor) -> tf.Tensor:
    """A 0/1 mask -> the discriminator's input in [-1, 1] (body 1, background -1)."""
    return 2.0 * mask - 1.0
