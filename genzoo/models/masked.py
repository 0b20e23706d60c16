"""What the PixelRNN family shares: masked convolutions and the autoregressive contract.

An image is a sequence of sub-pixel values in raster order: pixel by pixel (row by
row, left to right) and, inside an RGB pixel, channel R then G then B. Every model
here factorises p(x) = prod_t p(x_t | x_<t) over that order and gives the logits
of every conditional at once from the true image (teacher forcing); this module
turns those logits into `log_prob`, the training step, sampling, completion and
the serving functions.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (raster order with R -> G -> B inside a pixel, section 2; masks A and B, section 3.4).
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from genzoo.distribute import global_mean
from genzoo.errors import UserError
from genzoo.models.base import GenerativeModel, seed_pair

__all__ = ["AutoregressiveModel", "MaskedConv2D", "channel_groups", "conv_mask", "masked_output", "value_input"]


# === Masks ===
def channel_groups(num_channels: int, num_groups: int, repeats: int = 1) -> np.ndarray:
    """The colour group (0 = R, 1 = G, 2 = B) of each feature channel.

    Channels are split into `num_groups` contiguous blocks; with `repeats` > 1 the
    channels are `repeats` stacked copies of that layout (the four LSTM gates).
    """
    per_copy = num_channels // repeats
    return np.tile(np.arange(per_copy) * num_groups // per_copy, repeats)


def conv_mask(kernel_size: tuple[int, int], in_groups, out_groups, mask_type: str) -> np.ndarray:
    """The 0/1 mask of a `[kh, kw, in, out]` kernel that keeps the raster order causal.

    Taps above the centre row, and left of the centre in the centre row, see only
    earlier pixels and stay. At the centre tap, an output of colour group g may see
    input groups < g (mask A, the first layer: the current value is unknown) or
    <= g (mask B, later layers: the features of group g carry no x of group g yet).
    Taps below or right of the centre are cut. (Paper section 3.4, figure 4.)
    """
    kh, kw = kernel_size
    in_groups, out_groups = np.asarray(in_groups), np.asarray(out_groups)
    mask = np.zeros((kh, kw, len(in_groups), len(out_groups)), np.float32)
    ch, cw = kh // 2, kw // 2
    mask[:ch] = 1.0
    mask[ch, :cw] = 1.0
    if mask_type == "A":
        centre = in_groups[:, None] < out_groups[None, :]
    elif mask_type == "B":
        centre = in_groups[:, None] <= out_groups[None, :]
    else:
        raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
    mask[ch, cw] = centre.astype(np.float32)
    return mask


@keras.saving.register_keras_serializable("genzoo")
class MaskedConv2D(keras.layers.Layer):
    """A stride-1 'same' convolution whose kernel is multiplied by a causal mask.

    The mask is a constant applied in `call` (the kernel variable itself is never
    reassigned), so gradients of the cut taps are zero and they stay at their
    initial values, unused.

    Args:
      filters: output channels.
      kernel_size: int or (kh, kw), odd sides (the centre is the current pixel).
      mask_type: "A" (the first layer) or "B".
      num_groups: colour groups (3 for RGB with R -> G -> B, 1 otherwise).
      out_repeats: the output channels are this many stacked copies of the group
        layout (4 for the LSTM gates i, f, o, g, so every gate of unit u has u's group).
    """

    def __init__(self, filters: int, kernel_size, mask_type: str = "B", num_groups: int = 1,
                 out_repeats: int = 1, activation=None, **kwargs):
        super().__init__(**kwargs)
        kernel_size = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
        if any(k % 2 == 0 for k in kernel_size):
            raise ValueError(f"kernel sides must be odd, got {kernel_size}")
        if mask_type not in ("A", "B"):
            raise ValueError(f"mask_type must be 'A' or 'B', got {mask_type!r}")
        if filters % (num_groups * out_repeats):
            raise ValueError(f"filters={filters} must split into {num_groups} groups x {out_repeats} copies")
        self.filters, self.kernel_size, self.mask_type = filters, kernel_size, mask_type
        self.num_groups, self.out_repeats = num_groups, out_repeats
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if channels % self.num_groups:
            raise ValueError(f"{channels} input channels do not split into {self.num_groups} groups")
        self.kernel = self.add_weight(
            shape=(*self.kernel_size, channels, self.filters), initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
        self.mask = tf.constant(conv_mask(
            self.kernel_size, channel_groups(channels, self.num_groups),
            channel_groups(self.filters, self.num_groups, self.out_repeats), self.mask_type))

    def call(self, x):
        y = tf.nn.conv2d(x, self.kernel * self.mask, strides=1, padding="SAME") + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "mask_type": self.mask_type, "num_groups": self.num_groups, "out_repeats": self.out_repeats,
            "activation": keras.activations.serialize(self.activation),
        }


# === Network pieces ===
def value_input(height: int, width: int, channels: int, num_values: int, embed_dim: int):
    """Keras input for values `[H, W, C]` and its float feature map.

    One channel (palette or binary): an embedding of the value (the 1-of-N vector
    times a matrix). RGB: the three values scaled to [-1, 1], one colour group each.
    """
    # height None: any number of rows, so a causal network can also run on the rows sampled
    # so far (`AutoregressiveModel._rowwise_generate`); the 2-D LSTMs need a static height.
    values = keras.Input((height, width, channels), dtype="int32", name="values")
    if channels == 1:
        return values, keras.layers.Embedding(num_values, embed_dim, name="colour_embedding")(values[..., 0])
    scaled = keras.ops.cast(values, "float32") * (2.0 / (num_values - 1)) - 1.0
    return values, scaled


def masked_output(x, filters: int, channels: int, num_values: int, width: int):
    """ReLU, 1x1 mask-B convolution, ReLU, 1x1 mask-B convolution to logits `[H, W, C, V]`."""
    x = MaskedConv2D(filters, 1, "B", channels, name="output_hidden")(keras.layers.ReLU()(x))
    x = MaskedConv2D(channels * num_values, 1, "B", channels, name="output_logits")(keras.layers.ReLU()(x))
    # Any number of rows, as the input (see `value_input`).
    return keras.layers.Reshape((-1, width, channels, num_values), name="logits")(x)


# === The autoregressive contract ===
class AutoregressiveModel(GenerativeModel):
    """Base of the PixelRNN family: exact likelihood, sampling and completion.

    Images are seen as integer values `[B, H, W, C]` with `num_values` each:
    palette indices (C = 1, V = N colours), binary pixels (C = 1, V = 2), or RGB
    bytes (C = 3, V = 256, the channels predicted R -> G -> B). A subclass
    implements `value_logits(values) -> [B, H, W, C, V]`, where the logits at
    sub-pixel t may depend only on the sub-pixels before t. Sampling re-runs
    `value_logits` for every sub-pixel (exact for any such model, O(T) network
    evaluations; PixelCNN on the rows done so far only); `pixel_lstm` overrides
    `_generate` with a carried-state loop.
    """

    metric_names = ("loss", "bits_per_dim")

    def __init__(self, spec, seed: int = 0, **kwargs):
        super().__init__(spec, seed, **kwargs)
        if self.spec.encoding == "palette":
            self.num_channels, self.num_values = 1, self.spec.num_colors
        elif self.spec.encoding == "binary":
            self.num_channels, self.num_values = 1, 2
        else:
            self.num_channels, self.num_values = self.spec.channels, 256
        self.num_pixels = self.spec.height * self.spec.width

    # === Encodings <-> values ===
    def to_values(self, images) -> tf.Tensor:
        """Encoded images -> int32 values `[B, H, W, C]`."""
        if self.spec.encoding == "palette":
            return tf.cast(images, tf.int32)[..., None]
        if self.spec.encoding == "binary":
            return tf.cast(tf.round(images), tf.int32)
        return tf.cast(tf.round(tf.cast(images, tf.float32) * 255.0), tf.int32)

    def from_values(self, values) -> tf.Tensor:
        """int32 values `[B, H, W, C]` -> encoded images (see `DatasetSpec`)."""
        if self.spec.encoding == "palette":
            return values[..., 0]
        if self.spec.encoding == "binary":
            return tf.cast(values, tf.float32)
        return tf.cast(values, tf.float32) / 255.0

    # === Likelihood ===
    def value_logits(self, values) -> tf.Tensor:
        """Teacher-forced logits `[B, H, W, C, V]` of every sub-pixel given the earlier ones."""
        raise NotImplementedError

    def call(self, images):
        """Teacher-forced logits `[B, H, W, C, V]` of encoded images."""
        return self.value_logits(self.to_values(images))

    def log_prob(self, images) -> tf.Tensor:
        """Exact log p(x) per image, in nats: the sum of every sub-pixel's log-probability."""
        values = self.to_values(images)
        logits = self.value_logits(values)
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=values, logits=logits)
        return -tf.reduce_sum(tf.reshape(nll, [tf.shape(values)[0], -1]), axis=-1)

    def bits_per_dim(self, nll_nats) -> tf.Tensor:
        """Negative log-likelihood per image (nats) -> bits per dimension."""
        return nll_nats / (self.spec.num_dims * math.log(2.0))

    # XLA-compile the forward and backward pass of a training step (not the update, whose
    # cross-replica sum cannot run inside XLA); subclasses enable it where it measures faster.
    jit_gradients = False

    def _gradients(self, images):
        with tf.GradientTape() as tape:
            nll = -self.log_prob(images)  # teacher forcing: the true prefix is the input
            scaled = self.optimizer.scale_loss(global_mean(nll))
        return nll, tape.gradient(scaled, self.trainable_variables)

    def train_step(self, data):
        gradients_of = tf.function(self._gradients, jit_compile=True) if self.jit_gradients else self._gradients
        nll, gradients = gradients_of(data["image"])
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self.track({"loss": nll, "bits_per_dim": self.bits_per_dim(nll)})

    def test_step(self, data):
        nll = -self.log_prob(data["image"])
        return self.track({"loss": nll, "bits_per_dim": self.bits_per_dim(nll)})

    # === Sampling ===
    @staticmethod
    def gumbel_noise(shape, seed, step) -> tf.Tensor:
        """Gumbel noise of `shape` (`[B, V]`) for sub-pixel `step`: a stateless draw seeded by (seed, step).

        Any two samplers that compute the same logits for a step draw the same value.
        """
        uniform = tf.random.stateless_uniform(shape, seed_pair(seed, step), minval=1e-20, maxval=1.0, alg="philox")
        return -tf.math.log(-tf.math.log(uniform))

    @staticmethod
    def pick(logits, gumbel, temperature) -> tf.Tensor:
        """One value per row of `logits [B, V]`: softmax(logits / T) sampled, argmax at T = 0.

        The Gumbel-max trick, argmax(logits / T + Gumbel noise), is an exact
        categorical sample and shares one argmax with the greedy T = 0 path.
        """
        logits = tf.cast(logits, tf.float32)
        temperature = tf.cast(temperature, tf.float32)
        greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
        drawn = tf.argmax(logits / tf.maximum(temperature, 1e-6) + gumbel, axis=-1, output_type=tf.int32)
        return tf.where(temperature > 0, drawn, greedy)

    def draw(self, logits, seed, step, temperature) -> tf.Tensor:
        """`pick` with the noise of sub-pixel `step` under `seed`."""
        return self.pick(logits, self.gumbel_noise(tf.shape(logits), seed, step), temperature)

    def _prefix_logits(self, values, step) -> tf.Tensor:
        """Logits `[B, V]` of sub-pixel `step` from a full re-run of the network."""
        pixel, channel = step // self.num_channels, step % self.num_channels
        logits = self.value_logits(values)
        row, column = pixel // self.spec.width, pixel % self.spec.width
        return tf.gather(logits[:, row, column], channel, axis=1)

    def _naive_generate(self, known, num_known, seed, temperature):
        """Sub-pixel by sub-pixel, re-running the network on the whole image each time."""
        shape = tf.shape(known)
        total = self.num_pixels * self.num_channels
        flat_known = tf.reshape(known, [shape[0], total])
        keep = tf.range(total) < num_known * self.num_channels
        values = tf.where(keep[None], flat_known, 0)  # hidden values never enter the network

        def body(step, values):
            logits = self._prefix_logits(tf.reshape(values, shape), step)
            value = tf.where(step < num_known * self.num_channels, flat_known[:, step],
                             self.draw(logits, seed, step, temperature))
            here = tf.one_hot(step, total, dtype=tf.int32)[None]
            return step + 1, values * (1 - here) + value[:, None] * here

        _, values = tf.while_loop(lambda step, _: step < total, body, (tf.constant(0), values))
        return tf.reshape(values, shape)

    # Sample with `_rowwise_generate`: worth it where the network's graph is small (PixelCNN);
    # the 2-D LSTMs unroll their rows, and 20 cropped copies took minutes to trace.
    rowwise_sampling = False

    def _generate(self, known, num_known, seed, temperature):
        """Values `[B, H, W, C]`: the first `num_known` pixels of `known`, the rest sampled."""
        if self.rowwise_sampling:
            return self._rowwise_generate(known, num_known, seed, temperature)
        return self._naive_generate(known, num_known, seed, temperature)

    def _rowwise_generate(self, known, num_known, seed, temperature):
        """`_naive_generate`, but row r's sub-pixels run the network on rows 0..r only.

        They depend on those rows alone, so the logits are the same (a test checks) for
        about half the work; each row's network is traced once with its own height.
        """
        width, channels = self.spec.width, self.num_channels
        per_row = width * channels
        known_subpixels = num_known * channels
        rows = []
        for r in range(self.spec.height):  # unrolled: each row's network has its own static height
            row_known = tf.reshape(known[:, r], [-1, per_row])
            first = r * per_row
            row = tf.where((first + tf.range(per_row) < known_subpixels)[None], row_known, 0)

            def body(k, row, r=r, first=first, row_known=row_known):
                prefix = tf.concat(rows + [tf.reshape(row, [-1, 1, width, channels])], axis=1)
                logits = tf.gather(self.value_logits(prefix)[:, r, k // channels], k % channels, axis=1)
                step = first + k
                value = tf.where(step < known_subpixels, row_known[:, k], self.draw(logits, seed, step, temperature))
                here = tf.one_hot(k, per_row, dtype=tf.int32)[None]
                return k + 1, row * (1 - here) + value[:, None] * here

            # Rows wholly given (completion) skip the network.
            start = tf.clip_by_value(known_subpixels - first, 0, per_row)
            _, row = tf.while_loop(lambda k, _: k < per_row, body, (start, row))
            rows.append(tf.reshape(row, [-1, 1, width, channels]))
        return tf.concat(rows, axis=1)

    # Not XLA: it measured no faster here (64 sprites, 512 cells: 3.1 s XLA vs 3.7 s plain on a
    # loaded machine; a bare tf.while_loop LSTM 4.0 vs 3.3), and XLA's Philox draws other
    # numbers than TensorFlow's kernels, so a served model would sample other images.
    @tf.function(reduce_retracing=True)
    def _generate_compiled(self, known, num_known, seed, temperature):
        return self._generate(known, num_known, seed, temperature)

    def _check_known(self, num_known):
        num_known = int(num_known)
        if not 0 <= num_known <= self.num_pixels:
            raise UserError(f"num_known_pixels must lie in 0-{self.num_pixels}, got {num_known}")
        return num_known

    def sample(self, num: int, seed: int, labels=None, temperature: float = 1.0):
        """`num` new images (encoded). Same seed -> same images; temperature 0 is greedy."""
        if labels is not None:
            raise UserError(f"{type(self).__name__} is not conditional; it takes no labels")
        if temperature < 0:
            raise UserError(f"temperature must be >= 0, got {temperature}")
        known = tf.zeros([int(num), self.spec.height, self.spec.width, self.num_channels], tf.int32)
        values = self._generate_compiled(known, tf.constant(0), tf.constant(seed, tf.int64),
                                         tf.constant(temperature, tf.float32))
        return self.from_values(values)

    def complete(self, images, num_known_pixels: int, seed: int, temperature: float = 1.0):
        """Keeps the first `num_known_pixels` pixels (raster order) of `images`, samples the rest."""
        num_known = self._check_known(num_known_pixels)
        if temperature < 0:
            raise UserError(f"temperature must be >= 0, got {temperature}")
        values = self._generate_compiled(self.to_values(images), tf.constant(num_known),
                                         tf.constant(seed, tf.int64), tf.constant(temperature, tf.float32))
        return self.from_values(values)

    def naive_sample(self, num: int, seed: int, temperature: float = 1.0):
        """`sample` by full re-computation per sub-pixel (the reference for cached samplers)."""
        known = tf.zeros([int(num), self.spec.height, self.spec.width, self.num_channels], tf.int32)
        values = tf.function(self._naive_generate)(
            known, tf.constant(0), tf.constant(seed, tf.int64), tf.constant(temperature, tf.float32))
        return self.from_values(values)

    # === Serving ===
    def serving_functions(self, max_num_samples: int) -> dict:
        """`sample` (serving_default), `complete` and `log_prob` as signed tf.functions.

        `images` inputs are int32 palette indices `[N, H, W]`, or uint8 pixels
        `[N, H, W, C]` (`export.serving_image_spec`); `nats` is log p(x) per image and
        `bits_per_dim` is -log2 p(x) per dimension.
        """
        from genzoo import export

        spec, cap = self.spec, int(max_num_samples)
        image_spec = export.serving_image_spec(spec)
        scalar = lambda name, dtype: tf.TensorSpec([], dtype, name=name)

        def checked_temperature(temperature):
            with tf.control_dependencies([tf.debugging.assert_non_negative(
                    temperature, message="temperature must be >= 0")]):
                return tf.identity(temperature)

        def checked_batch(images):
            images = export.encoded_from_serving(images, spec)
            count = tf.shape(images)[0]
            with tf.control_dependencies([
                tf.debugging.assert_positive(count, message="images must hold at least one image"),
                tf.debugging.assert_less_equal(count, cap, message=f"the number of images exceeds the cap of {cap}"),
            ]):
                return tf.identity(images)

        @tf.function(input_signature=[scalar("num_samples", tf.int32), scalar("seed", tf.int64),
                                      scalar("temperature", tf.float32)])
        def sample(num_samples, seed, temperature):
            num_samples = export.check_num_samples(num_samples, cap)
            known = tf.zeros([num_samples, spec.height, spec.width, self.num_channels], tf.int32)
            values = self._generate(known, tf.constant(0), seed, checked_temperature(temperature))
            return export.image_outputs(self.from_values(values), spec)

        @tf.function(input_signature=[image_spec, scalar("num_known_pixels", tf.int32), scalar("seed", tf.int64),
                                      scalar("temperature", tf.float32)])
        def complete(images, num_known_pixels, seed, temperature):
            images = checked_batch(images)
            with tf.control_dependencies([
                tf.debugging.assert_non_negative(num_known_pixels, message="num_known_pixels must be >= 0"),
                tf.debugging.assert_less_equal(num_known_pixels, self.num_pixels,
                                               message=f"num_known_pixels must be at most {self.num_pixels}"),
            ]):
                num_known_pixels = tf.identity(num_known_pixels)
            values = self._generate(self.to_values(images), num_known_pixels, seed, checked_temperature(temperature))
            return export.image_outputs(self.from_values(values), spec)

        @tf.function(input_signature=[image_spec])
        def log_prob(images):
            nats = self.log_prob(checked_batch(images))
            return {"nats": nats, "bits_per_dim": self.bits_per_dim(-nats)}

        return {"sample": sample, "complete": complete, "log_prob": log_prob}
