"""Convolutional encoders and decoders sized from a DatasetSpec (shared by VAE and GAN)."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from genzoo.data.spec import DatasetSpec

MAX_DOWNSAMPLES = 3


@keras.saving.register_keras_serializable("genzoo")
class AddCoords(layers.Layer):
    """Appends row and column coordinates in [-1, 1] as two channels (CoordConv).

    Liu et al. 2018, *An Intriguing Failing of Convolutional Neural Networks and
    the CoordConv Solution*: plain (transposed) convolutions are translation
    equivariant and learn slowly to put a shape at given coordinates, which is
    what a decoder of sprites must do.
    """

    def call(self, x):
        shape = tf.shape(x)
        rows = tf.linspace(-1.0, 1.0, shape[1])[None, :, None, None]
        cols = tf.linspace(-1.0, 1.0, shape[2])[None, None, :, None]
        ones = tf.ones([shape[0], shape[1], shape[2], 1], x.dtype)
        return tf.concat([x, tf.cast(rows, x.dtype) * ones, tf.cast(cols, x.dtype) * ones], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 2)


def num_downsamples(height: int, width: int) -> int:
    """How many stride-2 halvings keep both sides whole and at least 4 (20 -> 10 -> 5: 2)."""
    n = 0
    while n < MAX_DOWNSAMPLES and height % 2 == 0 and width % 2 == 0 and height >= 8 and width >= 8:
        height, width, n = height // 2, width // 2, n + 1
    return n


def image_input(spec: DatasetSpec, embed_dim: int = 16):
    """Keras input for encoded images and the float feature map it becomes.

    Palette indices are embedded: an embedding is the 1-of-N vector times a matrix,
    without materialising the one-hot tensor.
    """
    if spec.encoding == "palette":
        images = keras.Input(spec.image_shape, dtype="int32", name="image")
        features = layers.Embedding(spec.num_colors, embed_dim, name="colour_embedding")(images)
    else:
        images = keras.Input(spec.image_shape, dtype="float32", name="image")
        features = layers.Rescaling(2.0, offset=-1.0, name="to_symmetric")(images)
    return images, features


def conv_encoder(spec: DatasetSpec, outputs: int, filters: int, hidden: int, num_classes: int = 0, name="encoder"):
    """Image (+ one-hot label) -> `outputs` numbers, through strided convolutions."""
    images, x = image_input(spec)
    x = layers.Conv2D(filters, 3, padding="same", activation="leaky_relu")(AddCoords()(x))
    for i in range(num_downsamples(spec.height, spec.width)):
        x = layers.Conv2D(filters * 2 ** (i + 1), 4, strides=2, padding="same", activation="leaky_relu")(x)
    x = layers.Flatten()(x)
    inputs = [images]
    if num_classes:
        label = keras.Input((num_classes,), name="label_one_hot")
        inputs.append(label)
        x = layers.Concatenate()([x, label])
    x = layers.Dense(hidden, activation="leaky_relu")(x)
    return keras.Model(inputs, layers.Dense(outputs)(x), name=name)


def conv_decoder(spec: DatasetSpec, code_dim: int, params_per_pixel: int, filters: int, hidden: int,
                 num_classes: int = 0, name="decoder"):
    """Code (+ one-hot label) -> per-pixel likelihood parameters `[H, W, P]`."""
    n = num_downsamples(spec.height, spec.width)
    h, w, top = spec.height // 2**n, spec.width // 2**n, filters * 2**n
    code = keras.Input((code_dim,), name="code")
    inputs, x = [code], code
    if num_classes:
        label = keras.Input((num_classes,), name="label_one_hot")
        inputs.append(label)
        x = layers.Concatenate()([code, label])
    x = layers.Dense(hidden, activation="leaky_relu")(x)
    x = layers.Dense(h * w * top, activation="leaky_relu")(x)
    x = layers.Reshape((h, w, top))(x)
    for i in reversed(range(n)):
        x = layers.Conv2DTranspose(filters * 2**i, 4, strides=2, padding="same", activation="leaky_relu")(AddCoords()(x))
    x = layers.Conv2D(filters, 3, padding="same", activation="leaky_relu")(AddCoords()(x))
    return keras.Model(inputs, layers.Conv2D(params_per_pixel, 1)(x), name=name)
