"""Diagonal BiLSTM PixelRNN: two LSTMs sweeping the image's diagonals.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (Diagonal BiLSTM section 3.2, skewing figure 3).
  Ramachandran et al., *Fast Generation for Convolutional Autoregressive Models*, 2017
  (caching, `cached.py`).

Sampling is cached (`DiagonalBiLSTM._generate`): the left-to-right state at pixel
(i, j) needs the states at (i, j - 1) and (i - 1, j) and the input at (i, j) only,
so it is computed per pixel; the right-to-left sweep reaches a pixel shifted down one
row, so row i - 1's sweep runs once that row is complete, at the end of the row.
"""

from __future__ import annotations

import functools

import keras
import tensorflow as tf

from genzoo.models.autoregressive import cached
from genzoo.models.autoregressive.lstm_2d import TwoDimensionalLSTM
from genzoo.models.layers.lstm import lstm_update, scan_lstm
from genzoo.models.layers.masked_conv import MaskedConv2D
from genzoo.models.registry import register


def skew(x):
    """`[B, H, W, C]` -> `[B, H, W + H - 1, C]`: row i shifted right by i, so diagonals become columns.

    Rows padded to W + H and read back as rows one shorter: each row starts one step further into
    its padded row. A fixed number of ops whatever the height (a per-row pad and stack traced H).
    """
    height, width, channels = x.shape[1], x.shape[2], x.shape[3]
    flat = tf.reshape(tf.pad(x, [[0, 0], [0, 0], [0, height], [0, 0]]), [-1, height * (width + height), channels])
    return tf.reshape(flat[:, :height * (width + height - 1)], [-1, height, width + height - 1, channels])


def unskew(x, width: int):
    """`skew`'s inverse: `[B, H, W + H - 1, C]` -> `[B, H, W, C]` (rows read back one longer)."""
    height, diagonals, channels = x.shape[1], x.shape[2], x.shape[3]
    flat = tf.pad(tf.reshape(x, [-1, height * diagonals, channels]), [[0, 0], [0, height], [0, 0]])
    return tf.reshape(flat, [-1, height, diagonals + 1, channels])[:, :, :width]


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
        width, units = x.shape[2], self.units
        diagonals = tf.transpose(skew(input_to_state(x)), [2, 0, 1, 3])  # W + H - 1 diagonals of [B, H, 4U]
        kernel = tf.reshape(state_to_state, [2 * units, 4 * units])

        def recurrent(h):  # the previous diagonal's states: the neighbours above and to the left
            upper = tf.pad(h[:, :-1], [[0, 0], [1, 0], [0, 0]])
            neighbours = tf.reshape(tf.concat([upper, h], axis=-1), [-1, 2 * units])  # one 2-D matmul
            return tf.reshape(neighbours @ kernel, tf.shape(h) * [1, 1, 4])

        columns = scan_lstm(diagonals, recurrent)
        return unskew(tf.transpose(columns, [1, 2, 0, 3]), width)

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
class DiagonalBiLSTM(cached.CachedSampler, TwoDimensionalLSTM):
    __doc__ = ("Diagonal BiLSTM PixelRNN (van den Oord et al. 2016, section 3.2).\n\n"
               + TwoDimensionalLSTM.__doc__.replace(
                   "Sampling re-runs the network for every sub-pixel: H*W*C passes per batch.",
                   "Sampling is cached: each sub-pixel computes every layer at its pixel only (`_generate`)."))

    def _lstm_layer(self, units, groups, name):
        return DiagonalBiLSTMLayer(units, groups, name=name)

    # === Cached sampling ===
    def _cached_run(self, known, num_known, gumbel, temperature, labels=None, log_probs=False):
        """`cached.run` with the network written out per position, on the layers of `self.network` (no labels).

        Per layer it keeps the maps of its input features, left-to-right hidden states (the pixel
        above and the one to the left are read) and cells (the one to the left), and the
        right-to-left hidden states, which a sweep over each finished row fills (the pixel below
        reads them). The terms from the rows above are done a row at a time when the row above is
        finished: the 7x7 window's rows above (`CausalConv.rows_above`) and each layer's
        state-to-state product of the hidden state above. One XLA-compiled loop per slice of the
        batch, the noise drawn before it (`cached.CachedSampler`).
        """
        net, c, v, u = self.network, self.num_channels, self.num_values, self.units
        first = cached.CausalConv(net.get_layer("mask_a_7x7"))
        layers = []
        for i in range(self.num_layers):
            lstm = net.get_layer(f"lstm_{i}")
            layers.append((cached.CausalConv(lstm.input_to_state_left_to_right),
                           tf.reshape(lstm.state_to_state_left_to_right, [2 * u, 4 * u]),
                           cached.CausalConv(lstm.input_to_state_right_to_left), lstm.state_to_state_right_to_left,
                           cached.CausalConv(net.get_layer(f"residual_{i}"))))
        # Per layer: the maps of the input features x (read by the row's sweep), the left-to-right h
        # (read below) and the right-to-left h (written a row at a time, read below); the pixel to the
        # left's h and cell are carried as they are (read from the h map right after it was written,
        # XLA copied the map at every step).
        pads = ((0, 0), (1, 0), (1, 0))

        def forward(maps, row, col, pixel, above):
            x = first(cached.value_features(net, pixel, v), maps[0], row, col, above[0])
            activations = []
            for (to_state, state_kernel, _, _, residual), (_, _, back_map, left_h, left_cell), term in zip(
                    layers, _per_layer(maps[1:]), above[1:]):
                left_h, left_cell = (tf.where(col > 0, value, 0.0) for value in (left_h, left_cell))
                gates = to_state(x) + term[col] + tf.matmul(left_h, state_kernel[u:])  # above, left
                h, cell = lstm_update(gates, left_cell)
                activations += [x, h, cell]
                x = x + residual(h + cached.window(back_map, row, col, 1, 1))  # right-to-left, a row up
            return cached.output_logits(net, x, c, v), activations

        def write_pixel(maps, row, col, pixel, activations):
            written = [cached.write(maps[0], row, col, cached.value_features(net, pixel, v), first.pad)]
            for n, (x_map, h_map, back_map, _, _) in enumerate(_per_layer(maps[1:])):
                x, h, cell = activations[3 * n:3 * n + 3]
                written += [cached.write(x_map, row, col, x, pads[0]), cached.write(h_map, row, col, h, pads[1]),
                            back_map, h, cell]
            return tuple(written)

        def rows_above(maps, row):
            """Row `row`'s terms from the rows above: the 7x7 window's `[W, B, filters]`, per layer the
            product of the left-to-right hidden states above `[W, B, 4U]`."""
            terms = [first.rows_above(maps[0], row)]
            for (_, state_kernel, *_), (_, h_map, *_) in zip(layers, _per_layer(maps[1:])):
                above = h_map[row]  # padded row `row` is image row `row - 1`: [W, B, U]
                terms.append(tf.reshape(tf.reshape(above, [-1, u]) @ state_kernel[:u], tf.shape(above) * [1, 1, 4]))
            return tuple(terms)

        def finish_row(maps, row):
            """The right-to-left sweep over the finished row, into the map the next row reads."""
            swept = [maps[0]]
            for (_, _, to_state, state_kernel, _), (x_map, h_map, back_map, *left) in zip(
                    layers, _per_layer(maps[1:])):
                x_row, above = x_map[row], back_map[row]  # [W, B, F], the row above's [W, B, U]
                gates = to_state(x_row) + tf.matmul(above, state_kernel[0])
                states = scan_lstm(gates, functools.partial(tf.matmul, b=state_kernel[1]), reverse=True)  # right to left
                back_map = tf.tensor_scatter_nd_update(back_map, [[row + 1]], states[None])
                swept += [x_map, h_map, back_map, *left]
            return tuple(swept)

        h, w, batch = self.spec.height, self.spec.width, tf.shape(known)[0]
        maps = [cached.empty(batch, h, w, c if c > 1 else self.embed_dim, first.pad)]
        activations = []
        for _ in layers:
            maps += [cached.empty(batch, h, w, channels, pad) for pad, channels in zip(pads, (self.filters, u, u))]
            maps += [tf.zeros([batch, u]), tf.zeros([batch, u])]
            activations += [tf.zeros([batch, channels]) for channels in (self.filters, u, u)]
        return cached.run(forward, write_pixel, tuple(maps), activations, known, num_known, gumbel, temperature,
                          finish_row=finish_row, rows_above=rows_above, log_probs=log_probs)

    def sampling_flops(self, num: int) -> float:
        """Per sub-pixel: the 7x7 window's centre-row taps, per layer the left-to-right input-to-state
        1x1, the state-to-state product of the pixel to the left (U x 4U) and the residual 1x1, the
        two output layers; per pixel once (the row's right-to-left sweep): per layer its
        input-to-state 1x1 and two U x 4U products (the row above and the pixel to the right); per
        pixel of H + 1 rows (a row at a time, the loop also does the row below the last): the 7x7
        window's rows above and per layer the left-to-right U x 4U product of the pixel above."""
        net, u = self.network, self.units
        row, above = cached.split_flops(net.get_layer("mask_a_7x7"))
        per_subpixel, per_pixel = row + cached.output_flops(net), 0.0
        for i in range(self.num_layers):
            lstm = net.get_layer(f"lstm_{i}")
            per_subpixel += cached.causal_flops(lstm.input_to_state_left_to_right, net.get_layer(f"residual_{i}"))
            per_subpixel += 2 * u * 4 * u
            per_pixel += cached.causal_flops(lstm.input_to_state_right_to_left) + 2 * 2 * u * 4 * u
            above += 2 * u * 4 * u
        return self.cached_loop_flops(num, per_subpixel, per_pixel, above)


def _per_layer(maps):
    return [maps[i:i + 5] for i in range(0, len(maps), 5)]
