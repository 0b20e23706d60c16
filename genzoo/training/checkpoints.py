"""Checkpoints that survive `kill -9`: TF writes the data files first and then
replaces the `checkpoint` index file atomically, so the index never names a
half-written checkpoint. A latest checkpoint that still fails to read (a disk
fault, a truncated copy) is skipped for the one before it, with a message.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import tensorflow as tf
from absl import logging

from genzoo.errors import UserError

BEST = "best"  # sub-folder of a run's checkpoints/ holding the best held-out checkpoint
SCORED = "scored"  # sub-folder holding the checkpoint of every scored epoch (--keep_scored)


def untracked_weights(model) -> list[str]:
    """Paths of `model`'s weights that a `tf.train.Checkpoint(model=model)` would not hold.

    Keras tracks weights kept in Python lists, TensorFlow checkpoints do not: such a
    weight is saved at best through the optimizer's references and is silently left at
    its initial value when a run is loaded for evaluation or sampling.
    """
    reachable = {id(obj) for obj in tf.train.TrackableView(model).descendants()}
    return [w.path for w in model.weights if id(w) not in reachable]


class UnreadableCheckpoint(Exception):
    """A checkpoint's files cannot be read (its message is the first line of TensorFlow's)."""


class Checkpoints:
    """A `tf.train.CheckpointManager` with fall-back restore and chief-only files."""

    def __init__(self, directory: str, keep: int | None, chief: bool = True, keep_scored: bool = False, **objects):
        missing = untracked_weights(objects["model"]) if "model" in objects else []
        if missing:
            raise RuntimeError(f"checkpoints would not hold these weights (kept in a list?): {', '.join(missing)}")
        self.chief = chief
        # Under multi-worker every worker must take part in a save; non-chiefs write to
        # a scratch folder that is removed, so only the chief leaves files behind.
        self.directory = directory if chief else tempfile.mkdtemp(prefix="genzoo-worker-ckpt-")
        self.checkpoint = tf.train.Checkpoint(**objects)
        self.manager = tf.train.CheckpointManager(self.checkpoint, self.directory, max_to_keep=keep)
        # The best checkpoint by the held-out monitor, beside the rotating latest ones.
        self.best_manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(self.directory, BEST), max_to_keep=1, checkpoint_name="best")
        self.scored_manager = tf.train.CheckpointManager(
            self.checkpoint, os.path.join(self.directory, SCORED), max_to_keep=None,
            checkpoint_name=SCORED) if keep_scored else None

    def restore_latest(self) -> str | None:
        """Restores the newest readable checkpoint; returns its path (None: fresh start)."""
        for path in reversed(self.manager.checkpoints):
            try:
                self.restore(path)
            except UnreadableCheckpoint as err:
                logging.warning("checkpoint %s is unreadable (%s); falling back to the one before", path, err)
                print(f"genzoo: checkpoint {path} is unreadable ({err}); falling back to the one before")
                continue
            return path
        return None

    def restore(self, path: str) -> None:
        """Restores one checkpoint, requiring that it holds every weight of the objects."""
        try:
            status = self.checkpoint.restore(path)
        except Exception as err:  # noqa: BLE001 - any read failure: the caller decides
            message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise UnreadableCheckpoint(message) from None
        try:
            # Every weight of the model (and optimizer) must come from the checkpoint: a renamed
            # layer would otherwise keep its initial values silently.
            status.assert_existing_objects_matched()
        except AssertionError as err:
            first = str(err).strip().splitlines()[0][:300]
            raise UserError(f"checkpoint {path} does not hold every weight of this model ({first})") from None
        status.expect_partial()  # the checkpoint may hold more than this model (e.g. the trainer's step)

    def save(self, step: int) -> None:
        self.manager.save(checkpoint_number=step)

    def save_best(self, step: int) -> None:
        self.best_manager.save(checkpoint_number=step)

    def save_scored(self, step: int) -> None:
        """The checkpoint of a scored epoch, kept for good (a no-op without --keep_scored)."""
        if self.scored_manager:
            self.scored_manager.save(checkpoint_number=step)

    def close(self) -> None:
        if not self.chief:
            shutil.rmtree(self.directory, ignore_errors=True)
