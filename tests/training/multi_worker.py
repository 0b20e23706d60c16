"""Run as a script, once per worker (TF_CONFIG in the environment): trains a small
VAE under MultiWorkerMirroredStrategy and saves the final weights to OUT.npz."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from genzoo.training import TrainConfig, train


def main(dataset, model_dir, out):
    config = TrainConfig(
        model="vae", dataset=dataset, model_dir=model_dir, strategy="multi_worker", epochs=2,
        batch_size=32, checkpoint_every=3, num_samples=4,
        hparams={"latent_dim": 4, "filters": 4, "hidden": 16, "code_mixture": 3},
    )
    model, history = train(config, verbose=0)
    np.savez(out, *[v.numpy() for v in model.weights], steps=history[-1]["step"])


if __name__ == "__main__":
    main(*sys.argv[1:4])
