"""Row LSTM PixelRNN: the image processed row by row, a whole row at a time.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (Row LSTM section 3.1).
  Ramachandran et al., *Fast Generation for Convolutional Autoregressive Models*, 2017
  (caching, `cached.py`).

Sampling is cached (`RowLSTM._generate`): the LSTM state at pixel (i, j) depends on
row i's inputs at columns <= j (the masked 1 x 3 input-to-state convolution) and on
row i - 1's states (complete), so each sub-pixel computes every layer at its pixel
only, from the carried maps of the earlier pixels.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from genzoo.models.autoregressive import cached
from genzoo.models.autoregressive.lstm_2d import TwoDimensionalLSTM
from genzoo.models.layers.lstm import lstm_update, scan_lstm
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
        rows = tf.transpose(self.input_to_state(x), [1, 0, 2, 3])  # [H, B, W, 4U], every row's input gates at once
        hidden = scan_lstm(rows, lambda h: tf.nn.conv1d(h, self.state_to_state, 1, "SAME"))  # the row above
        return tf.transpose(hidden, [1, 0, 2, 3])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "kernel_size": self.kernel_size,
                "num_groups": self.num_groups}


@register("row_lstm")
@keras.saving.register_keras_serializable("genzoo")
class RowLSTM(cached.CachedSampler, TwoDimensionalLSTM):
    __doc__ = ("Row LSTM PixelRNN (van den Oord et al. 2016, section 3.1).\n\n" + TwoDimensionalLSTM.__doc__.replace(
        "Sampling re-runs the network for every sub-pixel: H*W*C passes per batch.",
        "Sampling is cached: each sub-pixel computes every layer at its pixel only (`_generate`)."))

    def _lstm_layer(self, units, groups, name):
        return RowLSTMLayer(units, 3, groups, name=name)

    # === Cached sampling ===
    def _cached_run(self, known, num_known, gumbel, temperature, labels=None, log_probs=False):
        """`cached.run` with the network written out per position, on the layers of `self.network` (no labels).

        Per layer it keeps the maps of its input features (the input-to-state window reads the pixel
        to the left), hidden states and cells (the row above); the mask-A 7x7 window reads the cached
        input features. What reads only the rows above is done a row at a time when the row above is
        finished: the 7x7 window's rows above (`CausalConv.rows_above`) and each layer's
        state-to-state convolution of the row above's hidden states. One XLA-compiled loop per slice
        of the batch, the noise drawn before it (`cached.CachedSampler`).
        """
        net, c, v, u = self.network, self.num_channels, self.num_values, self.units
        first = cached.CausalConv(net.get_layer("mask_a_7x7"))
        layers, pads = [], [first.pad]
        for i in range(self.num_layers):
            lstm = net.get_layer(f"lstm_{i}")
            layers.append((cached.CausalConv(lstm.input_to_state), lstm.state_to_state,
                           cached.CausalConv(net.get_layer(f"residual_{i}"))))
            pads += [layers[-1][0].pad, (1, lstm.kernel_size // 2), (1, 0)]  # x, h (the row above), cell (above)

        def forward(maps, row, col, pixel, above):
            x = first(cached.value_features(net, pixel, v), maps[0], row, col, above[0])
            activations = []
            for (to_state, _, residual), (x_map, _, cell_map), state_term in zip(layers, _triples(maps[1:]), above[1:]):
                gates = to_state(x, x_map, row, col) + state_term[col]
                h, cell = lstm_update(gates, cached.window(cell_map, row, col, 1, 1))
                activations += [x, h, cell]
                x = x + residual(h)
            return cached.output_logits(net, x, c, v), activations

        def write_pixel(maps, row, col, pixel, activations):
            values = [cached.value_features(net, pixel, v), *activations]
            return tuple(cached.write(m, row, col, value, pad) for m, value, pad in zip(maps, values, pads))

        def rows_above(maps, row):
            """Row `row`'s terms from the rows above: the 7x7 window's `[W, B, filters]`, per layer the
            state-to-state convolution of the row above's hidden states `[W, B, 4U]`."""
            terms = [first.rows_above(maps[0], row)]
            for (_, state_to_state, _), (_, h_map, _) in zip(layers, _triples(maps[1:])):
                h_above = tf.transpose(h_map[row], [1, 0, 2])  # padded row `row` is image row `row - 1`
                terms.append(tf.transpose(tf.nn.conv1d(h_above, state_to_state, 1, "VALID"), [1, 0, 2]))
            return tuple(terms)

        h, w, batch = self.spec.height, self.spec.width, tf.shape(known)[0]
        maps = [cached.empty(batch, h, w, c if c > 1 else self.embed_dim, first.pad)]
        activations = []
        for pad, channels in zip(pads[1:], [self.filters, u, u] * self.num_layers):
            maps.append(cached.empty(batch, h, w, channels, pad))
            activations.append(tf.zeros([batch, channels]))
        return cached.run(forward, write_pixel, tuple(maps), activations, known, num_known, gumbel, temperature,
                          rows_above=rows_above, log_probs=log_probs)

    def sampling_flops(self, num: int) -> float:
        """Per sub-pixel: the 7x7 window's centre-row taps, per layer the input-to-state window (causal
        taps) and the residual 1x1, the two output layers; per pixel once (a row at a time, H + 1 rows:
        the loop also does the row below the last): the 7x7 window's rows above and per layer the
        state-to-state window (k hidden states of the row above)."""
        net, u = self.network, self.units
        row, above = cached.split_flops(net.get_layer("mask_a_7x7"))
        per_subpixel = row + cached.output_flops(net)
        for i in range(self.num_layers):
            lstm = net.get_layer(f"lstm_{i}")
            per_subpixel += cached.causal_flops(lstm.input_to_state, net.get_layer(f"residual_{i}"))
            above += 2 * lstm.kernel_size * u * 4 * u
        return self.cached_loop_flops(num, per_subpixel, 0.0, above)


def _triples(maps):
    return [maps[i:i + 3] for i in range(0, len(maps), 3)]
