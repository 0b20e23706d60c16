"""Run as a script: one train step under MirroredStrategy (2 logical CPUs) vs the default.

Prints one JSON line {model: max abs weight difference}. A subprocess, because
logical CPU devices must be configured before TensorFlow starts. Grappler stays on: off,
the script ran 0.64-0.80x as long alone, but 1.4-1.6x inside the suite (BUILD.md).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from genzoo import distribute

distribute.split_cpu(2)

import keras
import numpy as np
import tensorflow as tf

from genzoo import data
from genzoo.models import registry
from genzoo.training.loop import distributed_steps

CROP = 8


def one_step(strategy, name, spec, hparams, weights, batch):
    """Weights and metrics after one step from `weights` (None: the new model's own, returned as the start)."""
    with strategy.scope():
        model = registry.build(name, spec, seed=3, **hparams)
        if weights is None:
            weights = model.get_weights()
        else:
            model.set_weights(weights)
        model.compile_for_training(1e-2)
        # Adam's first step is lr * sign(g) wherever |g| >> epsilon, so a near-zero gradient
        # (float noise, e.g. behind synchronized batch norm) could flip sign between strategies
        # and move a weight by 2 lr (DCGAN: 2e-4 at lr 1e-4, one CI run in three). With
        # epsilon 1 the step is lr * g / (|g| + 1), smooth in g: it compares the gradients.
        for optimizer in {id(o): o for o in (model.optimizer, getattr(model, "d_optimizer", None),
                                                getattr(model, "s_optimizer", None)) if o}.values():
            optimizer.epsilon = 1.0
        step = tf.Variable(0, dtype=tf.int64)
    train_step, _ = distributed_steps(strategy, model, step)
    dist = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch))
    for b in dist:
        train_step(b)
    return weights, [v.numpy() for v in model.weights], {m.name: float(m.result()) for m in model.metrics}


def main():
    small = json.loads(sys.argv[1])
    names = sys.argv[2].split(",") if len(sys.argv) > 2 else registry.names()
    ds, spec = data.load("shapes", "train")
    # The top-left 8 x 8 of each sprite: the same layers and strategy code (one downsampling
    # instead of two), and the 2-D LSTMs unroll 8 rows and 15 diagonals instead of 20 and 39,
    # which cut this script's tracing time (mostly the Diagonal BiLSTM's) by more than half.
    spec = spec.replace(height=CROP, width=CROP)
    batch = {k: v[:, :CROP, :CROP] if k == "image" else v for k, v in next(iter(ds.batch(16))).items()}
    mirrored = distribute.get_strategy("mirrored")
    assert mirrored.num_replicas_in_sync == 2, mirrored.num_replicas_in_sync
    out = {}
    for name in names:
        keras.utils.set_random_seed(0)  # the same starting weights in every run: a failure repeats
        weights, a, ma = one_step(tf.distribute.get_strategy(), name, spec, small.get(name, {}), None, batch)
        _, b, mb = one_step(mirrored, name, spec, small.get(name, {}), weights, batch)
        moved = max(float(np.max(np.abs(x - w))) for x, w in zip(a, weights))
        diff = max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))
        metric_diff = max(abs(ma[k] - mb[k]) / max(1.0, abs(ma[k])) for k in ma)
        out[name] = {"weight_diff": diff, "moved": moved, "metric_diff": metric_diff}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
