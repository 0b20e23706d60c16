"""Reopening a trained run: its config.json and newest readable checkpoint."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from genzoo.errors import UserError
from genzoo.models import registry


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
    state = tf.train.get_checkpoint_state(directory)
    paths = list(state.all_model_checkpoint_paths) if state else []
    for path in reversed(paths):
        path = path if os.path.isabs(path) else os.path.join(directory, path)
        try:
            tf.train.Checkpoint(model=model).restore(path).expect_partial()
            return model, config
        except Exception:  # noqa: BLE001 - any read failure means: try the one before
            print(f"genzoo: checkpoint {path} is unreadable; trying the one before")
    raise UserError(f"{model_dir}: no readable checkpoint in {directory}")
