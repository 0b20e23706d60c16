"""Memorisation audit: is each generated image new, or a near-copy of a training image?

The lecture's worry: a VAE (or a GAN) may just reproduce its training images. For
each sample we find the nearest training image and the nearest held-out image in
pixel space, by the root-mean-square difference of RGB values scaled to [0, 1]:

    d(x, y) = sqrt(mean over pixels and channels of ((x - y) / 255)^2)

A sample is a **near-copy** when its nearest training image is closer than
`NEAR_COPY_THRESHOLD` = 0.05. On pixel art that is, for example, at most 1% of the
pixels turned from black to white (sqrt(0.01) = 0.1 is above it) or every channel
off by 12 of 255 levels: a copy up to a few stray pixels, not a similar sprite.
Two more numbers put the share in context: the same share for held-out images
against the training images (what a perfect model that draws *new* images from the
data distribution would score; duplicates inside the dataset make it non-zero),
and the mean distance to the nearest held-out image (a model that copies training
images is much closer to the training set than to the held-out set).
"""

from __future__ import annotations

import numpy as np

from genzoo import images as pictures

NEAR_COPY_THRESHOLD = 0.05


def _flat(images) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"the audit needs uint8 RGB [N, H, W, 3], got shape {images.shape}")
    return images.reshape(len(images), -1).astype(np.float64) / 255.0  # float32 cancels badly in |q|^2 + |r|^2 - 2 q.r


def nearest(queries, reference, chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """RMS distance to, and index of, the nearest `reference` image for every query (uint8 RGB)."""
    q, r = _flat(queries), _flat(reference)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"image sizes differ: {queries.shape[1:]} vs {reference.shape[1:]}")
    r_norms = (r * r).sum(1)
    distances, indices = np.empty(len(q)), np.empty(len(q), np.int64)
    for start in range(0, len(q), chunk):
        block = q[start:start + chunk]
        d = (block * block).sum(1)[:, None] + r_norms[None] - 2 * block @ r.T
        best = d.argmin(1)
        indices[start:start + chunk] = best
        distances[start:start + chunk] = np.sqrt(np.maximum(d[np.arange(len(block)), best], 0) / q.shape[1])
    return distances, indices


def audit(samples, train, heldout, threshold: float = NEAR_COPY_THRESHOLD) -> dict:
    """Per-sample nearest distances and summary shares; arrays are kept for the pairing picture."""
    to_train, train_index = nearest(samples, train)
    to_heldout, _ = nearest(samples, heldout)
    heldout_to_train, _ = nearest(heldout, train)
    return {
        "threshold": threshold,
        "near_copy_share": float((to_train < threshold).mean()),
        "heldout_near_copy_share": float((heldout_to_train < threshold).mean()),
        "mean_distance_to_train": float(to_train.mean()),
        "mean_distance_to_heldout": float(to_heldout.mean()),
        "heldout_mean_distance_to_train": float(heldout_to_train.mean()),
        "num_samples": len(to_train),
        "distance_to_train": to_train,
        "nearest_train_index": train_index,
        "distance_to_heldout": to_heldout,
    }


def summary(result: dict) -> dict:
    """The JSON-friendly part of `audit`'s result (no per-sample arrays)."""
    return {k: v for k, v in result.items() if not isinstance(v, np.ndarray)}


def pairs_picture(samples, train, result: dict, num: int = 32, scale: int = 1, pairs_per_row: int = 4) -> np.ndarray:
    """Sample | nearest training image, side by side; the closest samples first (the suspects)."""
    order = np.argsort(result["distance_to_train"])[:num]
    left, right = np.asarray(samples)[order], np.asarray(train)[result["nearest_train_index"][order]]
    tiles = np.stack([left, right], axis=1).reshape(-1, *left.shape[1:])
    return pictures.grid(tiles, columns=2 * pairs_per_row, scale=scale)
