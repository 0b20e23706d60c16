"""Serving signatures generated from a model's declared capabilities.

One signature per capability (docs/serving.md), in this order (the first is also
`serving_default`):

| capability | signature | inputs | outputs |
| --- | --- | --- | --- |
| Sampler | `sample` | num_samples, seed (+ temperature if tempered) | images (+ indices) |
| Decoder | `decode` / `generate` | z | images (+ indices) |
| Encoder | `encode`, `reconstruct` | images | mean, log_var / images (+ indices) |
| Completer | `complete` | images, num_known_pixels, seed, temperature | images (+ indices) |
| ExactLikelihood | `log_prob` | images | nats, bits_per_dim |

`Conditional` models take int32 `labels`, one per image, in every signature.
`LikelihoodBound` and `CodeSpace` have no signature (bounds are an evaluation, walks a
figure). Images travel as int32 palette indices `[N, H, W]`, else uint8 `[N, H, W, C]`.
"""

from __future__ import annotations

import inspect

import tensorflow as tf

from genzoo.data import encodings
from genzoo.errors import UserError
from genzoo.models import capabilities as caps
from genzoo.serving import checks

MAX_CAP = 2**31 - 1  # requests count in int32


def image_spec(spec) -> tf.TensorSpec:
    """How `images` inputs arrive: int32 palette indices `[N, H, W]` for palette data,
    else uint8 `[N, H, W, C]` (rgb: 0-255; binary: 0 or 1)."""
    return tf.TensorSpec([None, *spec.image_shape], encodings.pixels_dtype(spec), name="images")


def image_outputs(encoded, spec) -> dict[str, tf.Tensor]:
    """The serving image outputs: uint8 RGB `images`, plus int32 `indices` for palette models."""
    outputs = {"images": encodings.to_rgb_uint8(encoded, spec)}
    if encodings.pixels_dtype(spec) == tf.int32:
        outputs["indices"] = tf.cast(encoded, tf.int32)
    return outputs


def signature_function(body, specs) -> tf.function:
    """A `tf.function` with input signature `specs` whose parameters are the specs' names.

    `body` is called with keyword arguments, so one body serves signatures that differ
    by an input (`labels`, `temperature`); callers may pass inputs by name or position.
    """
    specs = list(specs)
    names = [spec.name for spec in specs]

    def call(*args):
        return body(**dict(zip(names, args)))

    call.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names])
    return tf.function(call, input_signature=specs, autograph=False)


def with_shape_checks(fn) -> tf.function:
    """`fn` behind a run-time shape check of every input, with the same named input signature.

    A loaded SavedModel's signatures check dtypes but not shapes (nor does the
    session-based loader TF Serving uses), so a wrong image size would otherwise fail
    deep inside a layer. `tf.ensure_shape` fails it up front with
    "Shape of tensor images [2,20,21] is not compatible with expected shape [?,20,20]."
    """
    specs = [
        tf.TensorSpec(spec.shape, spec.dtype, name=spec.name)
        for spec in tf.nest.flatten(fn.get_concrete_function().structured_input_signature)
    ]
    return signature_function(
        lambda **inputs: fn(*(tf.ensure_shape(inputs[spec.name], spec.shape) for spec in specs)), specs)


class _Builder:
    """The signatures of one model, each a body over checked inputs."""

    def __init__(self, model, cap: int):
        self.model, self.spec, self.cap = model, model.spec, int(cap)
        self.has = model.capabilities()
        self.conditional = caps.Conditional in self.has
        self.inputs = {
            "num_samples": tf.TensorSpec([], tf.int32, name="num_samples"),
            "seed": tf.TensorSpec([], tf.int64, name="seed"),
            "temperature": tf.TensorSpec([], tf.float32, name="temperature"),
            "num_known_pixels": tf.TensorSpec([], tf.int32, name="num_known_pixels"),
            "images": image_spec(self.spec),
            "labels": tf.TensorSpec([None], tf.int32, name="labels"),
        }
        if caps.Decoder in self.has:
            self.inputs["z"] = tf.TensorSpec([None, model.latent_dim], tf.float32, name="z")

    def endpoint(self, body, *names):
        names = (*names, "labels") if self.conditional else names
        return signature_function(body, [self.inputs[name] for name in names])

    def labels(self, labels, count):
        return checks.labels(labels, self.spec.num_classes, count) if self.conditional else None

    def images(self, pixels):
        return checks.images(pixels, self.spec, self.cap)

    def functions(self) -> dict:
        model, spec, out = self.model, self.spec, {}

        def sample(num_samples, seed, temperature=1.0, labels=None):
            num_samples = checks.num_samples(num_samples, self.cap)
            if model.tempered:
                temperature = checks.temperature(temperature)
            return image_outputs(model.sample(num_samples, seed, self.labels(labels, num_samples), temperature), spec)

        out["sample"] = self.endpoint(sample, "num_samples", "seed", *(["temperature"] if model.tempered else []))

        if caps.Decoder in self.has:
            def decode(z, labels=None):
                z = checks.codes(z, self.cap)
                return image_outputs(model.decode(z, self.labels(labels, tf.shape(z)[0])), spec)

            out[model.decode_signature] = self.endpoint(decode, "z")

        if caps.Encoder in self.has:
            def encode(images, labels=None):
                images = self.images(images)
                mean, log_var = model.encode(images, self.labels(labels, tf.shape(images)[0]))
                return {"mean": mean, "log_var": log_var}

            def reconstruct(images, labels=None):
                images = self.images(images)
                return image_outputs(model.reconstruct(images, self.labels(labels, tf.shape(images)[0])), spec)

            out["encode"] = self.endpoint(encode, "images")
            out["reconstruct"] = self.endpoint(reconstruct, "images")

        if caps.Completer in self.has:
            num_pixels = spec.height * spec.width

            def complete(images, num_known_pixels, seed, temperature, labels=None):
                images = self.images(images)
                done = model.complete(images, checks.num_known_pixels(num_known_pixels, num_pixels), seed,
                                      self.labels(labels, tf.shape(images)[0]), checks.temperature(temperature))
                return image_outputs(done, spec)

            out["complete"] = self.endpoint(complete, "images", "num_known_pixels", "seed", "temperature")

        if caps.ExactLikelihood in self.has:
            def log_prob(images, labels=None):
                images = self.images(images)
                nats = model.log_prob(images, self.labels(labels, tf.shape(images)[0]))
                return {"nats": nats, "bits_per_dim": model.bits_per_dim(-nats)}

            out["log_prob"] = self.endpoint(log_prob, "images")
        return out


def signatures(model, max_num_samples: int) -> dict:
    """The functions an export writes, by signature name: one per declared capability,
    behind shape checks; `sample` first (it becomes `serving_default`)."""
    if not 1 <= max_num_samples <= MAX_CAP:
        raise UserError(f"max_num_samples must lie in 1-{MAX_CAP}, got {max_num_samples}")
    if caps.Sampler not in model.capabilities():
        raise UserError(f"{type(model).__name__} is not a Sampler; it cannot be exported")
    return {name: with_shape_checks(fn) for name, fn in _Builder(model, max_num_samples).functions().items()}
