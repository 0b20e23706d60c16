"""PixelCNN: a stack of masked convolutions, the fast-training member of the PixelRNN family.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (PixelCNN section 3.5; masks A and B section 3.4; residual blocks figure 5).

Training evaluates every conditional at once (one pass of convolutions). Sampling
is sequential: row r's sub-pixels re-run the network on rows 0..r
(`samplers.rowwise_generate`); the caching of Ramachandran et al. 2017 is not
implemented.
"""

from __future__ import annotations

import keras
from keras import layers

from genzoo.errors import UserError
from genzoo.models.autoregressive.base import AutoregressiveModel
from genzoo.models.autoregressive.networks import masked_output, value_input
from genzoo.models.layers.masked_conv import MaskedConv2D
from genzoo.models.registry import register


@register("pixel_cnn")
@keras.saving.register_keras_serializable("genzoo")
class PixelCNN(AutoregressiveModel):
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

    rowwise_sampling = True

    def value_logits(self, values, labels=None):
        return self.network(values)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "blocks": self.blocks, "embed_dim": self.embed_dim}
