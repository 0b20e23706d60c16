"""What the Row LSTM and the Diagonal BiLSTM share: the network around their 2-D LSTM layers.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (residual connections section 3.3, masks section 3.4).
"""

from __future__ import annotations

import keras

from genzoo.errors import UserError
from genzoo.models.autoregressive.base import AutoregressiveModel
from genzoo.models.autoregressive.networks import masked_output, value_input
from genzoo.models.base import require_positive
from genzoo.models.layers.masked_conv import MaskedConv2D


class TwoDimensionalLSTM(AutoregressiveModel):
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
        require_positive(units=units, layers=layers, filters=filters, embed_dim=embed_dim)
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

    def value_logits(self, values, labels=None):
        return self.network(values)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "layers": self.num_layers, "filters": self.filters,
                "embed_dim": self.embed_dim}
