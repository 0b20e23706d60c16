"""Cached sampling for the convolutional and 2-D LSTM models: one pixel's work per layer and sub-pixel.

References:
  Ramachandran, Le Paine, Khorrami, Babaeizadeh, Chang, Zhang, Hasegawa-Johnson,
  Campbell & Huang, *Fast Generation for Convolutional Autoregressive Models*, 2017
  (caches of every layer's activations; each step computes one position per layer).

The naive sampler re-runs the whole network for every sub-pixel. Here each layer's
output at pixel (i, j) is computed from the earlier positions' activations, kept in
one cache per layer input, and the fresh value at (i, j) itself:
  * a masked convolution reads only the taps at or before its centre in raster order
    (rows above, then the centre row up to the centre): the taps strictly before the
    centre come from the cache, the centre from the value just computed at (i, j). The
    centre tap's colour groups are left to the layer's mask, so every output group is
    computed and the group of the current channel is exact once the channels before it
    are known;
  * after the last channel of a pixel is drawn, its activations are final (an output of
    colour group g sees the raw channels < g of its own pixel only) and are written
    into the caches for the later positions to read.
Caches are zero-padded `[H + pad_top, W + 2 * pad_side, B, C]` maps (position-major:
writing a position is one index of a scatter, done in place inside the XLA loop); the
zero padding is the network's 'same' padding. The loop (`run`) goes pixel by pixel,
each channel with the Gumbel noise of its sub-pixel drawn before the loop, so the
images are the naive sampler's for the same seed (up to float round-off deciding an
argmax: the per-position sums are ordered differently from the convolutions').
"""

from __future__ import annotations

import itertools
import os

import tensorflow as tf

from genzoo.models.autoregressive import samplers

__all__ = ["CachedSampler", "CausalConv", "causal_flops", "empty", "noise", "output_flops", "output_logits", "run",
           "shard_count", "sharded", "split_flops", "value_features", "window", "write"]

MAX_SHARDS = 8


# === Caches ===
def empty(batch, height: int, width: int, channels: int, pad=(0, 0), dtype=tf.float32) -> tf.Tensor:
    """A zero cache for a `[H, W, channels]` map read by windows reaching `pad` = (rows up, columns aside)."""
    return tf.zeros([height + pad[0], width + 2 * pad[1], batch, channels], dtype)


def window(cache, row, col, rows: int, cols: int, taps: int | None = None) -> tf.Tensor:
    """The `rows x cols` window whose top-left is (row, col) in the padded cache, as `[B, taps * C]`.

    Taps in raster order (row by row, channels innermost); `taps` keeps the first ones only.
    """
    taps = rows * cols if taps is None else taps
    # Whole sizes, not -1: with a dynamic start XLA padded the cache to twice its size per row.
    block = tf.slice(cache, tf.stack([row, col, 0, 0]), tf.stack([rows, cols, tf.shape(cache)[2], cache.shape[3]]))
    block = tf.reshape(block, [rows * cols, tf.shape(cache)[2], cache.shape[3]])[:taps]
    return tf.reshape(tf.transpose(block, [1, 0, 2]), [tf.shape(cache)[2], taps * cache.shape[3]])


def write(cache, row, col, value, pad=(0, 0)) -> tf.Tensor:
    """The cache with image position (row, col) set to `value [B, C]`."""
    return tf.tensor_scatter_nd_update(cache, tf.stack([row + pad[0], col + pad[1]])[None], value[None])


# === Masked convolutions at one position ===
class CausalConv:
    """A `MaskedConv2D` evaluated at one position: its taps up to the centre in raster order.

    The taps after the centre are cut by every mask here, so the window is the rows
    above the centre and the centre row up to the centre; its kernel is the layer's
    `kernel * mask` (and `bias`, `activation`), the very weights the network uses.
    The rows above can be done a whole image row at a time (`rows_above`, once the rows
    above are finished: Ramachandran et al.'s per-row caching), leaving each position the
    centre row's taps only.
    """

    def __init__(self, layer):
        kh, kw = layer.kernel_size
        self.layer, self.pad = layer, (kh // 2, kw // 2)
        self.rows, self.cols = kh // 2 + 1, kw
        self.before = (kh // 2) * kw + kw // 2  # taps strictly before the centre
        kernel = layer.kernel * tf.cast(layer.mask, layer.kernel.dtype)
        self.kernel = tf.reshape(kernel[:self.rows], [-1, layer.filters])[:(self.before + 1) * kernel.shape[2]]
        self.above_kernel = kernel[:self.pad[0]]  # [kh // 2, kw, C, filters]
        self.row_kernel = tf.reshape(kernel[self.pad[0], :self.pad[1] + 1], [-1, layer.filters])

    def rows_above(self, cache, row) -> tf.Tensor:
        """The rows-above taps' term (no bias) at every pixel of image row `row`, `[W, B, filters]`: one
        convolution of the cache rows above it (padded by `self.pad`), which must be finished."""
        batch, channels = tf.shape(cache)[2], cache.shape[3]
        rows = tf.slice(cache, tf.stack([row, 0, 0, 0]), tf.stack([self.pad[0], cache.shape[1], batch, channels]))
        out = tf.nn.conv2d(tf.transpose(rows, [2, 0, 1, 3]), self.above_kernel, 1, "VALID")[:, 0]  # [B, W, filters]
        return tf.transpose(out, [1, 0, 2])

    def __call__(self, centre, cache=None, row=None, col=None, above=None) -> tf.Tensor:
        """Output `[B, filters]` at image position (row, col): the centre `[B, C]` given, the earlier
        taps from `cache` (padded by `self.pad`; not needed for a 1x1 kernel), or, given `above`
        (`rows_above` of this row), the centre row's taps only."""
        if above is None:
            y = tf.matmul(self._taps(centre, cache, row, col, self.rows, self.before), self.kernel) + self.layer.bias
        else:
            x = self._taps(centre, cache, row + self.pad[0], col, 1, self.pad[1])
            y = tf.matmul(x, self.row_kernel) + self.layer.bias + above[col]
        return self.layer.activation(y)

    def _taps(self, centre, cache, top, col, rows, before):
        """The first `before` taps of the `rows`-row window at (top, col) of the cache, then the centre."""
        if not before:
            return centre
        return tf.concat([window(cache, top, col, rows, self.cols, before), centre], axis=1)


def causal_flops(*layers) -> float:
    """Matmul FLOPs (multiply-add = 2) of evaluating `MaskedConv2D` layers at one position with
    `CausalConv`: the taps up to the centre only (the weights the cached sampler multiplies)."""
    return float(sum(2 * CausalConv(layer).kernel.shape.num_elements() for layer in layers))


def split_flops(*layers) -> tuple[float, float]:
    """`causal_flops` split as `CausalConv` runs with `rows_above`: (the centre row's taps, per
    position; the rows above, per pixel of each row's `rows_above`)."""
    convs = [CausalConv(layer) for layer in layers]
    return (float(sum(2 * conv.row_kernel.shape.num_elements() for conv in convs)),
            float(sum(2 * conv.above_kernel.shape.num_elements() for conv in convs)))


def output_flops(network) -> float:
    """`causal_flops` of `networks.masked_output`'s two 1x1 layers at one position."""
    return causal_flops(network.get_layer("output_hidden"), network.get_layer("output_logits"))


# === The network's ends at one pixel (`networks.value_input`, `networks.masked_output`) ===
def value_features(network, pixel, num_values: int) -> tf.Tensor:
    """Values `[B, C]` -> the first layer's input at the pixel: the colour embedding `[B, E]`
    (one channel) or the values scaled to [-1, 1] `[B, 3]`, as `networks.value_input`."""
    if pixel.shape[1] == 1:
        return tf.gather(network.get_layer("colour_embedding").embeddings, pixel[:, 0])
    return tf.cast(pixel, tf.float32) * (2.0 / (num_values - 1)) - 1.0


def output_logits(network, x, num_channels: int, num_values: int) -> tf.Tensor:
    """Features `[B, F]` -> logits `[B, C, V]` through `networks.masked_output`'s two 1x1 layers."""
    hidden = CausalConv(network.get_layer("output_hidden"))(tf.nn.relu(x))
    logits = CausalConv(network.get_layer("output_logits"))(tf.nn.relu(hidden))
    return tf.reshape(logits, [-1, num_channels, num_values])


# === The sampling loop ===
def noise(batch, num_values: int, num_subpixels: int, seed, parts: int = 1) -> tf.Tensor:
    """The Gumbel noise `[T * C, B, V]` of every sub-pixel, `samplers.gumbel_noise`'s numbers, drawn with
    TensorFlow's kernels (not XLA's): the uniform draws in `parts` loops over consecutive sub-pixels
    that run at once, then one transform of them all (two thirds of the time of one per sub-pixel)."""
    shape = tf.stack([batch, num_values])
    bounds = [num_subpixels * k // parts for k in range(parts + 1)]
    uniform = [tf.map_fn(lambda step: samplers.uniform_noise(shape, seed, step), tf.range(start, stop),
                         fn_output_signature=tf.float32) for start, stop in itertools.pairwise(bounds)]
    return samplers.gumbel(tf.concat(uniform, axis=0))


def run(forward, write_pixel, state, activations, known, num_known, gumbel, temperature, finish_row=None,
        rows_above=None, log_probs: bool = False):
    """Values `[B, H, W, C]`, pixel by pixel in raster order with carried caches.

    `forward(state, i, j, pixel) -> (logits [B, C, V], activations)` computes pixel
    (i, j) from the caches and its channels so far (`pixel [B, C]`, the later channels
    0); `write_pixel(state, i, j, pixel, activations) -> state` stores a finished pixel,
    `activations` (zeros of `forward`'s structure) standing for the pixel before the
    first; `finish_row(state, i) -> state`, if given, runs after the last pixel of row i.
    With `rows_above(state, i) -> terms`, the terms of row i from the rows above it are
    computed before row i (row 0 included) once the rows above are written, and `forward`
    gets them as `forward(state, i, j, pixel, terms)`.
    The first `num_known` pixels are copied from `known`, the others `pick`ed with
    `gumbel [H * W * C, B, V]` at `temperature`. With `log_probs`, also each sub-pixel's
    log-probability `[B, H, W, C]` (run on known images: the teacher-forced ones, tested).

    A finished pixel is written at the start of the next one's step, before any cache
    is read: XLA then updates the caches in place (written after this step's reads, it
    copied every cache at every step: 25x slower).
    """
    batch, height, width, channels = tf.shape(known)[0], known.shape[1], known.shape[2], known.shape[3]
    known = tf.reshape(known, [batch, height * width, channels])

    def pixel_body(i, j, state, done, arrays):
        previous = tf.maximum(i * width + j - 1, 0)  # pixel 0 writes the zeros in place of itself
        state, terms = write_pixel(state[0], previous // width, previous % width, *done), state[1]
        p = i * width + j
        drawn, logps = [], []
        for k in range(channels):
            pixel = tf.stack(drawn + [tf.zeros([batch], tf.int32)] * (channels - k), axis=1)
            logits, activations = forward(state, i, j, pixel, *terms)
            logits = tf.cast(logits[:, k], tf.float32)
            value = tf.where(p < num_known, known[:, p, k], samplers.pick(logits, gumbel[p * channels + k], temperature))
            value.set_shape(known.shape[:1])  # 1 image: the noise's unknown batch broadcast it to None
            drawn.append(value)
            if log_probs:
                logps.append(tf.gather(tf.nn.log_softmax(logits), drawn[-1], batch_dims=1))
        pixel = tf.stack(drawn, axis=1)
        arrays = (arrays[0].write(p, pixel), *(a.write(p, tf.stack(logps, axis=1)) for a in arrays[1:]))
        return (state, terms), (pixel, activations), arrays

    def row_body(i, state, done, arrays):
        _, (state, _), done, arrays = tf.while_loop(
            lambda j, *_: j < width, lambda j, *carried: (j + 1, *pixel_body(i, j, *carried)),
            (tf.constant(0), state, done, arrays))
        if finish_row is not None or rows_above is not None:
            state = write_pixel(state, i, width - 1, *done)
        if finish_row is not None:
            state = finish_row(state, i)
        return i + 1, with_terms(state, i + 1), done, arrays

    def with_terms(state, i):
        return state, (() if rows_above is None else (rows_above(state, i),))

    arrays = tuple(tf.TensorArray(dtype, size=height * width, element_shape=[None, channels])
                   for dtype in [tf.int32] + [tf.float32] * log_probs)
    done = (tf.zeros([batch, channels], tf.int32), activations)
    _, _, _, arrays = tf.while_loop(lambda i, *_: i < height, row_body,
                                    (tf.constant(0), with_terms(state, 0), done, arrays))
    out = [tf.reshape(tf.transpose(a.stack(), [1, 0, 2]), [batch, height, width, channels]) for a in arrays]
    return tuple(out) if log_probs else out[0]


def shard_count() -> int:
    """How many slices of the batch the sampling loops run at once: one per CPU core this process
    may use (at most `MAX_SHARDS`), one when TensorFlow sees a GPU.

    XLA runs the loops' small matmuls (a few dozen images by a few hundred features) on one
    thread, so one loop keeps one core busy; the slices' loops run side by side on
    TensorFlow's inter-op threads. Each image's arithmetic does not involve the others in its
    batch, so the images are the same however the batch is cut (tested).
    """
    if tf.config.list_logical_devices("GPU"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores, MAX_SHARDS))


def sharded(run, images, noise, labels=None, shards: int | None = None) -> tf.Tensor:
    """`run(images, noise, labels)` on `shards` (default `shard_count()`) equal slices of the batch at
    once, the results concatenated: `images [B, ...]` (known values, or a decoder's features),
    `noise [T, B, ...]` (step-major), `labels [B]` or None.

    The batch is padded with blank images to a multiple of `shards` (at most `shards - 1`, dropped
    after): every slice has one shape, so XLA compiles the loop once, and none is empty.
    """
    shards = shard_count() if shards is None else shards
    if images.shape[0] is not None:
        shards = max(1, min(shards, images.shape[0]))
    if shards == 1:
        return run(images, noise, labels)
    batch = tf.shape(images)[0]
    extra = -batch % shards

    def slices(x, axis=0):
        padding = [[0, extra] if a == axis else [0, 0] for a in range(x.shape.rank)]
        return tf.split(tf.pad(x, padding), shards, axis=axis)

    pieces = zip(slices(images), slices(noise, axis=1), [None] * shards if labels is None else slices(labels))
    return tf.concat([run(*piece) for piece in pieces], axis=0)[:batch]


class CachedSampler:
    """Mixin (listed before the model's base class) for models that write their network out per
    position in `_cached_run(known, num_known, gumbel, temperature, labels=None, log_probs=False)`:
    sampling and completion through one XLA-compiled loop per slice of the batch (`sharded`), the
    noise drawn first, outside XLA (as `PixelLSTM._generate` does). What each model caches is said
    in its `_cached_run`. `sampling_shards` overrides `shard_count()` (tests)."""

    sampling_shards: int | None = None

    def _generate(self, known, num_known, seed, temperature, labels=None):
        """Cached sampling: per sub-pixel, every layer at the current pixel only."""
        known = tf.reshape(known, [-1, self.spec.height, self.spec.width, self.num_channels])
        shards = shard_count() if self.sampling_shards is None else self.sampling_shards
        gumbel = noise(tf.shape(known)[0], self.num_values, self.num_pixels * self.num_channels, seed, shards)
        return sharded(lambda *piece: self._cached_run_compiled(piece[0], num_known, piece[1], temperature, piece[2]),
                       known, gumbel, labels, shards)

    @tf.function(jit_compile=True, autograph=False)
    def _cached_run_compiled(self, known, num_known, gumbel, temperature, labels=None):
        return self._cached_run(known, num_known, gumbel, temperature, labels)
