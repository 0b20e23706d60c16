"""A self-supervised discriminator: a decoder that rebuilds each real image from the DCGAN
discriminator's last feature map (Liu et al. 2021, *Towards Faster and Stabilized GAN Training
for High-fidelity Few-shot Image Synthesis* (FastGAN), section 3.2).

The decoder trains with the discriminator on real images only, so the discriminator's
features must describe a whole sprite (its shape, parts and colours), not only the cue that
tells the current fakes apart; FastGAN found this regulariser the key to training on 100-1000
images. Simplified here: one decoder from the whole last map to the whole image, with an L1 loss
on pixels (FastGAN adds a second decoder for a random crop of a finer map and a perceptual loss,
which needs a pretrained network; neither is here).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from genzoo.models.gan.networks import HEAD
from genzoo.models.layers.convolutional import num_downsamples


def decoder(feature_shape: tuple, image_shape: tuple, filters: int, name: str = "d_decoder") -> keras.Model:
    """`[B, h, w, c]` features -> `[B, H, W, C]` in [-1, 1]: FastGAN's upsampling blocks (nearest
    doubling, 3x3 convolution, batch norm, GLU), halving the channels per doubling as the DCGAN
    generator does, then a 3x3 convolution and tanh."""
    height, width, channels = image_shape
    n = num_downsamples(height, width)
    features = keras.Input(feature_shape, name="features")
    x = features
    for i in reversed(range(n)):
        x = layers.Conv2D(2 * filters * 2**i, 3, padding="same", use_bias=False)(layers.UpSampling2D(2)(x))
        x = layers.BatchNormalization(synchronized=True)(x)
        value, gate = keras.ops.split(x, 2, axis=-1)
        x = value * keras.ops.sigmoid(gate)  # GLU (Dauphin et al. 2017)
    x = layers.Conv2D(channels, 3, padding="same", activation="tanh", **HEAD)(x)
    return keras.Model(features, x, name=name)


def feature_map(discriminator: keras.Model):
    """The symbolic feature map `[B, h, w, c]` that the discriminator's head flattens."""
    return next(layer for layer in discriminator.layers if isinstance(layer, layers.Flatten)).input


def feature_view(discriminator: keras.Model) -> keras.Model:
    """The discriminator's outputs and `feature_map`, from one call: a view of the same layers (no new
    weights), so batch norm sees the batch once."""
    return keras.Model(discriminator.inputs, [*discriminator.outputs, feature_map(discriminator)])


def reconstruction_loss(decoded: tf.Tensor, target: tf.Tensor) -> tf.Tensor:
    """Per-example mean absolute error `[B]` (FastGAN's pixel term)."""
    return tf.reduce_mean(tf.abs(tf.cast(decoded, tf.float32) - tf.cast(target, tf.float32)), axis=[1, 2, 3])
