"""Converters between the three encodings: palette indices, scaled RGB, binary.

Raw sources give either palette indices (uint8/int32 `[H, W]`) or uint8 pixels
`[H, W, C]`; `encode` turns one raw example into what a model consumes (see
`DatasetSpec`), and `to_rgb_uint8` turns any encoding back into pixels to look at.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from genzoo.data.spec import DatasetSpec
from genzoo.errors import UserError

BACKGROUND_INDEX = 0  # palette index 0 is the background (white) in every palette here


def palette_array(palette) -> tf.Tensor:
    return tf.constant(np.asarray(palette, dtype=np.uint8).reshape(-1, 3))


def palette_to_rgb(indices, palette) -> tf.Tensor:
    """Palette indices `[...]` -> uint8 RGB `[..., 3]`."""
    return tf.gather(palette_array(palette), tf.cast(indices, tf.int32))


def quantize(rgb, palette) -> tf.Tensor:
    """uint8 RGB `[..., 3]` -> int32 index of the nearest palette colour (squared RGB distance)."""
    colours = tf.cast(palette_array(palette), tf.float32)
    pixels = tf.cast(rgb, tf.float32)[..., None, :]
    distance = tf.reduce_sum(tf.square(pixels - colours), axis=-1)
    return tf.argmin(distance, axis=-1, output_type=tf.int32)


def _luminance(rgb_uint8) -> tf.Tensor:
    return tf.reduce_mean(tf.cast(rgb_uint8, tf.float32), axis=-1, keepdims=True) / 255.0


def encoded_spec(raw: DatasetSpec, encoding: str | None) -> DatasetSpec:
    """The spec of `raw` data after `encode(..., encoding)`; None keeps the raw encoding."""
    encoding = encoding or raw.encoding
    if encoding == raw.encoding:
        return raw
    if encoding == "palette":
        if not raw.palette:
            raise UserError(
                f"dataset {raw.name!r} has no palette, so --encoding=palette is impossible; "
                "use --encoding=rgb or --encoding=binary"
            )
        return raw.replace(encoding="palette", channels=1)
    if encoding == "rgb":
        return raw.replace(encoding="rgb", channels=3)
    if encoding == "binary":
        return raw.replace(encoding="binary", channels=1)
    raise UserError(f"unknown encoding {encoding!r}; choose palette, rgb or binary")


def encode(image, raw: DatasetSpec, encoding: str | None) -> tf.Tensor:
    """One raw image (or a batch) in `raw`'s form -> the model's tensor for `encoding`."""
    target = encoded_spec(raw, encoding)
    if raw.encoding == "palette":
        indices = tf.cast(image, tf.int32)
        if target.encoding == "palette":
            return indices
        if target.encoding == "rgb":
            return tf.cast(palette_to_rgb(indices, raw.palette), tf.float32) / 255.0
        return tf.cast(indices != BACKGROUND_INDEX, tf.float32)[..., None]
    # raw uint8 pixels [..., H, W, C]
    if target.encoding == "palette":
        return quantize(image, raw.palette)
    if target.encoding == "rgb":
        pixels = tf.cast(image, tf.float32) / 255.0
        if raw.channels == 1 and target.channels == 3:
            pixels = tf.repeat(pixels, 3, axis=-1)
        return pixels
    # Binary "ink": dark pixels on light backgrounds, light pixels on dark ones (MNIST).
    lum = _luminance(image)
    return tf.cast(lum > 0.5, tf.float32) if raw.channels == 1 else tf.cast(lum < 0.5, tf.float32)


def to_rgb_uint8(images, spec: DatasetSpec) -> tf.Tensor:
    """Encoded images `[N, ...]` -> uint8 RGB `[N, H, W, 3]` for pictures and serving."""
    if spec.encoding == "palette":
        return palette_to_rgb(images, spec.palette)
    images = tf.convert_to_tensor(images, tf.float32)
    if spec.encoding == "binary":
        pixels = 255.0 * (1.0 - images)  # ink is drawn black on white
    else:
        pixels = 255.0 * images
    pixels = tf.cast(tf.round(tf.clip_by_value(pixels, 0.0, 255.0)), tf.uint8)
    if pixels.shape[-1] == 1:
        pixels = tf.repeat(pixels, 3, axis=-1)
    return pixels


# === Encoded images <-> what the model families compute on ===
def value_shape(spec: DatasetSpec) -> tuple[int, int]:
    """(channels, values per channel) of the integer values autoregressive models predict.

    Palette: 1 channel of N colours; binary: 1 channel of 2; rgb: C channels of 256.
    """
    if spec.encoding == "palette":
        return 1, spec.num_colors
    if spec.encoding == "binary":
        return 1, 2
    return spec.channels, 256


def to_values(images, spec: DatasetSpec) -> tf.Tensor:
    """Encoded images -> int32 values `[B, H, W, C]` (see `value_shape`)."""
    if spec.encoding == "palette":
        return tf.cast(images, tf.int32)[..., None]
    if spec.encoding == "binary":
        return tf.cast(tf.round(images), tf.int32)
    return tf.cast(tf.round(tf.cast(images, tf.float32) * 255.0), tf.int32)


def from_values(values, spec: DatasetSpec) -> tf.Tensor:
    """int32 values `[B, H, W, C]` -> encoded images."""
    if spec.encoding == "palette":
        return values[..., 0]
    if spec.encoding == "binary":
        return tf.cast(values, tf.float32)
    return tf.cast(values, tf.float32) / 255.0


def symmetric_shape(spec: DatasetSpec) -> tuple[int, int, int]:
    """Shape of `to_symmetric` images: palette data is played in its RGB colours."""
    channels = 3 if spec.encoding == "palette" else spec.image_shape[-1]
    return spec.height, spec.width, channels


def to_symmetric(images, spec: DatasetSpec) -> tf.Tensor:
    """Encoded images -> float `[B, H, W, C]` in [-1, 1] (a tanh generator's range)."""
    if spec.encoding == "palette":
        return tf.cast(palette_to_rgb(images, spec.palette), tf.float32) / 127.5 - 1.0
    return 2.0 * tf.cast(images, tf.float32) - 1.0


def background_symmetric(spec: DatasetSpec) -> tuple[float, ...]:
    """The background colour in `to_symmetric`'s space: palette index 0's colour, no ink for
    binary data, white for RGB data (the 40x40 sprites' background)."""
    if spec.encoding == "palette":
        pixel = tf.constant(BACKGROUND_INDEX)
    else:
        pixel = tf.fill([spec.image_shape[-1]], 0.0 if spec.encoding == "binary" else 1.0)
    return tuple(float(c) for c in to_symmetric(pixel, spec).numpy())


def from_symmetric(x, spec: DatasetSpec) -> tf.Tensor:
    """Floats in [-1, 1] -> encoded images (nearest palette colour, {0, 1} or [0, 1])."""
    if spec.encoding == "palette":
        return quantize((x + 1.0) * 127.5, spec.palette)
    if spec.encoding == "binary":
        return tf.cast(x > 0.0, tf.float32)
    return tf.clip_by_value((x + 1.0) / 2.0, 0.0, 1.0)


# === Encoded images <-> the integer pixels clients send (serving) ===
def pixels_dtype(spec: DatasetSpec) -> tf.DType:
    """Palette data travels as int32 indices `[N, H, W]`, the others as uint8 `[N, H, W, C]`."""
    return tf.int32 if spec.encoding == "palette" else tf.uint8


def to_pixels(images, spec: DatasetSpec) -> tf.Tensor:
    """Encoded images -> pixels as clients send them (`pixels_dtype`; rgb 0-255, binary 0/1)."""
    if spec.encoding == "palette":
        return tf.cast(images, tf.int32)
    if spec.encoding == "binary":
        return tf.cast(tf.round(images), tf.uint8)
    return tf.cast(tf.round(tf.cast(images, tf.float32) * 255.0), tf.uint8)


def from_pixels(pixels, spec: DatasetSpec) -> tf.Tensor:
    """Pixels as clients send them -> encoded images (checked by the caller)."""
    if spec.encoding == "palette":
        return pixels
    if spec.encoding == "binary":
        return tf.cast(pixels, tf.float32)
    return tf.cast(pixels, tf.float32) / 255.0
