"""Row LSTM PixelRNN: the image processed row by row, a whole row at a time.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (Row LSTM section 3.1).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from genzoo.models.autoregressive.lstm_2d import TwoDimensionalLSTM
from genzoo.models.layers.lstm import lstm_update
from genzoo.models.layers.masked_conv import MaskedConv2D
from genzoo.models.registry import register


@keras.saving.register_keras_serializable("genzoo")
class RowLSTMLayer(keras.layers.Layer):
    """Row LSTM: the image processed row by row, a whole row at a time (section 3.1).

    The input-to-state part is a 1 x k convolution along the row, masked (mask B)
    so pixel j sees inputs left of it and its own earlier colours; the
    state-to-state part is an unmasked 1 x k convolution of the previous row's
    hidden state. Each pixel's context is the triangle above it plus its row's left.
    """

    def __init__(self, units: int, kernel_size: int = 3, num_groups: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.units, self.kernel_size, self.num_groups = units, kernel_size, num_groups
        self.input_to_state = MaskedConv2D(4 * units, (1, kernel_size), "B", num_groups, out_repeats=4,
                                           name="input_to_state")

    def build(self, input_shape):
        self.input_to_state.build(input_shape)
        self.state_to_state = self.add_weight(
            shape=(self.kernel_size, self.units, 4 * self.units), initializer="orthogonal", name="state_to_state")

    def call(self, x):
        # [B, H, W, 4U], every row at once; unstacked once, since each slice's gradient is a full-size tensor
        input_gates = tf.unstack(self.input_to_state(x), axis=1)
        h = tf.zeros_like(input_gates[0][..., :self.units])
        cell, rows = h, []
        for row_gates in input_gates:
            gates = row_gates + tf.nn.conv1d(h, self.state_to_state, 1, "SAME")
            h, cell = lstm_update(gates, cell)
            rows.append(h)
        return tf.stack(rows, axis=1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kernel_size": self.kernel_size,
                "num_groups": self.num_groups}


@register("row_lstm")
@keras.saving.register_keras_serializable("genzoo")
class RowLSTM(TwoDimensionalLSTM):
    __doc__ = "Row LSTM PixelRNN (van den Oord et al. 2016, section 3.1).\n\n" + TwoDimensionalLSTM.__doc__

    def _lstm_layer(self, units, groups, name):
        return RowLSTMLayer(units, 3, groups, name=name)
