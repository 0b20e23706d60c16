"""Sizing strided convolution stacks from a DatasetSpec, and the encoded-image input."""

from __future__ import annotations

import keras
from keras import layers

from genzoo.data.spec import DatasetSpec

MAX_DOWNSAMPLES = 3


def num_downsamples(height: int, width: int) -> int:
    """How many stride-2 halvings keep both sides whole and at least 4 (20 -> 10 -> 5: 2)."""
    n = 0
    while n < MAX_DOWNSAMPLES and height % 2 == 0 and width % 2 == 0 and height >= 8 and width >= 8:
        height, width, n = height // 2, width // 2, n + 1
    return n


def image_input(spec: DatasetSpec, embed_dim: int = 16):
    """Keras input for encoded images and the float feature map it becomes.

    Palette indices are embedded: an embedding is the 1-of-N vector times a matrix,
    without materialising the one-hot tensor.
    """
    if spec.encoding == "palette":
        images = keras.Input(spec.image_shape, dtype="int32", name="image")
        features = layers.Embedding(spec.num_colors, embed_dim, name="colour_embedding")(images)
    else:
        images = keras.Input(spec.image_shape, dtype="float32", name="image")
        features = layers.Rescaling(2.0, offset=-1.0, name="to_symmetric")(images)
    return images, features
