"""Pixel recurrent networks: the lecture's pixel LSTM, Row LSTM and Diagonal BiLSTM.

References:
  Hung-yi Lee, ML 2016 lecture *Pokémon creation* (the lecture's model: each pixel a
  1-of-N colour, raster scan, an LSTM predicting the next pixel's colour).
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (Row LSTM section 3.1, Diagonal BiLSTM section 3.2, residual connections 3.3,
  masks 3.4; the R -> G -> B order inside a pixel, section 2).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from genzoo.errors import UserError
from genzoo.models.lstm import SequenceLSTM, lstm_update
from genzoo.models.masked import (
    AutoregressiveModel,
    MaskedConv2D,
    masked_output,
    value_input,
)
from genzoo.models.registry import register


def _positive(**values):
    for name, value in values.items():
        if value < 1:
            raise UserError(f"{name} must be positive, got {value}")


# === The lecture's pixel LSTM ===
@register("pixel_lstm")
@keras.saving.register_keras_serializable("genzoo")
class PixelLSTM(AutoregressiveModel):
    """A raster-scan LSTM over pixels, the lecture's Pokémon model.

    The image is one sequence of H*W pixels. The input at step t is pixel t-1 (a
    start token at t = 0) as a 1-of-N vector: the first layer's input projection is
    a row of a `[N + 1, 4U]` table (the 1-of-N vector times the input kernel,
    without building the one-hot); stacked LSTM layers carry the context; a softmax
    over the N palette colours predicts pixel t. For RGB images each step predicts
    the pixel's 3 channels, 256 values each, R first, then G given R, then B given
    R and G (per-channel heads fed the earlier channels' values), so the sequence
    stays H*W steps long. Sampling carries the LSTM state from pixel to pixel: O(H*W)
    cell steps per image, in one XLA-compiled loop.

    Args:
      spec: the `DatasetSpec` (palette, rgb or binary encoding).
      units: LSTM cells per layer (the lecture: 512).
      layers: stacked LSTM layers (the lecture: 1).
      seed: base seed.
    """

    jit_gradients = True  # 512 cells, batch 64: see docs/performance.md

    def __init__(self, spec, units: int = 512, layers: int = 1, seed: int = 0, **kwargs):
        super().__init__(spec, seed, **kwargs)
        _positive(units=units, layers=layers)
        self.units, self.num_layers = int(units), int(layers)
        c, v = self.num_channels, self.num_values
        # === Layers ===
        self.embedder = self._build_embedder(c, v)
        self.lstms = [SequenceLSTM(self.units, gate_inputs=i == 0, name=f"lstm_{i}") for i in range(self.num_layers)]
        self.head = self._build_head(c, v)
        # === Functional Model ===
        previous = keras.Input((None, c), dtype="int32", name="previous_pixels")
        current = keras.Input((None, c), dtype="int32", name="current_pixels")
        x = self.embedder(previous)
        for lstm in self.lstms:
            x = lstm(x)
        logits = self.head(x if c == 1 else [x, current])
        self.network = keras.Model([previous, current], logits, name="pixel_lstm")
        self.built = True

    def _build_embedder(self, c, v):
        """Previous pixel `[B, T, C]` (value v = start token) -> first-layer input gates `[B, T, 4U]`.

        One table per channel, summed: the 1-of-N vectors of the channels times the input kernel.
        """
        previous = keras.Input((None, c), dtype="int32", name="previous_pixels")
        parts = [layers.Embedding(v + 1, 4 * self.units, embeddings_initializer="glorot_uniform",
                                  name=f"input_gates_{k}")(previous[:, :, k]) for k in range(c)]
        x = parts[0] if c == 1 else layers.Add()(parts)
        return keras.Model(previous, x, name="embedder")

    def _build_head(self, c, v):
        """LSTM output `[B, T, U]` (+ current pixel for RGB) -> logits `[B, T, C, V]`."""
        hidden = keras.Input((None, self.units), name="hidden")
        if c == 1:
            logits = layers.Dense(v, name="colour_logits")(hidden)
            return keras.Model(hidden, layers.Reshape((-1, 1, v))(logits), name="head")
        # Channel k sees the LSTM output and the values of channels < k of this pixel only.
        current = keras.Input((None, c), dtype="int32", name="current_pixels")
        outputs = []
        for k in range(c):
            terms = [layers.Dense(self.units, name=f"hidden_{k}")(hidden)]
            terms += [layers.Embedding(v, self.units, name=f"channel_{j}_to_{k}")(current[:, :, j]) for j in range(k)]
            z = layers.ReLU()(terms[0] if k == 0 else layers.Add()(terms))
            outputs.append(layers.Dense(v, name=f"logits_{k}")(z))
        logits = keras.ops.stack(outputs, axis=2)
        return keras.Model([hidden, current], logits, name="head")

    # === Model ===
    def _sequences(self, values):
        """Values `[B, H, W, C]` -> (previous pixels behind the start token, current pixels), `[B, T, C]`."""
        current = tf.reshape(values, [tf.shape(values)[0], self.num_pixels, self.num_channels])
        start = tf.fill([tf.shape(values)[0], 1, self.num_channels], self.num_values)
        return tf.concat([start, current[:, :-1]], axis=1), current

    def value_logits(self, values):
        previous, current = self._sequences(values)
        logits = self.network([previous, current])
        return tf.reshape(logits, [-1, self.spec.height, self.spec.width, self.num_channels, self.num_values])

    def _prefix_logits(self, values, step):
        # The naive reference: re-run the LSTM over the prefix up to this pixel.
        pixel, channel = step // self.num_channels, step % self.num_channels
        previous, current = self._sequences(values)
        logits = self.network([previous[:, :pixel + 1], current[:, :pixel + 1]])
        return tf.gather(logits[:, -1], channel, axis=1)

    # === Incremental (carried-state) computation ===
    def _initial_state(self, batch):
        zeros = tf.zeros([batch, self.units], self.lstms[0].compute_dtype)
        return tuple((zeros, zeros) for _ in self.lstms)

    def _cell_step(self, previous, states):
        """One pixel through the LSTM stack: previous pixel `[B, C]` -> output `[B, U]`, new states."""
        x = self.embedder(previous[:, None])[:, 0]
        new_states = []
        for lstm, state in zip(self.lstms, states):
            x, state = lstm.step(lstm.input_gates(x), state)
            new_states.append(state)
        return x, tuple(new_states)

    def _channel_logits(self, x, channels, k):
        """Logits `[B, V]` of channel k given the LSTM output and this pixel's channels < k."""
        if self.num_channels == 1:
            return self.head(x[:, None])[:, 0, 0]
        # Channels >= k are placeholders: the head of channel k does not read them.
        filler = [tf.zeros_like(x[:, 0], tf.int32)] * (self.num_channels - k)
        current = tf.stack(list(channels[:k]) + filler, axis=1)
        return self.head([x[:, None], current[:, None]])[:, 0, k]

    def _run(self, known, num_known, noise, temperature):
        """The carried-state loop over pixels.

        Sub-pixels before `num_known` pixels are copied from `known`; the others are
        `pick`ed with `noise [T * C, B, V]` (None: every pixel is known).
        Returns the values `[B, T, C]` and each sub-pixel's log-probability `[B, T, C]`.
        """
        batch, c = tf.shape(known)[0], self.num_channels
        known = tf.reshape(known, [batch, self.num_pixels, c])
        arrays = [tf.TensorArray(tf.float32 if i else tf.int32, size=self.num_pixels, element_shape=[None, c])
                  for i in range(2)]

        def body(t, previous, states, pixels, log_probs):
            x, states = self._cell_step(previous, states)
            channels, logps = [], []
            for k in range(c):
                logits = tf.cast(self._channel_logits(x, channels, k), tf.float32)
                value = known[:, t, k]
                if noise is not None:
                    value = tf.where(t < num_known, value, self.pick(logits, noise[t * c + k], temperature))
                channels.append(value)
                logps.append(tf.gather(tf.nn.log_softmax(logits), value, batch_dims=1))
            pixel = tf.stack(channels, axis=1)
            return t + 1, pixel, states, pixels.write(t, pixel), log_probs.write(t, tf.stack(logps, axis=1))

        start = tf.fill([batch, c], self.num_values)
        _, _, _, pixels, log_probs = tf.while_loop(
            lambda t, *_: t < self.num_pixels, body,
            (tf.constant(0), start, self._initial_state(batch), *arrays))
        return (tf.transpose(pixels.stack(), [1, 0, 2]), tf.transpose(log_probs.stack(), [1, 0, 2]))

    @tf.function(jit_compile=True)
    def _run_compiled(self, known, num_known, noise, temperature):
        return self._run(known, num_known, noise, temperature)[0]

    def _generate(self, known, num_known, seed, temperature):
        """Carried-state sampling: one LSTM cell step per pixel, O(H*W) per image.

        The noise of every sub-pixel is drawn first, outside XLA, with TensorFlow's
        kernels (XLA's Philox gives other numbers), so this loop draws what the
        naive sampler draws for the same logits; the loop itself is XLA-compiled
        (64 sprites, 512 cells: see docs/performance.md).
        """
        shape = tf.stack([tf.shape(known)[0], self.num_values])
        noise = tf.map_fn(lambda step: self.gumbel_noise(shape, seed, step),
                          tf.range(self.num_pixels * self.num_channels), fn_output_signature=tf.float32)
        values = self._run_compiled(known, num_known, noise, temperature)
        return tf.reshape(values, tf.shape(known))

    def incremental_log_probs(self, images) -> tf.Tensor:
        """Per-sub-pixel log-probabilities `[B, H*W, C]` computed pixel by pixel with carried state.

        The sampling path run on known images: it must agree with the teacher-forced `log_prob`.
        """
        return self._run(self.to_values(images), self.num_pixels, None, 0.0)[1]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "layers": self.num_layers}


# === Two-dimensional LSTM layers (van den Oord et al. 2016, section 3) ===
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


class _TwoDimensionalLSTM(AutoregressiveModel):
    """Mask-A 7x7 convolution, residual 2-D LSTM layers, 1x1 mask-B output layers (sections 3.3-3.4).

    Args:
      spec: the `DatasetSpec` (palette, rgb or binary).
      units: LSTM cells per layer (h in the paper); divisible by 3 for RGB.
      layers: LSTM layers, each with a residual connection.
      filters: feature maps between layers (2h in the paper); divisible by 3 for RGB.
      embed_dim: colour embedding size (palette and binary).
      seed: base seed.

    Sampling re-runs the network for every sub-pixel: H*W*C passes per batch.
    """

    def __init__(self, spec, units: int = 32, layers: int = 2, filters: int = 64, embed_dim: int = 32,
                 seed: int = 0, **kwargs):
        super().__init__(spec, seed, **kwargs)
        _positive(units=units, layers=layers, filters=filters, embed_dim=embed_dim)
        groups = self.num_channels
        if units % groups or filters % groups:
            raise UserError(f"units and filters must split into {groups} colour groups, got {units}, {filters}")
        self.units, self.num_layers, self.filters, self.embed_dim = int(units), int(layers), int(filters), int(embed_dim)
        h, w, c, v = self.spec.height, self.spec.width, self.num_channels, self.num_values
        # === Functional Model ===
        values, x = value_input(h, w, c, v, self.embed_dim)
        x = MaskedConv2D(self.filters, 7, "A", groups, name="mask_a_7x7")(x)
        for i in range(self.num_layers):
            y = self._lstm_layer(self.units, groups, f"lstm_{i}")(x)
            x = keras.layers.Add()([x, MaskedConv2D(self.filters, 1, "B", groups, name=f"residual_{i}")(y)])
        self.network = keras.Model(values, masked_output(x, self.filters, c, v, w), name=self.name)
        self.built = True

    def value_logits(self, values):
        return self.network(values)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "layers": self.num_layers, "filters": self.filters,
                "embed_dim": self.embed_dim}


@register("row_lstm")
@keras.saving.register_keras_serializable("genzoo")
class RowLSTM(_TwoDimensionalLSTM):
    __doc__ = "Row LSTM PixelRNN (van den Oord et al. 2016, section 3.1).\n\n" + _TwoDimensionalLSTM.__doc__

    def _lstm_layer(self, units, groups, name):
        return RowLSTMLayer(units, 3, groups, name=name)


@register("diagonal_bilstm")
@keras.saving.register_keras_serializable("genzoo")
class DiagonalBiLSTM(_TwoDimensionalLSTM):
    __doc__ = "Diagonal BiLSTM PixelRNN (van den Oord et al. 2016, section 3.2).\n\n" + _TwoDimensionalLSTM.__doc__

    def _lstm_layer(self, units, groups, name):
        return DiagonalBiLSTMLayer(units, groups, name=name)
