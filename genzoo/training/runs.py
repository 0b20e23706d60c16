"""Reopening a trained run: its config.json and its best, latest or a named checkpoint."""

from __future__ import annotations

import json
import os
import sys

from genzoo import files
from genzoo.errors import UserError
from genzoo.models import registry
from genzoo.training.checkpoints import BEST, Checkpoints, UnreadableCheckpoint
from genzoo.training.config import check_run_folder

CHOICES = ("best", "latest")  # or a checkpoint's path prefix


def read_config(model_dir: str) -> dict:
    check_run_folder(model_dir)
    path = os.path.join(model_dir, "config.json")
    try:
        config = json.loads(files.read_text(path))
        if not isinstance(config["train"]["model"], str) or not isinstance(config["model_config"], dict):
            raise TypeError("train.model must be a name and model_config an object")
    except (ValueError, TypeError, KeyError) as err:  # not JSON, not UTF-8, or not a run's record
        raise UserError(f"{path} is corrupt ({type(err).__name__}: {err}); repair it or train a new run") from None
    return config


def load_model(model_dir: str, checkpoint: str = "best"):
    """Rebuilds the run's model and restores a checkpoint's weights.

    `checkpoint`: `best` (the best held-out checkpoint; the latest when the run kept none,
    with a note), `latest` (the newest readable one) or a checkpoint path such as
    `runs/vae/checkpoints/ckpt-400`. Returns `(model, config)`; `config["checkpoint"]` is
    the path restored.
    """
    config = read_config(model_dir)
    cls = registry.get(config["train"]["model"])
    try:
        model = cls.from_config(config["model_config"])
    except UserError:
        raise
    except (KeyError, TypeError, ValueError) as err:  # a model_config edited or cut short
        first = (str(err).strip().splitlines() or [""])[0][:300]
        raise UserError(f"{os.path.join(model_dir, 'config.json')} is corrupt: its model_config does not build "
                        f"a {config['train']['model']} ({type(err).__name__}: {first})") from None
    directory = os.path.join(model_dir, "checkpoints")
    if checkpoint not in CHOICES:
        return model, {**config, "checkpoint": _restore_path(model, checkpoint)}
    path = None
    if checkpoint == "best":
        path = Checkpoints(os.path.join(directory, BEST), keep=None, model=model).restore_latest()
        if path is None:
            print(f"genzoo: {model_dir} has no best checkpoint (a GAN trained without --quality_every, "
                  "or a run from before genzoo kept one); using the latest", file=sys.stderr)
    if path is None:
        path = Checkpoints(directory, keep=None, model=model).restore_latest()
    if path is None:
        raise UserError(f"{model_dir}: no readable checkpoint in {directory}")
    return model, {**config, "checkpoint": path}


def _restore_path(model, path: str) -> str:
    if not files.exists(path + ".index"):
        raise UserError(f"--checkpoint={path}: no such checkpoint (no {path}.index); "
                        f"give best, latest or a path such as RUN/checkpoints/ckpt-400")
    try:
        Checkpoints(os.path.dirname(path) or ".", keep=None, model=model).restore(path)
    except UnreadableCheckpoint as err:
        raise UserError(f"--checkpoint={path} is unreadable ({err})") from None
    return path
