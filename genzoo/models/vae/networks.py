"""The VAE's convolutional encoder and decoder, sized from a DatasetSpec, and the
PixelVAE's autoregressive head.

References:
  He et al., *Identity Mappings in Deep Residual Networks*, 2016 (pre-activation blocks).
  Gulrajani et al., *PixelVAE: A Latent Variable Model for Natural Images*, 2017
    (a few masked convolutions conditioned on the decoder's feature map).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from genzoo.data.spec import DatasetSpec
from genzoo.models.layers.convolutional import image_input, num_downsamples
from genzoo.models.layers.coords import AddCoords
from genzoo.models.layers.masked_conv import MaskedConv2D


def residual_block(x, filters: int, dropout: float = 0.0, name: str | None = None):
    """x + conv3x3(act(dropout(conv3x3(act(x))))): a pre-activation block (He et al. 2016).

    The identity path lets the stack grow deeper without making the sprites' outlines
    harder to pass through; dropout between the convolutions regularises a network that
    otherwise memorises 712 training sprites within minutes.
    """
    h = layers.Activation("leaky_relu")(x)
    h = layers.Conv2D(filters, 3, padding="same")(h)
    h = layers.Activation("leaky_relu")(h)
    if dropout:
        h = layers.Dropout(dropout)(h)
    h = layers.Conv2D(filters, 3, padding="same")(h)
    return layers.Add(name=name)([x, h])


def conv_encoder(spec: DatasetSpec, outputs: int, filters: int, hidden: int, num_classes: int = 0,
                 name="encoder", blocks: int = 0, dropout: float = 0.0):
    """Image (+ one-hot label) -> `outputs` numbers, through strided convolutions.

    `blocks` residual blocks follow the first convolution and each halving (0: the
    plain network); `dropout` acts inside the blocks and before the dense layer.
    """
    images, x = image_input(spec)
    x = layers.Conv2D(filters, 3, padding="same", activation="leaky_relu")(AddCoords()(x))
    for _ in range(blocks):
        x = residual_block(x, filters, dropout)
    for i in range(num_downsamples(spec.height, spec.width)):
        x = layers.Conv2D(filters * 2 ** (i + 1), 4, strides=2, padding="same", activation="leaky_relu")(x)
        for _ in range(blocks):
            x = residual_block(x, filters * 2 ** (i + 1), dropout)
    x = layers.Flatten()(x)
    if dropout:
        x = layers.Dropout(dropout)(x)
    inputs = [images]
    if num_classes:
        label = keras.Input((num_classes,), name="label_one_hot")
        inputs.append(label)
        x = layers.Concatenate()([x, label])
    x = layers.Dense(hidden, activation="leaky_relu")(x)
    return keras.Model(inputs, layers.Dense(outputs)(x), name=name)


def conv_decoder(spec: DatasetSpec, code_dim: int, params_per_pixel: int, filters: int, hidden: int,
                 num_classes: int = 0, name="decoder", blocks: int = 0, dropout: float = 0.0,
                 label_maps: bool = False):
    """Code (+ one-hot label) -> per-pixel likelihood parameters `[H, W, P]`.

    With `params_per_pixel` = 0 the decoder ends at its last feature map (`filters`
    channels, the PixelVAE's conditioning). `label_maps` adds the one-hot label as
    constant channels at every resolution (a conditional decoder then sees its label
    everywhere, not only through the first dense layer).
    """
    n = num_downsamples(spec.height, spec.width)
    h, w, top = spec.height // 2**n, spec.width // 2**n, filters * 2**n
    code = keras.Input((code_dim,), name="code")
    inputs, x = [code], code
    label = None
    if num_classes:
        label = keras.Input((num_classes,), name="label_one_hot")
        inputs.append(label)
        x = layers.Concatenate()([code, label])

    def with_label(t):
        return LabelMaps()([t, label]) if label_maps and label is not None else t

    x = layers.Dense(hidden, activation="leaky_relu")(x)
    x = layers.Dense(h * w * top, activation="leaky_relu")(x)
    x = layers.Reshape((h, w, top))(x)
    for _ in range(blocks):
        x = residual_block(x, top, dropout)
    for i in reversed(range(n)):
        x = layers.Conv2DTranspose(filters * 2**i, 4, strides=2, padding="same", activation="leaky_relu")(
            AddCoords()(with_label(x)))
        for _ in range(blocks):
            x = residual_block(x, filters * 2**i, dropout)
    x = layers.Conv2D(filters, 3, padding="same", activation="leaky_relu")(AddCoords()(with_label(x)))
    if not params_per_pixel:
        return keras.Model(inputs, x, name=name)
    return keras.Model(inputs, layers.Conv2D(params_per_pixel, 1)(x), name=name)


@keras.saving.register_keras_serializable("genzoo")
class LabelMaps(layers.Layer):
    """Appends a `[B, K]` vector (the one-hot label) to a feature map as K constant channels."""

    def call(self, inputs):
        x, label = inputs
        shape = tf.shape(x)
        maps = tf.tile(tf.cast(label, x.dtype)[:, None, None, :], [1, shape[1], shape[2], 1])
        return tf.concat([x, maps], axis=-1)

    def compute_output_shape(self, input_shape):
        x, label = input_shape
        return (*x[:-1], x[-1] + label[-1])


def pixel_head(spec: DatasetSpec, feature_channels: int, params_per_pixel: int, filters: int, layers_: int,
               name="pixel_decoder"):
    """The PixelVAE's autoregressive part: [image, decoder features] -> per-pixel parameters.

    A 7x7 mask-A convolution of the embedded image (a pixel never sees itself), then
    `layers_ - 1` residual 3x3 mask-B convolutions; the decoder's feature map enters
    every layer through a 1x1 convolution (Gulrajani et al. 2017, section 3: the
    autoregressive layers model local detail given the latent image). One colour group:
    palette and binary images (one value per pixel).
    """
    # Any number of rows: the sampler runs it on the few rows a pixel can see.
    images, x = image_input(spec.replace(height=None))
    features = keras.Input((None, spec.width, feature_channels), name="features")
    h = layers.Add()([MaskedConv2D(filters, 7, "A")(x), layers.Conv2D(filters, 1)(features)])
    for _ in range(layers_ - 1):
        a = layers.Activation("leaky_relu")(h)
        a = layers.Add()([MaskedConv2D(filters, 3, "B")(a), layers.Conv2D(filters, 1)(features)])
        h = layers.Add()([h, a])
    out = layers.Conv2D(params_per_pixel, 1)(layers.Activation("leaky_relu")(h))
    return keras.Model([images, features], out, name=name)
