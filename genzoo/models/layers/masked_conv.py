"""Masked convolutions: the causal building block of the PixelRNN family.

References:
  van den Oord, Kalchbrenner & Kavukcuoglu, *Pixel Recurrent Neural Networks*, 2016
  (raster order with R -> G -> B inside a pixel, section 2; masks A and B, section 3.4).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["MaskedConv2D", "channel_groups", "conv_mask"]


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
        kernel = self.kernel  # the compute dtype under mixed precision: the mask follows it
        y = tf.nn.conv2d(x, kernel * tf.cast(self.mask, kernel.dtype), strides=1, padding="SAME") + self.bias
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self):
        return {
            **super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
            "mask_type": self.mask_type, "num_groups": self.num_groups, "out_repeats": self.out_repeats,
            "activation": keras.activations.serialize(self.activation),
        }
