"""Pictures: image grids, nearest-neighbour upscaling for pixel art, PNG files."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from genzoo import files


def grid(images, columns: int | None = None, scale: int = 1, padding: int = 1) -> np.ndarray:
    """uint8 `[N, H, W, 3]` -> one uint8 `[rows*(H+p)+p, cols*(W+p)+p, 3]` picture on grey.

    `scale` enlarges each pixel to a `scale x scale` block (nearest neighbour), which
    keeps pixel art sharp.
    """
    images = np.asarray(images, np.uint8)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"grid needs uint8 [N, H, W, 3] images, got shape {images.shape}")
    if scale > 1:
        images = images.repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w, _ = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    out = np.full((rows * (h + padding) + padding, columns * (w + padding) + padding, 3), 128, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        out[top:top + h, left:left + w] = image
    return out


def auto_scale(height: int, target: int = 80) -> int:
    """Integer upscale factor that brings small images to about `target` pixels."""
    return max(1, target // max(height, 1))


def save_png(path: str, picture: np.ndarray) -> None:
    files.write_bytes(path, tf.io.encode_png(np.asarray(picture, np.uint8)).numpy())
