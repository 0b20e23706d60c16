"""Serving: versioned, atomic SavedModel exports for TF Serving, and in-graph request checks.

`export(model, export_base)` writes `export_base/<N>/`, the layout TF Serving's
`--model_base_path` watches: one numeric folder per version, the highest served.
Every model class provides `serving_functions(max_num_samples)`, a dict of
`tf.function`s with full input signatures returning dicts of named tensors; each
becomes a SavedModel signature of the same name, and the first also becomes
`serving_default`. See docs/serving.md for the signatures and request formats.

The SavedModel is written through `keras.export.ExportArchive`, not plain
`tf.saved_model.save`: only the former is readable by the session-based loader that
TF Serving and `saved_model_cli run` use (docs/TOOLCHAIN.md, "Could not find
variable dense/bias").

The write is atomic: the SavedModel is built in a hidden, non-numeric folder
beside the version (`.tmp-export-N-xxxx`) and renamed into place, so a watcher
never sees a half-written version and a killed export leaves no numeric folder.

The `check_*` helpers are the request validation the serving functions share: they
fail a request with the documented message before anything is allocated.
"""

from __future__ import annotations

import inspect
import json
import os
import re
import shutil
import tempfile

import tensorflow as tf

from genzoo.errors import UserError

DEFAULT_MAX_NUM_SAMPLES = 1024
METADATA_FILE = os.path.join("assets.extra", "genzoo.json")
_VERSION = re.compile(r"[0-9]+")


# === Request checks (used inside serving functions) ===
def _after(checks, value):
    # The checks must run before anything that uses `value`, e.g. before a
    # `num_samples`-sized allocation, not merely somewhere in the same call.
    with tf.control_dependencies(checks):
        return tf.identity(value)


def check_num_samples(num_samples, max_num_samples: int) -> tf.Tensor:
    """int32 scalar `num_samples`, failing the request unless 1 <= num_samples <= cap."""
    return _after([
        tf.debugging.assert_positive(num_samples, message="num_samples must be positive"),
        tf.debugging.assert_less_equal(
            num_samples, tf.constant(max_num_samples, num_samples.dtype),
            message=f"num_samples exceeds the cap of {max_num_samples}",
        ),
    ], num_samples)


def check_labels(labels, num_classes: int, batch) -> tf.Tensor:
    """int32 `labels [batch]`, each in `[0, num_classes)`: one class label per image."""
    return _after([
        tf.debugging.assert_equal(
            tf.shape(labels)[0], tf.cast(batch, tf.int32),
            message="labels must have one entry per image (num_samples or the batch size)",
        ),
        tf.debugging.assert_non_negative(labels, message=f"labels must lie in [0, {num_classes})"),
        tf.debugging.assert_less(
            labels, tf.constant(num_classes, labels.dtype), message=f"labels must lie in [0, {num_classes})"
        ),
    ], labels)


def serving_image_spec(spec) -> tf.TensorSpec:
    """How `images` inputs arrive in every family: int32 palette indices `[N, H, W]`
    for palette data, else uint8 `[N, H, W, C]` (rgb: 0-255; binary: 0 or 1)."""
    if spec.encoding == "palette":
        return tf.TensorSpec([None, spec.height, spec.width], tf.int32, name="images")
    return tf.TensorSpec([None, *spec.image_shape], tf.uint8, name="images")


def encoded_from_serving(images, spec) -> tf.Tensor:
    """Checked `images` as `serving_image_spec` defines them -> encoded images (see `DatasetSpec`)."""
    if spec.encoding == "palette":
        message = f"palette indices must lie in [0, {spec.num_colors})"
        return _after([
            tf.debugging.assert_non_negative(images, message=message),
            tf.debugging.assert_less(images, tf.constant(spec.num_colors, images.dtype), message=message),
        ], images)
    if spec.encoding == "binary":
        images = _after([tf.debugging.assert_less_equal(
            images, tf.constant(1, images.dtype), message="binary pixels must be 0 or 1")], images)
        return tf.cast(images, tf.float32)
    return tf.cast(images, tf.float32) / 255.0  # the rgb encoding: uint8 / 255


def check_finite(values, name: str) -> tf.Tensor:
    return _after([tf.debugging.assert_all_finite(values, message=f"{name} must be finite")], values)


def signature_function(body, specs) -> tf.function:
    """A `tf.function` with input signature `specs` whose parameters are the specs' names.

    `body` is called with keyword arguments, so one body can serve signatures that
    differ by an input (the conditional models' `labels`); callers may pass inputs
    by name or position.
    """
    specs = list(specs)
    names = [spec.name for spec in specs]

    def call(*args):
        return body(**dict(zip(names, args)))

    call.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in names])
    return tf.function(call, input_signature=specs)


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


def image_outputs(encoded, spec) -> dict[str, tf.Tensor]:
    """The serving image outputs: uint8 RGB `images`, plus int32 `indices` for palette models."""
    from genzoo.data import to_rgb_uint8

    outputs = {"images": to_rgb_uint8(encoded, spec)}
    if spec.encoding == "palette":
        outputs["indices"] = tf.cast(encoded, tf.int32)
    return outputs


# === Versions ===
def versions(export_base: str) -> list[int]:
    """Numeric version folders under `export_base`, ascending (what TF Serving sees)."""
    if not os.path.isdir(export_base):
        return []
    return sorted(
        int(name) for name in os.listdir(export_base)
        if _VERSION.fullmatch(name) and os.path.isdir(os.path.join(export_base, name))
    )


def _model_name(model) -> str | None:
    from genzoo.models import registry

    return next((name for name in registry.names() if registry.get(name) is type(model)), None)


def _describe(fn) -> dict:
    concrete = fn.get_concrete_function()
    inputs = {
        spec.name: {"dtype": spec.dtype.name, "shape": spec.shape.as_list() if spec.shape.rank is not None else None}
        for spec in tf.nest.flatten(concrete.structured_input_signature)
    }
    outputs = {
        key: {"dtype": spec.dtype.name, "shape": spec.shape.as_list()}
        for key, spec in concrete.structured_outputs.items()
    }
    return {"inputs": inputs, "outputs": outputs}


# === Export ===
def signatures(model, max_num_samples: int = DEFAULT_MAX_NUM_SAMPLES) -> dict:
    """The functions `export` writes: `model.serving_functions(max_num_samples)` behind shape checks."""
    if max_num_samples < 1:
        raise UserError(f"max_num_samples must be at least 1, got {max_num_samples}")
    if not hasattr(model, "serving_functions"):
        raise UserError(f"{type(model).__name__} has no serving_functions(); it cannot be exported")
    functions = model.serving_functions(max_num_samples)
    if not functions:
        raise UserError(f"{type(model).__name__}.serving_functions() returned no signatures")
    return {name: with_shape_checks(fn) for name, fn in functions.items()}


def export(model, export_base: str, version: int | None = None,
           max_num_samples: int = DEFAULT_MAX_NUM_SAMPLES, metadata: dict | None = None,
           functions: dict | None = None) -> str:
    """Writes `model`'s serving functions as SavedModel `export_base/<version>/`; returns its path.

    Args:
      model: a built genzoo model with `serving_functions(max_num_samples)`.
      export_base: the folder TF Serving watches (`--model_base_path`); created if missing.
      version: the version number; default one more than the highest present (1 at first).
      max_num_samples: the largest `num_samples` a sampling request may ask for.
      metadata: extra JSON-able facts (e.g. the training run's config) for
        `assets.extra/genzoo.json`.
      functions: `signatures(model, max_num_samples)` when the caller has them
        already (saves tracing them again); made here otherwise.
    """
    import keras

    from genzoo import __version__

    if os.path.exists(export_base) and not os.path.isdir(export_base):
        raise UserError(f"export base {export_base} is a file, not a folder")
    present = versions(export_base)
    if version is None:
        version = (present[-1] if present else 0) + 1
    if version < 1:
        raise UserError(f"version must be a positive integer, got {version}")
    final = os.path.join(export_base, str(version))
    if os.path.exists(final):
        raise UserError(f"{final} exists already; pick another --version or leave it unset for the next one")
    if functions is None:
        functions = signatures(model, max_num_samples)

    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, fn in functions.items():
        fn.get_concrete_function()  # trace now: add_endpoint takes a traced tf.function
        archive.add_endpoint(name, fn)

    os.makedirs(export_base, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".tmp-export-{version}-", dir=export_base)
    try:
        archive.write_out(tmp, verbose=False)
        info = {
            "model": _model_name(model), "model_class": type(model).__name__,
            "model_config": model.get_config(), "version": version, "max_num_samples": max_num_samples,
            "serving_default": next(iter(functions)),
            "signatures": {name: _describe(fn) for name, fn in functions.items()},
            "genzoo": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            **(metadata or {}),
        }
        os.makedirs(os.path.join(tmp, "assets.extra"), exist_ok=True)
        with open(os.path.join(tmp, METADATA_FILE), "w") as f:
            json.dump(info, f, indent=2, sort_keys=True, default=str)
        os.chmod(tmp, 0o755)  # mkdtemp makes it owner-only; a serving container may run as another user
        if os.path.exists(final):  # another export took this number meanwhile
            raise UserError(f"{final} appeared during the export; nothing was overwritten")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
