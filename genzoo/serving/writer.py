"""Versioned, atomic SavedModel exports for TF Serving.

`export(model, export_base)` writes `export_base/<N>/`, the layout TF Serving's
`--model_base_path` watches: one numeric folder per version, the highest served.
The signatures come from the model's declared capabilities (`signatures.signatures`).

The SavedModel is written through `keras.export.ExportArchive`, not plain
`tf.saved_model.save`: only the former is readable by the session-based loader that
TF Serving and `saved_model_cli run` use ("Could not find variable dense/bias").

The write is atomic: the SavedModel is built in a hidden, non-numeric folder beside
the version (`.tmp-export-N-xxxx`) and renamed into place, so a watcher never sees a
half-written version and a killed export leaves no numeric folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile

import tensorflow as tf

from genzoo.errors import UserError
from genzoo.serving.signatures import signatures

DEFAULT_MAX_NUM_SAMPLES = 1024
METADATA_FILE = os.path.join("assets.extra", "genzoo.json")
_VERSION = re.compile(r"[0-9]+")


# === Versions ===
def versions(export_base: str) -> list[int]:
    """Numeric version folders under `export_base`, ascending (what TF Serving sees)."""
    if not os.path.isdir(export_base):
        return []
    return sorted(
        int(name) for name in os.listdir(export_base)
        if _VERSION.fullmatch(name) and os.path.isdir(os.path.join(export_base, name))
    )


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
            "model": model.registered_name(), "model_class": type(model).__name__,
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
