"""Datasets and encodings: `load(name, split) -> (tf.data.Dataset, DatasetSpec)`."""

from genzoo.data.encodings import encode, palette_to_rgb, quantize, to_rgb_uint8
from genzoo.data.registry import DEFAULT_DATASET, load, split_indices
from genzoo.data.spec import DatasetSpec

__all__ = [
    "DEFAULT_DATASET", "DatasetSpec", "encode", "load", "palette_to_rgb", "quantize",
    "split_indices", "to_rgb_uint8",
]
