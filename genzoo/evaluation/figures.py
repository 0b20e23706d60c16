"""Figures of a trained model, as uint8 RGB pictures ready for `genzoo.images.save_png`.

Every figure is a grid of sprites enlarged by an integer factor with
nearest-neighbour resampling (`scale`), so pixel art stays sharp, and is a pure
function of the model, the input images and the seed.

* `sample_grid`: new images; one row per class for conditional models.
* `latent_traversal` (VAE): one held-out image encoded, then one latent dimension at
  a time swept across [-3, 3] with the others held at the posterior mean, one row per
  dimension, the most used dimensions (largest mean KL) first.
* `vae_interpolation`: pairs of held-out images encoded, the posterior means joined
  by a straight line, decoded (`Encoder`); `code_interpolation`: two random codes joined
  on the sphere (`CodeSpace`). The lecture's "moving on the code space".
* `completions` (autoregressive models): original | top half kept | completion |
  top quarter kept | completion (50% and 75% of the pixels hidden, raster order).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from genzoo import images as pictures
from genzoo.data import to_rgb_uint8
from genzoo.losses import kl_per_dimension

HIDDEN_GREY = 128  # hidden pixels are shown grey in the completion figure


def _rgb(encoded, spec) -> np.ndarray:
    return to_rgb_uint8(encoded, spec).numpy()


def sample_grid(model, num: int, seed: int, scale: int, temperature: float = 1.0) -> np.ndarray:
    """`num` samples; a conditional model gets one row per class of `num // classes` samples.

    `temperature` reaches tempered samplers only.
    """
    spec = model.spec
    temperature = temperature if model.tempered else 1.0
    if model.conditional:
        classes = spec.num_classes
        per_class = max(1, num // classes)
        labels = np.repeat(np.arange(classes, dtype=np.int32), per_class)
        images = _rgb(model.sample(len(labels), seed, labels=labels, temperature=temperature), spec)
        return pictures.grid(images, columns=per_class, scale=scale)
    return pictures.grid(_rgb(model.sample(num, seed, temperature=temperature), spec), scale=scale)


def latent_order(model, images, labels=None) -> np.ndarray:
    """Latent dimensions sorted by their mean KL on `images` (unused dimensions last)."""
    mean, log_var = model.encode(tf.convert_to_tensor(images), labels)
    per_dim = kl_per_dimension(mean, log_var, model.prior(labels))  # the KL term, dimension by dimension
    return np.argsort(-tf.reduce_mean(per_dim, axis=0).numpy(), kind="stable")


def latent_traversal(model, images, labels=None, steps: int = 9, max_dims: int = 16, span: float = 3.0,
                     scale: int = 1) -> np.ndarray:
    """Rows = latent dimensions (most used first, at most `max_dims`), columns = z_d in [-span, span].

    The first of `images` (and `labels`) is the one traversed; all of them rank the dimensions.
    """
    order = latent_order(model, images, labels)[:max_dims]
    mean, _ = model.encode(tf.convert_to_tensor(images[:1]), None if labels is None else labels[:1])
    values = np.linspace(-span, span, steps, dtype=np.float32)
    z = np.repeat(mean.numpy(), len(order) * steps, axis=0)
    for row, dim in enumerate(order):
        z[row * steps:(row + 1) * steps, dim] = values
    row_labels = None if labels is None else np.repeat(np.asarray(labels)[:1], len(z))
    decoded = model.decode(tf.constant(z), row_labels)
    return pictures.grid(_rgb(decoded, model.spec), columns=steps, scale=scale)


def vae_interpolation(model, images, labels=None, steps: int = 9, scale: int = 1) -> np.ndarray:
    """Rows: image 2r, its decoded path to image 2r+1 through the posterior means, image 2r+1."""
    pairs = len(images) // 2
    if pairs < 1:
        raise ValueError("interpolation needs at least two images")
    mean, _ = model.encode(tf.convert_to_tensor(images[:2 * pairs]), None if labels is None else labels[:2 * pairs])
    mean = mean.numpy()
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    z = np.concatenate([(1 - t) * mean[2 * r] + t * mean[2 * r + 1] for r in range(pairs)])
    # A conditional VAE keeps the first image's class along the path.
    path_labels = None if labels is None else np.repeat(np.asarray(labels)[0:2 * pairs:2], steps)
    decoded = _rgb(model.decode(tf.constant(z), path_labels), model.spec)
    originals = _rgb(images[:2 * pairs], model.spec)
    rows = [np.concatenate([originals[2 * r:2 * r + 1], decoded[r * steps:(r + 1) * steps], originals[2 * r + 1:2 * r + 2]])
            for r in range(pairs)]
    return pictures.grid(np.concatenate(rows), columns=steps + 2, scale=scale)


def code_interpolation(model, rows: int, steps: int, seed: int, scale: int = 1) -> np.ndarray:
    """`rows` walks of `steps` images between two random codes (spherical interpolation; `CodeSpace`)."""
    return pictures.grid(_rgb(model.interpolation_grid(rows, steps, seed), model.spec), columns=steps, scale=scale)


def completions(model, images, seed: int, hidden_fractions=(0.5, 0.75), scale: int = 1,
                temperature: float = 1.0, labels=None) -> np.ndarray:
    """Per image: original, then for each hidden fraction the kept pixels (rest grey) and the completion."""
    spec = model.spec
    originals = _rgb(images, spec)
    columns = [originals]
    for fraction in hidden_fractions:
        known = round((1.0 - fraction) * spec.height * spec.width)
        masked = originals.reshape(len(originals), -1, 3).copy()
        masked[:, known:] = HIDDEN_GREY
        columns.append(masked.reshape(originals.shape))
        columns.append(_rgb(model.complete(images, known, seed, labels=labels, temperature=temperature), spec))
    tiles = np.stack(columns, axis=1).reshape(-1, *originals.shape[1:])
    return pictures.grid(tiles, columns=len(columns), scale=scale)
