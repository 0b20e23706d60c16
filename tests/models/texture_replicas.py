"""Run as a script: the texture gap under MirroredStrategy (2 logical CPUs), one flat and one noisy
half of the generated batch, beside the single-device value. Prints one JSON line. A subprocess,
because logical CPU devices must be configured before TensorFlow starts."""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from genzoo import distribute

distribute.split_cpu(2)

import numpy as np
import tensorflow as tf

from genzoo.models.gan import texture


def main():
    rng = np.random.default_rng(0)
    # Replica 0 gets flat images like the real ones (a local gap of ~0), replica 1 noise (~2).
    fake = np.concatenate([np.full((4, 5, 5, 3), -1.0, np.float32), rng.uniform(-1, 1, (4, 5, 5, 3)).astype(np.float32)])
    real = np.full((8, 5, 5, 3), -1.0, np.float32)
    strategy = distribute.get_strategy("mirrored")
    batches = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors((fake, real)))
    gaps = []
    for f, r in batches:
        gap = strategy.run(lambda f, r: texture.texture_loss(f, r)[1], args=(f, r))
        gaps = [t.numpy().tolist() for t in strategy.experimental_local_results(gap)]
    print(json.dumps({"replicas": gaps, "single": texture.texture_loss(fake, real)[1].numpy().tolist()}))


if __name__ == "__main__":
    main()
