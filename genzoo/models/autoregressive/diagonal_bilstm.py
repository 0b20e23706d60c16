"""Diagonal BiLSTM PixelRNN: two LSTMs sweeping the image's diagonals.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (Diagonal BiLSTM section 3.2, skewing figure 3).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from genzoo.models.autoregressive.lstm_2d import TwoDimensionalLSTM
from genzoo.models.layers.lstm import lstm_update
from genzoo.models.layers.masked_conv import MaskedConv2D
from genzoo.models.registry import register


def skew(x):
    """`[B, H, W, C]` -> `[B, H, W + H - 1, C]`: row i shifted right by i, so diagonals become columns."""
    height = x.shape[1]
    return tf.stack([tf.pad(x[:, i], [[0, 0], [i, height - 1 - i], [0, 0]]) for i in range(height)], axis=1)


def unskew(x, width: int):
    return tf.stack([row[:, i:i + width] for i, row in enumerate(tf.unstack(x, axis=1))], axis=1)


@keras.saving.register_keras_serializable("genzoo")
class DiagonalBiLSTMLayer(keras.layers.Layer):
    """Diagonal BiLSTM: two LSTMs sweeping the image's diagonals (section 3.2).

    The input map is skewed so each diagonal is a column; a masked 1x1
    input-to-state convolution and a 2x1 state-to-state convolution over the
    previous column give each position its left and upper neighbours' states. The
    right-to-left direction runs on the mirrored map; its output is mirrored back
    and shifted down one row, so a pixel only sees that direction's rows above.
    """

    DIRECTIONS = ("left_to_right", "right_to_left")

    def __init__(self, units: int, num_groups: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.units, self.num_groups = units, num_groups
        # One attribute per direction, not a list: TensorFlow checkpoints do not see
        # into Keras' tracked lists, so list-held weights were saved only through the
        # optimizer and never restored into the model (genzoo.training.checkpoints checks).
        for d in self.DIRECTIONS:
            setattr(self, f"input_to_state_{d}",
                    MaskedConv2D(4 * units, 1, "B", num_groups, out_repeats=4, name=f"input_to_state_{d}"))

    def build(self, input_shape):
        for d in self.DIRECTIONS:
            getattr(self, f"input_to_state_{d}").build(input_shape)
            # [2 taps (upper, same row), U, 4U]
            setattr(self, f"state_to_state_{d}", self.add_weight(
                shape=(2, self.units, 4 * self.units), initializer="orthogonal", name=f"state_to_state_{d}"))

    def _sweep(self, x, input_to_state, state_to_state):
        width = x.shape[2]
        input_gates = tf.unstack(skew(input_to_state(x)), axis=2)  # W + H - 1 diagonals of [B, H, 4U]
        h = tf.zeros_like(input_gates[0][..., :self.units])
        cell, columns = h, []
        for column_gates in input_gates:
            upper = tf.pad(h[:, :-1], [[0, 0], [1, 0], [0, 0]])  # the neighbour above, via the previous diagonal
            neighbours = tf.reshape(tf.concat([upper, h], axis=-1), [-1, 2 * self.units])  # one 2-D matmul
            gates = column_gates + tf.reshape(neighbours @ tf.reshape(state_to_state, [2 * self.units, -1]),
                                              tf.shape(column_gates))
            h, cell = lstm_update(gates, cell)
            columns.append(h)
        return unskew(tf.stack(columns, axis=2), width)

    def call(self, x):
        forward = self._sweep(x, self.input_to_state_left_to_right, self.state_to_state_left_to_right)
        backward = tf.reverse(self._sweep(tf.reverse(x, [2]), self.input_to_state_right_to_left,
                                          self.state_to_state_right_to_left), [2])
        backward = tf.pad(backward[:, :-1], [[0, 0], [1, 0], [0, 0], [0, 0]])  # down one row: no peeking right
        return forward + backward

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_groups": self.num_groups}


@register("diagonal_bilstm")
@keras.saving.register_keras_serializable("genzoo")
class DiagonalBiLSTM(TwoDimensionalLSTM):
    __doc__ = "Diagonal BiLSTM PixelRNN (van den Oord et al. 2016, section 3.2).\n\n" + TwoDimensionalLSTM.__doc__

    def _lstm_layer(self, units, groups, name):
        return DiagonalBiLSTMLayer(units, groups, name=name)
