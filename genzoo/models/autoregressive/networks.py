"""Network pieces the masked-convolution models share: value input and masked output layers."""

from __future__ import annotations

import keras

from genzoo.models.layers.masked_conv import MaskedConv2D


# === Network pieces ===
def value_input(height: int, width: int, channels: int, num_values: int, embed_dim: int):
    """Keras input for values `[H, W, C]` and its float feature map.

    One channel (palette or binary): an embedding of the value (the 1-of-N vector
    times a matrix). RGB: the three values scaled to [-1, 1], one colour group each.
    """
    # height None: any number of rows, so a causal network can also run on the rows sampled
    # so far (`samplers.rowwise_generate`); the 2-D LSTMs need a static height.
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
