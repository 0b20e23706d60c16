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

Every file operation goes through `tf.io.gfile` (`genzoo.files`), so `--export_base=gs://...`
works; tests/test_gfile.py exports to TensorFlow's `ram://` file system. `read_metadata`
reads `genzoo.json` back, refusing a missing or corrupt one with a one-line error.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import uuid

import tensorflow as tf

from genzoo import files
from genzoo.errors import UserError
from genzoo.serving.signatures import signatures

DEFAULT_MAX_NUM_SAMPLES = 1024
METADATA_FILE = "assets.extra/genzoo.json"
_VERSION = re.compile(r"[0-9]+")


# === Versions ===
def versions(export_base: str) -> list[int]:
    """Numeric version folders under `export_base`, ascending (what TF Serving sees)."""
    if not tf.io.gfile.isdir(export_base):
        return []
    names = [name.rstrip("/") for name in tf.io.gfile.listdir(export_base)]
    return sorted(
        int(name) for name in names
        if _VERSION.fullmatch(name) and tf.io.gfile.isdir(files.join(export_base, name))
    )


def read_metadata(path: str) -> dict:
    """`path/assets.extra/genzoo.json` of an export (`path` = BASE/N), checked: a one-line
    UserError when it is missing, not JSON, or lacks the model's dataset spec."""
    where = files.join(path, METADATA_FILE)
    try:
        text = files.read_text(where)
    except tf.errors.NotFoundError:
        raise UserError(f"{path}: not a genzoo export (no {METADATA_FILE})") from None
    except (tf.errors.OpError, UnicodeDecodeError) as err:
        raise UserError(f"{where}: unreadable ({type(err).__name__})") from None
    try:
        info = json.loads(text)
    except ValueError as err:
        raise UserError(f"{where} is corrupt (not JSON: {err})") from None
    model_config = info.get("model_config") if isinstance(info, dict) else None
    if not isinstance(model_config, dict) or not isinstance(model_config.get("spec"), dict):
        raise UserError(f"{where} is corrupt (no model_config.spec)")
    return info


def _rename(src: str, dst: str) -> None:
    """Locally one atomic os.rename of the folder. Object stores (gs://, and ram:// whose rename
    moves no children) have no folder rename: each file is renamed, saved_model.pb last, since
    a loader looks for it first; a reader may see a partial folder without it meanwhile."""
    if not files.is_remote(src):
        os.rename(src, dst)
        return
    moves = [(files.join(folder, name), posixpath.join(dst, folder[len(src):].strip("/"), name))
             for folder, _, names in tf.io.gfile.walk(src) for name in names]
    # ram:// lists by name prefix ("assets" also yields "assets/.extra" for "assets.extra"): keep real files.
    moves = [move for move in moves if tf.io.gfile.exists(move[0]) and not tf.io.gfile.isdir(move[0])]
    moves.sort(key=lambda move: posixpath.basename(move[0]) == "saved_model.pb")
    for old, new in moves:
        tf.io.gfile.makedirs(posixpath.dirname(new))
        tf.io.gfile.rename(old, new)
    try:
        tf.io.gfile.rmtree(src)  # empty folders, where the file system keeps any
    except tf.errors.NotFoundError:
        pass


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

    if tf.io.gfile.exists(export_base) and not tf.io.gfile.isdir(export_base):
        raise UserError(f"export base {export_base} is a file, not a folder")
    present = versions(export_base)
    if version is None:
        version = (present[-1] if present else 0) + 1
    if version < 1:
        raise UserError(f"version must be a positive integer, got {version}")
    final = files.join(export_base, str(version))
    if tf.io.gfile.exists(final):
        raise UserError(f"{final} exists already; pick another --version or leave it unset for the next one")
    if functions is None:
        functions = signatures(model, max_num_samples)

    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, fn in functions.items():
        fn.get_concrete_function()  # trace now: add_endpoint takes a traced tf.function
        archive.add_endpoint(name, fn)

    tf.io.gfile.makedirs(export_base)
    tmp = files.join(export_base, f".tmp-export-{version}-{uuid.uuid4().hex[:8]}")
    try:
        tf.io.gfile.makedirs(tmp)
        archive.write_out(tmp, verbose=False)
        info = {
            "model": model.registered_name(), "model_class": type(model).__name__,
            "model_config": model.get_config(), "version": version, "max_num_samples": max_num_samples,
            "serving_default": next(iter(functions)),
            "signatures": {name: _describe(fn) for name, fn in functions.items()},
            "genzoo": __version__, "tensorflow": tf.__version__, "keras": keras.__version__,
            **(metadata or {}),
        }
        tf.io.gfile.makedirs(files.join(tmp, "assets.extra"))
        with tf.io.gfile.GFile(files.join(tmp, METADATA_FILE), "w") as f:
            f.write(json.dumps(info, indent=2, sort_keys=True, default=str))
        if tf.io.gfile.exists(final):  # another export took this number meanwhile
            raise UserError(f"{final} appeared during the export; nothing was overwritten")
        _rename(tmp, final)
    except BaseException:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.rmtree(tmp)
        raise
    return final
