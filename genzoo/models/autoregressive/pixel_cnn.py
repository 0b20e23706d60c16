"""PixelCNN: a stack of masked convolutions, the fast-training member of the PixelRNN family.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (PixelCNN section 3.5; masks A and B section 3.4; residual blocks figure 5).

  Ramachandran et al., *Fast Generation for Convolutional Autoregressive Models*, 2017
  (the cached sampler, `cached.py`).

Training evaluates every conditional at once (one pass of convolutions). Sampling
is sequential and cached (`_generate`): each sub-pixel computes every layer at its
pixel only, from caches of the earlier pixels' activations, in one XLA-compiled
loop; it draws the naive sampler's images (tested).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers

from genzoo.errors import UserError
from genzoo.models.autoregressive import cached
from genzoo.models.autoregressive.base import AutoregressiveModel
from genzoo.models.autoregressive.networks import masked_output, value_input
from genzoo.models.layers.masked_conv import MaskedConv2D
from genzoo.models.registry import register


@register("pixel_cnn")
@keras.saving.register_keras_serializable("genzoo")
class PixelCNN(cached.CachedSampler, AutoregressiveModel):
    """7x7 mask-A convolution, residual blocks of mask-B convolutions, 1x1 mask-B output.

    Args:
      spec: the `DatasetSpec` (palette, rgb or binary).
      filters: feature maps between blocks (2h in the paper); with RGB both it and
        filters / 2 must split into 3 colour groups.
      blocks: residual blocks (each 1x1 -> 3x3 -> 1x1, masks B).
      embed_dim: colour embedding size (palette and binary).
      seed: base seed.
    """

    def __init__(self, spec, filters: int = 96, blocks: int = 7, embed_dim: int = 32, seed: int = 0, **kwargs):
        super().__init__(spec, seed, **kwargs)
        for name, value in (("filters", filters), ("blocks", blocks), ("embed_dim", embed_dim)):
            if value < 1:
                raise UserError(f"{name} must be positive, got {value}")
        groups = self.num_channels
        if filters % 2 or (filters // 2) % groups:
            raise UserError(f"filters must be even and filters/2 divisible by {groups} colour groups, got {filters}")
        self.filters, self.blocks, self.embed_dim = int(filters), int(blocks), int(embed_dim)
        w, c, v = self.spec.width, self.num_channels, self.num_values
        # === Functional Model ===
        values, x = value_input(None, w, c, v, self.embed_dim)  # any height: see `rowwise_sampling`
        x = MaskedConv2D(self.filters, 7, "A", groups, name="mask_a_7x7")(x)
        for i in range(self.blocks):
            y = MaskedConv2D(self.filters // 2, 1, "B", groups, activation="relu", name=f"block_{i}_in")(
                layers.ReLU()(x))
            y = MaskedConv2D(self.filters // 2, 3, "B", groups, activation="relu", name=f"block_{i}_3x3")(y)
            y = MaskedConv2D(self.filters, 1, "B", groups, name=f"block_{i}_out")(y)
            x = layers.Add()([x, y])  # residual: the block learns a correction
        self.network = keras.Model(values, masked_output(x, self.filters, c, v, w), name="pixel_cnn")
        self.built = True

    # The network takes any number of rows (the row-by-row sampler runs; the benchmark counts
    # its FLOPs), though `_generate` is the cached sampler.
    rowwise_sampling = True

    def value_logits(self, values, labels=None):
        return self.network(values)

    # === Cached sampling (Ramachandran et al. 2017) ===
    def _cached_run(self, known, num_known, gumbel, temperature, labels=None, log_probs=False):
        """`cached.run` with this network written out per position, on the layers of `self.network` (no labels).

        Caches: the input features (read by the 7x7 mask-A window) and each block's 1x1 output (read
        by its 3x3 window); the 1x1 layers need the current pixel alone. The windows' rows above are
        done a row at a time when the row above is finished (`CausalConv.rows_above`), so a position
        reads its centre row only. One XLA-compiled loop per slice of the batch, the noise drawn
        before it with TensorFlow's kernels (`cached.CachedSampler`).
        """
        net, c, v = self.network, self.num_channels, self.num_values
        first = cached.CausalConv(net.get_layer("mask_a_7x7"))
        blocks = [tuple(cached.CausalConv(net.get_layer(f"block_{b}_{part}")) for part in ("in", "3x3", "out"))
                  for b in range(self.blocks)]
        windowed = [first] + [b[1] for b in blocks]  # the convolutions reading the caches

        def forward(caches, i, j, pixel, above):
            x = first(cached.value_features(net, pixel, v), caches[0], i, j, above[0])
            activations = []
            for (block_in, block_3x3, block_out), cache, term in zip(blocks, caches[1:], above[1:]):
                y = block_in(tf.nn.relu(x))
                activations.append(y)
                x = x + block_out(block_3x3(y, cache, i, j, term))
            return cached.output_logits(net, x, c, v), activations

        def write_pixel(caches, i, j, pixel, activations):
            values = [cached.value_features(net, pixel, v), *activations]
            return tuple(cached.write(cache, i, j, value, conv.pad) for cache, value, conv in zip(caches, values, windowed))

        def rows_above(caches, i):
            return tuple(conv.rows_above(cache, i) for conv, cache in zip(windowed, caches))

        h, w, batch = self.spec.height, self.spec.width, tf.shape(known)[0]
        caches = (cached.empty(batch, h, w, c if c > 1 else self.embed_dim, first.pad),
                  *(cached.empty(batch, h, w, self.filters // 2, b[1].pad) for b in blocks))
        activations = [tf.zeros([batch, self.filters // 2])] * self.blocks
        return cached.run(forward, write_pixel, caches, activations, known, num_known, gumbel, temperature,
                          rows_above=rows_above, log_probs=log_probs)

    def sampling_flops(self, num: int) -> float:
        """Per sub-pixel every layer at one position: the 7x7 window's and each 3x3's centre-row taps,
        each block's two 1x1s, the two output layers; per pixel once (a row at a time, H + 1 rows: the
        loop also does the row below the last): the rows above of the 7x7 and each 3x3."""
        net = self.network
        windowed = [net.get_layer("mask_a_7x7")] + [net.get_layer(f"block_{b}_3x3") for b in range(self.blocks)]
        row, above = cached.split_flops(*windowed)
        pointwise = [net.get_layer(f"block_{b}_{part}") for b in range(self.blocks) for part in ("in", "out")]
        per_subpixel = row + cached.causal_flops(*pointwise) + cached.output_flops(net)
        return self.cached_loop_flops(num, per_subpixel, 0.0, above)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "blocks": self.blocks, "embed_dim": self.embed_dim}
