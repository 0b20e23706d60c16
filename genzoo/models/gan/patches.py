"""A local discriminator that judges small windows of an image (`patch_weight`).

The `pokemon40` GANs paint fewer small colour patches (eyes, accents, hue-shifted tones: 4-15 pixels)
than the sprites: 1.4-2.6 per body against 4.6 (docs/gan.md, "Colour patches"). The main discriminator
scores a whole sprite with one number, so a two-pixel eye moves it little. This one (PatchGAN, Isola et
al. 2017, *Image-to-Image Translation with Conditional Adversarial Networks*, section 3.2.2) is fully
convolutional: one score per window of `WINDOW` pixels, every `STRIDE` pixels (10 x 10 windows on a 40 x 40
image), so it judges local detail, and it sees a hundred windows per sprite, which are harder to memorise
than 712 whole sprites. It trains with the main discriminator's optimizer on the same (augmented) real and
generated images; each player's loss is its per-window loss averaged over the windows, and the generator's
adds `patch_weight` times it. Unconditional: the label is the main discriminator's business.
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from genzoo.models.gan.networks import HEAD, conv_class, discriminator_features

__all__ = ["STRIDE", "WINDOW", "discriminator", "mean_over_windows"]

HALVINGS = 2  # strided convolutions
# The receptive field: 3 pixels from the 3x3 convolution, 3 more input steps per 4x4 stride-2 one, 3 * 2^H in all.
WINDOW = 3 * 2 ** HALVINGS
STRIDE = 2 ** HALVINGS


def discriminator(shape: tuple, filters: int, norm: str = "batch", spectral_norm: bool = False,
                  name: str = "patch_discriminator") -> keras.Model:
    """`[B, H, W, C]` in [-1, 1] -> `[B, ceil(H / 4), ceil(W / 4)]` scores, one per 12 x 12 window: a 3 x 3
    convolution, two 4 x 4 stride-2 convolutions (normalised as the main discriminator, `norm`) with
    LeakyReLU(0.2), and a 1 x 1 convolution to the score (DCGAN's blocks without the flatten)."""
    image = keras.Input(shape, name="image")
    x = discriminator_features(image, filters, HALVINGS, norm, spectral_norm)
    scores = layers.Reshape(tuple(x.shape[1:3]), **HEAD)(conv_class(spectral_norm)(1, 1, name="score", **HEAD)(x))
    return keras.Model(image, scores, name=name)


def mean_over_windows(per_window: tf.Tensor) -> tf.Tensor:
    """`[B, h, w]` per-window losses -> `[B]` per-example losses."""
    return tf.reduce_mean(per_window, axis=[1, 2])
