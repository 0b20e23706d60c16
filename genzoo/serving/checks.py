"""Request checks of every serving signature: one set, one set of messages.

Each returns its input made usable only after the checks passed, so a bad request
fails with the documented message before anything is allocated (a `num_samples`-sized
tensor, an embedding lookup of a bad label), in `tf.saved_model.load` clients and in
the session-based loader TF Serving uses alike. docs/serving.md lists the messages.
"""

from __future__ import annotations

import tensorflow as tf

from genzoo.data import encodings


def _after(checks, value):
    # The checks must run before anything that uses `value`, not merely somewhere in the same call.
    with tf.control_dependencies(checks):
        return tf.identity(value)


def num_samples(value, cap: int) -> tf.Tensor:
    """int32 scalar, 1 <= num_samples <= cap."""
    return _after([
        tf.debugging.assert_positive(value, message="num_samples must be positive"),
        tf.debugging.assert_less_equal(value, tf.constant(cap, value.dtype),
                                       message=f"num_samples exceeds the cap of {cap}"),
    ], value)


def batch(value, cap: int, what: str, unit: str) -> tf.Tensor:
    """A batch input `[N, ...]` with 1 <= N <= cap ("images must hold at least one image")."""
    count = tf.shape(value)[0]
    return _after([
        tf.debugging.assert_positive(count, message=f"{what} must hold at least one {unit}"),
        tf.debugging.assert_less_equal(count, cap, message=f"the number of {unit}s exceeds the cap of {cap}"),
    ], value)


def labels(value, num_classes: int, count) -> tf.Tensor:
    """int32 `labels [count]`, each in `[0, num_classes)`: one class label per image."""
    message = f"labels must lie in [0, {num_classes})"
    return _after([
        tf.debugging.assert_equal(tf.shape(value)[0], tf.cast(count, tf.int32),
                                  message="labels must have one entry per image (num_samples or the batch size)"),
        tf.debugging.assert_non_negative(value, message=message),
        tf.debugging.assert_less(value, tf.constant(num_classes, value.dtype), message=message),
    ], value)


def images(pixels, spec, cap: int) -> tf.Tensor:
    """Pixels as clients send them (`encodings.pixels_dtype`), checked -> encoded images."""
    pixels = batch(pixels, cap, "images", "image")
    if spec.encoding == "palette":
        message = f"palette indices must lie in [0, {spec.num_colors})"
        pixels = _after([
            tf.debugging.assert_non_negative(pixels, message=message),
            tf.debugging.assert_less(pixels, tf.constant(spec.num_colors, pixels.dtype), message=message),
        ], pixels)
    elif spec.encoding == "binary":
        pixels = _after([tf.debugging.assert_less_equal(
            pixels, tf.constant(1, pixels.dtype), message="binary pixels must be 0 or 1")], pixels)
    return encodings.from_pixels(pixels, spec)


def codes(z, cap: int) -> tf.Tensor:
    """Finite codes `[N, latent_dim]`, 1 <= N <= cap."""
    z = batch(z, cap, "z", "code")
    return _after([tf.debugging.assert_all_finite(z, message="z must be finite")], z)


def temperature(value) -> tf.Tensor:
    return _after([tf.debugging.assert_non_negative(value, message="temperature must be >= 0")], value)


def num_known_pixels(value, num_pixels: int) -> tf.Tensor:
    return _after([
        tf.debugging.assert_non_negative(value, message="num_known_pixels must be >= 0"),
        tf.debugging.assert_less_equal(value, num_pixels, message=f"num_known_pixels must be at most {num_pixels}"),
    ], value)
