"""Pretrained presets shipped inside the package: `genzoo.models.from_preset(name)`.

A preset is two files in this folder: `NAME.json`, its model card (data, split, budget, the
command that trained it, held-out likelihood, two-sample test, near-copy share, the weights'
sha256), and `NAME.npz`, its weights in the model's weight order (`w0000`, `w0001`, ...;
float16 when the held-out figure stays within `FLOAT16_TOLERANCE` bits/dim of float32, as
`tools/make_preset.py` checks). Loading verifies the sha256 and every weight's shape; no
pickle is involved (`allow_pickle=False`).

Layouts (the card's `weights_layout`; `plain` when absent): `plain` stores each weight as
an array of its own shape. `byteplanes` (float16 only; `save` picks it when its file is
smaller) stores a float16 weight of shape S as uint8 `[2, *S]`: its low bytes, then its
high bytes (little-endian). The values are the same float16 numbers; the high bytes (sign,
exponent, top mantissa bits) compress far better on their own than interleaved (a
4.8M-weight cvae: 8.3 MB plain, 7.8 MB as byte planes; 7.2 MB with the last mantissa bit
zeroed by `round_float16`).

Weights go by order, not by name: Keras numbers auto-named layers per process, so names
differ when a process builds two models; the order of `model.weights` does not.
"""

from __future__ import annotations

import hashlib
import io
import json
import os

import numpy as np

from genzoo import files
from genzoo.errors import UserError

PRESET_DIR = os.path.dirname(os.path.abspath(__file__))
FLOAT16_TOLERANCE = 0.005  # bits/dim: float16 weights are kept when the held-out figure moves less
MAX_PRESET_BYTES = 8 * 2**20
LAYOUTS = ("plain", "byteplanes")


def names(folder: str | None = None) -> list[str]:
    return sorted(name[:-5] for name in os.listdir(folder or PRESET_DIR) if name.endswith(".json"))


def card(name: str, folder: str | None = None) -> dict:
    """The preset's model card; an unknown name lists the known ones."""
    known = names(folder)
    if name not in known:
        raise UserError(f"unknown preset {name!r}; presets: {', '.join(known) or 'none'}")
    return json.loads(files.read_text(os.path.join(folder or PRESET_DIR, f"{name}.json")))


def load(name: str, folder: str | None = None):
    """Builds the preset's model and sets its weights, checking their sha256 and shapes."""
    from genzoo.models import registry

    info = card(name, folder)
    data = files.read_bytes(os.path.join(folder or PRESET_DIR, f"{name}.npz"))
    digest = hashlib.sha256(data).hexdigest()
    if digest != info["weights_sha256"]:
        raise UserError(f"preset {name}: {name}.npz has sha256 {digest[:12]}..., its card says "
                        f"{info['weights_sha256'][:12]}...; reinstall genzoo")
    model = registry.get(info["model"]).from_config(info["model_config"])
    layout = info.get("weights_layout", "plain")
    if layout not in LAYOUTS:
        raise UserError(f"preset {name}: unknown weights_layout {layout!r}; this genzoo reads {', '.join(LAYOUTS)}")
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        stored = [arrays[f"w{i:04d}"] for i in range(len(arrays.files))]
    if layout == "byteplanes":
        stored = [_from_byteplanes(value) if value.dtype == np.uint8 else value for value in stored]
    if len(stored) != len(model.weights):
        raise UserError(f"preset {name}: {len(stored)} weights stored, the model has {len(model.weights)}")
    for weight, value in zip(model.weights, stored):
        if tuple(weight.shape) != value.shape:
            raise UserError(f"preset {name}: weight {weight.path} has shape {tuple(weight.shape)}, "
                            f"stored {value.shape}")
        weight.assign(value.astype(weight.dtype))
    return model


def round_float16(value: np.ndarray, mantissa_bits: int = 10) -> np.ndarray:
    """float32 -> the nearest float16 with `mantissa_bits` of its 10 mantissa bits kept (the
    rest zero, so the low byte planes compress better), back as float32. 10: plain float16."""
    if not 1 <= mantissa_bits <= 10:
        raise UserError(f"mantissa_bits={mantissa_bits}: float16 keeps 1 to 10 mantissa bits")
    half = np.asarray(value, np.float32).astype(np.float16)
    if mantissa_bits < 10:
        drop = 10 - mantissa_bits
        bits = half.view(np.uint16).astype(np.uint32)
        magnitude = (((bits & 0x7FFF) + (1 << (drop - 1))) >> drop) << drop  # a carry bumps the exponent
        half = ((bits & 0x8000) | magnitude).astype(np.uint16).view(np.float16)
    if not np.all(np.isfinite(half[np.isfinite(value)])):
        raise UserError("a weight overflows float16; keep float32")
    return half.astype(np.float32)


def _to_byteplanes(value: np.ndarray) -> np.ndarray:
    """float16 of shape S -> uint8 [2, *S]: low bytes, then high bytes."""
    planes = np.ascontiguousarray(value.astype("<f2")).view(np.uint8).reshape(*value.shape, 2)
    return np.ascontiguousarray(np.moveaxis(planes, -1, 0))


def _from_byteplanes(planes: np.ndarray) -> np.ndarray:
    """The inverse of `_to_byteplanes`: uint8 [2, *S] -> float16 of shape S."""
    if planes.ndim < 1 or planes.shape[0] != 2:
        raise UserError(f"preset weights: byte planes of shape {planes.shape}, expected [2, ...]")
    return np.ascontiguousarray(np.moveaxis(planes, 0, -1)).view("<f2").reshape(planes.shape[1:])


def weights_npz(model, dtype: str, layout: str = "plain") -> bytes:
    """The model's weights in order as an npz file's bytes (floats cast to `dtype`)."""
    if layout not in LAYOUTS or (layout == "byteplanes" and dtype != "float16"):
        raise UserError(f"weights layout {layout!r} with {dtype}: use plain, or byteplanes with float16")
    buffer = io.BytesIO()
    arrays = {}
    for i, weight in enumerate(model.weights):
        value = np.asarray(weight.numpy())
        if np.issubdtype(value.dtype, np.floating):
            value = value.astype(dtype)
            if layout == "byteplanes":
                value = _to_byteplanes(value)
        arrays[f"w{i:04d}"] = value
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def save(name: str, model, info: dict, dtype: str, folder: str | None = None) -> dict:
    """Writes NAME.npz and NAME.json (the card, completed with the model and the sha256).

    float16 weights go plain or as byte planes, whichever file is smaller.
    """
    layout = "plain"
    data = weights_npz(model, dtype)
    if dtype == "float16":
        planes = weights_npz(model, dtype, "byteplanes")
        if len(planes) < len(data):
            layout, data = "byteplanes", planes
    if len(data) > MAX_PRESET_BYTES:
        raise UserError(f"preset {name}: {len(data) / 2**20:.1f} MB of weights, more than "
                        f"{MAX_PRESET_BYTES / 2**20:.0f} MB")
    info = {**info, "name": name, "model": model.registered_name(), "model_config": model.get_config(),
            "weights_dtype": dtype, "weights_layout": layout, "weights_bytes": len(data), "weights_sha256": hashlib.sha256(data).hexdigest()}
    folder = folder or PRESET_DIR
    files.write_bytes(os.path.join(folder, f"{name}.npz"), data)
    files.write_json(os.path.join(folder, f"{name}.json"), info)
    return info


def heldout_figure(model, dataset, batch_size: int = 128) -> dict | None:
    """The card's held-out likelihood: exact bits/dim, or the ELBO's (k = 1, seed 0) for a bound.

    `batch_size` 128 takes the 80 held-out sprites in one batch: one trace of `log_prob`
    instead of two (64 + 16), half the time; the figure moves by float rounding only.
    """
    from genzoo.evaluation import likelihood
    from genzoo.models.capabilities import ExactLikelihood, LikelihoodBound, has

    if has(model, ExactLikelihood):
        return {"kind": "exact", **likelihood.summarise(likelihood.exact_log_probs(model, dataset, batch_size),
                                                        model.spec.num_dims)}
    if has(model, LikelihoodBound):
        return {"kind": "elbo", **likelihood.vae_bounds(model, dataset, ks=(1,), seed=0)["1"]}
    return None


# Config keys that are not the model's settings (a fine-tuned run may differ in them).
NOT_SETTINGS = ("seed", "name", "trainable", "dtype")


def apply_weights(model, name: str, folder: str | None = None) -> None:
    """Sets a freshly built `model`'s weights from a preset (fine-tuning starts from them)."""
    source = load(name, folder)
    settings = lambda m: {k: v for k, v in m.get_config().items() if k not in NOT_SETTINGS}
    if settings(source) != settings(model):
        raise UserError(f"--preset={name} is a {card(name, folder)['model']} with other settings than this run's "
                        "model; leave --model and --hparams out to fine-tune it as it is")
    for weight, value in zip(model.weights, source.weights):
        weight.assign(value)


def measured_on(metrics: dict, checkpoint: str) -> bool:
    """Whether evaluate's metrics.json was measured on `checkpoint`. It records the run folder
    absolute and the checkpoint as given (relative to where evaluate ran), so a relative one is
    compared by its path inside the run folder."""
    measured = os.path.normpath(metrics.get("checkpoint") or "")
    if os.path.isabs(measured) or not metrics.get("model_dir"):
        return measured == os.path.abspath(checkpoint)
    inside = os.path.relpath(os.path.abspath(checkpoint), os.path.abspath(metrics["model_dir"]))
    return not inside.startswith("..") and (measured == inside or measured.endswith(os.sep + inside))
