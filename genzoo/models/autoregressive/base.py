"""The autoregressive contract shared by the PixelRNN family.

An image is a sequence of sub-pixel values in raster order: pixel by pixel (row by
row, left to right) and, inside an RGB pixel, channel R then G then B. Every model
here factorises p(x) = prod_t p(x_t | x_<t) over that order and gives the logits of
every conditional at once from the true image (teacher forcing); this base turns
those logits into `log_prob`, the training step, sampling and completion.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (raster order with R -> G -> B inside a pixel, section 2).
"""

from __future__ import annotations

import math

import tensorflow as tf

from genzoo.data import encodings
from genzoo.distribute import global_mean
from genzoo.errors import UserError
from genzoo.models import capabilities
from genzoo.models.autoregressive import samplers
from genzoo.models.base import GenerativeModel, check_python_temperature, dense_gradients

__all__ = ["AutoregressiveModel"]


class AutoregressiveModel(GenerativeModel, capabilities.Sampler, capabilities.ExactLikelihood,
                          capabilities.Completer):
    """Base of the PixelRNN family: exact likelihood, sampling and completion.

    Images are seen as integer values `[B, H, W, C]` with `num_values` each:
    palette indices (C = 1, V = N colours), binary pixels (C = 1, V = 2), or RGB
    bytes (C = 3, V = 256, the channels predicted R -> G -> B). A subclass
    implements `value_logits(values, labels=None) -> [B, H, W, C, V]`, where the
    logits at sub-pixel t may depend only on the sub-pixels before t (and the label
    of a conditional model). Sampling re-runs `value_logits` for every sub-pixel
    (`samplers.naive_generate`: exact for any such model, O(T) network
    evaluations), row by row where `rowwise_sampling` is set; a subclass may
    override `_generate` with a faster loop that draws the same images.
    """

    metric_names = ("loss", "bits_per_dim")
    tempered = True

    def __init__(self, spec, seed: int = 0, **kwargs):
        super().__init__(spec, seed, **kwargs)
        self.num_channels, self.num_values = encodings.value_shape(self.spec)
        self.num_pixels = self.spec.height * self.spec.width

    # === Encodings <-> values ===
    def to_values(self, images) -> tf.Tensor:
        """Encoded images -> int32 values `[B, H, W, C]`."""
        return encodings.to_values(images, self.spec)

    def from_values(self, values) -> tf.Tensor:
        """int32 values `[B, H, W, C]` -> encoded images (see `DatasetSpec`)."""
        return encodings.from_values(values, self.spec)

    # === Likelihood ===
    def value_logits(self, values, labels=None) -> tf.Tensor:
        """Teacher-forced logits `[B, H, W, C, V]` of every sub-pixel given the earlier ones."""
        raise NotImplementedError

    def call(self, images, labels=None):
        """Teacher-forced logits `[B, H, W, C, V]` of encoded images."""
        return self.value_logits(self.to_values(images), labels)

    def log_prob(self, images, labels=None) -> tf.Tensor:
        """Exact log p(x) per image, in nats: the sum of every sub-pixel's log-probability."""
        values = self.to_values(images)
        logits = self.value_logits(values, self.labels_for(tf.shape(values)[0], labels))
        nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=values, logits=logits)
        return -tf.reduce_sum(tf.reshape(nll, [tf.shape(values)[0], -1]), axis=-1)

    def bits_per_dim(self, nll_nats) -> tf.Tensor:
        """Negative log-likelihood per image (nats) -> bits per dimension."""
        return nll_nats / (self.spec.num_dims * math.log(2.0))

    # XLA-compile the forward and backward pass of a training step (not the update, whose
    # cross-replica sum cannot run inside XLA); subclasses enable it where it measures faster.
    jit_gradients = False

    def _gradients(self, images, labels):
        with tf.GradientTape() as tape:
            nll = -self.log_prob(images, labels)  # teacher forcing: the true prefix is the input
            scaled = self.optimizer.scale_loss(global_mean(nll))
        return nll, dense_gradients(tape.gradient(scaled, self.trainable_variables))

    def _labels_of(self, data):
        return data["label"] if self.conditional else None

    def train_step(self, data):
        """One optimizer step on the batch's negative log-likelihood (nats per image)."""
        gradients_of = self._gradients
        if self.jit_gradients:
            gradients_of = tf.function(self._gradients, jit_compile=True, autograph=False)
        nll, gradients = gradients_of(data["image"], self._labels_of(data))
        self.optimizer.apply_gradients(zip(gradients, self.trainable_variables))
        return self.track({"loss": nll, "bits_per_dim": self.bits_per_dim(nll)})

    def test_step(self, data):
        """Held-out `loss` (negative log-likelihood, nats per image) and `bits_per_dim`."""
        nll = -self.log_prob(data["image"], self._labels_of(data))
        return self.track({"loss": nll, "bits_per_dim": self.bits_per_dim(nll)})

    # === Sampling ===
    # Kept as methods for callers that draw single values (tests, benchmarks).
    gumbel_noise = staticmethod(samplers.gumbel_noise)
    pick = staticmethod(samplers.pick)
    draw = staticmethod(samplers.draw)

    def prefix_logits(self, values, step, labels=None) -> tf.Tensor:
        """Logits `[B, V]` of sub-pixel `step` for the naive sampler: a full re-run by default."""
        return samplers.prefix_logits(self, values, step, labels)

    def _naive_generate(self, known, num_known, seed, temperature, labels=None):
        return samplers.naive_generate(self, known, num_known, seed, temperature, labels)

    # Sample row by row (`samplers.rowwise_generate`): worth it where the network's graph is
    # small and takes any number of rows (PixelCNN); the 2-D LSTMs have cached samplers.
    rowwise_sampling = False

    def _generate(self, known, num_known, seed, temperature, labels=None):
        """Values `[B, H, W, C]`: the first `num_known` pixels of `known`, the rest sampled."""
        if self.rowwise_sampling:
            return samplers.rowwise_generate(self, known, num_known, seed, temperature, labels)
        return self._naive_generate(known, num_known, seed, temperature, labels)

    # Not XLA: it measured no faster here (64 sprites, 512 cells: 3.1 s XLA vs 3.7 s plain on a
    # loaded machine; a bare tf.while_loop LSTM 4.0 vs 3.3), and XLA's Philox draws other
    # numbers than TensorFlow's kernels, so a served model would sample other images.
    @tf.function(reduce_retracing=True, autograph=False)
    def _generate_compiled(self, known, num_known, seed, temperature, labels=None):
        return self._generate(known, num_known, seed, temperature, labels)

    def _run_generate(self, known, num_known, seed, temperature, labels):
        # Eagerly: one traced loop per shape; inside a caller's tf.function (serving): inline.
        generate = self._generate_compiled if tf.executing_eagerly() else self._generate
        return self.from_values(generate(known, tf.convert_to_tensor(num_known, tf.int32),
                                         tf.cast(seed, tf.int64), tf.cast(temperature, tf.float32), labels))

    def sample(self, num, seed, labels=None, temperature=1.0):
        """`num` new images (encoded). Same seed -> same images; temperature 0 is greedy."""
        check_python_temperature(temperature)
        known = tf.zeros([num, self.spec.height, self.spec.width, self.num_channels], tf.int32)
        return self._run_generate(known, 0, seed, temperature, self.labels_for(num, labels))

    def complete(self, images, num_known_pixels, seed, labels=None, temperature=1.0):
        """Keeps the first `num_known_pixels` pixels (raster order) of `images`, samples the rest."""
        if isinstance(num_known_pixels, (int, float)) and not 0 <= num_known_pixels <= self.num_pixels:
            raise UserError(f"num_known_pixels must lie in 0-{self.num_pixels}, got {num_known_pixels}")
        check_python_temperature(temperature)
        values = self.to_values(images)
        return self._run_generate(values, num_known_pixels, seed, temperature,
                                  self.labels_for(tf.shape(values)[0], labels))

    def sampling_flops(self, num: int) -> float | None:
        """Matmul FLOPs (multiply-add = 2) of drawing `num` images with `_generate`, counted by hand
        from the layers the loop multiplies (the benchmark's roofline); None where not counted."""
        return None

    def cached_loop_flops(self, num: int, per_subpixel: float, per_pixel: float, per_loop_pixel: float) -> float:
        """The cached samplers' count: `per_subpixel` for each sub-pixel, `per_pixel` once per pixel, and
        `per_loop_pixel` once per pixel of the H + 1 rows the row loop computes (it also does the row
        below the last)."""
        height, width = self.spec.height, self.spec.width
        return float(num * (self.num_pixels * (self.num_channels * per_subpixel + per_pixel)
                            + (height + 1) * width * per_loop_pixel))

    def naive_sample(self, num: int, seed: int, labels=None, temperature: float = 1.0):
        """`sample` by full re-computation per sub-pixel (the reference for faster samplers)."""
        known = tf.zeros([int(num), self.spec.height, self.spec.width, self.num_channels], tf.int32)
        values = self._naive_generate_compiled(
            known, tf.constant(0), tf.constant(seed, tf.int64), tf.constant(temperature, tf.float32),
            self.labels_for(num, labels))
        return self.from_values(values)

    @tf.function(reduce_retracing=True, autograph=False)
    def _naive_generate_compiled(self, known, num_known, seed, temperature, labels=None):
        # One trace per batch shape, kept with the model: tracing costs more than a tiny run.
        return self._naive_generate(known, num_known, seed, temperature, labels)
