"""Turns a trained run into a preset shipped in genzoo/presets/ (weights + model card).

    python tools/make_preset.py --model_dir=runs/pixel_lstm --name=pixel_lstm_pokemon \
        --data_dir=../shared/data/pokemon --metrics=runs/pixel_lstm/eval/metrics.json

Takes the run's best checkpoint (or --checkpoint), measures its held-out likelihood with
float32 weights and with float16-rounded ones (--mantissa_bits: rounded further, for size),
stores float16 when they differ by at most genzoo.presets.FLOAT16_TOLERANCE bits/dim (a model
without a likelihood, a GAN: when 64 samples of seed 0 differ by at most SAMPLE_TOLERANCE RGB
levels per channel on average), and
writes the card: data, split, budget, the command that trained it, held-out figure, and
from the evaluate tool's metrics.json (needed for models without a likelihood) the
two-sample test, the near-copy share and, for conditional models, the class control.
"""

from __future__ import annotations

import json
import os
import shlex
import sys

from absl import app, flags

flags.DEFINE_string("model_dir", None, "A run folder written by genzoo.tools.train.", required=True)
flags.DEFINE_string("name", None, "Preset name (letters, digits, underscores).", required=True)
flags.DEFINE_string("checkpoint", "best", "best | latest | a checkpoint path.")
flags.DEFINE_string("data_dir", None, "Local copy of the Pokémon files (default: the run's).")
flags.DEFINE_string("metrics", None, "metrics.json of genzoo.tools.evaluate on the same checkpoint.")
flags.DEFINE_string("out", None, "Folder to write into (default: genzoo/presets).")
flags.DEFINE_integer("mantissa_bits", 10, "float16 mantissa bits kept (10: plain float16; fewer compress "
                     "better and must pass the same held-out tolerance).")
flags.DEFINE_string("description", None, "One or two sentences for the card: what the preset is, what sets it apart.")
FLAGS = flags.FLAGS
SAMPLE_TOLERANCE = 0.5  # mean |RGB difference| (0-255) of float16 against float32 samples, same seed


def sample_difference(model, rounded) -> float:
    """Mean absolute RGB difference between 64 samples of seed 0 from two models of one spec."""
    import numpy as np

    from genzoo.data import to_rgb_uint8

    rgb = lambda m: to_rgb_uint8(m.sample(64, 0), m.spec).numpy().astype(np.float64)
    return float(np.mean(np.abs(rgb(model) - rgb(rounded))))


def command(train: dict, model_config: dict | None = None) -> str:
    """The train command that reproduces the run, with `DATA_DIR` in place of the local data path."""
    from genzoo.training.config import train_command

    placeholder = "DATA_DIR" if train.get("data_dir") else None  # a run on downloaded data names none
    return " ".join(shlex.quote(a) for a in train_command(train, model_config, data_dir=placeholder))


def main(argv):
    del argv
    import numpy as np

    from genzoo import data, files, presets
    from genzoo.tools.common import checkpoint_step
    from genzoo.training import runs

    model, config = runs.load_model(FLAGS.model_dir, FLAGS.checkpoint)
    train = config["train"]
    heldout, spec = data.load(train["dataset"], "test", encoding=train["encoding"],
                              data_dir=FLAGS.data_dir or train["data_dir"])
    full = figure = presets.heldout_figure(model, heldout)
    dtype, float16_check = "float32", None
    rounded, _ = runs.load_model(FLAGS.model_dir, FLAGS.checkpoint)
    for weight in rounded.weights:
        if weight.dtype == "float32":
            weight.assign(presets.round_float16(np.asarray(weight.numpy()), FLAGS.mantissa_bits))
    if full is not None:
        half = presets.heldout_figure(rounded, heldout)
        if abs(half["bits_per_dim"] - full["bits_per_dim"]) <= presets.FLOAT16_TOLERANCE:
            dtype, model, figure = "float16", rounded, half
    else:
        difference = sample_difference(model, rounded)
        float16_check = {"mean_abs_rgb_difference": round(difference, 4), "samples": 64, "seed": 0,
                         "tolerance": SAMPLE_TOLERANCE}
        if difference <= SAMPLE_TOLERANCE:
            dtype, model = "float16", rounded
    mantissa_bits = FLAGS.mantissa_bits if dtype == "float16" else None
    metrics = json.loads(files.read_text(FLAGS.metrics)) if FLAGS.metrics else {}
    if metrics and not presets.measured_on(metrics, config["checkpoint"]):
        raise SystemExit(f"--metrics were measured on {metrics.get('checkpoint')}, not {config['checkpoint']}")
    step = checkpoint_step(config["checkpoint"])
    steps_per_epoch = json.loads(files.read_text(os.path.join(FLAGS.model_dir, "history.json")))[0]["step"]
    two_sample = (metrics.get("two_sample") or {}).get("samples_vs_heldout")
    card = {
        "data": {"dataset": train["dataset"], "encoding": spec.encoding, "image_shape": list(spec.image_shape),
                 "heldout_split": "test", "num_heldout": sum(1 for _ in heldout)},
        "train": {**train, "data_dir": None, "model_dir": None, "tfds_dir": None},
        "budget": {"steps": step, "epochs": round(step / steps_per_epoch, 2), "checkpoint": FLAGS.checkpoint},
        "description": FLAGS.description,
        "weights_mantissa_bits": mantissa_bits,
        "float16_sample_check": float16_check,
        "command": command(train, model.get_config()),
        "heldout": figure and {**figure, "float32_bits_per_dim": full["bits_per_dim"]},
        "two_sample": two_sample and {"c2st": two_sample.get("c2st"), "source": "genzoo.tools.evaluate",
                                      "command": metrics.get("command")},
        "near_copies": (metrics.get("memorisation") or {}).get("near_copy_share"),
        # conditional models: how often a classifier reads the asked-for class in the samples
        "class_control": metrics.get("class_control"),
        "genzoo_commit": os.popen(f"git -C {os.path.dirname(os.path.abspath(__file__))} rev-parse --short HEAD"
                                  ).read().strip() or None,
    }
    info = presets.save(FLAGS.name, model, card, dtype, folder=FLAGS.out)
    print(f"preset {FLAGS.name}: {info['weights_bytes'] / 2**20:.2f} MB {dtype}, held-out "
          f"{figure and round(figure['bits_per_dim'], 4)} bits/dim (float32 {full and round(full['bits_per_dim'], 4)})")


if __name__ == "__main__":
    sys.exit(app.run(main))
