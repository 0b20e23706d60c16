"""The lecture's pixel LSTM: one LSTM over the raster-scanned pixels.

References:
  Hung-yi Lee, ML 2016 lecture *Pokémon creation* (the lecture's model: each pixel a
  1-of-N colour, raster scan, an LSTM predicting the next pixel's colour).
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (the R -> G -> B order inside a pixel, section 2).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from genzoo.models.autoregressive import cached, samplers
from genzoo.models.autoregressive.base import AutoregressiveModel
from genzoo.models.base import require_positive
from genzoo.models.layers.lstm import SequenceLSTM
from genzoo.models.registry import register


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
        require_positive(units=units, layers=layers)
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

    def value_logits(self, values, labels=None):
        previous, current = self._sequences(values)
        logits = self.network([previous, current])
        return tf.reshape(logits, [-1, self.spec.height, self.spec.width, self.num_channels, self.num_values])

    def prefix_logits(self, values, step, labels=None):
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
                    value = tf.where(t < num_known, value, samplers.pick(logits, noise[t * c + k], temperature))
                    value.set_shape(known.shape[:1])  # 1 image: the noise's unknown batch broadcast it to None
                channels.append(value)
                logps.append(tf.gather(tf.nn.log_softmax(logits), value, batch_dims=1))
            pixel = tf.stack(channels, axis=1)
            return t + 1, pixel, states, pixels.write(t, pixel), log_probs.write(t, tf.stack(logps, axis=1))

        start = tf.fill([batch, c], self.num_values)
        _, _, _, pixels, log_probs = tf.while_loop(
            lambda t, *_: t < self.num_pixels, body,
            (tf.constant(0), start, self._initial_state(batch), *arrays))
        return (tf.transpose(pixels.stack(), [1, 0, 2]), tf.transpose(log_probs.stack(), [1, 0, 2]))

    @tf.function(jit_compile=True, autograph=False)
    def _run_compiled(self, known, num_known, noise, temperature):
        return self._run(known, num_known, noise, temperature)[0]

    def _generate(self, known, num_known, seed, temperature, labels=None):
        """Carried-state sampling: one LSTM cell step per pixel, O(H*W) per image.

        The noise of every sub-pixel is drawn first, outside XLA, with TensorFlow's
        kernels (XLA's Philox gives other numbers), so this loop draws what the
        naive sampler draws for the same logits; the loop itself is XLA-compiled
        (64 sprites, 512 cells: see docs/performance.md).
        """
        noise = cached.noise(tf.shape(known)[0], self.num_values, self.num_pixels * self.num_channels, seed,
                             cached.shard_count())
        values = self._run_compiled(known, num_known, noise, temperature)
        return tf.reshape(values, tf.shape(known))

    def incremental_log_probs(self, images) -> tf.Tensor:
        """Per-sub-pixel log-probabilities `[B, H*W, C]` computed pixel by pixel with carried state.

        The sampling path run on known images: it must agree with the teacher-forced `log_prob`.
        """
        return self._run(self.to_values(images), self.num_pixels, None, 0.0)[1]

    def forward_flops(self, batch: int) -> float:
        """Per image and pixel: each layer's recurrent matmul, the input matmul of layers > 0, the head
        (its loops are XLA functions, which the graph profiler does not see into)."""
        u, v, t = self.units, self.num_values, self.num_pixels
        per_pixel = self.num_layers * 2 * u * 4 * u + (self.num_layers - 1) * 2 * u * 4 * u + 2 * u * v
        return float(batch * t * per_pixel)

    def sampling_flops(self, num: int) -> float:
        """The carried-state loop: one cell step per pixel and layer and the head, as `forward_flops`."""
        return self.forward_flops(num)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "layers": self.num_layers}
