"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for data-efficient GAN training.

A discriminator trained on a few hundred images memorises them; augmenting only the
real images would teach the generator to draw the augmentations. DiffAugment applies
the same random family of transformations T to real *and* generated images, in the
discriminator step and in the generator step, and backpropagates through T to the
generator: D learns to tell T(x) from T(G(z)), and the generator is still pushed
towards x because each T is differentiable and (as a distribution) invertible enough
to leave the target unchanged.

Policies (Zhao et al. 2020, section 3; their `DiffAugment_tf.py`), on images in [-1, 1], NHWC:
  color:       brightness + U(-0.5, 0.5), saturation x U(0, 2) around the pixel's channel
               mean, contrast x U(0.5, 1.5) around the image mean, each drawn per image;
  translation: shift by up to 1/8 of the side (rounded) in each direction, per image,
               filling with 0 (the middle of [-1, 1]);
  cutout:      a square of half the side set to 0, its centre uniform over the image
               (clipped at the border), per image.

Every function is a pure function of the images and a stateless seed `[2]`: the same
seed gives the same transformation. Random parameters are drawn for the *global* batch
and each replica keeps its rows (`genzoo.distribute.replica_slice`), so an example gets
the same transformation on 1 or N replicas; the model seeds them from its step counter,
so a resumed run draws what an uninterrupted one would.

References:
  Zhao, Liu, Lin, Zhu & Han, *Differentiable Augmentation for Data-Efficient GAN
    Training*, NeurIPS 2020 (policy `color,translation,cutout` for small data).
  DeVries & Taylor, *Improved Regularization of CNNs with Cutout*, 2017.
"""

from __future__ import annotations

import tensorflow as tf

from genzoo.distribute import replica_slice
from genzoo.errors import UserError

__all__ = ["ADA_OPS", "DEFAULT_ADA_OPS", "DEFAULT_MASK_OPS", "MASK_OPS", "POLICIES", "adaptive_augment", "check_ada_ops",
           "check_ops", "check_policy", "color", "cutout", "cutout_boxes", "diff_augment", "mask_augment", "parse_policy",
           "translation", "translation_shifts"]

TRANSLATION_RATIO = 0.125  # largest shift, as a fraction of the side (Zhao et al. 2020)
CUTOUT_RATIO = 0.5  # side of the erased square, as a fraction of the image's side


def _per_image_uniform(images, seed, count=1, minval=0.0, maxval=1.0, dtype=tf.float32):
    """`[B, count]` uniform draws, one row per image of this replica, cut from the global batch's draw."""
    batch = tf.shape(images)[0]
    return replica_slice(lambda n: tf.random.stateless_uniform([n, count], seed, minval, maxval, dtype), batch)


def _fold(seed, salt: int):
    return tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), salt)


# === The three policies ===
def color(images: tf.Tensor, seed) -> tf.Tensor:
    """Random brightness, saturation and contrast per image (differentiable in the images).

    Args:
      images: `[B, H, W, C]` float images in [-1, 1].
      seed: `[2]` int stateless seed.
    Returns:
      `[B, H, W, C]`; values may leave [-1, 1] (as in the paper, nothing is clipped).
    """
    u = _per_image_uniform(images, seed, 3)[:, None, None, :]  # [B, 1, 1, 3]
    x = images + (u[..., 0:1] - 0.5)  # brightness
    channel_mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    x = (x - channel_mean) * (2.0 * u[..., 1:2]) + channel_mean  # saturation
    image_mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - image_mean) * (u[..., 2:3] + 0.5) + image_mean  # contrast


def translation_shifts(images: tf.Tensor, seed, ratio: float = TRANSLATION_RATIO) -> tf.Tensor:
    """`[B, 2]` int32 (down, right) shifts in [-s, s], s = round(ratio * side), per image."""
    height, width = images.shape[1], images.shape[2]
    max_dy, max_dx = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = _per_image_uniform(images, _fold(seed, 0), 1, -max_dy, max_dy + 1, tf.int32)
    dx = _per_image_uniform(images, _fold(seed, 1), 1, -max_dx, max_dx + 1, tf.int32)
    return tf.concat([dy, dx], axis=1)


def translation(images: tf.Tensor, seed, ratio: float = TRANSLATION_RATIO) -> tf.Tensor:
    """Shifts each image by its own whole-pixel offset, filling the uncovered border with 0.

    A pixel moves from (i, j) to (i + dy, j + dx); gathering from a zero-padded copy keeps
    the gradient with respect to the images exact (it is a permutation with zeros).

    Args:
      images: `[B, H, W, C]` float images.
      seed: `[2]` int stateless seed.
      ratio: the largest shift as a fraction of the side.
    Returns:
      `[B, H, W, C]`, every value either an input value or 0.
    """
    height, width = images.shape[1], images.shape[2]
    shifts = translation_shifts(images, seed, ratio)
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])  # index 0 and side + 1 read the zero border
    # Output row i reads input row i - dy, i.e. padded row i - dy + 1, clipped onto the zero border.
    rows = tf.clip_by_value(tf.range(height)[None, :] - shifts[:, 0:1] + 1, 0, height + 1)
    cols = tf.clip_by_value(tf.range(width)[None, :] - shifts[:, 1:2] + 1, 0, width + 1)
    x = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(x, cols, axis=2, batch_dims=1)


def cutout_boxes(images: tf.Tensor, seed, ratio: float = CUTOUT_RATIO) -> tf.Tensor:
    """`[B, 2]` int32 (top, left) corners of each image's erased square of side round(ratio * side).

    Centres are uniform over the image (a square may reach past the border and be clipped),
    as in the paper's code.
    """
    height, width = images.shape[1], images.shape[2]
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    cy = _per_image_uniform(images, _fold(seed, 0), 1, 0, height + (1 - size_y % 2), tf.int32)
    cx = _per_image_uniform(images, _fold(seed, 1), 1, 0, width + (1 - size_x % 2), tf.int32)
    return tf.concat([cy - size_y // 2, cx - size_x // 2], axis=1)


def cutout(images: tf.Tensor, seed, ratio: float = CUTOUT_RATIO) -> tf.Tensor:
    """Sets a square of side round(ratio * side) to 0 in each image, at its own random place.

    Args:
      images: `[B, H, W, C]` float images.
      seed: `[2]` int stateless seed.
      ratio: the square's side as a fraction of the image's side.
    Returns:
      `[B, H, W, C]`: the images times a 0/1 mask (the gradient is the mask).
    """
    height, width = images.shape[1], images.shape[2]
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    corners = cutout_boxes(images, seed, ratio)
    rows = tf.range(height)[None, :] - corners[:, 0:1]  # [B, H]: row index inside the square
    cols = tf.range(width)[None, :] - corners[:, 1:2]
    inside_rows = (rows >= 0) & (rows < size_y)
    inside_cols = (cols >= 0) & (cols < size_x)
    erased = inside_rows[:, :, None] & inside_cols[:, None, :]  # [B, H, W]
    return images * tf.cast(~erased, images.dtype)[..., None]


POLICIES = {"color": color, "translation": translation, "cutout": cutout}


# === A policy string ===
def _names(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.replace("+", ",").split(",") if p.strip())


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """`"color,translation,cutout"` (or joined by `+`, which `--hparams` can carry) -> names.

    `None`, `""` and `"none"` mean no augmentation. An unknown name raises a one-line
    `UserError` listing the valid ones.
    """
    if policy is None or policy.strip().lower() in ("", "none"):
        return ()
    names = _names(policy)
    for name in names:
        if name not in POLICIES:
            raise UserError(f"unknown augmentation {name!r} in augment={policy!r}; "
                            f"choose from {', '.join(POLICIES)} (joined by + or ,) or none")
    return names


def check_policy(policy: str | None) -> str:
    """The policy in its canonical form (`"color,translation,cutout"`, `"none"`), validated."""
    return ",".join(parse_policy(policy)) or "none"


def diff_augment(images: tf.Tensor, seed, policy: str | None = "color,translation,cutout") -> tf.Tensor:
    """Applies the policy's transformations in order, each with its own seed folded from `seed`.

    Args:
      images: `[B, H, W, C]` float images in [-1, 1].
      seed: `[2]` int stateless seed (the same seed, the same transformation).
      policy: names from `POLICIES`, comma- or plus-separated; none returns the images.
    Returns:
      `[B, H, W, C]` augmented images, differentiable in `images`.
    """
    for index, name in enumerate(parse_policy(policy)):
        images = POLICIES[name](images, _fold(seed, 100 + index))
    return images


# === Adaptive augmentation (ADA, Karras et al. 2020) ===
# Each op is a random transformation drawn per image; `adaptive_augment` applies each one to an image with
# probability p, so every image is left as it is with probability (1 - p)^ops > 0: the discriminator's
# distribution of augmented images then determines the data's, and the generator cannot win by drawing the
# augmentations (Karras et al., section 2, for p below ~0.8). Magnitudes are those of the paper's `bgc` pipeline
# restricted to exact whole-pixel geometry (no resampling, which would blur pixel art).
BRIGHTNESS_STD = 0.2  # added to every channel, images in [-1, 1]
CONTRAST_LOG2_STD = 0.5  # the image scaled around its mean by 2^N(0, 0.5^2)
SATURATION_LOG2_STD = 1.0  # each pixel's colour scaled around its grey by 2^N(0, 1)


def _per_image_normal(images, seed):
    """`[B, 1, 1, 1]` standard normal draws, one per image of this replica (cut from the global batch's draw)."""
    batch = tf.shape(images)[0]
    return replica_slice(lambda n: tf.random.stateless_normal([n, 1, 1, 1], seed), batch)


def xflip(images: tf.Tensor, seed) -> tf.Tensor:
    """Mirrors each image left to right with probability 1/2 (a mirrored sprite is a valid sprite)."""
    flip = _per_image_uniform(images, seed)[:, :, None, None] < 0.5
    return tf.where(flip, tf.reverse(images, [2]), images)


def rotate90(images: tf.Tensor, seed) -> tf.Tensor:
    """Rotates each image by k quarter turns, k uniform in {0, 1, 2, 3} (square images only)."""
    turns = _per_image_uniform(images, seed, 1, 0, 4, tf.int32)[:, 0]
    # tf.image.rot90's quarter turns (anticlockwise), without its shape asserts in the graph.
    swapped = lambda x: tf.transpose(x, [0, 2, 1, 3])
    rotations = tf.stack([images, swapped(tf.reverse(images, [2])), tf.reverse(images, [1, 2]),
                          tf.reverse(swapped(images), [2])], axis=1)  # [B, 4, H, W, C]
    return tf.gather(rotations, turns, axis=1, batch_dims=1)


def brightness(images: tf.Tensor, seed) -> tf.Tensor:
    """Adds N(0, 0.2^2) to every value of an image, one draw per image."""
    return images + BRIGHTNESS_STD * _per_image_normal(images, seed)


def contrast(images: tf.Tensor, seed) -> tf.Tensor:
    """Scales each image around its mean value by 2^N(0, 0.5^2)."""
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * tf.pow(2.0, CONTRAST_LOG2_STD * _per_image_normal(images, seed)) + mean


def saturation(images: tf.Tensor, seed) -> tf.Tensor:
    """Scales each pixel's colour around its channel mean (its grey) by 2^N(0, 1), one draw per image."""
    grey = tf.reduce_mean(images, axis=-1, keepdims=True)
    return (images - grey) * tf.pow(2.0, SATURATION_LOG2_STD * _per_image_normal(images, seed)) + grey


ADA_OPS = {"xflip": xflip, "rotate90": rotate90, "translation": translation, "brightness": brightness,
           "contrast": contrast, "saturation": saturation}
DEFAULT_ADA_OPS = "xflip,rotate90,translation,brightness,contrast,saturation"


def check_ada_ops(ops: str, height: int, width: int) -> str:
    """The ops in canonical form (`"xflip,translation"`), validated: known names, at least one, and
    rotate90 only on square images. Errors are one-line `UserError`s naming the culprit."""
    return check_ops("ada_ops", ops, ADA_OPS, height, width)


def check_ops(hparam: str, ops: str, table: dict, height: int, width: int) -> str:
    """`ops` (names from `table` joined by `,` or `+`, the hyper-parameter `hparam`) in canonical form, validated:
    known names, at least one, rotate90 only on square images; else a one-line `UserError` naming the culprit."""
    names = _names(ops) if isinstance(ops, str) else ()
    if not names:
        raise UserError(f"{hparam} must name at least one of {', '.join(table)} (joined by + or ,), got {ops!r}")
    for name in names:
        if name not in table:
            raise UserError(f"unknown augmentation {name!r} in {hparam}={ops!r}; choose from {', '.join(table)} "
                            f"(joined by + or ,)")
    if "rotate90" in names and height != width:
        raise UserError(f"{hparam}=rotate90 needs square images, got {height}x{width}")
    return ",".join(names)


def adaptive_augment(images: tf.Tensor, seed, p, ops: str = DEFAULT_ADA_OPS) -> tf.Tensor:
    """Applies each op in `ops` to each image with probability `p` (ADA's pipeline), in order.

    Args:
      images: `[B, H, W, C]` float images in [-1, 1].
      seed: `[2]` int stateless seed (the same seed and p, the same images).
      p: scalar probability in [0, 1], the same for every image.
      ops: names from `ADA_OPS`, comma- or plus-separated.
    Returns:
      `[B, H, W, C]`, differentiable in `images`; at p = 0 the images unchanged.
    """
    p = tf.cast(p, tf.float32)
    for index, name in enumerate(_names(ops)):
        chosen = _per_image_uniform(images, _fold(seed, 200 + index))[:, :, None, None] < p  # [B, 1, 1, 1]
        images = tf.where(chosen, ADA_OPS[name](images, _fold(seed, 300 + index)), images)
    return images


# === Silhouettes (`silhouette_weight`) ===
# Ops that keep a 0/1 body mask a mask, filling with 0 (background): mirroring, DiffAugment's translation and
# cutout. No quarter turns: applied to every mask, real and generated, they would let upright sprites lie down.
MASK_OPS = {"xflip": xflip, "translation": translation, "cutout": cutout}
DEFAULT_MASK_OPS = "xflip"


def mask_augment(masks: tf.Tensor, seed, ops: str = DEFAULT_MASK_OPS) -> tf.Tensor:
    """Applies every op in `ops` (names from `MASK_OPS`) to every mask `[B, H, W, 1]` in {0, 1}, in order, each
    drawn per mask from its own seed folded from `seed`; differentiable in `masks`."""
    for index, name in enumerate(_names(ops)):
        masks = MASK_OPS[name](masks, _fold(seed, 400 + index))
    return masks
