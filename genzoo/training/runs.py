"""Reopening a trained run: its config.json and newest readable checkpoint."""

from __future__ import annotations

import json
import os

from genzoo.errors import UserError
from genzoo.models import registry
from genzoo.training.checkpoints import Checkpoints


def read_config(model_dir: str) -> dict:
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise UserError(f"{model_dir}: not a genzoo run (no config.json)") from None
    except ValueError as err:
        raise UserError(f"{path}: corrupt ({err})") from None


def load_model(model_dir: str):
    """Rebuilds the run's model and restores its newest readable checkpoint's weights."""
    config = read_config(model_dir)
    cls = registry.get(config["train"]["model"])
    model = cls.from_config(config["model_config"])
    directory = os.path.join(model_dir, "checkpoints")
    if Checkpoints(directory, keep=None, model=model).restore_latest() is None:
        raise UserError(f"{model_dir}: no readable checkpoint in {directory}")
    return model, config
