"""CoordConv: coordinates as extra channels."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers


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
